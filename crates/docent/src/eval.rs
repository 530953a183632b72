//! `docent eval chroma|docugami DIR`: retrieval quality on public question sets. Each run
//! ingests the set's documents into a scratch store through the real pipeline (upload,
//! extraction, chunking, indexing, embedding), asks every question through the same
//! retrieval the answers use, and prints recall@k, MRR and (for gold character spans)
//! `gold_char_recall`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use docent_app::App;
use docent_core::config::RetrievalConfig;
use docent_core::*;
use docent_rag::Mode;
use docent_store::Store;
use serde::Deserialize;

use crate::progress::Progress;

#[derive(Clone, Debug)]
pub struct Options {
    pub k: u32,
    pub budget_tokens: u32,
    pub chunk_size: u32,
    pub chunk_overlap: u32,
    /// `None`: hybrid when an embedder is configured, else full text.
    pub mode: Option<Mode>,
    pub json: bool,
    /// Print each question whose gold text was not all retrieved, with the chunks that were.
    pub show_misses: bool,
}

pub(crate) fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Hybrid => "hybrid",
        Mode::FullText => "fulltext",
        Mode::Vector => "vector",
    }
}

/// An enterprise organization with one chat space, both named `name` at `slug`, for the
/// benchmarks and evaluations to fill.
pub(crate) async fn enterprise_space(
    store: &dyn Store,
    name: &str,
    slug: &str,
    ai_config: serde_json::Value,
    retrieval_config: serde_json::Value,
) -> anyhow::Result<(Organization, ChatSpace)> {
    let (_, org) = store
        .signup(
            NewUser::new(format!("{slug}@docent.localhost"), name),
            NewOrganization::new(name, slug, Plan::Enterprise),
        )
        .await?;
    let space = NewChatSpace {
        ai_config,
        retrieval_config,
        ..NewChatSpace::new(name, slug)
    };
    let space = store.create_chat_space(org.id, space).await?;
    Ok((org, space))
}

/// A scratch store with one enterprise organization and one chat space.
pub(crate) struct Scratch {
    pub(crate) app: App,
    org: OrgId,
    space: ChatSpace,
    dir: PathBuf,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

pub(crate) async fn scratch(settings: &Settings, options: &Options) -> anyhow::Result<Scratch> {
    let dir = std::env::temp_dir().join(format!("docent-eval-{}", uuid_like()));
    let store = docent_store_sqlite::SqliteStore::open_dir(&dir, 4)
        .await
        .context("opening the scratch store")?;
    store
        .migrate()
        .await
        .context("migrating the scratch store")?;
    let store: Arc<dyn Store> = Arc::new(store);
    let mut settings = settings.clone();
    settings.data_dir = dir.clone();
    settings.database_url = None;
    let app = App::new(store.clone(), settings).map_err(anyhow::Error::msg)?;
    let retrieval = RetrievalConfig {
        top_k: options.k,
        chunk_size: options.chunk_size,
        chunk_overlap: options.chunk_overlap,
        ..RetrievalConfig::default()
    };
    let ai = serde_json::to_value(config::AiConfig::default())?;
    let retrieval = serde_json::to_value(retrieval)?;
    let (org, space) =
        enterprise_space(store.as_ref(), "Evaluation", "eval", ai, retrieval).await?;
    Ok(Scratch {
        app,
        org: org.id,
        space,
        dir,
    })
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    )
}

impl Scratch {
    /// Ingests `files` and waits for every job (embeddings included).
    pub(crate) async fn load(&self, files: Vec<PathBuf>) -> anyhow::Result<()> {
        crate::ingest::run(&self.app, &self.space.endpoint_slug, &files, true).await?;
        if self.app.embedder.is_some() {
            let worker = docent_app::jobs::Worker::new(self.app.clone(), "eval");
            eprintln!("embedding chunks…");
            while worker
                .run_once()
                .await
                .map_err(|e| anyhow::anyhow!(e.message()))?
                .is_some()
            {}
        }
        // Every question is then answered by the in-memory index, as a running server's are.
        self.app.store.warm_search(self.org, self.space.id).await?;
        Ok(())
    }

    pub(crate) fn mode(&self, options: &Options) -> anyhow::Result<Mode> {
        let mode = options.mode.unwrap_or(if self.app.embedder.is_some() {
            Mode::Hybrid
        } else {
            Mode::FullText
        });
        if mode != Mode::FullText && self.app.embedder.is_none() {
            bail!(
                "--mode {} needs embeddings: set DOCENT_EMBEDDING_MODEL_DIR (local MiniLM) or DOCENT_EMBEDDING_MODEL",
                mode_name(mode)
            );
        }
        Ok(mode)
    }

