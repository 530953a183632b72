//! The inbox page: the server draws its frame; `inbox.js` fills it from `/api/inbox` and
//! keeps it live from `/api/inbox/events` (no polling).

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use docent_core::*;

use crate::AppState;
use crate::auth::Caller;
use crate::http::pages::{PageCtx, PageError, Shell};

/// A member the inbox can assign conversations to.
struct Assignee {
    id: UserId,
    name: String,
}

#[derive(Template)]
#[template(path = "inbox/index.html")]
struct InboxPage {
    shell: Shell,
    title: &'static str,
    me: Option<UserId>,
    can_answer: bool,
    can_assign: bool,
    assignees: Vec<Assignee>,
}

pub async fn index(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
) -> Result<Response, PageError> {
    let can_assign = caller.role >= Role::Admin;
    let assignees = if can_assign {
        state
            .store
            .list_members(caller.org_id())
            .await
            .map_err(docent_app::AppError::from)?
            .into_iter()
            .filter(|m| m.role >= Role::Agent)
            .map(|m| Assignee {
                id: m.user_id,
                name: if m.name.trim().is_empty() {
                    m.email
                } else {
                    m.name
                },
            })
            .collect()
    } else {
        Vec::new()
    };
    let page = InboxPage {
        shell: ctx.shell_in("inbox"),
        title: "Inbox",
        me: caller.user.as_ref().map(|u| u.user.id),
        can_answer: caller.role >= Role::Agent && caller.user.is_some(),
        can_assign,
        assignees,
    };
    Ok(ctx.render(&page))
}
