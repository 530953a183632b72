//! `docent eval answers DIR`: the quoted answers (what a chat space with no model says) on
//! Chroma's set, scored on the answer text itself. A question is answered when the answer
//! holds at least half of the words of its gold evidence; the median answer length is in
//! words; every `[n]` marker must name a listed citation. Beside Docent's figures, in the
//! same run, stands what a user would otherwise write: the best BM25 chunk's two sentences
//! with the most IDF weight of the question's words (`../shared/bench/quote_baseline.py`).
//!
//! The questions are split in two halves by their row in `questions_df.csv`: even rows are
//! the dev half (tune on it), odd rows are held out.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::Context;
use docent_core::Settings;
use docent_rag::{extractive, prompt};

use crate::eval::{ChromaSet, Options, mode_name, scratch};
use crate::progress::Progress;

/// Lower-cased words as Python's `re.findall(r"\w+")` finds them: runs of letters, digits
/// and underscores.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// Whether `answer` holds at least half of the gold words (counted with repetition).
fn answers_gold(answer: &str, gold: &[String]) -> bool {
    let have: HashSet<String> = words(answer).collect();
    let gold: Vec<String> = gold.iter().flat_map(|g| words(g)).collect();
    !gold.is_empty() && gold.iter().filter(|w| have.contains(*w)).count() * 2 >= gold.len()
}

