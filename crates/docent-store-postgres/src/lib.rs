//! The PostgreSQL backend for scale-out: pgvector and full-text search live here, and many
//! `docent` replicas share it. Its twin is `docent-store-sqlite`; keep their queries alike.

use std::time::Duration;

use async_trait::async_trait;
use docent_store::*;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

mod answers;
pub mod hub;
mod knowledge;

/// Migrations in order, of the same names as the SQLite backend's.
pub const MIGRATIONS: &[(i64, &str, &str)] = docent_store::migrations!();

/// Key of the advisory lock that serialises migrations across replicas starting together.
const MIGRATION_LOCK: i64 = 0x646f_6365_6e74; // "docent"

#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
    text: std::sync::Arc<docent_store::text_index::TextIndexes>,
    hub: hub::SharedHub,
}

/// A pooled connection to write on (see [`PostgresStore::writer`]).
pub(crate) struct Writer(sqlx::pool::PoolConnection<sqlx::Postgres>);

impl Writer {
    pub(crate) async fn begin(&mut self) -> Result<sqlx::Transaction<'_, sqlx::Postgres>> {
        Ok(sqlx::Connection::begin(&mut *self.0).await?)
    }

    /// The connection, for a single statement outside a transaction.
    pub(crate) fn connection(&mut self) -> &mut PgConnection {
        &mut self.0
    }
}

impl PostgresStore {
    /// A connection for writing (SQLite's twin also queues its process's writers).
    pub(crate) async fn writer(&self) -> Result<Writer> {
        Ok(Writer(self.pool.acquire().await?))
    }

    /// Serializes, inside a transaction, the check-and-insert of rows counted against a plan
    /// limit (`what` of `owner`): two transactions counting at once under READ COMMITTED would
    /// both see room. The lock ends with the transaction.
    pub(crate) async fn limit_lock(
        conn: &mut sqlx::PgConnection,
        what: &str,
        owner: Uuid,
    ) -> Result<()> {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("docent-limit:{what}:{owner}"))
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Connects to a `postgres://` URL.
    pub async fn connect(url: &str, max_connections: u32) -> Result<PostgresStore> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        Ok(PostgresStore {
            hub: std::sync::Arc::new(hub::PgHub::new(pool.clone())),
            pool,
            text: Default::default(),
        })
    }

    /// `VACUUM ANALYZE` of the chunks, as autovacuum does in its own time: benchmarks call
    /// it after a bulk load (and the deletions of earlier runs) to measure the steady state.
    pub async fn vacuum_chunks(&self) -> Result<()> {
        sqlx::raw_sql("VACUUM ANALYZE document_chunks, documents")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Applies the migrations not yet applied; returns how many ran. An advisory lock keeps
    /// replicas starting together from applying one twice.
    pub async fn migrate(&self) -> Result<usize> {
        let mut conn = self.pool.acquire().await?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await?;
        let result = self.migrate_locked(&mut conn).await;
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await?;
        result
    }

    async fn migrate_locked(&self, conn: &mut PgConnection) -> Result<usize> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)",
        )
        .execute(&mut *conn)
        .await?;
        Self::apply_migrations(conn, MIGRATIONS).await
    }
}

// The statements both backends share, one macro an area (see `docent_store::sql`).
docent_store::accounts_sql!(PostgresStore, sqlx::Postgres);
docent_store::orgs_sql!(PostgresStore, sqlx::Postgres);
docent_store::api_keys_sql!(PostgresStore, sqlx::Postgres);
docent_store::chat_spaces_sql!(PostgresStore, sqlx::Postgres);
docent_store::outbox_sql!(PostgresStore, sqlx::Postgres);
docent_store::webhooks_sql!(PostgresStore, sqlx::Postgres);
docent_store::leads_sql!(PostgresStore, sqlx::Postgres);
docent_store::insights_sql!(PostgresStore, sqlx::Postgres);
docent_store::handover_sql!(PostgresStore, sqlx::Postgres);
// Workers on every instance claim with `FOR UPDATE SKIP LOCKED`, so two never take one job
// and none waits for another's row.
docent_store::jobs_sql!(
    PostgresStore,
    sqlx::Postgres,
    claim_lock = " FOR UPDATE SKIP LOCKED"
);

