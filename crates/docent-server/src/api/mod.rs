//! The JSON API (DESIGN §4): thin handlers that extract, call a service function and shape
//! the answer.

pub mod admin;
pub mod answers;
pub mod auth;
pub mod chat_spaces;
pub mod documents;
pub mod orgs;

use axum::extract::FromRequestParts;
use axum::extract::connect_info::ConnectInfo;
use axum::http::header;
use axum::http::request::Parts;
use docent_core::Page;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

use crate::AppState;
use crate::error::ApiError;
use docent_app::accounts::ClientInfo;

/// A page of a list and the cursor of the next one.
#[derive(Debug, Serialize)]
pub struct List<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> List<T> {
    pub fn new(data: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> String) -> Self {
        let next_cursor = if data.len() as u32 >= limit {
            data.last().map(cursor_of)
        } else {
            None
        };
        List { data, next_cursor }
    }
}

/// `?limit=&cursor=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery<C> {
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default = "none")]
    pub cursor: Option<C>,
}

fn none<C>() -> Option<C> {
    None
}

impl<C> ListQuery<C> {
    pub fn page(self) -> Page<C> {
        Page {
            limit: self
                .limit
                .unwrap_or(Page::<C>::DEFAULT_LIMIT)
                .clamp(1, Page::<C>::MAX_LIMIT),
            cursor: self.cursor,
        }
    }
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let forwarded = state
            .settings
            .trust_proxy
            .then(|| parts.headers.get("x-forwarded-for"))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|ip| ip.trim().to_owned());
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string());
        Ok(ClientInfo {
            ip: forwarded.or(peer),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        })
    }
}
