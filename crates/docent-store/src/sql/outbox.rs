//! Mail that could not be sent, kept for the platform admin to read: the statements both backends run (see [`crate::sql`]).

/// Expands, in a backend, its `impl` of this area's store trait.
#[macro_export]
#[doc(hidden)]
macro_rules! outbox_sql {
    ($store:ident, $db:ty) => {
        const _: () = {
            use $crate::sql::__support::*;

            #[async_trait]
            impl OutboxStore for $store {
                async fn push_outbox(&self, to_email: &str, subject: &str, body: &str) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO outbox_emails (id, to_email, subject, body, created_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(OutboxId::generate().0)
                    .bind(to_email)
                    .bind(subject)
                    .bind(body)
                    .bind(Utc::now())
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn list_outbox(&self, limit: u32) -> Result<Vec<OutboxEmail>> {
                    let rows: Vec<OutboxRow> = sqlx::query_as(concat!(
                        "SELECT ",
                        $crate::outbox_columns!(),
                        " FROM outbox_emails ORDER BY id DESC LIMIT $1"
                    ))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    all(rows, OutboxRow::into_domain)
                }
            }
        };
    };
}
