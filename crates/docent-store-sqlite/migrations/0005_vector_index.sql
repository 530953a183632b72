-- Vector search: a generation per chat space, bumped by triggers whenever its chunks or
-- their embeddings change, so that the in-process index of every process on this database
-- knows when to reload.

CREATE TABLE chunk_generations (
    chat_space_id BLOB PRIMARY KEY,
    generation INTEGER NOT NULL DEFAULT 0
);
CREATE TRIGGER chunk_generation_insert AFTER INSERT ON document_chunks BEGIN
    INSERT INTO chunk_generations (chat_space_id, generation) VALUES (new.chat_space_id, 1)
    ON CONFLICT (chat_space_id) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER chunk_generation_delete AFTER DELETE ON document_chunks BEGIN
    UPDATE chunk_generations SET generation = generation + 1 WHERE chat_space_id = old.chat_space_id;
END;
CREATE TRIGGER chunk_generation_update AFTER UPDATE OF embedding ON document_chunks BEGIN
    INSERT INTO chunk_generations (chat_space_id, generation) VALUES (new.chat_space_id, 1)
    ON CONFLICT (chat_space_id) DO UPDATE SET generation = generation + 1;
END;
