//! The in-process full-text index both backends rank with: per chat space, the stemmed
//! words of its chunks as postings lists, scored by BM25 (DESIGN §5).
//!
//! Ranking inside the database scores every chunk that holds any word of the question, and
//! at 100k chunks that takes tens of milliseconds on SQLite (FTS5) and hundreds on
//! PostgreSQL (`ts_rank_cd`); the same work over postings in memory takes well under one.
//! The database stays the source of truth: a generation per chat space, bumped by triggers
//! on every change to its chunks, tells a process when its copy is stale, whichever process
//! made the change. A stale or missing copy is rebuilt in the background while searches
//! keep using the database's own full-text search, so a search never waits for a rebuild
//! and never misses a chunk that was just added or finds one that was just deleted.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use docent_core::{ChatSpaceId, ChunkHit, OrgId};
use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use uuid::Uuid;

use crate::{Result, StoreError};

/// BM25's term-frequency saturation and length normalisation (the usual values; FTS5's too).
const K1: f32 = 1.2;
const B: f32 = 0.75;
/// Words longer than this are indexed as they are, not stemmed.
const MAX_STEMMED: usize = 64;
/// Bytes of indexes kept across chat spaces (512 MiB); the least recently used chat spaces
/// are dropped beyond it and rebuilt when asked again.
const MAX_BYTES: usize = 512 * 1024 * 1024;
/// A chat space is rebuilt at most once per this many times its last build took, so that
/// one whose knowledge keeps changing (a site being crawled) costs at most a fifth of a
/// core while it is being searched.
const REBUILD_SPACING: u32 = 5;

/// The words of `text` as the index sees them: runs of letters and digits, lower-cased,
/// without diacritics ("Café" → "cafe"), each passed to `f`.
pub fn for_each_word(text: &str, mut f: impl FnMut(&str)) {
    let mut folded = String::new();
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if word.is_ascii() {
            if word.bytes().any(|b| b.is_ascii_uppercase()) {
                folded.clear();
                folded.push_str(word);
                folded.make_ascii_lowercase();
                f(&folded);
            } else {
                f(word);
            }
        } else {
            folded.clear();
            for c in word.nfd().filter(|c| !is_combining_mark(*c)) {
                folded.extend(c.to_lowercase());
            }
            if !folded.is_empty() {
                f(&folded);
            }
        }
    }
}

fn stem<'a>(stemmer: &Stemmer, word: &'a str) -> std::borrow::Cow<'a, str> {
    if word.len() > MAX_STEMMED {
        word.into()
    } else {
        stemmer.stem(word)
    }
}

#[derive(Debug, Default)]
struct Postings {
    /// Chunk numbers holding the term, ascending.
    chunks: Vec<u32>,
    /// How often the term occurs in each of them.
    counts: Vec<u32>,
}

/// One chat space's chunks, indexed.
#[derive(Debug)]
pub struct TextIndex {
    generation: i64,
    ids: Vec<Uuid>,
    /// Words per chunk.
    lengths: Vec<u32>,
    average_length: f32,
    terms: HashMap<Box<str>, u32>,
    postings: Vec<Postings>,
    /// Memory held, roughly.
    bytes: usize,
}

