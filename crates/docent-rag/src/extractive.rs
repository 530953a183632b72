//! Extractive answers, for chat spaces with no model configured: the sentences of citable
//! context that best match the question, quoted with their `[n]` markers (DESIGN §5).
//! Private blocks are never quoted.

use std::collections::{HashMap, HashSet};

use crate::prompt::Block;
use crate::retrieve::query_terms;

/// How many sentences an extractive answer quotes at most.
const MAX_SENTENCES: usize = 3;

/// A word reduced to a crude stem: without a plural or third-person `s`, then its first five
/// letters, so "refunds" meets "refund", "opens" meets "open" and "returned" meets "return".
pub(crate) fn stem(word: &str) -> String {
    let lower: String = word.chars().flat_map(char::to_lowercase).collect();
    let base = match lower.strip_suffix('s') {
        Some(rest) if rest.chars().count() >= 3 && !rest.ends_with('s') => rest,
        _ => lower.as_str(),
    };
    base.chars().take(5).collect()
}

pub(crate) fn stems(text: &str) -> HashSet<String> {
    crate::words(text).map(stem).collect()
}

/// Sentences of a chunk; a Markdown heading is not quoted alone but leads the sentence that
/// follows it ("Warranty — Two years."), so a question about the heading finds its text.
fn quotable(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut heading: Option<String> = None;
    // A short line may also be content ("Saturday 10 to 2"): one that heads nothing is
    // quoted as it is.
    let mut plain_heading: Option<String> = None;
    for paragraph in text.split("\n\n") {
        let paragraph = paragraph.trim();
        if let Some((h, "")) = wiki_heading(paragraph) {
            out.extend(plain_heading.take());
            heading = Some(h.to_owned());
            continue;
        }
        if is_plain_heading(paragraph) {
            out.extend(plain_heading.replace(paragraph.to_owned()));
            heading = plain_heading.clone();
            continue;
        }
        plain_heading = None;
        for sentence in sentences(paragraph) {
            if sentence.starts_with('#') {
                heading = Some(sentence.trim_start_matches('#').trim().to_owned());
                continue;
            }
            // A wiki heading ("= = Reception = =") heads the sentence it runs into.
            let sentence = match wiki_heading(sentence) {
                Some((h, rest)) => {
                    heading = Some(h.to_owned());
                    if rest.chars().filter(|c| c.is_alphanumeric()).count() < 3 {
                        continue;
                    }
                    rest
                }
                None => sentence,
            };
            match heading.take() {
                Some(h) if !h.is_empty() => out.push(format!("{h} — {sentence}")),
                _ => out.push(sentence.to_owned()),
            }
        }
    }
    out.extend(plain_heading);
    out
}

/// A wiki heading at the start of `sentence` ("= Title =", "= = Section = ="): the heading
/// and what follows it.
fn wiki_heading(sentence: &str) -> Option<(&str, &str)> {
    let inner = sentence.strip_prefix('=')?.trim_start_matches(['=', ' ']);
    let end = inner.find('=')?;
    let heading = inner[..end].trim();
    let rest = inner[end..].trim_start_matches(['=', ' ']);
    (!heading.is_empty()).then_some((heading, rest))
}

/// Words after which a full stop does not end a sentence ("Roe v. Wade", "Mgr. Gilii").
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "st", "mt", "mgr", "sr", "jr", "vs", "no", "vol", "lit",
    "fig", "gen", "col", "lt", "sgt", "capt", "rev", "inc", "ltd", "co", "corp", "dept", "approx",
    "jan", "feb", "aug", "sept", "oct", "nov", "dec", "e.g", "i.e", "u.s", "cf",
];

/// Whether the full stop ending `before` belongs to an abbreviation or an initial.
fn abbreviation_before(before: &str) -> bool {
    let word = before
        .trim_end()
        .rsplit(|c: char| c.is_whitespace() || c == '(' || c == '"')
        .next()
        .unwrap_or_default();
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    (letters == 1 && word.chars().all(|c| c.is_alphabetic() || c == '.'))
        || ABBREVIATIONS.contains(&word.to_lowercase().as_str())
}

