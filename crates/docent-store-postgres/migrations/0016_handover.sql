-- Human handover and the live inbox (DESIGN §3 `handovers`, §4 "Handover and inbox"): every
-- time a conversation goes to a person is a row, from the request to its end; an agent's
-- message names its author; internal notes live apart from messages, so that nothing a
-- visitor reads can hold one; each member's last look at a conversation counts its unread
-- messages. Twin of SQLite's 0016.
ALTER TABLE messages ADD COLUMN author_id UUID REFERENCES users (id) ON DELETE SET NULL;

CREATE TABLE handovers (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    chat_space_id UUID NOT NULL REFERENCES chat_spaces (id) ON DELETE CASCADE,
    conversation_id UUID NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    reason TEXT NOT NULL CHECK (reason IN ('visitor_asked', 'no_answer', 'thumbs_down', 'keyword', 'agent')),
    requested_at TIMESTAMPTZ NOT NULL,
    assigned_agent_id UUID REFERENCES users (id) ON DELETE SET NULL,
    assigned_at TIMESTAMPTZ,
    first_agent_reply_at TIMESTAMPTZ,
    resolved_at TIMESTAMPTZ,
    resolution TEXT CHECK (resolution IN ('released', 'closed'))
);
CREATE INDEX handovers_conversation_idx ON handovers (org_id, conversation_id, requested_at);
-- At most one open handover a conversation.
CREATE UNIQUE INDEX handovers_open_idx ON handovers (conversation_id) WHERE resolved_at IS NULL;
CREATE INDEX handovers_space_idx ON handovers (org_id, chat_space_id, requested_at);

CREATE TABLE conversation_notes (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    conversation_id UUID NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    author_id UUID REFERENCES users (id) ON DELETE SET NULL,
    content TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX conversation_notes_idx ON conversation_notes (org_id, conversation_id, created_at);

CREATE TABLE conversation_reads (
    org_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id UUID NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    read_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, conversation_id)
);

CREATE INDEX conversations_status_idx ON conversations (org_id, status, last_activity_at);
