//! Chunking: structure first (sections, then paragraphs and sentences within them), then
//! size in exact tokens (cl100k, shipped inside tiktoken-rs), with overlap. The same input
//! always gives the same chunks.
//!
//! The splitter weighs many candidate pieces of a text; tokenizing each anew made chunking
//! cost as much as reading the PDF. Each text is tokenized once instead ([`SliceSizer`]),
//! candidates are measured from its token offsets, and every chunk is then counted exactly
//! (a chunk the offsets misjudged, over the limit by an edge token, is cut again exactly).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use text_splitter::{ChunkConfig, ChunkSizer, MarkdownSplitter};
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
        let exact = self.splitter(tokenizer());
        let mut chunks = Vec::new();
        for group in self.groups(&doc.sections) {
            let metadata = ChunkMetadata {
                page: group.page,
                heading_path: group.heading_path.clone(),
                start_ms: group.start_ms,
                end_ms: group.end_ms,
            };
            let fast = self.splitter(SliceSizer::new(&group.text));
            for piece in fast.chunks(&group.text) {
                let content = piece.trim();
                let tokens = Self::count_tokens(content);
                if tokens as usize <= self.size {
                    self.push(&mut chunks, content, tokens, &metadata);
                    continue;
                }
                for part in exact.chunks(content) {
                    self.push(
                        &mut chunks,
                        part.trim(),
                        Self::count_tokens(part.trim()),
                        &metadata,
                    );
                }
            }
        }
        chunks
    }

    fn splitter<S: ChunkSizer>(&self, sizer: S) -> MarkdownSplitter<S> {
        let config = match ChunkConfig::new(self.size).with_overlap(self.overlap) {
            Ok(c) => c.with_sizer(sizer),
            Err(_) => ChunkConfig::new(self.size).with_sizer(sizer),
        };
        MarkdownSplitter::new(config)
    }

    fn push(&self, chunks: &mut Vec<Chunk>, content: &str, tokens: u32, metadata: &ChunkMetadata) {
        if content.is_empty() {
            return;
        }
        chunks.push(Chunk {
            index: chunks.len() as u32,
            token_count: tokens,
            content: content.to_owned(),
            metadata: metadata.clone(),
        });
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

/// Token counts of any piece of one text, from a single tokenization of the whole: the
/// tokens a piece overlaps. Exact inside the text; at a piece's edges, where the tokenizer
/// might cut a word differently on its own, it can be off by a token. Pieces of other texts
/// are tokenized exactly.
struct SliceSizer<'t> {
    text: &'t str,
    /// Byte offset where each token starts, then the text's length.
    starts: Vec<usize>,
}

impl<'t> SliceSizer<'t> {
    fn new(text: &'t str) -> SliceSizer<'t> {
        let bpe = tokenizer();
        let tokens = bpe.encode_ordinary(text);
        let mut starts = Vec::with_capacity(tokens.len() + 1);
        let mut at = 0;
        for token in tokens {
            starts.push(at);
            at += bpe.decode_bytes(&[token]).map_or(0, |bytes| bytes.len());
        }
        starts.push(at);
        SliceSizer { text, starts }
    }
}

impl ChunkSizer for SliceSizer<'_> {
    fn size(&self, chunk: &str) -> usize {
        let offset = (chunk.as_ptr() as usize).wrapping_sub(self.text.as_ptr() as usize);
        let end = offset.wrapping_add(chunk.len());
        let whole = self.starts.last().copied().unwrap_or(0);
        if offset > self.text.len() || end > self.text.len() || whole != self.text.len() {
            return tokenizer().encode_ordinary(chunk).len();
        }
        if chunk.is_empty() {
            return 0;
        }
        // The token holding the piece's first byte, up to the last one starting before its end.
        let first = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let after_last = self.starts.partition_point(|&s| s < end);
        after_last.saturating_sub(first)
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
    fn slices_are_measured_like_the_tokenizer_measures_them() {
        let text = "Refunds are paid within five days. Unworn shoes can be returned within sixty \
                    days; 12345 or €99.50 — naïve café, 日本語のテキスト.\n\n## Returns\nPrint the label.";
        let sizer = SliceSizer::new(text);
        assert_eq!(sizer.size(text), Chunker::count_tokens(text) as usize);
        let mut off = 0;
        for (start, _) in text.char_indices().step_by(7) {
            for (end, _) in text
                .char_indices()
                .skip_while(|(e, _)| *e <= start)
                .step_by(11)
            {
                let piece = &text[start..end];
                let exact = Chunker::count_tokens(piece) as i64;
                let measured = sizer.size(piece) as i64;
                off = off.max((measured - exact).abs());
                assert!(
                    (measured - exact).abs() <= 2,
                    "{piece:?}: {measured} vs {exact}"
                );
            }
        }
        assert!(off <= 2);
        // A piece of another text is counted exactly.
        let other = String::from("Refunds are paid");
        assert_eq!(sizer.size(&other), Chunker::count_tokens(&other) as usize);
    }

    #[test]
    fn no_chunk_is_over_the_limit_even_where_slices_are_misjudged() {
        // Digit runs and accents tokenize differently when cut mid-run: the slice sizer's
        // worst case.
        let text = (0..600)
            .map(|i| format!("{}7{i}éàü{}", "12345".repeat(i % 7), "x".repeat(i % 5)))
            .collect::<Vec<_>>()
            .join(" ");
        for (size, overlap) in [(50, 0), (64, 10), (400, 0)] {
            let chunks = Chunker::new(size, overlap).chunk(&doc(vec![Section {
                text: text.clone(),
                ..Section::default()
            }]));
            assert!(chunks.len() > 2);
            for c in &chunks {
                assert_eq!(c.token_count, Chunker::count_tokens(&c.content));
                assert!(c.token_count <= size, "{} > {size}", c.token_count);
            }
        }
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
