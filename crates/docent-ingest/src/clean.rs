//! Text clean-up after extraction, before chunking: what a reader of the original never
//! sees must not reach an answer. Every format loses its control characters; a PDF's text
//! layer also loses the line ends inside its paragraphs (a word hyphenated at a line end is
//! made whole when the document spells it whole elsewhere), its footnote markers
//! ("… the Act.³" read as "Act.3"), and the running headers and footers repeated on most of
//! its pages move out of its sentences to a line of their own at the top of the page.

use std::collections::{HashMap, HashSet};

use crate::{Extracted, Format};

/// Cleans `extracted` in place, as its format needs.
pub fn clean(extracted: &mut Extracted) {
    for section in &mut extracted.sections {
        section.text = without_control_characters(&section.text);
    }
    if extracted.format == Some(Format::Pdf) {
        drop_running_lines(extracted);
        let vocabulary = vocabulary(extracted);
        for section in &mut extracted.sections {
            section.text = without_footnote_markers(&paragraphs(&section.text, &vocabulary));
        }
    }
}

/// Control characters dropped (a tab becomes a space); line ends kept.
fn without_control_characters(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\n' => Some('\n'),
            '\t' => Some(' '),
            c if c.is_control() => None,
            // Soft hyphens and zero-width marks only guide line breaking.
            '\u{ad}' | '\u{200b}' | '\u{feff}' => None,
            c => Some(c),
        })
        .collect()
}

/// A line as compared across pages: digits as `#`, lower case, single spaces, so "Page 3"
/// and "Page 14" are one running line.
fn running_key(line: &str) -> String {
    let mut key = String::new();
    for word in line.split_whitespace() {
        if !key.is_empty() {
            key.push(' ');
        }
        let mut last_digit = false;
        for c in word.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_digit() {
                if !last_digit {
                    key.push('#');
                }
                last_digit = true;
            } else {
                key.push(c);
                last_digit = false;
            }
        }
    }
    key
}

/// How many lines at the top and at the bottom of a page may be a running header or footer.
const EDGE_LINES: usize = 2;

