//! Chat models: the [`ChatModel`] trait and [`OpenAiChat`], a client of the OpenAI-compatible
//! `/chat/completions` protocol with Server-Sent-Events streaming (OpenRouter, OpenAI,
//! Ollama, vLLM).
//!
//! Failures before the first token (429, 5xx, no connection, no answer in time) are retried
//! with backoff; once tokens flow, a failure ends the stream with a clear error. Dropping the
//! [`ChatStream`] closes the connection to the provider, so a visitor who goes away stops
//! the generation they caused.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::{AiError, failure, retry_after};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: Role, content: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role,
            content: content.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub temperature: f64,
    pub max_tokens: u32,
}

/// Tokens a call consumed, as the provider counted them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// One step of a streamed answer.
#[derive(Clone, Debug, PartialEq)]
pub enum ChatEvent {
    /// More text of the answer.
    Delta(String),
    /// The answer is complete. `usage` is absent when the provider does not report it.
    Done { usage: Option<Usage> },
}

/// A streamed answer: text deltas, then [`ChatEvent::Done`] or one error.
#[derive(Debug)]
pub struct ChatStream {
    rx: mpsc::Receiver<Result<ChatEvent, AiError>>,
}

impl ChatStream {
    /// A stream fed through the returned sender (for models that are not HTTP clients).
    pub fn channel() -> (mpsc::Sender<Result<ChatEvent, AiError>>, ChatStream) {
        let (tx, rx) = mpsc::channel(64);
        (tx, ChatStream { rx })
    }

    /// The next event; `None` after `Done` or an error.
    pub async fn next(&mut self) -> Option<Result<ChatEvent, AiError>> {
        self.rx.recv().await
    }
}

/// A model that writes answers.
#[async_trait]
pub trait ChatModel: Send + Sync + std::fmt::Debug {
    /// Starts an answer. Errors here happened before any token.
    async fn stream(&self, request: ChatRequest) -> Result<ChatStream, AiError>;
}

/// Where and how to reach an OpenAI-compatible chat endpoint.
#[derive(Clone)]
pub struct ChatConfig {
    /// e.g. `https://openrouter.ai/api/v1` or `http://localhost:11434/v1`.
    pub base_url: String,
    pub api_key: Option<String>,
    /// Attempts after the first on 429, 5xx, network errors and timeouts before any token.
    pub max_retries: u32,
    /// First pause between attempts; it doubles each time (a Retry-After header wins).
    pub backoff: Duration,
    /// How long to wait for the provider's response headers.
    pub first_byte_timeout: Duration,
    /// How long the stream may stay silent once it has begun.
    pub idle_timeout: Duration,
}

impl std::fmt::Debug for ChatConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