impl TextIndex {
    /// Indexes `chunks` (id and text, in the order ties are broken in) as of `generation`.
    pub fn build(generation: i64, chunks: Vec<(Uuid, String)>) -> TextIndex {
        let stemmer = Stemmer::create(Algorithm::English);
        // Words repeat far more often than they are new: each distinct spelling is stemmed
        // once.
        let mut spellings: HashMap<String, u32> = HashMap::new();
        let mut terms: HashMap<Box<str>, u32> = HashMap::new();
        let mut postings: Vec<Postings> = Vec::new();
        let mut ids = Vec::with_capacity(chunks.len());
        let mut lengths = Vec::with_capacity(chunks.len());
        let mut words: Vec<u32> = Vec::new();
        for (number, (id, text)) in chunks.into_iter().enumerate() {
            words.clear();
            for_each_word(&text, |word| {
                let term = match spellings.get(word) {
                    Some(term) => *term,
                    None => {
                        let stemmed = stem(&stemmer, word);
                        let term = match terms.get(stemmed.as_ref()) {
                            Some(term) => *term,
                            None => {
                                let term = postings.len() as u32;
                                postings.push(Postings::default());
                                terms.insert(stemmed.as_ref().into(), term);
                                term
                            }
                        };
                        spellings.insert(word.to_owned(), term);
                        term
                    }
                };
                words.push(term);
            });
            ids.push(id);
            lengths.push(words.len() as u32);
            words.sort_unstable();
            for run in words.chunk_by(|a, b| a == b) {
                let list = &mut postings[run[0] as usize];
                list.chunks.push(number as u32);
                list.counts.push(run.len() as u32);
            }
        }
        let total: u64 = lengths.iter().map(|l| u64::from(*l)).sum();
        let average_length = if ids.is_empty() {
            1.0
        } else {
            (total as f32 / ids.len() as f32).max(1.0)
        };
        postings.iter_mut().for_each(|p| {
            p.chunks.shrink_to_fit();
            p.counts.shrink_to_fit();
        });
        let bytes = ids.len() * 20
            + postings
                .iter()
                .map(|p| 48 + p.chunks.capacity() * 8)
                .sum::<usize>()
            + terms.keys().map(|k| k.len() + 32).sum::<usize>();
        TextIndex {
            generation,
            ids,
            lengths,
            average_length,
            terms,
            postings,
            bytes,
        }
    }

    /// The generation of the chunks this index holds.
    pub fn generation(&self) -> i64 {
        self.generation
    }

    /// Chunks indexed.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Memory held, roughly.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The `limit` chunks that best match any of `words` by BM25, best first, with their
    /// scores; ties go to the chunk indexed first.
    pub fn search(&self, words: &[String], limit: usize) -> Vec<(Uuid, f64)> {
        let stemmer = Stemmer::create(Algorithm::English);
        let mut terms: Vec<u32> = Vec::new();
        for query in words {
            for_each_word(query, |word| {
                if let Some(term) = self.terms.get(stem(&stemmer, word).as_ref()) {
                    terms.push(*term);
                }
            });
        }
        terms.sort_unstable();
        terms.dedup();
        if terms.is_empty() || limit == 0 {
            return Vec::new();
        }
        let total = self.ids.len() as f32;
        let mut scores = vec![0.0f32; self.ids.len()];
        let mut touched: Vec<u32> = Vec::new();
        for term in terms {
            let list = &self.postings[term as usize];
            let holding = list.chunks.len() as f32;
            // Lucene's form of the inverse document frequency: never negative, so a word
            // in most chunks still counts a little.
            let idf = (1.0 + (total - holding + 0.5) / (holding + 0.5)).ln();
            for (&chunk, &count) in list.chunks.iter().zip(&list.counts) {
                let count = count as f32;
                let length = self.lengths[chunk as usize] as f32;
                let norm = K1 * (1.0 - B + B * length / self.average_length);
                let score = &mut scores[chunk as usize];
                if *score == 0.0 {
                    touched.push(chunk);
                }
                *score += idf * count * (K1 + 1.0) / (count + norm);
            }
        }
        let better = |a: &u32, b: &u32| {
            scores[*b as usize]
                .total_cmp(&scores[*a as usize])
                .then(a.cmp(b))
        };
        if touched.len() > limit {
            touched.select_nth_unstable_by(limit - 1, better);
            touched.truncate(limit);
        }
        touched.sort_unstable_by(better);
        touched
            .into_iter()
            .map(|chunk| (self.ids[chunk as usize], f64::from(scores[chunk as usize])))
            .collect()
    }
}

type Key = (Uuid, Uuid);

#[derive(Debug)]
struct Entry {
    index: Arc<TextIndex>,
    used: Instant,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<Key, Entry>,
    /// Chat spaces being rebuilt now, or not to be rebuilt before the instant.
    rebuilds: HashMap<Key, Rebuild>,
}

#[derive(Debug, Clone, Copy)]
enum Rebuild {
    Running,
    NotBefore(Instant),
}

/// The indexes of one process, by organization and chat space.
#[derive(Debug, Default)]
pub struct TextIndexes {
    state: Mutex<State>,
}

impl TextIndexes {
    /// The index of a chat space if it holds `generation`.
    pub fn fresh(&self, org: Uuid, chat_space: Uuid, generation: i64) -> Option<Arc<TextIndex>> {
        let mut state = self.lock();
        let entry = state.entries.get_mut(&(org, chat_space))?;
        if entry.index.generation != generation {
            return None;
        }
        entry.used = Instant::now();
        Some(entry.index.clone())
    }

