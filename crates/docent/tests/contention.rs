//! The real `docent serve` on its embedded SQLite, with its two workers, while 8 clients
//! upload 400 small files at once: every document completes, none fails for a busy database.

mod common;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::{Server, free_port, get_json, post_json, scratch_dir, sign_up};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_hundred_uploads_from_eight_clients_all_complete() {
    let dir = scratch_dir("contention");
    let port = free_port();
    let log = dir.with_extension("log");
    let server = Server::start(&dir, port, &[("DOCENT_WORKERS", "2")], Some(&log));
    server.ready().await;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let (session, csrf) = sign_up(&base, "ops@example.com").await;
    let me = get_json(&session, &format!("{base}/api/auth/me")).await;
    let org = me["organization"]["id"].as_str().expect("org").to_owned();
    let key = post_json(
        &session,
        &csrf,
        &format!("{base}/api/api-keys"),
        json!({"name": "loader"}),
    )
    .await;
    let key = key["secret"].as_str().expect("secret").to_owned();
    // The free plan allows 20 documents; this is about the database, not the plan. The
    // first account is the platform's administrator.
    let plan = session
        .put(format!("{base}/api/admin/organizations/{org}/plan"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"plan": "enterprise"}))
        .send()
        .await
        .expect("plan");
    assert!(
        plan.status().is_success(),
        "{}",
        plan.text().await.unwrap_or_default()
    );
    let space: Value = client
        .post(format!("{base}/api/chat-spaces"))
        .bearer_auth(&key)
        .json(&json!({"name": "Busy"}))
        .send()
        .await
        .expect("space")
        .json()
        .await
        .expect("json");
    let id = space["id"].as_str().expect("id").to_owned();

    let uploads: Vec<_> = (0..8)
        .map(|c| {
            let (client, base, key, id) = (client.clone(), base.clone(), key.clone(), id.clone());
            tokio::spawn(async move {
                let mut refused = Vec::new();
                for n in 0..50 {
                    let text = format!(
                        "# Note {c}-{n}\n\nClient {c} wrote note {n} about refunds, parcels and \
                         warranties so that there is something to index in it.\n"
                    );
                    let form = reqwest::multipart::Form::new().part(
                        "file",
                        reqwest::multipart::Part::bytes(text.into_bytes())
                            .file_name(format!("note-{c}-{n}.md")),
                    );
                    let response = client
                        .post(format!("{base}/api/chat-spaces/{id}/documents/upload"))
                        .bearer_auth(&key)
                        .multipart(form)
                        .send()
                        .await
                        .expect("upload");
                    if response.status() != 201 {
                        refused.push(format!(
                            "{}: {}",
                            response.status(),
                            response.text().await.unwrap_or_default()
                        ));
                    }
                }
                refused
            })
        })
        .collect();
    let mut refused = Vec::new();
    for upload in uploads {
        refused.extend(upload.await.expect("client"));
    }
    assert!(refused.is_empty(), "uploads refused: {refused:?}");

    let deadline = Instant::now() + Duration::from_secs(300);
    let (completed, failed) = loop {
        let mut docs = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{base}/api/chat-spaces/{id}/documents?limit=100");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let page: Value = client
                .get(url)
                .bearer_auth(&key)
                .send()
                .await
                .expect("list")
                .json()
                .await
                .expect("json");
            docs.extend(page["data"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let done: Vec<&Value> = docs.iter().filter(|d| d["status"] == "completed").collect();
        let failed: Vec<String> = docs
            .iter()
            .filter(|d| d["status"] == "failed")
            .map(|d| format!("{}: {}", d["file_name"], d["error_message"]))
            .collect();
        if docs.len() == 400 && done.len() + failed.len() == 400 {
            break (done.len(), failed);
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} documents finished",
            done.len() + failed.len(),
            docs.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    drop(server);
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        failed.is_empty(),
        "{} failed: {failed:?}\n{logged}",
        failed.len()
    );
    assert_eq!(completed, 400);
    assert!(
        !logged.contains("database is locked"),
        "the server logged lock errors:\n{logged}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&log);
}
