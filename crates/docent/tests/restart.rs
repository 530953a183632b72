//! The real `docent serve` process, killed with SIGKILL in the middle of processing a large
//! document and started again: the job's lease runs out, a new worker takes it over, and
//! the document completes with each chunk stored once.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_docent"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir)
        .env("DOCENT_WORKERS", "1")
        .env("DOCENT_JOB_LEASE_SECS", "2")
        .env("DOCENT_LOG", "warn")
        .env_remove("DOCENT_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start docent serve");
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
    let dir = std::env::temp_dir().join(format!("docent-restart-{}", uuid::Uuid::now_v7()));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    docent_ingest::fetch::init_tls();
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let server = start(&dir, port);
    let base = server.base.clone();
    wait_until("the first start", async || {
        client
            .get(format!("{base}/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;

    let post = |path: &str, body: Value| client.post(format!("{base}{path}")).json(&body).send();
    let signup = post(
        "/api/auth/signup",
        json!({"email": "ops@example.com", "password": "correct horse battery"}),
    )
    .await
    .expect("signup");
    assert_eq!(signup.status(), 201);
    let me: Value = client
        .get(format!("{base}/api/auth/me"))
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    let csrf = me["csrf_token"].as_str().expect("csrf").to_owned();
    let space: Value = client
        .post(format!("{base}/api/chat-spaces"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"name": "Big"}))
        .send()
        .await
        .expect("space")
        .json()
        .await
        .expect("json");
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
        let doc: Value = client
            .get(&doc_url)
            .send()
            .await
            .expect("doc")
            .json()
            .await
            .expect("json");
        doc["status"] == "processing"
    })
    .await;
    drop(server); // SIGKILL in the middle of the work

    let server = start(&dir, port);
    let base = server.base.clone();
    wait_until("the restart", async || {
        client
            .get(format!("{base}/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    wait_until("the document to complete", async || {
        let doc: Value = client
            .get(&doc_url)
            .send()
            .await
            .expect("doc")
            .json()
            .await
            .expect("json");
        assert_ne!(doc["status"], "failed", "{doc}");
        doc["status"] == "completed"
    })
    .await;

    let doc: Value = client
        .get(&doc_url)
        .send()
        .await
        .expect("doc")
        .json()
        .await
        .expect("json");
    let count = doc["chunk_count"].as_i64().expect("count");
    let mut indexes = Vec::new();
    let mut after = -1;
    loop {
        let page: Value = client
            .get(format!("{doc_url}/chunks?after={after}&limit=200"))
            .send()
            .await
            .expect("chunks")
            .json()
            .await
            .expect("json");
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
