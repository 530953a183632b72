//! The statements both backends run with one text, an area a file: each file is a macro
//! that a backend expands once (`docent_store::orgs_sql!(SqliteStore, sqlx::Sqlite);`) into
//! its `impl` of that area's trait, so a query is written, and changed, in one place.
//!
//! One text serves both because the SQL is kept to what SQLite and PostgreSQL read alike:
//! `$n` placeholders (sqlx's SQLite driver binds `$n` by its number, as PostgreSQL does, so a
//! number may repeat), `CAST($n AS BIGINT)` where PostgreSQL must be told a parameter's type,
//! `RETURNING`, `ON CONFLICT … DO NOTHING`. What the engines do differently stays in the
//! backend: vector and full-text search, bulk chunk inserts and the answer path's statements
//! ([`crate::ChunkIndex`], [`crate::AnswerPath`]); a dialect difference inside a shared
//! statement is a macro argument (`jobs_sql!`'s `claim_lock`).
//!
//! What a backend provides for the expansion:
//! - a `pool: sqlx::Pool<DB>` field, for single statements;
//! - `async fn writer(&self) -> Result<Writer>`, whose `begin(&mut self)` opens a write
//!   transaction and `connection(&mut self)` gives the connection for one statement (SQLite
//!   queues its process's writers there and takes the write lock at once);
//! - `async fn limit_lock(conn, what, owner) -> Result<()>`, which serializes, inside a write
//!   transaction, counting rows against a plan limit and inserting one more.

pub mod accounts;
pub mod answers;
pub mod api_keys;
pub mod chat_spaces;
pub mod handover;
pub mod insights;
pub mod jobs;
pub mod knowledge;
pub mod leads;
pub mod orgs;
pub mod outbox;
pub mod store;
pub mod webhooks;

/// What the expanded statements name, in scope inside each expansion.
#[doc(hidden)]
pub mod __support {
    pub use crate::jobs::{JobRow, finished};
    pub use crate::rows::*;
    pub use crate::{
        AccountStore, AnswerStore, ApiKeyStore, ChatSpaceStore, HandoverStore, InsightStore,
        JobQueue, KnowledgeStore, MessageQuota, OrgStore, OutboxStore, Result, StoreError,
    };
    pub use async_trait::async_trait;
    pub use chrono::{DateTime, NaiveDate, Utc};
    pub use docent_core::*;
    pub use serde_json;
    pub use sqlx;
    pub use sqlx::types::Json;
    pub use tracing;
    pub use uuid::Uuid;
}
