//! The learn-only guard: no run of [`RUN`] or more consecutive words of a private chunk
//! reaches the visitor, on streamed output too (DESIGN §5).
//!
//! Text passes through [`Guard::push`] as it streams. The guard holds back the last
//! `RUN - 1` words, the only ones a later word could still complete into a private run; when
//! a word completes a run of `RUN` words found in a private chunk, the whole run is dropped
//! and "…" shown in its place. Words compare by lower-cased letters and digits only, so
//! changes of case or punctuation do not slip a copy through.

use std::collections::HashSet;
use std::ops::Range;

use crate::{is_word_char, words};

/// The shortest run of private words that must not be shown.
pub const RUN: usize = 12;

/// Filters a streamed answer against private texts.
#[derive(Debug)]
pub struct Guard {
    runs: HashSet<u64>,
    /// Everything received so far.
    text: String,
    /// Completed words: their byte ranges in `text` and normalised hashes.
    words: Vec<(Range<usize>, u64)>,
    /// Per word: whether it belongs to a private run.
    hidden: Vec<bool>,
    /// Bytes of `text` already decided (emitted or dropped).
    settled: usize,
    /// Words already decided.
    settled_words: usize,
    /// Whether the last thing emitted was the "…" of a dropped run.
    in_gap: bool,
    /// Where the word being typed starts, if one is.
    open_word: Option<usize>,
    /// Whether anything was dropped.
    redacted: bool,
}

