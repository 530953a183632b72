-- Analytics (DESIGN §4): each answer keeps how well the knowledge matched its question, and
-- a chat space's conversations are read by the day they started. Twin of SQLite's 0011.
ALTER TABLE messages ADD COLUMN confidence DOUBLE PRECISION;
CREATE INDEX conversations_started_idx ON conversations (org_id, chat_space_id, created_at);
