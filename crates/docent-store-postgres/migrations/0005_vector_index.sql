-- Vector search: HNSW indexes (cosine) for the common embedding sizes. Chunks keep vectors
-- of any size in one column, so each index covers the rows of one size; queries name the
-- same expression and condition (see knowledge.rs).

CREATE INDEX document_chunks_hnsw_384 ON document_chunks
    USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE vector_dims(embedding) = 384;
CREATE INDEX document_chunks_hnsw_768 ON document_chunks
    USING hnsw ((embedding::vector(768)) vector_cosine_ops) WHERE vector_dims(embedding) = 768;
CREATE INDEX document_chunks_hnsw_1024 ON document_chunks
    USING hnsw ((embedding::vector(1024)) vector_cosine_ops) WHERE vector_dims(embedding) = 1024;
CREATE INDEX document_chunks_hnsw_1536 ON document_chunks
    USING hnsw ((embedding::vector(1536)) vector_cosine_ops) WHERE vector_dims(embedding) = 1536;
