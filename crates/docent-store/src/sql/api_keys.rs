//! API keys: an organization's, or one chat space's: the statements both backends run (see [`crate::sql`]).

/// Expands, in a backend, its `impl` of this area's store trait.
#[macro_export]
#[doc(hidden)]
macro_rules! api_keys_sql {
    ($store:ident, $db:ty) => {
        const _: () = {
            use $crate::sql::__support::*;

            #[async_trait]
            impl ApiKeyStore for $store {
                async fn create_api_key(&self, org: OrgId, key: NewApiKey) -> Result<ApiKey> {
                    let row: ApiKeyRow = sqlx::query_as(concat!(
                        "INSERT INTO api_keys (id, org_id, chat_space_id, name, prefix, key_hash, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
                        $crate::api_key_columns!()
                    ))
                    .bind(ApiKeyId::generate().0)
                    .bind(org.0)
                    .bind(key.chat_space_id.map(|c| c.0))
                    .bind(&key.name)
                    .bind(&key.prefix)
                    .bind(&key.key_hash)
                    .bind(Utc::now())
                    .fetch_one(&self.pool)
                    .await?;
                    row.into_domain()
                }

                async fn list_api_keys(
                    &self,
                    org: OrgId,
                    chat_space: Option<ChatSpaceId>,
                ) -> Result<Vec<ApiKey>> {
                    let rows: Vec<ApiKeyRow> = sqlx::query_as(concat!(
                        "SELECT ",
                        $crate::api_key_columns!(),
                        " FROM api_keys WHERE org_id = $1 AND ($2 IS NULL OR chat_space_id = $2) ORDER BY id DESC"
                    ))
                    .bind(org.0)
                    .bind(chat_space.map(|c| c.0))
                    .fetch_all(&self.pool)
                    .await?;
                    all(rows, ApiKeyRow::into_domain)
                }

                async fn revoke_api_key(&self, org: OrgId, id: ApiKeyId, at: DateTime<Utc>) -> Result<bool> {
                    let done = sqlx::query(
                        "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3) WHERE org_id = $1 AND id = $2",
                    )
                    .bind(org.0)
                    .bind(id.0)
                    .bind(at)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn find_api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>> {
                    let row: Option<ApiKeyRow> = sqlx::query_as(concat!(
                        "SELECT ",
                        $crate::api_key_columns!(),
                        " FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"
                    ))
                    .bind(key_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(ApiKeyRow::into_domain).transpose()
                }

                async fn touch_api_key(&self, id: ApiKeyId, at: DateTime<Utc>) -> Result<()> {
                    sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
                        .bind(id.0)
                        .bind(at)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }
            }
        };
    };
}
