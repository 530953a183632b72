-- Questions with their answers are a kind of document ('qa'). SQLite cannot alter a CHECK
-- constraint, and rebuilding `documents` would cascade into its chunks and jobs, so the
-- constraint's text is edited in the schema as SQLite documents for changes that no
-- existing row can break (https://sqlite.org/lang_altertable.html, "otheralter"); the
-- migration runner bumps the schema version afterwards so that every connection reloads.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
SET sql = replace(sql, '''subtitle'', ''product'')', '''subtitle'', ''product'', ''qa'')')
WHERE type = 'table' AND name = 'documents';
PRAGMA writable_schema = OFF;
-- Fails the migration (integer overflow) if the constraint's text was not found.
SELECT CASE WHEN (SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'documents')
    LIKE '%''product'', ''qa'')%' THEN 1 ELSE abs(-9223372036854775808) END;
