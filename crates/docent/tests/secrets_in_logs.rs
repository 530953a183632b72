//! The real `docent serve` with every log level on (`DOCENT_LOG=trace`) and no SMTP: a
//! password reset is asked for, its link read from the admin outbox, opened and used. The
//! link and its token appear nowhere in what the server logged.

mod common;

use serde_json::json;

use common::{Server, free_port, get_json, scratch_dir, sign_up};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_links_never_reach_the_log() {
    let dir = scratch_dir("logs");
    std::fs::create_dir_all(&dir).expect("dir");
    let log_path = dir.join("server.log");
    let server = Server::start(
        &dir.join("data"),
        free_port(),
        &[("DOCENT_LOG", "trace")],
        Some(&log_path),
    );
    server.ready().await;
    let base = server.base.clone();
    let (client, csrf) = sign_up(&base, "admin@example.com").await;
    let asked = client
        .post(format!("{base}/api/auth/forgot-password"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"email": "admin@example.com"}))
        .send()
        .await
        .expect("forgot");
    assert_eq!(asked.status(), 202);
    let outbox = get_json(&client, &format!("{base}/api/admin/outbox")).await;
    let body = outbox.to_string();
    let token = body
        .split("token=")
        .nth(1)
        .map(|t| {
            t.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect::<String>()
        })
        .filter(|t| t.len() >= 20)
        .unwrap_or_else(|| panic!("no reset link in the outbox: {body}"));
    let page = client
        .get(format!("{base}/reset-password?token={token}"))
        .send()
        .await
        .expect("reset page");
    assert_eq!(page.status(), 200);
    let reset = client
        .post(format!("{base}/api/auth/reset-password"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"token": token, "password": "a brand new secret"}))
        .send()
        .await
        .expect("reset");
    assert_eq!(reset.status(), 200);
    drop(server);

    let logged = std::fs::read_to_string(&log_path).expect("log");
    assert!(
        logged.lines().count() > 20,
        "trace logging was not on: {logged}"
    );
    for (i, line) in logged.lines().enumerate() {
        assert!(
            !line.contains(&token),
            "line {} of the log holds the reset token: {line}",
            i + 1
        );
        assert!(
            !line.contains("reset-password?token"),
            "line {} of the log holds a reset link: {line}",
            i + 1
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
