-- Answers: conversations, their messages, daily usage and knowledge gaps (DESIGN §3, §5).

CREATE TABLE conversations (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    chat_space_id BLOB NOT NULL REFERENCES chat_spaces (id) ON DELETE CASCADE,
    visitor_id TEXT,
    end_user_email TEXT,
    end_user_name TEXT,
    ip TEXT,
    user_agent TEXT,
    referrer TEXT,
    locale TEXT,
    channel TEXT NOT NULL DEFAULT 'widget' CHECK (channel IN ('widget', 'playground', 'api')),
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'waiting_for_human', 'human', 'closed', 'archived')),
    assigned_agent_id BLOB REFERENCES users (id) ON DELETE SET NULL,
    message_count INTEGER NOT NULL DEFAULT 0,
    last_activity_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE INDEX conversations_space_idx ON conversations (org_id, chat_space_id, last_activity_at);

CREATE TABLE messages (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    chat_space_id BLOB NOT NULL REFERENCES chat_spaces (id) ON DELETE CASCADE,
    conversation_id BLOB NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'agent', 'system')),
    content TEXT NOT NULL,
    model TEXT,
    tokens_in INTEGER NOT NULL DEFAULT 0,
    tokens_out INTEGER NOT NULL DEFAULT 0,
    cost_micro_usd INTEGER NOT NULL DEFAULT 0,
    processing_time_ms INTEGER NOT NULL DEFAULT 0,
    context_chunks TEXT NOT NULL DEFAULT '[]',
    citations TEXT NOT NULL DEFAULT '[]',
    answer_kind TEXT,
    feedback TEXT CHECK (feedback IN ('up', 'down')),
    created_at TEXT NOT NULL
);
CREATE INDEX messages_conversation_idx ON messages (conversation_id, created_at);

CREATE TABLE usage_daily (
    org_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    chat_space_id BLOB NOT NULL REFERENCES chat_spaces (id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    messages INTEGER NOT NULL DEFAULT 0,
    conversations INTEGER NOT NULL DEFAULT 0,
    unique_visitors INTEGER NOT NULL DEFAULT 0,
    tokens INTEGER NOT NULL DEFAULT 0,
    cost INTEGER NOT NULL DEFAULT 0,
    handovers INTEGER NOT NULL DEFAULT 0,
    feedback_up INTEGER NOT NULL DEFAULT 0,
    feedback_down INTEGER NOT NULL DEFAULT 0,
    UNIQUE (chat_space_id, date)
);
CREATE INDEX usage_daily_org_idx ON usage_daily (org_id, date);

CREATE TABLE knowledge_gaps (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    chat_space_id BLOB NOT NULL REFERENCES chat_spaces (id) ON DELETE CASCADE,
    conversation_id BLOB REFERENCES conversations (id) ON DELETE SET NULL,
    question TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX knowledge_gaps_space_idx ON knowledge_gaps (org_id, chat_space_id, created_at);
