//! `docent bench retrieval` and `docent bench answer`: latency of top-5 retrieval in one chat
//! space of 10k and 100k chunks on SQLite (and PostgreSQL when given), and Docent's own time
//! per answer (everything but the model) under concurrent requests.
//!
//! Chunks are passages of the Chroma evaluation corpora when present (else generated text),
//! with random 384-dimension embeddings (latency does not depend on what vectors mean);
//! questions are the evaluation's questions. The baseline, measured in the same run, is the
//! query one would write first: one full-text SQL query of the question's words, five rows.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use async_trait::async_trait;
use docent_ai::{AiError, ChatEvent, ChatModel, ChatRequest, ChatStream, Embedder};
use docent_core::config::RetrievalConfig;
use docent_core::*;
use docent_rag::{AnswerService, Ask, Mode};
use docent_store::Store;
use docent_store::text_index::TextSource;
use serde_json::json;

use crate::progress::Progress;

const DIMENSION: usize = 384;
const QUESTIONS: &str = "../shared/corpora/qa/chroma_chunking_eval";

/// A small deterministic generator (xorshift), so every run measures the same data.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn vector(&mut self) -> Vec<f32> {
        (0..DIMENSION)
            .map(|_| (self.next() % 2000) as f32 / 1000.0 - 1.0)
            .collect()
    }
}

/// Passages of about 60 words from the evaluation corpora, or generated ones.
fn passages() -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(Path::new(QUESTIONS).join("corpora")) {
        for entry in entries.flatten() {
            if let Ok(text) = std::fs::read_to_string(entry.path()) {
                words.extend(text.split_whitespace().map(str::to_owned));
            }
        }
    }
    if words.len() < 10_000 {
        let mut random = Random(7);
        let vocabulary: Vec<String> = (0..5000).map(|i| format!("word{i}")).collect();
        words = (0..200_000)
            .map(|_| vocabulary[(random.next() % 5000) as usize].clone())
            .collect();
    }
    words.chunks(60).map(|w| w.join(" ")).collect()
}

/// Says where the questions and passages of a benchmark come from: figures over generated
/// words are not comparable with figures over the evaluation's text.
pub(crate) fn data_source() -> String {
    if Path::new(QUESTIONS).join("questions_df.csv").is_file() {
        format!("questions and passages: {QUESTIONS}")
    } else {
        format!("questions and passages: generated words ({QUESTIONS} is not found from here)")
    }
}

pub(crate) fn questions() -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(mut reader) = csv::Reader::from_path(Path::new(QUESTIONS).join("questions_df.csv")) {
        for record in reader.records().flatten() {
            if let Some(q) = record.get(0) {
                out.push(q.to_owned());
            }
        }
    }
    if out.is_empty() {
        out = (0..200)
            .map(|i| format!("word{} word{} word{}", i, i * 7 % 5000, i * 13 % 5000))
            .collect();
    }
    out
}

/// An organization and a chat space holding `count` chunks with embeddings.
pub(crate) async fn fill(
    store: &dyn Store,
    count: usize,
    tag: &str,
) -> anyhow::Result<(OrgId, ChatSpace)> {
    let slug = format!("bench-{tag}-{count}-{}", std::process::id());
    let ai = json!({"model": "bench/instant"});
    let (org, space) =
        crate::eval::enterprise_space(store, "Benchmark", &slug, ai, json!({})).await?;
    let texts = passages();
    let mut random = Random(42);
    let per_document = 1000;
    let mut progress = Progress::new(
        format!("{tag}: {count} chunks"),
        count.div_ceil(per_document),
    );
    for d in 0..count.div_ceil(per_document) {
        let document = store
            .create_document(
                org.id,
                NewDocument {
                    chat_space_id: space.id,
                    parent_id: None,
                    doc_type: "text".into(),
                    title: format!("Document {d}"),
                    file_name: Some(format!("document-{d}.txt")),
                    file_size: None,
                    content_hash: None,
                    storage_key: None,
                    source_url: None,
                    citable: true,
                    status: DocumentStatus::Processing,
                },
            )
            .await?;
        let n = per_document.min(count - d * per_document);
        let chunks: Vec<NewChunk> = (0..n)
            .map(|i| {
                let at = d * per_document + i;
                NewChunk {
                    chunk_index: i as i32,
                    content: format!("{} (part {at})", texts[at % texts.len()]),
                    token_count: 80,
                    metadata: json!({}),
                }
            })
            .collect();
        store
            .complete_document(org.id, document.id, DocumentFacts::default(), chunks)
            .await?;
        let vectors = (0..n).map(|i| (i as i32, random.vector())).collect();
        store
            .set_chunk_embeddings(org.id, document.id, vectors)
            .await?;
        progress.tick("");
    }
    progress.finish();
    // As a server does for a chat space it has been asked about: load its search index.
    store.warm_search(org.id, space.id).await?;
    Ok((org.id, space))
}