impl ChatConfig {
    pub fn new(base_url: impl Into<String>) -> ChatConfig {
        ChatConfig {
            base_url: base_url.into(),
            api_key: None,
            max_retries: 3,
            backoff: Duration::from_millis(500),
            first_byte_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// The OpenAI-compatible chat client.
#[derive(Debug, Clone)]
pub struct OpenAiChat {
    client: reqwest::Client,
    config: ChatConfig,
}

impl OpenAiChat {
    pub fn new(config: ChatConfig) -> Result<OpenAiChat, AiError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| AiError::Unavailable(e.to_string()))?;
        Ok(OpenAiChat { client, config })
    }

    /// Sends the request until the provider accepts it, retrying what may pass.
    async fn open(&self, body: &serde_json::Value) -> Result<reqwest::Response, AiError> {
        let url = format!(
            "{}/chat/completions",
            self.config.base_url.trim_end_matches('/')
        );
        crate::retrying(
            "chat",
            self.config.backoff,
            self.config.max_retries,
            || async {
                let mut request = self
                    .client
                    .post(&url)
                    .header(reqwest::header::ACCEPT, "text/event-stream")
                    .json(body);
                if let Some(key) = &self.config.api_key {
                    request = request.bearer_auth(key);
                }
                let response = tokio::time::timeout(self.config.first_byte_timeout, request.send())
                    .await
                    .map_err(|_| "it did not answer in time".to_owned())
                    .and_then(|sent| sent.map_err(|e| e.to_string()))
                    .map_err(|message| (AiError::Unavailable(message), None))?;
                let status = response.status();
                if status.is_success() {
                    return Ok(response);
                }
                let wait = retry_after(response.headers());
                let text = tokio::time::timeout(self.config.idle_timeout, response.text())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or_default();
                Err((failure(status, &text), wait))
            },
        )
        .await
    }
}

#[async_trait]
impl ChatModel for OpenAiChat {
    async fn stream(&self, request: ChatRequest) -> Result<ChatStream, AiError> {
        let body = serde_json::json!({
            "model": request.model,
            "messages": request.messages,
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        let response = self.open(&body).await?;
        let (tx, stream) = ChatStream::channel();
        let idle = self.config.idle_timeout;
        tokio::spawn(async move {
            let end = read_events(response, idle, &tx).await;
            if let Some(end) = end {
                let _ = tx.send(end).await;
            }
        });
        Ok(stream)
    }
}

/// Reads the provider's SSE body into `tx`. Returns the final event to send (`Done` or an
/// error), or `None` when the receiver went away.
async fn read_events(
    mut response: reqwest::Response,
    idle: Duration,
    tx: &mpsc::Sender<Result<ChatEvent, AiError>>,
) -> Option<Result<ChatEvent, AiError>> {
    let mut parser = SseParser::default();
    let mut usage = None;
    let mut finished = false;
    loop {
        let bytes = match tokio::time::timeout(idle, response.chunk()).await {
            Err(_) => {
                return Some(Err(AiError::Unavailable(
                    "the answer stopped arriving (timed out)".into(),
                )));
            }
            Ok(Err(e)) => return Some(Err(AiError::Unavailable(e.to_string()))),
            Ok(Ok(None)) => {
                parser.feed(b"\n\n");
                None
            }
            Ok(Ok(Some(bytes))) => {
                parser.feed(&bytes);
                Some(())
            }
        };
        while let Some(data) = parser.next_event() {
            if data.trim() == "[DONE]" {
                return Some(Ok(ChatEvent::Done { usage }));
            }
            let chunk: StreamChunk = match serde_json::from_str(&data) {
                Ok(chunk) => chunk,
                Err(e) => {
                    return Some(Err(AiError::Malformed(format!(
                        "an event that is not a completion chunk ({e})"
                    ))));
                }
            };
            if let Some(error) = chunk.error {
                return Some(Err(AiError::Unavailable(error.message)));
            }
            if let Some(u) = chunk.usage {
                usage = Some(Usage {
                    prompt_tokens: u.prompt_tokens,
                    completion_tokens: u.completion_tokens,
                });
            }
            for choice in chunk.choices {
                if choice.finish_reason.is_some() {
                    finished = true;
                }
                if let Some(text) = choice.delta.and_then(|d| d.content)
                    && !text.is_empty()
                    && tx.send(Ok(ChatEvent::Delta(text))).await.is_err()
                {
                    return None;
                }
            }
        }
        if bytes.is_none() {
            // Some servers close without `[DONE]`; a finish reason says the answer is whole.
            return Some(if finished {
                Ok(ChatEvent::Done { usage })
            } else {
                Err(AiError::Unavailable(
                    "the provider closed the stream before the answer was complete".into(),
                ))
            });
        }
    }
}

#[derive(Deserialize)]
struct StreamChunk {
    #[serde(default)]
    choices: Vec<StreamChoice>,
    #[serde(default)]
    usage: Option<StreamUsage>,
    #[serde(default)]
    error: Option<StreamError>,
}

#[derive(Deserialize)]
struct StreamChoice {
    #[serde(default)]
    delta: Option<StreamDelta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct StreamDelta {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct StreamUsage {
    #[serde(default)]
    prompt_tokens: u32,
    #[serde(default)]
    completion_tokens: u32,
}

#[derive(Deserialize)]
struct StreamError {
    #[serde(default)]
    message: String,
}

/// The event-stream format (`data:` lines, events ended by a blank line, `:` comments).
#[derive(Default)]
struct SseParser {
    buffer: Vec<u8>,
    data: Option<String>,
    ready: std::collections::VecDeque<String>,
}

impl SseParser {
    fn feed(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
        while let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buffer.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if let Some(data) = self.data.take() {
                    self.ready.push_back(data);
                }
            } else if let Some(value) = line.strip_prefix("data:") {
                let value = value.strip_prefix(' ').unwrap_or(value);
                match &mut self.data {
                    Some(data) => {
                        data.push('\n');
                        data.push_str(value);
                    }
                    None => self.data = Some(value.to_owned()),
                }
            }
            // `event:`, `id:`, `retry:` and `:` comments (keep-alives) carry nothing here.
        }
    }

    fn next_event(&mut self) -> Option<String> {
        self.ready.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events_split_anywhere() {
        let body =
            ": keep-alive\r\n\r\ndata: {\"a\":1}\r\n\r\ndata: one\ndata: two\n\ndata: [DONE]\n\n";
        for split in 0..body.len() {
            let mut parser = SseParser::default();
            parser.feed(&body.as_bytes()[..split]);
            parser.feed(&body.as_bytes()[split..]);
            let events: Vec<String> = std::iter::from_fn(|| parser.next_event()).collect();
            assert_eq!(
                events,
                ["{\"a\":1}", "one\ntwo", "[DONE]"],
                "split at {split}"
            );
        }
    }
}
