//! Answers for members and API keys (the playground and `POST /api/chat-spaces/{id}/chat`),
//! conversations and knowledge gaps. The answer itself is `docent_rag::AnswerService`'s.

use docent_core::*;
use docent_rag::{AnswerEvent, Ask, AskError, Continue};
use docent_store::ConversationFilter;
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::App;
use crate::AppError;
use crate::Caller;
use crate::chat_spaces;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatInput {
    #[schemars(regex(pattern = docent_core::validate::NOT_BLANK_PATTERN), example = "How do I return an item?")]
    pub message: String,
    #[serde(default)]
    pub conversation_id: Option<ConversationId>,
}

/// The API error for a question that got no answer, on `plan`.
pub fn ask_error(e: AskError, plan: Plan) -> AppError {
    match e {
        AskError::EmptyQuestion => AppError::validation("message", "Type a question."),
        AskError::QuestionTooLong => AppError::validation(
            "message",
            format!("Use at most {} characters.", docent_rag::MAX_QUESTION_CHARS),
        ),
        AskError::QuotaExceeded { limit } => AppError::plan_limit(plan, "messages a month", limit),
        AskError::ConversationNotFound => AppError::NotFound("conversation"),
        AskError::Rag(e) => AppError::Internal(e.to_string()),
    }
}

/// Starts an answer in the background; events arrive on the returned receiver, and the
/// handle yields the outcome. Members and keys see the retrieved chunks (the playground).
pub async fn start(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    input: ChatInput,
) -> Result<
    (
        mpsc::Receiver<AnswerEvent>,
        tokio::task::JoinHandle<Result<Message, AskError>>,
    ),
    AppError,
> {
    caller.require(Role::Agent)?;
    let space = chat_spaces::get(app, caller, space).await?;
    let ask = Ask {
        org: caller.org_id(),
        plan: caller.org.plan,
        chat_space: space,
        conversation: input.conversation_id.map(Continue::Id),
        channel: if caller.user.is_some() {
            Channel::Playground
        } else {
            Channel::Api
        },
        visitor: NewConversation::default(),
        question: input.message,
        show_sources: true,
        prior: None,
    };
    let (tx, rx) = mpsc::channel(64);
    let app = app.clone();
    let task = tokio::spawn(async move { answer(&app, ask, tx).await });
    Ok((rx, task))
}

/// Answers `ask` as its chat space answers: from its knowledge, or through its webhook
/// (`answer_mode = webhook`).
pub async fn answer(
    app: &App,
    ask: Ask,
    tx: mpsc::Sender<AnswerEvent>,
) -> Result<Message, AskError> {
    match ask.chat_space.answer_mode {
        AnswerMode::Webhook => crate::answer_webhook::answer(app, ask, tx).await,
        AnswerMode::Rag => app.answers.answer(ask, tx).await,
    }
}

/// A chat space's conversations that pass `filter`, newest first.
pub async fn conversations(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    filter: &ConversationFilter,
    page: Page<ConversationId>,
) -> Result<Vec<Conversation>, AppError> {
    let space = chat_spaces::get(app, caller, space).await?;
    Ok(app
        .store
        .find_conversations(caller.org_id(), space.id, filter, page)
        .await?)
}

pub async fn messages(
    app: &App,
    caller: &Caller,
    conversation: ConversationId,
    after: Option<MessageId>,
    limit: u32,
) -> Result<Vec<Message>, AppError> {
    let conversation = crate::conversations::get(app, caller, conversation).await?;
    Ok(app
        .store
        .list_messages(caller.org_id(), conversation.id, after, limit)
        .await?)
}
