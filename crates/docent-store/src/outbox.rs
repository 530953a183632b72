//! The storage contract of one area: mail that could not be sent, kept for the platform admin to read. The SQL lives in each
//! backend's `outbox.rs`.

use async_trait::async_trait;
use docent_core::*;

use crate::Result;

/// Mail that could not be sent, kept for the platform admin to read.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    async fn push_outbox(&self, to_email: &str, subject: &str, body: &str) -> Result<()>;
    /// Newest first.
    async fn list_outbox(&self, limit: u32) -> Result<Vec<OutboxEmail>>;
}
