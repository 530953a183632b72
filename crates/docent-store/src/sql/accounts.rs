//! Users, their sessions and password resets: the statements both backends run (see [`crate::sql`]).

/// Expands, in a backend, its `impl` of this area's store trait.
#[macro_export]
#[doc(hidden)]
macro_rules! accounts_sql {
    ($store:ident, $db:ty) => {
        const _: () = {
            use $crate::sql::__support::*;

            #[async_trait]
            impl AccountStore for $store {
                async fn signup(&self, user: NewUser, org: NewOrganization) -> Result<(User, Organization)> {
                    let now = Utc::now();
                    let mut writer = self.writer().await?;
                    let mut tx = writer.begin().await?;
                    let user = Self::insert_user(&mut tx, &user, now).await?;
                    let org = Self::insert_organization(&mut tx, &org, user.id, now).await?;
                    tx.commit().await?;
                    Ok((user, org))
                }

                async fn create_user(&self, user: NewUser) -> Result<User> {
                    let mut conn = self.pool.acquire().await?;
                    Self::insert_user(&mut conn, &user, Utc::now()).await
                }

                async fn find_user_by_id(&self, id: UserId) -> Result<Option<User>> {
                    let row: Option<UserRow> = sqlx::query_as(concat!(
                        "SELECT ",
                        $crate::user_columns!(),
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
                        $crate::user_columns!(),
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

                async fn create_session(&self, session: NewSession) -> Result<Session> {
                    let row: SessionRow = sqlx::query_as(concat!(
                        "INSERT INTO user_sessions (id, user_id, active_org_id, token_hash, expires_at, created_at, ip, user_agent) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ",
                        $crate::session_columns!()
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
                        $crate::session_columns!(),
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
                    let mut writer = self.writer().await?;
                    let mut tx = writer.begin().await?;
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

                async fn throttle_failures(
                    &self,
                    key: &str,
                    since: DateTime<Utc>,
                ) -> Result<Vec<DateTime<Utc>>> {
                    Ok(sqlx::query_scalar(
                        "SELECT at FROM throttle_failures WHERE throttle_key = $1 AND at > $2 \
                         ORDER BY at LIMIT 1000",
                    )
                    .bind(key)
                    .bind(since)
                    .fetch_all(&self.pool)
                    .await?)
                }

                async fn record_throttle_failure(&self, keys: &[&str], at: DateTime<Utc>) -> Result<()> {
                    let mut writer = self.writer().await?;
                    for key in keys {
                        sqlx::query("INSERT INTO throttle_failures (throttle_key, at) VALUES ($1, $2)")
                            .bind(*key)
                            .bind(at)
                            .execute(writer.connection())
                            .await?;
                    }
                    Ok(())
                }

                async fn clear_throttle(&self, key: &str, prefix: Option<&str>) -> Result<()> {
                    sqlx::query(
                        "DELETE FROM throttle_failures WHERE throttle_key = $1 \
                         OR ($2 IS NOT NULL AND substr(throttle_key, 1, length(CAST($2 AS TEXT))) = $2)",
                    )
                    .bind(key)
                    .bind(prefix)
                    .execute(self.writer().await?.connection())
                    .await?;
                    Ok(())
                }

                async fn prune_throttle(&self, before: DateTime<Utc>) -> Result<u64> {
                    let done = sqlx::query("DELETE FROM throttle_failures WHERE at < $1")
                        .bind(before)
                        .execute(self.writer().await?.connection())
                        .await?;
                    Ok(done.rows_affected())
                }
            }

            /// The first statements of a user and of an organization, inside the caller's
            /// transaction (signing up writes both).
            impl $store {
                pub(crate) async fn insert_organization(
                    conn: &mut <$db as sqlx::Database>::Connection,
                    org: &NewOrganization,
                    owner: UserId,
                    now: DateTime<Utc>,
                ) -> Result<Organization> {
                    let row: OrganizationRow = sqlx::query_as(concat!(
                        "INSERT INTO organizations (id, name, slug, plan, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING ",
                        $crate::organization_columns!()
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

                pub(crate) async fn insert_user(
                    conn: &mut <$db as sqlx::Database>::Connection,
                    user: &NewUser,
                    now: DateTime<Utc>,
                ) -> Result<User> {
                    let row: UserRow = sqlx::query_as(concat!(
                        "INSERT INTO users (id, email, name, password_hash, is_platform_admin, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, COALESCE($5, NOT EXISTS (SELECT 1 FROM users)), $6, $6) RETURNING ",
                        $crate::user_columns!()
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
            }
        };
    };
}
