//! Email through a real SMTP client (lettre) to a small in-process SMTP server that speaks
//! the protocol, including its refusals.

use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
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
        .post(
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
        .post(
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

/// The invite and reset screens say whether mail leaves the server, and where the link
/// goes when it does not.
#[tokio::test]
async fn screens_say_whether_mail_is_sent() {
    let (port, messages) = fake_smtp(false).await;
    let with_mail = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.smtp_url = Some(docent_core::settings::Secret::new(format!(
            "smtp://127.0.0.1:{port}"
        )));
    })
    .await
    .expect("app");
    let without_mail = TestApp::spawn(Backend::Sqlite).await.expect("app");
    for (app, sends) in [(&with_mail, true), (&without_mail, false)] {
        let ana = app.signup("ana@example.com").await;
        let (status, page) = ana
            .form(
                "/app/members/invite",
                &[("email", "bo@example.com"), ("role", "viewer")],
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{page}");
        assert_eq!(page.contains("Invitation sent."), sends, "{page}");
        assert_eq!(page.contains("No email was sent"), !sends, "{page}");
        assert!(
            page.contains("invite?token="),
            "the link is shown either way"
        );

        let visitor = app.anonymous();
        let (_, page) = visitor.page("/forgot-password").await;
        assert_eq!(page.contains("data-docent=\"mail-off\""), !sends, "{page}");
        let response = visitor
            .client
            .post(format!("{}/forgot-password", app.base))
            .form(&[
                ("email", "ana@example.com"),
                ("csrf_token", visitor.csrf().await.as_str()),
            ])
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let (_, login) = visitor.page("/login").await;
        assert_eq!(login.contains("Outbox"), !sends, "{login}");
    }
    assert_eq!(messages.lock().expect("lock").len(), 2, "invite and reset");
}

/// An independent SMTP server (aiosmtpd, from PyPI) receives the invitation: the README's
/// example of `DOCENT_SMTP_URL`. Needs `DOCENT_AIOSMTPD_PYTHON` (set by `scripts/test`).
#[tokio::test]
async fn invitations_reach_an_independent_smtp_server() {
    let Ok(python) = std::env::var("DOCENT_AIOSMTPD_PYTHON") else {
        assert!(
            std::env::var("DOCENT_REQUIRE_AIOSMTPD").is_err(),
            "DOCENT_REQUIRE_AIOSMTPD is set but DOCENT_AIOSMTPD_PYTHON is not"
        );
        eprintln!("skipped: no aiosmtpd (set DOCENT_AIOSMTPD_PYTHON)");
        return;
    };
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("addr").port()
    };
    let mut server = tokio::process::Command::new(&python)
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-c", "aiosmtpd.handlers.Debugging", "stdout"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start aiosmtpd");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "aiosmtpd did not start"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.smtp_url = Some(docent_core::settings::Secret::new(format!(
            "smtp://127.0.0.1:{port}"
        )));
        s.smtp_from = "Docent <docent@example.com>".into();
    })
    .await
    .expect("app");
    let ana = app.signup("ana@example.com").await;
    let (status, body) = ana
        .post(
            "/api/organization/invitations",
            json!({"email": "bo@example.com", "role": "agent"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut stdout = BufReader::new(server.stdout.take().expect("stdout")).lines();
    let mut seen = String::new();
    let read = async {
        while let Ok(Some(line)) = stdout.next_line().await {
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("invite?token=") {
                break;
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(20), read)
        .await
        .expect("aiosmtpd printed the message");
    assert!(seen.contains("To: bo@example.com"), "{seen}");
    assert!(seen.contains("From: Docent <docent@example.com>"), "{seen}");
    server.kill().await.ok();
}
