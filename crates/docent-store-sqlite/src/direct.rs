//! The statements of every answer, run on SQLite without sqlx's worker threads.
//!
//! sqlx gives each SQLite connection a thread and hands every statement and every row to it
//! and back through channels: on two cores that hand-over (thread wake-ups, 15–55 µs a
//! statement) cost more than the statements themselves, and each message's write was a commit
//! of its own. Here reads run where they are asked, on a connection taken from a small stack
//! (a read of a few rows takes tens of microseconds, well inside what an async task may hold
//! its thread for), and writes go to one writer thread that commits everything waiting in one
//! transaction, each write inside a savepoint of its own so that one failing leaves the
//! others. Both open the same file as the sqlx pool and write the same encodings as sqlx
//! (UUIDs as 16-byte blobs, times as RFC 3339 text, JSON as text), so either may read what the
//! other wrote.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, SecondsFormat, Utc};
use docent_store::rows::{ChunkHitRow, ChunkRow, ConversationRow, MessageRow};
use docent_store::{Result, StoreError};
use rusqlite::{Connection, OpenFlags, Row};
use sqlx::types::Json;

/// Writes waiting when the writer thread wakes are committed together, up to this many.
const BATCH: usize = 64;

/// A write: runs its statements on the writer's connection and says whether they succeeded;
/// what it returns is told the outcome of the commit.
type Job = Box<dyn FnOnce(&Connection) -> (bool, Finish) + Send>;
type Finish = Box<dyn FnOnce(std::result::Result<(), String>) + Send>;

#[derive(Debug)]
pub(crate) struct Direct {
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
    writes: mpsc::Sender<Job>,
}

impl Direct {
    /// Opens connections to the database file at `path` (created and migrated by the sqlx
    /// pool); the writer thread takes `turn`, the process's writer turn, for each commit.
    pub(crate) fn open(path: &Path, turn: Arc<tokio::sync::Mutex<()>>) -> Result<Direct> {
        let writer = connect(path)?;
        let checkpointer = connect(path)?;
        let (writes, queue) = mpsc::channel::<Job>();
        let (nudge, nudged) = mpsc::sync_channel::<()>(1);
        let thread = |name: &str| std::thread::Builder::new().name(name.into());
        let failed = |e| StoreError::Engine(format!("cannot start a database thread: {e}"));
        thread("docent-sqlite-writer")
            .spawn(move || write_loop(writer, queue, turn, nudge))
            .map_err(failed)?;
        thread("docent-sqlite-checkpoint")
            .spawn(move || checkpoint_loop(checkpointer, nudged))
            .map_err(failed)?;
        Ok(Direct {
            path: path.to_owned(),
            readers: Mutex::new(vec![connect(path)?]),
            writes,
        })
    }

    /// Runs `read` on a reading connection, here and now.
    pub(crate) fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let idle = self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => connect(&self.path)?,
        };
        let result = read(&conn).map_err(engine);
        self.readers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conn);
        result
    }

    /// Runs `write` on the writer thread and returns its result once it is committed.
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        write: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tell, told) = tokio::sync::oneshot::channel::<Result<T>>();
        let job: Job = Box::new(move |conn| {
            let result = write(conn);
            let ok = result.is_ok();
            let finish: Finish = Box::new(move |committed| {
                let outcome = match (result, committed) {
                    (Ok(value), Ok(())) => Ok(value),
                    (Err(e), _) => Err(engine(e)),
                    (Ok(_), Err(e)) => Err(StoreError::Engine(e)),
                };
                let _ = tell.send(outcome);
            });
            (ok, finish)
        });
        self.writes
            .send(job)
            .map_err(|_| StoreError::Engine("the database writer has stopped".into()))?;
        told.await.map_err(|_| {
            StoreError::Engine(
                "the write was not committed: the database is busy or stopped".into(),
            )
        })?
    }
}

fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(engine)?;
    conn.execute_batch(
        "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
    )
    .map_err(engine)?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