/// Takes the lines that stand at the top or bottom of most pages (at least three, and at
/// least half of them: running headers, footers and page numbers) out of the page's flow.
fn drop_running_lines(extracted: &mut Extracted) {
    let pages = extracted.sections.len();
    if pages < 3 {
        return;
    }
    let edges = |text: &str| -> Vec<String> {
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let top = lines.iter().take(EDGE_LINES);
        let bottom = lines
            .iter()
            .rev()
            .take(EDGE_LINES.min(lines.len().saturating_sub(EDGE_LINES)));
        top.chain(bottom).map(|l| running_key(l)).collect()
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    for section in &extracted.sections {
        let keys: HashSet<String> = edges(&section.text).into_iter().collect();
        for key in keys {
            *seen.entry(key).or_default() += 1;
        }
    }
    let running: HashSet<String> = seen
        .into_iter()
        .filter(|(key, n)| !key.is_empty() && *n >= 3 && *n * 2 >= pages)
        .map(|(key, _)| key)
        .collect();
    if running.is_empty() {
        return;
    }
    for section in &mut extracted.sections {
        let lines: Vec<&str> = section.text.lines().collect();
        let content: Vec<usize> = (0..lines.len())
            .filter(|&i| !lines[i].trim().is_empty())
            .collect();
        let edge: HashSet<usize> = content
            .iter()
            .take(EDGE_LINES)
            .chain(content.iter().rev().take(EDGE_LINES))
            .copied()
            .collect();
        let is_running =
            |i: usize, line: &str| edge.contains(&i) && running.contains(&running_key(line));
        let moved: Vec<&str> = (0..lines.len())
            .filter(|&i| is_running(i, lines[i]))
            .map(|i| lines[i])
            .collect();
        let kept: Vec<&str> = (0..lines.len())
            .filter(|&i| !is_running(i, lines[i]))
            .map(|i| lines[i])
            .collect();
        // What they say (the company, the report, the chapter) still tells a search which
        // document a page is of: they lead the page, on a paragraph of their own, instead
        // of standing between its sentences. Page numbers alone go.
        let label: Vec<&str> = moved
            .iter()
            .map(|line| line.trim())
            .filter(|line| line.chars().any(char::is_alphabetic))
            .collect();
        let body = kept;
        section.text = if label.is_empty() {
            body.join("\n")
        } else {
            format!("{}\n\n{}", label.join(" · "), body.join("\n"))
        };
    }
    extracted.sections.retain(|s| !s.text.trim().is_empty());
}

/// Every word the document spells, lower-cased: a word broken at a line end is joined
/// without its hyphen only when the document has it whole somewhere.
fn vocabulary(extracted: &Extracted) -> HashSet<String> {
    extracted
        .sections
        .iter()
        .flat_map(|s| s.text.split(|c: char| !c.is_alphanumeric()))
        .filter(|w| w.chars().count() > 2)
        .map(str::to_lowercase)
        .collect()
}

/// Whether a line begins an item of its own: a bullet or a numbered step.
fn starts_item(line: &str) -> bool {
    let line = line.trim_start();
    if line.starts_with(['•', '◦', '▪', '-', '–', '*', '·']) {
        return true;
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    digits > 0
        && digits <= 3
        && line[digits..].starts_with(['.', ')'])
        && line[digits + 1..].starts_with(' ')
}

/// Whether a line reads as a row of a table: two or more numbers making up a quarter or
/// more of its words ("Products $ 63,355 $ 63,948"). Rows keep their own lines.
fn is_tabular(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    let numbers = words
        .iter()
        .filter(|w| {
            let w = w.trim_matches(|c: char| "$€£%()—–-,.".contains(c));
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_digit() || c == ',' || c == '.')
        })
        .count();
    numbers >= 2 && numbers * 4 >= words.len()
}

fn ends_sentence(line: &str) -> bool {
    line.trim_end()
        .trim_end_matches(['"', '\'', '”', '’', ')'])
        .ends_with(['.', '!', '?', ':'])
}

/// A page's lines joined into paragraphs, separated by blank lines. A line break is kept
/// where a sentence ends on a short line, before a list item, after a short line with no
/// closing punctuation (a heading), and at blank lines; elsewhere the next line continues
/// the paragraph.
fn paragraphs(text: &str, vocabulary: &HashSet<String>) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let mut lengths: Vec<usize> = lines
        .iter()
        .map(|l| l.trim().chars().count())
        .filter(|&n| n > 0)
        .collect();
    if lengths.is_empty() {
        return String::new();
    }
    lengths.sort_unstable();
    // The length of a full line: most lines of a paragraph run to the margin.
    let full = lengths[lengths.len() * 3 / 4] as f64;
    let mut out = String::new();
    let mut current = String::new();
    let flush = |current: &mut String, out: &mut String| {
        if !current.is_empty() {
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(current.trim());
            current.clear();
        }
    };
    let mut previous = "";
    for line in lines {
        let line = line.trim();
        if line.is_empty() {
            flush(&mut current, &mut out);
            previous = line;
            continue;
        }
        if !current.is_empty() {
            let length = previous.chars().count() as f64;
            let short = length < full * 0.8;
            let heading = length < full * 0.6 && !ends_sentence(previous);
            if starts_item(line)
                || is_tabular(line)
                || is_tabular(previous)
                || (short && ends_sentence(previous))
                || (heading && line.starts_with(char::is_uppercase))
            {
                flush(&mut current, &mut out);
            }
        }
        if current.is_empty() {
            current.push_str(line);
        } else {
            join(&mut current, line, vocabulary);
        }
        previous = line;
    }
    flush(&mut current, &mut out);
    out
}

/// Appends `line` to the paragraph so far: after a hyphen that broke a word, without it (and
/// without a space) when the document knows the whole word, else with the hyphen kept
/// ("well-known"); otherwise after a space.
fn join(current: &mut String, line: &str, vocabulary: &HashSet<String>) {
    let broken = current.ends_with('-')
        && current[..current.len() - 1].ends_with(char::is_alphabetic)
        && line.starts_with(char::is_lowercase);
    if broken {
        let head: String = current[..current.len() - 1]
            .chars()
            .rev()
            .take_while(|c| c.is_alphabetic())
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let tail: String = line.chars().take_while(|c| c.is_alphabetic()).collect();
        let whole = format!("{head}{tail}").to_lowercase();
        let known = ["", "s", "es", "ed", "d", "ing"].iter().any(|ending| {
            whole
                .strip_suffix(ending)
                .is_some_and(|stem| vocabulary.contains(stem))
        });
        if known {
            current.pop();
        }
        current.push_str(line);
    } else {
        current.push(' ');
        current.push_str(line);
    }
}

