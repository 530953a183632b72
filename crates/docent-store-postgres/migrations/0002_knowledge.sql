-- Knowledge: stored files, chunks with full-text search, and the job queue (DESIGN §3, §6).

ALTER TABLE documents ADD COLUMN storage_key TEXT;

CREATE TABLE document_chunks (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    chat_space_id UUID NOT NULL REFERENCES chat_spaces (id) ON DELETE CASCADE,
    document_id UUID NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    chunk_index INTEGER NOT NULL,
    content TEXT NOT NULL,
    token_count INTEGER NOT NULL,
    embedding vector,
    metadata JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL,
    content_tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED
);
CREATE UNIQUE INDEX document_chunks_position_key ON document_chunks (document_id, chunk_index);
CREATE INDEX document_chunks_space_idx ON document_chunks (org_id, chat_space_id);
CREATE INDEX document_chunks_fts_idx ON document_chunks USING GIN (content_tsv);

CREATE TABLE processing_jobs (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    chat_space_id UUID NOT NULL REFERENCES chat_spaces (id) ON DELETE CASCADE,
    document_id UUID NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    job_type TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'completed', 'failed')),
    progress INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    run_after TIMESTAMPTZ NOT NULL,
    locked_by TEXT,
    locked_until TIMESTAMPTZ,
    error_message TEXT,
    started_at TIMESTAMPTZ,
    completed_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX processing_jobs_ready_idx ON processing_jobs (status, run_after);
CREATE INDEX processing_jobs_document_idx ON processing_jobs (document_id);
