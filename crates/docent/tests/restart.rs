//! The real `docent serve` process, killed with SIGKILL in the middle of processing a large
//! document and started again: the job's lease runs out, a new worker takes it over, and
//! the document completes with each chunk stored once.

mod common;

use serde_json::{Value, json};

use common::{Server, free_port, get_json, post_json, scratch_dir, sign_up, wait_until};

fn start(dir: &std::path::Path, port: u16) -> Server {
    Server::start(
        dir,
        port,
        &[("DOCENT_WORKERS", "1"), ("DOCENT_JOB_LEASE_SECS", "2")],
        None,
    )
}

/// A text of `paragraphs` varied paragraphs.
fn big_text(paragraphs: usize) -> String {
    let words = [
        "refund", "shipping", "warranty", "kettle", "descale", "vinegar", "parcel", "receipt",
        "courier", "policy", "holiday", "support", "order", "tracking",
    ];
    let mut seed = 7u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        words[(seed % words.len() as u64) as usize]
    };
    (0..paragraphs)
        .map(|_| {
            (0..5)
                .map(|_| format!("{}.", (0..12).map(|_| next()).collect::<Vec<_>>().join(" ")))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_finishes_the_job_after_restart_without_duplicates() {
    let dir = scratch_dir("restart");
    let port = free_port();
    let server = start(&dir, port);
    server.ready().await;
    let base = server.base.clone();
    let (client, csrf) = sign_up(&base, "ops@example.com").await;
    let space = post_json(
        &client,
        &csrf,
        &format!("{base}/api/chat-spaces"),
        json!({"name": "Big"}),
    )
    .await;
    let space_id = space["id"].as_str().expect("id").to_owned();
    let text = big_text(3000);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(text.clone().into_bytes()).file_name("big.txt"),
    );
    let docs: Value = client
        .post(format!(
            "{base}/api/chat-spaces/{space_id}/documents/upload"
        ))
        .header("x-csrf-token", &csrf)
        .multipart(form)
        .send()
        .await
        .expect("upload")
        .json()
        .await
        .expect("json");
    let doc_id = docs[0]["id"].as_str().expect("doc").to_owned();
    let doc_url = format!("{base}/api/documents/{doc_id}");

    wait_until("processing to start", async || {
        let doc = get_json(&client, &doc_url).await;
        doc["status"] == "processing"
    })
    .await;
    drop(server); // SIGKILL in the middle of the work

    let server = start(&dir, port);
    server.ready().await;
    wait_until("the document to complete", async || {
        let doc = get_json(&client, &doc_url).await;
        assert_ne!(doc["status"], "failed", "{doc}");
        doc["status"] == "completed"
    })
    .await;

    let doc = get_json(&client, &doc_url).await;
    let count = doc["chunk_count"].as_i64().expect("count");
    let mut indexes = Vec::new();
    let mut after = -1;
    loop {
        let page = get_json(
            &client,
            &format!("{doc_url}/chunks?after={after}&limit=200"),
        )
        .await;
        let chunks = page["data"].as_array().expect("data").clone();
        if chunks.is_empty() {
            break;
        }
        for chunk in &chunks {
            indexes.push(chunk["chunk_index"].as_i64().expect("index"));
        }
        after = *indexes.last().expect("one");
    }
    assert!(count > 100, "{count} chunks");
    assert_eq!(
        indexes,
        (0..count).collect::<Vec<_>>(),
        "every chunk once, in order"
    );
    drop(server);
    std::fs::remove_dir_all(dir).ok();
}
