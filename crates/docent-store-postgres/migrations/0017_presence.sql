-- Who is answering (DESIGN §4 "Handover and inbox"): a row for each open inbox connection of
-- a member, on any instance, refreshed while it stays open; one not refreshed for a minute
-- (an instance that died) no longer counts. Round-robin routing reads it. And canned replies,
-- an organization's ready answers for its agents; and when the agents were emailed about a
-- handover that waited too long (once a handover). Twin of SQLite's 0017.
CREATE TABLE agent_presence (
    connection_id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    seen_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX agent_presence_org_idx ON agent_presence (org_id, seen_at);

CREATE TABLE canned_replies (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    shortcut TEXT NOT NULL,
    content TEXT NOT NULL,
    created_by UUID REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX canned_replies_shortcut_idx ON canned_replies (org_id, shortcut);

ALTER TABLE handovers ADD COLUMN notified_at TIMESTAMPTZ;
