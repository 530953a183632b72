//! The PostgreSQL backend for scale-out: pgvector and full-text search live here, and many
//! `docent` replicas share it. Its twin is `docent-store-sqlite`; keep their queries alike.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use docent_core::*;
use docent_store::rows::*;
use docent_store::*;
use sqlx::postgres::PgPoolOptions;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

mod answers;
pub mod hub;
mod jobs;
mod knowledge;

/// Migrations in order; the SQLite backend has one of the same name for each.
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

/// Key of the advisory lock that serialises migrations across replicas starting together.
const MIGRATION_LOCK: i64 = 0x646f_6365_6e74; // "docent"

#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
    text: std::sync::Arc<docent_store::text_index::TextIndexes>,
    hub: hub::SharedHub,
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

impl PostgresStore {
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

    /// Applies the migrations not yet applied; returns how many ran.
    /// `VACUUM ANALYZE` of the chunks, as autovacuum does in its own time: benchmarks call
    /// it after a bulk load (and the deletions of earlier runs) to measure the steady state.
    pub async fn vacuum_chunks(&self) -> Result<()> {
        sqlx::raw_sql("VACUUM ANALYZE document_chunks, documents")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

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
        let mut ran = 0;
        for &(version, name, sql) in MIGRATIONS {
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut *conn)
                    .await?;
            if done.is_some() {
                continue;
            }
            sqlx::raw_sql("BEGIN").execute(&mut *conn).await?;
            match apply(conn, version, name, sql).await {
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

async fn apply(conn: &mut PgConnection, version: i64, name: &str, sql: &str) -> Result<()> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
        .bind(version)
        .bind(name)
        .bind(Utc::now())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn insert_organization(
    conn: &mut PgConnection,
    org: &NewOrganization,
    owner: UserId,
    now: DateTime<Utc>,
) -> Result<Organization> {
    let row: OrganizationRow = sqlx::query_as(concat!(
        "INSERT INTO organizations (id, name, slug, plan, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING ",
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
        "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, 'owner', $3)",
    )
    .bind(row.id)
    .bind(owner.0)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    row.into_domain()
}

async fn insert_user(conn: &mut PgConnection, user: &NewUser, now: DateTime<Utc>) -> Result<User> {
    let row: UserRow = sqlx::query_as(concat!(
        "INSERT INTO users (id, email, name, password_hash, is_platform_admin, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, COALESCE($5, NOT EXISTS (SELECT 1 FROM users)), $6, $6) RETURNING ",
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
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
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
        let mut tx = self.pool.begin().await?;
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
            " FROM users WHERE id = $1"
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
            " FROM users WHERE email = $1"
        ))
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        row.map(UserRow::into_domain).transpose()
    }

    async fn set_user_password(&self, id: UserId, password_hash: &str) -> Result<bool> {
        let done =
            sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
                .bind(id.0)
                .bind(password_hash)
                .bind(Utc::now())
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_platform_admin(&self, id: UserId, is_admin: bool) -> Result<bool> {
        let done =
            sqlx::query("UPDATE users SET is_platform_admin = $2, updated_at = $3 WHERE id = $1")
                .bind(id.0)
                .bind(is_admin)
                .bind(Utc::now())
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn record_login(&self, id: UserId, at: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE users SET last_login_at = $2 WHERE id = $1")
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
        let mut tx = self.pool.begin().await?;
        let org = insert_organization(&mut tx, &org, owner, Utc::now()).await?;
        tx.commit().await?;
        Ok(org)
    }

    async fn find_organization(&self, org: OrgId) -> Result<Option<Organization>> {
        let row: Option<OrganizationRow> = sqlx::query_as(concat!(
            "SELECT ",
            organization_columns!(),
            " FROM organizations WHERE id = $1"
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
            " FROM organizations WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2"
        ))
        .bind(page.cursor.map(|c| c.0))
        .bind(i64::from(page.limit))
        .fetch_all(&self.pool)
        .await?;
        all(rows, OrganizationRow::into_domain)
    }

    async fn set_organization_plan(&self, org: OrgId, plan: Plan) -> Result<bool> {
        let done = sqlx::query("UPDATE organizations SET plan = $2 WHERE id = $1")
            .bind(org.0)
            .bind(plan.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_organization(&self, org: OrgId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM organizations WHERE id = $1")
            .bind(org.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn memberships_of_user(&self, user: UserId) -> Result<Vec<OrgMembership>> {
        let rows: Vec<MembershipRow> = sqlx::query_as(
            "SELECT o.id, o.name, o.slug, o.plan, o.billing_customer_id, o.created_at, m.role \
             FROM memberships m JOIN organizations o ON o.id = m.org_id \
             WHERE m.user_id = $1 ORDER BY m.created_at, o.id",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await?;
        all(rows, MembershipRow::into_domain)
    }

    async fn find_role(&self, org: OrgId, user: UserId) -> Result<Option<Role>> {
        let role: Option<String> =
            sqlx::query_scalar("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
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
             WHERE m.org_id = $1 ORDER BY m.created_at, u.id",
        )
        .bind(org.0)
        .fetch_all(&self.pool)
        .await?;
        all(rows, MemberRow::into_domain)
    }

    async fn count_members(&self, org: OrgId) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE org_id = $1")
            .bind(org.0)
            .fetch_one(&self.pool)
            .await?;
        Ok(n.unsigned_abs())
    }

    async fn set_member_role(&self, org: OrgId, user: UserId, role: Role) -> Result<bool> {
        let done =
            sqlx::query("UPDATE memberships SET role = $3 WHERE org_id = $1 AND user_id = $2")
                .bind(org.0)
                .bind(user.0)
                .bind(role.as_str())
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn remove_member(&self, org: OrgId, user: UserId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
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
        let mut tx = self.pool.begin().await?;
        if seats.is_some() {
            limit_lock(&mut tx, "seats", org.0).await?;
        }
        let row: Option<InvitationRow> = sqlx::query_as(concat!(
            "INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by, expires_at, created_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8 \
             WHERE $9::BIGINT IS NULL OR (SELECT COUNT(*) FROM memberships WHERE org_id = $2) \
               + (SELECT COUNT(*) FROM invitations WHERE org_id = $2 AND accepted_at IS NULL) < $9 RETURNING ",
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
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        row.ok_or(StoreError::LimitReached {
            limit: seats.unwrap_or_default(),
        })?
        .into_domain()
    }

    async fn list_invitations(&self, org: OrgId) -> Result<Vec<Invitation>> {
        let rows: Vec<InvitationRow> = sqlx::query_as(concat!(
            "SELECT ",
            invitation_columns!(),
            " FROM invitations WHERE org_id = $1 AND accepted_at IS NULL ORDER BY id DESC"
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
            " FROM invitations WHERE token_hash = $1"
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
        let mut tx = self.pool.begin().await?;
        let accepted: Option<(Uuid, String)> = sqlx::query_as(
            "UPDATE invitations SET accepted_at = $2 \
             WHERE id = $1 AND accepted_at IS NULL AND expires_at > $2 RETURNING org_id, role",
        )
        .bind(id.0)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((org_id, role)) = accepted else {
            return Ok(false);
        };
        sqlx::query(
            "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
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
        let done = sqlx::query("DELETE FROM invitations WHERE org_id = $1 AND id = $2")
            .bind(org.0)
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn create_session(&self, session: NewSession) -> Result<Session> {
        let row: SessionRow = sqlx::query_as(concat!(
            "INSERT INTO user_sessions (id, user_id, active_org_id, token_hash, expires_at, created_at, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ",
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
            " FROM user_sessions WHERE token_hash = $1 AND expires_at > $2"
        ))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(SessionRow::into_domain).transpose()
    }

    async fn set_session_org(&self, id: SessionId, org: OrgId) -> Result<()> {
        sqlx::query("UPDATE user_sessions SET active_org_id = $2 WHERE id = $1")
            .bind(id.0)
            .bind(org.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM user_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_user_sessions(&self, user: UserId) -> Result<()> {
        sqlx::query("DELETE FROM user_sessions WHERE user_id = $1")
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
        let mut tx = self.pool.begin().await?;
        // A new link revokes the account's older ones.
        sqlx::query(
            "UPDATE password_resets SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user.0)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO password_resets (token_hash, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4)",
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
            "UPDATE password_resets SET used_at = $2 \
             WHERE used_at IS NULL AND user_id = (SELECT user_id FROM password_resets \
               WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2) \
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
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
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
            api_key_columns!(),
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

    async fn create_chat_space_within(
        &self,
        org: OrgId,
        space: NewChatSpace,
        limit: Option<u64>,
    ) -> Result<ChatSpace> {
        let now = Utc::now();
        let mut tx = self.pool.begin().await?;
        if limit.is_some() {
            limit_lock(&mut tx, "chat_spaces", org.0).await?;
        }
        let row: Option<ChatSpaceRow> = sqlx::query_as(concat!(
            "INSERT INTO chat_spaces (id, org_id, name, description, endpoint_slug, widget_config, \
             ai_config, retrieval_config, allowed_origins, created_at, updated_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10 \
             WHERE $11::BIGINT IS NULL OR (SELECT COUNT(*) FROM chat_spaces WHERE org_id = $2) < $11 RETURNING ",
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
            chat_space_columns!(),
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
            chat_space_columns!(),
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
            chat_space_columns!(),
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
             webhook_url = CASE WHEN $11 THEN $12 ELSE webhook_url END, updated_at = $13 \
             WHERE org_id = $1 AND id = $2 RETURNING ",
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
            "UPDATE chat_spaces SET status = $3, updated_at = $4, \
             published_at = CASE WHEN $3 = 'published' THEN $4 ELSE published_at END \
             WHERE org_id = $1 AND id = $2 RETURNING ",
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
        let done = sqlx::query("DELETE FROM chat_spaces WHERE org_id = $1 AND id = $2")
            .bind(org.0)
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

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
            outbox_columns!(),
            " FROM outbox_emails ORDER BY id DESC LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        all(rows, OutboxRow::into_domain)
    }
}

/// A fresh, migrated store in a new database on the server named by
/// `DOCENT_TEST_DATABASE_URL`, for tests; `None` when that is unset (the tests then skip),
/// Another replica's store on the same database: a pool, indexes and hub of its own.
#[cfg(feature = "testing")]
impl PostgresStore {
    pub async fn another_replica(&self) -> PostgresStore {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with((*self.pool.connect_options()).clone())
            .await
            .expect("connect a second replica");
        PostgresStore {
            hub: std::sync::Arc::new(hub::PgHub::new(pool.clone())),
            pool,
            text: Default::default(),
        }
    }
}

/// unless `DOCENT_REQUIRE_POSTGRES` is set, which makes a missing server a failure.
#[cfg(feature = "testing")]
pub async fn fresh_test_store() -> Option<PostgresStore> {
    use sqlx::Connection;
    let Ok(admin_url) = std::env::var("DOCENT_TEST_DATABASE_URL") else {
        assert!(
            std::env::var("DOCENT_REQUIRE_POSTGRES").is_err(),
            "DOCENT_REQUIRE_POSTGRES is set but DOCENT_TEST_DATABASE_URL is not"
        );
        return None;
    };
    let name = format!("docent_test_{}", Uuid::now_v7().simple());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("connect to DOCENT_TEST_DATABASE_URL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    admin.close().await.ok();
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("DOCENT_TEST_DATABASE_URL ends in /DATABASE");
    let store = PostgresStore::connect(&format!("{base}/{name}"), 4)
        .await
        .expect("connect to the test database");
    store.migrate().await.expect("migrate the test database");
    Some(store)
}
