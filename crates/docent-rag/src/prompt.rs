//! Prompt assembly and citations (DESIGN §5): the chat space's system prompt, context blocks
//! marked `[CITABLE n]` (with title, file or URL, page) or `[PRIVATE]` (bare text, nothing
//! that names its source), and recent history, within a token budget.

use docent_ai::{ChatMessage, Role};
use docent_core::config::AiConfig;
use docent_core::{Citation, MessageRole};

use crate::retrieve::Retrieved;

/// Tokens of context (retrieved chunks) a prompt may carry.
pub const CONTEXT_BUDGET_TOKENS: u32 = 4000;
/// Tokens of earlier conversation a prompt may carry.
pub const HISTORY_BUDGET_TOKENS: u32 = 1500;

/// A context block as the model sees it.
#[derive(Clone, Debug)]
pub struct Block<'a> {
    pub retrieved: &'a Retrieved,
    /// The `n` of `[CITABLE n]`; `None` for private blocks.
    pub number: Option<u32>,
}

/// The chunks that fit the budget, best first. Citable ones are numbered by document: two
/// chunks of one document share its number, as they share its one citation, so every
/// marker an answer writes names a listed source.
pub fn blocks(retrieved: &[Retrieved], budget_tokens: u32) -> Vec<Block<'_>> {
    let mut used = 0u32;
    let mut documents = Vec::new();
    let mut out = Vec::new();
    for r in retrieved {
        let tokens = r.hit.chunk.token_count.max(1) as u32;
        if used + tokens > budget_tokens && !out.is_empty() {
            break;
        }
        used += tokens;
        let number = r.hit.citable.then(|| {
            let document = r.hit.chunk.document_id;
            let at = documents
                .iter()
                .position(|d| *d == document)
                .unwrap_or_else(|| {
                    documents.push(document);
                    documents.len() - 1
                });
            at as u32 + 1
        });
        out.push(Block {
            retrieved: r,
            number,
        });
    }
    out
}

/// The page of a chunk, from its metadata.
pub fn page_of(r: &Retrieved) -> Option<u32> {
    r.hit.chunk.metadata["page"]
        .as_u64()
        .and_then(|p| u32::try_from(p).ok())
}

fn source_line(r: &Retrieved) -> String {
    let hit = &r.hit;
    let mut line = hit.document_title.clone();
    if let Some(url) = &hit.source_url {
        line.push_str(&format!(" ({url})"));
    } else if let Some(file) = &hit.file_name
        && file != &hit.document_title
    {
        line.push_str(&format!(" ({file})"));
    }
    if let Some(page) = page_of(r) {
        line.push_str(&format!(", page {page}"));
    }
    line
}

/// A rough token count for text that has none stored (history): four characters a token.
fn estimate_tokens(text: &str) -> u32 {
    (text.chars().count() as u32).div_ceil(4)
}