/// An embedder that answers at once with a vector known in advance (the benchmark measures
/// Docent, not a model).
#[derive(Debug)]
struct Instant384;

#[async_trait]
impl Embedder for Instant384 {
    fn model(&self) -> &str {
        "bench/instant"
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, AiError> {
        Ok(texts
            .iter()
            .map(|t| Random(t.len() as u64 * 2_654_435_761 + 1).vector())
            .collect())
    }
}

/// A model that answers at once: a short answer citing the first block.
#[derive(Debug)]
pub(crate) struct InstantModel;

#[async_trait]
impl ChatModel for InstantModel {
    async fn stream(&self, _: ChatRequest) -> Result<ChatStream, AiError> {
        let (tx, stream) = ChatStream::channel();
        for piece in ["The answer ", "is in the ", "knowledge [1]."] {
            let _ = tx.send(Ok(ChatEvent::Delta(piece.into()))).await;
        }
        let _ = tx.send(Ok(ChatEvent::Done { usage: None })).await;
        Ok(stream)
    }
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

struct Latency {
    p50: f64,
    p99: f64,
}

async fn time<F, Fut>(questions: &[String], runs: usize, mut f: F) -> anyhow::Result<Latency>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    // One warm-up pass loads caches (the vector index, SQLite's pages).
    f(questions[0].clone()).await?;
    let mut samples = Vec::with_capacity(runs);
    for i in 0..runs {
        let question = questions[i % questions.len()].clone();
        let started = Instant::now();
        f(question).await?;
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    samples.sort_by(f64::total_cmp);
    Ok(Latency {
        p50: percentile(&samples, 0.5),
        p99: percentile(&samples, 0.99),
    })
}

/// The query one would write first: every word of the question, OR-ed, in one full-text
/// A backend, and its database's own full-text search for the baseline.
#[derive(Clone)]
pub enum Backend {
    Sqlite(Arc<docent_store_sqlite::SqliteStore>),
    Postgres(Arc<docent_store_postgres::PostgresStore>),
}

impl Backend {
    fn store(&self) -> Arc<dyn Store> {
        match self {
            Backend::Sqlite(s) => s.clone(),
            Backend::Postgres(s) => s.clone(),
        }
    }

