//! Insights: what a business gets back from its chatbot — analytics of a chat space and of
//! the whole organization, as JSON, CSV and dashboard pages.

pub mod api;
pub mod pages;

use axum::http::Method as M;
use axum::routing::{get, post};

use crate::http::list::Data;
use crate::routes::{Access, Kind, Route, r};
use docent_app::insights::analytics::Analytics;
use docent_app::insights::gaps::Gap;
use docent_app::insights::questions::TopQuestion;

/// This feature's routes (joined into the route table by [`crate::routes::routes`]).
#[rustfmt::skip]
pub fn routes() -> Vec<Route> {
    use Access::*;
    use Kind::*;
    vec![
        r(M::GET, "/api/chat-spaces/{id}/analytics", ChatSpace, Api, "A chat space's analytics: totals and a series by day, week or month (?from=&to=&granularity=), with answer confidence in ten buckets; a period counts the conversations visitors started in it (not the Playground's)", get(api::chat_space))
            .query::<api::AnalyticsQuery>().ok::<Analytics>(),
        r(M::GET, "/api/chat-spaces/{id}/analytics/export", ChatSpace, Api, "A chat space's analytics as CSV: a row a period with every figure, or one chart's (?chart=volume|feedback|speed|handover|usage|confidence)", get(api::export))
            .query::<api::AnalyticsExportQuery>().download(api::CSV_TYPES),
        r(M::GET, "/api/analytics", ChatSpace, Api, "The organization's analytics across the chat spaces the caller sees (?from=&to=&granularity=)", get(api::organization))
            .query::<api::AnalyticsQuery>().ok::<Analytics>(),
        r(M::GET, "/api/chat-spaces/{id}/top-questions", ChatSpace, Api, "Visitors' questions asked most (?from=&to=&limit=), grouped by meaning: a label, how many times, some wordings and their conversations", get(api::top_questions))
            .query::<api::TopQuery>().ok::<Data<TopQuestion>>(),
        r(M::GET, "/api/chat-spaces/{id}/knowledge-gaps", ChatSpace, Api, "Groups of visitors' questions that went unanswered (the don't-know reply, low confidence, thumbs down, a handover), open ones first (?status=open|resolved)", get(api::knowledge_gaps))
            .query::<api::GapsQuery>().ok::<Data<Gap>>(),
        r(M::POST, "/api/chat-spaces/{id}/knowledge-gaps/{gap_id}/answer", ChatSpace, Api, "Answer a gap: its question and this answer become a Q&A source; its questions are asked again once it is learned, and the gap resolves when every one gets an answer", post(api::answer_gap))
            .json::<docent_app::insights::gaps::AnswerGap>().ok::<Gap>(),
        r(M::GET, "/app/chat-spaces/{id}/analytics", ChatSpace, Page, "A chat space's analytics: cards and charts with their tables and CSV", get(pages::chat_space)),
        r(M::POST, "/app/chat-spaces/{id}/knowledge-gaps/{gap_id}/answer", ChatSpace, Page, "Answer a knowledge gap from the Analytics tab", post(pages::answer_gap)),
        r(M::GET, "/app/analytics", ChatSpace, Page, "The organization's analytics: the same cards across its chat spaces, and each chat space's", get(pages::organization)),
    ]
}
