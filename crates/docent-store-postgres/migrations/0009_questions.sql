-- Questions with their answers are a kind of document ('qa').
ALTER TABLE documents DROP CONSTRAINT documents_type_check;
ALTER TABLE documents ADD CONSTRAINT documents_type_check
    CHECK (type IN ('pdf', 'docx', 'text', 'markdown', 'html', 'url', 'site', 'subtitle', 'product', 'qa'));
