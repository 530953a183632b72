//! The storage contract of Docent: one [`Store`] trait that the SQLite and PostgreSQL backends
//! implement with the same table and column names, [`StoreError`], the row types both decode
//! into, and (feature `testing`) the conformance stories every backend must pass.
//!
//! Every method on tenant data takes the [`OrgId`] first: a row of another organization is
//! simply not found.

use async_trait::async_trait;

pub mod accounts;
pub mod answers;
pub mod api_keys;
pub mod chat_spaces;
mod error;
pub mod handover;
pub mod hub;
pub mod insights;
pub mod jobs;
pub mod knowledge;
pub mod leads;
pub mod orgs;
pub mod outbox;
pub mod rows;
pub mod sql;
#[cfg(feature = "testing")]
pub mod stories;
pub mod text_index;
pub mod webhooks;

pub use accounts::AccountStore;
pub use answers::{
    AnalyticsDays, AnswerPath, AnswerStore, ConversationFilter, DayCounts, Erase, HandoverTimes,
    MessageQuota, within_quota,
};
pub use api_keys::ApiKeyStore;
pub use chat_spaces::ChatSpaceStore;
pub use error::StoreError;
pub use handover::{AgentLoad, HandoverStore, InboxFilter, InboxItem};
pub use insights::{GroupedQuestion, InsightStore, QuestionGroup, QuestionToGroup};
pub use jobs::JobQueue;
pub use knowledge::{ChunkIndex, KnowledgeStore};
pub use leads::LeadStore;
pub use orgs::OrgStore;
pub use outbox::OutboxStore;
pub use webhooks::WebhookStore;

/// Every store trait, for code that calls a concrete backend (`SqliteStore`, `PostgresStore`)
/// rather than `dyn Store`: `use docent_store::prelude::*;`.
pub mod prelude {
    pub use crate::{
        AccountStore, AnswerPath, AnswerStore, ApiKeyStore, ChatSpaceStore, ChunkIndex,
        HandoverStore, InsightStore, JobQueue, KnowledgeStore, LeadStore, OrgStore, OutboxStore,
        Store, WebhookStore,
    };
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Connections of the pool, for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
}

/// Everything Docent keeps, one supertrait per area (each in the file of that name, as
/// in both backends), and what the backend is.
#[async_trait]
pub trait Store:
    AccountStore
    + OrgStore
    + ApiKeyStore
    + ChatSpaceStore
    + KnowledgeStore
    + ChunkIndex
    + JobQueue
    + AnswerStore
    + AnswerPath
    + InsightStore
    + HandoverStore
    + OutboxStore
    + WebhookStore
    + LeadStore
    + Send
    + Sync
    + 'static
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// This backend's publish/subscribe (see [`hub`]).
    fn hub(&self) -> std::sync::Arc<dyn hub::Hub>;
    /// Whether the database answers.
    async fn ping(&self) -> Result<()>;
    fn pool_stats(&self) -> PoolStats;
}