/// The text without its ` [n]` citation markers, as a reader weighs it.
fn without_markers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('[') {
        let after = &rest[at + 1..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 && after[digits..].starts_with(']') {
            out.push_str(rest[..at].trim_end_matches(' '));
            rest = &after[digits + 1..];
        } else {
            out.push_str(&rest[..=at]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[derive(Default)]
struct Tally {
    answered: usize,
    lengths: Vec<usize>,
}

impl Tally {
    fn add(&mut self, answer: &str, gold: &[String]) {
        self.answered += usize::from(answers_gold(answer, gold));
        self.lengths.push(words(answer).count());
    }

    fn share(&self) -> f64 {
        self.answered as f64 / self.lengths.len().max(1) as f64
    }

    fn median(&self) -> f64 {
        let mut sorted = self.lengths.clone();
        sorted.sort_unstable();
        match sorted.len() {
            0 => 0.0,
            n if n % 2 == 1 => sorted[n / 2] as f64,
            n => (sorted[n / 2 - 1] + sorted[n / 2]) as f64 / 2.0,
        }
    }
}

/// Docent's and the baseline's tallies for one half of the questions.
#[derive(Default)]
struct Half {
    docent: Tally,
    baseline: Tally,
}

pub async fn answers(settings: &Settings, dir: &Path, options: Options) -> anyhow::Result<()> {
    let set = ChromaSet::read(dir)?;
    let texts: Vec<String> = set
        .files
        .iter()
        .map(|f| std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display())))
        .collect::<anyhow::Result<_>>()?;
    let baseline = Baseline::new(&texts);
    let scratch = scratch(settings, &options).await?;
    let mode = scratch.mode(&options)?;
    scratch.load(set.files.clone()).await?;

    let (mut dev, mut held_out) = (Half::default(), Half::default());
    let (mut markers, mut uncited) = (0, 0);
    let mut progress = Progress::new("questions", set.questions.len());
    for (row, (question, gold, _)) in set.questions.iter().enumerate() {
        let gold: Vec<String> = gold.iter().map(|g| g.content.clone()).collect();
        let retrieved = scratch.ask(question, mode).await?;
        let blocks = prompt::blocks(&retrieved, prompt::CONTEXT_BUDGET_TOKENS);
        let answer = extractive::answer(question, &blocks).unwrap_or_default();
        // As the answer service stores it: markers kept only where they name a citation.
        let cited = prompt::citations(&answer, &blocks);
        let kept = prompt::keep_cited_markers(&answer, &cited);
        let (n, unlisted) = prompt::marker_numbers(&answer, &cited);
        markers += n;
        uncited += unlisted;
        let text = without_markers(&kept);
        let quoted = baseline.answer(question);
        let half = if row % 2 == 0 {
            &mut dev
        } else {
            &mut held_out
        };
        half.docent.add(&text, &gold);
        half.baseline.add(&quoted, &gold);
        if options.show_misses && !answers_gold(&text, &gold) {
            eprintln!(
                "\nmiss {question:?}\n  gold:   {}\n  docent: {text}",
                gold.join(" … ")
            );
        }
        progress.tick("");
    }
    progress.finish();

    if options.json {
        let half = |h: &Half| {
            serde_json::json!({
                "questions": h.docent.lengths.len(),
                "answered": round(h.docent.share()),
                "median_words": h.docent.median(),
                "baseline_answered": round(h.baseline.share()),
                "baseline_median_words": h.baseline.median(),
            })
        };
        println!(
            "{}",
            serde_json::json!({
                "eval": "answers",
                "mode": mode_name(mode),
                "dev": half(&dev),
                "held_out": half(&held_out),
                "markers": markers,
                "markers_without_citation": uncited,
            })
        );
        return Ok(());
    }
    println!(
        "answers: {} questions, quoted (no model), retrieval {}",
        set.questions.len(),
        mode_name(mode)
    );
    println!("                         dev half        held-out half");
    println!(
        "  questions              {:<15} {}",
        dev.docent.lengths.len(),
        held_out.docent.lengths.len()
    );
    let cell = |t: &Tally| format!("{:.3} ({:.0} w)", t.share(), t.median());
    let row = |name: &str, a: &Tally, b: &Tally| {
        let (a, b) = (cell(a), cell(b));
        println!("  {name:<22} {a:<15} {b}");
    };
    row("Docent answered", &dev.docent, &held_out.docent);
    row("baseline answered", &dev.baseline, &held_out.baseline);
    println!("  answered: holds at least half the gold evidence's words; (w): median words");
    println!("  citation markers: {markers}, naming no listed citation: {uncited}");
    Ok(())
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The baseline of `quote_baseline.py`, the same steps: every corpus cut into chunks of
/// about 1,600 characters at paragraph ends, Okapi BM25 (k1 1.2, b 0.75) picks the best
/// chunk for the question's words (stop words left out), and its two sentences with the most
/// IDF weight of those words are the answer, in their order.
struct Baseline {
    chunks: Vec<String>,
    counts: Vec<HashMap<String, usize>>,
    lengths: Vec<usize>,
    average: f64,
    idf: HashMap<String, f64>,
}

const STOP: &str = "the a an of to in and or is are was were be for on with as by at from that \
    this what which who how when why did do does it its their his her they them about into than \
    then there";

fn terms(text: &str) -> Vec<String> {
    let stop: HashSet<&str> = STOP.split_whitespace().collect();
    words(text).filter(|w| !stop.contains(w.as_str())).collect()
}

/// Paragraphs: text between lines that are blank.
fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.split('\n') {
        if line.trim().is_empty() && !current.is_empty() {
            out.push(current.join("\n"));
            current.clear();
        } else if !line.trim().is_empty() {
            current.push(line);
        }
    }
    if !current.is_empty() {
        out.push(current.join("\n"));
    }
    out
}

/// Sentences: split after `.`, `!` or `?` followed by white space, and at blank lines.
fn baseline_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            let start = i;
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            let run = &chars[start..i];
            let after_end = current.ends_with(['.', '!', '?']);
            if after_end || run.iter().filter(|&&c| c == '\n').count() >= 2 {
                out.push(std::mem::take(&mut current));
            } else {
                current.extend(run);
            }
            continue;
        }
        current.push(c);
        i += 1;
    }
    out.push(current);
    out.retain(|s| !s.trim().is_empty());
    out
}

