//! The public face of a published chat space: the widget API behind its gate, `widget.js`,
//! the iframe embed and the share page (DESIGN §4, §8).

pub mod api;
pub mod assets;
pub mod gate;
pub mod pages;

use axum::http::Method as M;
use axum::routing::{delete, get, post};

use crate::routes::{Access, Kind, Route, r};

/// This feature's routes (joined into the route table by [`crate::routes::routes`]).
#[rustfmt::skip]
pub fn routes() -> Vec<Route> {
    use Access::*;
    use Kind::*;
    vec![
        r(M::GET, "/api/widget/{slug}/config", Public, Api, "The widget's look and wording", get(api::config))
            .ok::<docent_app::visitors::WidgetSettings>(),
        r(M::POST, "/api/widget/{slug}/conversation", Public, Api, "Start a visitor conversation", post(api::open_conversation))
            .json::<docent_app::visitors::Visitor>().created::<api::Opened>(),
        r(M::GET, "/api/widget/{slug}/conversations", Public, Api, "The visitor's conversations, most recent first (?visitor_id=; a signed-in visitor's on any device)", get(api::conversations))
            .query::<api::HistoryQuery>().ok::<crate::http::list::Data<docent_app::visitors::VisitorConversation>>(),
        r(M::GET, "/api/widget/{slug}/conversation/{conversation_id}", Public, Api, "A visitor's conversation and its messages (?visitor_id=)", get(api::history))
            .query::<api::HistoryQuery>().ok::<docent_app::visitors::History>(),
        r(M::POST, "/api/widget/{slug}/chat", Public, Api, "Ask as a visitor: JSON answer, or SSE events start, delta, done, error with Accept: text/event-stream", post(api::chat))
            .json::<docent_app::visitors::WidgetChat>().answer_or_events::<crate::http::answer::Answered<docent_app::visitors::VisitorMessage>>(),
        r(M::POST, "/api/widget/{slug}/feedback", Public, Api, "Thumbs up or down on an answer (null takes it back)", post(api::feedback))
            .json::<docent_app::visitors::FeedbackInput>().ok::<docent_app::visitors::VisitorMessage>(),
        r(M::POST, "/api/widget/{slug}/handover", Public, Api, "The visitor asks for a person: the conversation waits for one (status waiting_for_human)", post(api::handover))
            .json::<docent_app::handover::HandoverInput>().ok::<docent_app::handover::VisitorStatus>(),
        r(M::POST, "/api/widget/{slug}/contact", Public, Api, "A waiting visitor leaves an email to be answered at (when nobody is available)", post(api::contact))
            .json::<docent_app::handover::ContactInput>().ok::<docent_app::handover::VisitorStatus>(),
        r(M::POST, "/api/widget/{slug}/lead", Public, Api, "A visitor leaves their details in the lead form (201; 200 when it updates the ones they left before)", post(api::lead))
            .json::<docent_app::leads::LeadInput>().created::<docent_app::leads::LeadSaved>(),
        r(M::POST, "/api/widget/{slug}/typing", Public, Api, "The visitor is typing (the agent sees it while a person has the conversation)", post(api::typing))
            .json::<docent_app::handover::VisitorTyping>().no_content(),
        r(M::GET, "/api/widget/{slug}/conversation/{conversation_id}/events", Public, Api, "A visitor's conversation live (SSE, ?visitor_id=): status, message (agents' replies; resumes after Last-Event-ID), typing", get(api::events))
            .query::<api::HistoryQuery>().events(),
        r(M::DELETE, "/api/widget/{slug}/visitor", Public, Api, "A visitor erases their own conversations with this chat space, and everything in them", delete(api::forget))
            .json::<docent_app::privacy::ForgetMe>().ok::<docent_app::privacy::Erased>(),
        r(M::GET, "/widget.js", Public, Ops, "The widget loader for the script-tag embed", get(assets::loader)),
        r(M::GET, "/widget/{file}", Public, Ops, "The widget's chat UI, loaded on first open", get(assets::ui)),
        r(M::GET, "/embed/{slug}", Public, Page, "The chat for an iframe embed", get(pages::embed)),
        r(M::GET, "/c/{slug}", Public, Page, "A chat space's share page", get(pages::share)),
    ]
}
