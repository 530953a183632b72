//! Plain text and Markdown.

use crate::{Extracted, IngestError, Section};

/// Decodes UTF-8 (with or without BOM) or UTF-16 with a BOM; invalid bytes become U+FFFD.
pub fn decode(bytes: &[u8]) -> Result<String, IngestError> {
    let text = if let Some(rest) = bytes.strip_prefix(&[0xff, 0xfe]) {
        utf16(rest, u16::from_le_bytes)
    } else if let Some(rest) = bytes.strip_prefix(&[0xfe, 0xff]) {
        utf16(rest, u16::from_be_bytes)
    } else {
        let rest = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(bytes);
        String::from_utf8_lossy(rest).into_owned()
    };
    Ok(text.replace("\r\n", "\n").replace('\r', "\n"))
}

fn utf16(bytes: &[u8], read: fn([u8; 2]) -> u16) -> String {
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| read([c[0], c[1]])).collect();
    String::from_utf16_lossy(&units)
}

pub fn extract_plain(text: &str) -> Extracted {
    let title = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .filter(|l| l.chars().count() <= 120)
        .map(str::to_owned);
    Extracted {
        title,
        sections: vec![Section {
            text: text.trim().to_owned(),
            ..Section::default()
        }],
        ..Extracted::default()
    }
}

/// Splits Markdown at its headings; each section keeps the path of headings above it and
/// its own heading line (so the words of the heading are searchable with its text).
pub fn extract_markdown(text: &str) -> Extracted {
    let mut sections = Vec::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut current = String::new();
    let mut in_fence = false;
    let mut title = None;
    let flush = |current: &mut String, stack: &[(usize, String)], sections: &mut Vec<Section>| {
        if !current.trim().is_empty() {
            sections.push(Section {
                text: current.trim().to_owned(),
                heading_path: stack.iter().map(|(_, h)| h.clone()).collect(),
                ..Section::default()
            });
        }
        current.clear();
    };
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
        }
        let level = if in_fence { 0 } else { heading_level(trimmed) };
        if level > 0 {
            flush(&mut current, &stack, &mut sections);
            let heading = trimmed[level..]
                .trim()
                .trim_end_matches('#')
                .trim()
                .to_owned();
            if title.is_none() && level == 1 {
                title = Some(heading.clone());
            }
            while stack.last().is_some_and(|(l, _)| *l >= level) {
                stack.pop();
            }
            stack.push((level, heading));
        }
        current.push_str(line);
        current.push('\n');
    }
    flush(&mut current, &stack, &mut sections);
    Extracted {
        title,
        sections,
        ..Extracted::default()
    }
}

fn heading_level(line: &str) -> usize {
    let hashes = line.chars().take_while(|c| *c == '#').count();
    if (1..=6).contains(&hashes) && line[hashes..].starts_with([' ', '\t']) {
        hashes
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_sections_keep_their_heading_path() {
        let doc = extract_markdown(
            "# Guide\nIntro.\n## Install\nRun it.\n```\n# not a heading\n```\n## Use\nAsk.\n# Other\nEnd.",
        );
        assert_eq!(doc.title.as_deref(), Some("Guide"));
        let paths: Vec<Vec<String>> = doc
            .sections
            .iter()
            .map(|s| s.heading_path.clone())
            .collect();
        assert_eq!(
            paths,
            vec![
                vec!["Guide".to_owned()],
                vec!["Guide".into(), "Install".into()],
                vec!["Guide".into(), "Use".into()],
                vec!["Other".into()]
            ]
        );
        assert!(doc.sections[1].text.contains("# not a heading"));
    }

    #[test]
    fn text_decodes_boms_and_line_endings() {
        assert_eq!(decode(b"\xef\xbb\xbfa\r\nb").expect("utf8"), "a\nb");
        assert_eq!(
            decode(&[0xff, 0xfe, b'h', 0, b'i', 0]).expect("utf16"),
            "hi"
        );
    }
}
