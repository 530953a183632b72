//! The `sweep` job, once a minute on one instance: closes widget conversations that have been
//! quiet for longer than `widget_idle_secs`. Closing is idempotent, so a sweep that ran twice
//! (a lease that ran out) does no harm.

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
    if closed > 0 {
        tracing::info!(closed, "closed idle widget conversations");
    }
    Ok(())
}
