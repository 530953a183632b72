//! Answers: asking a chat space (API and Playground), conversations and their archive.

pub mod api;
pub mod archive;
pub mod pages;

use axum::http::Method as M;
use axum::routing::{delete, get, post};

use docent_core::*;

use crate::http::list::List;
use crate::routes::{Access, Kind, Route, r};

/// The first `max` characters of `text`, with `…` when there was more.
fn preview(text: &str, max: usize) -> String {
    let head: String = text.chars().take(max).collect();
    if head.len() < text.len() {
        format!("{head}…")
    } else {
        head
    }
}

/// This feature's routes (joined into the route table by [`crate::routes::routes`]).
#[rustfmt::skip]
pub fn routes() -> Vec<Route> {
    use Access::*;
    use Kind::*;
    vec![
        r(M::POST, "/api/chat-spaces/{id}/chat", ChatSpace, Api, "Ask a question (playground / API): JSON answer, or SSE events start, delta, done, error with Accept: text/event-stream", post(api::chat))
            .json::<docent_app::answers::ChatInput>().answer_or_events::<crate::http::answer::Answered<Message>>(),
        r(M::GET, "/api/chat-spaces/{id}/conversations", ChatSpace, Api, "Conversations, newest first (?limit=&cursor=&status=&feedback=up|down&from=&to=)", get(api::conversations))
            .query::<api::ConversationsQuery>().ok::<List<Conversation>>(),
        r(M::GET, "/api/chat-spaces/{id}/conversations/export", ChatSpace, Api, "Every conversation with its messages as a file to save, newest first (?format=csv|jsonl&from=&to=): CSV has a row a message, JSON Lines an object a conversation", get(api::export))
            .query::<api::ExportQuery>().download(api::EXPORT_TYPES),
        r(M::GET, "/api/conversations/{conversation_id}", ChatSpace, Api, "A conversation: its channel, status, visitor and counts", get(api::conversation))
            .ok::<Conversation>(),
        r(M::GET, "/api/conversations/{conversation_id}/messages", ChatSpace, Api, "A conversation's messages in order (?after=&limit=)", get(api::messages))
            .query::<api::MessagesQuery>().ok::<List<Message>>(),
        r(M::DELETE, "/api/chat-spaces/{id}/visitors/{visitor}", ChatSpace, Api, "Erase everything of one visitor (by visitor id or email) in this chat space: conversations, messages, feedback, grouped questions", delete(api::erase_visitor))
            .ok::<docent_app::privacy::Erased>(),
        r(M::GET, "/api/chat-spaces/{id}/visitors/{visitor}/export", ChatSpace, Api, "Everything of one visitor (by visitor id or email) as a file to save (?format=csv|jsonl)", get(api::export_visitor))
            .query::<api::VisitorExportQuery>().download(api::EXPORT_TYPES),
        r(M::GET, "/app/chat-spaces/{id}/conversations", ChatSpace, Page, "A chat space's conversations, newest first, and their export", get(archive::index)),
        r(M::GET, "/app/chat-spaces/{id}/conversations/export", ChatSpace, Page, "The export as the Conversations tab's form asks for it (empty days allowed)", get(archive::export)),
        r(M::GET, "/app/conversations/{conversation_id}", ChatSpace, Page, "A conversation's transcript: messages, citations, feedback, timing, tokens", get(archive::show)),
        r(M::GET, "/app/chat-spaces/{id}/playground", ChatSpace, Page, "Try the chatbot: answers, citations, retrieved chunks", get(pages::index)),
        r(M::POST, "/app/chat-spaces/{id}/playground", ChatSpace, Page, "Ask in the playground (without JavaScript)", post(pages::ask)),
    ]
}
