//! Extraction in a child process (`docent extract --json` under limits), as the workers run
//! it: good files come back, bad ones are refused with a reason, and a file that makes the
//! reader crash or exceed its memory never takes the caller down.

use std::path::Path;
use std::time::Duration;

use docent_app::jobs::isolated::{Extractor, Limits, Outcome};

async fn extract(bin: &Path, bytes: &[u8], name: &str, limits: Limits) -> Outcome {
    Extractor::new(bin, limits).extract(bytes, name).await
}

const BIN: &str = env!("CARGO_BIN_EXE_docent");
const LIMITS: Limits = Limits {
    memory_mb: 1024,
    timeout: Duration::from_secs(30),
};

#[tokio::test]
async fn good_files_come_back_with_chunks() {
    let text = b"# Returns\n\nRefunds are paid within five days.\n";
    match extract(Path::new(BIN), text, "returns.md", LIMITS).await {
        Outcome::Done(doc) => {
            assert_eq!(doc.title.as_deref(), Some("Returns"));
            assert_eq!(doc.sections[0].heading_path, vec!["Returns".to_owned()]);
            assert!(doc.sections[0].text.contains("Refunds are paid"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unsupported_files_are_refused_with_a_reason() {
    match extract(
        Path::new(BIN),
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
        "photo.png",
        LIMITS,
    )
    .await
    {
        Outcome::Refused(message) => assert!(message.contains("not supported"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_reader_over_its_memory_limit_is_stopped_not_the_caller() {
    // 8 MiB of address space is far too little for the reader to even start.
    let tight = Limits {
        memory_mb: 8,
        timeout: Duration::from_secs(30),
    };
    match extract(Path::new(BIN), b"plain words", "a.txt", tight).await {
        Outcome::Refused(message) => {
            assert!(message.contains("could not be processed"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn one_child_serves_many_files_and_survives_bad_ones() {
    let extractor = Extractor::new(BIN, LIMITS);
    for i in 0..5 {
        let text = format!("Note number {i} about the return policy.");
        match extractor.extract(text.as_bytes(), "note.txt").await {
            Outcome::Done(doc) => assert!(doc.sections[0].text.contains(&format!("number {i}"))),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            extractor.extract(b"\x89PNG\r\n\x1a\n\0\0", "x.png").await,
            Outcome::Refused(_)
        ));
    }
}

/// Every malformed, encrypted, empty or fuzzed PDF of the shared corpus ends with chunks or
/// a clear refusal, within the limits. Skipped when the corpus or PDFium is absent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_pdfs_end_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/pdfs/malformed");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: no corpus at {}", dir.display());
        return;
    };
    if !docent_ingest::pdf::available() {
        assert!(
            std::env::var("DOCENT_REQUIRE_PDFIUM").is_err(),
            "DOCENT_REQUIRE_PDFIUM is set but PDFium is missing"
        );
        eprintln!("skipped: PDFium not available");
        return;
    }
    let limits = Limits {
        memory_mb: 1024,
        timeout: Duration::from_secs(30),
    };
    // One child for the whole corpus, as a worker would use it.
    let extractor = Extractor::new(BIN, limits);
    let mut seen = 0;
    for entry in entries {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "pdf") {
            continue;
        }
        let bytes = std::fs::read(&path).expect("read");
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        match extractor.extract(&bytes, name).await {
            Outcome::Done(doc) => {
                assert!(!doc.sections.is_empty(), "{name}: completed without text")
            }
            Outcome::Refused(message) => {
                assert!(message.len() > 20, "{name}: unclear refusal {message:?}")
            }
            Outcome::Broken(message) => panic!("{name}: {message}"),
        }
        seen += 1;
    }
    assert!(seen >= 20, "only {seen} files");
}

/// A landscape table on a rotated page keeps its right-hand columns and line ends, which
/// fall outside the page's unrotated size (PDFium's "all text" cut them off: "affecte").
/// Skipped when the corpus or PDFium is absent.
#[test]
fn rotated_pages_keep_all_their_text() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/corpora/pdfs/good/pdfplumber__nics-background-checks-2015-11-rotated.pdf",
    );
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!("skipped: no {}", path.display());
        return;
    };
    if !docent_ingest::pdf::available() {
        assert!(
            std::env::var("DOCENT_REQUIRE_PDFIUM").is_err(),
            "DOCENT_REQUIRE_PDFIUM is set but PDFium is missing"
        );
        eprintln!("skipped: PDFium not available");
        return;
    }
    let text = docent_ingest::pdf::extract(&bytes).expect("extract").text();
    for whole in ["affected", "Totals", "Rentals"] {
        assert!(
            text.split(|c: char| !c.is_alphanumeric())
                .any(|w| w == whole),
            "{whole:?} missing"
        );
    }
}
