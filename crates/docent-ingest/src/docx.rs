//! DOCX: paragraphs, headings (by paragraph style) and tables, read straight from the
//! WordprocessingML inside the ZIP. Entry sizes are checked before inflating, so a
//! decompression bomb is refused instead of filling memory.

use std::io::Read;

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::{Extracted, IngestError, Section};

/// Largest uncompressed part read from a DOCX.
const MAX_PART_BYTES: u64 = 64 * 1024 * 1024;

pub fn extract(bytes: &[u8]) -> Result<Extracted, IngestError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| IngestError::Corrupt(format!("not a valid DOCX archive ({e})")))?;
    let document = read_part(&mut archive, "word/document.xml")?
        .ok_or_else(|| IngestError::Corrupt("word/document.xml is missing".into()))?;
    let mut extracted = parse_document(&document)?;
    if let Some(core) = read_part(&mut archive, "docProps/core.xml")? {
        extracted.title = element_text(&core, "title").or(extracted.title);
        extracted.author = element_text(&core, "creator");
    }
    Ok(extracted)
}

fn read_part(
    archive: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
    name: &str,
) -> Result<Option<String>, IngestError> {
    let mut file = match archive.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(IngestError::Corrupt(e.to_string())),
    };
    if file.size() > MAX_PART_BYTES {
        return Err(IngestError::TooLarge(format!(
            "{name} inflates to {} MB",
            file.size() / 1_000_000
        )));
    }
    let mut text = String::new();
    file.by_ref()
        .take(MAX_PART_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| IngestError::Corrupt(format!("{name}: {e}")))?;
    if text.len() as u64 > MAX_PART_BYTES {
        return Err(IngestError::TooLarge(format!(
            "{name} is larger than it claims"
        )));
    }
    Ok(Some(text))
}

fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let code = name
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| name.strip_prefix('#').map(str::parse))?;
            code.ok().and_then(char::from_u32)
        }
    }
}

/// The paragraphs of `word/document.xml` as sections under their headings.
fn parse_document(xml: &str) -> Result<Extracted, IngestError> {
    let mut reader = Reader::from_str(xml);
    let mut sections: Vec<Section> = Vec::new();
    let mut headings: Vec<(usize, String)> = Vec::new();
    let mut body = String::new();
    let mut paragraph = String::new();
    let mut heading_level = 0usize;
    let mut in_text = false;
    let mut table_depth = 0usize;
    let mut row: Vec<String> = Vec::new();
    let mut title = None;
    let flush = |body: &mut String, headings: &[(usize, String)], sections: &mut Vec<Section>| {
        if !body.trim().is_empty() {
            sections.push(Section {
                text: body.trim().to_owned(),
                heading_path: headings.iter().map(|(_, h)| h.clone()).collect(),
                ..Section::default()
            });
        }
        body.clear();
    };
    loop {
        let event = reader
            .read_event()
            .map_err(|e| IngestError::Corrupt(format!("document.xml: {e}")))?;
        match event {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                "p" => {
                    paragraph.clear();
                    heading_level = 0;
                }
                "pStyle" => {
                    if let Ok(Some(style)) = e.try_get_attribute("w:val") {
                        let style = style.value.as_ref().to_ascii_lowercase();
                        heading_level = if style == "title" {
                            1
                        } else {
                            style
                                .strip_prefix("heading")
                                .and_then(|n| n.parse().ok())
                                .unwrap_or(0)
                        };
                    }
                }
                "t" => in_text = true,
                "tab" => paragraph.push('\t'),
                "br" | "cr" => paragraph.push('\n'),
                "tbl" => table_depth += 1,
                "tr" => row.clear(),
                _ => {}
            },
            Event::Text(t) if in_text => paragraph.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if in_text => {
                if let Some(c) = entity(&r.xml10_content()) {
                    paragraph.push(c);
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                "t" => in_text = false,
                "p" => {
                    let text = paragraph.trim().to_owned();
                    if table_depth > 0 {
                        row.push(text);
                    } else if heading_level > 0 && !text.is_empty() {
                        flush(&mut body, &headings, &mut sections);
                        if title.is_none() {
                            title = Some(text.clone());
                        }
                        while headings.last().is_some_and(|(l, _)| *l >= heading_level) {
                            headings.pop();
                        }
                        headings.push((heading_level, text.clone()));
                        body.push_str(&text);
                        body.push_str("\n\n");
                    } else if !text.is_empty() {
                        body.push_str(&text);
                        body.push_str("\n\n");
                    }
                }
                "tc" if table_depth > 0 => {
                    // Paragraphs of one cell were pushed separately; join them.
                }
                "tr" if table_depth > 0 => {
                    let cells: Vec<&str> = row
                        .iter()
                        .map(String::as_str)
                        .filter(|c| !c.is_empty())
                        .collect();
                    if !cells.is_empty() {
                        body.push_str(&cells.join(" | "));
                        body.push('\n');
                    }
                    row.clear();
                }
                "tbl" => {
                    table_depth = table_depth.saturating_sub(1);
                    body.push('\n');
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    flush(&mut body, &headings, &mut sections);
    Ok(Extracted {
        title,
        sections,
        ..Extracted::default()
    })
}

/// The text of the first element named `local` (any namespace) in a small XML part.
fn element_text(xml: &str, local: &str) -> Option<String> {
    let mut reader = Reader::from_str(xml);
    let mut inside = false;
    let mut out = String::new();
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) if e.local_name().as_ref() == local => inside = true,
            Event::Text(t) if inside => out.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if inside => out.extend(entity(&r.xml10_content())),
            Event::End(e) if inside && e.local_name().as_ref() == local => break,
            Event::Eof => break,
            _ => {}
        }
    }
    Some(out.trim().to_owned()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_paragraphs_and_tables() {
        let xml = r#"<w:document xmlns:w="w"><w:body>
            <w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Returns</w:t></w:r></w:p>
            <w:p><w:r><w:t xml:space="preserve">Keep the receipt &amp; box.</w:t></w:r></w:p>
            <w:tbl><w:tr><w:tc><w:p><w:r><w:t>Item</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Days</w:t></w:r></w:p></w:tc></w:tr>
            <w:tr><w:tc><w:p><w:r><w:t>Shoes</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>30</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
            <w:p><w:pPr><w:pStyle w:val="Heading2"/></w:pPr><w:r><w:t>Refunds</w:t></w:r></w:p>
            <w:p><w:r><w:t>Within 5 days.</w:t></w:r></w:p>
        </w:body></w:document>"#;
        let doc = parse_document(xml).expect("parse");
        assert_eq!(doc.title.as_deref(), Some("Returns"));
        assert_eq!(doc.sections.len(), 2);
        assert!(
            doc.sections[0].text.contains("Keep the receipt & box."),
            "{:?}",
            doc.sections[0].text
        );
        assert!(doc.sections[0].text.contains("Item | Days\nShoes | 30"));
        assert_eq!(
            doc.sections[1].heading_path,
            vec!["Returns".to_owned(), "Refunds".to_owned()]
        );
    }
}
