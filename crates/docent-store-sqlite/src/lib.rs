//! The embedded SQLite backend: one file in the data directory, WAL mode, migrations run at
//! start-up. Its twin is `docent-store-postgres`; keep their queries side by side in spirit.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use docent_store::*;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqlitePool};

mod answers;
mod direct;
mod knowledge;
mod vectors;

/// Migrations in order, of the same names as the PostgreSQL backend's.
pub const MIGRATIONS: &[(i64, &str, &str)] = docent_store::migrations!();

#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    vectors: std::sync::Arc<vectors::VectorIndex>,
    text: std::sync::Arc<docent_store::text_index::TextIndexes>,
    /// Taken for every write transaction: this process's writers queue here in order,
    /// instead of meeting at SQLite's lock, whose busy handler sleeps in millisecond steps.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// One process owns the embedded database: its hub broadcasts in process.
    hub: std::sync::Arc<docent_store::hub::LocalHub>,
    /// The answer path's statements, on connections of its own (see `direct`).
    direct: std::sync::Arc<direct::Direct>,
    /// A test store's directory, removed when the last clone of the store is dropped.
    #[cfg(feature = "testing")]
    scratch: Option<std::sync::Arc<Scratch>>,
}

/// A directory removed when dropped.
#[cfg(feature = "testing")]
#[derive(Debug)]
struct Scratch(std::path::PathBuf);

#[cfg(feature = "testing")]
impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// The process's writer turn and a connection, held until dropped (see
/// [`SqliteStore::writer`]).
pub(crate) struct Writer {
    _turn: tokio::sync::OwnedMutexGuard<()>,
    conn: sqlx::pool::PoolConnection<sqlx::Sqlite>,
}

impl Writer {
    /// Begins a write transaction that takes SQLite's write lock at once. A deferred one
    /// (sqlx's `begin`) reads first and asks for the lock at its first write; when another
    /// connection has committed in between, SQLite refuses it at once with "database is locked"
    /// (SQLITE_BUSY_SNAPSHOT), without waiting: 4 of 400 documents failed so with two workers
    /// and eight uploading clients. Taken immediately, the lock is waited for (busy timeout).
    pub(crate) async fn begin(&mut self) -> Result<sqlx::Transaction<'_, sqlx::Sqlite>> {
        Ok(sqlx::Connection::begin_with(&mut *self.conn, "BEGIN IMMEDIATE").await?)
    }

    /// The connection, for a single statement outside a transaction.
    pub(crate) fn connection(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }
}

impl SqliteStore {
    /// Opens (creating when missing) `docent.db` in `dir`.
    pub async fn open_dir(dir: &Path, max_connections: u32) -> Result<SqliteStore> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        let options = SqliteConnectOptions::new().filename(dir.join("docent.db"));
        Self::open(options, max_connections).await
    }

    /// Opens a `sqlite:` URL.
    pub async fn open_url(url: &str, max_connections: u32) -> Result<SqliteStore> {
        Self::open(SqliteConnectOptions::from_str(url)?, max_connections).await
    }

    async fn open(options: SqliteConnectOptions, max_connections: u32) -> Result<SqliteStore> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let path = options.get_filename().to_owned();
        if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
            return Err(StoreError::Engine(
                "Docent's SQLite database must be a file, not in memory".into(),
            ));
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .min_connections(1)
            .connect_with(options)
            .await?;
        let writer: std::sync::Arc<tokio::sync::Mutex<()>> = Default::default();
        // The pool has created the file and set it to write-ahead logging.
        let direct = direct::Direct::open(&path, writer.clone())?;
        Ok(SqliteStore {
            pool,
            vectors: Default::default(),
            text: Default::default(),
            writer,
            hub: Default::default(),
            direct: std::sync::Arc::new(direct),
            #[cfg(feature = "testing")]
            scratch: None,
        })
    }

    /// A connection for writing and the process's writer turn, held until dropped.
    pub(crate) async fn writer(&self) -> Result<Writer> {
        // The connection first: a writer must not hold the turn while it waits for one.
        let conn = self.pool.acquire().await?;
        let turn = self.writer.clone().lock_owned().await;
        Ok(Writer { _turn: turn, conn })
    }

    /// Nothing to take: a write transaction here ([`Writer::begin`]) holds SQLite's one write
    /// lock already, so a count and the insert it allows cannot interleave with another's.
    pub(crate) async fn limit_lock(_: &mut SqliteConnection, _: &str, _: uuid::Uuid) -> Result<()> {
        Ok(())
    }

    /// Applies the migrations not yet applied; returns how many ran.
    pub async fn migrate(&self) -> Result<usize> {
        let mut conn = self.pool.acquire().await?;
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
        )
        .execute(&mut *conn)
        .await?;
        let ran = Self::apply_migrations(&mut conn, MIGRATIONS).await?;
        if ran > 0 {
            // A migration may edit the schema's text (0009): a new schema version makes
            // every connection read it again.
            let (version,): (i64,) = sqlx::query_as("PRAGMA schema_version")
                .fetch_one(&mut *conn)
                .await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "PRAGMA schema_version = {}",
                version + 1
            )))
            .execute(&mut *conn)
            .await?;
        }
        Ok(ran)
    }
}

// The statements both backends share, one macro an area (see `docent_store::sql`).
docent_store::accounts_sql!(SqliteStore, sqlx::Sqlite);
docent_store::orgs_sql!(SqliteStore, sqlx::Sqlite);
docent_store::api_keys_sql!(SqliteStore, sqlx::Sqlite);
docent_store::chat_spaces_sql!(SqliteStore, sqlx::Sqlite);
docent_store::outbox_sql!(SqliteStore, sqlx::Sqlite);
docent_store::webhooks_sql!(SqliteStore, sqlx::Sqlite);
docent_store::leads_sql!(SqliteStore, sqlx::Sqlite);
docent_store::insights_sql!(SqliteStore, sqlx::Sqlite);
docent_store::handover_sql!(SqliteStore, sqlx::Sqlite);
// SQLite runs one writer at a time, so a single `UPDATE ... RETURNING` claims a job for one
// worker only.
docent_store::jobs_sql!(SqliteStore, sqlx::Sqlite, claim_lock = "");

docent_store::store_sql!(
    SqliteStore,
    sqlx::Sqlite,
    backend = "sqlite",
    begin = "BEGIN IMMEDIATE"
);

#[cfg(feature = "testing")]
impl SqliteStore {
    /// The tables with a row holding `needle` in any column read as text: for tests that
    /// check what erasing a visitor leaves behind.
    pub async fn tables_mentioning(&self, needle: &str) -> Vec<String> {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await
        .expect("tables");
        let mut found = Vec::new();
        for table in tables {
            let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
                .bind(&table)
                .fetch_all(&self.pool)
                .await
                .expect("columns");
            let any = columns
                .iter()
                .map(|c| format!("instr(CAST(\"{c}\" AS TEXT), $1) > 0"))
                .collect::<Vec<_>>()
                .join(" OR ");
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM \"{table}\" WHERE {any}"
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

/// A fresh, migrated store in a new temporary directory, for tests; the directory goes
/// when the last clone of the store does.
#[cfg(feature = "testing")]
pub async fn fresh_test_store() -> SqliteStore {
    let dir = std::env::temp_dir().join(format!("docent-test-{}", uuid::Uuid::now_v7()));
    let mut store = SqliteStore::open_dir(&dir, 4)
        .await
        .expect("open a SQLite test store");
    store.scratch = Some(std::sync::Arc::new(Scratch(dir)));
    store
        .migrate()
        .await
        .expect("migrate the SQLite test store");
    store
}
