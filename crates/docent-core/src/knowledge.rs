//! Knowledge sources, their chunks and the jobs that process them (DESIGN §3, §6).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ids::*;

/// Where a document is in its processing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    Pending,
    Processing,
    Completed,
    Failed,
}

impl DocumentStatus {
    pub const ALL: [DocumentStatus; 4] = [
        DocumentStatus::Pending,
        DocumentStatus::Processing,
        DocumentStatus::Completed,
        DocumentStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentStatus::Pending => "pending",
            DocumentStatus::Processing => "processing",
            DocumentStatus::Completed => "completed",
            DocumentStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DocumentStatus> {
        DocumentStatus::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// Still waiting for or in the worker.
    pub fn is_active(self) -> bool {
        matches!(self, DocumentStatus::Pending | DocumentStatus::Processing)
    }
}

/// A knowledge source of a chat space.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Document {
    pub id: DocumentId,
    /// The site a crawled page belongs to.
    pub parent_id: Option<DocumentId>,
    pub org_id: OrgId,
    pub chat_space_id: ChatSpaceId,
    /// `pdf`, `docx`, `text`, `markdown`, `html`, `url`, `site`, `subtitle`, `product` or `qa`
    /// (a question and its answer).
    #[serde(rename = "type")]
    pub doc_type: String,
    pub source_url: Option<String>,
    pub file_name: Option<String>,
    pub file_size: Option<i64>,
    pub content_hash: Option<String>,
    #[serde(skip)]
    pub storage_key: Option<String>,
    /// Citable sources are cited in answers; learn-only ones inform answers unseen.
    pub citable: bool,
    pub status: DocumentStatus,
    pub progress: i32,
    pub error_message: Option<String>,
    pub title: String,
    pub author: Option<String>,
    pub page_count: Option<i32>,
    pub word_count: Option<i64>,
    pub chunk_count: i32,
    pub processing_started_at: Option<DateTime<Utc>>,
    pub processing_completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Document {
    /// What a reader calls this kind of source ("PDF", "Web page").
    pub fn type_label(&self) -> &str {
        document_type_label(&self.doc_type)
    }
}

/// The text a question and its answer (a `qa` document) is stored and indexed as: the
/// question on one line, so that nothing in it reads as the start of the answer.
pub fn qa_text(question: &str, answer: &str) -> String {
    let question = question.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("Q: {question}\nA: {}\n", answer.trim())
}

/// The question and answer of a text [`qa_text`] wrote (or of a chunk that begins one).
pub fn parse_qa(text: &str) -> Option<(&str, &str)> {
    let (question, answer) = text.strip_prefix("Q: ")?.split_once("\nA: ")?;
    Some((question.trim(), answer.trim()))
}

/// What a reader calls a `documents.type`; an unknown one as it is.
pub fn document_type_label(doc_type: &str) -> &str {
    match doc_type {
        "pdf" => "PDF",
        "docx" => "Word",
        "text" => "Text",
        "markdown" => "Markdown",
        "html" => "HTML",
        "url" => "Web page",
        "site" => "Website",
        "subtitle" => "Subtitles",
        "product" => "Product",
        "qa" => "Q&A",
        other => other,
    }
}

#[derive(Clone, Debug)]
pub struct NewDocument {
    pub chat_space_id: ChatSpaceId,
    pub parent_id: Option<DocumentId>,
    pub doc_type: String,
    pub title: String,
    pub file_name: Option<String>,
    pub file_size: Option<i64>,
    pub content_hash: Option<String>,
    pub storage_key: Option<String>,
    pub source_url: Option<String>,
    pub citable: bool,
    pub status: DocumentStatus,
}

/// The stored bytes of a document.
#[derive(Clone, Debug)]
pub struct StoredFile {
    pub storage_key: String,
    pub file_size: i64,
    pub content_hash: String,
    pub source_url: Option<String>,
}

/// A change to a document; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct DocumentPatch {
    pub citable: Option<bool>,
    pub title: Option<String>,
}

/// What processing learned about a document.
#[derive(Clone, Debug, Default)]
pub struct DocumentFacts {
    /// Replaces the title only when the document has none yet (a name the owner gave wins).
    pub title: Option<String>,
    pub author: Option<String>,
    pub doc_type: Option<String>,
    pub page_count: Option<i32>,
    pub word_count: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct NewChunk {
    pub chunk_index: i32,
    pub content: String,
    pub token_count: i32,
    pub metadata: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Chunk {
    pub id: ChunkId,
    pub document_id: DocumentId,
    pub chunk_index: i32,
    pub content: String,
    pub token_count: i32,
    pub metadata: serde_json::Value,
}

/// A chunk found by a search, with its source and relevance (higher is better).
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ChunkHit {
    #[serde(flatten)]
    pub chunk: Chunk,
    pub document_title: String,
    pub file_name: Option<String>,
    pub source_url: Option<String>,
    pub citable: bool,
    pub score: f64,
}

/// The words of a search, stripped of every operator, for full-text queries that cannot
/// be broken by what a user types.
pub fn search_terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    terms.dedup();
    terms.truncate(64);
    terms
}

#[cfg(test)]
mod tests {
    #[test]
    fn search_terms_drop_operators() {
        assert_eq!(
            super::search_terms("Return \"policy\" OR -refund*: NEAR(a b)"),
            vec!["return", "policy", "or", "refund", "near", "a", "b"]
        );
        assert!(super::search_terms("*** ''' ---").is_empty());
    }
}