/// The messages to send: instructions and context, history, the question.
pub fn build(
    config: &AiConfig,
    blocks: &[Block<'_>],
    history: &[crate::Turn],
    question: &str,
) -> Vec<ChatMessage> {
    let mut system = String::new();
    system.push_str(config.system_prompt.trim());
    system.push_str(
        "\n\nAnswer the user's question using only the context below. Context blocks marked \
         [CITABLE n] may be cited: put [n] after a statement that uses block n. Blocks marked \
         [PRIVATE] may inform the answer but must never be quoted, cited or mentioned; \
         say what they teach in your own words. If the context does not contain the answer, \
         reply exactly: ",
    );
    system.push_str(config.dont_know_reply.trim());
    system.push_str("\n\nContext:\n");
    for block in blocks {
        match block.number {
            Some(n) => {
                system.push_str(&format!(
                    "\n[CITABLE {n}] {}\n",
                    source_line(block.retrieved)
                ));
            }
            None => system.push_str("\n[PRIVATE]\n"),
        }
        system.push_str(block.retrieved.hit.chunk.content.trim());
        system.push('\n');
    }
    let mut messages = vec![ChatMessage::new(Role::System, system)];
    // The most recent history that fits, in its order.
    let mut used = 0;
    let mut kept: Vec<ChatMessage> = Vec::new();
    for message in history.iter().rev() {
        let role = match message.role {
            MessageRole::User => Role::User,
            MessageRole::Assistant | MessageRole::Agent => Role::Assistant,
            MessageRole::System => continue,
        };
        let tokens = estimate_tokens(&message.content);
        if used + tokens > HISTORY_BUDGET_TOKENS {
            break;
        }
        used += tokens;
        kept.push(ChatMessage::new(role, message.content.clone()));
    }
    kept.reverse();
    messages.extend(kept);
    messages.push(ChatMessage::new(Role::User, question));
    messages
}

/// The citable sources an answer used: those it marks `[n]`, in order of first mention, one
/// per document (a document cited through two chunks is listed once, with the first page).
/// An answer that marks none cites the citable blocks it shares a run of words with.
pub fn citations(answer: &str, blocks: &[Block<'_>]) -> Vec<Citation> {
    let mut numbers: Vec<u32> = Vec::new();
    for marker in markers(answer) {
        for n in marker.numbers {
            if !numbers.contains(&n) {
                numbers.push(n);
            }
        }
    }
    let mut chosen: Vec<&Block<'_>> = numbers
        .iter()
        .filter_map(|n| blocks.iter().find(|b| b.number == Some(*n)))
        .collect();
    if chosen.is_empty() {
        let answer_words = shingles(answer, 4);
        chosen = blocks
            .iter()
            .filter(|b| b.number.is_some())
            .filter(|b| {
                shingles(&b.retrieved.hit.chunk.content, 4)
                    .iter()
                    .any(|s| answer_words.contains(s))
            })
            .collect();
    }
    let mut out: Vec<Citation> = Vec::new();
    for block in chosen {
        let hit = &block.retrieved.hit;
        if !hit.citable || out.iter().any(|c| c.document_id == hit.chunk.document_id) {
            continue;
        }
        out.push(Citation {
            index: block.number.unwrap_or(0),
            document_id: hit.chunk.document_id,
            title: hit.document_title.clone(),
            url: hit.source_url.clone(),
            file_name: hit.file_name.clone(),
            page: page_of(block.retrieved),
        });
    }
    out
}

/// A citation marker in an answer: `[1]` or `[1, 2]` (`[1][2]` is two), where it stands.
struct Marker {
    range: std::ops::Range<usize>,
    numbers: Vec<u32>,
}

fn markers(answer: &str) -> Vec<Marker> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(open) = answer[i..].find('[').map(|at| i + at) {
        let Some(close) = answer[open..].find(']').map(|at| open + at) else {
            break;
        };
        let inner = &answer[open + 1..close];
        if inner.len() <= 20
            && inner.chars().any(|c| c.is_ascii_digit())
            && inner
                .chars()
                .all(|c| c.is_ascii_digit() || c == ',' || c == ' ')
        {
            out.push(Marker {
                range: open..close + 1,
                numbers: inner
                    .split(',')
                    .filter_map(|p| p.trim().parse().ok())
                    .collect(),
            });
            i = close + 1;
        } else {
            // The next `[` may open a marker inside this bracket ("[see [2]").
            i = open + 1;
        }
    }
    out
}

/// How many numbers the answer's markers give, and how many of them no citation has.
pub fn marker_numbers(answer: &str, citations: &[Citation]) -> (usize, usize) {
    markers(answer)
        .iter()
        .flat_map(|m| &m.numbers)
        .fold((0, 0), |(all, uncited), n| {
            let listed = citations.iter().any(|c| c.index == *n);
            (all + 1, uncited + usize::from(!listed))
        })
}

/// The answer with only the markers that name a listed citation: a number no citation has
/// is dropped from its marker, and a marker left empty goes with the space before it.
pub fn keep_cited_markers(answer: &str, citations: &[Citation]) -> String {
    let mut out = String::with_capacity(answer.len());
    let mut from = 0;
    for marker in markers(answer) {
        let kept: Vec<String> = marker
            .numbers
            .iter()
            .filter(|n| citations.iter().any(|c| c.index == **n))
            .map(u32::to_string)
            .collect();
        if kept.len() == marker.numbers.len() {
            continue;
        }
        out.push_str(&answer[from..marker.range.start]);
        if kept.is_empty() {
            let trimmed = out.trim_end_matches([' ', '\t']).len();
            out.truncate(trimmed);
        } else {
            out.push_str(&format!("[{}]", kept.join(", ")));
        }
        from = marker.range.end;
    }
    out.push_str(&answer[from..]);
    out
}

fn shingles(text: &str, n: usize) -> std::collections::HashSet<String> {
    let words: Vec<String> = crate::words(text).map(str::to_lowercase).collect();
    words.windows(n).map(|w| w.join(" ")).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use docent_core::{Chunk, ChunkHit, ChunkId, DocumentId};

    /// A passage of document `doc` ("Doc {doc}", `doc{doc}.pdf`) as retrieval returns it.
    pub(crate) fn retrieved(
        doc: u128,
        content: &str,
        citable: bool,
        page: Option<u32>,
    ) -> Retrieved {
        Retrieved {
            hit: ChunkHit {
                chunk: Chunk {
                    id: ChunkId::generate(),
                    document_id: DocumentId(uuid::Uuid::from_u128(doc)),
                    chunk_index: 0,
                    content: content.into(),
                    token_count: 50,
                    metadata: serde_json::json!({"page": page}),
                },
                document_title: format!("Doc {doc}"),
                file_name: Some(format!("doc{doc}.pdf")),
                source_url: None,
                citable,
                score: 1.0,
            },
            score: 1.0,
            text_rank: Some(1),
            similarity: None,
        }
    }

    #[test]
    fn private_blocks_carry_no_source_and_no_number() {
        let hits = vec![
            retrieved(1, "Refunds take 30 days.", true, Some(4)),
            retrieved(2, "Internal: margin is 40%.", false, None),
            retrieved(3, "Shipping is free.", true, None),
        ];
        let blocks = blocks(&hits, 1000);
        assert_eq!(
            blocks.iter().map(|b| b.number).collect::<Vec<_>>(),
            [Some(1), None, Some(2)]
        );
        let messages = build(&AiConfig::default(), &blocks, &[], "refunds?");
        let system = &messages[0].content;
        assert!(system.contains("[CITABLE 1] Doc 1 (doc1.pdf), page 4\nRefunds take 30 days."));
        assert!(system.contains("[PRIVATE]\nInternal: margin is 40%."));
        assert!(!system.contains("Doc 2") && !system.contains("doc2.pdf"));
        assert_eq!(
            messages.last().map(|m| m.content.as_str()),
            Some("refunds?")
        );
    }

    #[test]
    fn the_budget_limits_the_context() {
        let hits: Vec<Retrieved> = (0..10).map(|i| retrieved(i, "text", true, None)).collect();
        assert_eq!(blocks(&hits, 120).len(), 2);
        assert_eq!(blocks(&hits, 10).len(), 1, "the best chunk always goes in");
    }

    #[test]
    fn citations_follow_the_markers_and_never_name_private_blocks() {
        let hits = vec![
            retrieved(1, "Refunds take 30 days from delivery.", true, Some(4)),
            retrieved(2, "Internal margin notes.", false, None),
            retrieved(3, "Shipping is free over 50 euros.", true, None),
        ];
        let blocks = blocks(&hits, 1000);
        let cited = citations(
            "Shipping is free [2]. Refunds take a month [1][7].",
            &blocks,
        );
        assert_eq!(cited.iter().map(|c| c.index).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(cited[1].page, Some(4));
        let cited = citations("Refunds take 30 days from delivery, sadly.", &blocks);
        assert_eq!(cited.len(), 1, "no markers: the block the answer quotes");
        assert_eq!(cited[0].title, "Doc 1");
        assert!(citations("Internal margin notes are secret.", &blocks).is_empty());
    }

    /// Two chunks of one document are one source: one number, one citation, so a marker of
    /// the second chunk is not left pointing at nothing (332 such markers in 275 answers).
    #[test]
    fn chunks_of_one_document_share_its_number() {
        let hits = vec![
            retrieved(1, "Refunds take 30 days from delivery.", true, Some(4)),
            retrieved(2, "Shipping is free over 50 euros.", true, None),
            retrieved(1, "Refunds reach the card in five days.", true, Some(5)),
        ];
        let blocks = blocks(&hits, 1000);
        let numbers: Vec<Option<u32>> = blocks.iter().map(|b| b.number).collect();
        assert_eq!(numbers, [Some(1), Some(2), Some(1)]);
        let answer = "Refunds take 30 days [1]. They reach the card in five days [1].";
        let cited = citations(answer, &blocks);
        assert_eq!(cited.len(), 1);
        for marker in markers(answer) {
            for n in marker.numbers {
                assert!(
                    cited.iter().any(|c| c.index == n),
                    "[{n}] names no citation"
                );
            }
        }
    }

    #[test]
    fn markers_without_a_citation_are_dropped() {
        let hits = vec![
            retrieved(1, "Refunds take 30 days from delivery.", true, Some(4)),
            retrieved(3, "Shipping is free over 50 euros.", true, None),
        ];
        let blocks = blocks(&hits, 1000);
        let answer = "Shipping is **free** [2]. Refunds take a month [1][7], see [1, 9] and [8].\n\n- list [3]";
        let cited = citations(answer, &blocks);
        assert_eq!(
            keep_cited_markers(answer, &cited),
            "Shipping is **free** [2]. Refunds take a month [1], see [1] and.\n\n- list"
        );
        // Brackets that are not markers stay as written.
        let text = "Use [the form](https://example.com) or [see [2]] and [a, b].";
        assert_eq!(
            keep_cited_markers(text, &[]),
            "Use [the form](https://example.com) or [see] and [a, b]."
        );
    }
}
