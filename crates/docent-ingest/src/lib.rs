//! Knowledge intake: recognise a file by its content, extract its text with structure
//! (pages, headings, timestamps) and cut it into token-counted chunks.
//!
//! Extraction and chunking are synchronous and CPU-bound (callers run them off the async
//! runtime); [`fetch`] reaches the web, guarded against server-side request forgery.

mod chunk;
mod clean;
pub mod crawl;
mod detect;
mod docx;
pub mod fetch;
mod html;
pub use html::all_text as html_text;
pub mod pdf;
pub mod render;
mod subtitles;
mod text;

use serde::{Deserialize, Serialize};

pub use chunk::{Chunk, ChunkMetadata, Chunker};
pub use detect::{Format, detect};

/// Why a file could not be read. Each message tells the owner what to do.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum IngestError {
    #[error(
        "This file type is not supported; upload PDF, DOCX, TXT, Markdown, HTML, VTT or SRT files."
    )]
    UnsupportedFileType,
    #[error("The PDF is password-protected; upload a copy without a password.")]
    EncryptedPdf,
    #[error("The file is empty or has no text to learn from.")]
    NoText,
    #[error("The file is damaged and could not be read: {0}")]
    Corrupt(String),
    #[error("The file is too large or too complex to process: {0}")]
    TooLarge(String),
    #[error("PDF support is not available: {0}")]
    PdfEngineMissing(String),
}

/// A piece of a document with its place in it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Section {
    pub text: String,
    /// 1-based page of PDFs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// Headings above this section, outermost first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub heading_path: Vec<String>,
    /// Start and end of subtitle cues, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<u64>,
}

/// What extraction found in a file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Extracted {
    pub format: Option<Format>,
    pub title: Option<String>,
    pub author: Option<String>,
    pub page_count: Option<u32>,
    pub sections: Vec<Section>,
}

impl Extracted {
    /// The whole text: sections separated by blank lines, PDF pages by form feeds (like
    /// `pdftotext`).
    pub fn text(&self) -> String {
        let mut out = String::new();
        let mut last_page = None;
        for (i, section) in self.sections.iter().enumerate() {
            if i > 0 {
                if section.page.is_some() && section.page != last_page {
                    out.push('\u{c}');
                } else {
                    out.push_str("\n\n");
                }
            }
            last_page = section.page;
            out.push_str(&section.text);
        }
        out
    }

    pub fn word_count(&self) -> u64 {
        self.sections
            .iter()
            .map(|s| s.text.split_whitespace().count() as u64)
            .sum()
    }
}

/// Options for [`extract`].
#[derive(Clone, Debug, Default)]
pub struct ExtractOptions {
    /// For HTML: keep only the main content (no navigation, footers, ads, cookie banners).
    pub main_content: bool,
    /// The address the document came from, to resolve relative links in HTML.
    pub url: Option<String>,
}

/// Recognises and extracts `bytes`. `file_name` only breaks ties between plain text and
/// Markdown.
pub fn extract(
    bytes: &[u8],
    file_name: Option<&str>,
    options: &ExtractOptions,
) -> Result<Extracted, IngestError> {
    let format = detect(bytes, file_name)?;
    let mut extracted = match format {
        Format::Pdf => pdf::extract(bytes)?,
        Format::Docx => docx::extract(bytes)?,
        Format::Html => html::extract(bytes, options)?,
        Format::Markdown => text::extract_markdown(&text::decode(bytes)?),
        Format::Text => text::extract_plain(&text::decode(bytes)?),
        Format::Vtt | Format::Srt => subtitles::extract(&text::decode(bytes)?)?,
    };
    extracted.format = Some(format);
    clean::clean(&mut extracted);
    extracted.sections.retain(|s| !s.text.trim().is_empty());
    if extracted.sections.is_empty() {
        return Err(IngestError::NoText);
    }
    Ok(extracted)
}
