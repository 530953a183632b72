//! The OpenAI-compatible API (DESIGN §4 "Integrations"): `POST /v1/chat/completions` and
//! `GET /v1/models` for a chat space's API key, so that any OpenAI client asks a chat space.
//! A model is a chat space, named by its endpoint slug; the answer is the chat space's own
//! (its knowledge, guard, settings and quota), and each request is a conversation of the
//! `api` channel. The client carries its exchange: the turns before the last are the
//! history, the last one (the user's) the question.

use docent_core::*;
use docent_rag::{AnswerEvent, Ask, AskError, Turn};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::{App, AppError, Caller, chat_spaces};

/// A chat completion request. Parameters the chat space decides (temperature, max_tokens,
/// tools…) are accepted and not used.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CompletionRequest {
    /// A chat space's endpoint slug (`GET /v1/models`); a key limited to one chat space
    /// may name any model and gets its chat space.
    #[schemars(length(max = 200), example = "shop-help")]
    pub model: String,
    /// The exchange so far, the user's question last.
    #[schemars(length(min = 1, max = 200))]
    pub messages: Vec<ChatTurn>,
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
    /// The end user, kept as the conversation's visitor id when it is one.
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub user: Option<String>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct StreamOptions {
    #[serde(default)]
    pub include_usage: Option<bool>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ChatTurn {
    /// `system`, `developer`, `user`, `assistant` or `tool`; system and developer turns are
    /// not used (the chat space's own prompt rules), nor tool turns.
    #[schemars(length(max = 20), example = &"user")]
    pub role: String,
    /// Text, or parts of which the `text` ones are read.
    #[serde(default)]
    pub content: Option<Content>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Part {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
}

impl ChatTurn {
    fn text(&self) -> String {
        match &self.content {
            None => String::new(),
            Some(Content::Text(t)) => t.clone(),
            Some(Content::Parts(parts)) => parts
                .iter()
                .filter(|p| p.kind == "text")
                .filter_map(|p| p.text.as_deref())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

impl CompletionRequest {
    pub fn streams(&self) -> bool {
        self.stream == Some(true)
    }

    pub fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .and_then(|o| o.include_usage)
            .unwrap_or(false)
    }

    /// The question (the last turn, the user's) and the turns before it.
    fn split(&self) -> Result<(String, Vec<Turn>), AppError> {
        let mut errors = docent_core::ValidationErrors::default();
        if self.messages.len() > 200 {
            errors.add("messages", "Send at most 200 messages.");
        }
        if self.model.chars().count() > 200 {
            errors.add("model", "Name a model of at most 200 characters.");
        }
        if self.user.as_ref().is_some_and(|u| u.chars().count() > 200) {
            errors.add("user", "Use at most 200 characters.");
        }
        if self.messages.iter().any(|m| m.role.chars().count() > 20) {
            errors.add(
                "messages",
                "A role is system, developer, user, assistant or tool.",
            );
        }
        errors.into_result()?;
        let Some((last, before)) = self.messages.split_last() else {
            return Err(AppError::validation(
                "messages",
                "Send at least one message, the user's question last.",
            ));
        };
        if last.role != "user" {
            return Err(AppError::validation(
                "messages",
                "The last message must be the user's question (role user).",
            ));
        }
        let prior = before
            .iter()
            .filter_map(|t| {
                let role = match t.role.as_str() {
                    "user" => MessageRole::User,
                    "assistant" => MessageRole::Assistant,
                    _ => return None,
                };
                Some(Turn {
                    role,
                    content: t.text(),
                })
            })
            .filter(|t| !validate::is_blank(&t.content))
            .collect();
        Ok((last.text(), prior))
    }
}

/// The chat spaces a caller may ask, as models.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Models {
    pub object: &'static str,
    pub data: Vec<Model>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Model {
    /// The chat space's endpoint slug.
    pub id: String,
    pub object: &'static str,
    /// Unix seconds.
    pub created: i64,
    pub owned_by: String,
}

pub async fn models(app: &App, caller: &Caller) -> Result<Models, AppError> {
    let spaces = chat_spaces::list(
        app,
        caller,
        Page {
            cursor: None,
            limit: 200,
        },
    )
    .await?;
    Ok(Models {
        object: "list",
        data: spaces
            .into_iter()
            .map(|s| Model {
                id: s.endpoint_slug,
                object: "model",
                created: s.created_at.timestamp(),
                owned_by: caller.org.slug.clone(),
            })
            .collect(),
    })
}

/// The chat space a request asks: the caller's only one, or the one its model names.
async fn chat_space(app: &App, caller: &Caller, model: &str) -> Result<ChatSpace, AppError> {
    if let Some(only) = caller.limited_to().filter(|l| l.len() == 1) {
        return chat_spaces::get(app, caller, only[0]).await;
    }
    let space = app
        .store
        .find_chat_space_by_slug(model.trim())
        .await?
        .filter(|s| s.org_id == caller.org_id() && caller.sees(s.id))
        .ok_or(AppError::NotFound("model"))?;
    Ok(space)
}

/// What a completion is being made of: the chat space asked, the answer's events and its
/// outcome.
pub struct Started {
    pub space: ChatSpace,
    pub events: mpsc::Receiver<AnswerEvent>,
    pub task: tokio::task::JoinHandle<Result<Message, AskError>>,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started")
            .field("space", &self.space.id)
            .finish_non_exhaustive()
    }
}

pub async fn start(
    app: &App,
    caller: &Caller,
    request: &CompletionRequest,
) -> Result<Started, AppError> {
    caller.require(Role::Agent)?;
    let (question, prior) = request.split()?;
    let space = chat_space(app, caller, &request.model).await?;
    let visitor_id = request
        .user
        .as_deref()
        .filter(|u| crate::visitors::check_visitor_id(u).is_ok())
        .map(str::to_owned);
    let ask = Ask {
        org: caller.org_id(),
        plan: caller.org.plan,
        chat_space: space.clone(),
        conversation: None,
        channel: Channel::Api,
        visitor: NewConversation {
            visitor_id,
            ..NewConversation::default()
        },
        question,
        show_sources: false,
        prior: Some(prior),
    };
    let (tx, events) = mpsc::channel(64);
    let app = app.clone();
    let task = tokio::spawn(async move { crate::answers::answer(&app, ask, tx).await });
    Ok(Started {
        space,
        events,
        task,
    })
}
