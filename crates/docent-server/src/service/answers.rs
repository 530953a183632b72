//! Answers for members and API keys (the playground and `POST /api/chat-spaces/{id}/chat`),
//! conversations and knowledge gaps. The answer itself is `docent_rag::AnswerService`'s.

use docent_core::*;
use docent_rag::{AnswerEvent, Ask, AskError, Continue};
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::service::chat_spaces;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatInput {
    pub message: String,
    #[serde(default)]
    pub conversation_id: Option<ConversationId>,
}

/// The API error for a question that got no answer, on `plan`.
pub fn ask_error(e: AskError, plan: Plan) -> ApiError {
    match e {
        AskError::EmptyQuestion => ApiError::validation("message", "Type a question."),
        AskError::QuestionTooLong => ApiError::validation(
            "message",
            format!("Use at most {} characters.", docent_rag::MAX_QUESTION_CHARS),
        ),
        AskError::QuotaExceeded { limit } => ApiError::plan_limit(plan, "messages a month", limit),
        AskError::ConversationNotFound => ApiError::NotFound("conversation"),
        AskError::Rag(e) => ApiError::Internal(e.to_string()),
    }
}

/// Starts an answer in the background; events arrive on the returned receiver, and the
/// handle yields the outcome. Members and keys see the retrieved chunks (the playground).
pub async fn start(
    state: &AppState,
    caller: &Caller,
    space: ChatSpaceId,
    input: ChatInput,
) -> Result<
    (
        mpsc::Receiver<AnswerEvent>,
        tokio::task::JoinHandle<Result<Message, AskError>>,
    ),
    ApiError,
> {
    caller.require(Role::Agent)?;
    let space = chat_spaces::get(state, caller, space).await?;
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
    };
    let (tx, rx) = mpsc::channel(64);
    let answers = state.answers.clone();
    let task = tokio::spawn(async move { answers.answer(ask, tx).await });
    Ok((rx, task))
}

pub async fn conversations(
    state: &AppState,
    caller: &Caller,
    space: ChatSpaceId,
    page: Page<ConversationId>,
) -> Result<Vec<Conversation>, ApiError> {
    let space = chat_spaces::get(state, caller, space).await?;
    Ok(state
        .store
        .list_conversations(caller.org_id(), space.id, page)
        .await?)
}

pub async fn messages(
    state: &AppState,
    caller: &Caller,
    conversation: ConversationId,
    after: Option<MessageId>,
    limit: u32,
) -> Result<Vec<Message>, ApiError> {
    let conversation = state
        .store
        .find_conversation(caller.org_id(), conversation)
        .await?
        .filter(|c| caller.sees(c.chat_space_id))
        .ok_or(ApiError::NotFound("conversation"))?;
    Ok(state
        .store
        .list_messages(caller.org_id(), conversation.id, after, limit)
        .await?)
}

pub async fn knowledge_gaps(
    state: &AppState,
    caller: &Caller,
    space: ChatSpaceId,
    limit: u32,
) -> Result<Vec<KnowledgeGap>, ApiError> {
    let space = chat_spaces::get(state, caller, space).await?;
    Ok(state
        .store
        .list_knowledge_gaps(caller.org_id(), space.id, limit)
        .await?)
}
