//! Chat spaces: their settings, status and slugs: the statements both backends run (see [`crate::sql`]).

/// Expands, in a backend, its `impl` of this area's store trait.
#[macro_export]
#[doc(hidden)]
macro_rules! chat_spaces_sql {
    ($store:ident, $db:ty) => {
        const _: () = {
            use $crate::sql::__support::*;

            #[async_trait]
            impl ChatSpaceStore for $store {
                async fn create_chat_space_within(
                    &self,
                    org: OrgId,
                    space: NewChatSpace,
                    limit: Option<u64>,
                ) -> Result<ChatSpace> {
                    let now = Utc::now();
                    let mut writer = self.writer().await?;
                    let mut tx = writer.begin().await?;
                    if limit.is_some() {
                        Self::limit_lock(&mut tx, "chat_spaces", org.0).await?;
                    }
                    let row: Option<ChatSpaceRow> = sqlx::query_as(concat!(
                        "INSERT INTO chat_spaces (id, org_id, name, description, endpoint_slug, widget_config, \
                         ai_config, retrieval_config, allowed_origins, created_at, updated_at) \
                         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10 \
                         WHERE CAST($11 AS BIGINT) IS NULL OR (SELECT COUNT(*) FROM chat_spaces WHERE org_id = $2) < $11 RETURNING ",
                        $crate::chat_space_columns!()
                    ))
                    .bind(ChatSpaceId::generate().0)
                    .bind(org.0)
                    .bind(&space.name)
                    .bind(&space.description)
                    .bind(&space.endpoint_slug)
                    .bind(Json(&space.widget_config))
                    .bind(Json(&space.ai_config))
                    .bind(Json(&space.retrieval_config))
                    .bind(Json(&space.allowed_origins))
                    .bind(now)
                    .bind(limit.map(|l| l as i64))
                    .fetch_optional(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    row.ok_or(StoreError::LimitReached {
                        limit: limit.unwrap_or_default(),
                    })?
                    .into_domain()
                }

                async fn list_chat_spaces(
                    &self,
                    org: OrgId,
                    page: Page<ChatSpaceId>,
                ) -> Result<Vec<ChatSpace>> {
                    let rows: Vec<ChatSpaceRow> = sqlx::query_as(concat!(
                        "SELECT ",
                        $crate::chat_space_columns!(),
                        " FROM chat_spaces WHERE org_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
                    ))
                    .bind(org.0)
                    .bind(page.cursor.map(|c| c.0))
                    .bind(i64::from(page.limit))
                    .fetch_all(&self.pool)
                    .await?;
                    all(rows, ChatSpaceRow::into_domain)
                }

                async fn count_chat_spaces(&self, org: OrgId) -> Result<u64> {
                    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM chat_spaces WHERE org_id = $1")
                        .bind(org.0)
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(n.unsigned_abs())
                }

                async fn find_chat_space(&self, org: OrgId, id: ChatSpaceId) -> Result<Option<ChatSpace>> {
                    let row: Option<ChatSpaceRow> = sqlx::query_as(concat!(
                        "SELECT ",
                        $crate::chat_space_columns!(),
                        " FROM chat_spaces WHERE org_id = $1 AND id = $2"
                    ))
                    .bind(org.0)
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(ChatSpaceRow::into_domain).transpose()
                }

                async fn find_chat_space_by_slug(&self, slug: &str) -> Result<Option<ChatSpace>> {
                    let row: Option<ChatSpaceRow> = sqlx::query_as(concat!(
                        "SELECT ",
                        $crate::chat_space_columns!(),
                        " FROM chat_spaces WHERE endpoint_slug = $1"
                    ))
                    .bind(slug)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(ChatSpaceRow::into_domain).transpose()
                }

                async fn busiest_published_chat_spaces(&self, limit: u32) -> Result<Vec<(OrgId, ChatSpaceId)>> {
                    let rows: Vec<(uuid::Uuid, uuid::Uuid)> = sqlx::query_as(
                        "SELECT org_id, id FROM chat_spaces WHERE status = 'published' \
                         ORDER BY message_count DESC, id LIMIT $1",
                    )
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows
                        .into_iter()
                        .map(|(org, id)| (OrgId(org), ChatSpaceId(id)))
                        .collect())
                }

                async fn update_chat_space(
                    &self,
                    org: OrgId,
                    id: ChatSpaceId,
                    patch: ChatSpacePatch,
                ) -> Result<Option<ChatSpace>> {
                    let row: Option<ChatSpaceRow> = sqlx::query_as(concat!(
                        "UPDATE chat_spaces SET name = COALESCE($3, name), description = COALESCE($4, description), \
                         endpoint_slug = COALESCE($5, endpoint_slug), widget_config = COALESCE($6, widget_config), \
                         ai_config = COALESCE($7, ai_config), retrieval_config = COALESCE($8, retrieval_config), \
                         allowed_origins = COALESCE($9, allowed_origins), answer_mode = COALESCE($10, answer_mode), \
                         webhook_url = CASE WHEN $11 THEN $12 ELSE webhook_url END, updated_at = $13, \
                         retention_days = CASE WHEN $14 THEN $15 ELSE retention_days END \
                         WHERE org_id = $1 AND id = $2 RETURNING ",
                        $crate::chat_space_columns!()
                    ))
                    .bind(org.0)
                    .bind(id.0)
                    .bind(&patch.name)
                    .bind(&patch.description)
                    .bind(&patch.endpoint_slug)
                    .bind(patch.widget_config.as_ref().map(Json))
                    .bind(patch.ai_config.as_ref().map(Json))
                    .bind(patch.retrieval_config.as_ref().map(Json))
                    .bind(patch.allowed_origins.as_ref().map(Json))
                    .bind(patch.answer_mode.map(AnswerMode::as_str))
                    .bind(patch.webhook_url.is_some())
                    .bind(patch.webhook_url.flatten())
                    .bind(Utc::now())
                    .bind(patch.retention_days.is_some())
                    .bind(patch.retention_days.flatten())
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(ChatSpaceRow::into_domain).transpose()
                }

                async fn set_chat_space_status(
                    &self,
                    org: OrgId,
                    id: ChatSpaceId,
                    status: ChatSpaceStatus,
                    at: DateTime<Utc>,
                ) -> Result<Option<ChatSpace>> {
                    let row: Option<ChatSpaceRow> = sqlx::query_as(concat!(
                        "UPDATE chat_spaces SET status = $3, updated_at = $4, \
                         published_at = CASE WHEN $3 = 'published' THEN $4 ELSE published_at END \
                         WHERE org_id = $1 AND id = $2 RETURNING ",
                        $crate::chat_space_columns!()
                    ))
                    .bind(org.0)
                    .bind(id.0)
                    .bind(status.as_str())
                    .bind(at)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(ChatSpaceRow::into_domain).transpose()
                }

                async fn delete_chat_space(&self, org: OrgId, id: ChatSpaceId) -> Result<bool> {
                    let done = sqlx::query("DELETE FROM chat_spaces WHERE org_id = $1 AND id = $2")
                        .bind(org.0)
                        .bind(id.0)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn rotate_identity_secret(
                    &self,
                    org: OrgId,
                    id: ChatSpaceId,
                    secret: &str,
                    previous_until: DateTime<Utc>,
                    at: DateTime<Utc>,
                ) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO identity_secrets (chat_space_id, org_id, secret, previous_secret, previous_secret_expires_at, rotated_at) \
                         VALUES ($1, $2, $3, NULL, NULL, $5) \
                         ON CONFLICT (chat_space_id) DO UPDATE SET previous_secret = identity_secrets.secret, \
                         previous_secret_expires_at = $4, secret = excluded.secret, rotated_at = excluded.rotated_at",
                    )
                    .bind(id.0)
                    .bind(org.0)
                    .bind(secret)
                    .bind(previous_until)
                    .bind(at)
                    .execute(self.writer().await?.connection())
                    .await?;
                    Ok(())
                }

                async fn identity_secrets(
                    &self,
                    org: OrgId,
                    id: ChatSpaceId,
                ) -> Result<Option<(SigningSecrets, DateTime<Utc>)>> {
                    let row: Option<(String, Option<String>, Option<DateTime<Utc>>, DateTime<Utc>)> = sqlx::query_as(
                        "SELECT secret, previous_secret, previous_secret_expires_at, rotated_at FROM identity_secrets \
                         WHERE org_id = $1 AND chat_space_id = $2",
                    )
                    .bind(org.0)
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await?;
                    Ok(row.map(|(current, previous, until, rotated)| {
                        (SigningSecrets::new(current, previous, until), rotated)
                    }))
                }

                async fn set_webhook_auth(
                    &self,
                    org: OrgId,
                    id: ChatSpaceId,
                    auth: Option<&BasicAuth>,
                    at: DateTime<Utc>,
                ) -> Result<()> {
                    let mut writer = self.writer().await?;
                    match auth {
                        Some(auth) => sqlx::query(
                            "INSERT INTO answer_webhook_auth (chat_space_id, org_id, username, password, updated_at) \
                             SELECT id, org_id, $3, $4, $5 FROM chat_spaces WHERE org_id = $1 AND id = $2 \
                             ON CONFLICT (chat_space_id) DO UPDATE SET username = excluded.username, \
                             password = excluded.password, updated_at = excluded.updated_at",
                        )
                        .bind(org.0)
                        .bind(id.0)
                        .bind(&auth.username)
                        .bind(auth.password.expose())
                        .bind(at),
                        None => sqlx::query(
                            "DELETE FROM answer_webhook_auth WHERE org_id = $1 AND chat_space_id = $2",
                        )
                        .bind(org.0)
                        .bind(id.0),
                    }
                    .execute(writer.connection())
                    .await?;
                    Ok(())
                }

                async fn webhook_auth(&self, org: OrgId, id: ChatSpaceId) -> Result<Option<BasicAuth>> {
                    let row: Option<(String, String)> = sqlx::query_as(
                        "SELECT username, password FROM answer_webhook_auth \
                         WHERE org_id = $1 AND chat_space_id = $2",
                    )
                    .bind(org.0)
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await?;
                    Ok(row.map(|(username, password)| BasicAuth::new(username, password)))
                }
            }
        };
    };
}
