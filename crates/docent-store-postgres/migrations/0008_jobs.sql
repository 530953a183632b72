-- One queue for every kind of background work (DESIGN §6): a job may concern no document,
-- no chat space and no organization; its payload is JSON, `{}` when it needs nothing; a
-- keyed job exists at most once while pending or running (schedules).
ALTER TABLE processing_jobs ALTER COLUMN org_id DROP NOT NULL;
ALTER TABLE processing_jobs ALTER COLUMN chat_space_id DROP NOT NULL;
ALTER TABLE processing_jobs ALTER COLUMN document_id DROP NOT NULL;
UPDATE processing_jobs SET payload = '{}'::jsonb WHERE payload IS NULL;
ALTER TABLE processing_jobs ALTER COLUMN payload SET DEFAULT '{}'::jsonb;
ALTER TABLE processing_jobs ALTER COLUMN payload SET NOT NULL;
ALTER TABLE processing_jobs ADD COLUMN dedupe_key TEXT;
CREATE UNIQUE INDEX processing_jobs_key_idx ON processing_jobs (dedupe_key)
    WHERE dedupe_key IS NOT NULL AND status IN ('pending', 'running');
