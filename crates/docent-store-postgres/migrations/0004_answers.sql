-- Answers: conversations, their messages, daily usage and knowledge gaps (DESIGN §3, §5).

CREATE TABLE conversations (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    chat_space_id UUID NOT NULL REFERENCES chat_spaces (id) ON DELETE CASCADE,
    visitor_id TEXT,
    end_user_email TEXT,
    end_user_name TEXT,
    ip TEXT,
    user_agent TEXT,
    referrer TEXT,
    locale TEXT,
    channel TEXT NOT NULL DEFAULT 'widget' CHECK (channel IN ('widget', 'playground', 'api')),
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'waiting_for_human', 'human', 'closed', 'archived')),
    assigned_agent_id UUID REFERENCES users (id) ON DELETE SET NULL,
    message_count BIGINT NOT NULL DEFAULT 0,
    last_activity_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    closed_at TIMESTAMPTZ
);
CREATE INDEX conversations_space_idx ON conversations (org_id, chat_space_id, last_activity_at);

CREATE TABLE messages (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    chat_space_id UUID NOT NULL REFERENCES chat_spaces (id) ON DELETE CASCADE,
    conversation_id UUID NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'agent', 'system')),
    content TEXT NOT NULL,
    model TEXT,
    tokens_in BIGINT NOT NULL DEFAULT 0,
    tokens_out BIGINT NOT NULL DEFAULT 0,
    cost_micro_usd BIGINT NOT NULL DEFAULT 0,
    processing_time_ms BIGINT NOT NULL DEFAULT 0,
    context_chunks JSONB NOT NULL DEFAULT '[]',
    citations JSONB NOT NULL DEFAULT '[]',
    answer_kind TEXT,
    feedback TEXT CHECK (feedback IN ('up', 'down')),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX messages_conversation_idx ON messages (conversation_id, created_at);

CREATE TABLE usage_daily (
    org_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    chat_space_id UUID NOT NULL REFERENCES chat_spaces (id) ON DELETE CASCADE,
    date DATE NOT NULL,
    messages BIGINT NOT NULL DEFAULT 0,
    conversations BIGINT NOT NULL DEFAULT 0,
    unique_visitors BIGINT NOT NULL DEFAULT 0,
    tokens BIGINT NOT NULL DEFAULT 0,
    cost BIGINT NOT NULL DEFAULT 0,
    handovers BIGINT NOT NULL DEFAULT 0,
    feedback_up BIGINT NOT NULL DEFAULT 0,
    feedback_down BIGINT NOT NULL DEFAULT 0,
    UNIQUE (chat_space_id, date)
);
CREATE INDEX usage_daily_org_idx ON usage_daily (org_id, date);

CREATE TABLE knowledge_gaps (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    chat_space_id UUID NOT NULL REFERENCES chat_spaces (id) ON DELETE CASCADE,
    conversation_id UUID REFERENCES conversations (id) ON DELETE SET NULL,
    question TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX knowledge_gaps_space_idx ON knowledge_gaps (org_id, chat_space_id, created_at);
