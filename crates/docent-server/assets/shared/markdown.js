/* Docent's safe Markdown subset, one copy for the widget (inlined into its UI) and the
   dashboard (served as /assets/markdown.js): paragraphs, line breaks, headings, lists,
   quotes, tables, rules, fenced and inline code, bold, italics and http(s)/mailto links.
   Every node is made with createElement and text nodes; nothing is ever parsed as HTML.
   The work is linear in the text: a closing mark is looked up in a table of where the next
   mark of its kind is, so no answer can make it loop or backtrack, and every character of
   the input lands in at most one text node. */
function docentMarkdown(text, into) {
  "use strict";
  var doc = into.ownerDocument;
  var URL_START = /^(https?:\/\/|mailto:)/;

  function add(tag, parent) { return parent.appendChild(doc.createElement(tag)); }

  function isSpace(c) { return c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v"; }

  // Word characters as a regular expression's \b sees them: `snake_case` stays text.
  var WORD = /\w/;
  function isWord(c) { return !!c && WORD.test(c); }

  // The text of one block, with its inline marks.
  function inline(s, into) {
    var n = s.length;
    var next = {};
    "`*_])\n ".split("").forEach(function (mark) {
      var at = new Int32Array(n + 2);
      at[n] = at[n + 1] = n;
      for (var i = n - 1; i >= 0; i--) {
        var c = s.charAt(i);
        at[i] = c === mark || (mark === " " && isSpace(c)) ? i : at[i + 1];
      }
      next[mark] = at;
    });
    // The `](` whose link target was checked last: many `[` may end at the same `]`.
    var checked = -1, target = null;
    function linkAt(close, end) {
      if (close !== checked) {
        checked = close;
        target = null;
        if (s.charAt(close + 1) === "(") {
          var stop = next[")"][close + 2];
          var url = s.slice(close + 2, Math.min(stop, close + 10));
          var prefix = URL_START.exec(url);
          if (stop < end && next[" "][close + 2] >= stop && prefix && stop > close + 2 + prefix[0].length) {
            target = { url: s.slice(close + 2, stop), stop: stop };
          }
        }
      }
      return target && target.stop < end ? target : null;
    }
    function plain(from, to, into) {
      if (from >= to) return;
      s.slice(from, to).split("\n").forEach(function (part, k) {
        if (k) add("br", into);
        if (part) into.appendChild(doc.createTextNode(part));
      });
    }
    function span(from, to, into) {
      var i = from, start = from;
      while (i < to) {
        var c = s.charAt(i);
        var end = Math.min(next["\n"][i], to);
        var j, link;
        if (c === "`") {
          j = next["`"][i + 1];
          if (j < end && j > i + 1) {
            plain(start, i, into);
            add("code", into).textContent = s.slice(i + 1, j);
            i = start = j + 1;
            continue;
          }
        } else if (c === "*") {
          if (s.charAt(i + 1) === "*") {
            j = next["*"][i + 2];
            if (j > i + 2 && j + 1 < end && s.charAt(j + 1) === "*") {
              plain(start, i, into);
              span(i + 2, j, add("strong", into));
              i = start = j + 2;
              continue;
            }
          } else if (!isSpace(s.charAt(i + 1))) {
            j = next["*"][i + 1];
            if (j < end && j > i + 1) {
              plain(start, i, into);
              span(i + 1, j, add("em", into));
              i = start = j + 1;
              continue;
            }
          }
        } else if (c === "_" && (i === from || !isWord(s.charAt(i - 1))) && !isSpace(s.charAt(i + 1))) {
          j = next._[i + 1];
          if (j < end && j > i + 1 && (j + 1 === to || !isWord(s.charAt(j + 1)))) {
            plain(start, i, into);
            span(i + 1, j, add("em", into));
            i = start = j + 1;
            continue;
          }
        } else if (c === "[") {
          j = next["]"][i + 1];
          if (j < end && j > i + 1 && (link = linkAt(j, end))) {
            plain(start, i, into);
            var a = add("a", into);
            a.textContent = s.slice(i + 1, j);
            a.href = link.url;
            a.target = "_blank";
            a.rel = "noopener noreferrer";
            i = start = link.stop + 1;
            continue;
          }
        }
        i++;
      }
      plain(start, to, into);
    }
    span(0, n, into);
  }

  // A line without the marks that may close it: "## Title ##" -> "Title".
  function trimEnd(s, marks) {
    var e = s.length;
    while (e > 0 && marks.indexOf(s.charAt(e - 1)) >= 0) e--;
    return s.slice(0, e);
  }

  function cells(line) {
    var t = line.trim();
    if (t.charAt(0) === "|") t = t.slice(1);
    if (t.charAt(t.length - 1) === "|") t = t.slice(0, -1);
    return t.split("|").map(function (c) { return c.trim(); });
  }

  var RULE = /^ {0,3}([-*_])( *\1){2,} *$/;
  var FENCE = /^\s*```/;
  var HEADING = /^ {0,3}(#{1,6})[ \t]+/;
  var ITEM = /^\s*([-*+•]|\d{1,9}[.)])[ \t]+/;
  // "|---|:--:|" under a row of cells; spaces anywhere.
  function divider(line) {
    var t = line.replace(/\s+/g, "");
    return t.indexOf("-") >= 0 && /^[|:-]+$/.test(t);
  }

  var lines = String(text).split("\n");
  var para = [], list = null, code = null, quote = null;
  function flush() {
    if (para.length) inline(para.join("\n"), add("p", quote || into));
    para = [];
  }
  for (var k = 0; k < lines.length; k++) {
    var line = lines[k].replace(/\r$/, "");
    if (code) {
      if (FENCE.test(line)) code = null;
      else code.textContent += (code.textContent ? "\n" : "") + line;
      continue;
    }
    if (FENCE.test(line)) {
      flush();
      list = quote = null;
      code = add("code", add("pre", into));
      continue;
    }
    if (!line.trim()) {
      flush();
      list = quote = null;
      continue;
    }
    var m;
    if (line.charAt(0) === ">") {
      if (!quote) { flush(); list = null; quote = add("blockquote", into); }
      para.push(line.slice(line.charAt(1) === " " ? 2 : 1));
      continue;
    }
    if (quote) { flush(); quote = null; }
    if (RULE.test(line)) {
      flush();
      list = null;
      add("hr", into);
    } else if ((m = HEADING.exec(line))) {
      flush();
      list = null;
      var h = add("p", into);
      h.className = "md-h";
      inline(trimEnd(line.slice(m[0].length), " \t#"), add("strong", h));
    } else if ((m = ITEM.exec(line))) {
      flush();
      var kind = /\d/.test(m[1]) ? "OL" : "UL";
      if (!list || list.tagName !== kind) list = add(kind, into);
      inline(line.slice(m[0].length), add("li", list));
    } else if (line.trim().charAt(0) === "|" && k + 1 < lines.length && divider(lines[k + 1])) {
      flush();
      list = null;
      var scroll = add("div", into);
      scroll.className = "md-t";
      var table = add("table", scroll);
      var head = add("tr", add("thead", table));
      var width = 0;
      cells(line).forEach(function (c) { inline(c, add("th", head)); width++; });
      var body = add("tbody", table);
      for (k += 2; k < lines.length && lines[k].trim().charAt(0) === "|"; k++) {
        var row = add("tr", body);
        cells(lines[k]).slice(0, width).forEach(function (c) { inline(c, add("td", row)); });
      }
      k--;
    } else {
      list = null;
      para.push(line);
    }
  }
  flush();
}
