//! What this server publishes on the Hub (DESIGN §7), in one place: topics by id, events
//! that say what to re-read. Whoever subscribes has been authorised for the topic first.

use docent_core::ChatSpaceId;
use docent_store::hub::Event;

use crate::App;

/// Everything about one chat space (its documents now; its conversations next).
pub fn chat_space_topic(id: ChatSpaceId) -> String {
    format!("chat_space:{id}")
}

/// The documents of `space` changed (added, progressed, finished, failed, edited, deleted).
pub async fn documents_changed(app: &App, space: ChatSpaceId) {
    let event = Event::new(chat_space_topic(space), "documents");
    // Subscribers also re-read on a timer, so a lost event only delays them.
    if let Err(e) = app.store.hub().publish(event).await {
        tracing::warn!(chat_space = %space, error = %e, "could not publish a document change");
    }
}

/// Where workers hear that jobs were queued, on every replica.
pub const JOBS_TOPIC: &str = "jobs";

/// Jobs were queued: this process's idle workers wake at once, and through the Hub every
/// other replica's (their one-second look for due jobs is the fallback).
pub async fn jobs_queued(app: &App) {
    app.jobs_waiting.notify_waiters();
    if let Err(e) = app
        .store
        .hub()
        .publish(Event::new(JOBS_TOPIC, "queued"))
        .await
    {
        tracing::warn!(error = %e, "could not announce queued jobs");
    }
}
