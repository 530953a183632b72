//! Outbound webhook endpoints and deliveries: the statements both backends run (see
//! [`crate::sql`]). The event list is a JSON array in a text column, read and written as
//! text so that both engines treat it alike.

/// Expands, in a backend, its `impl` of this area's store trait.
#[macro_export]
#[doc(hidden)]
macro_rules! webhooks_sql {
    ($store:ident, $db:ty) => {
        const _: () = {
            use $crate::WebhookStore;
            use $crate::sql::__support::*;

            #[derive(sqlx::FromRow)]
            struct EndpointRow {
                id: Uuid,
                org_id: Uuid,
                chat_space_id: Option<Uuid>,
                url: String,
                description: String,
                events: String,
                previous_secret_expires_at: Option<DateTime<Utc>>,
                disabled_at: Option<DateTime<Utc>>,
                disabled_reason: Option<String>,
                last_success_at: Option<DateTime<Utc>>,
                created_at: DateTime<Utc>,
                updated_at: DateTime<Utc>,
            }

            impl EndpointRow {
                fn into_domain(self) -> Result<WebhookEndpoint> {
                    let names: Vec<String> = serde_json::from_str(&self.events)
                        .map_err(|e| StoreError::Corrupt(format!("webhook events: {e}")))?;
                    let events = names
                        .iter()
                        .map(|n| parse("webhook event", n, EventType::parse))
                        .collect::<Result<Vec<_>>>()?;
                    Ok(WebhookEndpoint {
                        id: WebhookEndpointId(self.id),
                        org_id: OrgId(self.org_id),
                        chat_space_id: self.chat_space_id.map(ChatSpaceId),
                        url: self.url,
                        description: self.description,
                        events,
                        previous_secret_expires_at: self.previous_secret_expires_at,
                        disabled_at: self.disabled_at,
                        disabled_reason: self.disabled_reason,
                        last_success_at: self.last_success_at,
                        created_at: self.created_at,
                        updated_at: self.updated_at,
                    })
                }
            }

            const ENDPOINT_COLUMNS: &str = "id, org_id, chat_space_id, url, description, events, \
                previous_secret_expires_at, disabled_at, disabled_reason, last_success_at, created_at, updated_at";

            fn event_names(events: &[EventType]) -> String {
                serde_json::to_string(&events.iter().map(|e| e.as_str()).collect::<Vec<_>>())
                    .unwrap_or_else(|_| "[]".into())
            }

            #[derive(sqlx::FromRow)]
            struct DeliveryRow {
                id: Uuid,
                org_id: Uuid,
                endpoint_id: Uuid,
                event_id: String,
                event_type: String,
                body: String,
                status: String,
                attempts: i32,
                next_attempt_at: Option<DateTime<Utc>>,
                last_attempt_at: Option<DateTime<Utc>>,
                last_status_code: Option<i32>,
                last_response: Option<String>,
                last_error: Option<String>,
                created_at: DateTime<Utc>,
                delivered_at: Option<DateTime<Utc>>,
            }

            impl DeliveryRow {
                fn into_domain(self) -> Result<WebhookDelivery> {
                    Ok(WebhookDelivery {
                        id: WebhookDeliveryId(self.id),
                        org_id: OrgId(self.org_id),
                        endpoint_id: WebhookEndpointId(self.endpoint_id),
                        event_id: self.event_id,
                        event_type: parse("webhook event", &self.event_type, EventType::parse)?,
                        body: self.body,
                        status: parse("delivery status", &self.status, DeliveryStatus::parse)?,
                        attempts: self.attempts,
                        next_attempt_at: self.next_attempt_at,
                        last_attempt_at: self.last_attempt_at,
                        last_status_code: self.last_status_code,
                        last_response: self.last_response,
                        last_error: self.last_error,
                        created_at: self.created_at,
                        delivered_at: self.delivered_at,
                    })
                }
            }

            const DELIVERY_COLUMNS: &str = "id, org_id, endpoint_id, event_id, event_type, body, status, \
                attempts, next_attempt_at, last_attempt_at, last_status_code, last_response, last_error, \
                created_at, delivered_at";

            #[derive(sqlx::FromRow)]
            struct HealthRow {
                checked_at: DateTime<Utc>,
                last_ok_at: Option<DateTime<Utc>>,
                consecutive_failures: i32,
                alerted_at: Option<DateTime<Utc>>,
            }

            impl HealthRow {
                fn into_domain(self) -> WebhookHealth {
                    WebhookHealth {
                        state: if self.consecutive_failures > 0 {
                            HealthState::Failing
                        } else {
                            HealthState::Healthy
                        },
                        checked_at: Some(self.checked_at),
                        last_ok_at: self.last_ok_at,
                        consecutive_failures: self.consecutive_failures,
                        alerted_at: self.alerted_at,
                    }
                }
            }

            #[derive(sqlx::FromRow)]
            struct ErrorRow {
                id: Uuid,
                org_id: Uuid,
                chat_space_id: Uuid,
                kind: String,
                message: String,
                occurred_at: DateTime<Utc>,
            }

            #[async_trait]
            impl WebhookStore for $store {
                async fn create_webhook(&self, e: &WebhookEndpoint, secret: &str) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO webhook_endpoints (id, org_id, chat_space_id, url, description, events, secret, \
                         disabled_at, disabled_reason, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    )
                    .bind(e.id.0)
                    .bind(e.org_id.0)
                    .bind(e.chat_space_id.map(|c| c.0))
                    .bind(&e.url)
                    .bind(&e.description)
                    .bind(event_names(&e.events))
                    .bind(secret)
                    .bind(e.disabled_at)
                    .bind(&e.disabled_reason)
                    .bind(e.created_at)
                    .bind(e.updated_at)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn webhooks(&self, org: OrgId) -> Result<Vec<WebhookEndpoint>> {
                    let rows: Vec<EndpointRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE org_id = $1 ORDER BY id"
                    )))
                    .bind(org.0)
                    .fetch_all(&self.pool)
                    .await?;
                    all(rows, EndpointRow::into_domain)
                }

                async fn find_webhook(
                    &self,
                    org: OrgId,
                    id: WebhookEndpointId,
                ) -> Result<Option<WebhookEndpoint>> {
                    let row: Option<EndpointRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE org_id = $1 AND id = $2"
                    )))
                    .bind(org.0)
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(EndpointRow::into_domain).transpose()
                }

                async fn webhook_secrets(
                    &self,
                    org: OrgId,
                    id: WebhookEndpointId,
                ) -> Result<Option<SigningSecrets>> {
                    let row: Option<(String, Option<String>, Option<DateTime<Utc>>)> = sqlx::query_as(
                        "SELECT secret, previous_secret, previous_secret_expires_at FROM webhook_endpoints \
                         WHERE org_id = $1 AND id = $2",
                    )
                    .bind(org.0)
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await?;
                    Ok(row.map(|(current, previous, until)| {
                        SigningSecrets::new(current, previous, until)
                    }))
                }

                async fn update_webhook(&self, e: &WebhookEndpoint) -> Result<bool> {
                    let done = sqlx::query(
                        "UPDATE webhook_endpoints SET chat_space_id = $3, url = $4, description = $5, events = $6, \
                         disabled_at = $7, disabled_reason = $8, updated_at = $9 WHERE org_id = $1 AND id = $2",
                    )
                    .bind(e.org_id.0)
                    .bind(e.id.0)
                    .bind(e.chat_space_id.map(|c| c.0))
                    .bind(&e.url)
                    .bind(&e.description)
                    .bind(event_names(&e.events))
                    .bind(e.disabled_at)
                    .bind(&e.disabled_reason)
                    .bind(e.updated_at)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn rotate_webhook_secret(
                    &self,
                    org: OrgId,
                    id: WebhookEndpointId,
                    secret: &str,
                    previous_until: DateTime<Utc>,
                    at: DateTime<Utc>,
                ) -> Result<bool> {
                    let done = sqlx::query(
                        "UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_expires_at = $4, \
                         secret = $3, updated_at = $5 WHERE org_id = $1 AND id = $2",
                    )
                    .bind(org.0)
                    .bind(id.0)
                    .bind(secret)
                    .bind(previous_until)
                    .bind(at)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn delete_webhook(&self, org: OrgId, id: WebhookEndpointId) -> Result<bool> {
                    let done = sqlx::query("DELETE FROM webhook_endpoints WHERE org_id = $1 AND id = $2")
                        .bind(org.0)
                        .bind(id.0)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn disable_webhook(
                    &self,
                    org: OrgId,
                    id: WebhookEndpointId,
                    reason: &str,
                    at: DateTime<Utc>,
                ) -> Result<bool> {
                    let done = sqlx::query(
                        "UPDATE webhook_endpoints SET disabled_at = $3, disabled_reason = $4, updated_at = $3 \
                         WHERE org_id = $1 AND id = $2 AND disabled_at IS NULL",
                    )
                    .bind(org.0)
                    .bind(id.0)
                    .bind(at)
                    .bind(reason)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn add_deliveries(&self, deliveries: &[WebhookDelivery]) -> Result<()> {
                    let mut writer = self.writer().await?;
                    let mut tx = writer.begin().await?;
                    for d in deliveries {
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "INSERT INTO webhook_deliveries ({DELIVERY_COLUMNS}) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
                        )))
                        .bind(d.id.0)
                        .bind(d.org_id.0)
                        .bind(d.endpoint_id.0)
                        .bind(&d.event_id)
                        .bind(d.event_type.as_str())
                        .bind(&d.body)
                        .bind(d.status.as_str())
                        .bind(d.attempts)
                        .bind(d.next_attempt_at)
                        .bind(d.last_attempt_at)
                        .bind(d.last_status_code)
                        .bind(&d.last_response)
                        .bind(&d.last_error)
                        .bind(d.created_at)
                        .bind(d.delivered_at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn find_delivery(
                    &self,
                    org: OrgId,
                    id: WebhookDeliveryId,
                ) -> Result<Option<WebhookDelivery>> {
                    let row: Option<DeliveryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE org_id = $1 AND id = $2"
                    )))
                    .bind(org.0)
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(DeliveryRow::into_domain).transpose()
                }

                async fn deliveries(
                    &self,
                    org: OrgId,
                    endpoint: WebhookEndpointId,
                    page: Page<WebhookDeliveryId>,
                ) -> Result<Vec<WebhookDelivery>> {
                    let rows: Vec<DeliveryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE org_id = $1 AND endpoint_id = $2 \
                         AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
                    )))
                    .bind(org.0)
                    .bind(endpoint.0)
                    .bind(page.cursor.map(|c| c.0))
                    .bind(i64::from(page.limit))
                    .fetch_all(&self.pool)
                    .await?;
                    all(rows, DeliveryRow::into_domain)
                }

                async fn record_attempt(
                    &self,
                    org: OrgId,
                    id: WebhookDeliveryId,
                    a: &DeliveryAttempt,
                ) -> Result<Option<WebhookDelivery>> {
                    let mut writer = self.writer().await?;
                    let mut tx = writer.begin().await?;
                    let delivered = (a.outcome == DeliveryStatus::Succeeded).then_some(a.at);
                    let row: Option<DeliveryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "UPDATE webhook_deliveries SET attempts = attempts + 1, status = $3, next_attempt_at = $4, \
                         last_attempt_at = $5, last_status_code = $6, last_response = $7, last_error = $8, \
                         delivered_at = COALESCE($9, delivered_at) \
                         WHERE org_id = $1 AND id = $2 RETURNING {DELIVERY_COLUMNS}"
                    )))
                    .bind(org.0)
                    .bind(id.0)
                    .bind(a.outcome.as_str())
                    .bind(a.next_attempt_at)
                    .bind(a.at)
                    .bind(a.status_code)
                    .bind(&a.response)
                    .bind(&a.error)
                    .bind(delivered)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let (Some(row), Some(at)) = (&row, delivered) {
                        sqlx::query(
                            "UPDATE webhook_endpoints SET last_success_at = $3 WHERE org_id = $1 AND id = $2",
                        )
                        .bind(org.0)
                        .bind(row.endpoint_id)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    row.map(DeliveryRow::into_domain).transpose()
                }

                async fn erase_deliveries_about(&self, org: OrgId, key: &str, value: &str) -> Result<u64> {
                    // The body is serde_json's compact JSON: `"key":"value"`, the value escaped
                    // as JSON escapes it.
                    let needle = format!("{}:{}", serde_json::json!(key), serde_json::json!(value));
                    let pattern = format!(
                        "%{}%",
                        needle.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
                    );
                    let done = sqlx::query(
                        "DELETE FROM webhook_deliveries WHERE org_id = $1 AND body LIKE $2 ESCAPE '\\'",
                    )
                    .bind(org.0)
                    .bind(pattern)
                    .execute(self.writer().await?.connection())
                    .await?;
                    Ok(done.rows_affected())
                }

                async fn reopen_delivery(
                    &self,
                    org: OrgId,
                    id: WebhookDeliveryId,
                    at: DateTime<Utc>,
                ) -> Result<Option<WebhookDelivery>> {
                    let row: Option<DeliveryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3 \
                         WHERE org_id = $1 AND id = $2 RETURNING {DELIVERY_COLUMNS}"
                    )))
                    .bind(org.0)
                    .bind(id.0)
                    .bind(at)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(DeliveryRow::into_domain).transpose()
                }

                async fn record_webhook_outcome(
                    &self,
                    org: OrgId,
                    chat_space: ChatSpaceId,
                    failure: Option<(WebhookErrorKind, &str)>,
                    at: DateTime<Utc>,
                ) -> Result<WebhookHealth> {
                    let mut writer = self.writer().await?;
                    let mut tx = writer.begin().await?;
                    if let Some((kind, message)) = failure {
                        sqlx::query(
                            "INSERT INTO webhook_errors (id, org_id, chat_space_id, kind, message, occurred_at) \
                             VALUES ($1, $2, $3, $4, $5, $6)",
                        )
                        .bind(WebhookErrorId::generate().0)
                        .bind(org.0)
                        .bind(chat_space.0)
                        .bind(kind.as_str())
                        .bind(message.chars().take(1000).collect::<String>())
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    let ok = failure.is_none();
                    let row: HealthRow = sqlx::query_as(
                        "INSERT INTO webhook_health (chat_space_id, org_id, checked_at, last_ok_at, consecutive_failures, alerted_at) \
                         VALUES ($1, $2, $3, $4, CAST($5 AS INTEGER), NULL) \
                         ON CONFLICT (chat_space_id) DO UPDATE SET checked_at = excluded.checked_at, \
                         last_ok_at = COALESCE(excluded.last_ok_at, webhook_health.last_ok_at), \
                         consecutive_failures = CASE WHEN excluded.consecutive_failures = 0 THEN 0 \
                           ELSE webhook_health.consecutive_failures + 1 END, \
                         alerted_at = CASE WHEN excluded.consecutive_failures = 0 THEN NULL ELSE webhook_health.alerted_at END \
                         RETURNING checked_at, last_ok_at, consecutive_failures, alerted_at",
                    )
                    .bind(chat_space.0)
                    .bind(org.0)
                    .bind(at)
                    .bind(ok.then_some(at))
                    .bind(if ok { 0i32 } else { 1i32 })
                    .fetch_one(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(row.into_domain())
                }

                async fn webhook_health(&self, org: OrgId, chat_space: ChatSpaceId) -> Result<WebhookHealth> {
                    let row: Option<HealthRow> = sqlx::query_as(
                        "SELECT checked_at, last_ok_at, consecutive_failures, alerted_at FROM webhook_health \
                         WHERE org_id = $1 AND chat_space_id = $2",
                    )
                    .bind(org.0)
                    .bind(chat_space.0)
                    .fetch_optional(&self.pool)
                    .await?;
                    Ok(row.map(HealthRow::into_domain).unwrap_or_default())
                }

                async fn webhook_errors(
                    &self,
                    org: OrgId,
                    chat_space: ChatSpaceId,
                    limit: u32,
                ) -> Result<Vec<WebhookError>> {
                    let rows: Vec<ErrorRow> = sqlx::query_as(
                        "SELECT id, org_id, chat_space_id, kind, message, occurred_at FROM webhook_errors \
                         WHERE org_id = $1 AND chat_space_id = $2 ORDER BY id DESC LIMIT $3",
                    )
                    .bind(org.0)
                    .bind(chat_space.0)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    all(rows, |r| {
                        Ok(WebhookError {
                            id: WebhookErrorId(r.id),
                            org_id: OrgId(r.org_id),
                            chat_space_id: ChatSpaceId(r.chat_space_id),
                            kind: parse("webhook error kind", &r.kind, WebhookErrorKind::parse)?,
                            message: r.message,
                            occurred_at: r.occurred_at,
                        })
                    })
                }

                async fn mark_webhook_alerted(
                    &self,
                    org: OrgId,
                    chat_space: ChatSpaceId,
                    at: DateTime<Utc>,
                ) -> Result<bool> {
                    let done = sqlx::query(
                        "UPDATE webhook_health SET alerted_at = $3 WHERE org_id = $1 AND chat_space_id = $2 AND alerted_at IS NULL",
                    )
                    .bind(org.0)
                    .bind(chat_space.0)
                    .bind(at)
                    .execute(self.writer().await?.connection())
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn prune_webhook_logs(&self, before: DateTime<Utc>) -> Result<u64> {
                    let deliveries = sqlx::query(
                        "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < $1",
                    )
                    .bind(before)
                    .execute(self.writer().await?.connection())
                    .await?;
                    let errors = sqlx::query("DELETE FROM webhook_errors WHERE occurred_at < $1")
                        .bind(before)
                        .execute(self.writer().await?.connection())
                        .await?;
                    Ok(deliveries.rows_affected() + errors.rows_affected())
                }

                async fn answer_webhook_spaces(&self) -> Result<Vec<(OrgId, ChatSpaceId)>> {
                    let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
                        "SELECT org_id, id FROM chat_spaces WHERE answer_mode = 'webhook' AND webhook_url IS NOT NULL ORDER BY id",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows.into_iter().map(|(o, c)| (OrgId(o), ChatSpaceId(c))).collect())
                }
            }
        };
    };
}
