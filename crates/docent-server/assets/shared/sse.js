/* Server-sent events from a fetch Response, for the streams EventSource cannot open (a POST
   with a JSON body): one copy for the widget (inlined into its UI) and the dashboard
   (served as /assets/sse.js). Calls onEvent(name, data) for each event whose data is JSON
   (a keep-alive or a torn event is skipped); the promise resolves when the stream ends and
   rejects when the connection fails. */
function docentEvents(response, onEvent) {
  "use strict";
  var reader = response.body.getReader();
  var decoder = new TextDecoder();
  var buffer = "";
  function handle(block) {
    var name = "message";
    var data = "";
    block.split(/\r?\n/).forEach(function (line) {
      if (line.indexOf("event:") === 0) name = line.slice(6).trim();
      else if (line.indexOf("data:") === 0) data += (data ? "\n" : "") + line.slice(5).replace(/^ /, "");
    });
    if (!data) return;
    var parsed;
    try { parsed = JSON.parse(data); } catch (e) { return; }
    onEvent(name, parsed);
  }
  function pump() {
    return reader.read().then(function (chunk) {
      if (chunk.done) {
        if (buffer.trim()) handle(buffer);
        return;
      }
      buffer += decoder.decode(chunk.value, { stream: true });
      var parts = buffer.split(/\r?\n\r?\n/);
      buffer = parts.pop();
      parts.forEach(handle);
      return pump();
    });
  }
  return pump();
}
