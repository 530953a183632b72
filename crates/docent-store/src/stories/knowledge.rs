//! Conformance stories of documents, chunks and search.

use docent_core::*;
use serde_json::json;

use super::*;
use crate::Store;

pub async fn documents_are_counted_per_chat_space(store: &impl Store) {
    let (_, org_a, _, org_b) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("docs"))
        .await
        .expect("create");
    assert_eq!(
        store
            .count_documents(org_a.id, space.id, Some(DocumentStatus::Completed))
            .await
            .expect("count"),
        0
    );
    store
        .create_document(org_a.id, new_doc(space.id, DocumentStatus::Pending))
        .await
        .expect("doc");
    store
        .create_document(org_a.id, new_doc(space.id, DocumentStatus::Completed))
        .await
        .expect("doc");
    assert_eq!(
        store
            .count_documents(org_a.id, space.id, None)
            .await
            .expect("count"),
        2
    );
    assert_eq!(
        store
            .count_documents(org_a.id, space.id, Some(DocumentStatus::Completed))
            .await
            .expect("count"),
        1
    );
    assert_eq!(
        store
            .count_documents(org_b.id, space.id, None)
            .await
            .expect("count"),
        0
    );
    assert!(
        store
            .create_document(org_b.id, new_doc(space.id, DocumentStatus::Pending))
            .await
            .is_err(),
        "another org's chat space"
    );
}

