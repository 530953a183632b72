-- Client access (DESIGN §3 memberships; §4 "a viewer only on the chat spaces granted to
-- it"): a member may be limited to chosen chat spaces (an agency's client). `limited` is kept
-- apart from the grants, so that a member whose last granted chat space is deleted sees
-- none, not all. Twin of PostgreSQL's 0015.
ALTER TABLE memberships ADD COLUMN limited INTEGER NOT NULL DEFAULT 0;
CREATE TABLE member_chat_spaces (
    org_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    chat_space_id BLOB NOT NULL REFERENCES chat_spaces (id) ON DELETE CASCADE,
    PRIMARY KEY (org_id, user_id, chat_space_id)
);
