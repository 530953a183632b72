//! Handovers, notes and the inbox: the statements both backends run (see [`crate::sql`]).
//! Every state change is one conditional `UPDATE … RETURNING` on the conversation, so that
//! of two agents (or replicas) acting at once one wins and the other finds nothing to do.

/// Expands, in a backend, its `impl` of this area's store trait.
#[macro_export]
#[doc(hidden)]
macro_rules! handover_sql {
    ($store:ident, $db:ty) => {
        const _: () = {
            use $crate::sql::__support::*;
            use $crate::{InboxFilter, InboxItem};

            #[derive(sqlx::FromRow)]
            struct HandoverRow {
                id: Uuid,
                org_id: Uuid,
                chat_space_id: Uuid,
                conversation_id: Uuid,
                reason: String,
                requested_at: DateTime<Utc>,
                assigned_agent_id: Option<Uuid>,
                assigned_at: Option<DateTime<Utc>>,
                first_agent_reply_at: Option<DateTime<Utc>>,
                resolved_at: Option<DateTime<Utc>>,
                resolution: Option<String>,
            }

            impl HandoverRow {
                fn into_domain(self) -> Result<Handover> {
                    Ok(Handover {
                        id: HandoverId(self.id),
                        org_id: OrgId(self.org_id),
                        chat_space_id: ChatSpaceId(self.chat_space_id),
                        conversation_id: ConversationId(self.conversation_id),
                        reason: parse("handover reason", &self.reason, HandoverReason::parse)?,
                        requested_at: self.requested_at,
                        assigned_agent_id: self.assigned_agent_id.map(UserId),
                        assigned_at: self.assigned_at,
                        first_agent_reply_at: self.first_agent_reply_at,
                        resolved_at: self.resolved_at,
                        resolution: self
                            .resolution
                            .map(|r| parse("handover end", &r, HandoverEnd::parse))
                            .transpose()?,
                    })
                }
            }

            const HANDOVER_COLUMNS: &str = "id, org_id, chat_space_id, conversation_id, reason, requested_at, \
                assigned_agent_id, assigned_at, first_agent_reply_at, resolved_at, resolution";

            #[derive(sqlx::FromRow)]
            struct NoteRow {
                id: Uuid,
                org_id: Uuid,
                conversation_id: Uuid,
                author_id: Option<Uuid>,
                content: String,
                created_at: DateTime<Utc>,
            }

            #[derive(sqlx::FromRow)]
            struct CannedRow {
                id: Uuid,
                org_id: Uuid,
                shortcut: String,
                content: String,
                created_by: Option<Uuid>,
                created_at: DateTime<Utc>,
                updated_at: DateTime<Utc>,
            }

            impl CannedRow {
                fn into_domain(self) -> CannedReply {
                    CannedReply {
                        id: CannedReplyId(self.id),
                        org_id: OrgId(self.org_id),
                        shortcut: self.shortcut,
                        content: self.content,
                        created_by: self.created_by.map(UserId),
                        created_at: self.created_at,
                        updated_at: self.updated_at,
                    }
                }
            }

            const CANNED_COLUMNS: &str = "id, org_id, shortcut, content, created_by, created_at, updated_at";

            impl NoteRow {
                fn into_domain(self) -> Note {
                    Note {
                        id: NoteId(self.id),
                        org_id: OrgId(self.org_id),
                        conversation_id: ConversationId(self.conversation_id),
                        author_id: self.author_id.map(UserId),
                        content: self.content,
                        created_at: self.created_at,
                    }
                }
            }

            #[derive(sqlx::FromRow)]
            struct InboxRow {
                #[sqlx(flatten)]
                conversation: ConversationRow,
                reason: Option<String>,
                requested_at: Option<DateTime<Utc>>,
                unread: i64,
                last_message: Option<String>,
            }

            #[async_trait]
            impl HandoverStore for $store {
                async fn request_handover(
                    &self,
                    org: OrgId,
                    conversation: ConversationId,
                    reason: HandoverReason,
                    at: DateTime<Utc>,
                ) -> Result<Option<(Conversation, Handover)>> {
                    let mut writer = self.writer().await?;
                    let mut tx = writer.begin().await?;
                    let row: Option<ConversationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "UPDATE conversations SET status = 'waiting_for_human', last_activity_at = $3 \
                         WHERE org_id = $1 AND id = $2 AND status = 'active' RETURNING {}",
                        $crate::conversation_columns!()
                    )))
                    .bind(org.0)
                    .bind(conversation.0)
                    .bind(at)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(row) = row else {
                        return Ok(None);
                    };
                    let handover: HandoverRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO handovers (id, org_id, chat_space_id, conversation_id, reason, requested_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {HANDOVER_COLUMNS}"
                    )))
                    .bind(HandoverId::generate().0)
                    .bind(org.0)
                    .bind(row.chat_space_id)
                    .bind(conversation.0)
                    .bind(reason.as_str())
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(Some((row.into_domain()?, handover.into_domain()?)))
                }

                async fn assign_conversation(
                    &self,
                    org: OrgId,
                    conversation: ConversationId,
                    agent: UserId,
                    take_over: bool,
                    at: DateTime<Utc>,
                ) -> Result<Option<Conversation>> {
                    let mut writer = self.writer().await?;
                    let mut tx = writer.begin().await?;
                    let row: Option<ConversationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "UPDATE conversations SET status = 'human', assigned_agent_id = $3, last_activity_at = $5 \
                         WHERE org_id = $1 AND id = $2 AND status IN ('active', 'waiting_for_human', 'human') \
                         AND ($4 OR assigned_agent_id IS NULL OR assigned_agent_id = $3) RETURNING {}",
                        $crate::conversation_columns!()
                    )))
                    .bind(org.0)
                    .bind(conversation.0)
                    .bind(agent.0)
                    .bind(take_over)
                    .bind(at)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(row) = row else {
                        return Ok(None);
                    };
                    let open = sqlx::query(
                        "UPDATE handovers SET assigned_agent_id = $3, assigned_at = COALESCE(assigned_at, $4) \
                         WHERE org_id = $1 AND conversation_id = $2 AND resolved_at IS NULL",
                    )
                    .bind(org.0)
                    .bind(conversation.0)
                    .bind(agent.0)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    if open.rows_affected() == 0 {
                        // Taken over while the bot was answering: a handover of its own.
                        sqlx::query(
                            "INSERT INTO handovers (id, org_id, chat_space_id, conversation_id, reason, \
                             requested_at, assigned_agent_id, assigned_at) VALUES ($1, $2, $3, $4, 'agent', $5, $6, $5)",
                        )
                        .bind(HandoverId::generate().0)
                        .bind(org.0)
                        .bind(row.chat_space_id)
                        .bind(conversation.0)
                        .bind(at)
                        .bind(agent.0)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(Some(row.into_domain()?))
                }

                async fn end_handover(
                    &self,
                    org: OrgId,
                    conversation: ConversationId,
                    end: HandoverEnd,
                    at: DateTime<Utc>,
                ) -> Result<Option<Conversation>> {
                    let change = match end {
                        HandoverEnd::Released => {
                            "status = 'active', assigned_agent_id = NULL, last_activity_at = $3 \
                             WHERE org_id = $1 AND id = $2 AND status IN ('waiting_for_human', 'human')"
                        }
                        HandoverEnd::Closed => {
                            "status = 'closed', closed_at = $3 \
                             WHERE org_id = $1 AND id = $2 AND status IN ('active', 'waiting_for_human', 'human')"
                        }
                    };
                    let mut writer = self.writer().await?;
                    let mut tx = writer.begin().await?;
                    let row: Option<ConversationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "UPDATE conversations SET {change} RETURNING {}",
                        $crate::conversation_columns!()
                    )))
                    .bind(org.0)
                    .bind(conversation.0)
                    .bind(at)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(row) = row else {
                        return Ok(None);
                    };
                    sqlx::query(
                        "UPDATE handovers SET resolved_at = $3, resolution = $4 \
                         WHERE org_id = $1 AND conversation_id = $2 AND resolved_at IS NULL",
                    )
                    .bind(org.0)
                    .bind(conversation.0)
                    .bind(at)
                    .bind(end.as_str())
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(Some(row.into_domain()?))
                }

                async fn agent_replied(
                    &self,
                    org: OrgId,
                    conversation: ConversationId,
                    at: DateTime<Utc>,
                ) -> Result<()> {
                    sqlx::query(
                        "UPDATE handovers SET first_agent_reply_at = $3 WHERE org_id = $1 \
                         AND conversation_id = $2 AND resolved_at IS NULL AND first_agent_reply_at IS NULL",
                    )
                    .bind(org.0)
                    .bind(conversation.0)
                    .bind(at)
                    .execute(self.writer().await?.connection())
                    .await?;
                    Ok(())
                }

                async fn handovers_of(
                    &self,
                    org: OrgId,
                    conversation: ConversationId,
                ) -> Result<Vec<Handover>> {
                    let rows: Vec<HandoverRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {HANDOVER_COLUMNS} FROM handovers WHERE org_id = $1 AND conversation_id = $2 \
                         ORDER BY requested_at, id"
                    )))
                    .bind(org.0)
                    .bind(conversation.0)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter().map(HandoverRow::into_domain).collect()
                }

                async fn add_note(
                    &self,
                    org: OrgId,
                    conversation: ConversationId,
                    author: UserId,
                    content: &str,
                    at: DateTime<Utc>,
                ) -> Result<Option<Note>> {
                    let row: Option<NoteRow> = sqlx::query_as(
                        "INSERT INTO conversation_notes (id, org_id, conversation_id, author_id, content, created_at) \
                         SELECT $1, org_id, id, $4, $5, $6 FROM conversations WHERE org_id = $2 AND id = $3 \
                         RETURNING id, org_id, conversation_id, author_id, content, created_at",
                    )
                    .bind(NoteId::generate().0)
                    .bind(org.0)
                    .bind(conversation.0)
                    .bind(author.0)
                    .bind(content)
                    .bind(at)
                    .fetch_optional(self.writer().await?.connection())
                    .await?;
                    Ok(row.map(NoteRow::into_domain))
                }

                async fn notes(&self, org: OrgId, conversation: ConversationId) -> Result<Vec<Note>> {
                    let rows: Vec<NoteRow> = sqlx::query_as(
                        "SELECT id, org_id, conversation_id, author_id, content, created_at FROM conversation_notes \
                         WHERE org_id = $1 AND conversation_id = $2 ORDER BY created_at, id",
                    )
                    .bind(org.0)
                    .bind(conversation.0)
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows.into_iter().map(NoteRow::into_domain).collect())
                }

                async fn inbox(&self, org: OrgId, filter: &InboxFilter) -> Result<Vec<InboxItem>> {
                    let status = match filter.status {
                        InboxStatus::WaitingForHuman => "c.status = 'waiting_for_human'",
                        InboxStatus::Human => "c.status = 'human'",
                        InboxStatus::Open => "c.status IN ('waiting_for_human', 'human')",
                        InboxStatus::All => "EXISTS (SELECT 1 FROM handovers h WHERE h.conversation_id = c.id)",
                    };
                    let assigned = match filter.assigned_to {
                        None => "$3 IS NULL",
                        Some(None) => "($3 IS NULL AND c.assigned_agent_id IS NULL)",
                        Some(Some(_)) => "c.assigned_agent_id = $3",
                    };
                    // The chat spaces a scoped caller sees, as placeholders after the fixed ones.
                    let spaces = filter.chat_spaces.as_deref().map(|spaces| {
                        if spaces.is_empty() {
                            "FALSE".to_owned()
                        } else {
                            let marks: Vec<String> = (0..spaces.len()).map(|i| format!("${}", i + 6)).collect();
                            format!("c.chat_space_id IN ({})", marks.join(", "))
                        }
                    });
                    let sql = format!(
                        "SELECT {columns}, \
                         (SELECT h.reason FROM handovers h WHERE h.conversation_id = c.id ORDER BY h.requested_at DESC LIMIT 1) AS reason, \
                         (SELECT h.requested_at FROM handovers h WHERE h.conversation_id = c.id ORDER BY h.requested_at DESC LIMIT 1) AS requested_at, \
                         (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.role = 'user' \
                          AND m.created_at > COALESCE((SELECT r.read_at FROM conversation_reads r \
                          WHERE r.user_id = $4 AND r.conversation_id = c.id), c.created_at)) AS unread, \
                         (SELECT m.content FROM messages m WHERE m.conversation_id = c.id ORDER BY m.id DESC LIMIT 1) AS last_message \
                         FROM conversations c WHERE c.org_id = $1 AND {status} AND {assigned} \
                         AND ($5 IS NULL OR c.last_activity_at < $5) AND {spaces} \
                         ORDER BY c.last_activity_at DESC, c.id DESC LIMIT $2",
                        columns = $crate::conversation_columns!()
                            .split(", ")
                            .map(|c| format!("c.{}", c.trim()))
                            .collect::<Vec<_>>()
                            .join(", "),
                        spaces = spaces.as_deref().unwrap_or("TRUE"),
                    );
                    let mut query = sqlx::query_as::<_, InboxRow>(sqlx::AssertSqlSafe(sql))
                        .bind(org.0)
                        .bind(i64::from(filter.limit))
                        .bind(filter.assigned_to.flatten().map(|u| u.0))
                        .bind(filter.reader.map(|u| u.0))
                        .bind(filter.before);
                    for space in filter.chat_spaces.iter().flatten() {
                        query = query.bind(space.0);
                    }
                    let rows = query.fetch_all(&self.pool).await?;
                    rows.into_iter()
                        .map(|r| {
                            Ok(InboxItem {
                                conversation: r.conversation.into_domain()?,
                                reason: r
                                    .reason
                                    .map(|s| parse("handover reason", &s, HandoverReason::parse))
                                    .transpose()?,
                                requested_at: r.requested_at,
                                unread: r.unread,
                                last_message: r.last_message,
                            })
                        })
                        .collect()
                }

                async fn mark_read(
                    &self,
                    org: OrgId,
                    user: UserId,
                    conversation: ConversationId,
                    at: DateTime<Utc>,
                ) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO conversation_reads (org_id, user_id, conversation_id, read_at) \
                         SELECT org_id, $3, id, $4 FROM conversations WHERE org_id = $1 AND id = $2 \
                         ON CONFLICT (user_id, conversation_id) DO UPDATE SET read_at = excluded.read_at",
                    )
                    .bind(org.0)
                    .bind(conversation.0)
                    .bind(user.0)
                    .bind(at)
                    .execute(self.writer().await?.connection())
                    .await?;
                    Ok(())
                }

                async fn unnotified_handovers(
                    &self,
                    before: DateTime<Utc>,
                    limit: u32,
                ) -> Result<Vec<Handover>> {
                    let rows: Vec<HandoverRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {HANDOVER_COLUMNS} FROM handovers \
                         WHERE resolved_at IS NULL AND assigned_agent_id IS NULL AND notified_at IS NULL \
                         AND requested_at < $1 ORDER BY requested_at LIMIT $2"
                    )))
                    .bind(before)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter().map(HandoverRow::into_domain).collect()
                }

                async fn mark_handover_notified(
                    &self,
                    org: OrgId,
                    handover: HandoverId,
                    at: DateTime<Utc>,
                ) -> Result<bool> {
                    let done = sqlx::query(
                        "UPDATE handovers SET notified_at = $3 WHERE org_id = $1 AND id = $2 AND notified_at IS NULL",
                    )
                    .bind(org.0)
                    .bind(handover.0)
                    .bind(at)
                    .execute(self.writer().await?.connection())
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn agent_present(
                    &self,
                    org: OrgId,
                    user: UserId,
                    connection: ConnectionId,
                    at: DateTime<Utc>,
                ) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO agent_presence (connection_id, org_id, user_id, seen_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (connection_id) DO UPDATE SET seen_at = excluded.seen_at",
                    )
                    .bind(connection.0)
                    .bind(org.0)
                    .bind(user.0)
                    .bind(at)
                    .execute(self.writer().await?.connection())
                    .await?;
                    Ok(())
                }

                async fn agent_gone(&self, connection: ConnectionId) -> Result<()> {
                    sqlx::query("DELETE FROM agent_presence WHERE connection_id = $1")
                        .bind(connection.0)
                        .execute(self.writer().await?.connection())
                        .await?;
                    Ok(())
                }

                async fn agents_online(&self, org: OrgId, since: DateTime<Utc>) -> Result<Vec<UserId>> {
                    let rows: Vec<Uuid> = sqlx::query_scalar(
                        "SELECT DISTINCT user_id FROM agent_presence WHERE org_id = $1 AND seen_at >= $2",
                    )
                    .bind(org.0)
                    .bind(since)
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows.into_iter().map(UserId).collect())
                }

                async fn agent_loads(&self, org: OrgId) -> Result<Vec<$crate::AgentLoad>> {
                    let open: Vec<(Uuid, i64)> = sqlx::query_as(
                        "SELECT assigned_agent_id, COUNT(*) FROM conversations \
                         WHERE org_id = $1 AND status = 'human' AND assigned_agent_id IS NOT NULL \
                         GROUP BY assigned_agent_id",
                    )
                    .bind(org.0)
                    .fetch_all(&self.pool)
                    .await?;
                    let last: Vec<(Uuid, Option<DateTime<Utc>>)> = sqlx::query_as(
                        "SELECT assigned_agent_id, MAX(assigned_at) FROM handovers \
                         WHERE org_id = $1 AND assigned_agent_id IS NOT NULL GROUP BY assigned_agent_id",
                    )
                    .bind(org.0)
                    .fetch_all(&self.pool)
                    .await?;
                    let mut loads: std::collections::BTreeMap<Uuid, $crate::AgentLoad> = last
                        .into_iter()
                        .map(|(user, at)| {
                            (user, $crate::AgentLoad { user: UserId(user), open: 0, last_assigned_at: at })
                        })
                        .collect();
                    for (user, n) in open {
                        loads
                            .entry(user)
                            .or_insert($crate::AgentLoad { user: UserId(user), open: 0, last_assigned_at: None })
                            .open = n.max(0) as u64;
                    }
                    Ok(loads.into_values().collect())
                }

                async fn canned_replies(&self, org: OrgId) -> Result<Vec<CannedReply>> {
                    let rows: Vec<CannedRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {CANNED_COLUMNS} FROM canned_replies WHERE org_id = $1 ORDER BY shortcut"
                    )))
                    .bind(org.0)
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows.into_iter().map(CannedRow::into_domain).collect())
                }

                async fn create_canned_reply(
                    &self,
                    org: OrgId,
                    shortcut: &str,
                    content: &str,
                    by: Option<UserId>,
                    at: DateTime<Utc>,
                ) -> Result<CannedReply> {
                    let row: CannedRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO canned_replies ({CANNED_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $6) \
                         RETURNING {CANNED_COLUMNS}"
                    )))
                    .bind(CannedReplyId::generate().0)
                    .bind(org.0)
                    .bind(shortcut)
                    .bind(content)
                    .bind(by.map(|u| u.0))
                    .bind(at)
                    .fetch_one(self.writer().await?.connection())
                    .await?;
                    Ok(row.into_domain())
                }

                async fn update_canned_reply(
                    &self,
                    org: OrgId,
                    id: CannedReplyId,
                    shortcut: &str,
                    content: &str,
                    at: DateTime<Utc>,
                ) -> Result<Option<CannedReply>> {
                    let row: Option<CannedRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "UPDATE canned_replies SET shortcut = $3, content = $4, updated_at = $5 \
                         WHERE org_id = $1 AND id = $2 RETURNING {CANNED_COLUMNS}"
                    )))
                    .bind(org.0)
                    .bind(id.0)
                    .bind(shortcut)
                    .bind(content)
                    .bind(at)
                    .fetch_optional(self.writer().await?.connection())
                    .await?;
                    Ok(row.map(CannedRow::into_domain))
                }

                async fn delete_canned_reply(&self, org: OrgId, id: CannedReplyId) -> Result<bool> {
                    let done = sqlx::query("DELETE FROM canned_replies WHERE org_id = $1 AND id = $2")
                        .bind(org.0)
                        .bind(id.0)
                        .execute(self.writer().await?.connection())
                        .await?;
                    Ok(done.rows_affected() > 0)
                }
            }
        };
    };
}
