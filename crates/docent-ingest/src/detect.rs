//! Format detection by content (magic bytes and structure), not by file name.

use serde::{Deserialize, Serialize};

use crate::IngestError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Pdf,
    Docx,
    Html,
    Markdown,
    Text,
    Vtt,
    Srt,
}

impl Format {
    /// The `documents.type` of this format.
    pub fn document_type(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Docx => "docx",
            Format::Html => "html",
            Format::Markdown => "markdown",
            Format::Text => "text",
            Format::Vtt | Format::Srt => "subtitle",
        }
    }
}

pub fn detect(bytes: &[u8], file_name: Option<&str>) -> Result<Format, IngestError> {
    let head = &bytes[..bytes.len().min(1024)];
    if find(head, b"%PDF-").is_some() {
        return Ok(Format::Pdf);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        // A ZIP: only Word documents are knowledge.
        return if find(bytes, b"word/document.xml").is_some() {
            Ok(Format::Docx)
        } else {
            Err(IngestError::UnsupportedFileType)
        };
    }
    if !looks_like_text(bytes) {
        return Err(IngestError::UnsupportedFileType);
    }
    let text = String::from_utf8_lossy(head);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let lower = trimmed.to_ascii_lowercase();
    // XML that is not HTML (SVG images, feeds, entity bombs) is not knowledge.
    if lower.starts_with("<?xml") && !lower.contains("<html")
        || lower.starts_with("<svg")
        || lower.starts_with("<!entity")
        || lower.starts_with("<!doctype svg")
    {
        return Err(IngestError::UnsupportedFileType);
    }
    if lower.starts_with("webvtt") {
        return Ok(Format::Vtt);
    }
    if is_srt(trimmed) {
        return Ok(Format::Srt);
    }
    if [
        "<!doctype html",
        "<html",
        "<head",
        "<body",
        "<?xml version=\"1.0\"?><html",
        "<!--",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
        && (lower.contains("<html")
            || lower.contains("<body")
            || lower.contains("<head")
            || lower.contains("<p"))
    {
        return Ok(Format::Html);
    }
    let named_markdown = file_name.is_some_and(|n| {
        let n = n.to_ascii_lowercase();
        n.ends_with(".md") || n.ends_with(".markdown") || n.ends_with(".mdx")
    });
    let full = String::from_utf8_lossy(&bytes[..bytes.len().min(64 * 1024)]);
    let markdown_lines = full
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            (l.starts_with('#') && l.trim_start_matches('#').starts_with(' '))
                || l.starts_with("```")
                || (l.starts_with("- [") || l.starts_with("* "))
                || l.contains("](")
        })
        .count();
    if named_markdown || markdown_lines >= 2 {
        Ok(Format::Markdown)
    } else {
        Ok(Format::Text)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// UTF-8 (or UTF-16 with a BOM) without NUL bytes or many control characters.
fn looks_like_text(bytes: &[u8]) -> bool {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return true;
    }
    let sample = &bytes[..bytes.len().min(8192)];
    if sample.contains(&0) {
        return false;
    }
    // A multi-byte character may be cut at the end of the sample.
    let valid = match std::str::from_utf8(sample) {
        Ok(_) => true,
        Err(e) => e.valid_up_to() + 4 >= sample.len() && e.error_len().is_none(),
    };
    let controls = sample
        .iter()
        .filter(|b| **b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c))
        .count();
    valid && controls * 100 <= sample.len()
}

fn is_srt(text: &str) -> bool {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("");
    let second = lines.next().unwrap_or("");
    first.chars().all(|c| c.is_ascii_digit())
        && !first.is_empty()
        && second.contains("-->")
        && second.contains(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_content() {
        assert_eq!(detect(b"%PDF-1.7\n...", Some("x.txt")), Ok(Format::Pdf));
        assert_eq!(
            detect(b"<!DOCTYPE html><html><body><p>x</p></body></html>", None),
            Ok(Format::Html)
        );
        assert_eq!(
            detect(b"WEBVTT\n\n00:00.000 --> 00:01.000\nHi", None),
            Ok(Format::Vtt)
        );
        assert_eq!(
            detect(b"1\n00:00:01,000 --> 00:00:02,000\nHi\n", None),
            Ok(Format::Srt)
        );
        assert_eq!(
            detect(b"# Title\n\nSome [link](x).\n", None),
            Ok(Format::Markdown)
        );
        assert_eq!(detect(b"Just words.\nMore words.", None), Ok(Format::Text));
        assert_eq!(
            detect(b"Just words.", Some("notes.md")),
            Ok(Format::Markdown)
        );
        assert_eq!(
            detect(b"\x89PNG\r\n\x1a\n\0\0\0", Some("x.pdf")),
            Err(IngestError::UnsupportedFileType)
        );
        assert_eq!(
            detect(b"PK\x03\x04xl/workbook.xml", None),
            Err(IngestError::UnsupportedFileType)
        );
        assert_eq!(
            detect(b"MZ\x90\0\x03\0\0\0", Some("a.txt")),
            Err(IngestError::UnsupportedFileType)
        );
        assert_eq!(
            detect(b"<svg onload=alert(1)>", Some("a.txt")),
            Err(IngestError::UnsupportedFileType)
        );
        let bomb =
            b"<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">]><lolz>&lol;</lolz>";
        assert_eq!(detect(bomb, None), Err(IngestError::UnsupportedFileType));
    }
}
