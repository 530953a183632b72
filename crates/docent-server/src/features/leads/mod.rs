//! Leads: the details visitors left in a chat space's lead form, to read, search and
//! export (the widget's side is `POST /api/widget/{slug}/lead`).

pub mod api;
pub mod pages;

use axum::http::Method as M;
use axum::routing::get;

use docent_core::*;

use crate::http::list::List;
use crate::routes::{Access, Kind, Route, r};

/// This feature's routes (joined into the route table by [`crate::routes::routes`]).
#[rustfmt::skip]
pub fn routes() -> Vec<Route> {
    use Access::*;
    use Kind::*;
    vec![
        r(M::GET, "/api/chat-spaces/{id}/leads", ChatSpace, Api, "The details visitors left in the lead form, newest first (?q= finds a name, email, phone or company)", get(api::list))
            .query::<docent_app::leads::LeadQuery>().ok::<List<Lead>>(),
        r(M::GET, "/api/chat-spaces/{id}/leads/export", ChatSpace, Api, "Every lead (that ?q= finds) as CSV: built-in fields, then a column a custom field", get(api::export))
            .query::<api::ExportQuery>().download(&["text/csv"]),
        r(M::GET, "/app/chat-spaces/{id}/leads", ChatSpace, Page, "A chat space's leads: search, export, the conversation each was left in", get(pages::index)),
    ]
}
