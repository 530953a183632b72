//! The real `docent serve` with every log level on (`DOCENT_LOG=trace`) and no SMTP: a
//! password reset is asked for, its link read from the admin outbox, opened and used. The
//! link and its token appear nowhere in what the server logged.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_links_never_reach_the_log() {
    let dir = std::env::temp_dir().join(format!("docent-logs-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("dir");
    let log_path = dir.join("server.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_docent"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.join("data"))
        .env("DOCENT_LOG", "trace")
        .env_remove("RUST_LOG")
        .env_remove("DOCENT_SMTP_URL")
        .env_remove("DOCENT_DATABASE_URL")
        .env_remove("DOCENT_EMBEDDING_MODEL_DIR")
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .expect("start docent serve");
    let base = format!("http://127.0.0.1:{port}");
    docent_ingest::fetch::init_tls();
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !client
        .get(format!("{base}/ready"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let signup = client
        .post(format!("{base}/api/auth/signup"))
        .json(&json!({"email": "admin@example.com", "password": "correct horse battery"}))
        .send()
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
    let asked = client
        .post(format!("{base}/api/auth/forgot-password"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"email": "admin@example.com"}))
        .send()
        .await
        .expect("forgot");
    assert_eq!(asked.status(), 202);
    let outbox: Value = client
        .get(format!("{base}/api/admin/outbox"))
        .send()
        .await
        .expect("outbox")
        .json()
        .await
        .expect("json");
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
    let _ = child.kill();
    let _ = child.wait();

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
