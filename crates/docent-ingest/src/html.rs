//! HTML: the main content (Readability's algorithm, by dom_smoothie) or all visible text.

use dom_smoothie::{Config, Readability, TextMode};

use crate::text::decode;
use crate::{ExtractOptions, Extracted, IngestError, Section};

pub fn extract(bytes: &[u8], options: &ExtractOptions) -> Result<Extracted, IngestError> {
    let html = decode(bytes)?;
    let config = Config {
        text_mode: TextMode::Formatted,
        ..Config::default()
    };
    let url = options.url.as_deref().filter(|u| u.starts_with("http"));
    let mut readability = Readability::new(html.as_str(), url, Some(config))
        .map_err(|e| IngestError::Corrupt(e.to_string()))?;
    match readability.parse() {
        Ok(article) => {
            let text = tidy(&article.text_content);
            let title = Some(article.title.trim().to_owned()).filter(|t| !t.is_empty());
            Ok(Extracted {
                title,
                author: article
                    .byline
                    .map(|b| b.trim().to_owned())
                    .filter(|b| !b.is_empty()),
                sections: paragraphs(&text),
                ..Extracted::default()
            })
        }
        // Pages too short for Readability's scoring: fall back to all the body's text.
        Err(_) if !options.main_content => Ok(Extracted {
            sections: paragraphs(&tidy(
                &dom_smoothie::Readability::new(html.as_str(), url, None)
                    .ok()
                    .and_then(|mut r| r.parse_with_policy(dom_smoothie::ParsePolicy::Raw).ok())
                    .map(|a| a.text_content.to_string())
                    .unwrap_or_default(),
            )),
            ..Extracted::default()
        }),
        Err(e) => Err(IngestError::Corrupt(format!("no main content found ({e})"))),
    }
}

/// Collapses runs of blank lines and trailing spaces.
fn tidy(text: &str) -> String {
    let mut out = String::new();
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line.trim_start());
    }
    out
}

fn paragraphs(text: &str) -> Vec<Section> {
    vec![Section {
        text: text.to_owned(),
        ..Section::default()
    }]
}

/// All the text of an HTML document, for comparisons (no main-content selection).
pub fn all_text(html: &str) -> String {
    dom_query::Document::from(html)
        .select("body")
        .text()
        .to_string()
}
