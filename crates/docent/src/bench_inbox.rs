//! `docent bench inbox`: live handover under load, the way it is deployed. Real `docent
//! serve` processes (this executable) on a scratch SQLite, and with `--postgres` two of them
//! sharing a scratch PostgreSQL database (visitors on one, agents on the other, so every
//! reply crosses the Hub's LISTEN/NOTIFY). Everything is set up over the public API: a
//! platform admin from `docent user create`, an enterprise plan, agents invited and joined,
//! visitors who ask for a person in the widget.
//!
//! Then every visitor holds its conversation's event stream open, each agent claims its
//! share of them, and the agents reply at a steady rate. Measured: the time from an agent's
//! `POST …/messages` to the visitor's `message` event (p50/p99), replies lost or delivered
//! twice, and the server's resident memory per open stream. The baseline, in the same run
//! and under the same load, is a `GET /health` round trip to the visitors' server.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::cookie::CookieStore;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::bench::{answers, free_port, rss_kib};
use crate::bench_answers::percentile;
use crate::progress::Progress;

pub struct Options {
    pub visitors: usize,
    pub agents: usize,
    pub rate: f64,
    pub seconds: f64,
    pub postgres: Option<String>,
}

/// A progress bar many tasks tick.
type Bar = Arc<Mutex<Progress>>;

fn bar(label: &str, total: usize) -> Bar {
    Arc::new(Mutex::new(Progress::new(label, total)))
}

fn tick(bar: &Bar) {
    bar.lock().expect("progress").tick("");
}

fn done(bar: Bar) {
    drop(bar);
    eprintln!();
}

const PASSWORD: &str = "bench inbox password";

/// A `docent serve` child, stopped when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// How the servers find their database: a data directory or a PostgreSQL URL.
#[derive(Clone)]
enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Database {
    fn command(&self, exe: &Path) -> Command {
        let mut command = Command::new(exe);
        command
            .env("DOCENT_LOG", "warn")
            .env_remove("DOCENT_LLM_BASE_URL")
            .env_remove("DOCENT_EMBEDDING_MODEL")
            .env_remove("DOCENT_EMBEDDING_MODEL_DIR");
        match self {
            Database::Sqlite(dir) => {
                command.arg("--data-dir").arg(dir);
                command.env_remove("DOCENT_DATABASE_URL");
            }
            Database::Postgres(url) => {
                command.env("DOCENT_DATABASE_URL", url);
            }
        }
        command
    }
}

