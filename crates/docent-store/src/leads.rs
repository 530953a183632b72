//! The storage contract of one area: leads, the details visitors left (DESIGN §4). The SQL
//! lives in [`crate::sql::leads`], shared by both backends.

use async_trait::async_trait;
use docent_core::*;

use crate::Result;

#[async_trait]
pub trait LeadStore: Send + Sync {
    /// Stores a visitor's lead, or updates the one they left in this chat space before
    /// (keeping its id and `created_at`); true when it is new.
    async fn save_lead(&self, lead: &Lead) -> Result<(Lead, bool)>;
    /// A chat space's leads, newest first, before the cursor; `q` finds a name, email,
    /// phone or company holding it (any case).
    async fn leads(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        q: Option<&str>,
        page: Page<LeadId>,
    ) -> Result<Vec<Lead>>;
    /// The lead of a visitor in a chat space, if they left one.
    async fn visitor_lead(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        visitor_id: &str,
    ) -> Result<Option<Lead>>;
    /// Deletes the leads of a chat space left by the visitor `key` names (their id, or the
    /// email they gave); how many went.
    async fn erase_leads(&self, org: OrgId, chat_space: ChatSpaceId, key: &str) -> Result<u64>;
    /// The visitor ids that an email (lower-cased) is known by in a chat space: those that
    /// left a lead with it, and those of conversations naming it.
    async fn visitors_with_email(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        email: &str,
    ) -> Result<Vec<String>>;
}