pub async fn documents_keep_their_chunks_searchable(store: &impl Store) {
    let (_, org_a, _, org_b) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("know"))
        .await
        .expect("create");
    let doc = store
        .create_document(org_a.id, new_doc(space.id, DocumentStatus::Pending))
        .await
        .expect("doc");
    assert_eq!(doc.status, DocumentStatus::Pending);
    assert!(
        store
            .find_document(org_b.id, doc.id)
            .await
            .expect("find")
            .is_none()
    );
    assert!(
        store
            .update_document(
                org_b.id,
                doc.id,
                DocumentPatch {
                    citable: Some(false),
                    title: None
                }
            )
            .await
            .expect("update")
            .is_none()
    );
    assert!(
        store
            .delete_document(org_b.id, doc.id)
            .await
            .expect("delete")
            .is_none()
    );

    store
        .set_document_file(
            org_b.id,
            doc.id,
            StoredFile {
                storage_key: "evil".into(),
                file_size: 1,
                content_hash: "x".into(),
                source_url: None,
            },
        )
        .await
        .expect("other org");
    assert_eq!(
        store
            .find_document(org_a.id, doc.id)
            .await
            .expect("find")
            .expect("doc")
            .storage_key
            .as_deref(),
        Some("k"),
        "another org changes nothing"
    );
    store
        .set_document_file(
            org_a.id,
            doc.id,
            StoredFile {
                storage_key: "k2".into(),
                file_size: 99,
                content_hash: "h2".into(),
                source_url: Some("https://example.com/faq".into()),
            },
        )
        .await
        .expect("file");
    let stored = store
        .find_document(org_a.id, doc.id)
        .await
        .expect("find")
        .expect("doc");
    assert_eq!(
        (
            stored.storage_key.as_deref(),
            stored.file_size,
            stored.source_url.as_deref()
        ),
        (Some("k2"), Some(99), Some("https://example.com/faq"))
    );
    store
        .set_document_status(org_a.id, doc.id, DocumentStatus::Processing, 40, None)
        .await
        .expect("progress");
    let processing = store
        .find_document(org_a.id, doc.id)
        .await
        .expect("find")
        .expect("doc");
    assert_eq!(
        (processing.status, processing.progress),
        (DocumentStatus::Processing, 40)
    );
    assert!(processing.processing_started_at.is_some());

    let facts = DocumentFacts {
        title: Some("Returns policy".into()),
        author: Some("Ana".into()),
        doc_type: Some("markdown".into()),
        page_count: Some(2),
        word_count: Some(9),
    };
    let chunks = vec![
        chunk(0, "Refunds are paid within five days."),
        chunk(1, "Shipping is free above fifty euros."),
    ];
    assert!(
        store
            .complete_document(org_a.id, doc.id, facts.clone(), chunks.clone())
            .await
            .expect("complete")
    );
    // Processing twice (a retried job) replaces the chunks instead of adding to them.
    assert!(
        store
            .complete_document(org_a.id, doc.id, facts, chunks)
            .await
            .expect("again")
    );
    let done = store
        .find_document(org_a.id, doc.id)
        .await
        .expect("find")
        .expect("doc");
    assert_eq!(
        (done.status, done.progress, done.chunk_count),
        (DocumentStatus::Completed, 100, 2)
    );
    assert_eq!(
        (
            done.title.as_str(),
            done.doc_type.as_str(),
            done.page_count,
            done.word_count
        ),
        ("Returns policy", "markdown", Some(2), Some(9))
    );
    let listed = store
        .list_chunks(org_a.id, doc.id, None, 10)
        .await
        .expect("chunks");
    assert_eq!(
        listed.iter().map(|c| c.chunk_index).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert_eq!(listed[1].metadata, json!({"page": 2}));
    assert_eq!(
        store
            .list_chunks(org_a.id, doc.id, Some(0), 10)
            .await
            .expect("after")
            .len(),
        1
    );
    assert!(
        store
            .list_chunks(org_b.id, doc.id, None, 10)
            .await
            .expect("other org")
            .is_empty()
    );

    let hits = store
        .search_chunks(org_a.id, space.id, &search_terms("refund policy?"), 5)
        .await
        .expect("search");
    assert_eq!(hits.len(), 1, "stemming matches refund with Refunds");
    assert_eq!(hits[0].chunk.chunk_index, 0);
    assert_eq!(hits[0].document_title, "Returns policy");
    assert!(hits[0].score > 0.0);
    let both = store
        .search_chunks(org_a.id, space.id, &search_terms("refunds shipping"), 5)
        .await
        .expect("search");
    assert_eq!(both.len(), 2, "any term matches");
    assert!(
        store
            .search_chunks(org_a.id, space.id, &[], 5)
            .await
            .expect("empty")
            .is_empty()
    );

    let renamed = store
        .update_document(
            org_a.id,
            doc.id,
            DocumentPatch {
                citable: Some(false),
                title: Some("Policy".into()),
            },
        )
        .await
        .expect("update")
        .expect("doc");
    assert!(!renamed.citable);
    assert_eq!(renamed.title, "Policy");
    let deleted = store
        .delete_document(org_a.id, doc.id)
        .await
        .expect("delete")
        .expect("was there");
    assert_eq!(deleted.storage_key.as_deref(), Some("k2"));
    assert!(
        store
            .search_chunks(org_a.id, space.id, &search_terms("refunds"), 5)
            .await
            .expect("search")
            .is_empty(),
        "chunks go with their document"
    );
}

pub async fn search_stays_inside_the_chat_space(store: &impl Store) {
    let (_, org_a, _, org_b) = two_orgs(store).await;
    let space_a = store
        .create_chat_space(org_a.id, new_space("sa"))
        .await
        .expect("a");
    let space_b = store
        .create_chat_space(org_b.id, new_space("sb"))
        .await
        .expect("b");
    for (org, space) in [(org_a.id, space_a.id), (org_b.id, space_b.id)] {
        let doc = store
            .create_document(org, new_doc(space, DocumentStatus::Pending))
            .await
            .expect("doc");
        store
            .complete_document(
                org,
                doc.id,
                DocumentFacts::default(),
                vec![chunk(0, "The secret warranty lasts two years.")],
            )
            .await
            .expect("complete");
    }
    let terms = search_terms("warranty");
    assert_eq!(
        store
            .search_chunks(org_a.id, space_a.id, &terms, 5)
            .await
            .expect("a")
            .len(),
        1
    );
    assert!(
        store
            .search_chunks(org_a.id, space_b.id, &terms, 5)
            .await
            .expect("cross")
            .is_empty()
    );
    assert!(
        store
            .search_chunks(org_b.id, space_a.id, &terms, 5)
            .await
            .expect("cross")
            .is_empty()
    );
}

