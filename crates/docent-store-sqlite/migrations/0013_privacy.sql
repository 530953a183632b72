-- Privacy (DESIGN §4 "Operators"): a chat space may keep conversations only so many days
-- (a scheduled job deletes older ones), and one visitor's data is found, to erase or export
-- it, by their id or email. Same text on both backends.
ALTER TABLE chat_spaces ADD COLUMN retention_days INTEGER;
CREATE INDEX conversations_visitor_idx ON conversations (org_id, chat_space_id, visitor_id);
CREATE INDEX conversations_email_idx ON conversations (org_id, chat_space_id, end_user_email);
