-- Full-text search in process (docent-store's text_index): a generation per chat space,
-- bumped whenever its chunks are added or removed, so that every `docent` process knows
-- when its in-memory index of that chat space is stale. Statement-level triggers: a
-- document's chunks arrive in one INSERT and bump the generation once. Chunk text is never
-- updated in place (a document's chunks are replaced), and embeddings do not concern it.
-- No foreign key: the rows of a deleted chat space are harmless, and deleting one cascades
-- to its chunks while it goes.

CREATE TABLE chunk_generations (
    chat_space_id UUID PRIMARY KEY,
    generation BIGINT NOT NULL DEFAULT 0
);

CREATE FUNCTION bump_chunk_generations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO chunk_generations (chat_space_id, generation)
    SELECT DISTINCT chat_space_id, 1 FROM changed_chunks
    ON CONFLICT (chat_space_id) DO UPDATE SET generation = chunk_generations.generation + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER chunk_generation_insert AFTER INSERT ON document_chunks
    REFERENCING NEW TABLE AS changed_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION bump_chunk_generations();
CREATE TRIGGER chunk_generation_delete AFTER DELETE ON document_chunks
    REFERENCING OLD TABLE AS changed_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION bump_chunk_generations();
