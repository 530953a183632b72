//! The Leads tab of a chat space: who left their details, searchable, with the conversation
//! each was left in and a CSV export.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use docent_app::chat_spaces;
use docent_app::leads::{self, LeadQuery};
use docent_core::*;
use serde::Deserialize;

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{ApiQuery, IdPath};
use crate::http::form::choice;
use crate::http::pages::{PageCtx, PageError, Shell};

const PER_PAGE: u32 = 50;

#[derive(Template)]
#[template(path = "leads/index.html")]
struct LeadsPage {
    shell: Shell,
    title: String,
    space: ChatSpace,
    setup: chat_spaces::Setup,
    leads: Vec<Lead>,
    q: String,
    form_on: bool,
    next_cursor: Option<LeadId>,
    first_page: bool,
}

impl LeadsPage {
    fn when(at: &chrono::DateTime<chrono::Utc>) -> String {
        at.format("%Y-%m-%d %H:%M UTC").to_string()
    }

    fn q_param(&self) -> String {
        form_urlencoded::byte_serialize(self.q.as_bytes()).collect()
    }
}

/// The search form and pager as a browser sends them.
#[derive(Debug, Default, Deserialize)]
pub struct LeadsForm {
    #[serde(default)]
    q: String,
    #[serde(default)]
    cursor: String,
}

pub async fn index(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiQuery(form): ApiQuery<LeadsForm>,
) -> Result<Response, PageError> {
    let space = chat_spaces::get(&state, &caller, id).await?;
    let cursor = choice("cursor", &form.cursor, |c| c.parse::<LeadId>().ok())?;
    let query = LeadQuery {
        q: Some(form.q.clone()),
        limit: Some(PER_PAGE),
        cursor,
    };
    let list = leads::list(&state, &caller, space.id, &query).await?;
    let next_cursor = (list.len() as u32 == PER_PAGE)
        .then(|| list.last().map(|l| l.id))
        .flatten();
    let page = LeadsPage {
        shell: ctx.shell_in("spaces"),
        title: format!("Leads · {}", space.name),
        setup: chat_spaces::setup(&state, &caller, &space).await?,
        form_on: leads::form(&space).is_some(),
        leads: list,
        q: form.q.trim().to_owned(),
        next_cursor,
        first_page: cursor.is_none(),
        space,
    };
    Ok(ctx.render(&page))
}
