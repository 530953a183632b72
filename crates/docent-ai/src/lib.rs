//! Clients of the models Docent uses. [`Embedder`] turns texts into vectors;
//! [`OpenAiEmbedder`] speaks the OpenAI-compatible `/embeddings` protocol that OpenRouter,
//! OpenAI, Ollama and vLLM share: batched, retried with backoff on 429 and 5xx.

mod chat;
#[cfg(feature = "local")]
mod local;

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

pub use chat::{
    ChatConfig, ChatEvent, ChatMessage, ChatModel, ChatRequest, ChatStream, OpenAiChat, Role, Usage,
};
#[cfg(feature = "local")]
pub use local::LocalEmbedder;

/// Why a model call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AiError {
    /// The provider could not be reached or kept failing; worth trying later.
    #[error("the model provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request (bad key, unknown model, input too long…).
    #[error("the model provider refused the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// The provider answered something that is not a valid answer.
    #[error("the model provider answered something unexpected: {0}")]
    Malformed(String),
}

impl AiError {
    /// Whether trying again later may succeed.
    pub fn is_passing(&self) -> bool {
        matches!(self, AiError::Unavailable(_))
    }
}

/// Turns texts into vectors of one fixed dimension.
#[async_trait]
pub trait Embedder: Send + Sync + std::fmt::Debug {
    /// The model's name, stored with the vectors it made.
    fn model(&self) -> &str;
    /// One vector per text, in order.
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, AiError>;
}

/// Where and how to reach an OpenAI-compatible embeddings endpoint.
#[derive(Clone)]
pub struct EmbedderConfig {
    /// e.g. `https://openrouter.ai/api/v1` or `http://localhost:11434/v1`.
    pub base_url: String,
    pub api_key: Option<String>,
    pub model: String,
    /// Texts per request.
    pub batch_size: usize,
    /// Attempts after the first on 429, 5xx and network errors.
    pub max_retries: u32,
    /// First pause between attempts; it doubles each time (a Retry-After header wins).
    pub backoff: Duration,
    pub timeout: Duration,
}

impl std::fmt::Debug for EmbedderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbedderConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("model", &self.model)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

impl EmbedderConfig {
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> EmbedderConfig {
        EmbedderConfig {
            base_url: base_url.into(),
            api_key: None,
            model: model.into(),
            batch_size: 64,
            max_retries: 4,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(60),
        }
    }
}

/// The OpenAI-compatible embeddings client.
#[derive(Debug, Clone)]
pub struct OpenAiEmbedder {
    client: reqwest::Client,
    config: EmbedderConfig,
}

#[derive(Deserialize)]
struct EmbeddingResponse {
    data: Vec<EmbeddingItem>,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    embedding: Vec<f32>,
    #[serde(default)]
    index: Option<usize>,
}

/// How long a provider asks to be left alone (`Retry-After` in seconds), at most 30 s.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|secs| Duration::from_secs(secs).min(Duration::from_secs(30)))
}

/// What an unsuccessful answer means: 429 and 5xx may pass (worth retrying), anything else
/// is a refusal.
pub(crate) fn failure(status: reqwest::StatusCode, body: &str) -> AiError {
    if status.as_u16() == 429 || status.is_server_error() {
        AiError::Unavailable(format!("HTTP {}: {}", status.as_u16(), error_message(body)))
    } else {
        AiError::Rejected {
            status: status.as_u16(),
            message: error_message(body),
        }
    }
}

/// Runs `once` until it succeeds, a refusal comes, or `max_retries` retries have failed:
/// a failure that may pass (429, 5xx, no answer) is tried again after `backoff`, doubled each
/// time, or after the wait the provider asked for. `once` gives a failure with that wait.
pub(crate) async fn retrying<T, F, Fut>(
    what: &str,
    backoff: Duration,
    max_retries: u32,
    mut once: F,
) -> Result<T, AiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, (AiError, Option<Duration>)>>,
{
    let mut pause = backoff;
    let mut attempt = 0;
    loop {
        let (failure, wait) = match once().await {
            Ok(done) => return Ok(done),
            Err(failed) => failed,
        };
        if !failure.is_passing() || attempt >= max_retries {
            return Err(failure);
        }
        pause = wait.unwrap_or(pause);
        attempt += 1;
        tracing::warn!(attempt, error = %failure, "{what} request failed; retrying");
        tokio::time::sleep(pause).await;
        pause = pause.saturating_mul(2);
    }
}

/// The provider's own explanation in an error body, when it gives one.
pub(crate) fn error_message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v["error"]["message"]
                .as_str()
                .or(v["error"].as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| body.chars().take(300).collect())
}

impl OpenAiEmbedder {
    pub fn new(config: EmbedderConfig) -> Result<OpenAiEmbedder, AiError> {
        // HTTPS providers need a TLS crypto provider; another part of the program may have
        // installed one already, and either will do.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| AiError::Unavailable(e.to_string()))?;
        Ok(OpenAiEmbedder { client, config })
    }

    async fn embed_batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, AiError> {
        let url = format!("{}/embeddings", self.config.base_url.trim_end_matches('/'));
        let body = serde_json::json!({"model": self.config.model, "input": texts});
        retrying(
            "embedding",
            self.config.backoff,
            self.config.max_retries,
            || async {
                let mut request = self.client.post(&url).json(&body);
                if let Some(key) = &self.config.api_key {
                    request = request.bearer_auth(key);
                }
                let response = request.send().await.map_err(|e| {
                    let message = if e.is_timeout() {
                        "it did not answer in time".into()
                    } else {
                        e.to_string()
                    };
                    (AiError::Unavailable(message), None)
                })?;
                let status = response.status();
                let wait = retry_after(response.headers());
                let text = response.text().await.unwrap_or_default();
                if status.is_success() {
                    parse(&text, texts.len()).map_err(|e| (e, None))
                } else {
                    Err((failure(status, &text), wait))
                }
            },
        )
        .await
    }
}

fn parse(text: &str, expected: usize) -> Result<Vec<Vec<f32>>, AiError> {
    let answer: EmbeddingResponse =
        serde_json::from_str(text).map_err(|e| AiError::Malformed(e.to_string()))?;
    if answer.data.len() != expected {
        return Err(AiError::Malformed(format!(
            "{} vectors for {expected} texts",
            answer.data.len()
        )));
    }
    let mut slots: Vec<Option<Vec<f32>>> = vec![None; expected];
    for (position, item) in answer.data.into_iter().enumerate() {
        let index = item.index.unwrap_or(position);
        let slot = slots
            .get_mut(index)
            .ok_or_else(|| AiError::Malformed(format!("index {index} out of range")))?;
        *slot = Some(item.embedding);
    }
    let vectors: Vec<Vec<f32>> = slots
        .into_iter()
        .map(|v| v.ok_or_else(|| AiError::Malformed("a text got no vector".into())))
        .collect::<Result<_, _>>()?;
    let dimension = vectors.first().map_or(0, Vec::len);
    if dimension == 0
        || vectors
            .iter()
            .any(|v| v.len() != dimension || v.iter().any(|x| !x.is_finite()))
    {
        return Err(AiError::Malformed(
            "vectors of different or zero dimensions, or not numbers".into(),
        ));
    }
    Ok(vectors)
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn model(&self) -> &str {
        &self.config.model
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, AiError> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(self.config.batch_size.max(1)) {
            out.extend(self.embed_batch(batch).await?);
        }
        if let Some(first) = out.first()
            && out.iter().any(|v| v.len() != first.len())
        {
            return Err(AiError::Malformed("batches of different dimensions".into()));
        }
        Ok(out)
    }
}
