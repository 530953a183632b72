//! `widget.js` (the loader a host page includes) and the chat UI it fetches on first open,
//! compiled into the binary. The loader's URL is fixed in every embed snippet, so it is
//! cached for an hour and revalidated by ETag; the UI's name carries a hash of its content,
//! so it is cached for good.

use docent_app::AppError;
use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::http::etag::{etag_of, revalidated};

const LOADER: &str = include_str!("../../assets/widget/loader.js");
const UI: &str = include_str!("../../assets/widget/ui.js");
/// The Markdown renderer and the event-stream reader the dashboard serves on their own,
/// inlined into the UI.
const MARKDOWN: &str = include_str!("../../assets/shared/markdown.js");
const SSE: &str = include_str!("../../assets/shared/sse.js");
/// The widget's style and design tokens, inlined into the UI as a string.
const CSS: &str = include_str!("../../assets/widget/widget.css");

fn tag(body: &str) -> String {
    docent_app::auth::token::hash(body)[..16].to_owned()
}

/// The script without its opening comment, indentation, blank lines and comment lines:
/// a third smaller after gzip. Safe for these files, which have no multi-line strings.
pub fn compact(js: &str) -> String {
    let body = match js.trim_start().strip_prefix("/*") {
        Some(rest) => rest.split_once("*/").map_or(rest, |(_, after)| after),
        None => js,
    };
    body.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The style without its comments, each line trimmed and the lines joined with nothing
/// between them (the file keeps every selector and value on one line).
pub fn compact_css(css: &str) -> String {
    let mut kept = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(start) = rest.find("/*") {
        kept.push_str(&rest[..start]);
        rest = rest[start + 2..]
            .split_once("*/")
            .map_or("", |(_, after)| after);
    }
    kept.push_str(rest);
    kept.lines().map(str::trim).collect()
}

/// The chat UI as served, with the shared modules and the style in their places.
pub static UI_JS: LazyLock<String> = LazyLock::new(|| {
    let style = serde_json::to_string(&compact_css(CSS)).unwrap_or_else(|_| "\"\"".into());
    compact(
        &UI.replace("/*@markdown*/", &compact(MARKDOWN))
            .replace("/*@sse*/", &compact(SSE))
            .replace("/*@css*/\"\"", &style),
    )
});

/// The UI's file name, e.g. `ui.1a2b3c4d5e6f7a8b.js`.
pub static UI_FILE: LazyLock<String> = LazyLock::new(|| format!("ui.{}.js", tag(&UI_JS)));

/// The loader, pointing at the current UI file.
pub static LOADER_JS: LazyLock<String> =
    LazyLock::new(|| compact(LOADER).replace("__DOCENT_UI__", &format!("/widget/{}", *UI_FILE)));

static LOADER_ETAG: LazyLock<String> = LazyLock::new(|| etag_of(&LOADER_JS));
static UI_ETAG: LazyLock<String> = LazyLock::new(|| etag_of(&UI_JS));

fn javascript(
    request: &HeaderMap,
    body: &'static str,
    etag: &str,
    cache: &'static str,
) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("cross-origin"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    revalidated(
        request,
        etag,
        headers,
        "text/javascript; charset=utf-8",
        body,
    )
}

pub async fn loader(headers: HeaderMap) -> Response {
    javascript(
        &headers,
        LOADER_JS.as_str(),
        &LOADER_ETAG,
        "public, max-age=3600, stale-while-revalidate=86400",
    )
}

pub async fn ui(Path(file): Path<String>, headers: HeaderMap) -> Response {
    if file != *UI_FILE {
        return ApiError::from(AppError::NotFound("widget file")).into_response();
    }
    javascript(
        &headers,
        UI_JS.as_str(),
        &UI_ETAG,
        "public, max-age=31536000, immutable",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacting_keeps_code_and_drops_comments() {
        let js = "/* header\n   more */\n(function () {\n  // note\n  var a = \"//x\";\n\n  return a;\n})();\n";
        assert_eq!(
            compact(js),
            "(function () {\nvar a = \"//x\";\nreturn a;\n})();"
        );
    }

    #[test]
    fn the_ui_carries_the_shared_modules() {
        assert!(!UI_JS.contains("/*@markdown*/") && !UI_JS.contains("/*@sse*/"));
        assert!(UI_JS.contains("function docentMarkdown(text, into)"));
        assert!(UI_JS.contains("function docentEvents(response, onEvent)"));
        assert!(!UI_JS.contains("/*@css*/"));
        assert!(
            UI_JS.contains(r#"var CSS = ".w{--bg:#fff;"#),
            "the tokens come first"
        );
    }

    #[test]
    fn the_style_is_compacted_without_comments() {
        let css =
            "/* tokens */\n.w{--a:1}\n\n/* parts\n   more */\n.p{color:red;\n  margin:0 auto}\n";
        assert_eq!(compact_css(css), ".w{--a:1}.p{color:red;margin:0 auto}");
        let served = compact_css(CSS);
        assert!(!served.contains("/*") && !served.contains('\n'));
        assert!(served.contains(".sr{position:absolute;"));
    }

    #[test]
    fn the_loader_points_at_the_ui() {
        assert!(!LOADER_JS.contains("__DOCENT_UI__"));
        assert!(LOADER_JS.contains(&format!("/widget/{}", *UI_FILE)));
    }
}
