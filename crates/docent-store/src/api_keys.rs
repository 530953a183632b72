//! The storage contract of one area: aPI keys: an organization's, or one chat space's. The SQL lives in each
//! backend's `api_keys.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use docent_core::*;

use crate::Result;

/// API keys: an organization's, or one chat space's.
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    async fn create_api_key(&self, org: OrgId, key: NewApiKey) -> Result<ApiKey>;
    /// Keys of the organization (revoked ones too), newest first; only those of one chat
    /// space when `chat_space` is set.
    async fn list_api_keys(
        &self,
        org: OrgId,
        chat_space: Option<ChatSpaceId>,
    ) -> Result<Vec<ApiKey>>;
    async fn revoke_api_key(&self, org: OrgId, id: ApiKeyId, at: DateTime<Utc>) -> Result<bool>;
    /// An unrevoked key by the hash of its secret (the key names its organization).
    async fn find_api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>>;
    async fn touch_api_key(&self, id: ApiKeyId, at: DateTime<Utc>) -> Result<()>;
}
