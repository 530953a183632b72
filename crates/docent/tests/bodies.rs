//! The real `docent serve` process on its defaults, sent 300 MB request bodies in chunked
//! transfer encoding (no length given up front): an upload that never shows its multipart
//! boundary, an upload whose one file never ends, and JSON bodies to an API route and to the
//! public widget. Each is refused with 413 `payload_too_large` soon after passing its limit,
//! and the server's resident memory stays flat throughout.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::{Server, free_port, post_json, scratch_dir, sign_up};

const MB: usize = 1024 * 1024;
const SENT: usize = 300 * MB;

/// The server's resident memory in bytes.
fn rss(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

struct Answer {
    status: u16,
    body: String,
    /// Body bytes written before the answer arrived (or the connection closed).
    sent: usize,
    /// The most the server's memory grew above where it was when the request began.
    growth: usize,
}

/// Sends `head` and then `preface` and `piece` repeated, in chunks, until `SENT` bytes, the
/// answer, or a closed connection; reads the answer as it comes. Samples the server's memory.
async fn chunked(port: u16, pid: u32, head: &str, preface: &[u8], piece: &[u8]) -> Answer {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let sent = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicBool::new(false));
    let before = rss(pid);
    let peak = Arc::new(AtomicUsize::new(before));
    let sampler = {
        let (peak, answered) = (peak.clone(), answered.clone());
        tokio::spawn(async move {
            while !answered.load(Ordering::Relaxed) {
                peak.fetch_max(rss(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let read = {
        let (sent, answered) = (sent.clone(), answered.clone());
        tokio::spawn(async move {
            let mut got = Vec::new();
            let mut buf = vec![0u8; 16 * 1024];
            let mut at = None;
            loop {
                match tokio::time::timeout(Duration::from_secs(60), reader.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
                    Ok(Ok(n)) => {
                        at.get_or_insert(sent.load(Ordering::Relaxed));
                        got.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(&got);
                        if let Some((head, body)) = text.split_once("\r\n\r\n") {
                            let length = head
                                .lines()
                                .find_map(|l| {
                                    l.to_ascii_lowercase()
                                        .strip_prefix("content-length:")
                                        .map(|v| v.trim().to_owned())
                                })
                                .and_then(|v| v.parse::<usize>().ok());
                            if length.is_some_and(|n| body.len() >= n) {
                                break;
                            }
                        }
                    }
                }
            }
            answered.store(true, Ordering::Relaxed);
            (got, at.unwrap_or(sent.load(Ordering::Relaxed)))
        })
    };
    writer.write_all(head.as_bytes()).await.expect("head");
    let mut chunk = Vec::with_capacity(piece.len() + 16);
    let mut first = true;
    while sent.load(Ordering::Relaxed) < SENT && !answered.load(Ordering::Relaxed) {
        let data = if first { preface } else { piece };
        first = false;
        chunk.clear();
        chunk.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
        chunk.extend_from_slice(data);
        chunk.extend_from_slice(b"\r\n");
        if writer.write_all(&chunk).await.is_err() {
            break;
        }
        sent.fetch_add(data.len(), Ordering::Relaxed);
    }
    let _ = writer.write_all(b"0\r\n\r\n").await;
    let (got, at) = read.await.expect("reader");
    answered.store(true, Ordering::Relaxed);
    sampler.await.expect("sampler");
    let text = String::from_utf8_lossy(&got).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Answer {
        status,
        body,
        sent: at,
        growth: peak.load(Ordering::Relaxed).saturating_sub(before),
    }
}

fn refused(what: &str, answer: &Answer, limit: usize) {
    let code: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    assert_eq!(answer.status, 413, "{what}: {}", answer.body);
    assert_eq!(
        code["error"]["code"], "payload_too_large",
        "{what}: {}",
        answer.body
    );
    // The answer comes once the limit is passed, give or take what sits in socket buffers.
    assert!(
        answer.sent <= limit + 16 * MB,
        "{what}: {} MB were taken before the refusal",
        answer.sent / MB
    );
    assert!(
        answer.growth < 100 * MB,
        "{what}: the server grew by {} MB",
        answer.growth / MB
    );
    eprintln!(
        "{what}: 413 after {:.1} MB sent, server memory +{:.1} MB",
        answer.sent as f64 / MB as f64,
        answer.growth as f64 / MB as f64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_of_300_mb_are_refused_while_they_stream_and_memory_stays_flat() {
    let dir = scratch_dir("bodies");
    let port = free_port();
    let server = Server::start(&dir, port, &[], None);
    server.ready().await;
    let pid = server.pid();
    let base = server.base.clone();
    let (client, csrf) = sign_up(&base, "ops@example.com").await;
    let key = post_json(
        &client,
        &csrf,
        &format!("{base}/api/api-keys"),
        json!({"name": "uploads"}),
    )
    .await;
    let key = key["secret"].as_str().expect("secret").to_owned();
    let space = post_json(
        &client,
        &csrf,
        &format!("{base}/api/chat-spaces"),
        json!({"name": "Bodies"}),
    )
    .await;
    let id = space["id"].as_str().expect("id");
    let slug = space["endpoint_slug"].as_str().expect("slug");
    let upload_limit = 50 * MB;
    let body_limit = MB;
    let head = |path: &str, content_type: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n\
             Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
    };
    let upload = format!("/api/chat-spaces/{id}/documents/upload");
    let multipart = "multipart/form-data; boundary=docent-test-boundary";
    let junk = vec![b'x'; 64 * 1024];

    let answer = chunked(port, pid, &head(&upload, multipart), &junk, &junk).await;
    refused("an upload without its boundary", &answer, upload_limit);
    assert!(answer.sent <= 16 * MB, "refused at the framing limit");

    let file = b"--docent-test-boundary\r\nContent-Disposition: form-data; name=\"file\"; \
                 filename=\"endless.txt\"\r\nContent-Type: text/plain\r\n\r\n";
    let answer = chunked(port, pid, &head(&upload, multipart), file, &junk).await;
    refused("an upload whose file never ends", &answer, upload_limit);

    let json_body = b"{\"name\": \"";
    let answer = chunked(
        port,
        pid,
        &head("/api/chat-spaces", "application/json"),
        json_body,
        &junk,
    )
    .await;
    refused("a JSON body to the API", &answer, body_limit);

    let answer = chunked(
        port,
        pid,
        &format!(
            "POST /api/widget/{slug}/chat HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        ),
        b"{\"message\": \"",
        &junk,
    )
    .await;
    // The chat space is a draft, so the widget may refuse it before reading; either way
    // nothing is buffered.
    assert!(
        answer.status == 413 || answer.status == 404,
        "widget: {} {}",
        answer.status,
        answer.body
    );
    assert!(
        answer.growth < 100 * MB,
        "widget: grew {} MB",
        answer.growth / MB
    );

    // A declared length over the limit is refused before any of it is read.
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let declared = head(&upload, multipart).replace(
        "Transfer-Encoding: chunked",
        &format!("Content-Length: {}", upload_limit * 4),
    );
    stream.write_all(declared.as_bytes()).await.expect("head");
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("an answer without the body")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