/// The in-memory full-text index (`warm_search`) finds what the database's own search finds,
/// sees added and deleted chunks at once, and never crosses organizations.
pub async fn the_search_index_follows_every_change(store: &impl Store) {
    let (_, org_a, _, org_b) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("indexed"))
        .await
        .expect("space");
    let add = |texts: &'static [&'static str]| async move {
        let doc = store
            .create_document(org_a.id, new_doc(space.id, DocumentStatus::Pending))
            .await
            .expect("doc");
        let chunks = texts
            .iter()
            .enumerate()
            .map(|(i, t)| chunk(i as i32, t))
            .collect();
        store
            .complete_document(org_a.id, doc.id, DocumentFacts::default(), chunks)
            .await
            .expect("complete");
        doc
    };
    let search = |question: &'static str| async move {
        store
            .search_chunks(org_a.id, space.id, &search_terms(question), 5)
            .await
            .expect("search")
            .into_iter()
            .map(|h| h.chunk.content)
            .collect::<Vec<_>>()
    };
    let returns = add(&[
        "Refunds are issued within thirty days of delivery.",
        "Shipping is free on orders over fifty euros; shipping abroad costs more.",
        "Our refund policy also covers damage in shipping.",
    ])
    .await;
    let cold = search("refund shipping").await;
    store.warm_search(org_a.id, space.id).await.expect("warm");
    store
        .warm_search(org_a.id, space.id)
        .await
        .expect("warm again");
    let warm = search("refund shipping").await;
    assert_eq!(warm.len(), 3, "{warm:?}");
    assert_eq!(
        warm[0], "Our refund policy also covers damage in shipping.",
        "both words first"
    );
    let mut sorted = (cold.clone(), warm.clone());
    sorted.0.sort();
    sorted.1.sort();
    assert_eq!(sorted.0, sorted.1, "the database finds the same chunks");
    assert_eq!(search("refunded").await.len(), 2, "stemming");
    assert!(search("warranty").await.is_empty());

    // A chunk added after the index was built is found next to the ones it knows: rows the
    // old index ranks are not taken as the answer once the chunks have changed.
    let damage = add(&["Refund of shipping costs for damaged parcels: refund shipping."]).await;
    let found = search("refund shipping").await;
    assert!(
        found
            .contains(&"Refund of shipping costs for damaged parcels: refund shipping.".to_owned()),
        "{found:?}"
    );
    store
        .delete_document(org_a.id, damage.id)
        .await
        .expect("delete")
        .expect("was there");
    assert_eq!(search("refund shipping").await.len(), 3);

    // Added and deleted knowledge counts at once, before any rebuild.
    let warranty = add(&["The warranty lasts two years."]).await;
    assert_eq!(search("warranty").await, ["The warranty lasts two years."]);
    store.warm_search(org_a.id, space.id).await.expect("warm");
    assert_eq!(search("warranty").await, ["The warranty lasts two years."]);
    store
        .delete_document(org_a.id, returns.id)
        .await
        .expect("delete")
        .expect("was there");
    assert!(search("refund shipping").await.is_empty());
    store.warm_search(org_a.id, space.id).await.expect("warm");
    assert!(search("refund shipping").await.is_empty());
    assert_eq!(search("warranty years").await.len(), 1);

    // Another organization, even naming this chat space, finds nothing.
    store.warm_search(org_b.id, space.id).await.expect("warm");
    assert!(
        store
            .search_chunks(org_b.id, space.id, &search_terms("warranty"), 5)
            .await
            .expect("search")
            .is_empty()
    );
    store
        .delete_document(org_a.id, warranty.id)
        .await
        .expect("delete")
        .expect("was there");
    store.warm_search(org_a.id, space.id).await.expect("warm");
    assert!(search("warranty").await.is_empty());
}

