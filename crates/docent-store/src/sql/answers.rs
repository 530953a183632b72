//! Conversations, messages, usage counters and knowledge gaps: the statements both backends run (see [`crate::sql`]).

/// Expands, in a backend, its `impl` of this area's store trait.
#[macro_export]
#[doc(hidden)]
macro_rules! answers_sql {
    (
        $store:ident,
        $db:ty,
        day = $day:literal,
        text_match = $text_match:literal,
        term_quote = $term_quote:literal,
        term_join = $term_join:literal,
        after_erase = $after_erase:literal
    ) => {
        const _: () = {
            use $crate::sql::__support::*;

            #[cfg(feature = "testing")]
            impl $store {
                /// Moves a conversation and its messages to `at`, for tests that make weeks
                /// of traffic in a minute (analytics count conversations by the day they began).
                pub async fn move_conversation(&self, id: ConversationId, at: DateTime<Utc>) -> Result<()> {
                    let mut writer = self.writer().await?;
                    let mut tx = writer.begin().await?;
                    sqlx::query("UPDATE conversations SET created_at = $2, last_activity_at = $2 WHERE id = $1")
                        .bind(id.0)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("UPDATE messages SET created_at = $2 WHERE conversation_id = $1")
                        .bind(id.0)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                }
            }

            /// The conversations analytics count, as `c`: `$1` the organization, from `$2`
            /// to before `$3`, in the chat spaces `$4`, `$5`, … when there are `spaces` (of
            /// all of the organization's when `None`).
            fn analytics_scope(spaces: Option<usize>) -> String {
                let mut scope = "c.org_id = $1 AND c.channel <> 'playground' \
                                 AND c.created_at >= $2 AND c.created_at < $3"
                    .to_owned();
                if let Some(n) = spaces {
                    let ids: Vec<String> = (0..n).map(|i| format!("${}", i + 4)).collect();
                    scope.push_str(&format!(" AND c.chat_space_id IN ({})", ids.join(", ")));
                }
                scope
            }

            #[async_trait]
            impl AnswerStore for $store {
                async fn find_conversations(
                    &self,
                    org: OrgId,
                    chat_space: ChatSpaceId,
                    filter: &$crate::ConversationFilter,
                    page: Page<ConversationId>,
                ) -> Result<Vec<Conversation>> {
                    // Words to find: each a plain term of the backend's full-text index (the
                    // statement names `$10` only when there are some).
                    let terms = filter.text.as_deref().map(search_terms).filter(|t| !t.is_empty());
                    let text = terms.as_ref().map(|t| {
                        t.iter()
                            .map(|w| format!("{}{w}{}", $term_quote, $term_quote))
                            .collect::<Vec<_>>()
                            .join($term_join)
                    });
                    let text_clause = if text.is_some() { $text_match } else { "$10 IS NULL" };
                    let rows: Vec<ConversationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM conversations WHERE org_id = $1 AND chat_space_id = $2 \
                         AND ($3 IS NULL OR id < $3) \
                         AND ($5 IS NULL OR status = $5) AND ($6 IS NULL OR created_at >= $6) \
                         AND ($7 IS NULL OR created_at < $7) \
                         AND ($8 IS NULL OR EXISTS (SELECT 1 FROM messages m WHERE m.org_id = $1 \
                         AND m.conversation_id = conversations.id AND m.feedback = $8)) \
                         AND ($9 IS NULL OR visitor_id = $9 OR end_user_email = $9 \
                         OR visitor_id IN (SELECT l.visitor_id FROM leads l WHERE l.org_id = $1 \
                         AND l.chat_space_id = $2 AND l.email = $9) \
                         OR visitor_id IN (SELECT c.visitor_id FROM conversations c WHERE c.org_id = $1 \
                         AND c.chat_space_id = $2 AND c.end_user_email = $9)) \
                         AND {text_clause} \
                         AND (NOT $11 OR EXISTS (SELECT 1 FROM messages m WHERE m.org_id = $1 \
                         AND m.conversation_id = conversations.id AND m.answer_kind = 'dont_know')) \
                         AND (NOT $12 OR EXISTS (SELECT 1 FROM handovers h WHERE h.conversation_id = conversations.id)) \
                         ORDER BY id DESC LIMIT $4",
                        $crate::conversation_columns!(),
                    )))
                    .bind(org.0)
                    .bind(chat_space.0)
                    .bind(page.cursor.map(|c| c.0))
                    .bind(i64::from(page.limit))
                    .bind(filter.status.map(ConversationStatus::as_str))
                    .bind(filter.since)
                    .bind(filter.before)
                    .bind(filter.feedback.map(Feedback::as_str))
                    .bind(filter.visitor.as_deref())
                    .bind(text)
                    .bind(filter.unanswered)
                    .bind(filter.handed_over)
                    .fetch_all(&self.pool)
                    .await?;
                    all(rows, ConversationRow::into_domain)
                }

                async fn conversation_channels(
                    &self,
                    org: OrgId,
                    chat_space: ChatSpaceId,
                ) -> Result<Vec<Channel>> {
                    let names: Vec<String> = sqlx::query_scalar(
                        "SELECT DISTINCT channel FROM conversations \
                         WHERE org_id = $1 AND chat_space_id = $2 ORDER BY channel",
                    )
                    .bind(org.0)
                    .bind(chat_space.0)
                    .fetch_all(&self.pool)
                    .await?;
                    names
                        .iter()
                        .map(|n| parse("channel", n, Channel::parse))
                        .collect()
                }

                async fn close_conversation(
                    &self,
                    org: OrgId,
                    id: ConversationId,
                    at: DateTime<Utc>,
                ) -> Result<bool> {
                    let done = sqlx::query(
                        "UPDATE conversations SET status = 'closed', closed_at = $3 \
                         WHERE org_id = $1 AND id = $2 AND status NOT IN ('closed', 'archived')",
                    )
                    .bind(org.0)
                    .bind(id.0)
                    .bind(at)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn close_idle_conversations(
                    &self,
                    channel: Channel,
                    quiet_since: DateTime<Utc>,
                    at: DateTime<Utc>,
                ) -> Result<Vec<Conversation>> {
                    let rows: Vec<ConversationRow> = sqlx::query_as(concat!(
                        "UPDATE conversations SET status = 'closed', closed_at = $3 \
                         WHERE channel = $1 AND status = 'active' AND last_activity_at < $2 RETURNING ",
                        $crate::conversation_columns!()
                    ))
                    .bind(channel.as_str())
                    .bind(quiet_since)
                    .bind(at)
                    .fetch_all(self.writer().await?.connection())
                    .await?;
                    all(rows, ConversationRow::into_domain)
                }

                async fn identify_visitor(
                    &self,
                    org: OrgId,
                    id: ConversationId,
                    name: Option<String>,
                    email: Option<String>,
                ) -> Result<bool> {
                    let done = sqlx::query(
                        "UPDATE conversations SET end_user_name = COALESCE($3, end_user_name), \
                         end_user_email = COALESCE($4, end_user_email) WHERE org_id = $1 AND id = $2",
                    )
                    .bind(org.0)
                    .bind(id.0)
                    .bind(name)
                    .bind(email)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn set_feedback(
                    &self,
                    org: OrgId,
                    conversation: ConversationId,
                    message: MessageId,
                    feedback: Option<Feedback>,
                ) -> Result<Option<Message>> {
                    let mut writer = self.writer().await?;
                    let mut tx = writer.begin().await?;
                    let before: Option<(Option<String>, DateTime<Utc>)> = sqlx::query_as(
                        "SELECT feedback, created_at FROM messages \
                         WHERE org_id = $1 AND conversation_id = $2 AND id = $3 AND role = 'assistant'",
                    )
                    .bind(org.0)
                    .bind(conversation.0)
                    .bind(message.0)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some((before, created_at)) = before else {
                        return Ok(None);
                    };
                    let row: MessageRow = sqlx::query_as(concat!(
                        "UPDATE messages SET feedback = $2 WHERE id = $1 RETURNING ",
                        $crate::message_columns!()
                    ))
                    .bind(message.0)
                    .bind(feedback.map(Feedback::as_str))
                    .fetch_one(&mut *tx)
                    .await?;
                    let before = before
                        .map(|f| parse("feedback", &f, Feedback::parse))
                        .transpose()?;
                    let (up, down) = feedback_delta(before, feedback);
                    if (up, down) != (0, 0) {
                        sqlx::query(
                            "INSERT INTO usage_daily (org_id, chat_space_id, date, feedback_up, feedback_down) \
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (chat_space_id, date) DO UPDATE SET \
                             feedback_up = usage_daily.feedback_up + $4, feedback_down = usage_daily.feedback_down + $5",
                        )
                        .bind(org.0)
                        .bind(row.chat_space_id)
                        .bind(created_at.date_naive())
                        .bind(up)
                        .bind(down)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    row.into_domain().map(Some)
                }

                async fn list_messages(
                    &self,
                    org: OrgId,
                    conversation: ConversationId,
                    after: Option<MessageId>,
                    limit: u32,
                ) -> Result<Vec<Message>> {
                    let rows: Vec<MessageRow> = sqlx::query_as(concat!(
                        "SELECT ",
                        $crate::message_columns!(),
                        " FROM messages WHERE org_id = $1 AND conversation_id = $2 AND ($3 IS NULL OR id > $3) \
                         ORDER BY id LIMIT $4"
                    ))
                    .bind(org.0)
                    .bind(conversation.0)
                    .bind(after.map(|a| a.0))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    all(rows, MessageRow::into_domain)
                }

                async fn messages_of_conversations(
                    &self,
                    org: OrgId,
                    chat_space: ChatSpaceId,
                    first: ConversationId,
                    last: ConversationId,
                    after: Option<(ConversationId, MessageId)>,
                    limit: u32,
                ) -> Result<Vec<Message>> {
                    let rows: Vec<MessageRow> = sqlx::query_as(concat!(
                        "SELECT ",
                        $crate::message_columns!(),
                        " FROM messages WHERE org_id = $1 AND chat_space_id = $2 \
                         AND conversation_id >= $3 AND conversation_id <= $4 \
                         AND ($5 IS NULL OR conversation_id > $5 OR (conversation_id = $5 AND id > $6)) \
                         ORDER BY conversation_id, id LIMIT $7"
                    ))
                    .bind(org.0)
                    .bind(chat_space.0)
                    .bind(first.0)
                    .bind(last.0)
                    .bind(after.map(|(c, _)| c.0))
                    .bind(after.map(|(_, m)| m.0))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    all(rows, MessageRow::into_domain)
                }

                async fn analytics_days(
                    &self,
                    org: OrgId,
                    chat_spaces: Option<&[ChatSpaceId]>,
                    since: DateTime<Utc>,
                    before: DateTime<Utc>,
                ) -> Result<$crate::AnalyticsDays> {
                    if chat_spaces.is_some_and(|s| s.is_empty()) {
                        return Ok($crate::AnalyticsDays::default());
                    }
                    // The conversations counted, as `c`: one text for the four statements, with
                    // the chat spaces' condition only when there is one (so that the index on
                    // org, chat space and start serves the range).
                    let counted = analytics_scope(chat_spaces.map(<[_]>::len));
                    let spaces = chat_spaces.unwrap_or_default();
                    let sum = |what: &str| format!("CAST(COALESCE(SUM({what}), 0) AS BIGINT)");
                    let count_if = |what: &str| sum(&format!("CASE WHEN {what} THEN 1 ELSE 0 END"));
                    let handed = "EXISTS (SELECT 1 FROM handovers h WHERE h.conversation_id = c.id)";
                    let conversations = sqlx::query_as::<_, (String, i64, i64, i64, i64)>(sqlx::AssertSqlSafe(format!(
                        "SELECT {day} AS day, COUNT(*), {handovers}, COUNT(DISTINCT c.visitor_id), {bot_resolved} \
                         FROM conversations c WHERE {counted} GROUP BY day ORDER BY day",
                        day = $day,
                        handovers = count_if(handed),
                        bot_resolved = count_if(&format!(
                            "NOT {handed} AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id \
                             AND m.role = 'assistant' AND (m.answer_kind = 'dont_know' OR m.feedback = 'down'))"
                        )),
                        counted = &counted,
                    )))
                    .bind(org.0)
                    .bind(since)
                    .bind(before);
                    let conversations = spaces
                        .iter()
                        .fold(conversations, |q, s| q.bind(s.0))
                        .fetch_all(&self.pool)
                        .await?;
                    let messages = sqlx::query_as::<_, DayCountsRow>(sqlx::AssertSqlSafe(format!(
                        "SELECT {day} AS day, CAST(0 AS BIGINT) AS conversations, CAST(0 AS BIGINT) AS handovers, COUNT(*) AS messages, \
                         {user} AS visitor_messages, {assistant} AS answers, {tokens_in} AS tokens_in, \
                         {tokens_out} AS tokens_out, {cost} AS cost_micro_usd, {up} AS feedback_up, \
                         {down} AS feedback_down, {unanswered} AS unanswered, CAST(0 AS BIGINT) AS visitors, \
                         CAST(0 AS BIGINT) AS bot_resolved \
                         FROM messages m JOIN conversations c ON c.id = m.conversation_id \
                         WHERE m.org_id = $1 AND {counted} GROUP BY day ORDER BY day",
                        day = $day,
                        user = count_if("m.role = 'user'"),
                        assistant = count_if("m.role = 'assistant'"),
                        tokens_in = sum("m.tokens_in"),
                        tokens_out = sum("m.tokens_out"),
                        cost = sum("m.cost_micro_usd"),
                        up = count_if("m.feedback = 'up'"),
                        down = count_if("m.feedback = 'down'"),
                        unanswered = count_if("m.answer_kind = 'dont_know'"),
                        counted = &counted,
                    )))
                    .bind(org.0)
                    .bind(since)
                    .bind(before);
                    let messages = spaces
                        .iter()
                        .fold(messages, |q, s| q.bind(s.0))
                        .fetch_all(&self.pool)
                        .await?;
                    let spread = |column: &str| {
                        format!(
                            "SELECT {day} AS day, m.{column}, COUNT(*) FROM messages m \
                             JOIN conversations c ON c.id = m.conversation_id \
                             WHERE m.org_id = $1 AND m.role = 'assistant' AND m.{column} IS NOT NULL AND {counted} \
                             GROUP BY day, m.{column} ORDER BY day",
                            day = $day,
                            counted = &counted,
                        )
                    };
                    let response_ms = sqlx::query_as::<_, (String, i64, i64)>(sqlx::AssertSqlSafe(spread("processing_time_ms")))
                        .bind(org.0)
                        .bind(since)
                        .bind(before);
                    let response_ms = spaces
                        .iter()
                        .fold(response_ms, |q, s| q.bind(s.0))
                        .fetch_all(&self.pool)
                        .await?;
                    let confidence = sqlx::query_as::<_, (String, f64, i64)>(sqlx::AssertSqlSafe(spread("confidence")))
                        .bind(org.0)
                        .bind(since)
                        .bind(before);
                    let confidence = spaces
                        .iter()
                        .fold(confidence, |q, s| q.bind(s.0))
                        .fetch_all(&self.pool)
                        .await?;
                    let handovers = sqlx::query_as::<_, (String, DateTime<Utc>, Option<DateTime<Utc>>, Option<DateTime<Utc>>)>(sqlx::AssertSqlSafe(format!(
                        "SELECT {day} AS day, h.requested_at, h.first_agent_reply_at, h.resolved_at \
                         FROM handovers h JOIN conversations c ON c.id = h.conversation_id \
                         WHERE h.org_id = $1 AND {counted} ORDER BY day",
                        day = $day,
                        counted = &counted,
                    )))
                    .bind(org.0)
                    .bind(since)
                    .bind(before);
                    let handovers = spaces
                        .iter()
                        .fold(handovers, |q, s| q.bind(s.0))
                        .fetch_all(&self.pool)
                        .await?
                        .into_iter()
                        .map(|(day, requested_at, first_agent_reply_at, resolved_at)| {
                            Ok($crate::HandoverTimes {
                                day: day_of(&day)?,
                                requested_at,
                                first_agent_reply_at,
                                resolved_at,
                            })
                        })
                        .collect::<Result<Vec<_>>>()?;
                    // A day's conversations and its messages' sums, side by side.
                    let mut sums: std::collections::BTreeMap<String, DayCountsRow> = messages
                        .into_iter()
                        .map(|m| (m.day.clone(), m))
                        .collect();
                    let mut days = Vec::with_capacity(conversations.len());
                    for (day, count, handovers, visitors, bot_resolved) in conversations {
                        let mut row = sums.remove(&day).unwrap_or(DayCountsRow {
                            day: day.clone(),
                            conversations: 0,
                            handovers: 0,
                            messages: 0,
                            visitor_messages: 0,
                            answers: 0,
                            tokens_in: 0,
                            tokens_out: 0,
                            cost_micro_usd: 0,
                            feedback_up: 0,
                            feedback_down: 0,
                            unanswered: 0,
                            visitors: 0,
                            bot_resolved: 0,
                        });
                        row.conversations = count;
                        row.handovers = handovers;
                        row.visitors = visitors;
                        row.bot_resolved = bot_resolved;
                        days.push(row.into_domain()?);
                    }
                    fn spread_of<T>(rows: Vec<(String, T, i64)>) -> Result<Vec<(NaiveDate, T, u64)>> {
                        rows.into_iter()
                            .map(|(day, value, n)| Ok((day_of(&day)?, value, n.max(0) as u64)))
                            .collect()
                    }
                    Ok($crate::AnalyticsDays {
                        days,
                        response_ms: spread_of(response_ms)?,
                        confidence: spread_of(confidence)?,
                        handovers,
                    })
                }

                async fn count_visitors(
                    &self,
                    org: OrgId,
                    chat_spaces: Option<&[ChatSpaceId]>,
                    since: DateTime<Utc>,
                    before: DateTime<Utc>,
                ) -> Result<u64> {
                    if chat_spaces.is_some_and(|s| s.is_empty()) {
                        return Ok(0);
                    }
                    let query = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
                        "SELECT COUNT(DISTINCT c.visitor_id) FROM conversations c WHERE {}",
                        analytics_scope(chat_spaces.map(<[_]>::len))
                    )))
                    .bind(org.0)
                    .bind(since)
                    .bind(before);
                    let n = chat_spaces
                        .unwrap_or_default()
                        .iter()
                        .fold(query, |q, s| q.bind(s.0))
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(n.max(0) as u64)
                }

                async fn erase_conversations(
                    &self,
                    org: OrgId,
                    chat_space: ChatSpaceId,
                    erase: &$crate::Erase,
                ) -> Result<u64> {
                    let (quiet_since, visitor) = match erase {
                        $crate::Erase::QuietSince(at) => (Some(*at), None),
                        $crate::Erase::Visitor(v) => (None, Some(v.as_str())),
                    };
                    let mut writer = self.writer().await?;
                    let mut tx = writer.begin().await?;
                    let done = sqlx::query(
                        "DELETE FROM conversations WHERE org_id = $1 AND chat_space_id = $2 \
                         AND ($3 IS NULL OR last_activity_at < $3) \
                         AND ($4 IS NULL OR visitor_id = $4 OR end_user_email = $4) \
                         AND ($3 IS NOT NULL OR $4 IS NOT NULL)",
                    )
                    .bind(org.0)
                    .bind(chat_space.0)
                    .bind(quiet_since)
                    .bind(visitor)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() > 0 {
                        sqlx::query(
                            "DELETE FROM question_groups WHERE org_id = $1 AND chat_space_id = $2 \
                             AND NOT EXISTS (SELECT 1 FROM grouped_questions q WHERE q.group_id = question_groups.id)",
                        )
                        .bind(org.0)
                        .bind(chat_space.0)
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query(
                            "UPDATE question_groups SET label = (SELECT q.question FROM grouped_questions q \
                             WHERE q.group_id = question_groups.id ORDER BY q.asked_at, q.message_id LIMIT 1) \
                             WHERE org_id = $1 AND chat_space_id = $2 AND NOT EXISTS (SELECT 1 FROM \
                             grouped_questions q WHERE q.group_id = question_groups.id AND q.question = question_groups.label)",
                        )
                        .bind(org.0)
                        .bind(chat_space.0)
                        .execute(&mut *tx)
                        .await?;
                        // What the backend's own indexes still hold of the erased text.
                        if !$after_erase.is_empty() {
                            sqlx::query($after_erase).execute(&mut *tx).await?;
                        }
                    }
                    tx.commit().await?;
                    Ok(done.rows_affected())
                }

                async fn retention_days(&self) -> Result<Vec<(OrgId, ChatSpaceId, i32)>> {
                    let rows: Vec<(Uuid, Uuid, i32)> = sqlx::query_as(
                        "SELECT org_id, id, retention_days FROM chat_spaces WHERE retention_days IS NOT NULL ORDER BY id",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows
                        .into_iter()
                        .map(|(org, id, days)| (OrgId(org), ChatSpaceId(id), days))
                        .collect())
                }

                async fn usage_days(
                    &self,
                    org: OrgId,
                    chat_space: ChatSpaceId,
                    since: NaiveDate,
                ) -> Result<Vec<UsageDay>> {
                    let rows: Vec<UsageDayRow> = sqlx::query_as(
                        "SELECT date, messages, conversations, tokens, cost, feedback_up, feedback_down FROM usage_daily \
                         WHERE org_id = $1 AND chat_space_id = $2 AND date >= $3 ORDER BY date",
                    )
                    .bind(org.0)
                    .bind(chat_space.0)
                    .bind(since)
                    .fetch_all(&self.pool)
                    .await?;
                    all(rows, UsageDayRow::into_domain)
                }
            }
        };
    };
}
