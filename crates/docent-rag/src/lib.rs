//! Docent's answers (DESIGN §5): [`retrieve`] fuses full-text and vector candidates,
//! [`prompt`] assembles context and finds citations, [`guard`] keeps learn-only text from
//! visitors, [`extractive`] answers without a model, and [`AnswerService`] ties them to the
//! store for every transport.

pub mod confidence;
pub mod extractive;
pub mod guard;
pub mod prompt;
pub mod retrieve;
mod service;

pub use retrieve::{Mode, Retrieved, retrieve};
pub use service::{
    AnswerEvent, AnswerService, Ask, AskError, Continue, MAX_QUESTION_CHARS, Source, Turn,
};

/// Whether `c` belongs to a word: letters and digits, in any script.
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// The words of a text, as they are (the guard, citations, MMR and extractive answers all
/// compare words this way, each normalising them as it needs).
pub(crate) fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !is_word_char(c))
        .filter(|w| !w.is_empty())
}

/// A failure of retrieval or of a model.
#[derive(Debug, thiserror::Error)]
pub enum RagError {
    #[error(transparent)]
    Store(#[from] docent_store::StoreError),
    #[error(transparent)]
    Model(#[from] docent_ai::AiError),
}
