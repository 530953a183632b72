//! The Hub across replicas: `NOTIFY` on one channel, and in each process one `LISTEN`ing
//! connection that hands what it hears to the process's subscribers. The listening
//! connection opens with the first subscription (a process that only publishes, like the
//! CLI, needs none) and ends with the store. When it drops, sqlx's listener reconnects; the
//! subscribers hear `Missed`, since notifications sent meanwhile are gone, and re-read.

use std::sync::Arc;

use async_trait::async_trait;
use docent_store::hub::{Event, Fanout, Hub, Subscription};
use docent_store::{Result, StoreError};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::OnceCell;

/// The channel every Docent process listens on.
const CHANNEL: &str = "docent_events";
/// PostgreSQL's limit for a notification's payload is 8,000 bytes.
const MAX_PAYLOAD: usize = 7_900;

#[derive(Debug)]
pub struct PgHub {
    pool: PgPool,
    fanout: Fanout,
    listening: OnceCell<tokio::task::AbortHandle>,
}

impl PgHub {
    pub fn new(pool: PgPool) -> PgHub {
        PgHub {
            pool,
            fanout: Fanout::default(),
            listening: OnceCell::new(),
        }
    }

    /// Starts the listening connection once; returns when it listens.
    async fn listen(&self) -> Result<()> {
        self.listening
            .get_or_try_init(|| async {
                let mut listener = PgListener::connect_with(&self.pool).await?;
                listener.listen(CHANNEL).await?;
                let fanout = self.fanout.clone();
                let task = tokio::spawn(async move {
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(notification)) => {
                                match serde_json::from_str::<Event>(notification.payload()) {
                                    Ok(event) => fanout.deliver(event),
                                    Err(e) => tracing::warn!(error = %e, "a notification that is not an event"),
                                }
                            }
                            // The connection dropped; the next call reconnects and listens again.
                            Ok(None) => fanout.missed(),
                            Err(e) => {
                                tracing::warn!(error = %e, "the hub's listening connection failed; retrying");
                                fanout.missed();
                                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                            }
                        }
                    }
                });
                Ok::<_, StoreError>(task.abort_handle())
            })
            .await
            .map(|_| ())
    }
}

impl Drop for PgHub {
    fn drop(&mut self) {
        if let Some(task) = self.listening.get() {
            task.abort();
        }
    }
}

#[async_trait]
impl Hub for PgHub {
    async fn publish(&self, mut event: Event) -> Result<()> {
        let mut payload = serde_json::to_string(&event).unwrap_or_default();
        if payload.len() > MAX_PAYLOAD {
            // Subscribers re-read anyway; the ids are a courtesy.
            event.data = serde_json::Value::Null;
            payload = serde_json::to_string(&event).unwrap_or_default();
        }
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn subscribe(&self, topic: &str) -> Result<Subscription> {
        // Subscribed before listening, so nothing heard after `listen` returns is lost.
        let subscription = self.fanout.subscribe(topic);
        self.listen().await?;
        Ok(subscription)
    }
}

/// Shared by the store and its clones.
pub(crate) type SharedHub = Arc<PgHub>;