impl Baseline {
    fn new(texts: &[String]) -> Baseline {
        let mut chunks = Vec::new();
        for text in texts {
            let mut current = String::new();
            for paragraph in paragraphs(text) {
                if !current.is_empty() && current.chars().count() + paragraph.chars().count() > 1600
                {
                    chunks.push(std::mem::take(&mut current));
                }
                current.push_str(&paragraph);
                current.push_str("\n\n");
            }
            if !current.trim().is_empty() {
                chunks.push(current);
            }
        }
        let counts: Vec<HashMap<String, usize>> = chunks
            .iter()
            .map(|c| {
                let mut counts = HashMap::new();
                for term in terms(c) {
                    *counts.entry(term).or_default() += 1;
                }
                counts
            })
            .collect();
        let lengths: Vec<usize> = counts.iter().map(|c| c.values().sum()).collect();
        let n = chunks.len().max(1) as f64;
        let mut frequency: HashMap<String, usize> = HashMap::new();
        for c in &counts {
            for term in c.keys() {
                *frequency.entry(term.clone()).or_default() += 1;
            }
        }
        let idf = frequency
            .into_iter()
            .map(|(t, f)| (t, (1.0 + (n - f as f64 + 0.5) / (f as f64 + 0.5)).ln()))
            .collect();
        Baseline {
            average: lengths.iter().sum::<usize>() as f64 / n,
            chunks,
            counts,
            lengths,
            idf,
        }
    }

    fn answer(&self, question: &str) -> String {
        let query: HashSet<String> = terms(question).into_iter().collect();
        let idf = |t: &str| self.idf.get(t).copied().unwrap_or(0.0);
        let bm25 = |i: usize| -> f64 {
            let (k1, b) = (1.2, 0.75);
            let length = self.lengths[i] as f64;
            query
                .iter()
                .filter_map(|t| self.counts[i].get(t).map(|&tf| (t, tf as f64)))
                .map(|(t, tf)| {
                    idf(t) * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * length / self.average))
                })
                .sum()
        };
        let (mut best, mut best_score) = (0, f64::MIN);
        for i in 0..self.chunks.len() {
            let score = bm25(i);
            if score > best_score {
                (best, best_score) = (i, score);
            }
        }
        let Some(chunk) = self.chunks.get(best) else {
            return String::new();
        };
        let sentences = baseline_sentences(chunk);
        let weight = |s: &str| -> f64 {
            let have: HashSet<String> = terms(s).into_iter().collect();
            query.intersection(&have).map(|t| idf(t)).sum()
        };
        let weights: Vec<f64> = sentences.iter().map(|s| weight(s)).collect();
        let mut order: Vec<usize> = (0..sentences.len()).collect();
        order.sort_by(|&a, &b| weights[b].total_cmp(&weights[a]));
        let mut top: Vec<usize> = order.into_iter().take(2).collect();
        top.sort_unstable();
        top.iter()
            .map(|&i| sentences[i].as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_holds_half_the_gold_words_or_not() {
        let gold = vec!["Refunds are paid within 30 days.".to_owned()];
        assert!(answers_gold(
            "We pay refunds within 30 days of a return.",
            &gold
        ));
        assert!(!answers_gold("Refunds are lovely.", &gold));
        assert!(!answers_gold("anything", &[]));
    }

    #[test]
    fn markers_are_left_out_of_what_is_weighed() {
        assert_eq!(
            without_markers("Two years [1]. Opens at 9 [2] [3]"),
            "Two years. Opens at 9"
        );
        assert_eq!(without_markers("a [b] [12x]"), "a [b] [12x]");
    }

    #[test]
    fn the_baseline_quotes_the_best_chunks_two_weightiest_sentences() {
        let texts = vec![
            "Our bakery opens at seven.\n\nSourdough rests for 36 hours. It is baked at dawn. \
             Rye is sold out by noon."
                .to_owned(),
            "The warranty lasts two years. Repairs are free.".to_owned(),
        ];
        let baseline = Baseline::new(&texts);
        assert_eq!(
            baseline.answer("How long does the warranty last?"),
            "The warranty lasts two years. Repairs are free."
        );
        assert_eq!(
            baseline_sentences("One. Two!\n\nThree\nfour"),
            ["One.", "Two!", "Three\nfour"]
        );
    }
}
