//! Organizations, their members and invitations: the statements both backends run (see [`crate::sql`]).

/// Expands, in a backend, its `impl` of this area's store trait.
#[macro_export]
#[doc(hidden)]
macro_rules! orgs_sql {
    ($store:ident, $db:ty) => {
        const _: () = {
            use $crate::sql::__support::*;

            #[async_trait]
            impl OrgStore for $store {
                async fn create_organization(
                    &self,
                    org: NewOrganization,
                    owner: UserId,
                ) -> Result<Organization> {
                    let mut writer = self.writer().await?;
                    let mut tx = writer.begin().await?;
                    let org = Self::insert_organization(&mut tx, &org, owner, Utc::now()).await?;
                    tx.commit().await?;
                    Ok(org)
                }

                async fn find_organization(&self, org: OrgId) -> Result<Option<Organization>> {
                    let row: Option<OrganizationRow> = sqlx::query_as(concat!(
                        "SELECT ",
                        $crate::organization_columns!(),
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
                        $crate::organization_columns!(),
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

                async fn member_access(&self, org: OrgId, user: UserId) -> Result<Option<Vec<ChatSpaceId>>> {
                    let limited: Option<bool> = sqlx::query_scalar(
                        "SELECT limited FROM memberships WHERE org_id = $1 AND user_id = $2",
                    )
                    .bind(org.0)
                    .bind(user.0)
                    .fetch_optional(&self.pool)
                    .await?;
                    if limited != Some(true) {
                        return Ok(None);
                    }
                    let spaces: Vec<Uuid> = sqlx::query_scalar(
                        "SELECT chat_space_id FROM member_chat_spaces WHERE org_id = $1 AND user_id = $2 \
                         ORDER BY chat_space_id",
                    )
                    .bind(org.0)
                    .bind(user.0)
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(Some(spaces.into_iter().map(ChatSpaceId).collect()))
                }

                async fn set_member_access(
                    &self,
                    org: OrgId,
                    user: UserId,
                    spaces: Option<&[ChatSpaceId]>,
                ) -> Result<bool> {
                    let mut writer = self.writer().await?;
                    let mut tx = writer.begin().await?;
                    let done = sqlx::query(
                        "UPDATE memberships SET limited = $3 WHERE org_id = $1 AND user_id = $2",
                    )
                    .bind(org.0)
                    .bind(user.0)
                    .bind(spaces.is_some())
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Ok(false);
                    }
                    sqlx::query("DELETE FROM member_chat_spaces WHERE org_id = $1 AND user_id = $2")
                        .bind(org.0)
                        .bind(user.0)
                        .execute(&mut *tx)
                        .await?;
                    for space in spaces.unwrap_or_default() {
                        sqlx::query(
                            "INSERT INTO member_chat_spaces (org_id, user_id, chat_space_id) \
                             SELECT org_id, $2, id FROM chat_spaces WHERE org_id = $1 AND id = $3 \
                             ON CONFLICT DO NOTHING",
                        )
                        .bind(org.0)
                        .bind(user.0)
                        .bind(space.0)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(true)
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
                    let mut writer = self.writer().await?;
                    let mut tx = writer.begin().await?;
                    if seats.is_some() {
                        Self::limit_lock(&mut tx, "seats", org.0).await?;
                    }
                    let row: Option<InvitationRow> = sqlx::query_as(concat!(
                        "INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by, expires_at, created_at) \
                         SELECT $1, $2, $3, $4, $5, $6, $7, $8 \
                         WHERE CAST($9 AS BIGINT) IS NULL OR (SELECT COUNT(*) FROM memberships WHERE org_id = $2) \
                           + (SELECT COUNT(*) FROM invitations WHERE org_id = $2 AND accepted_at IS NULL) < $9 RETURNING ",
                        $crate::invitation_columns!()
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
                        $crate::invitation_columns!(),
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
                        $crate::invitation_columns!(),
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
                    let mut writer = self.writer().await?;
                    let mut tx = writer.begin().await?;
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
            }
        };
    };
}