fn start(exe: &Path, db: &Database, scratch: &Path, n: usize) -> anyhow::Result<Server> {
    let port = free_port()?;
    let dir = scratch.join(format!("instance-{n}"));
    std::fs::create_dir_all(&dir)?;
    let mut command = db.command(exe);
    if matches!(db, Database::Postgres(_)) {
        command.arg("--data-dir").arg(&dir);
    }
    let limit = u32::MAX.to_string();
    let mut child = command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        // One address stands for every visitor here; the widget's limits would measure
        // themselves.
        .env("DOCENT_WIDGET_REQUESTS_PER_MINUTE", &limit)
        .env("DOCENT_WIDGET_MESSAGES_PER_MINUTE", &limit)
        .env("DOCENT_WIDGET_CONVERSATIONS_PER_MINUTE", &limit)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting docent serve")?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let begun = Instant::now();
    while !answers(addr, "/ready") {
        if let Some(status) = child.try_wait()? {
            bail!("docent serve exited with {status} before it was ready");
        }
        if begun.elapsed() > Duration::from_secs(60) {
            child.kill().ok();
            bail!("docent serve was not ready within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(Server {
        child,
        base: format!("http://{addr}"),
    })
}

/// A logged-in member: cookies, and the CSRF header the API asks of them.
#[derive(Clone)]
struct Member {
    client: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
    base: String,
}

impl Member {
    fn new(base: &str) -> anyhow::Result<Member> {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .build()?;
        Ok(Member {
            client,
            jar,
            base: base.to_owned(),
        })
    }

    /// The same cookies against another instance.
    fn on(&self, base: &str) -> anyhow::Result<Member> {
        let moved = Member::new(base)?;
        let from: reqwest::Url = self.base.parse()?;
        let to: reqwest::Url = base.parse()?;
        if let Some(header) = self.jar.cookies(&from) {
            for cookie in header.to_str()?.split("; ") {
                moved.jar.add_cookie_str(cookie, &to);
            }
        }
        Ok(moved)
    }

    async fn csrf(&self) -> anyhow::Result<String> {
        let url: reqwest::Url = self.base.parse()?;
        let find = |jar: &reqwest::cookie::Jar| {
            jar.cookies(&url).and_then(|h| {
                h.to_str().ok().and_then(|h| {
                    h.split("; ")
                        .find_map(|c| c.strip_prefix("docent_csrf=").map(str::to_owned))
                })
            })
        };
        if let Some(token) = find(&self.jar) {
            return Ok(token);
        }
        self.client
            .get(format!("{}/health", self.base))
            .send()
            .await?;
        find(&self.jar).context("no docent_csrf cookie")
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        let csrf = self.csrf().await?;
        let response = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("x-csrf-token", csrf)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        anyhow::ensure!(status.is_success(), "{path}: {status} {body}");
        Ok(body)
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.send(reqwest::Method::POST, path, body).await
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(reqwest::Method::GET, path, Value::Null).await
    }
}

fn text(v: &Value, key: &str) -> anyhow::Result<String> {
    v[key]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no {key} in {v}"))
}

/// The business: an enterprise organization with a published chat space whose handover is
/// on, and `agents` members with the agent role, each logged in.
async fn business(
    exe: &Path,
    db: &Database,
    base: &str,
    agents: usize,
) -> anyhow::Result<(Member, String, Vec<Member>)> {
    let tag = std::process::id();
    let admin_email = format!("admin-{tag}@bench.docent.localhost");
    let status = db
        .command(exe)
        .args(["user", "create", "--admin", "--email", &admin_email])
        .args(["--password", PASSWORD])
        .stdout(Stdio::null())
        .status()
        .context("docent user create")?;
    anyhow::ensure!(status.success(), "docent user create failed");
    let owner = Member::new(base)?;
    owner
        .post(
            "/api/auth/login",
            json!({"email": admin_email, "password": PASSWORD}),
        )
        .await?;
    let org = owner.get("/api/organization").await?;
    let org_id = text(&org["organization"], "id").or_else(|_| text(&org, "id"))?;
    owner
        .send(
            reqwest::Method::PUT,
            &format!("/api/admin/organizations/{org_id}/plan"),
            json!({"plan": "enterprise"}),
        )
        .await?;
    let space = owner
        .post(
            "/api/chat-spaces",
            json!({"name": "Bench help", "ai_config": {"handover": {"enabled": true}}}),
        )
        .await?;
    let space_id = text(&space, "id")?;
    owner
        .post(
            &format!("/api/chat-spaces/{space_id}/documents/text"),
            json!({"title": "Returns", "text": "Returns are free within 30 days of delivery."}),
        )
        .await?;
    let begun = Instant::now();
    loop {
        let documents = owner
            .get(&format!("/api/chat-spaces/{space_id}/documents"))
            .await?;
        let list = documents["data"].as_array().cloned().unwrap_or_default();
        if list.iter().any(|d| d["status"] == "completed") {
            break;
        }
        anyhow::ensure!(
            begun.elapsed() < Duration::from_secs(60),
            "the knowledge was not ready within 60 s: {documents}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    owner
        .post(&format!("/api/chat-spaces/{space_id}/publish"), Value::Null)
        .await?;
    let slug = text(&space, "endpoint_slug")?;
    let mut members = Vec::new();
    let progress = bar("agents joining", agents);
    for a in 0..agents {
        let email = format!("agent-{a}-{tag}@bench.docent.localhost");
        let invite = owner
            .post(
                "/api/organization/invitations",
                json!({"email": email, "role": "agent"}),
            )
            .await?;
        let token = text(&invite, "accept_url")?
            .split("token=")
            .nth(1)
            .context("an accept link with a token")?
            .to_owned();
        let agent = Member::new(base)?;
        agent
            .post(
                "/api/auth/signup",
                json!({"email": email, "password": PASSWORD, "name": format!("Agent {a}")}),
            )
            .await?;
        agent
            .post("/api/invitations/accept", json!({"token": token}))
            .await?;
        members.push(agent);
        tick(&progress);
    }
    done(progress);
    Ok((owner, slug, members))
}

/// One open visitor stream's deliveries: reply number and when it came.
type Delivered = Arc<Mutex<Vec<(usize, Instant)>>>;

/// Opens a visitor's event stream, waits for its first `status` event (the stream is live),
/// and then records every `message` event's reply number until the stream ends.
async fn follow(
    client: reqwest::Client,
    url: String,
    delivered: Delivered,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let mut response = client
        .get(&url)
        .header("accept", "text/event-stream")
        .send()
        .await?
        .error_for_status()?;
    let mut buffer = String::new();
    while !buffer.contains("event: status") {
        match response.chunk().await? {
            Some(bytes) => buffer.push_str(&String::from_utf8_lossy(&bytes)),
            None => bail!("the stream ended before its status"),
        }
    }
    Ok(tokio::spawn(async move {
        while let Ok(Some(bytes)) = response.chunk().await {
            let now = Instant::now();
            buffer.push_str(&String::from_utf8_lossy(&bytes));
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                if !block.contains("event: message") {
                    continue;
                }
                let data = block
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .and_then(|d| serde_json::from_str::<Value>(d).ok());
                let number = data.as_ref().and_then(|d| {
                    d["content"]
                        .as_str()?
                        .strip_prefix("Reply ")?
                        .split_whitespace()
                        .next()?
                        .parse()
                        .ok()
                });
                if let Some(n) = number {
                    delivered.lock().expect("deliveries").push((n, now));
                }
            }
        }
    }))
}

struct Measured {
    instances: &'static str,
    delivery: Vec<f64>,
    post: Vec<f64>,
    health: Vec<f64>,
    sent: usize,
    lost: usize,
    twice: usize,
    failed: usize,
    rss_per_stream_kib: f64,
    rss_idle_mib: f64,
}

async fn measure(
    exe: &Path,
    db: Database,
    scratch: &Path,
    instances: usize,
    o: &Options,
) -> anyhow::Result<Measured> {
    let visitors_server = start(exe, &db, scratch, 0)?;
    let second;
    let agents_base = if instances > 1 {
        second = start(exe, &db, scratch, 1)?;
        second.base.clone()
    } else {
        visitors_server.base.clone()
    };
    let base = visitors_server.base.clone();
    let (_owner, slug, members) = business(exe, &db, &base, o.agents).await?;
    let agents: Vec<Member> = members
        .iter()
        .map(|m| m.on(&agents_base))
        .collect::<anyhow::Result<_>>()?;

    // Each visitor asks for a person in the widget.
    let visitor_client = reqwest::Client::builder()
        .pool_max_idle_per_host(o.visitors)
        .build()?;
    let progress = bar("visitors asking for a person", o.visitors);
    let gate = Arc::new(Semaphore::new(32));
    let mut asks = Vec::new();
    for v in 0..o.visitors {
        let client = visitor_client.clone();
        let url = format!("{base}/api/widget/{slug}/chat");
        let gate = gate.clone();
        let progress = progress.clone();
        asks.push(tokio::spawn(async move {
            let _turn = gate.acquire().await;
            let visitor = format!("bench-visitor-{v:06}");
            let answer: Value = client
                .post(&url)
                .json(&json!({"message": "Can I talk to a person, please?", "visitor_id": visitor}))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            tick(&progress);
            anyhow::Ok((visitor, text(&answer, "conversation_id")?))
        }));
    }
    let mut conversations = Vec::new();
    for ask in asks {
        conversations.push(ask.await??);
    }
    done(progress);

    // Every visitor's stream open and live.
    let idle = rss_kib(visitors_server.child.id());
    let stream_client = reqwest::Client::builder().build()?;
    let progress = bar("visitor streams open", o.visitors);
    let delivered: Delivered = Arc::default();
    let mut opening = Vec::new();
    for (visitor, conversation) in &conversations {
        let url = format!(
            "{base}/api/widget/{slug}/conversation/{conversation}/events?visitor_id={visitor}"
        );
        let (client, delivered, gate, progress) = (
            stream_client.clone(),
            delivered.clone(),
            gate.clone(),
            progress.clone(),
        );
        opening.push(tokio::spawn(async move {
            let _turn = gate.acquire().await;
            let reader = follow(client, url, delivered).await;
            tick(&progress);
            reader
        }));
    }
    let mut readers = Vec::new();
    for open in opening {
        readers.push(open.await??);
    }
    done(progress);
    // Let allocations settle before reading the memory they hold.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let open = rss_kib(visitors_server.child.id());
    let rss_per_stream_kib = open.saturating_sub(idle) as f64 / o.visitors as f64;

    // Agent a claims the conversations v with v % agents == a.
    let progress = bar("agents claiming", conversations.len());
    let mut claims = Vec::new();
    for (v, (_, conversation)) in conversations.iter().enumerate() {
        let agent = agents[v % agents.len()].clone();
        let path = format!("/api/conversations/{conversation}/assign");
        let (gate, progress) = (gate.clone(), progress.clone());
        claims.push(tokio::spawn(async move {
            let _turn = gate.acquire().await;
            agent.post(&path, json!({})).await?;
            tick(&progress);
            anyhow::Ok(())
        }));
    }
    for claim in claims {
        claim.await??;
    }
    done(progress);
    tokio::time::sleep(Duration::from_millis(300)).await;
    delivered.lock().expect("deliveries").clear();

    // The agents reply at `rate` in all, each to its own conversations in turn, while the
    // baseline asks /health at the same rate.
    let total = (o.rate * o.seconds).round().max(1.0) as usize;
    let progress = bar("agent replies", total);
    let mine: Vec<Vec<usize>> = (0..agents.len())
        .map(|a| (a..conversations.len()).step_by(agents.len()).collect())
        .collect();
    let sent_at: Arc<Mutex<HashMap<usize, Instant>>> = Arc::default();
    let begun = tokio::time::Instant::now();
    let mut replies = Vec::new();
    let mut probes = Vec::new();
    for n in 0..total {
        let due = begun + Duration::from_secs_f64(n as f64 / o.rate);
        let a = n % agents.len();
        let theirs = &mine[a];
        let v = theirs[(n / agents.len()) % theirs.len()];
        let agent = agents[a].clone();
        let path = format!("/api/conversations/{}/messages", conversations[v].1);
        let (sent_at, progress) = (sent_at.clone(), progress.clone());
        replies.push(tokio::spawn(async move {
            tokio::time::sleep_until(due).await;
            let posted = Instant::now();
            sent_at.lock().expect("sent").insert(n, posted);
            let result = agent
                .post(
                    &path,
                    json!({"content": format!("Reply {n} — **thanks** for waiting, see [the policy](https://example.com/returns).")}),
                )
                .await;
            tick(&progress);
            result.map(|_| posted.elapsed().as_secs_f64() * 1000.0)
        }));
        let client = visitor_client.clone();
        let health = format!("{base}/health");
        probes.push(tokio::spawn(async move {
            tokio::time::sleep_until(due).await;
            let asked = Instant::now();
            client.get(&health).send().await?.error_for_status()?;
            anyhow::Ok(asked.elapsed().as_secs_f64() * 1000.0)
        }));
    }
    let mut post = Vec::new();
    let mut failed = 0;
    for reply in replies {
        match reply.await? {
            Ok(ms) => post.push(ms),
            Err(e) => {
                if failed == 0 {
                    eprintln!("a reply failed: {e:#}");
                }
                failed += 1;
            }
        }
    }
    let mut health = Vec::new();
    for probe in probes {
        health.push(probe.await??);
    }
    done(progress);
    // The last replies' events.
    let wait = Instant::now();
    while delivered.lock().expect("deliveries").len() < post.len()
        && wait.elapsed() < Duration::from_secs(5)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deliveries = std::mem::take(&mut *delivered.lock().expect("deliveries"));
    let sent_at = sent_at.lock().expect("sent");
    let mut seen = HashMap::<usize, usize>::new();
    let mut delivery = Vec::new();
    for (n, at) in deliveries {
        *seen.entry(n).or_default() += 1;
        if let Some(posted) = sent_at.get(&n) {
            delivery.push(at.duration_since(*posted).as_secs_f64() * 1000.0);
        }
    }
    for reader in readers {
        reader.abort();
    }
    for samples in [&mut delivery, &mut post, &mut health] {
        samples.sort_by(f64::total_cmp);
    }
    Ok(Measured {
        instances: if instances > 1 {
            "2 instances, PostgreSQL (visitors on one, agents on the other)"
        } else if matches!(db, Database::Sqlite(_)) {
            "1 instance, SQLite"
        } else {
            "1 instance, PostgreSQL"
        },
        delivery,
        post,
        health,
        sent: total - failed,
        // A reply whose POST failed was never sent, so it is not lost.
        lost: (0..total)
            .filter(|n| !seen.contains_key(n))
            .count()
            .saturating_sub(failed),
        twice: seen.values().filter(|&&c| c > 1).count(),
        failed,
        rss_per_stream_kib,
        rss_idle_mib: idle as f64 / 1024.0,
    })
}

pub async fn inbox(scratch: &Path, o: Options) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("finding this executable")?;
    let mut results = vec![
        measure(
            &exe,
            Database::Sqlite(scratch.join("sqlite")),
            &scratch.join("sqlite"),
            1,
            &o,
        )
        .await?,
    ];
    if let Some(admin_url) = &o.postgres {
        let (url, name) = docent_store_postgres::create_database(admin_url, "docent_bench")
            .await
            .context("creating a scratch database on --postgres")?;
        let result = measure(
            &exe,
            Database::Postgres(url),
            &scratch.join("postgres"),
            2,
            &o,
        )
        .await;
        docent_store_postgres::drop_database(admin_url, &name)
            .await
            .context("dropping the scratch database")?;
        results.push(result?);
    }
    println!(
        "{} visitor streams open, {} agents replying at {:.0} messages/s for {:.0} s",
        o.visitors, o.agents, o.rate, o.seconds
    );
    for m in &results {
        println!("{}", m.instances);
        println!(
            "  {:<46} {:>9} {:>9} {:>9}",
            "", "p50 ms", "p99 ms", "samples"
        );
        for (name, samples) in [
            ("agent POST → visitor's message event", &m.delivery),
            ("agent POST round trip", &m.post),
            ("GET /health on the visitors' server (baseline)", &m.health),
        ] {
            println!(
                "  {:<46} {:>9.2} {:>9.2} {:>9}",
                name,
                percentile(samples, 0.5),
                percentile(samples, 0.99),
                samples.len()
            );
        }
        println!(
            "  delivery p99 = {:.1}× the /health p99; replies sent {}, lost {}, delivered twice {}, failed {}",
            percentile(&m.delivery, 0.99) / percentile(&m.health, 0.99),
            m.sent,
            m.lost,
            m.twice,
            m.failed
        );
        println!(
            "  memory: {:.1} MiB before the streams, {:.1} KiB more per open stream",
            m.rss_idle_mib, m.rss_per_stream_kib
        );
    }
    Ok(())
}
