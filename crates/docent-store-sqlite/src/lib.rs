//! The embedded SQLite backend: one file in the data directory, WAL mode, migrations run at
//! start-up. Its twin is `docent-store-postgres`; keep their queries side by side in spirit.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use docent_core::*;
use docent_store::rows::*;
use docent_store::*;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::types::Json;
use sqlx::{SqliteConnection, SqlitePool};
use uuid::Uuid;

mod answers;
mod direct;
mod jobs;
mod knowledge;
mod vectors;

/// Migrations in order; the PostgreSQL backend has one of the same name for each.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../migrations/0001_foundation.sql"),
    ),
    (
        2,
        "knowledge",
        include_str!("../migrations/0002_knowledge.sql"),
    ),
    (3, "sites", include_str!("../migrations/0003_sites.sql")),
    (4, "answers", include_str!("../migrations/0004_answers.sql")),
    (
        5,
        "vector_index",
        include_str!("../migrations/0005_vector_index.sql"),
    ),
    (
        6,
        "counters",
        include_str!("../migrations/0006_counters.sql"),
    ),
    (
        7,
        "text_index",
        include_str!("../migrations/0007_text_index.sql"),
    ),
    (8, "jobs", include_str!("../migrations/0008_jobs.sql")),
];

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

/// Begins a write transaction that takes SQLite's write lock at once. A deferred one
/// (sqlx's `begin`) reads first and asks for the lock at its first write; when another
/// connection has committed in between, SQLite refuses it at once with "database is locked"
/// (SQLITE_BUSY_SNAPSHOT), without waiting: 4 of 400 documents failed so with two workers
/// and eight uploading clients. Taken immediately, the lock is waited for (busy timeout).
pub(crate) async fn immediate(
    conn: &mut sqlx::pool::PoolConnection<sqlx::Sqlite>,
) -> Result<sqlx::Transaction<'_, sqlx::Sqlite>> {
    Ok(sqlx::Connection::begin_with(&mut **conn, "BEGIN IMMEDIATE").await?)
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

    /// A connection for writing and the process's writer turn, held until dropped. Write
    /// transactions on it begin with [`immediate`].
    async fn write(
        &self,
    ) -> Result<(
        tokio::sync::OwnedMutexGuard<()>,
        sqlx::pool::PoolConnection<sqlx::Sqlite>,
    )> {
        // The connection first: a writer must not hold the turn while it waits for one.
        let conn = self.pool.acquire().await?;
        let turn = self.writer.clone().lock_owned().await;
        Ok((turn, conn))
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
        let mut ran = 0;
        for &(version, name, sql) in MIGRATIONS {
            // BEGIN IMMEDIATE takes the write lock first, so two processes starting together
            // cannot both apply the same migration.
            sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await?;
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = ?1")
                    .bind(version)
                    .fetch_optional(&mut *conn)
                    .await?;
            if done.is_some() {
                sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
                continue;
            }
            let applied = apply(&mut conn, version, name, sql).await;
            match applied {
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
}

async fn apply(conn: &mut SqliteConnection, version: i64, name: &str, sql: &str) -> Result<()> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)")
        .bind(version)
        .bind(name)
        .bind(Utc::now())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn insert_organization(
    conn: &mut SqliteConnection,
    org: &NewOrganization,
    owner: UserId,
    now: DateTime<Utc>,
) -> Result<Organization> {
    let row: OrganizationRow = sqlx::query_as(concat!(
        "INSERT INTO organizations (id, name, slug, plan, created_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING ",
        organization_columns!()
    ))
    .bind(OrgId::generate().0)
    .bind(&org.name)
    .bind(&org.slug)
    .bind(org.plan.as_str())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES (?1, ?2, 'owner', ?3)",
    )
    .bind(row.id)
    .bind(owner.0)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    row.into_domain()
}