    pub(crate) async fn ask(
        &self,
        question: &str,
        mode: Mode,
    ) -> anyhow::Result<Vec<docent_rag::Retrieved>> {
        Ok(self
            .app
            .answers
            .retrieve(self.org, &self.space, question, mode)
            .await?)
    }

    /// Every chunk of the chat space, by document.
    async fn chunks(&self) -> anyhow::Result<Vec<(Document, Vec<Chunk>)>> {
        let store = &self.app.store;
        let documents = store
            .list_documents(self.org, self.space.id, Page::first(1000))
            .await?;
        let mut out = Vec::new();
        for document in documents {
            let mut chunks = Vec::new();
            let mut after = None;
            loop {
                let page = store.list_chunks(self.org, document.id, after, 500).await?;
                let Some(last) = page.last() else { break };
                after = Some(last.chunk_index);
                chunks.extend(page);
            }
            out.push((document, chunks));
        }
        Ok(out)
    }
}

#[derive(Debug, Default)]
struct Scores {
    questions: usize,
    recall: f64,
    reciprocal_rank: f64,
    gold_chars: f64,
    /// Marker numbers in quoted answers, and those naming no citation: as answered, and
    /// with the context numbered per chunk (as before the numbering went by document).
    markers: (usize, usize),
    markers_per_chunk: (usize, usize),
}

/// Marker numbers of the quoted answer to `question` over `retrieved`, and how many name no
/// citation: as the answer service numbers sources (by document), then numbered per chunk.
fn quoted_markers(
    question: &str,
    retrieved: &[docent_rag::Retrieved],
) -> ((usize, usize), (usize, usize)) {
    use docent_rag::{extractive, prompt};
    let count = |blocks: &[prompt::Block<'_>]| {
        let Some(answer) = extractive::answer(question, blocks) else {
            return (0, 0);
        };
        let cited = prompt::citations(&answer, blocks);
        prompt::marker_numbers(&prompt::keep_cited_markers(&answer, &cited), &cited)
    };
    let by_document = prompt::blocks(retrieved, prompt::CONTEXT_BUDGET_TOKENS);
    let mut n = 0;
    let per_chunk: Vec<prompt::Block<'_>> = by_document
        .iter()
        .map(|b| prompt::Block {
            retrieved: b.retrieved,
            number: b.number.map(|_| {
                n += 1;
                n
            }),
        })
        .collect();
    // The per-chunk count is of the answer as it was stored then, markers and all.
    let per_chunk_count = extractive::answer(question, &per_chunk).map_or((0, 0), |answer| {
        prompt::marker_numbers(&answer, &prompt::citations(&answer, &per_chunk))
    });
    (count(&by_document), per_chunk_count)
}

impl Scores {
    fn report(&self, name: &str, options: &Options, mode: Mode, with_chars: bool) {
        let n = self.questions.max(1) as f64;
        let (recall, mrr, chars) = (
            self.recall / n,
            self.reciprocal_rank / n,
            self.gold_chars / n,
        );
        if options.json {
            let mut out = serde_json::json!({
                "eval": name,
                "mode": mode_name(mode),
                "k": options.k,
                "chunk_size": options.chunk_size,
                "chunk_overlap": options.chunk_overlap,
                "questions": self.questions,
                "recall_at_k": round(recall),
                "mrr": round(mrr),
            });
            if with_chars {
                out["budget_tokens"] = options.budget_tokens.into();
                out["gold_char_recall"] = round(chars).into();
            }
            println!("{out}");
        } else {
            println!(
                "{name}: {} questions, mode {}, k={}, chunks {}/{} tokens",
                self.questions,
                mode_name(mode),
                options.k,
                options.chunk_size,
                options.chunk_overlap
            );
            println!("  recall@{}         {recall:.3}", options.k);
            println!("  MRR               {mrr:.3}");
            if with_chars {
                println!(
                    "  gold_char_recall  {chars:.3}  (within {} tokens)",
                    options.budget_tokens
                );
            }
        }
    }
}

fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[derive(Debug, Deserialize)]
pub(crate) struct GoldSpan {
    pub(crate) content: String,
    start_index: usize,
    end_index: usize,
}

/// Chroma's chunking evaluation: `questions_df.csv` (question, references with gold text
/// and character spans, corpus_id) and `corpora/<corpus_id>.md`.
pub(crate) struct ChromaSet {
    /// `(question, gold references, corpus)`, in the file's order.
    pub(crate) questions: Vec<(String, Vec<GoldSpan>, String)>,
    pub(crate) corpora: Vec<String>,
    /// The corpora's files, in the order of `corpora`.
    pub(crate) files: Vec<PathBuf>,
}

