//! Email through a real SMTP client (lettre) to a small in-process SMTP server that speaks
//! the protocol, including its refusals.

use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::common::{Backend, TestApp, code};

/// Accepts SMTP sessions on a free port; records each message's DATA. With `refuse_rcpt`,
/// every recipient is refused with 554.
async fn fake_smtp(refuse_rcpt: bool) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let messages = Arc::new(Mutex::new(Vec::new()));
    let store = messages.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 fake.test ESMTP\r\n").await.ok();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            store.lock().expect("lock").push(std::mem::take(body));
                            data = None;
                            write.write_all(b"250 2.0.0 queued\r\n").await.ok();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250-fake.test\r\n250 8BITMIME\r\n",
                        "MAIL" => b"250 2.1.0 ok\r\n",
                        "RCPT" if refuse_rcpt => b"554 5.7.1 relay denied\r\n",
                        "RCPT" => b"250 2.1.5 ok\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "RSET" | "NOOP" => b"250 ok\r\n",
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.ok();
                            break;
                        }
                        _ => b"502 5.5.2 unknown command\r\n",
                    };
                    write.write_all(reply).await.ok();
                }
            });
        }
    });
    (port, messages)
}

#[tokio::test]
async fn reset_links_go_out_by_smtp_when_configured() {
    let (port, messages) = fake_smtp(false).await;
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.smtp_url = Some(docent_core::settings::Secret::new(format!(
            "smtp://127.0.0.1:{port}"
        )));
        s.smtp_from = "Docent <docent@example.com>".into();
    })
    .await
    .expect("app");
    app.signup("ana@example.com").await;
    let (status, _) = app
        .anonymous()
        .json(
            Method::POST,
            "/api/auth/forgot-password",
            json!({"email": "ana@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let sent = messages.lock().expect("lock").clone();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].contains("To: ana@example.com"), "{}", sent[0]);
    assert!(sent[0].contains("Subject: Reset your Docent password"));
    assert!(sent[0].contains("reset-password?token="), "{}", sent[0]);
    assert!(
        app.state
            .store
            .list_outbox(10)
            .await
            .expect("outbox")
            .is_empty(),
        "nothing went to the outbox"
    );
}

#[tokio::test]
async fn a_refusing_mail_server_is_a_clear_503() {
    let (port, _) = fake_smtp(true).await;
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.smtp_url = Some(docent_core::settings::Secret::new(format!(
            "smtp://127.0.0.1:{port}"
        )));
    })
    .await
    .expect("app");
    app.signup("ana@example.com").await;
    let (status, body) = app
        .anonymous()
        .json(
            Method::POST,
            "/api/auth/forgot-password",
            json!({"email": "ana@example.com"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "mail_failed"),
        "{body}"
    );
}
