//! The real `docent serve` for the binary's tests: started on a free port with a data
//! directory of its own (on the embedded SQLite, without the test run's other settings),
//! waited for, and killed when dropped; and its first account, logged in.

#![allow(dead_code)] // each test binary uses its share

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_docent");

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port()
}

/// A fresh directory under the system's temporary one.
pub fn scratch_dir(what: &str) -> PathBuf {
    std::env::temp_dir().join(format!("docent-{what}-{}", uuid::Uuid::now_v7()))
}

pub struct Server {
    pub child: Child,
    pub port: u16,
    pub base: String,
}

impl Server {
    /// `docent serve` on `port` with its data in `dir`, the variables in `env` and its
    /// output to `log` (nowhere when `None`). Settings of the test run itself (PostgreSQL,
    /// the local embedder, limits) are not passed on: the server runs on its defaults.
    pub fn start(dir: &Path, port: u16, env: &[(&str, &str)], log: Option<&Path>) -> Server {
        let mut command = Command::new(BIN);
        command
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(dir)
            .stdin(Stdio::null());
        for (name, _) in std::env::vars() {
            if name.starts_with("DOCENT_") || name == "RUST_LOG" {
                command.env_remove(name);
            }
        }
        command.env("DOCENT_LOG", "warn").envs(env.iter().copied());
        match log {
            Some(path) => {
                let file = std::fs::File::create(path).expect("log file");
                command.stdout(file.try_clone().expect("log")).stderr(file);
            }
            None => {
                command.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        let child = command.spawn().expect("start docent serve");
        Server {
            child,
            port,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Waits up to a minute until `/ready` answers.
    pub async fn ready(&self) {
        docent_ingest::fetch::init_tls();
        let client = reqwest::Client::new();
        wait_until("the server to be ready", async || {
            client
                .get(format!("{}/ready", self.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits up to a minute for `check`.
pub async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A person signed up at `base` (the first is the platform's administrator): a client that
/// holds the session, and the CSRF token to send with it.
pub async fn sign_up(base: &str, email: &str) -> (reqwest::Client, String) {
    docent_ingest::fetch::init_tls();
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let signup = client
        .post(format!("{base}/api/auth/signup"))
        .json(&json!({"email": email, "password": "correct horse battery"}))
        .send()
        .await
        .expect("signup");
    assert_eq!(signup.status(), 201);
    let me = get_json(&client, &format!("{base}/api/auth/me")).await;
    let csrf = me["csrf_token"].as_str().expect("csrf").to_owned();
    (client, csrf)
}

pub async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    client
        .get(url)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}

/// POSTs `body` with the session's CSRF token; the JSON answer.
pub async fn post_json(client: &reqwest::Client, csrf: &str, url: &str, body: Value) -> Value {
    client
        .post(url)
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json")
}