impl ChromaSet {
    pub(crate) fn read(dir: &Path) -> anyhow::Result<ChromaSet> {
        let csv_path = dir.join("questions_df.csv");
        let mut reader = csv::Reader::from_path(&csv_path)
            .with_context(|| format!("reading {}", csv_path.display()))?;
        let mut questions: Vec<(String, Vec<GoldSpan>, String)> = Vec::new();
        for record in reader.records() {
            let record = record?;
            let (Some(question), Some(references), Some(corpus)) =
                (record.get(0), record.get(1), record.get(2))
            else {
                bail!(
                    "{}: a row without question, references and corpus_id",
                    csv_path.display()
                );
            };
            let spans: Vec<GoldSpan> = serde_json::from_str(references)
                .with_context(|| format!("the references of {question:?}"))?;
            questions.push((question.to_owned(), spans, corpus.to_owned()));
        }
        let mut corpora: Vec<String> = questions.iter().map(|q| q.2.clone()).collect();
        corpora.sort();
        corpora.dedup();
        let files: Vec<PathBuf> = corpora
            .iter()
            .map(|c| dir.join("corpora").join(format!("{c}.md")))
            .collect();
        Ok(ChromaSet {
            questions,
            corpora,
            files,
        })
    }
}

/// The Chroma chunking evaluation (see [`ChromaSet`]): how well retrieval finds the gold spans.
pub async fn chroma(settings: &Settings, dir: &Path, options: Options) -> anyhow::Result<()> {
    let ChromaSet {
        questions,
        corpora,
        files,
    } = ChromaSet::read(dir)?;
    let scratch = scratch(settings, &options).await?;
    let mode = scratch.mode(&options)?;
    scratch.load(files.clone()).await?;

    // Where each chunk lies in its corpus, in characters (the spans count characters).
    let texts: HashMap<String, String> = corpora
        .iter()
        .zip(&files)
        .map(|(c, f)| Ok((c.clone(), std::fs::read_to_string(f)?)))
        .collect::<anyhow::Result<_>>()?;
    let mut spans: HashMap<ChunkId, (String, usize, usize)> = HashMap::new();
    let mut unplaced = 0;
    for (document, chunks) in scratch.chunks().await? {
        let corpus = document
            .file_name
            .as_deref()
            .and_then(|f| f.strip_suffix(".md"))
            .unwrap_or_default()
            .to_owned();
        let Some(text) = texts.get(&corpus) else {
            continue;
        };
        let mut cursor = 0;
        for chunk in chunks {
            match text[cursor..].find(&chunk.content).map(|at| at + cursor) {
                Some(at) => {
                    let start = text[..at].chars().count();
                    let end = start + chunk.content.chars().count();
                    spans.insert(chunk.id, (corpus.clone(), start, end));
                    cursor = at + 1;
                    while !text.is_char_boundary(cursor) {
                        cursor += 1;
                    }
                }
                None => unplaced += 1,
            }
        }
    }
    if unplaced > 0 {
        eprintln!(
            "note: {unplaced} chunk(s) could not be placed in their corpus and count as misses"
        );
    }

    let mut scores = Scores::default();
    let mut progress = Progress::new("questions", questions.len());
    for (question, gold, corpus) in &questions {
        let retrieved = scratch.ask(question, mode).await?;
        let placed: Vec<(&(String, usize, usize), i32)> = retrieved
            .iter()
            .filter_map(|r| {
                spans
                    .get(&r.hit.chunk.id)
                    .map(|s| (s, r.hit.chunk.token_count))
            })
            .collect();
        let overlaps = |span: &(String, usize, usize), g: &GoldSpan| {
            &span.0 == corpus && span.1 < g.end_index && g.start_index < span.2
        };
        let touched = gold
            .iter()
            .filter(|g| placed.iter().any(|(s, _)| overlaps(s, g)))
            .count();
        scores.recall += touched as f64 / gold.len().max(1) as f64;
        if let Some(rank) = placed
            .iter()
            .position(|(s, _)| gold.iter().any(|g| overlaps(s, g)))
        {
            scores.reciprocal_rank += 1.0 / (rank as f64 + 1.0);
        }
        // Gold characters inside the chunks that fit the token budget, best first.
        let mut used = 0u32;
        let mut covered: Vec<(usize, usize)> = Vec::new();
        for (span, tokens) in &placed {
            used += (*tokens).max(0) as u32;
            if used > options.budget_tokens {
                break;
            }
            if &span.0 == corpus {
                covered.push((span.1, span.2));
            }
        }
        let total: usize = gold.iter().map(|g| g.end_index - g.start_index).sum();
        let inside: usize = gold
            .iter()
            .map(|g| {
                (g.start_index..g.end_index)
                    .filter(|&c| covered.iter().any(|&(s, e)| s <= c && c < e))
                    .count()
            })
            .sum();
        scores.gold_chars += inside as f64 / total.max(1) as f64;
        if options.show_misses && inside < total {
            eprintln!(
                "\nmiss {:.2} {question:?} [{corpus}] gold {:?}",
                inside as f64 / total as f64,
                gold.iter()
                    .map(|g| (g.start_index, g.end_index))
                    .collect::<Vec<_>>()
            );
            for (span, tokens) in &placed {
                eprintln!("    {} {}..{} ({tokens} tokens)", span.0, span.1, span.2);
            }
        }
        let (markers, per_chunk) = quoted_markers(question, &retrieved);
        scores.markers.0 += markers.0;
        scores.markers.1 += markers.1;
        scores.markers_per_chunk.0 += per_chunk.0;
        scores.markers_per_chunk.1 += per_chunk.1;
        scores.questions += 1;
        progress.tick("");
    }
    progress.finish();
    scores.report("chroma", &options, mode, true);
    if !options.json {
        println!(
            "  quoted answers: {} citation markers, {} naming no listed citation \
             (numbered per chunk, as before: {} of {})",
            scores.markers.0,
            scores.markers.1,
            scores.markers_per_chunk.1,
            scores.markers_per_chunk.0
        );
    }
    Ok(())
}

