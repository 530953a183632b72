-- Verified visitor identity (DESIGN §4): a chat space's identity secret, with which the
-- site's backend signs `visitor_id.expires`; for a day after a rotation the one before
-- still verifies. Only the secret's holder can sign, so it is kept as written (like a
-- webhook's), not hashed. Twin of SQLite's 0021.
CREATE TABLE identity_secrets (
    chat_space_id UUID PRIMARY KEY REFERENCES chat_spaces (id) ON DELETE CASCADE,
    org_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_expires_at TIMESTAMPTZ,
    rotated_at TIMESTAMPTZ NOT NULL
);
