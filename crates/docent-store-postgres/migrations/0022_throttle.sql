-- Failed logins and reset requests (DESIGN §8, §9): a row for each failure, by the key it
-- counts against (an account, a network, or both), in the database so that every replica
-- counts the same ones; the sweep deletes rows older than the 15-minute window. Twin of
-- SQLite's 0022.
CREATE TABLE throttle_failures (
    throttle_key TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX throttle_failures_key_idx ON throttle_failures (throttle_key, at);
CREATE INDEX throttle_failures_at_idx ON throttle_failures (at);
