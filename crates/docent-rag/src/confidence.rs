//! How sure an answer can be of its knowledge: a score from retrieval, stored with each
//! answer so that analytics can show their spread and knowledge gaps can find weak ones.

use std::collections::HashSet;

use crate::Retrieved;
use crate::extractive::{stem, stems};
use crate::retrieve::topic_terms;

/// How many of the best passages are looked at.
const PASSAGES: usize = 3;

/// From 0 (nothing found) to 1: the largest share of the question's topic words (stemmed,
/// without stop words and the words of how a question is asked: "what time do you open on
/// Monday" is about opening and Monday) that one of the best three passages holds; when the vector search
/// also scored a passage, the mean of that share and its cosine similarity. Retrieval
/// always returns something when any word matches, so this, not the presence of passages,
/// tells a passage that answers from one that merely shares a word.
pub fn confidence(question: &str, retrieved: &[Retrieved]) -> f64 {
    let wanted: HashSet<String> = topic_terms(question).iter().map(|t| stem(t)).collect();
    let best = retrieved
        .iter()
        .take(PASSAGES)
        .map(|r| {
            let held = stems(&r.hit.chunk.content);
            let share = if wanted.is_empty() {
                0.0
            } else {
                wanted.iter().filter(|w| held.contains(*w)).count() as f64 / wanted.len() as f64
            };
            match r.similarity {
                Some(similarity) => (share + similarity.clamp(0.0, 1.0)) / 2.0,
                None => share,
            }
        })
        .fold(0.0, f64::max);
    (best * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use docent_core::*;

    fn passage(text: &str, similarity: Option<f64>) -> Retrieved {
        let document_id = DocumentId::generate();
        Retrieved {
            hit: ChunkHit {
                chunk: Chunk {
                    id: ChunkId::generate(),
                    document_id,
                    chunk_index: 0,
                    content: text.to_owned(),
                    token_count: 10,
                    metadata: serde_json::Value::Null,
                },
                document_title: "Shop".into(),
                file_name: None,
                source_url: None,
                citable: true,
                score: 1.0,
            },
            score: 0.5,
            text_rank: Some(1),
            similarity,
        }
    }

    #[test]
    fn a_passage_with_every_topic_word_is_sure_and_one_word_is_not() {
        let full = passage("Refunds reach your card within five days.", None);
        let weak = passage("Our card games are sold in the shop.", None);
        let q = "Do refunds reach my card?";
        assert_eq!(confidence(q, std::slice::from_ref(&full)), 1.0);
        let one_word = confidence(q, std::slice::from_ref(&weak));
        assert!(one_word > 0.0 && one_word < 0.5, "{one_word}");
        // The best of the first three counts, wherever it is.
        assert_eq!(confidence(q, &[weak, full]), 1.0);
        assert_eq!(confidence(q, &[]), 0.0);
    }

    #[test]
    fn similarity_is_averaged_in_when_the_vector_search_scored_it() {
        let p = passage("Refunds reach your card within five days.", Some(0.6));
        assert_eq!(confidence("refunds card", &[p]), 0.8);
    }

    #[test]
    fn how_a_question_is_asked_is_not_what_it_is_about() {
        let hours = passage("We open at seven on Monday.", None);
        assert_eq!(
            confidence("What time do you open on Monday?", &[hours]),
            1.0
        );
    }
}
