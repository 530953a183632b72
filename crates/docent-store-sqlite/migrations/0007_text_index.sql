-- Full-text search in process (docent-store's text_index) uses the chunk generations that
-- 0005 keeps for the vector index; nothing to add on SQLite. The file keeps the twin
-- backends' migrations in step.
SELECT 1;
