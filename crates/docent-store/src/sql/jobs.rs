//! The job queue (DESIGN §6): the statements both backends run (see [`crate::sql`]).

/// Expands, in a backend, its `impl` of this area's store trait.
#[macro_export]
#[doc(hidden)]
macro_rules! jobs_sql {
    ($store:ident, $db:ty, claim_lock = $claim_lock:literal) => {
        const _: () = {
            use $crate::sql::__support::*;

            #[async_trait]
            impl JobQueue for $store {
                async fn enqueue_job(&self, job: NewJob, now: DateTime<Utc>) -> Result<Job> {
                    let row: Option<JobRow> = sqlx::query_as(concat!(
                        "INSERT INTO processing_jobs (id, org_id, chat_space_id, document_id, job_type, run_after, \
                         created_at, payload, dedupe_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                         ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL AND status IN ('pending', 'running') \
                         DO NOTHING RETURNING ",
                        $crate::job_columns!()
                    ))
                    .bind(JobId::generate().0)
                    .bind(job.org_id.map(|id| id.0))
                    .bind(job.chat_space_id.map(|id| id.0))
                    .bind(job.document_id.map(|id| id.0))
                    .bind(job.kind.as_str())
                    .bind(job.run_after.unwrap_or(now))
                    .bind(now)
                    .bind(Json(&job.payload))
                    .bind(job.key.as_deref())
                    .fetch_optional(&self.pool)
                    .await?;
                    match (row, &job.key) {
                        (Some(row), _) => row.into_domain(),
                        (None, Some(key)) => self.find_job_by_key(key).await?.ok_or_else(|| {
                            $crate::StoreError::Corrupt(format!("job {key} is neither new nor queued"))
                        }),
                        (None, None) => Err($crate::StoreError::Corrupt(
                            "an unkeyed job was not queued".into(),
                        )),
                    }
                }

                async fn claim_job(
                    &self,
                    worker: &str,
                    now: DateTime<Utc>,
                    lease_until: DateTime<Utc>,
                ) -> Result<Option<Job>> {
                    let row: Option<JobRow> = sqlx::query_as(concat!(
                        "UPDATE processing_jobs SET status = 'running', locked_by = $1, locked_until = $3, \
                         attempts = attempts + 1, started_at = COALESCE(started_at, $2) \
                         WHERE id = (SELECT id FROM processing_jobs \
                                     WHERE (status = 'pending' AND run_after <= $2) OR (status = 'running' AND locked_until < $2) \
                                     ORDER BY run_after, id LIMIT 1", $claim_lock, ") RETURNING ",
                        $crate::job_columns!()
                    ))
                    .bind(worker)
                    .bind(now)
                    .bind(lease_until)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(JobRow::into_domain).transpose()
                }

                async fn heartbeat_job(
                    &self,
                    id: JobId,
                    worker: &str,
                    lease_until: DateTime<Utc>,
                    progress: i32,
                ) -> Result<bool> {
                    let done = sqlx::query(
                        "UPDATE processing_jobs SET locked_until = $3, progress = $4 \
                         WHERE id = $1 AND locked_by = $2 AND status = 'running'",
                    )
                    .bind(id.0)
                    .bind(worker)
                    .bind(lease_until)
                    .bind(progress)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn finish_job(
                    &self,
                    id: JobId,
                    worker: &str,
                    outcome: JobOutcome,
                    now: DateTime<Utc>,
                ) -> Result<bool> {
                    let (status, message, run_after) = finished(&outcome);
                    let done = sqlx::query(
                        "UPDATE processing_jobs SET status = $3, error_message = $4, run_after = COALESCE($5, run_after), \
                         locked_by = NULL, locked_until = NULL, progress = CASE WHEN $3 = 'completed' THEN 100 ELSE progress END, \
                         completed_at = CASE WHEN $3 IN ('completed', 'failed') THEN $6 ELSE NULL END \
                         WHERE id = $1 AND locked_by = $2 AND status = 'running'",
                    )
                    .bind(id.0)
                    .bind(worker)
                    .bind(status.as_str())
                    .bind(message)
                    .bind(run_after)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn list_jobs(&self, org: OrgId, document: DocumentId) -> Result<Vec<Job>> {
                    let rows: Vec<JobRow> = sqlx::query_as(concat!(
                        "SELECT ",
                        $crate::job_columns!(),
                        " FROM processing_jobs WHERE org_id = $1 AND document_id = $2 ORDER BY id DESC"
                    ))
                    .bind(org.0)
                    .bind(document.0)
                    .fetch_all(&self.pool)
                    .await?;
                    all(rows, JobRow::into_domain)
                }

                async fn find_job_by_key(&self, key: &str) -> Result<Option<Job>> {
                    let row: Option<JobRow> = sqlx::query_as(concat!(
                        "SELECT ",
                        $crate::job_columns!(),
                        " FROM processing_jobs WHERE dedupe_key = $1 AND status IN ('pending', 'running')"
                    ))
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(JobRow::into_domain).transpose()
                }
            }
        };
    };
}
