//! Question groups: the statements both backends run (see [`crate::sql`]).

/// Expands, in a backend, its `impl` of this area's store trait.
#[macro_export]
#[doc(hidden)]
macro_rules! insights_sql {
    ($store:ident, $db:ty) => {
        const _: () = {
            use $crate::sql::__support::*;
            use $crate::{GroupedQuestion, QuestionGroup, QuestionToGroup};

            #[derive(sqlx::FromRow)]
            struct GroupRow {
                id: Uuid,
                org_id: Uuid,
                chat_space_id: Uuid,
                label: String,
                terms: Json<std::collections::BTreeMap<String, u32>>,
                vector: Option<Json<Vec<f32>>>,
                questions: i64,
                resolved_at: Option<DateTime<Utc>>,
                resolved_by_document_id: Option<Uuid>,
                created_at: DateTime<Utc>,
                last_asked_at: DateTime<Utc>,
            }

            impl GroupRow {
                fn into_domain(self) -> QuestionGroup {
                    QuestionGroup {
                        id: QuestionGroupId(self.id),
                        org_id: OrgId(self.org_id),
                        chat_space_id: ChatSpaceId(self.chat_space_id),
                        label: self.label,
                        terms: self.terms.0,
                        vector: self.vector.map(|v| v.0),
                        questions: self.questions,
                        resolved_at: self.resolved_at,
                        resolved_by_document_id: self.resolved_by_document_id.map(DocumentId),
                        created_at: self.created_at,
                        last_asked_at: self.last_asked_at,
                    }
                }
            }

            const GROUP_COLUMNS: &str = "id, org_id, chat_space_id, label, terms, vector, questions, \
                resolved_at, resolved_by_document_id, created_at, last_asked_at";

            #[derive(sqlx::FromRow)]
            struct ToGroupRow {
                id: Uuid,
                org_id: Uuid,
                chat_space_id: Uuid,
                conversation_id: Uuid,
                content: String,
                created_at: DateTime<Utc>,
                answer_id: Option<Uuid>,
            }

            #[derive(sqlx::FromRow)]
            struct GroupedRow {
                message_id: Uuid,
                group_id: Uuid,
                conversation_id: Uuid,
                question: String,
                asked_at: DateTime<Utc>,
                answer_kind: Option<String>,
                confidence: Option<f64>,
                feedback: Option<String>,
                handed_over: bool,
                rechecked_at: Option<DateTime<Utc>>,
                answered_now: Option<bool>,
            }

            #[async_trait]
            impl InsightStore for $store {
                async fn questions_to_group(
                    &self,
                    after: Option<MessageId>,
                    asked_before: DateTime<Utc>,
                    limit: u32,
                ) -> Result<Vec<QuestionToGroup>> {
                    let rows: Vec<ToGroupRow> = sqlx::query_as(
                        "SELECT m.id, m.org_id, m.chat_space_id, m.conversation_id, m.content, m.created_at, \
                         (SELECT a.id FROM messages a WHERE a.conversation_id = m.conversation_id \
                          AND a.role = 'assistant' AND a.id > m.id ORDER BY a.id LIMIT 1) AS answer_id \
                         FROM messages m JOIN conversations c ON c.id = m.conversation_id \
                         WHERE m.role = 'user' AND c.channel <> 'playground' AND ($1 IS NULL OR m.id > $1) \
                         AND m.created_at < $2 ORDER BY m.id LIMIT $3",
                    )
                    .bind(after.map(|a| a.0))
                    .bind(asked_before)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows
                        .into_iter()
                        .map(|r| QuestionToGroup {
                            message_id: MessageId(r.id),
                            org_id: OrgId(r.org_id),
                            chat_space_id: ChatSpaceId(r.chat_space_id),
                            conversation_id: ConversationId(r.conversation_id),
                            question: r.content,
                            asked_at: r.created_at,
                            answer_id: r.answer_id.map(MessageId),
                        })
                        .collect())
                }

                async fn grouping_watermark(&self) -> Result<Option<MessageId>> {
                    let id: Option<Option<Uuid>> = sqlx::query_scalar(
                        "SELECT last_message_id FROM question_grouping WHERE id = 1",
                    )
                    .fetch_optional(&self.pool)
                    .await?;
                    Ok(id.flatten().map(MessageId))
                }

                async fn question_groups(
                    &self,
                    org: OrgId,
                    chat_space: ChatSpaceId,
                ) -> Result<Vec<QuestionGroup>> {
                    let rows: Vec<GroupRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {GROUP_COLUMNS} FROM question_groups \
                         WHERE org_id = $1 AND chat_space_id = $2 ORDER BY id"
                    )))
                    .bind(org.0)
                    .bind(chat_space.0)
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows.into_iter().map(GroupRow::into_domain).collect())
                }

                async fn find_question_group(
                    &self,
                    org: OrgId,
                    id: QuestionGroupId,
                ) -> Result<Option<QuestionGroup>> {
                    let row: Option<GroupRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {GROUP_COLUMNS} FROM question_groups WHERE org_id = $1 AND id = $2"
                    )))
                    .bind(org.0)
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await?;
                    Ok(row.map(GroupRow::into_domain))
                }

                async fn save_grouping(
                    &self,
                    groups: &[QuestionGroup],
                    questions: &[(QuestionToGroup, QuestionGroupId)],
                    watermark: MessageId,
                ) -> Result<()> {
                    let mut writer = self.writer().await?;
                    let mut tx = writer.begin().await?;
                    for g in groups {
                        // A chat space deleted meanwhile takes its groups with it: nothing to
                        // write for it (the SELECT finds no chat space).
                        sqlx::query(
                            "INSERT INTO question_groups (id, org_id, chat_space_id, label, terms, vector, \
                             questions, created_at, last_asked_at) \
                             SELECT $1, org_id, id, $4, $5, $6, $7, $8, $9 FROM chat_spaces WHERE org_id = $2 AND id = $3 \
                             ON CONFLICT (id) DO UPDATE SET label = excluded.label, terms = excluded.terms, \
                             vector = excluded.vector, questions = excluded.questions, \
                             last_asked_at = excluded.last_asked_at",
                        )
                        .bind(g.id.0)
                        .bind(g.org_id.0)
                        .bind(g.chat_space_id.0)
                        .bind(&g.label)
                        .bind(Json(&g.terms))
                        .bind(g.vector.as_ref().map(Json))
                        .bind(g.questions)
                        .bind(g.created_at)
                        .bind(g.last_asked_at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    for (q, group) in questions {
                        // The question or its group may be gone (a conversation erased, a
                        // chat space deleted): then there is nothing to keep.
                        sqlx::query(
                            "INSERT INTO grouped_questions (message_id, org_id, chat_space_id, group_id, \
                             conversation_id, answer_id, question, asked_at) \
                             SELECT m.id, m.org_id, m.chat_space_id, g.id, m.conversation_id, \
                             (SELECT a.id FROM messages a WHERE a.id = $3), $4, $5 \
                             FROM messages m JOIN question_groups g ON g.id = $2 AND g.org_id = m.org_id \
                             WHERE m.id = $1 ON CONFLICT (message_id) DO NOTHING",
                        )
                        .bind(q.message_id.0)
                        .bind(group.0)
                        .bind(q.answer_id.map(|a| a.0))
                        .bind(&q.question)
                        .bind(q.asked_at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    sqlx::query("UPDATE question_grouping SET last_message_id = $1 WHERE id = 1")
                        .bind(watermark.0)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn grouped_questions(
                    &self,
                    org: OrgId,
                    chat_space: ChatSpaceId,
                    group: Option<QuestionGroupId>,
                    since: Option<DateTime<Utc>>,
                    before: Option<DateTime<Utc>>,
                ) -> Result<Vec<GroupedQuestion>> {
                    let rows: Vec<GroupedRow> = sqlx::query_as(
                        "SELECT q.message_id, q.group_id, q.conversation_id, q.question, q.asked_at, \
                         a.answer_kind, a.confidence, a.feedback, \
                         (c.status IN ('waiting_for_human', 'human') OR c.assigned_agent_id IS NOT NULL) AS handed_over, \
                         q.rechecked_at, q.answered_now \
                         FROM grouped_questions q JOIN conversations c ON c.id = q.conversation_id \
                         LEFT JOIN messages a ON a.id = q.answer_id \
                         WHERE q.org_id = $1 AND q.chat_space_id = $2 AND ($3 IS NULL OR q.group_id = $3) \
                         AND ($4 IS NULL OR q.asked_at >= $4) AND ($5 IS NULL OR q.asked_at < $5) \
                         ORDER BY q.asked_at, q.message_id",
                    )
                    .bind(org.0)
                    .bind(chat_space.0)
                    .bind(group.map(|g| g.0))
                    .bind(since)
                    .bind(before)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter()
                        .map(|r| {
                            Ok(GroupedQuestion {
                                message_id: MessageId(r.message_id),
                                group_id: QuestionGroupId(r.group_id),
                                conversation_id: ConversationId(r.conversation_id),
                                question: r.question,
                                asked_at: r.asked_at,
                                answer_kind: r
                                    .answer_kind
                                    .map(|k| parse("answer kind", &k, AnswerKind::parse))
                                    .transpose()?,
                                confidence: r.confidence,
                                feedback: r
                                    .feedback
                                    .map(|f| parse("feedback", &f, Feedback::parse))
                                    .transpose()?,
                                handed_over: r.handed_over,
                                rechecked_at: r.rechecked_at,
                                answered_now: r.answered_now,
                            })
                        })
                        .collect()
                }

                async fn rewrite_groups(&self, org: OrgId, groups: &[QuestionGroup]) -> Result<()> {
                    let mut writer = self.writer().await?;
                    let mut tx = writer.begin().await?;
                    for g in groups {
                        sqlx::query(
                            "UPDATE question_groups SET terms = $3, vector = $4, questions = $5 \
                             WHERE org_id = $1 AND id = $2",
                        )
                        .bind(org.0)
                        .bind(g.id.0)
                        .bind(Json(&g.terms))
                        .bind(g.vector.as_ref().map(Json))
                        .bind(g.questions)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn set_group_answer(
                    &self,
                    org: OrgId,
                    id: QuestionGroupId,
                    document: DocumentId,
                ) -> Result<bool> {
                    let done = sqlx::query(
                        "UPDATE question_groups SET resolved_by_document_id = $3 WHERE org_id = $1 AND id = $2",
                    )
                    .bind(org.0)
                    .bind(id.0)
                    .bind(document.0)
                    .execute(self.writer().await?.connection())
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn record_recheck(
                    &self,
                    org: OrgId,
                    id: QuestionGroupId,
                    results: &[(MessageId, bool)],
                    at: DateTime<Utc>,
                    resolved: bool,
                ) -> Result<()> {
                    let mut writer = self.writer().await?;
                    let mut tx = writer.begin().await?;
                    for (message, answered) in results {
                        sqlx::query(
                            "UPDATE grouped_questions SET rechecked_at = $4, answered_now = $5 \
                             WHERE org_id = $1 AND group_id = $2 AND message_id = $3",
                        )
                        .bind(org.0)
                        .bind(id.0)
                        .bind(message.0)
                        .bind(at)
                        .bind(*answered)
                        .execute(&mut *tx)
                        .await?;
                    }
                    if resolved {
                        sqlx::query("UPDATE question_groups SET resolved_at = $3 WHERE org_id = $1 AND id = $2")
                            .bind(org.0)
                            .bind(id.0)
                            .bind(at)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }
            }
        };
    };
}
