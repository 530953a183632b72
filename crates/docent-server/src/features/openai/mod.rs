//! The OpenAI-compatible API: a chat space's API key asks it with any OpenAI client
//! (`POST /v1/chat/completions`, streamed or not) and lists what it may ask
//! (`GET /v1/models`). Errors come in OpenAI's shape, not Docent's, so that the clients read
//! them.

pub mod api;

use axum::http::Method as M;
use axum::routing::{get, post};

use crate::routes::{Access, Kind, Route, r};

/// This feature's routes (joined into the route table by [`crate::routes::routes`]).
#[rustfmt::skip]
pub fn routes() -> Vec<Route> {
    use Access::*;
    use Kind::*;
    vec![
        r(M::POST, "/v1/chat/completions", ChatSpace, Api, "OpenAI-compatible chat completion from a chat space (model = its endpoint slug; a key limited to one chat space may name any): JSON, or with stream: true server-sent chunks ending in [DONE]; citations in the `docent` member; errors in OpenAI's shape", post(api::completions))
            .json::<docent_app::completions::CompletionRequest>().answer_or_events::<api::Completion>(),
        r(M::GET, "/v1/models", ChatSpace, Api, "The chat spaces the key may ask, as OpenAI models", get(api::models))
            .ok::<docent_app::completions::Models>(),
    ]
}