/// Docugami's SEC 10-Q set: `docs/*.pdf` and `qna_data.csv` whose "Source Docs" is a file
/// name pattern (`*2023 Q3 AAPL*`); a chunk hits when its document matches the pattern.
pub async fn docugami(settings: &Settings, dir: &Path, options: Options) -> anyhow::Result<()> {
    let csv_path = dir.join("qna_data.csv");
    let text = std::fs::read_to_string(&csv_path)
        .with_context(|| format!("reading {}", csv_path.display()))?;
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = reader.headers()?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .with_context(|| format!("{} has no {name:?} column", csv_path.display()))
    };
    let (question_at, source_at) = (column("Question")?, column("Source Docs")?);
    let mut questions: Vec<(String, Vec<String>)> = Vec::new();
    for record in reader.records() {
        let record = record?;
        let question = record
            .get(question_at)
            .unwrap_or_default()
            .trim()
            .to_owned();
        let patterns: Vec<String> = record
            .get(source_at)
            .unwrap_or_default()
            .split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect();
        if !question.is_empty() && !patterns.is_empty() {
            questions.push((question, patterns));
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("docs"))
        .with_context(|| format!("reading {}", dir.join("docs").display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("pdf")))
        .collect();
    files.sort();
    let scratch = scratch(settings, &options).await?;
    let mode = scratch.mode(&options)?;
    scratch.load(files).await?;
    let names: HashMap<DocumentId, String> = scratch
        .chunks()
        .await?
        .into_iter()
        .map(|(d, _)| (d.id, d.file_name.unwrap_or_default()))
        .collect();

    let mut scores = Scores::default();
    let mut progress = Progress::new("questions", questions.len());
    for (question, patterns) in &questions {
        let retrieved = scratch.ask(question, mode).await?;
        let hit = |r: &docent_rag::Retrieved| {
            names
                .get(&r.hit.chunk.document_id)
                .is_some_and(|name| patterns.iter().any(|p| glob(p, name)))
        };
        if let Some(rank) = retrieved.iter().position(hit) {
            scores.recall += 1.0;
            scores.reciprocal_rank += 1.0 / (rank as f64 + 1.0);
        }
        scores.questions += 1;
        progress.tick("");
    }
    progress.finish();
    scores.report("docugami", &options, mode, false);
    Ok(())
}

/// `*` matches any run of characters; everything else matches itself, ignoring case.
fn glob(pattern: &str, name: &str) -> bool {
    let pattern = pattern.to_lowercase();
    let name = name.to_lowercase();
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut at = 0;
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            continue;
        }
        if i == 0 {
            if !name.starts_with(part) {
                return false;
            }
            at = part.len();
        } else if let Some(found) = name[at..].find(part) {
            at += found + part.len();
        } else {
            return false;
        }
    }
    parts
        .last()
        .is_none_or(|last| last.is_empty() || name.ends_with(last))
}

#[cfg(test)]
mod tests {
    #[test]
    fn globs_match_file_names() {
        assert!(super::glob("*2023 Q3 AAPL*", "2023 Q3 AAPL.pdf"));
        assert!(super::glob("*AAPL*", "2022 Q3 aapl.pdf"));
        assert!(!super::glob("*2023 Q3 AAPL*", "2023 Q2 AAPL.pdf"));
        assert!(super::glob("2023*.pdf", "2023 Q1 MSFT.pdf"));
        assert!(!super::glob("2023*.pdf", "x2023 Q1 MSFT.pdf"));
    }
}
