//! Leads: the statements both backends run (see [`crate::sql`]). Custom fields are a JSON
//! object in a text column, read and written as text so that both engines treat it alike.

/// Expands, in a backend, its `impl` of this area's store trait.
#[macro_export]
#[doc(hidden)]
macro_rules! leads_sql {
    ($store:ident, $db:ty) => {
        const _: () = {
            use $crate::LeadStore;
            use $crate::sql::__support::*;

            #[derive(sqlx::FromRow)]
            struct LeadRow {
                id: Uuid,
                org_id: Uuid,
                chat_space_id: Uuid,
                conversation_id: Option<Uuid>,
                visitor_id: String,
                name: Option<String>,
                email: Option<String>,
                phone: Option<String>,
                company: Option<String>,
                fields: String,
                consent: bool,
                consent_text: Option<String>,
                page_url: Option<String>,
                created_at: DateTime<Utc>,
                updated_at: DateTime<Utc>,
            }

            impl LeadRow {
                fn into_domain(self) -> Result<Lead> {
                    Ok(Lead {
                        id: LeadId(self.id),
                        org_id: OrgId(self.org_id),
                        chat_space_id: ChatSpaceId(self.chat_space_id),
                        conversation_id: self.conversation_id.map(ConversationId),
                        verified: self.visitor_id.starts_with("v:"),
                        visitor_id: self.visitor_id,
                        name: self.name,
                        email: self.email,
                        phone: self.phone,
                        company: self.company,
                        fields: serde_json::from_str(&self.fields)
                            .map_err(|e| StoreError::Corrupt(format!("lead fields: {e}")))?,
                        consent: self.consent,
                        consent_text: self.consent_text,
                        page_url: self.page_url,
                        created_at: self.created_at,
                        updated_at: self.updated_at,
                    })
                }
            }

            const LEAD_COLUMNS: &str = "id, org_id, chat_space_id, conversation_id, visitor_id, name, email, \
                phone, company, fields, consent, consent_text, page_url, created_at, updated_at";

            /// `text` as a LIKE pattern that matches it anywhere, its wildcards escaped.
            fn containing(text: &str) -> String {
                let escaped = text
                    .to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                format!("%{escaped}%")
            }

            #[async_trait]
            impl LeadStore for $store {
                async fn save_lead(&self, l: &Lead) -> Result<(Lead, bool)> {
                    let fields = serde_json::to_string(&l.fields)
                        .map_err(|e| StoreError::Corrupt(format!("lead fields: {e}")))?;
                    let row: LeadRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO leads ({LEAD_COLUMNS}) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
                         ON CONFLICT (chat_space_id, visitor_id) DO UPDATE SET \
                         conversation_id = COALESCE(excluded.conversation_id, leads.conversation_id), \
                         name = excluded.name, email = excluded.email, phone = excluded.phone, \
                         company = excluded.company, fields = excluded.fields, consent = excluded.consent, \
                         consent_text = excluded.consent_text, \
                         page_url = COALESCE(excluded.page_url, leads.page_url), updated_at = excluded.updated_at \
                         RETURNING {LEAD_COLUMNS}"
                    )))
                    .bind(l.id.0)
                    .bind(l.org_id.0)
                    .bind(l.chat_space_id.0)
                    .bind(l.conversation_id.map(|c| c.0))
                    .bind(&l.visitor_id)
                    .bind(&l.name)
                    .bind(&l.email)
                    .bind(&l.phone)
                    .bind(&l.company)
                    .bind(fields)
                    .bind(l.consent)
                    .bind(&l.consent_text)
                    .bind(&l.page_url)
                    .bind(l.updated_at)
                    .fetch_one(self.writer().await?.connection())
                    .await?;
                    let created = row.id == l.id.0;
                    Ok((row.into_domain()?, created))
                }

                async fn leads(
                    &self,
                    org: OrgId,
                    chat_space: ChatSpaceId,
                    q: Option<&str>,
                    page: Page<LeadId>,
                ) -> Result<Vec<Lead>> {
                    let rows: Vec<LeadRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {LEAD_COLUMNS} FROM leads WHERE org_id = $1 AND chat_space_id = $2 \
                         AND ($3 IS NULL OR id < $3) \
                         AND ($4 IS NULL OR LOWER(COALESCE(name, '')) LIKE $4 ESCAPE '\\' \
                           OR LOWER(COALESCE(email, '')) LIKE $4 ESCAPE '\\' \
                           OR LOWER(COALESCE(phone, '')) LIKE $4 ESCAPE '\\' \
                           OR LOWER(COALESCE(company, '')) LIKE $4 ESCAPE '\\') \
                         ORDER BY id DESC LIMIT $5"
                    )))
                    .bind(org.0)
                    .bind(chat_space.0)
                    .bind(page.cursor.map(|c| c.0))
                    .bind(q.map(containing))
                    .bind(i64::from(page.limit))
                    .fetch_all(&self.pool)
                    .await?;
                    all(rows, LeadRow::into_domain)
                }

                async fn visitor_lead(
                    &self,
                    org: OrgId,
                    chat_space: ChatSpaceId,
                    visitor_id: &str,
                ) -> Result<Option<Lead>> {
                    let row: Option<LeadRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {LEAD_COLUMNS} FROM leads WHERE org_id = $1 AND chat_space_id = $2 AND visitor_id = $3"
                    )))
                    .bind(org.0)
                    .bind(chat_space.0)
                    .bind(visitor_id)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(LeadRow::into_domain).transpose()
                }

                async fn erase_leads(&self, org: OrgId, chat_space: ChatSpaceId, key: &str) -> Result<u64> {
                    let done = sqlx::query(
                        "DELETE FROM leads WHERE org_id = $1 AND chat_space_id = $2 AND (visitor_id = $3 OR email = $4)",
                    )
                    .bind(org.0)
                    .bind(chat_space.0)
                    .bind(key)
                    .bind(key.to_lowercase())
                    .execute(self.writer().await?.connection())
                    .await?;
                    Ok(done.rows_affected())
                }

                async fn visitors_with_email(
                    &self,
                    org: OrgId,
                    chat_space: ChatSpaceId,
                    email: &str,
                ) -> Result<Vec<String>> {
                    let ids: Vec<String> = sqlx::query_scalar(
                        "SELECT visitor_id FROM leads WHERE org_id = $1 AND chat_space_id = $2 AND email = $3 \
                         UNION SELECT visitor_id FROM conversations WHERE org_id = $1 AND chat_space_id = $2 \
                         AND end_user_email = $3 AND visitor_id IS NOT NULL \
                         ORDER BY 1",
                    )
                    .bind(org.0)
                    .bind(chat_space.0)
                    .bind(email)
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(ids)
                }
            }
        };
    };
}
