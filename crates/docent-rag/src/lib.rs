//! Docent's answers (DESIGN §5): [`retrieve`] fuses full-text and vector candidates,
//! [`prompt`] assembles context and finds citations, [`guard`] keeps learn-only text from
//! visitors, [`extractive`] answers without a model, and [`AnswerService`] ties them to the
//! store for every transport.

pub mod extractive;
pub mod guard;
pub mod prompt;
pub mod retrieve;
mod service;

pub use retrieve::{Mode, Retrieved, retrieve};
pub use service::{AnswerEvent, AnswerService, Ask, AskError, MAX_QUESTION_CHARS, Source};

/// A failure of retrieval or of a model.
#[derive(Debug, thiserror::Error)]
pub enum RagError {
    #[error(transparent)]
    Store(#[from] docent_store::StoreError),
    #[error(transparent)]
    Model(#[from] docent_ai::AiError),
}