/// A paragraph of one short line with no closing punctuation, such as "Opening hours" in a
/// plain-text file: the heading of what follows, not a sentence to quote on its own.
fn is_plain_heading(paragraph: &str) -> bool {
    !paragraph.contains('\n')
        && !paragraph.starts_with(['#', '-', '*', '•', '|'])
        && !paragraph.ends_with(['.', '!', '?', ':', ';', ',', '。'])
        && paragraph.split_whitespace().count() <= 8
        && paragraph.chars().any(char::is_alphabetic)
}

/// Splits text into sentences (ends of sentences, or line breaks between paragraphs and
/// list items).
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (i, &(at, c)) in chars.iter().enumerate() {
        let next = chars.get(i + 1).map(|&(_, n)| n);
        let end = match c {
            '.' => next.is_none_or(char::is_whitespace) && !abbreviation_before(&text[start..at]),
            '!' | '?' | '。' => next.is_none_or(char::is_whitespace),
            '\n' => true,
            _ => false,
        };
        if end {
            let sentence = text[start..at + c.len_utf8()].trim();
            if sentence.chars().filter(|c| c.is_alphanumeric()).count() >= 3 {
                out.push(sentence);
            }
            start = at + c.len_utf8();
        }
    }
    let rest = text[start..].trim();
    if rest.chars().filter(|c| c.is_alphanumeric()).count() >= 3 {
        out.push(rest);
    }
    out
}

/// The answer of the citable question-and-answer source whose question is the one asked:
/// most of its words (at least two, or its only one) are in the question.
fn answered_question(terms: &HashSet<String>, blocks: &[Block<'_>]) -> Option<String> {
    let mut best: Option<(f64, String)> = None;
    for block in blocks {
        let Some(number) = block.number else { continue };
        let Some((asked, answer)) = docent_core::parse_qa(&block.retrieved.hit.chunk.content)
        else {
            continue;
        };
        let own: HashSet<String> = query_terms(asked).iter().map(|t| stem(t)).collect();
        let shared = own.intersection(terms).count();
        let share = shared as f64 / own.len().max(1) as f64;
        let enough = shared >= 2 || (own.len() == 1 && shared == 1);
        if enough && share >= 0.6 && best.as_ref().is_none_or(|(s, _)| share > *s) {
            best = Some((share, format!("{answer} [{number}]")));
        }
    }
    best.map(|(_, text)| text)
}

/// Questions that ask for an amount, a time or a count.
fn asks_for_a_number(question: &str) -> bool {
    let q = question.to_lowercase();
    [
        "how much",
        "how many",
        "how long",
        "how old",
        "how often",
        "how far",
        "when ",
        "what year",
        "which year",
        "what date",
        "what percentage",
        "what price",
        "what time",
        "what was the total",
        "what were the total",
    ]
    .iter()
    .any(|p| q.contains(p))
}

/// The numbers of `text` that read as amounts rather than as parts of a date: with a
/// thousands separator or decimals, or of three digits or more that are not a year.
fn amounts(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_ascii_digit() || c == ',' || c == '.'))
        .map(|w| w.trim_matches([',', '.']))
        .filter(|w| {
            let digits = w.chars().filter(char::is_ascii_digit).count();
            let year = w.len() == 4
                && w.chars().all(|c| c.is_ascii_digit())
                && (w.starts_with("19") || w.starts_with("20"));
            digits > 0 && (w.contains([',', '.']) || (digits >= 3 && !year))
        })
        .map(|w| w.replace(',', ""))
}