pub async fn nearest_chunks_are_found_by_embedding(store: &impl Store) {
    let (_, org_a, _, org_b) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("vec"))
        .await
        .expect("create");
    let doc = store
        .create_document(org_a.id, new_doc(space.id, DocumentStatus::Pending))
        .await
        .expect("doc");
    let chunks = vec![
        chunk(0, "about kettles"),
        chunk(1, "about teapots"),
        chunk(2, "about cups"),
    ];
    store
        .complete_document(org_a.id, doc.id, DocumentFacts::default(), chunks)
        .await
        .expect("complete");
    assert!(
        store
            .vector_search(org_a.id, space.id, &[1.0, 0.0, 0.0], 3)
            .await
            .expect("none yet")
            .is_empty()
    );
    let updated = store
        .set_chunk_embeddings(
            org_a.id,
            doc.id,
            vec![
                (0, vec![1.0, 0.0, 0.0]),
                (1, vec![0.7, 0.7, 0.0]),
                (2, vec![0.0, 0.0, 1.0]),
            ],
        )
        .await
        .expect("embed");
    assert_eq!(updated, 3);
    assert_eq!(
        store
            .set_chunk_embeddings(org_b.id, doc.id, vec![(0, vec![0.0, 1.0, 0.0])])
            .await
            .expect("other org"),
        0
    );
    let hits = store
        .vector_search(org_a.id, space.id, &[0.9, 0.1, 0.0], 2)
        .await
        .expect("search");
    assert_eq!(
        hits.iter().map(|h| h.chunk.chunk_index).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert!(
        hits[0].score > hits[1].score && hits[0].score > 0.9 && hits[0].score <= 1.0001,
        "{hits:?}"
    );
    assert!(
        store
            .vector_search(org_a.id, space.id, &[1.0, 0.0], 2)
            .await
            .expect("other dimension")
            .is_empty()
    );
    assert!(
        store
            .vector_search(org_b.id, space.id, &[1.0, 0.0, 0.0], 2)
            .await
            .expect("other org")
            .is_empty()
    );
    // Processing the document again replaces its chunks, and their embeddings with them.
    store
        .complete_document(
            org_a.id,
            doc.id,
            DocumentFacts::default(),
            vec![chunk(0, "new text")],
        )
        .await
        .expect("again");
    assert!(
        store
            .vector_search(org_a.id, space.id, &[1.0, 0.0, 0.0], 3)
            .await
            .expect("stale")
            .is_empty()
    );
    store
        .set_chunk_embeddings(org_a.id, doc.id, vec![(0, vec![1.0, 0.0, 0.0])])
        .await
        .expect("embed again");
    assert_eq!(
        store
            .vector_search(org_a.id, space.id, &[1.0, 0.0, 0.0], 3)
            .await
            .expect("found")
            .len(),
        1
    );
    store
        .delete_document(org_a.id, doc.id)
        .await
        .expect("delete");
    assert!(
        store
            .vector_search(org_a.id, space.id, &[1.0, 0.0, 0.0], 3)
            .await
            .expect("deleted")
            .is_empty()
    );
}

pub async fn site_pages_go_with_their_site(store: &impl Store) {
    let (_, org_a, _, org_b) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("site"))
        .await
        .expect("create");
    let site = store
        .create_document(org_a.id, new_doc(space.id, DocumentStatus::Completed))
        .await
        .expect("site");
    for key in ["page-1", "page-2"] {
        let page = NewDocument {
            parent_id: Some(site.id),
            storage_key: Some(key.into()),
            ..new_doc(space.id, DocumentStatus::Pending)
        };
        store.create_document(org_a.id, page).await.expect("page");
    }
    let mut keys = store
        .child_storage_keys(org_a.id, site.id)
        .await
        .expect("keys");
    keys.sort();
    assert_eq!(keys, vec!["page-1".to_owned(), "page-2".to_owned()]);
    assert!(
        store
            .child_storage_keys(org_b.id, site.id)
            .await
            .expect("other org")
            .is_empty()
    );
    store
        .delete_document(org_a.id, site.id)
        .await
        .expect("delete")
        .expect("was there");
    assert_eq!(
        store
            .count_documents(org_a.id, space.id, None)
            .await
            .expect("count"),
        0,
        "pages go with their site"
    );
}