docent_store::store_sql!(
    PostgresStore,
    sqlx::Postgres,
    backend = "postgres",
    begin = "BEGIN"
);

/// The `application_name` of [`PostgresStore::another_replica`]'s connections, so that a
/// test can find (and end) them.
#[cfg(feature = "testing")]
pub const ANOTHER_REPLICA: &str = "docent-another-replica";

#[cfg(feature = "testing")]
impl PostgresStore {
    /// Ends every connection of this database's other replicas (their pools' and hubs'), as
    /// a network cut or a restart of the database would; returns how many. They reconnect
    /// by themselves.
    pub async fn end_other_replica_connections(&self) -> u64 {
        let (ended,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = $1",
        )
        .bind(ANOTHER_REPLICA)
        .fetch_one(&self.pool)
        .await
        .expect("end the other replica's connections");
        u64::try_from(ended).unwrap_or_default()
    }

    /// Another replica's store on the same database: a pool, indexes and hub of its own.
    pub async fn another_replica(&self) -> PostgresStore {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(
                (*self.pool.connect_options())
                    .clone()
                    .application_name(ANOTHER_REPLICA),
            )
            .await
            .expect("connect a second replica");
        PostgresStore {
            hub: std::sync::Arc::new(hub::PgHub::new(pool.clone())),
            pool,
            text: Default::default(),
        }
    }
}

#[cfg(feature = "testing")]
impl PostgresStore {
    /// The tables with a row holding `needle` in any column read as text: for tests that
    /// check what erasing a visitor leaves behind.
    pub async fn tables_mentioning(&self, needle: &str) -> Vec<String> {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
        )
        .fetch_all(&self.pool)
        .await
        .expect("tables");
        let mut found = Vec::new();
        for table in tables {
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM \"{table}\" t WHERE strpos(t::text, $1) > 0"
            )))
            .bind(needle)
            .fetch_one(&self.pool)
            .await
            .expect("count");
            if n > 0 {
                found.push(table);
            }
        }
        found
    }
}

/// Creates a new, empty database named `{prefix}_{uuid}` on the server of `admin_url` (a
/// URL ending in `/DATABASE` whose user may create databases) and returns its URL and name:
/// a scratch database for tests and benchmarks, dropped with [`drop_database`].
pub async fn create_database(admin_url: &str, prefix: &str) -> Result<(String, String)> {
    use sqlx::Connection;
    let name = format!("{prefix}_{}", Uuid::now_v7().simple());
    let (base, _) = admin_url
        .rsplit_once('/')
        .ok_or_else(|| StoreError::Engine("a PostgreSQL URL ends in /DATABASE".into()))?;
    let mut admin = PgConnection::connect(admin_url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    admin.close().await.ok();
    Ok((format!("{base}/{name}"), name))
}

/// Drops a database [`create_database`] made, closing what is still connected to it.
pub async fn drop_database(admin_url: &str, name: &str) -> Result<()> {
    use sqlx::Connection;
    let mut admin = PgConnection::connect(admin_url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    admin.close().await.ok();
    Ok(())
}

/// A fresh, migrated store in a new database on the server named by
/// `DOCENT_TEST_DATABASE_URL`, for tests; `None` when that is unset (the tests then skip),
/// unless `DOCENT_REQUIRE_POSTGRES` is set, which makes a missing server a failure.
#[cfg(feature = "testing")]
pub async fn fresh_test_store() -> Option<PostgresStore> {
    let Ok(admin_url) = std::env::var("DOCENT_TEST_DATABASE_URL") else {
        assert!(
            std::env::var("DOCENT_REQUIRE_POSTGRES").is_err(),
            "DOCENT_REQUIRE_POSTGRES is set but DOCENT_TEST_DATABASE_URL is not"
        );
        return None;
    };
    let (url, _) = create_database(&admin_url, "docent_test")
        .await
        .expect("create a test database on DOCENT_TEST_DATABASE_URL");
    let store = PostgresStore::connect(&url, 4)
        .await
        .expect("connect to the test database");
    store.migrate().await.expect("migrate the test database");
    Some(store)
}
