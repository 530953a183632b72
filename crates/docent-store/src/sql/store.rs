//! What a backend is, whether it answers, and its migrations: the statements both backends
//! run (see [`crate::sql`]).

/// A backend's migrations in order, read from its own `migrations/` folder: both backends
/// have one file of each name (a missing one does not compile).
#[macro_export]
#[doc(hidden)]
macro_rules! migrations {
    () => {
        $crate::migrations!(
            1 "foundation" "0001_foundation.sql",
            2 "knowledge" "0002_knowledge.sql",
            3 "sites" "0003_sites.sql",
            4 "answers" "0004_answers.sql",
            5 "vector_index" "0005_vector_index.sql",
            6 "counters" "0006_counters.sql",
            7 "text_index" "0007_text_index.sql",
            8 "jobs" "0008_jobs.sql",
            9 "questions" "0009_questions.sql",
            10 "conversation_pages" "0010_conversation_pages.sql",
            11 "analytics" "0011_analytics.sql",
            12 "question_groups" "0012_question_groups.sql",
            13 "privacy" "0013_privacy.sql",
            14 "message_search" "0014_message_search.sql",
            15 "client_access" "0015_client_access.sql",
            16 "handover" "0016_handover.sql",
            17 "presence" "0017_presence.sql",
            18 "webhooks" "0018_webhooks.sql",
            19 "leads" "0019_leads.sql",
            20 "answer_webhooks" "0020_answer_webhooks.sql",
            21 "identity" "0021_identity.sql",
            22 "throttle" "0022_throttle.sql",
            23 "answer_webhook_auth" "0023_answer_webhook_auth.sql",
        )
    };
    ($($version:literal $name:literal $file:literal,)*) => {
        &[$(($version, $name, include_str!(concat!("../migrations/", $file)))),*]
    };
}

/// Expands, in a backend, its `impl Store` and `apply_migrations`, which applies each
/// migration not yet recorded in `schema_migrations` in a transaction of its own, begun
/// with `begin` (SQLite: `BEGIN IMMEDIATE`, so that two processes starting together cannot
/// both apply one).
#[macro_export]
#[doc(hidden)]
macro_rules! store_sql {
    ($store:ident, $db:ty, backend = $backend:literal, begin = $begin:literal) => {
        const _: () = {
            use $crate::sql::__support::*;

            #[async_trait]
            impl $crate::Store for $store {
                fn backend(&self) -> &'static str {
                    $backend
                }

                fn hub(&self) -> std::sync::Arc<dyn $crate::hub::Hub> {
                    self.hub.clone()
                }

                async fn ping(&self) -> Result<()> {
                    sqlx::query("SELECT 1").execute(&self.pool).await?;
                    Ok(())
                }

                fn pool_stats(&self) -> $crate::PoolStats {
                    $crate::PoolStats {
                        size: self.pool.size(),
                        idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
                    }
                }
            }

            impl $store {
                /// Applies the `(version, name, sql)` not yet applied, in order, on `conn`
                /// (whose `schema_migrations` table exists); returns how many ran.
                async fn apply_migrations(
                    conn: &mut <$db as sqlx::Database>::Connection,
                    migrations: &[(i64, &str, &str)],
                ) -> Result<usize> {
                    let mut ran = 0;
                    for &(version, name, sql) in migrations {
                        sqlx::raw_sql($begin).execute(&mut *conn).await?;
                        let done: Option<i64> = sqlx::query_scalar(
                            "SELECT version FROM schema_migrations WHERE version = $1",
                        )
                        .bind(version)
                        .fetch_optional(&mut *conn)
                        .await?;
                        if done.is_some() {
                            sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
                            continue;
                        }
                        match Self::apply_migration(conn, version, name, sql).await {
                            Ok(()) => {
                                sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
                                tracing::info!(version, name, "applied migration");
                                ran += 1;
                            }
                            Err(e) => {
                                sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await.ok();
                                return Err(StoreError::Migration {
                                    version,
                                    message: e.to_string(),
                                });
                            }
                        }
                    }
                    Ok(ran)
                }

                async fn apply_migration(
                    conn: &mut <$db as sqlx::Database>::Connection,
                    version: i64,
                    name: &str,
                    sql: &str,
                ) -> Result<()> {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query(
                        "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    )
                    .bind(version)
                    .bind(name)
                    .bind(Utc::now())
                    .execute(&mut *conn)
                    .await?;
                    Ok(())
                }
            }
        };
    };
}
