-- The answer webhook of a chat space (`answer_mode = webhook`: an n8n Chat Trigger, or a
-- backend speaking its contract): each failure, with its kind (timeout, status, bad_body,
-- refused), and its health from the last call or hourly check, with when the owners were
-- emailed about a run of failures. Twin of PostgreSQL's 0020.
CREATE TABLE webhook_errors (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    chat_space_id BLOB NOT NULL REFERENCES chat_spaces (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    occurred_at TEXT NOT NULL
);
CREATE INDEX webhook_errors_space_idx ON webhook_errors (chat_space_id, id);

CREATE TABLE webhook_health (
    chat_space_id BLOB PRIMARY KEY REFERENCES chat_spaces (id) ON DELETE CASCADE,
    org_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    checked_at TEXT NOT NULL,
    last_ok_at TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    alerted_at TEXT
);