/// Copies the write-ahead log back into the database when nudged (or each second), on its
/// own connection: a checkpoint in the writer's commit (SQLite's default, every 1,000 pages)
/// held every waiting write for its whole copy. A passive checkpoint waits for no one.
fn checkpoint_loop(conn: Connection, nudged: mpsc::Receiver<()>) {
    loop {
        match nudged.recv_timeout(std::time::Duration::from_secs(1)) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::debug!(error = %e, "checkpoint");
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Commits between nudges of the checkpointer.
const COMMITS_PER_CHECKPOINT: u32 = 32;

fn write_loop(
    conn: Connection,
    queue: mpsc::Receiver<Job>,
    turn: Arc<tokio::sync::Mutex<()>>,
    checkpoint: mpsc::SyncSender<()>,
) {
    let _ = conn.execute_batch("PRAGMA wal_autocheckpoint = 0");
    let mut commits = 0u32;
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        while jobs.len() < BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let _turn = turn.blocking_lock();
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            // Dropped unrun: each waiting writer hears that its write was not committed.
            tracing::warn!(error = %e, writes = jobs.len(), "writes could not begin");
            continue;
        }
        let mut finishes = Vec::with_capacity(jobs.len());
        for job in jobs {
            let _ = conn.execute_batch("SAVEPOINT one");
            // A write that panics is rolled back and its writer told; the others go on.
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&conn)));
            match ran {
                Ok((true, finish)) => finishes.push(finish),
                Ok((false, finish)) => {
                    let _ = conn.execute_batch("ROLLBACK TO one");
                    finishes.push(finish);
                }
                Err(_) => {
                    let _ = conn.execute_batch("ROLLBACK TO one");
                }
            }
            let _ = conn.execute_batch("RELEASE one");
        }
        let committed = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
        if committed.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        commits += 1;
        if commits >= COMMITS_PER_CHECKPOINT {
            commits = 0;
            // Full: a checkpoint is on its way already.
            let _ = checkpoint.try_send(());
        }
        for finish in finishes {
            finish(committed.clone());
        }
    }
}

pub(crate) fn engine(e: rusqlite::Error) -> StoreError {
    StoreError::Engine(e.to_string())
}

/// A time as sqlx writes it.
pub(crate) fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

fn conversion(i: usize, what: &str, found: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        i,
        rusqlite::types::Type::Text,
        format!("not {what}: {found}").into(),
    )
}

pub(crate) fn time(row: &Row, i: usize) -> rusqlite::Result<DateTime<Utc>> {
    let text: String = row.get(i)?;
    parse_time(&text).ok_or_else(|| conversion(i, "a time", &text))
}

pub(crate) fn optional_time(row: &Row, i: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let text: Option<String> = row.get(i)?;
    text.map(|t| parse_time(&t).ok_or_else(|| conversion(i, "a time", &t)))
        .transpose()
}

/// RFC 3339 as sqlx writes it, or SQLite's own `YYYY-MM-DD HH:MM:SS[.fff]` (UTC).
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(text, "%F %T%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(row: &Row, i: usize) -> rusqlite::Result<T> {
    let text: String = row.get(i)?;
    serde_json::from_str(&text).map_err(|e| conversion(i, "JSON", &e.to_string()))
}

pub(crate) fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// A row of `conversation_columns!()`.
pub(crate) fn conversation_row(row: &Row) -> rusqlite::Result<ConversationRow> {
    Ok(ConversationRow {
        id: row.get(0)?,
        org_id: row.get(1)?,
        chat_space_id: row.get(2)?,
        visitor_id: row.get(3)?,
        end_user_email: row.get(4)?,
        end_user_name: row.get(5)?,
        ip: row.get(6)?,
        user_agent: row.get(7)?,
        referrer: row.get(8)?,
        locale: row.get(9)?,
        channel: row.get(10)?,
        status: row.get(11)?,
        assigned_agent_id: row.get(12)?,
        message_count: row.get(13)?,
        last_activity_at: time(row, 14)?,
        created_at: time(row, 15)?,
        closed_at: optional_time(row, 16)?,
    })
}