async fn insert_user(
    conn: &mut SqliteConnection,
    user: &NewUser,
    now: DateTime<Utc>,
) -> Result<User> {
    let row: UserRow = sqlx::query_as(concat!(
        "INSERT INTO users (id, email, name, password_hash, is_platform_admin, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, COALESCE(?5, NOT EXISTS (SELECT 1 FROM users)), ?6, ?6) RETURNING ",
        user_columns!()
    ))
    .bind(UserId::generate().0)
    .bind(user.email.trim().to_lowercase())
    .bind(&user.name)
    .bind(&user.password_hash)
    .bind(user.is_platform_admin)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    row.into_domain()
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn hub(&self) -> std::sync::Arc<dyn docent_store::hub::Hub> {
        self.hub.clone()
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
        }
    }

    async fn signup(&self, user: NewUser, org: NewOrganization) -> Result<(User, Organization)> {
        let now = Utc::now();
        let (_turn, mut conn) = self.write().await?;
        let mut tx = immediate(&mut conn).await?;
        let user = insert_user(&mut tx, &user, now).await?;
        let org = insert_organization(&mut tx, &org, user.id, now).await?;
        tx.commit().await?;
        Ok((user, org))
    }

    async fn create_user(&self, user: NewUser) -> Result<User> {
        let mut conn = self.pool.acquire().await?;
        insert_user(&mut conn, &user, Utc::now()).await
    }

    async fn find_user_by_id(&self, id: UserId) -> Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = ?1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        row.map(UserRow::into_domain).transpose()
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE email = ?1"
        ))
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        row.map(UserRow::into_domain).transpose()
    }

    async fn set_user_password(&self, id: UserId, password_hash: &str) -> Result<bool> {
        let done =
            sqlx::query("UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1")
                .bind(id.0)
                .bind(password_hash)
                .bind(Utc::now())
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_platform_admin(&self, id: UserId, is_admin: bool) -> Result<bool> {
        let done =
            sqlx::query("UPDATE users SET is_platform_admin = ?2, updated_at = ?3 WHERE id = ?1")
                .bind(id.0)
                .bind(is_admin)
                .bind(Utc::now())
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn record_login(&self, id: UserId, at: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE users SET last_login_at = ?2 WHERE id = ?1")
            .bind(id.0)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_organization(
        &self,
        org: NewOrganization,
        owner: UserId,
    ) -> Result<Organization> {
        let (_turn, mut conn) = self.write().await?;
        let mut tx = immediate(&mut conn).await?;
        let org = insert_organization(&mut tx, &org, owner, Utc::now()).await?;
        tx.commit().await?;
        Ok(org)
    }

    async fn find_organization(&self, org: OrgId) -> Result<Option<Organization>> {
        let row: Option<OrganizationRow> = sqlx::query_as(concat!(
            "SELECT ",
            organization_columns!(),
            " FROM organizations WHERE id = ?1"
        ))
        .bind(org.0)
        .fetch_optional(&self.pool)
        .await?;
        row.map(OrganizationRow::into_domain).transpose()
    }

    async fn list_organizations(&self, page: Page<OrgId>) -> Result<Vec<Organization>> {
        let rows: Vec<OrganizationRow> = sqlx::query_as(concat!(
            "SELECT ",
            organization_columns!(),
            " FROM organizations WHERE (?1 IS NULL OR id < ?1) ORDER BY id DESC LIMIT ?2"
        ))
        .bind(page.cursor.map(|c| c.0))
        .bind(i64::from(page.limit))
        .fetch_all(&self.pool)
        .await?;
        all(rows, OrganizationRow::into_domain)
    }

    async fn set_organization_plan(&self, org: OrgId, plan: Plan) -> Result<bool> {
        let done = sqlx::query("UPDATE organizations SET plan = ?2 WHERE id = ?1")
            .bind(org.0)
            .bind(plan.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_organization(&self, org: OrgId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM organizations WHERE id = ?1")
            .bind(org.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn memberships_of_user(&self, user: UserId) -> Result<Vec<OrgMembership>> {
        let rows: Vec<MembershipRow> = sqlx::query_as(
            "SELECT o.id, o.name, o.slug, o.plan, o.billing_customer_id, o.created_at, m.role \
             FROM memberships m JOIN organizations o ON o.id = m.org_id \
             WHERE m.user_id = ?1 ORDER BY m.created_at, o.id",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await?;
        all(rows, MembershipRow::into_domain)
    }

    async fn find_role(&self, org: OrgId, user: UserId) -> Result<Option<Role>> {
        let role: Option<String> =
            sqlx::query_scalar("SELECT role FROM memberships WHERE org_id = ?1 AND user_id = ?2")
                .bind(org.0)
                .bind(user.0)
                .fetch_optional(&self.pool)
                .await?;
        role.map(|r| Role::parse(&r).ok_or_else(|| StoreError::Corrupt(format!("role {r:?}"))))
            .transpose()
    }

    async fn list_members(&self, org: OrgId) -> Result<Vec<Member>> {
        let rows: Vec<MemberRow> = sqlx::query_as(
            "SELECT u.id AS user_id, u.email, u.name, m.role, m.created_at AS joined_at \
             FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = ?1 ORDER BY m.created_at, u.id",
        )
        .bind(org.0)
        .fetch_all(&self.pool)
        .await?;
        all(rows, MemberRow::into_domain)
    }

    async fn count_members(&self, org: OrgId) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE org_id = ?1")
            .bind(org.0)
            .fetch_one(&self.pool)
            .await?;
        Ok(n.unsigned_abs())
    }

    async fn set_member_role(&self, org: OrgId, user: UserId, role: Role) -> Result<bool> {
        let done =
            sqlx::query("UPDATE memberships SET role = ?3 WHERE org_id = ?1 AND user_id = ?2")
                .bind(org.0)
                .bind(user.0)
                .bind(role.as_str())
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn remove_member(&self, org: OrgId, user: UserId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM memberships WHERE org_id = ?1 AND user_id = ?2")
            .bind(org.0)
            .bind(user.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn create_invitation_within(
        &self,
        org: OrgId,
        invite: NewInvitation,
        seats: Option<u64>,
    ) -> Result<Invitation> {
        let row: Option<InvitationRow> = sqlx::query_as(concat!(
            "INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by, expires_at, created_at) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 \
             WHERE ?9 IS NULL OR (SELECT COUNT(*) FROM memberships WHERE org_id = ?2) \
               + (SELECT COUNT(*) FROM invitations WHERE org_id = ?2 AND accepted_at IS NULL) < ?9 RETURNING ",
            invitation_columns!()
        ))
        .bind(InvitationId::generate().0)
        .bind(org.0)
        .bind(invite.email.trim().to_lowercase())
        .bind(invite.role.as_str())
        .bind(&invite.token_hash)
        .bind(invite.invited_by.0)
        .bind(invite.expires_at)
        .bind(Utc::now())
        .bind(seats.map(|l| l as i64))
        .fetch_optional(&self.pool)
        .await?;
        row.ok_or(StoreError::LimitReached {
            limit: seats.unwrap_or_default(),
        })?
        .into_domain()
    }

    async fn list_invitations(&self, org: OrgId) -> Result<Vec<Invitation>> {
        let rows: Vec<InvitationRow> = sqlx::query_as(concat!(
            "SELECT ",
            invitation_columns!(),
            " FROM invitations WHERE org_id = ?1 AND accepted_at IS NULL ORDER BY id DESC"
        ))
        .bind(org.0)
        .fetch_all(&self.pool)
        .await?;
        all(rows, InvitationRow::into_domain)
    }

    async fn find_invitation_by_token(&self, token_hash: &str) -> Result<Option<Invitation>> {
        let row: Option<InvitationRow> = sqlx::query_as(concat!(
            "SELECT ",
            invitation_columns!(),
            " FROM invitations WHERE token_hash = ?1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(InvitationRow::into_domain).transpose()
    }

    async fn accept_invitation(
        &self,
        id: InvitationId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let (_turn, mut conn) = self.write().await?;
        let mut tx = immediate(&mut conn).await?;
        let accepted: Option<(Uuid, String)> = sqlx::query_as(
            "UPDATE invitations SET accepted_at = ?2 \
             WHERE id = ?1 AND accepted_at IS NULL AND expires_at > ?2 RETURNING org_id, role",
        )
        .bind(id.0)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((org_id, role)) = accepted else {
            return Ok(false);
        };
        sqlx::query(
            "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (org_id, user_id) DO NOTHING",
        )
        .bind(org_id)
        .bind(user.0)
        .bind(role)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn delete_invitation(&self, org: OrgId, id: InvitationId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM invitations WHERE org_id = ?1 AND id = ?2")
            .bind(org.0)
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn create_session(&self, session: NewSession) -> Result<Session> {
        let row: SessionRow = sqlx::query_as(concat!(
            "INSERT INTO user_sessions (id, user_id, active_org_id, token_hash, expires_at, created_at, ip, user_agent) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING ",
            session_columns!()
        ))
        .bind(SessionId::generate().0)
        .bind(session.user_id.0)
        .bind(session.active_org_id.map(|o| o.0))
        .bind(&session.token_hash)
        .bind(session.expires_at)
        .bind(Utc::now())
        .bind(&session.ip)
        .bind(&session.user_agent)
        .fetch_one(&self.pool)
        .await?;
        row.into_domain()
    }

    async fn find_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
        let row: Option<SessionRow> = sqlx::query_as(concat!(
            "SELECT ",
            session_columns!(),
            " FROM user_sessions WHERE token_hash = ?1 AND expires_at > ?2"
        ))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(SessionRow::into_domain).transpose()
    }

    async fn set_session_org(&self, id: SessionId, org: OrgId) -> Result<()> {
        sqlx::query("UPDATE user_sessions SET active_org_id = ?2 WHERE id = ?1")
            .bind(id.0)
            .bind(org.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM user_sessions WHERE token_hash = ?1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_user_sessions(&self, user: UserId) -> Result<()> {
        sqlx::query("DELETE FROM user_sessions WHERE user_id = ?1")
            .bind(user.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_password_reset(
        &self,
        user: UserId,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let now = Utc::now();
        let (_turn, mut conn) = self.write().await?;
        let mut tx = immediate(&mut conn).await?;
        // A new link revokes the account's older ones.
        sqlx::query(
            "UPDATE password_resets SET used_at = ?2 WHERE user_id = ?1 AND used_at IS NULL",
        )
        .bind(user.0)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO password_resets (token_hash, user_id, expires_at, created_at) VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(token_hash)
        .bind(user.0)
        .bind(expires_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn consume_password_reset(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>> {
        // One statement marks the token used and revokes every other one of its account.
        let users: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE password_resets SET used_at = ?2 \
             WHERE used_at IS NULL AND user_id = (SELECT user_id FROM password_resets \
               WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2) \
             RETURNING user_id",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        Ok(users.first().copied().map(UserId))
    }

    async fn create_api_key(&self, org: OrgId, key: NewApiKey) -> Result<ApiKey> {
        let row: ApiKeyRow = sqlx::query_as(concat!(
            "INSERT INTO api_keys (id, org_id, chat_space_id, name, prefix, key_hash, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING ",
            api_key_columns!()
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
            api_key_columns!(),
            " FROM api_keys WHERE org_id = ?1 AND (?2 IS NULL OR chat_space_id = ?2) ORDER BY id DESC"
        ))
        .bind(org.0)
        .bind(chat_space.map(|c| c.0))
        .fetch_all(&self.pool)
        .await?;
        all(rows, ApiKeyRow::into_domain)
    }

    async fn revoke_api_key(&self, org: OrgId, id: ApiKeyId, at: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?3) WHERE org_id = ?1 AND id = ?2",
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
            api_key_columns!(),
            " FROM api_keys WHERE key_hash = ?1 AND revoked_at IS NULL"
        ))
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(ApiKeyRow::into_domain).transpose()
    }

    async fn touch_api_key(&self, id: ApiKeyId, at: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1")
            .bind(id.0)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_chat_space_within(
        &self,
        org: OrgId,
        space: NewChatSpace,
        limit: Option<u64>,
    ) -> Result<ChatSpace> {
        let now = Utc::now();
        let row: Option<ChatSpaceRow> = sqlx::query_as(concat!(
            "INSERT INTO chat_spaces (id, org_id, name, description, endpoint_slug, widget_config, \
             ai_config, retrieval_config, allowed_origins, created_at, updated_at) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10 \
             WHERE ?11 IS NULL OR (SELECT COUNT(*) FROM chat_spaces WHERE org_id = ?2) < ?11 RETURNING ",
            chat_space_columns!()
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
        .fetch_optional(&self.pool)
        .await?;
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
            chat_space_columns!(),
            " FROM chat_spaces WHERE org_id = ?1 AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3"
        ))
        .bind(org.0)
        .bind(page.cursor.map(|c| c.0))
        .bind(i64::from(page.limit))
        .fetch_all(&self.pool)
        .await?;
        all(rows, ChatSpaceRow::into_domain)
    }

    async fn count_chat_spaces(&self, org: OrgId) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM chat_spaces WHERE org_id = ?1")
            .bind(org.0)
            .fetch_one(&self.pool)
            .await?;
        Ok(n.unsigned_abs())
    }

    async fn find_chat_space(&self, org: OrgId, id: ChatSpaceId) -> Result<Option<ChatSpace>> {
        let row: Option<ChatSpaceRow> = sqlx::query_as(concat!(
            "SELECT ",
            chat_space_columns!(),
            " FROM chat_spaces WHERE org_id = ?1 AND id = ?2"
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
            chat_space_columns!(),
            " FROM chat_spaces WHERE endpoint_slug = ?1"
        ))
        .bind(slug)
        .fetch_optional(&self.pool)
        .await?;
        row.map(ChatSpaceRow::into_domain).transpose()
    }

    async fn busiest_published_chat_spaces(&self, limit: u32) -> Result<Vec<(OrgId, ChatSpaceId)>> {
        let rows: Vec<(uuid::Uuid, uuid::Uuid)> = sqlx::query_as(
            "SELECT org_id, id FROM chat_spaces WHERE status = 'published' \
             ORDER BY message_count DESC, id LIMIT ?1",
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
            "UPDATE chat_spaces SET name = COALESCE(?3, name), description = COALESCE(?4, description), \
             endpoint_slug = COALESCE(?5, endpoint_slug), widget_config = COALESCE(?6, widget_config), \
             ai_config = COALESCE(?7, ai_config), retrieval_config = COALESCE(?8, retrieval_config), \
             allowed_origins = COALESCE(?9, allowed_origins), answer_mode = COALESCE(?10, answer_mode), \
             webhook_url = CASE WHEN ?11 THEN ?12 ELSE webhook_url END, updated_at = ?13 \
             WHERE org_id = ?1 AND id = ?2 RETURNING ",
            chat_space_columns!()
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
            "UPDATE chat_spaces SET status = ?3, updated_at = ?4, \
             published_at = CASE WHEN ?3 = 'published' THEN ?4 ELSE published_at END \
             WHERE org_id = ?1 AND id = ?2 RETURNING ",
            chat_space_columns!()
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
        let done = sqlx::query("DELETE FROM chat_spaces WHERE org_id = ?1 AND id = ?2")
            .bind(org.0)
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn push_outbox(&self, to_email: &str, subject: &str, body: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO outbox_emails (id, to_email, subject, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
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
            outbox_columns!(),
            " FROM outbox_emails ORDER BY id DESC LIMIT ?1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        all(rows, OutboxRow::into_domain)
    }
}

/// A fresh, migrated store in a new temporary directory, for tests; the directory goes
/// when the last clone of the store does.
#[cfg(feature = "testing")]
pub async fn fresh_test_store() -> SqliteStore {
    let dir = std::env::temp_dir().join(format!("docent-test-{}", Uuid::now_v7()));
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
