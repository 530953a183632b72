-- Knowledge: stored files, chunks with full-text search, and the job queue (DESIGN §3, §6).

ALTER TABLE documents ADD COLUMN storage_key TEXT;

CREATE TABLE document_chunks (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    chat_space_id BLOB NOT NULL REFERENCES chat_spaces (id) ON DELETE CASCADE,
    document_id BLOB NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    chunk_index INTEGER NOT NULL,
    content TEXT NOT NULL,
    token_count INTEGER NOT NULL,
    embedding BLOB,
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX document_chunks_position_key ON document_chunks (document_id, chunk_index);
CREATE INDEX document_chunks_space_idx ON document_chunks (org_id, chat_space_id);

-- Full-text index over chunk content (BM25 via bm25()), kept in step by triggers.
CREATE VIRTUAL TABLE document_chunks_fts USING fts5 (
    content,
    content = 'document_chunks',
    content_rowid = 'rowid',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER document_chunks_fts_insert AFTER INSERT ON document_chunks BEGIN
    INSERT INTO document_chunks_fts (rowid, content) VALUES (new.rowid, new.content);
END;
CREATE TRIGGER document_chunks_fts_delete AFTER DELETE ON document_chunks BEGIN
    INSERT INTO document_chunks_fts (document_chunks_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
END;
CREATE TRIGGER document_chunks_fts_update AFTER UPDATE OF content ON document_chunks BEGIN
    INSERT INTO document_chunks_fts (document_chunks_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
    INSERT INTO document_chunks_fts (rowid, content) VALUES (new.rowid, new.content);
END;

CREATE TABLE processing_jobs (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    chat_space_id BLOB NOT NULL REFERENCES chat_spaces (id) ON DELETE CASCADE,
    document_id BLOB NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
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
    created_at TEXT NOT NULL
);
CREATE INDEX processing_jobs_ready_idx ON processing_jobs (status, run_after);
CREATE INDEX processing_jobs_document_idx ON processing_jobs (document_id);
