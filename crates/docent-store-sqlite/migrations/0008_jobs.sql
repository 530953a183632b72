-- One queue for every kind of background work (DESIGN §6): a job may concern no document,
-- no chat space and no organization; its payload is JSON, `{}` when it needs nothing; a
-- keyed job exists at most once while pending or running (schedules). SQLite cannot drop a
-- NOT NULL, so the table is rebuilt with its rows.
CREATE TABLE processing_jobs_new (
    id BLOB PRIMARY KEY,
    org_id BLOB REFERENCES organizations (id) ON DELETE CASCADE,
    chat_space_id BLOB REFERENCES chat_spaces (id) ON DELETE CASCADE,
    document_id BLOB REFERENCES documents (id) ON DELETE CASCADE,
    job_type TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'completed', 'failed')),
    progress INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    run_after TEXT NOT NULL,
    locked_by TEXT,
    locked_until TEXT,
    error_message TEXT,
    started_at TEXT,
    completed_at TEXT,
    created_at TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    dedupe_key TEXT
);
INSERT INTO processing_jobs_new (id, org_id, chat_space_id, document_id, job_type, status, progress,
    attempts, run_after, locked_by, locked_until, error_message, started_at, completed_at, created_at, payload)
SELECT id, org_id, chat_space_id, document_id, job_type, status, progress, attempts, run_after,
    locked_by, locked_until, error_message, started_at, completed_at, created_at, COALESCE(payload, '{}')
FROM processing_jobs;
DROP TABLE processing_jobs;
ALTER TABLE processing_jobs_new RENAME TO processing_jobs;
CREATE INDEX processing_jobs_ready_idx ON processing_jobs (status, run_after);
CREATE INDEX processing_jobs_document_idx ON processing_jobs (document_id);
CREATE UNIQUE INDEX processing_jobs_key_idx ON processing_jobs (dedupe_key)
    WHERE dedupe_key IS NOT NULL AND status IN ('pending', 'running');
