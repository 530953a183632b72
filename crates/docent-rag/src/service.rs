//! The answer service: the one path from a question to a stored, cited answer, whatever the
//! transport (widget, playground, API, terminal).
//!
//! It checks the plan's monthly quota, stores the visitor's message before anything can
//! fail, retrieves, then writes the answer with the model (streamed through the learn-only
//! guard), extractively when no model is configured, or with the chat space's "don't know"
//! reply (recorded as a knowledge gap) when nothing relevant was found. The answer is stored
//! with its model, tokens, cost, time, context chunks and citations. A listener that goes
//! away stops the model; what was shown is still stored.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use docent_ai::{ChatEvent, ChatModel, ChatRequest, Embedder};
use docent_core::config::{AiConfig, RetrievalConfig};
use docent_core::settings::ModelPrice;
use docent_core::*;
use docent_store::{MessageQuota, Store};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::guard::Guard;
use crate::prompt::{self, Block, CONTEXT_BUDGET_TOKENS};
use crate::retrieve::{Mode, Retrieved, retrieve};
use crate::{RagError, extractive};

/// The longest question accepted, in characters.
pub const MAX_QUESTION_CHARS: usize = 4000;

/// A question to answer.
#[derive(Clone, Debug)]
pub struct Ask {
    pub org: OrgId,
    pub plan: Plan,
    pub chat_space: ChatSpace,
    /// Continue this conversation; `None` starts one.
    pub conversation: Option<Continue>,
    pub channel: Channel,
    /// Who is asking, for a new conversation.
    pub visitor: NewConversation,
    pub question: String,
    /// Send the retrieved chunks with their scores (the owner's playground only: they include
    /// learn-only text).
    pub show_sources: bool,
    /// The earlier turns, when the caller carries them (an OpenAI-style client sends its
    /// whole exchange each time); otherwise the conversation's stored messages are read.
    pub prior: Option<Vec<Turn>>,
}

/// One earlier turn of an exchange, as the prompt takes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Turn {
    pub role: MessageRole,
    pub content: String,
}

impl From<&Message> for Turn {
    fn from(m: &Message) -> Self {
        Turn {
            role: m.role,
            content: m.content.clone(),
        }
    }
}

/// The conversation a question continues.
#[derive(Clone, Debug)]
pub enum Continue {
    /// By id: the answer service finds it and checks that it is the chat space's.
    Id(ConversationId),
    /// Found by the caller already (the widget, which also checks that it is the visitor's);
    /// it must be the chat space's.
    Found(Box<Conversation>),
}

/// A retrieved chunk as the playground shows it.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Source {
    pub chunk_id: ChunkId,
    pub document_id: DocumentId,
    pub document_title: String,
    pub citable: bool,
    pub score: f64,
    pub text_rank: Option<u32>,
    pub similarity: Option<f64>,
    pub content: String,
    pub page: Option<u32>,
}

/// What a listener hears while an answer is made.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AnswerEvent {
    /// The question is stored; the answer begins.
    Started {
        conversation_id: ConversationId,
        message_id: MessageId,
        /// Only when [`Ask::show_sources`].
        #[serde(skip_serializing_if = "Option::is_none")]
        sources: Option<Vec<Source>>,
    },
    /// More of the answer text.
    Delta { text: String },
    /// The stored answer.
    Done { message: Message },
}

/// Why a question got no answer at all.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error("the question is empty")]
    EmptyQuestion,
    #[error("the question is longer than {MAX_QUESTION_CHARS} characters")]
    QuestionTooLong,
    #[error("this organization has used its {limit} messages of the month")]
    QuotaExceeded { limit: u64 },
    #[error("no such conversation in this chat space")]
    ConversationNotFound,
    #[error(transparent)]
    Rag(#[from] RagError),
}

impl From<docent_store::StoreError> for AskError {
    fn from(e: docent_store::StoreError) -> Self {
        AskError::Rag(RagError::Store(e))
    }
}

/// Answers questions. Cheap to clone.
#[derive(Clone)]
pub struct AnswerService {
    store: Arc<dyn Store>,
    embedder: Option<Arc<dyn Embedder>>,
    model: Option<Arc<dyn ChatModel>>,
    prices: Arc<BTreeMap<String, ModelPrice>>,
}

impl std::fmt::Debug for AnswerService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerService")
            .field("store", &self.store.backend())
            .field("embedder", &self.embedder)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

