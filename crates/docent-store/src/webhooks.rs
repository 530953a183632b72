//! The storage contract of one area: outbound webhook endpoints and their deliveries
//! (DESIGN §4). The SQL lives in [`crate::sql::webhooks`], shared by both backends.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use docent_core::*;

use crate::Result;

#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Stores a new endpoint with its signing secret.
    async fn create_webhook(&self, endpoint: &WebhookEndpoint, secret: &str) -> Result<()>;
    /// The organization's endpoints, oldest first.
    async fn webhooks(&self, org: OrgId) -> Result<Vec<WebhookEndpoint>>;
    async fn find_webhook(
        &self,
        org: OrgId,
        id: WebhookEndpointId,
    ) -> Result<Option<WebhookEndpoint>>;
    async fn webhook_secrets(
        &self,
        org: OrgId,
        id: WebhookEndpointId,
    ) -> Result<Option<SigningSecrets>>;
    /// Writes what an owner may change: chat space, URL, description, events, and whether
    /// it is disabled (and why). False when there is no such endpoint.
    async fn update_webhook(&self, endpoint: &WebhookEndpoint) -> Result<bool>;
    /// Signs with `secret` from now on, and with the current one too until `previous_until`.
    async fn rotate_webhook_secret(
        &self,
        org: OrgId,
        id: WebhookEndpointId,
        secret: &str,
        previous_until: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<bool>;
    /// Deletes an endpoint and its deliveries.
    async fn delete_webhook(&self, org: OrgId, id: WebhookEndpointId) -> Result<bool>;
    /// Disables an endpoint that is enabled; true when this call disabled it (so that of
    /// two replicas seeing the last failure one tells the owners).
    async fn disable_webhook(
        &self,
        org: OrgId,
        id: WebhookEndpointId,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<bool>;
    /// Stores new deliveries (status pending, no attempt yet).
    async fn add_deliveries(&self, deliveries: &[WebhookDelivery]) -> Result<()>;
    async fn find_delivery(
        &self,
        org: OrgId,
        id: WebhookDeliveryId,
    ) -> Result<Option<WebhookDelivery>>;
    /// An endpoint's deliveries, newest first, before the cursor.
    async fn deliveries(
        &self,
        org: OrgId,
        endpoint: WebhookEndpointId,
        page: Page<WebhookDeliveryId>,
    ) -> Result<Vec<WebhookDelivery>>;
    /// Records one attempt; a success also marks the endpoint as answering.
    async fn record_attempt(
        &self,
        org: OrgId,
        id: WebhookDeliveryId,
        attempt: &DeliveryAttempt,
    ) -> Result<Option<WebhookDelivery>>;
    /// Deletes the organization's deliveries whose body holds `"{key}":"{value}"` (a visitor
    /// being erased: what was sent about them goes from the log too); how many went.
    async fn erase_deliveries_about(&self, org: OrgId, key: &str, value: &str) -> Result<u64>;
    /// Makes a delivery pending again for a redelivery asked for by hand.
    async fn reopen_delivery(
        &self,
        org: OrgId,
        id: WebhookDeliveryId,
        at: DateTime<Utc>,
    ) -> Result<Option<WebhookDelivery>>;
    /// Records one call or check of a chat space's answer webhook: `failure` (its kind and
    /// message) is kept in `webhook_errors`; the health counts failures in a row, and a
    /// success clears them (and the alert). Returns the health after it.
    async fn record_webhook_outcome(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        failure: Option<(WebhookErrorKind, &str)>,
        at: DateTime<Utc>,
    ) -> Result<WebhookHealth>;
    async fn webhook_health(&self, org: OrgId, chat_space: ChatSpaceId) -> Result<WebhookHealth>;
    /// The chat space's latest answer webhook failures, newest first.
    async fn webhook_errors(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        limit: u32,
    ) -> Result<Vec<WebhookError>>;
    /// Notes that the owners were told of the current run of failures; false when they had
    /// been already.
    async fn mark_webhook_alerted(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        at: DateTime<Utc>,
    ) -> Result<bool>;
    /// Deletes delivery log entries (no longer pending) and answer webhook failures from
    /// before `before`, of every organization; how many went.
    async fn prune_webhook_logs(&self, before: DateTime<Utc>) -> Result<u64>;
    /// Every chat space, of every organization, that answers through a webhook.
    async fn answer_webhook_spaces(&self) -> Result<Vec<(OrgId, ChatSpaceId)>>;
}
