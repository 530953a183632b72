-- Leads (DESIGN §4 "Integrations"): the details a visitor left in a chat space's lead form,
-- one row per visitor and chat space (giving them again updates it). The built-in fields
-- have columns of their own, for search and export; the form's other fields are a JSON
-- object. A lead outlives its conversation (the link is cleared), and goes when its visitor
-- is erased. Twin of PostgreSQL's 0019.
CREATE TABLE leads (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    chat_space_id BLOB NOT NULL REFERENCES chat_spaces (id) ON DELETE CASCADE,
    conversation_id BLOB REFERENCES conversations (id) ON DELETE SET NULL,
    visitor_id TEXT NOT NULL,
    name TEXT,
    email TEXT,
    phone TEXT,
    company TEXT,
    fields TEXT NOT NULL DEFAULT '{}',
    consent BOOLEAN NOT NULL,
    consent_text TEXT,
    page_url TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX leads_visitor_idx ON leads (chat_space_id, visitor_id);
CREATE INDEX leads_space_idx ON leads (org_id, chat_space_id, id);