/// Footnote markers dropped: one or two digits right after a word's closing punctuation
/// ("the Act.3 It", "rights,12 and"), which a PDF's text layer gives for a superscript.
fn without_footnote_markers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit()
            && i >= 2
            && matches!(chars[i - 1], '.' | ',' | ';' | ':' | '"' | '”' | '’' | ')')
            && chars[i - 2].is_alphabetic()
        {
            let run = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            let after = chars.get(i + run);
            if run <= 2 && after.is_none_or(|c| c.is_whitespace()) {
                i += run;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Section;

    fn pdf(pages: &[&str]) -> Extracted {
        Extracted {
            format: Some(Format::Pdf),
            sections: pages
                .iter()
                .enumerate()
                .map(|(i, text)| Section {
                    text: (*text).to_owned(),
                    page: Some(i as u32 + 1),
                    ..Section::default()
                })
                .collect(),
            ..Extracted::default()
        }
    }

    #[test]
    fn control_characters_go_in_every_format() {
        let mut text = Extracted {
            format: Some(Format::Text),
            sections: vec![Section {
                text: "A\u{2}B\tC\u{ad}D\nE".into(),
                ..Section::default()
            }],
            ..Extracted::default()
        };
        clean(&mut text);
        assert_eq!(text.sections[0].text, "AB CD\nE");
    }

    #[test]
    fn lines_of_a_paragraph_join_and_paragraphs_stay_apart() {
        let mut doc = pdf(&["The Civil Rights Act was a landmark law that\n\
              outlawed discrimination based on race, color,\n\
              religion, sex and national origin. It was signed\n\
              by President Johnson.\n\
              Enforcement\n\
              The act was enforced by the courts and by the\n\
              new commission it created, which is well-\n\
              known today and investi-\n\
              gates complaints; to investigate is its work.\n\
              • first item of a list\n\
              • second item"]);
        clean(&mut doc);
        assert_eq!(
            doc.sections[0].text,
            "The Civil Rights Act was a landmark law that outlawed discrimination based on race, \
             color, religion, sex and national origin. It was signed by President Johnson.\n\n\
             Enforcement\n\n\
             The act was enforced by the courts and by the new commission it created, which is \
             well-known today and investigates complaints; to investigate is its work.\n\n\
             • first item of a list\n\n\
             • second item"
        );
    }

    #[test]
    fn table_rows_keep_their_lines() {
        let mut doc = pdf(&[
            "Net sales by category for the quarter were as follows in millions\n\
              Products $ 63,355 $ 63,948 $ 245,241\n\
              Services 19,604 17,486 58,941\n\
              Total net sales 82,959 81,434 304,182",
        ]);
        clean(&mut doc);
        assert_eq!(
            doc.sections[0].text,
            "Net sales by category for the quarter were as follows in millions\n\n\
             Products $ 63,355 $ 63,948 $ 245,241\n\nServices 19,604 17,486 58,941\n\n\
             Total net sales 82,959 81,434 304,182"
        );
    }

    #[test]
    fn running_headers_footers_and_page_numbers_go() {
        let pages: Vec<String> = (1..=4)
            .map(|n| {
                format!(
                    "Annual Report 2025\nPage {n} of 4\n{} says something worth reading on \
                     this page.\nConfidential — Acme Ltd",
                    ["Alpha", "Beta", "Gamma", "Delta"][n - 1]
                )
            })
            .collect();
        let mut doc = pdf(&pages.iter().map(String::as_str).collect::<Vec<_>>());
        clean(&mut doc);
        assert_eq!(doc.sections.len(), 4);
        for (n, section) in doc.sections.iter().enumerate() {
            assert_eq!(
                section.text,
                format!(
                    "Annual Report 2025 · Page {} of 4 · Confidential — Acme Ltd\n\n{} says \
                     something worth reading on this page.",
                    n + 1,
                    ["Alpha", "Beta", "Gamma", "Delta"][n]
                )
            );
        }
        // On two pages a repeated line is content, not a running header.
        let mut short = pdf(&["Summary\nOne.", "Summary\nTwo."]);
        clean(&mut short);
        assert!(short.sections[0].text.starts_with("Summary"));
    }

    #[test]
    fn footnote_markers_leave_the_sentences() {
        assert_eq!(
            without_footnote_markers(
                "signed into law.3 It covers rights,12 and more. In 1965.4 H2O 3.14"
            ),
            "signed into law. It covers rights, and more. In 1965.4 H2O 3.14"
        );
    }
}
