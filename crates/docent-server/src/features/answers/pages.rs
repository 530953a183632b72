//! The Playground of a chat space: ask questions as a visitor would, see the answer stream
//! in with its citations, and, for each answer, the retrieved chunks with their scores.
//! Works without JavaScript (the form posts and the page shows the whole answer); with it,
//! answers stream from `POST /api/chat-spaces/{id}/chat`.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use docent_core::*;
use docent_rag::{AnswerEvent, Source};
use serde::Deserialize;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiForm, ApiQuery, IdPath};
use crate::http::pages::{PageCtx, PageError, Shell, field_errors};
use docent_app::answers::{self, ChatInput, ask_error};
use docent_app::chat_spaces;

#[derive(Template)]
#[template(path = "answers/playground.html")]
struct PlaygroundPage {
    shell: Shell,
    title: String,
    space: ChatSpace,
    messages: Vec<Message>,
    sources: Vec<Source>,
    conversation_id: String,
    has_model: bool,
    errors: ValidationErrors,
    question: String,
    setup: chat_spaces::Setup,
}

impl PlaygroundPage {
    fn role(message: &Message) -> &'static str {
        message.role.as_str()
    }

    fn kind_label(message: &Message) -> &'static str {
        match message.answer_kind {
            Some(AnswerKind::Extractive) => {
                "Quoted from your knowledge (no language model configured)"
            }
            Some(AnswerKind::DontKnow) => "No answer in the knowledge: recorded as a knowledge gap",
            Some(AnswerKind::Error) => "The model failed",
            Some(AnswerKind::Generated) | None => "",
        }
    }

    fn rank(value: &Option<u32>) -> String {
        value.map_or_else(|| "–".into(), |v| v.to_string())
    }

    fn similarity(value: &Option<f64>) -> String {
        value.map_or_else(|| "–".into(), |v| format!("{v:.3}"))
    }

    fn preview(text: &str) -> String {
        super::preview(text, 280)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaygroundQuery {
    #[serde(default)]
    conversation: Option<ConversationId>,
}

async fn page(
    state: &AppState,
    caller: &Caller,
    ctx: &PageCtx,
    id: ChatSpaceId,
    conversation: Option<ConversationId>,
) -> Result<PlaygroundPage, PageError> {
    let space = chat_spaces::get(state, caller, id).await?;
    let messages = match conversation {
        Some(c) => answers::messages(state, caller, c, None, 200).await?,
        None => Vec::new(),
    };
    let setup = chat_spaces::setup(state, caller, &space).await?;
    Ok(PlaygroundPage {
        shell: ctx.shell_in("spaces"),
        title: format!("Playground · {}", space.name),
        space,
        messages,
        sources: Vec::new(),
        conversation_id: conversation.map(|c| c.to_string()).unwrap_or_default(),
        has_model: state.answers.has_model(),
        errors: ValidationErrors::new(),
        question: String::new(),
        setup,
    })
}

pub async fn index(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiQuery(query): ApiQuery<PlaygroundQuery>,
) -> Result<Response, PageError> {
    let page = page(&state, &caller, &ctx, id, query.conversation).await?;
    Ok(ctx.render(&page))
}

#[derive(Debug, Deserialize)]
pub struct AskForm {
    #[serde(default)]
    message: String,
    #[serde(default)]
    conversation_id: String,
}

/// Without JavaScript: answers, then shows the conversation and what was retrieved.
pub async fn ask(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiForm(form): ApiForm<AskForm>,
) -> Result<Response, PageError> {
    let conversation = form.conversation_id.trim().parse::<ConversationId>().ok();
    let input = ChatInput {
        message: form.message.clone(),
        conversation_id: conversation,
    };
    let outcome = match answers::start(&state, &caller, id, input).await {
        Ok((mut rx, task)) => {
            let mut sources = Vec::new();
            while let Some(event) = rx.recv().await {
                if let AnswerEvent::Started {
                    sources: Some(s), ..
                } = event
                {
                    sources = s;
                }
            }
            match task.await {
                Ok(Ok(message)) => Ok((message, sources)),
                Ok(Err(e)) => Err(ask_error(e, caller.org.plan)),
                Err(e) => Err(docent_app::AppError::Internal(e.to_string())),
            }
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok((message, sources)) => {
            let mut page = page(&state, &caller, &ctx, id, Some(message.conversation_id)).await?;
            page.sources = sources;
            Ok(ctx.render(&page))
        }
        Err(e) => {
            let e = ApiError::from(e);
            let status = e.status();
            let errors = field_errors(e)?;
            let mut page = page(&state, &caller, &ctx, id, conversation).await?;
            page.errors = errors;
            page.question = form.message;
            Ok(ctx.render_status(status, &page))
        }
    }
}