/// How an answer was made in the end: the don't-know reply (written by the model or
/// because nothing was found) is [`AnswerKind::DontKnow`] however it came.
fn settled_kind(draft: &Draft, ai: &AiConfig, blocks: &[prompt::Block<'_>]) -> AnswerKind {
    let dont_know = draft.kind == AnswerKind::DontKnow
        || draft.text.trim() == ai.dont_know_reply.trim()
        || (blocks.is_empty() && draft.kind != AnswerKind::Error);
    if dont_know {
        AnswerKind::DontKnow
    } else {
        draft.kind
    }
}

const UNAVAILABLE: &str =
    "Sorry, I can't answer right now: the assistant is unavailable. Please try again in a moment.";

impl AnswerService {
    pub fn new(
        store: Arc<dyn Store>,
        embedder: Option<Arc<dyn Embedder>>,
        model: Option<Arc<dyn ChatModel>>,
        prices: BTreeMap<String, ModelPrice>,
    ) -> AnswerService {
        AnswerService {
            store,
            embedder,
            model,
            prices: Arc::new(prices),
        }
    }

    /// Whether answers are written by a model (else they are extractive).
    pub fn has_model(&self) -> bool {
        self.model.is_some()
    }

    /// Chunks for a question, as the answer would use them.
    pub async fn retrieve(
        &self,
        org: OrgId,
        chat_space: &ChatSpace,
        question: &str,
        mode: Mode,
    ) -> Result<Vec<Retrieved>, RagError> {
        let config: RetrievalConfig =
            serde_json::from_value(chat_space.retrieval_config.clone()).unwrap_or_default();
        let embedder = self.embedder.as_deref();
        match retrieve(
            &*self.store,
            embedder,
            org,
            chat_space.id,
            question,
            &config,
            mode,
        )
        .await
        {
            // A failing embedding provider must not stop answers: full text alone still works.
            Err(RagError::Model(e)) if mode == Mode::Hybrid => {
                tracing::warn!(error = %e, "question embedding failed; searching full text alone");
                retrieve(
                    &*self.store,
                    None,
                    org,
                    chat_space.id,
                    question,
                    &config,
                    Mode::FullText,
                )
                .await
            }
            other => other,
        }
    }

    /// Answers `ask`, telling `events` as it goes; returns the stored answer. A closed
    /// `events` (the listener left) ends the answer early but still stores it.
    pub async fn answer(
        &self,
        ask: Ask,
        events: mpsc::Sender<AnswerEvent>,
    ) -> Result<Message, AskError> {
        let started = Instant::now();
        let question = ask.question.trim().to_owned();
        if docent_core::validate::is_blank(&question) {
            return Err(AskError::EmptyQuestion);
        }
        if question.chars().count() > MAX_QUESTION_CHARS {
            return Err(AskError::QuestionTooLong);
        }
        // Checked first so a spent quota costs nothing more, then again atomically as the
        // question is stored, so parallel questions cannot pass it together.
        let quota = MessageQuota::monthly(ask.plan, Utc::now());
        if let Some(q) = quota {
            let used = self.store.count_messages_since(ask.org, q.since).await?;
            if used >= q.limit {
                return Err(AskError::QuotaExceeded { limit: q.limit });
            }
        }
        let ai: AiConfig =
            serde_json::from_value(ask.chat_space.ai_config.clone()).unwrap_or_default();
        let conversation = match ask.conversation {
            Some(Continue::Found(found)) => Some(*found),
            Some(Continue::Id(id)) => self.store.find_conversation(ask.org, id).await?,
            None => {
                self.store
                    .create_conversation(ask.org, ask.chat_space.id, ask.channel, ask.visitor)
                    .await?
            }
        }
        .filter(|c| c.chat_space_id == ask.chat_space.id)
        .ok_or(AskError::ConversationNotFound)?;
        // The question is stored while the knowledge is searched and the history read: none
        // waits for another.
        let (user_message, retrieved, history) = tokio::join!(
            self.store.add_message_within(
                ask.org,
                NewMessage::plain(conversation.id, MessageRole::User, question.clone()),
                quota,
            ),
            self.retrieve(ask.org, &ask.chat_space, &question, Mode::Hybrid),
            async {
                if conversation.message_count == 0 || ask.prior.is_some() {
                    return Ok(Vec::new());
                }
                // One more than kept: the question may be stored before this read.
                self.store
                    .recent_messages(ask.org, conversation.id, ai.history_messages + 1)
                    .await
            }
        );
        let user_message = match user_message {
            Err(docent_store::StoreError::LimitReached { limit }) => {
                return Err(AskError::QuotaExceeded { limit });
            }
            other => other?.ok_or(AskError::ConversationNotFound)?,
        };
        let mut history: Vec<Turn> = match ask.prior {
            Some(prior) => prior,
            None => history?
                .iter()
                .filter(|m| m.id != user_message.id)
                .map(Turn::from)
                .collect(),
        };
        let excess = history.len().saturating_sub(ai.history_messages as usize);
        history.drain(..excess);
        let retrieved = retrieved?;
        let blocks = prompt::blocks(&retrieved, CONTEXT_BUDGET_TOKENS);
        let sources = ask.show_sources.then(|| {
            retrieved
                .iter()
                .map(|r| Source {
                    chunk_id: r.hit.chunk.id,
                    document_id: r.hit.chunk.document_id,
                    document_title: r.hit.document_title.clone(),
                    citable: r.hit.citable,
                    score: r.score,
                    text_rank: r.text_rank,
                    similarity: r.similarity,
                    content: r.hit.chunk.content.clone(),
                    page: prompt::page_of(r),
                })
                .collect()
        });
        let _ = events
            .send(AnswerEvent::Started {
                conversation_id: conversation.id,
                message_id: user_message.id,
                sources,
            })
            .await;

        let mut draft = self.write(&ai, &blocks, &history, &question, &events).await;
        draft.kind = settled_kind(&draft, &ai, &blocks);
        let citations = match draft.kind {
            AnswerKind::Generated | AnswerKind::Extractive => {
                prompt::citations(&draft.text, &blocks)
            }
            AnswerKind::DontKnow | AnswerKind::Error => Vec::new(),
        };
        // What is stored (and shown when the answer is done) marks only listed sources.
        draft.text = prompt::keep_cited_markers(&draft.text, &citations);
        let cost = draft
            .model
            .as_ref()
            .and_then(|m| self.prices.get(m))
            .map_or(0, |p| p.cost_micro_usd(draft.tokens_in, draft.tokens_out));
        let message = NewMessage {
            model: draft.model,
            tokens_in: i64::from(draft.tokens_in),
            tokens_out: i64::from(draft.tokens_out),
            cost_micro_usd: cost,
            processing_time_ms: started.elapsed().as_millis() as i64,
            context_chunks: blocks
                .iter()
                .map(|b| ContextChunk {
                    chunk_id: b.retrieved.hit.chunk.id,
                    document_id: b.retrieved.hit.chunk.document_id,
                    score: b.retrieved.score,
                    citable: b.retrieved.hit.citable,
                })
                .collect(),
            citations,
            answer_kind: Some(draft.kind),
            confidence: Some(crate::confidence::confidence(&question, &retrieved)),
            ..NewMessage::plain(conversation.id, MessageRole::Assistant, draft.text)
        };
        let message = self
            .store
            .add_message(ask.org, message)
            .await?
            .ok_or(AskError::ConversationNotFound)?;
        let _ = events
            .send(AnswerEvent::Done {
                message: message.clone(),
            })
            .await;
        Ok(message)
    }

    /// What a visitor asking `question` now would get — how the answer would be made and how
    /// sure it would be — without storing anything (a knowledge gap's questions are asked
    /// again so). With a model configured, the model writes it, as for a visitor.
    pub async fn rehearse(
        &self,
        org: OrgId,
        chat_space: &ChatSpace,
        question: &str,
    ) -> Result<(AnswerKind, f64), RagError> {
        let ai: AiConfig = serde_json::from_value(chat_space.ai_config.clone()).unwrap_or_default();
        let retrieved = self
            .retrieve(org, chat_space, question, Mode::Hybrid)
            .await?;
        let blocks = prompt::blocks(&retrieved, CONTEXT_BUDGET_TOKENS);
        // Nobody listens: the text is only looked at once written.
        let (events, _) = mpsc::channel(1);
        let draft = self.write(&ai, &blocks, &[], question, &events).await;
        let kind = settled_kind(&draft, &ai, &blocks);
        Ok((kind, crate::confidence::confidence(question, &retrieved)))
    }

    /// Writes the answer text, streaming what may be shown to `events`.
    async fn write(
        &self,
        ai: &AiConfig,
        blocks: &[Block<'_>],
        history: &[Turn],
        question: &str,
        events: &mpsc::Sender<AnswerEvent>,
    ) -> Draft {
        if blocks.is_empty() {
            return Draft::fixed(ai.dont_know_reply.clone(), AnswerKind::DontKnow, events).await;
        }
        let Some(model) = &self.model else {
            return Draft::extractive(ai, question, blocks, events).await;
        };
        let messages = prompt::build(ai, blocks, history, question);
        let prompt_chars: usize = messages.iter().map(|m| m.content.chars().count()).sum();
        let request = ChatRequest {
            model: ai.model.clone(),
            messages,
            temperature: ai.temperature,
            max_tokens: ai.max_tokens,
        };
        let mut stream = match model.stream(request).await {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "the model failed before answering");
                // Quoting the knowledge beats an apology when the model is down.
                let fallback = Draft::extractive(ai, question, blocks, events).await;
                return if fallback.kind == AnswerKind::Extractive {
                    fallback
                } else {
                    Draft::fixed(UNAVAILABLE.to_owned(), AnswerKind::Error, events).await
                };
            }
        };
        let mut guard = Guard::new(
            blocks
                .iter()
                .filter(|b| !b.retrieved.hit.citable)
                .map(|b| b.retrieved.hit.chunk.content.as_str()),
        );
        let mut shown = String::new();
        let mut written = String::new();
        let mut usage = None;
        let mut kind = AnswerKind::Generated;
        let mut listening = true;
        while let Some(event) = stream.next().await {
            match event {
                Ok(ChatEvent::Delta(delta)) => {
                    written.push_str(&delta);
                    let safe = guard.push(&delta);
                    if !safe.is_empty() {
                        shown.push_str(&safe);
                        if events
                            .send(AnswerEvent::Delta { text: safe })
                            .await
                            .is_err()
                        {
                            listening = false;
                            break;
                        }
                    }
                }
                Ok(ChatEvent::Done { usage: u }) => {
                    usage = u;
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the model failed while answering");
                    kind = AnswerKind::Error;
                    break;
                }
            }
        }
        // Dropping the stream hangs up on the provider when the listener left.
        drop(stream);
        let rest = guard.finish();
        if !rest.is_empty() {
            shown.push_str(&rest);
            if listening {
                let _ = events.send(AnswerEvent::Delta { text: rest }).await;
            }
        }
        if guard.redacted() {
            tracing::info!("the learn-only guard removed private text from an answer");
        }
        if kind == AnswerKind::Error && shown.trim().is_empty() {
            return Draft::fixed(UNAVAILABLE.to_owned(), AnswerKind::Error, events).await;
        }
        if shown.trim().is_empty() {
            // A model that says nothing has no answer.
            return Draft::fixed(ai.dont_know_reply.clone(), AnswerKind::DontKnow, events).await;
        }
        let usage = usage.unwrap_or(docent_ai::Usage {
            prompt_tokens: (prompt_chars as u32).div_ceil(4),
            completion_tokens: (written.chars().count() as u32).div_ceil(4),
        });
        Draft {
            text: shown.trim().to_owned(),
            kind,
            model: Some(ai.model.clone()),
            tokens_in: usage.prompt_tokens,
            tokens_out: usage.completion_tokens,
        }
    }
}

/// An answer text before it is stored.
struct Draft {
    text: String,
    kind: AnswerKind,
    model: Option<String>,
    tokens_in: u32,
    tokens_out: u32,
}

impl Draft {
    async fn fixed(text: String, kind: AnswerKind, events: &mpsc::Sender<AnswerEvent>) -> Draft {
        let _ = events.send(AnswerEvent::Delta { text: text.clone() }).await;
        Draft {
            text,
            kind,
            model: None,
            tokens_in: 0,
            tokens_out: 0,
        }
    }

    async fn extractive(
        ai: &AiConfig,
        question: &str,
        blocks: &[Block<'_>],
        events: &mpsc::Sender<AnswerEvent>,
    ) -> Draft {
        match extractive::answer(question, blocks) {
            Some(text) => Draft::fixed(text, AnswerKind::Extractive, events).await,
            None => Draft::fixed(ai.dont_know_reply.clone(), AnswerKind::DontKnow, events).await,
        }
    }
}
