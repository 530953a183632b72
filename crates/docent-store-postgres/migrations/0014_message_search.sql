-- Conversations are searched by the words of their messages (DESIGN §4 `q`): a GIN index
-- over the English text search vector of each message, as the search asks for it. Twin of
-- SQLite's 0014.
CREATE INDEX messages_search_idx ON messages USING GIN (to_tsvector('english', content));