/// A row of `message_columns!()`.
pub(crate) fn message_row(row: &Row) -> rusqlite::Result<MessageRow> {
    Ok(MessageRow {
        id: row.get(0)?,
        org_id: row.get(1)?,
        chat_space_id: row.get(2)?,
        conversation_id: row.get(3)?,
        role: row.get(4)?,
        content: row.get(5)?,
        model: row.get(6)?,
        tokens_in: row.get(7)?,
        tokens_out: row.get(8)?,
        cost_micro_usd: row.get(9)?,
        processing_time_ms: row.get(10)?,
        context_chunks: Json(json(row, 11)?),
        citations: Json(json(row, 12)?),
        answer_kind: row.get(13)?,
        feedback: row.get(14)?,
        created_at: time(row, 15)?,
        confidence: row.get(16)?,
        author_id: row.get(17)?,
    })
}

/// A row of chunk columns, then the document's title, file name, URL and citable flag.
pub(crate) fn chunk_hit_row(row: &Row) -> rusqlite::Result<ChunkHitRow> {
    Ok(ChunkHitRow {
        chunk: ChunkRow {
            id: row.get(0)?,
            document_id: row.get(1)?,
            chunk_index: row.get(2)?,
            content: row.get(3)?,
            token_count: row.get(4)?,
            metadata: Json(json(row, 5)?),
        },
        document_title: row.get(6)?,
        file_name: row.get(7)?,
        source_url: row.get(8)?,
        citable: row.get(9)?,
        score: 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    async fn scratch() -> (Direct, Arc<tokio::sync::Mutex<()>>) {
        let dir = std::env::temp_dir().join(format!("docent-direct-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("t.db");
        let setup = Connection::open(&path).expect("create");
        setup
            .execute_batch(
                "PRAGMA journal_mode = WAL; \
                 CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, at TEXT);",
            )
            .expect("schema");
        let turn = Arc::new(tokio::sync::Mutex::new(()));
        (Direct::open(&path, turn.clone()).expect("open"), turn)
    }

    /// Writes that wait together commit together, and one that fails leaves no trace while
    /// the others land.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_write_in_a_batch_leaves_the_others() {
        let (direct, turn) = scratch().await;
        let direct = Arc::new(direct);
        // Holding the writer turn makes every write below wait for the same commit.
        let held = turn.lock().await;
        let mut writes = Vec::new();
        for i in 0..20 {
            let direct = direct.clone();
            writes.push(tokio::spawn(async move {
                direct
                    .write(move |conn| {
                        conn.execute("INSERT INTO t (id, name) VALUES (?1, 'x' || ?1)", [i])?;
                        if i == 7 {
                            // Its first row is in; the second breaks the unique name.
                            conn.execute("INSERT INTO t (id, name) VALUES (100, 'x1')", [])?;
                        }
                        Ok(i)
                    })
                    .await
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        drop(held);
        let mut failed = Vec::new();
        for (i, write) in writes.into_iter().enumerate() {
            match write.await.expect("task") {
                Ok(n) => assert_eq!(n, i as i64),
                Err(e) => {
                    assert!(e.to_string().contains("UNIQUE"), "{e}");
                    failed.push(i);
                }
            }
        }
        assert_eq!(failed, vec![7]);
        let ids: Vec<i64> = direct
            .read(|conn| {
                conn.prepare("SELECT id FROM t ORDER BY id")?
                    .query_map([], |row| row.get(0))?
                    .collect()
            })
            .expect("read");
        let expected: Vec<i64> = (0..20).filter(|&i| i != 7).collect();
        assert_eq!(ids, expected);
        std::fs::remove_dir_all(direct.path.parent().expect("dir")).ok();
    }

    /// Times are written as sqlx writes them and read back whichever way they were written.
    #[test]
    fn times_round_trip_in_both_spellings() {
        let at = DateTime::parse_from_rfc3339("2026-11-22T17:25:56.801682Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(time_text(at), "2026-11-22T17:25:56.801682+00:00");
        assert_eq!(parse_time(&time_text(at)), Some(at));
        assert_eq!(parse_time("2026-11-22 17:25:56.801682"), Some(at));
        assert_eq!(parse_time("yesterday"), None);
    }
}