fn word_hash(word: &str) -> u64 {
    // FNV-1a over the normalised word; collisions only make the guard stricter.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for c in word.chars().flat_map(char::to_lowercase) {
        let mut buf = [0u8; 4];
        for b in c.encode_utf8(&mut buf).bytes() {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

fn run_hash(words: impl Iterator<Item = u64>) -> u64 {
    words.fold(0x9e37_79b9_7f4a_7c15, |acc, w| {
        (acc ^ w)
            .wrapping_mul(0xff51_afd7_ed55_8ccd)
            .rotate_left(29)
    })
}

/// The normalised word hashes of a text.
fn word_hashes(text: &str) -> Vec<u64> {
    words(text).map(word_hash).collect()
}

impl Guard {
    /// A guard against the given private texts.
    pub fn new<'a>(private: impl IntoIterator<Item = &'a str>) -> Guard {
        let mut runs = HashSet::new();
        for text in private {
            let hashes = word_hashes(text);
            for window in hashes.windows(RUN) {
                runs.insert(run_hash(window.iter().copied()));
            }
        }
        Guard {
            runs,
            text: String::new(),
            words: Vec::new(),
            hidden: Vec::new(),
            settled: 0,
            settled_words: 0,
            in_gap: false,
            open_word: None,
            redacted: false,
        }
    }

    /// Whether there is anything to guard against.
    pub fn is_active(&self) -> bool {
        !self.runs.is_empty()
    }

    /// Whether part of the answer was dropped.
    pub fn redacted(&self) -> bool {
        self.redacted
    }

    /// Takes more of the answer; returns the text that may now be shown.
    pub fn push(&mut self, delta: &str) -> String {
        let start = self.text.len();
        self.text.push_str(delta);
        let mut position = start;
        for c in delta.chars() {
            if is_word_char(c) {
                self.open_word.get_or_insert(position);
            } else if let Some(word_start) = self.open_word.take() {
                self.complete_word(word_start..position);
            }
            position += c.len_utf8();
        }
        self.release(false)
    }

    /// The answer is complete: returns the rest that may be shown.
    pub fn finish(&mut self) -> String {
        if let Some(word_start) = self.open_word.take() {
            self.complete_word(word_start..self.text.len());
        }
        self.release(true)
    }

    fn complete_word(&mut self, range: Range<usize>) {
        let hash = word_hash(&self.text[range.clone()]);
        self.words.push((range, hash));
        self.hidden.push(false);
        let n = self.words.len();
        if self.runs.is_empty() || n < RUN {
            return;
        }
        let window = run_hash(self.words[n - RUN..].iter().map(|(_, h)| *h));
        if self.runs.contains(&window) {
            for hidden in &mut self.hidden[n - RUN..] {
                *hidden = true;
            }
            self.redacted = true;
        }
    }

    /// Emits the words no later word can hide any more (all of them at the end).
    fn release(&mut self, all: bool) -> String {
        let limit = if all || self.runs.is_empty() {
            self.words.len()
        } else {
            // The next word could hide the last RUN - 1 completed words.
            self.words.len().saturating_sub(RUN - 1)
        };
        let mut out = String::new();
        while self.settled_words < limit {
            let (range, _) = self.words[self.settled_words].clone();
            let hidden = self.hidden[self.settled_words];
            if hidden {
                if !self.in_gap {
                    out.push_str(&self.text[self.settled..range.start]);
                    out.push('…');
                    self.in_gap = true;
                }
            } else {
                if !self.in_gap {
                    out.push_str(&self.text[self.settled..range.start]);
                } else {
                    // Keep one separator after the "…".
                    let between = &self.text[self.settled..range.start];
                    if between.chars().any(char::is_whitespace) {
                        out.push(' ');
                    }
                }
                out.push_str(&self.text[range.clone()]);
                self.in_gap = false;
            }
            self.settled = range.end;
            self.settled_words += 1;
        }
        if all {
            // What follows the last word (punctuation, spaces), unless a word is still open.
            if !self.in_gap || !self.text[self.settled..].trim().is_empty() {
                out.push_str(&self.text[self.settled..]);
            }
            self.settled = self.text.len();
        } else if self.open_word.is_none() && self.words.len() == self.settled_words {
            // Nothing held back: trailing punctuation and spaces may go too.
            out.push_str(&self.text[self.settled..]);
            self.settled = self.text.len();
        }
        out
    }
}

/// The first run of [`RUN`] words of `private` that `text` contains, if any (for tests and
/// audits).
pub fn leaked_run(text: &str, private: &str) -> Option<String> {
    let private_words: Vec<&str> = words(private).collect();
    let private_hashes = word_hashes(private);
    let private_runs: HashSet<u64> = private_hashes
        .windows(RUN)
        .map(|w| run_hash(w.iter().copied()))
        .collect();
    let hashes = word_hashes(text);
    for window in hashes.windows(RUN) {
        if private_runs.contains(&run_hash(window.iter().copied())) {
            let position = private_hashes
                .windows(RUN)
                .position(|w| w == window)
                .unwrap_or(0);
            return Some(private_words[position..position + RUN].join(" "));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "Our supplier in Lyon charges eleven euros per unit for the blue \
                          ceramic mugs, and we mark them up four times.";

    fn stream(guard: &mut Guard, text: &str, piece: usize) -> String {
        let mut out = String::new();
        let chars: Vec<char> = text.chars().collect();
        for chunk in chars.chunks(piece) {
            out.push_str(&guard.push(&chunk.iter().collect::<String>()));
        }
        out.push_str(&guard.finish());
        out
    }

    #[test]
    fn a_copied_run_never_shows_however_it_is_streamed() {
        let answer = format!("Here is what I know. {SECRET} Anything else?");
        for piece in [1, 2, 3, 7, 1000] {
            let mut guard = Guard::new([SECRET]);
            let shown = stream(&mut guard, &answer, piece);
            assert_eq!(leaked_run(&shown, SECRET), None, "piece {piece}: {shown}");
            assert!(guard.redacted());
            assert!(shown.starts_with("Here is what I know. …"), "{shown}");
            assert!(shown.ends_with("Anything else?"), "{shown}");
        }
    }

    #[test]
    fn case_and_punctuation_do_not_hide_a_copy() {
        let disguised = SECRET.to_uppercase().replace(' ', " -- ").replace(',', ";");
        let mut guard = Guard::new([SECRET]);
        let shown = stream(&mut guard, &disguised, 5);
        assert!(guard.redacted());
        assert_eq!(leaked_run(&shown, SECRET), None, "{shown}");
    }

    #[test]
    fn eleven_words_may_pass_and_ordinary_text_is_untouched() {
        let eleven = "Our supplier in Lyon charges eleven euros per unit for the";
        let answer = format!("{eleven} cups. Ask us!");
        let mut guard = Guard::new([SECRET]);
        assert_eq!(stream(&mut guard, &answer, 4), answer);
        assert!(!guard.redacted());
        let mut open = Guard::new(std::iter::empty());
        assert_eq!(
            open.push("Hello, "),
            "Hello, ",
            "nothing private: nothing held back"
        );
    }

    #[test]
    fn text_is_held_back_only_by_the_last_eleven_words() {
        let mut guard = Guard::new([SECRET]);
        let words: Vec<String> = (0..30).map(|i| format!("w{i} ")).collect();
        let mut shown = String::new();
        for w in &words {
            shown.push_str(&guard.push(w));
        }
        assert!(shown.starts_with("w0 w1 "));
        assert!(shown.contains("w18"), "{shown}");
        assert!(!shown.contains("w19"), "{shown}");
        shown.push_str(&guard.finish());
        assert_eq!(shown, words.concat());
    }
}
