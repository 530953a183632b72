-- Crawled sites: each page is a document under the site's document; jobs carry options.

ALTER TABLE documents ADD COLUMN parent_id BLOB REFERENCES documents (id) ON DELETE CASCADE;
CREATE INDEX documents_parent_idx ON documents (parent_id);
ALTER TABLE processing_jobs ADD COLUMN payload TEXT;
