-- The username and password an answer webhook asks for (INTEGRATIONS §1: an n8n Chat
-- Trigger with Basic auth answers 401 without them), sent as `Authorization: Basic` with
-- every question and health check. Docent must send the password, so it is kept as written
-- (like a webhook's signing secret), never shown again. Twin of PostgreSQL's 0023.
CREATE TABLE answer_webhook_auth (
    chat_space_id BLOB PRIMARY KEY REFERENCES chat_spaces (id) ON DELETE CASCADE,
    org_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    password TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
