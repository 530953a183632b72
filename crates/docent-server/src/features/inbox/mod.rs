//! The live inbox: handed-over conversations, their events, and agents' replies, notes,
//! assignment, release and close.

pub mod api;
pub mod pages;

use axum::http::Method as M;
use axum::routing::{delete, get, post, put};

use docent_core::*;

use crate::http::list::List;
use crate::routes::{Access, Kind, Route, r};

/// This feature's routes (joined into the route table by [`crate::routes::routes`]).
#[rustfmt::skip]
pub fn routes() -> Vec<Route> {
    use Access::*;
    use Kind::*;
    vec![
        r(M::GET, "/api/inbox", ChatSpace, Api, "Conversations with a person or waiting for one, most recently active first (?status=waiting_for_human|human|open|all&assigned=me|unassigned&limit=)", get(api::inbox))
            .query::<docent_app::handover::InboxQuery>().ok::<List<docent_app::handover::InboxEntry>>(),
        r(M::GET, "/api/inbox/events", ChatSpace, Api, "The inbox's live events (SSE): conversation, typing, resync", get(api::events))
            .events(),
        r(M::GET, "/api/inbox/{conversation_id}", ChatSpace, Api, "A conversation as an agent works on it: messages, internal notes, handovers (marks it read)", get(api::workspace))
            .ok::<docent_app::handover::Workspace>(),
        r(M::POST, "/api/conversations/{conversation_id}/assign", ChatSpace, Api, "Give the conversation to a member (to the caller when user_id is absent): it is with a person from now on", post(api::assign))
            .json::<docent_app::handover::AssignInput>().ok::<Conversation>(),
        r(M::POST, "/api/conversations/{conversation_id}/messages", ChatSpace, Api, "An agent's reply to the visitor (Markdown), or an internal note with internal: true", post(api::reply))
            .json::<docent_app::handover::ReplyInput>().created::<docent_app::handover::Replied>(),
        r(M::POST, "/api/conversations/{conversation_id}/typing", ChatSpace, Api, "The agent is typing (the visitor's widget shows it)", post(api::typing))
            .no_content(),
        r(M::POST, "/api/conversations/{conversation_id}/release", ChatSpace, Api, "Give the conversation back to the bot", post(api::release))
            .ok::<Conversation>(),
        r(M::POST, "/api/conversations/{conversation_id}/close", ChatSpace, Api, "Close the conversation (a new visitor message starts a new one, with the bot)", post(api::close))
            .ok::<Conversation>(),
        r(M::GET, "/api/canned-replies", Org, Api, "The organization's canned replies, by shortcut", get(api::canned_replies))
            .ok::<Vec<CannedReply>>(),
        r(M::POST, "/api/canned-replies", Org, Api, "Add a canned reply (agents and above): a shortcut typed after / in the inbox, and its Markdown", post(api::create_canned_reply))
            .json::<docent_app::handover::CannedInput>().created::<CannedReply>(),
        r(M::PUT, "/api/canned-replies/{canned_reply_id}", Org, Api, "Change a canned reply", put(api::update_canned_reply))
            .json::<docent_app::handover::CannedInput>().ok::<CannedReply>(),
        r(M::DELETE, "/api/canned-replies/{canned_reply_id}", Org, Api, "Delete a canned reply", delete(api::delete_canned_reply))
            .no_content(),
        r(M::GET, "/app/inbox", ChatSpace, Page, "The live inbox: waiting, mine, unassigned, all; the transcript, reply, notes", get(pages::index)),
    ]
}
