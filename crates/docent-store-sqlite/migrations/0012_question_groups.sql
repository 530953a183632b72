-- Visitors' questions in groups of the same question (top questions, knowledge gaps; DESIGN
-- §3 `knowledge_gaps`, §4 "Operators"). A job groups new questions as they come; a group is a
-- knowledge gap while any of its questions went unanswered, was rated down or handed over
-- since it was last resolved. The list of don't-know questions it replaces is rebuilt from the
-- messages themselves. Twin of PostgreSQL's 0012.
DROP TABLE knowledge_gaps;

CREATE TABLE question_groups (
    id BLOB PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    chat_space_id BLOB NOT NULL REFERENCES chat_spaces (id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    -- The group's words: {stem: how many of its questions hold it}.
    terms TEXT NOT NULL DEFAULT '{}',
    -- The mean of its questions' embeddings, when an embedder made them.
    vector TEXT,
    questions INTEGER NOT NULL DEFAULT 0,
    resolved_at TEXT,
    resolved_by_document_id BLOB REFERENCES documents (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    last_asked_at TEXT NOT NULL
);
CREATE INDEX question_groups_space_idx ON question_groups (org_id, chat_space_id);

CREATE TABLE grouped_questions (
    message_id BLOB PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    org_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    chat_space_id BLOB NOT NULL REFERENCES chat_spaces (id) ON DELETE CASCADE,
    group_id BLOB NOT NULL REFERENCES question_groups (id) ON DELETE CASCADE,
    conversation_id BLOB NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- The answer it got (the next answer of its conversation).
    answer_id BLOB REFERENCES messages (id) ON DELETE SET NULL,
    question TEXT NOT NULL,
    asked_at TEXT NOT NULL,
    -- Asked again after the owner answered its gap: whether it got an answer then.
    rechecked_at TEXT,
    answered_now INTEGER
);
CREATE INDEX grouped_questions_space_idx ON grouped_questions (org_id, chat_space_id, asked_at);
CREATE INDEX grouped_questions_group_idx ON grouped_questions (group_id);

-- How far the grouping job has read: the last visitor message it grouped.
CREATE TABLE question_grouping (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_message_id BLOB
);
INSERT INTO question_grouping (id, last_message_id) VALUES (1, NULL);