/// The answer, or `None` when no citable sentence shares a word with the question. A
/// question-and-answer source whose question is the one asked is quoted whole.
pub fn answer(question: &str, blocks: &[Block<'_>]) -> Option<String> {
    let terms: HashSet<String> = query_terms(question).iter().map(|t| stem(t)).collect();
    if let Some(text) = answered_question(&terms, blocks) {
        return Some(text);
    }
    let mut candidates: Vec<(u32, String, HashSet<String>)> = Vec::new();
    for block in blocks {
        let Some(number) = block.number else { continue };
        for sentence in quotable(&block.retrieved.hit.chunk.content) {
            let words = stems(&sentence);
            candidates.push((number, sentence, words));
        }
    }
    // Rarer words weigh more (inverse document frequency over the candidate sentences).
    let mut frequency: HashMap<&str, usize> = HashMap::new();
    for (_, _, words) in &candidates {
        for term in &terms {
            if words.contains(term) {
                *frequency.entry(term.as_str()).or_default() += 1;
            }
        }
    }
    let total = candidates.len() as f64;
    // A question for an amount, a time or a count is answered by a number it does not hold
    // itself ("How much did R&D cost in the nine months to June 25, 2022?": the row
    // "Research and development 6,797 5,717 19,490", not "Nine Months Ended June 25, 2022").
    let asked_numbers: HashSet<String> = amounts(question).collect();
    let wants_number = asks_for_a_number(question);
    let mut scored: Vec<(f64, usize)> = candidates
        .iter()
        .enumerate()
        .map(|(i, (_, sentence, words))| {
            let mut score: f64 = terms
                .iter()
                .filter(|t| words.contains(*t))
                .map(|t| (1.0 + total / frequency[t.as_str()] as f64).ln())
                .sum();
            if wants_number && score > 0.0 && amounts(sentence).any(|n| !asked_numbers.contains(&n))
            {
                score *= 1.5;
            }
            // Prefer sentences of a readable length.
            let length = sentence.chars().count() as f64;
            (score / (1.0 + (length / 400.0)), i)
        })
        .filter(|(score, _)| *score > 0.0)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut picked: Vec<usize> = Vec::new();
    for (_, i) in scored {
        let sentence = &candidates[i].1;
        if picked.iter().any(|&p| &candidates[p].1 == sentence) {
            continue;
        }
        picked.push(i);
        if picked.len() == MAX_SENTENCES {
            break;
        }
    }
    if picked.is_empty() {
        return None;
    }
    // Quoted in the order of the knowledge, so the answer reads as it was written.
    picked.sort_unstable();
    // Consecutive sentences of one block share one marker, after the last.
    let mut text = String::new();
    for (n, &i) in picked.iter().enumerate() {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&candidates[i].1);
        let next_block = picked.get(n + 1).map(|&j| candidates[j].0);
        if next_block != Some(candidates[i].0) {
            text.push_str(&format!(" [{}]", candidates[i].0));
        }
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::blocks;
    use crate::retrieve::Retrieved;

    /// A passage of a document of its own.
    fn retrieved(content: &str, citable: bool) -> Retrieved {
        let doc = uuid::Uuid::new_v4().as_u128();
        crate::prompt::tests::retrieved(doc, content, citable, None)
    }

    #[test]
    fn quotes_the_matching_sentences_of_citable_blocks_only() {
        let hits = vec![
            retrieved(
                "Our shop opened in 1999. Refunds are paid within 30 days of a return. \
                 We love customers.",
                true,
            ),
            retrieved("Refunds secretly cost us 12% in fees.", false),
        ];
        let blocks = blocks(&hits, 1000);
        let text = answer("How long do refunds take?", &blocks).expect("an answer");
        assert_eq!(text, "Refunds are paid within 30 days of a return. [1]");
        assert!(answer("quantum chromodynamics", &blocks).is_none());
        let text = answer(
            "When did the shop open, and when are refunds paid?",
            &blocks,
        );
        assert_eq!(
            text.as_deref(),
            Some("Our shop opened in 1999. Refunds are paid within 30 days of a return. [1]")
        );
    }

    #[test]
    fn stems_meet_across_plurals_and_tenses() {
        for (a, b) in [
            ("opens", "open"),
            ("refunds", "refund"),
            ("returned", "returns"),
            ("Hours", "hour"),
        ] {
            assert_eq!(stem(a), stem(b), "{a} / {b}");
        }
        assert_ne!(stem("class"), stem("clas"));
        let hits = vec![retrieved(
            "Our shop opens at nine in the morning and closes at six in the evening.",
            true,
        )];
        let blocks = blocks(&hits, 1000);
        let answer = answer("When do you open?", &blocks).expect("an answer");
        assert!(answer.contains("opens at nine"), "{answer}");
    }

    #[test]
    fn headings_lead_the_sentence_under_them() {
        let hits = vec![retrieved(
            "# Care\n\nDescale monthly.\n\n## Warranty\n\nTwo years.",
            true,
        )];
        let blocks = blocks(&hits, 1000);
        assert_eq!(
            answer("What about the warranty?", &blocks).as_deref(),
            Some("Warranty — Two years. [1]")
        );
    }

    #[test]
    fn plain_text_headings_lead_the_sentence_under_them() {
        let hits = vec![retrieved(
            "Opening hours\n\nWe open at seven.\n\nSourdough\n\nOur sourdough rests for 36 hours.",
            true,
        )];
        let blocks = blocks(&hits, 1000);
        assert_eq!(
            answer("How long does the sourdough rest?", &blocks).as_deref(),
            Some("Sourdough — Our sourdough rests for 36 hours. [1]")
        );
        // Short lines that head nothing are still quoted.
        let hits = vec![retrieved(
            "Opening hours\n\nMonday to Friday 9 to 5\n\nSaturday 10 to 2",
            true,
        )];
        let short = crate::prompt::blocks(&hits, 1000);
        let text = answer("Are you open on Saturday?", &short).expect("an answer");
        assert!(text.contains("Saturday 10 to 2"), "{text}");
        assert!(!is_plain_heading("- one list item"));
        assert!(!is_plain_heading("Closed on Sundays."));
    }

    #[test]
    fn abbreviations_and_initials_do_not_end_sentences() {
        assert_eq!(
            sentences(
                "Roe v. Wade was overturned. Mgr . Gilii came. J. K. Rowling wrote it. It is no. 5."
            ),
            [
                "Roe v. Wade was overturned.",
                "Mgr . Gilii came.",
                "J. K. Rowling wrote it.",
                "It is no. 5."
            ]
        );
    }

    #[test]
    fn wiki_headings_lead_the_sentence_they_run_into() {
        assert_eq!(
            quotable(
                "= Gregorian Tower =\n\nIt stands . = = Third stage = = The roof was altered ."
            ),
            [
                "Gregorian Tower — It stands .",
                "Third stage — The roof was altered ."
            ]
        );
        assert_eq!(
            wiki_heading("= = Reception = = Good ."),
            Some(("Reception", "Good ."))
        );
        assert_eq!(wiki_heading("x = y"), None);
    }

    #[test]
    fn a_matching_question_and_answer_is_quoted_whole() {
        let hits = vec![
            retrieved(
                "Deliveries run Monday to Saturday. Sunday is our day off.",
                true,
            ),
            retrieved(
                "Q: Do you deliver on Sundays?\nA: No. We deliver Monday to Saturday, from 8 to 18.\n",
                true,
            ),
        ];
        let blocks = blocks(&hits, 1000);
        let number = blocks[1].number.expect("citable");
        assert_eq!(
            answer("Do you deliver on a Sunday?", &blocks),
            Some(format!(
                "No. We deliver Monday to Saturday, from 8 to 18. [{number}]"
            ))
        );
        // A question that only shares a word with it gets sentences as usual.
        let text = answer("Which days is the shop closed, Sunday?", &blocks).expect("an answer");
        assert!(!text.starts_with("No. We deliver"), "{text}");
    }

    #[test]
    fn a_question_for_an_amount_prefers_a_number_it_does_not_hold() {
        let hits = vec![retrieved(
            "Three Months Ended Nine Months Ended June 25, 2022\n\
             Research and development 6,797 5,717 19,490 16,142\n\
             Selling, general and administrative 6,012 5,412 18,654 16,357",
            true,
        )];
        let blocks = blocks(&hits, 1000);
        let text = answer(
            "How much did Apple spend on research and development in the nine months ended June 25, 2022?",
            &blocks,
        )
        .expect("an answer");
        // The row, after the line that names its columns (in the order they were written).
        assert!(
            text.contains("Research and development 6,797") && !text.contains("Selling"),
            "{text}"
        );
    }

    #[test]
    fn sentences_split_at_ends_and_lines() {
        assert_eq!(
            sentences("One is here. Two: 3.5 kg!\n- three items\nok"),
            ["One is here.", "Two: 3.5 kg!", "- three items"]
        );
    }
}
