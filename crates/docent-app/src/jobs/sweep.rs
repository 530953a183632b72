//! The `sweep` job, once a minute on one instance: closes widget conversations that have been
//! quiet for longer than `widget_idle_secs`, and emails agents about handovers that waited
//! too long (each once, claimed before it is sent), and deletes login and reset failures that
//! no throttle window counts any more. Closing is idempotent, so a sweep that ran twice (a
//! lease that ran out) does no harm.

use chrono::Utc;
use docent_core::*;

use super::JobError;
use crate::App;

pub async fn run(app: &App) -> Result<(), JobError> {
    let idle = chrono::Duration::seconds(i64::from(app.settings.widget_idle_secs));
    let now = Utc::now();
    let closed = app
        .store
        .close_idle_conversations(Channel::Widget, now - idle, now)
        .await?;
    if !closed.is_empty() {
        tracing::info!(closed = closed.len(), "closed idle widget conversations");
    }
    for c in &closed {
        crate::webhooks::conversation_event(app, EventType::ConversationClosed, c, None).await;
    }
    match crate::handover::remind_waiting(app, now).await {
        Ok(0) => {}
        Ok(told) => tracing::info!(told, "emailed agents about waiting handovers"),
        Err(e) => {
            tracing::warn!(error = %e.message(), "could not email agents about waiting handovers")
        }
    }
    crate::auth::throttle::prune(app.store.as_ref(), now).await?;
    Ok(())
}
