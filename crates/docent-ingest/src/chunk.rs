//! Chunking: structure first (sections, then paragraphs and sentences within them), then
//! size in exact tokens (cl100k, shipped inside tiktoken-rs), with overlap. The same input
//! always gives the same chunks.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use text_splitter::{ChunkConfig, MarkdownSplitter};
use tiktoken_rs::CoreBPE;

use crate::{Extracted, Section};

fn tokenizer() -> &'static CoreBPE {
    static BPE: OnceLock<CoreBPE> = OnceLock::new();
    // The vocabulary is compiled into tiktoken-rs, so this cannot fail at run time.
    BPE.get_or_init(|| {
        tiktoken_rs::cl100k_base().expect("cl100k vocabulary ships inside tiktoken-rs")
    })
}

/// Where a chunk sits in its document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChunkMetadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub heading_path: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    pub index: u32,
    pub content: String,
    pub token_count: u32,
    pub metadata: ChunkMetadata,
}

/// Cuts documents into chunks of at most `size` tokens overlapping by `overlap`.
#[derive(Clone, Debug)]
pub struct Chunker {
    size: usize,
    overlap: usize,
}

impl Chunker {
    pub fn new(size: u32, overlap: u32) -> Chunker {
        let size = (size as usize).max(16);
        Chunker {
            size,
            overlap: (overlap as usize).min(size / 2),
        }
    }

    pub fn count_tokens(text: &str) -> u32 {
        tokenizer().encode_ordinary(text).len() as u32
    }

    pub fn chunk(&self, doc: &Extracted) -> Vec<Chunk> {
        let config = match ChunkConfig::new(self.size).with_overlap(self.overlap) {
            Ok(c) => c.with_sizer(tokenizer()),
            Err(_) => ChunkConfig::new(self.size).with_sizer(tokenizer()),
        };
        let splitter = MarkdownSplitter::new(config);
        let mut chunks = Vec::new();
        for group in self.groups(&doc.sections) {
            for piece in splitter.chunks(&group.text) {
                let content = piece.trim();
                if content.is_empty() {
                    continue;
                }
                chunks.push(Chunk {
                    index: chunks.len() as u32,
                    token_count: Self::count_tokens(content),
                    content: content.to_owned(),
                    metadata: ChunkMetadata {
                        page: group.page,
                        heading_path: group.heading_path.clone(),
                        start_ms: group.start_ms,
                        end_ms: group.end_ms,
                    },
                });
            }
        }
        chunks
    }

    /// Joins small neighbouring sections that share a page, so a document of many short
    /// sections does not become many tiny chunks. A joined group keeps the first
    /// section's heading path and the span of its times.
    fn groups(&self, sections: &[Section]) -> Vec<Section> {
        let mut groups: Vec<(Section, usize)> = Vec::new();
        for section in sections {
            let tokens = Self::count_tokens(&section.text) as usize;
            match groups.last_mut() {
                Some((group, group_tokens))
                    if group.page == section.page && *group_tokens + tokens <= self.size / 2 =>
                {
                    group.text.push_str("\n\n");
                    group.text.push_str(&section.text);
                    group.end_ms = section.end_ms.or(group.end_ms);
                    *group_tokens += tokens;
                }
                _ => groups.push((section.clone(), tokens)),
            }
        }
        groups.into_iter().map(|(s, _)| s).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(sections: Vec<Section>) -> Extracted {
        Extracted {
            sections,
            ..Extracted::default()
        }
    }

    #[test]
    fn chunks_respect_the_token_limit_overlap_and_metadata() {
        let text = (0..400)
            .map(|i| format!("Sentence number {i} tells one small fact."))
            .collect::<Vec<_>>()
            .join(" ");
        let chunker = Chunker::new(100, 20);
        let chunks = chunker.chunk(&doc(vec![Section {
            text: text.clone(),
            page: Some(3),
            ..Section::default()
        }]));
        assert!(chunks.len() > 20);
        for c in &chunks {
            assert!(c.token_count <= 100, "{} tokens", c.token_count);
            assert_eq!(c.metadata.page, Some(3));
        }
        let first_end = &chunks[0].content[chunks[0].content.len() - 20..];
        assert!(
            chunks[1].content.contains(first_end.trim()),
            "chunks overlap"
        );
        assert_eq!(
            chunker.chunk(&doc(vec![Section {
                text,
                page: Some(3),
                ..Section::default()
            }])),
            chunks,
            "deterministic"
        );
    }

    #[test]
    fn small_sections_join_and_keep_the_first_heading() {
        let sections = vec![
            Section {
                text: "## A\nOne.".into(),
                heading_path: vec!["A".into()],
                ..Section::default()
            },
            Section {
                text: "## B\nTwo.".into(),
                heading_path: vec!["B".into()],
                ..Section::default()
            },
        ];
        let chunks = Chunker::new(200, 20).chunk(&doc(sections));
        assert_eq!(chunks.len(), 1);
        assert!(chunks[0].content.contains("One.") && chunks[0].content.contains("Two."));
        assert_eq!(chunks[0].metadata.heading_path, vec!["A".to_owned()]);
    }
}