    /// The index of a chat space, whatever generation it holds.
    pub fn current(&self, org: Uuid, chat_space: Uuid) -> Option<Arc<TextIndex>> {
        let mut state = self.lock();
        let entry = state.entries.get_mut(&(org, chat_space))?;
        entry.used = Instant::now();
        Some(entry.index.clone())
    }

    /// Starts rebuilding a chat space's index in the background from `load` (its chunks as
    /// of `generation`, in id order), unless a rebuild is running or was done too recently.
    pub fn refresh<F>(self: &Arc<Self>, org: Uuid, chat_space: Uuid, generation: i64, load: F)
    where
        F: Future<Output = Result<Vec<(Uuid, String)>>> + Send + 'static,
    {
        let key = (org, chat_space);
        {
            let mut state = self.lock();
            match state.rebuilds.get(&key) {
                Some(Rebuild::Running) => return,
                Some(Rebuild::NotBefore(at)) if *at > Instant::now() => return,
                _ => {}
            }
            state.rebuilds.insert(key, Rebuild::Running);
        }
        let indexes = self.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let built = Self::build(generation, load).await;
            let took = started.elapsed();
            let next = Instant::now() + took.max(Duration::from_millis(20)) * REBUILD_SPACING;
            let mut state = indexes.lock();
            state.rebuilds.insert(key, Rebuild::NotBefore(next));
            match built {
                Ok(index) => indexes.keep(&mut state, key, index),
                Err(e) => tracing::warn!(error = %e, "rebuilding a full-text index failed"),
            }
        });
    }

    /// Builds a chat space's index now and keeps it.
    pub async fn rebuild<F>(
        &self,
        org: Uuid,
        chat_space: Uuid,
        generation: i64,
        load: F,
    ) -> Result<()>
    where
        F: Future<Output = Result<Vec<(Uuid, String)>>> + Send + 'static,
    {
        let index = Self::build(generation, load).await?;
        let mut state = self.lock();
        self.keep(&mut state, (org, chat_space), index);
        Ok(())
    }

    async fn build<F>(generation: i64, load: F) -> Result<TextIndex>
    where
        F: Future<Output = Result<Vec<(Uuid, String)>>> + Send + 'static,
    {
        let chunks = load.await?;
        // Tokenising and stemming 100k chunks takes a core for a second or so: off the
        // threads that serve requests.
        tokio::task::spawn_blocking(move || TextIndex::build(generation, chunks))
            .await
            .map_err(|e| StoreError::Task(format!("building a full-text index: {e}")))
    }

    fn keep(&self, state: &mut State, key: Key, index: TextIndex) {
        if let Some(entry) = state.entries.get(&key)
            && entry.index.generation > index.generation
        {
            return;
        }
        state.entries.insert(
            key,
            Entry {
                index: Arc::new(index),
                used: Instant::now(),
            },
        );
        // Over the memory cap: drop the least recently used other chat spaces.
        let mut total: usize = state.entries.values().map(|e| e.index.bytes()).sum();
        while total > MAX_BYTES {
            let Some(oldest) = state
                .entries
                .iter()
                .filter(|(k, _)| **k != key)
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| *k)
            else {
                break;
            };
            if let Some(gone) = state.entries.remove(&oldest) {
                total -= gone.index.bytes();
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves only a cache behind: keep using it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The chunks' ids and texts of a chat space, loading: a future that owns what it needs, so
/// that it can run in the background.
pub type ChunkTexts = std::pin::Pin<Box<dyn Future<Output = Result<Vec<(Uuid, String)>>> + Send>>;

/// What a backend provides so that its full-text search goes through [`TextIndexes`]; the
/// searching itself ([`crate::ChunkIndex::search_chunks`] and `warm_search`) is the same
/// for every backend.
#[async_trait]
pub trait TextSource: Send + Sync {
    fn text_indexes(&self) -> &Arc<TextIndexes>;
    /// The generation of a chat space's chunks (0 before it has any).
    async fn chunk_generation(&self, chat_space: ChatSpaceId) -> Result<i64>;
    /// Loads a chat space's chunks, in id order.
    fn chunk_texts(&self, org: OrgId, chat_space: ChatSpaceId) -> ChunkTexts;
    /// The rows of scored chunks of a chat space, in the order given; chunks deleted since
    /// they were scored are left out. With `at`, none unless the chat space's chunks are
    /// still at that generation (checked in the same statement).
    async fn hits_in_order(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        scored: Vec<(Uuid, f64)>,
        at: Option<i64>,
    ) -> Result<Vec<ChunkHit>>;
    /// The database's own full-text search, for while the index is (re)built: every chunk
    /// holding any of the words is ranked there.
    async fn search_in_database(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        terms: &[String],
        limit: u32,
    ) -> Result<Vec<ChunkHit>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for_each_word(text, |w| out.push(w.to_owned()));
        out
    }

    fn index(texts: &[&str]) -> (Vec<Uuid>, TextIndex) {
        let ids: Vec<Uuid> = (0..texts.len()).map(|_| Uuid::now_v7()).collect();
        let chunks = ids
            .iter()
            .zip(texts)
            .map(|(id, t)| (*id, (*t).to_owned()))
            .collect();
        (ids, TextIndex::build(7, chunks))
    }

    fn query(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn words_are_folded() {
        assert_eq!(
            words("Café CRÈME, naïve-Ünïcode 42x ß"),
            ["cafe", "creme", "naive", "unicode", "42x", "ß"]
        );
        assert!(words(" -- ... ").is_empty());
    }

    #[test]
    fn stems_meet_and_rare_words_weigh_more() {
        let (ids, index) = index(&[
            "Refunds are issued within thirty days.",
            "Shipping takes three days; shipping is free.",
            "Our refund policy covers shipping damage.",
            "Nothing to see here.",
        ]);
        assert_eq!(index.len(), 4);
        assert_eq!(index.generation(), 7);
        let hits = index.search(&query("refunding"), 10);
        assert_eq!(
            hits.iter().map(|h| h.0).collect::<Vec<_>>(),
            [ids[0], ids[2]],
            "refunding finds refund and Refunds; the shorter chunk first"
        );
        let hits = index.search(&query("refund shipping"), 10);
        assert_eq!(hits[0].0, ids[2], "both words beat either alone");
        assert_eq!(hits.len(), 3);
        assert!(hits.windows(2).all(|w| w[0].1 >= w[1].1));
        assert!(index.search(&query("unknown words"), 10).is_empty());
        assert!(index.search(&[], 10).is_empty());
        assert!(index.search(&query("refund"), 0).is_empty());
    }

    #[test]
    fn limits_keep_the_best_and_ties_keep_their_order() {
        let texts: Vec<String> = (0..50).map(|i| format!("policy number {i}")).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let (ids, index) = index(&refs);
        let hits = index.search(&query("policy"), 5);
        assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), ids[..5]);
        let hits = index.search(&query("policy 37"), 3);
        assert_eq!(hits[0].0, ids[37]);
        assert_eq!(hits.len(), 3);
    }

    #[tokio::test]
    async fn stale_indexes_are_rebuilt_once_in_the_background() {
        let indexes = Arc::new(TextIndexes::default());
        let (org, space) = (Uuid::now_v7(), Uuid::now_v7());
        let id = Uuid::now_v7();
        assert!(indexes.fresh(org, space, 1).is_none());
        indexes.refresh(org, space, 1, async move {
            Ok(vec![(id, "hello world".to_owned())])
        });
        // A second refresh while the first runs does nothing (its loader would fail).
        indexes.refresh(org, space, 1, async {
            Err(StoreError::Task("must not run".into()))
        });
        for _ in 0..500 {
            if indexes.fresh(org, space, 1).is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let index = indexes.fresh(org, space, 1).expect("rebuilt");
        assert_eq!(index.search(&query("world"), 5)[0].0, id);
        assert!(indexes.fresh(org, space, 2).is_none(), "a newer generation");
        assert!(
            indexes.fresh(Uuid::now_v7(), space, 1).is_none(),
            "another org"
        );
        indexes
            .rebuild(org, space, 2, async { Ok(Vec::new()) })
            .await
            .expect("rebuild");
        assert!(indexes.fresh(org, space, 2).expect("fresh").is_empty());
        // An older build finishing late does not replace a newer one.
        indexes
            .rebuild(
                org,
                space,
                1,
                async move { Ok(vec![(id, "late".to_owned())]) },
            )
            .await
            .expect("rebuild");
        assert!(indexes.fresh(org, space, 2).is_some());
    }
}
