//! The in-process vector index of the SQLite backend: each chat space's embeddings, normalised,
//! in one contiguous block of memory, scanned exactly. SQLite has no vector index of its
//! own, and reading 100k embeddings from it for every question would take far too long.
//!
//! A generation per chat space (`chunk_generations`, bumped by triggers on every change to
//! its chunks) tells when a loaded block is stale, whichever process wrote: a search costs
//! one primary-key lookup to check, and a reload only after a change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use docent_store::Result;
use sqlx::SqlitePool;
use uuid::Uuid;

/// Most floats kept in memory across chat spaces (256 MiB); the least recently used chat
/// spaces are dropped beyond it and reloaded when asked again.
const MAX_FLOATS: usize = 64 * 1024 * 1024;

#[derive(Debug)]
struct Block {
    generation: i64,
    ids: Vec<Uuid>,
    /// `ids.len()` rows of `dimension` normalised floats.
    data: Vec<f32>,
    used: Instant,
}

type Key = (Uuid, Uuid, usize);

#[derive(Debug, Default)]
pub struct VectorIndex {
    blocks: Mutex<HashMap<Key, Arc<Block>>>,
}

fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// A dot product the compiler turns into SIMD (eight independent sums).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut sums = [0.0f32; 8];
    let (a8, a_rest) = a.split_at(a.len() - a.len() % 8);
    let (b8, b_rest) = b.split_at(a8.len());
    for (x, y) in a8.chunks_exact(8).zip(b8.chunks_exact(8)) {
        for i in 0..8 {
            sums[i] += x[i] * y[i];
        }
    }
    let tail: f32 = a_rest.iter().zip(b_rest).map(|(x, y)| x * y).sum();
    sums.iter().sum::<f32>() + tail
}

impl VectorIndex {
    /// The ids and cosine similarities of the `limit` chunks nearest to `query`.
    pub async fn search(
        &self,
        pool: &SqlitePool,
        org: Uuid,
        chat_space: Uuid,
        query: &[f32],
        limit: usize,
    ) -> Result<Vec<(Uuid, f64)>> {
        let mut query = query.to_vec();
        normalise(&mut query);
        if query.iter().all(|x| *x == 0.0) || limit == 0 {
            return Ok(Vec::new());
        }
        let block = self.block(pool, org, chat_space, query.len()).await?;
        let dimension = query.len();
        // The best `limit` so far, worst first, kept small and sorted.
        let mut best: Vec<(f32, usize)> = Vec::with_capacity(limit + 1);
        for (row, vector) in block.data.chunks_exact(dimension).enumerate() {
            let score = dot(vector, &query);
            if best.len() < limit || score > best[0].0 {
                let at = best.partition_point(|(s, _)| *s < score);
                best.insert(at, (score, row));
                if best.len() > limit {
                    best.remove(0);
                }
            }
        }
        Ok(best
            .into_iter()
            .rev()
            .map(|(score, row)| (block.ids[row], f64::from(score)))
            .collect())
    }

    async fn block(
        &self,
        pool: &SqlitePool,
        org: Uuid,
        chat_space: Uuid,
        dimension: usize,
    ) -> Result<Arc<Block>> {
        let generation = crate::knowledge::chunk_generation(pool, chat_space).await?;
        let key = (org, chat_space, dimension);
        if let Some(block) = self.lock().get(&key)
            && block.generation == generation
        {
            return Ok(block.clone());
        }
        let rows: Vec<(Uuid, Vec<u8>)> = sqlx::query_as(
            "SELECT id, embedding FROM document_chunks \
             WHERE org_id = ?1 AND chat_space_id = ?2 AND length(embedding) = ?3",
        )
        .bind(org)
        .bind(chat_space)
        .bind((dimension * 4) as i64)
        .fetch_all(pool)
        .await?;
        let mut ids = Vec::with_capacity(rows.len());
        let mut data = Vec::with_capacity(rows.len() * dimension);
        for (id, bytes) in rows {
            let start = data.len();
            data.extend(
                bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
            normalise(&mut data[start..]);
            ids.push(id);
        }
        let block = Arc::new(Block {
            generation,
            ids,
            data,
            used: Instant::now(),
        });
        let mut blocks = self.lock();
        blocks.insert(key, block.clone());
        // Over the memory cap: drop the least recently loaded other chat spaces.
        let mut total: usize = blocks.values().map(|b| b.data.len()).sum();
        while total > MAX_FLOATS && blocks.len() > 1 {
            let Some(oldest) = blocks
                .iter()
                .filter(|(k, _)| **k != key)
                .min_by_key(|(_, b)| b.used)
                .map(|(k, _)| *k)
            else {
                break;
            };
            if let Some(gone) = blocks.remove(&oldest) {
                total -= gone.data.len();
            }
        }
        Ok(block)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Block>>> {
        // A panic while holding the lock leaves only a cache behind: keep using it.
        self.blocks.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dot_products_of_any_length() {
        for n in [1, 7, 8, 9, 384] {
            let a: Vec<f32> = (0..n).map(|i| i as f32).collect();
            let b: Vec<f32> = (0..n).map(|i| (n - i) as f32).collect();
            let expected: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((super::dot(&a, &b) - expected).abs() <= expected.abs() * 1e-5);
        }
    }
}
