//! Privacy (DESIGN §4 "Operators"): a chat space keeps conversations only as long as its
//! owner says (`retention_days`; an hourly job deletes older ones); a visitor erases their own
//! conversations from the widget; an owner erases or exports everything of one visitor, found
//! by their id or their email. Erasing is a hard delete: the conversations, their messages
//! and feedback, and the grouped questions go, and a question group named by an erased
//! question is renamed after one that remains (or goes with its last question). Daily usage
//! counters keep their numbers: they hold no one's words or ids.

use chrono::{Duration, Utc};
use docent_core::*;
use docent_store::Erase;
use serde::{Deserialize, Serialize};

use crate::actor::Caller;
use crate::conversations::{ConversationFilter, Export, ExportFormat};
use crate::limits::WidgetSpace;
use crate::{App, AppError, chat_spaces};

/// What was erased.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Erased {
    /// How many conversations (with all their messages) were deleted.
    pub conversations: u64,
}

/// A visitor as an owner names them: a visitor id, or an email (matched lower-cased).
fn visitor_key(visitor: &str) -> Result<String, AppError> {
    let v = visitor.trim();
    if v.is_empty() || v.chars().count() > 254 {
        return Err(AppError::validation(
            "visitor",
            "Give the visitor's id (as the widget made it) or their email.",
        ));
    }
    // A signed-in visitor (`v:` and the site's id) is named exactly; an email in any case.
    Ok(if is_email(v) {
        v.to_lowercase()
    } else {
        v.to_owned()
    })
}

/// Erases every conversation of one visitor in a chat space (owners and admins).
pub async fn erase_visitor(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    visitor: &str,
) -> Result<Erased, AppError> {
    caller.require(Role::Admin)?;
    let space = chat_spaces::get(app, caller, space).await?;
    let key = visitor_key(visitor)?;
    let org = caller.org_id();
    // An email names the visitor ids it is known by too, so that their conversations without
    // the email, and the webhooks sent about them by id, go with it.
    let mut keys = if is_email(&key) {
        app.store.visitors_with_email(org, space.id, &key).await?
    } else {
        Vec::new()
    };
    keys.push(key);
    let mut conversations = 0;
    for key in &keys {
        conversations += app
            .store
            .erase_conversations(org, space.id, &Erase::Visitor(key.clone()))
            .await?;
        app.store.erase_leads(org, space.id, key).await?;
        erase_sent(app, org, key).await?;
    }
    recount(app, org, space.id, conversations).await?;
    Ok(Erased { conversations })
}

/// Whether a visitor key is an email rather than an id (a signed-in visitor's id may hold
/// an `@`, after its `v:`).
fn is_email(key: &str) -> bool {
    key.contains('@') && !key.starts_with(crate::identity::VERIFIED_PREFIX)
}

/// What webhooks were sent about a visitor (`key`: their id or email) goes from the delivery
/// log with them.
async fn erase_sent(app: &App, org: OrgId, key: &str) -> Result<(), AppError> {
    let field = if is_email(key) { "email" } else { "visitor_id" };
    app.store.erase_deliveries_about(org, field, key).await?;
    Ok(())
}

/// After `erased` conversations of a chat space went: its question groups' words again.
async fn recount(app: &App, org: OrgId, space: ChatSpaceId, erased: u64) -> Result<(), AppError> {
    if erased > 0 {
        crate::insights::questions::recount(app, org, space).await?;
    }
    Ok(())
}

/// Everything of one visitor in a chat space, as a file to save.
pub async fn export_visitor(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    visitor: &str,
    format: ExportFormat,
) -> Result<Export, AppError> {
    let filter = ConversationFilter {
        visitor: Some(visitor_key(visitor)?),
        ..ConversationFilter::default()
    };
    crate::conversations::export_of(app, caller, space, format, filter, "visitor").await
}

/// A visitor's request to forget them.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgetMe {
    #[schemars(regex(pattern = docent_core::validate::VISITOR_ID_PATTERN), example = "v-3f9a2c71d4e8")]
    pub visitor_id: String,
}

/// The widget's "Delete my conversations": the visitor's own, in this chat space.
pub async fn forget_visitor(
    app: &App,
    w: &WidgetSpace,
    input: ForgetMe,
) -> Result<Erased, AppError> {
    let visitor = w.visitor(&input.visitor_id)?;
    let conversations = app
        .store
        .erase_conversations(w.space.org_id, w.space.id, &Erase::Visitor(visitor.clone()))
        .await?;
    app.store
        .erase_leads(w.space.org_id, w.space.id, &visitor)
        .await?;
    erase_sent(app, w.space.org_id, &visitor).await?;
    recount(app, w.space.org_id, w.space.id, conversations).await?;
    Ok(Erased { conversations })
}

/// How long webhook delivery logs and answer webhook failures are kept.
pub const WEBHOOK_LOG_DAYS: i64 = 30;

/// The `retention` job: deletes, in every chat space that keeps conversations only so many
/// days, those quiet for longer; how many went.
pub async fn sweep(app: &App) -> Result<u64, AppError> {
    let now = Utc::now();
    let mut erased = 0;
    for (org, space, days) in app.store.retention_days().await? {
        let cutoff = now - Duration::days(i64::from(days));
        let n = app
            .store
            .erase_conversations(org, space, &Erase::QuietSince(cutoff))
            .await?;
        recount(app, org, space, n).await?;
        erased += n;
    }
    if erased > 0 {
        tracing::info!(
            erased,
            "deleted conversations past their chat space's retention"
        );
    }
    // What webhooks were sent (message texts, leads) is kept a month in the delivery log.
    let pruned = app
        .store
        .prune_webhook_logs(now - Duration::days(WEBHOOK_LOG_DAYS))
        .await?;
    if pruned > 0 {
        tracing::info!(
            pruned,
            "deleted webhook logs older than {WEBHOOK_LOG_DAYS} days"
        );
    }
    Ok(erased)
}