    /// One full-text SQL query of all the question's words, ranked by the database, five
    /// rows: what one would write without Docent's index.
    async fn baseline(&self, org: OrgId, space: ChatSpaceId, question: &str) -> anyhow::Result<()> {
        let terms = search_terms(question);
        match self {
            Backend::Sqlite(s) => s.search_in_database(org, space, &terms, 5).await?,
            Backend::Postgres(s) => s.search_in_database(org, space, &terms, 5).await?,
        };
        Ok(())
    }
}

pub async fn retrieval(
    sqlite_dir: &Path,
    postgres: Option<docent_store_postgres::PostgresStore>,
    sizes: &[usize],
    runs: usize,
) -> anyhow::Result<()> {
    let questions = questions();
    let sqlite = docent_store_sqlite::SqliteStore::open_dir(sqlite_dir, 8)
        .await
        .context("opening the scratch SQLite store")?;
    sqlite.migrate().await?;
    let mut backends = vec![("sqlite", Backend::Sqlite(Arc::new(sqlite)))];
    if let Some(pg) = postgres {
        backends.push(("postgres", Backend::Postgres(Arc::new(pg))));
    }
    let config = RetrievalConfig::default();
    println!(
        "top-{} retrieval, {runs} questions each; ms p50 / p99 (baseline: one full-text SQL query, 5 rows)",
        config.top_k
    );
    println!("{}", data_source());
    println!(
        "{:<9} {:>7} {:>17} {:>17} {:>17} {:>17}",
        "backend", "chunks", "full text", "vector", "hybrid", "baseline"
    );
    let embedder = Instant384;
    for (name, backend) in &backends {
        for &size in sizes {
            let store = backend.store();
            let (org, space) = fill(&*store, size, name).await?;
            if let Backend::Postgres(pg) = backend {
                pg.vacuum_chunks().await?;
            }
            let run = |mode: Mode| {
                let store = store.clone();
                let space = space.clone();
                let config = config.clone();
                let embedder = &embedder;
                move |question: String| {
                    let store = store.clone();
                    let space = space.clone();
                    let config = config.clone();
                    async move {
                        docent_rag::retrieve(
                            &*store,
                            Some(embedder as &dyn Embedder),
                            org,
                            space.id,
                            &question,
                            &config,
                            mode,
                        )
                        .await?;
                        Ok(())
                    }
                }
            };
            let text = time(&questions, runs, run(Mode::FullText)).await?;
            let vector = time(&questions, runs, run(Mode::Vector)).await?;
            let hybrid = time(&questions, runs, run(Mode::Hybrid)).await?;
            let baseline = time(&questions, runs, |question| {
                let backend = backend.clone();
                let space = space.id;
                async move { backend.baseline(org, space, &question).await }
            })
            .await?;
            let cell = |l: &Latency| format!("{:.2} / {:.2}", l.p50, l.p99);
            println!(
                "{name:<9} {size:>7} {:>17} {:>17} {:>17} {:>17}   hybrid p99 = {:.2}× baseline p99",
                cell(&text),
                cell(&vector),
                cell(&hybrid),
                cell(&baseline),
                hybrid.p99 / baseline.p99
            );
            store.delete_organization(org).await?;
        }
    }
    Ok(())
}

/// Docent's time per answer with a model that answers at once, `concurrency` requests at a
/// time, on a SQLite store of `chunks` chunks; baseline: retrieval alone, the same way.
pub async fn answer(
    sqlite_dir: &Path,
    chunks: usize,
    concurrency: usize,
    total: usize,
) -> anyhow::Result<()> {
    let sqlite = docent_store_sqlite::SqliteStore::open_dir(sqlite_dir, 16)
        .await
        .context("opening the scratch SQLite store")?;
    sqlite.migrate().await?;
    let store: Arc<dyn Store> = Arc::new(sqlite);
    let (org, space) = fill(&*store, chunks, "sqlite").await?;
    let service = AnswerService::new(
        store.clone(),
        None,
        Some(Arc::new(InstantModel)),
        Default::default(),
    );
    let questions = Arc::new(questions());
    let measure = |whole: bool| {
        let service = service.clone();
        let space = space.clone();
        let questions = questions.clone();
        async move {
            let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let mut tasks = Vec::new();
            let started = Instant::now();
            for _ in 0..concurrency {
                let service = service.clone();
                let space = space.clone();
                let questions = questions.clone();
                let next = next.clone();
                tasks.push(tokio::spawn(async move {
                    let mut samples = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= total {
                            return Ok::<_, anyhow::Error>(samples);
                        }
                        let question = questions[i % questions.len()].clone();
                        let begun = Instant::now();
                        if whole {
                            let (tx, mut rx) = tokio::sync::mpsc::channel(64);
                            let ask = Ask {
                                org,
                                plan: Plan::Enterprise,
                                chat_space: space.clone(),
                                conversation: None,
                                channel: Channel::Api,
                                visitor: NewConversation::default(),
                                question,
                                show_sources: false,
                                prior: None,
                            };
                            let drain =
                                tokio::spawn(async move { while rx.recv().await.is_some() {} });
                            service.answer(ask, tx).await?;
                            drain.await.ok();
                        } else {
                            service
                                .retrieve(org, &space, &question, Mode::Hybrid)
                                .await?;
                        }
                        samples.push(begun.elapsed().as_secs_f64() * 1000.0);
                    }
                }));
            }
            let mut samples = Vec::new();
            for task in tasks {
                samples.extend(task.await??);
            }
            let elapsed = started.elapsed();
            samples.sort_by(f64::total_cmp);
            Ok::<_, anyhow::Error>((
                percentile(&samples, 0.5),
                percentile(&samples, 0.99),
                total as f64 / elapsed.as_secs_f64(),
            ))
        }
    };
    // Warm-up: the vector index and SQLite's pages.
    service
        .retrieve(org, &space, &questions[0], Mode::Hybrid)
        .await?;
    let (base50, base99, base_rate) = measure(false).await?;
    let (p50, p99, rate) = measure(true).await?;
    println!(
        "answers with an instant model, {concurrency} at a time, {total} questions, {chunks} chunks (SQLite)"
    );
    println!("{}", data_source());
    println!(
        "{:<28} {:>9} {:>9} {:>12}",
        "", "p50 ms", "p99 ms", "per second"
    );
    println!(
        "{:<28} {:>9.2} {:>9.2} {:>12.0}",
        "retrieval alone (baseline)", base50, base99, base_rate
    );
    println!(
        "{:<28} {:>9.2} {:>9.2} {:>12.0}",
        "whole answer (stored)", p50, p99, rate
    );
    println!("whole answer p99 = {:.2}× retrieval p99", p99 / base99);
    Ok(())
}
