//! `docent bench widget`: what a visitor's browser downloads (gzip -9 weight of the loader
//! and of everything the first open loads), and many visitor conversations streaming
//! against one real server on SQLite at once, with a model that answers at once: the time
//! to first token Docent adds, and messages per second.
//!
//! The baseline, measured in the same run with the same client and concurrency, is a plain
//! `GET /health`: what any HTTP round trip costs on this machine under that load.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use docent_core::*;
use docent_rag::AnswerService;
use docent_server::widget::assets;
use docent_server::{AppState, build_app, serve};
use docent_store::Store;
use serde_json::json;

use crate::bench_answers::{InstantModel, data_source, fill, percentile, questions};

fn gzip9(text: &str) -> anyhow::Result<usize> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(text.as_bytes())?;
    Ok(encoder.finish()?.len())
}

fn weight() -> anyhow::Result<()> {
    let loader = gzip9(&assets::LOADER_JS)?;
    let ui = gzip9(&assets::UI_JS)?;
    println!("widget weight (gzip -9)");
    println!("{:<40} {:>9}", "", "bytes");
    println!("{:<40} {:>9}", "loader (widget.js, on every page)", loader);
    println!("{:<40} {:>9}", "chat UI (fetched on first open)", ui);
    println!("{:<40} {:>9}", "everything on first open", loader + ui);
    println!(
        "peers on npm: Typebot 192 KiB, Flowise 277 KiB, Botpress ≈ 297 KiB, n8n chat 593 KiB \
         → Docent is {:.0}× lighter than Typebot",
        192.0 * 1024.0 / (loader + ui) as f64
    );
    println!();
    Ok(())
}

struct Samples {
    first: Vec<f64>,
    whole: Vec<f64>,
    elapsed: f64,
    failures: usize,
}

/// `visitors` tasks at once, each making `each` requests with `request`; times the first
/// event and the whole response. With a `rate`, requests start on a schedule of that many
/// a second in all, round robin over the visitors (an open load, as visitors type); without
/// one, each visitor asks again as soon as it has its answer (the server's capacity).
async fn run<F, Fut>(visitors: usize, each: usize, rate: Option<f64>, request: F) -> Samples
where
    F: Fn(usize, usize, Option<String>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<(f64, f64, Option<String>)>> + Send,
{
    let request = Arc::new(request);
    let started = Instant::now();
    let tasks: Vec<_> = (0..visitors)
        .map(|v| {
            let request = request.clone();
            tokio::spawn(async move {
                let mut out = Vec::new();
                let mut failures = 0;
                let mut conversation = None;
                for i in 0..each {
                    if let Some(rate) = rate {
                        let due = (i * visitors + v) as f64 / rate;
                        tokio::time::sleep_until(
                            tokio::time::Instant::from_std(started)
                                + std::time::Duration::from_secs_f64(due),
                        )
                        .await;
                    }
                    match request(v, i, conversation.clone()).await {
                        Ok((first, whole, c)) => {
                            conversation = c;
                            out.push((first, whole));
                        }
                        Err(e) => {
                            failures += 1;
                            if failures == 1 {
                                eprintln!("visitor {v}: {e:#}");
                            }
                        }
                    }
                }
                (out, failures)
            })
        })
        .collect();
    let mut samples = Samples {
        first: Vec::new(),
        whole: Vec::new(),
        elapsed: 0.0,
        failures: 0,
    };
    for task in tasks {
        if let Ok((out, failures)) = task.await {
            samples.failures += failures;
            for (first, whole) in out {
                samples.first.push(first);
                samples.whole.push(whole);
            }
        }
    }
    samples.elapsed = started.elapsed().as_secs_f64();
    samples.first.sort_by(f64::total_cmp);
    samples.whole.sort_by(f64::total_cmp);
    samples
}

pub async fn widget(
    scratch: &Path,
    chunks: usize,
    visitors: usize,
    messages: usize,
    rate: f64,
) -> anyhow::Result<()> {
    weight()?;
    let sqlite = docent_store_sqlite::SqliteStore::open_dir(scratch, 10)
        .await
        .context("opening the scratch SQLite store")?;
    sqlite.migrate().await?;
    let store: Arc<dyn Store> = Arc::new(sqlite);
    let (org, space) = fill(&*store, chunks, "widget").await?;
    store
        .set_chat_space_status(
            org,
            space.id,
            ChatSpaceStatus::Published,
            chrono::Utc::now(),
        )
        .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let settings = Settings {
        listen: address,
        data_dir: scratch.join("data"),
        // One address asks for everyone here; the limits would measure themselves.
        widget_requests_per_minute: u32::MAX,
        widget_messages_per_minute: u32::MAX,
        widget_conversations_per_minute: u32::MAX,
        ..Settings::default()
    };
    let mut state = AppState::new(store.clone(), settings).map_err(anyhow::Error::msg)?;
    state.app.answers = AnswerService::new(
        store.clone(),
        None,
        Some(Arc::new(InstantModel)),
        Default::default(),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, build_app(state), async {
        stopped.await.ok();
    }));
    let base = format!("http://{address}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(visitors)
        .build()?;
    let questions = Arc::new(questions());

    // Warm-up: the vector index, SQLite's pages, the connection pool.
    let chat = format!("{base}/api/widget/{}/chat", space.endpoint_slug);
    client
        .post(&chat)
        .json(&json!({"message": questions[0], "visitor_id": "warm-up-visitor"}))
        .send()
        .await?
        .error_for_status()?;

    let health = |rate: Option<f64>| {
        let client = client.clone();
        let url = format!("{base}/health");
        run(visitors, messages, rate, move |_, _, _| {
            let client = client.clone();
            let url = url.clone();
            async move {
                let begun = Instant::now();
                client
                    .get(&url)
                    .send()
                    .await?
                    .error_for_status()?
                    .bytes()
                    .await?;
                let ms = begun.elapsed().as_secs_f64() * 1000.0;
                Ok((ms, ms, None))
            }
        })
    };
    let answers = |rate: Option<f64>, round: usize| {
        let client = client.clone();
        let chat = chat.clone();
        let questions = questions.clone();
        run(visitors, messages, rate, move |v, i, conversation| {
            let client = client.clone();
            let chat = chat.clone();
            let question = questions[(v * 7 + i) % questions.len()].clone();
            async move {
                let mut body = json!({"message": question, "visitor_id": format!("bench-{round}-visitor-{v:06}")});
                if let Some(c) = &conversation {
                    body["conversation_id"] = json!(c);
                }
                let begun = Instant::now();
                let mut response = client
                    .post(&chat)
                    .header("accept", "text/event-stream")
                    .json(&body)
                    .send()
                    .await?
                    .error_for_status()?;
                let mut text = String::new();
                let mut first = None;
                while let Some(chunk) = response.chunk().await? {
                    text.push_str(&String::from_utf8_lossy(&chunk));
                    if first.is_none() && text.contains("event: delta") {
                        first = Some(begun.elapsed().as_secs_f64() * 1000.0);
                    }
                }
                let whole = begun.elapsed().as_secs_f64() * 1000.0;
                anyhow::ensure!(text.contains("event: done"), "no answer: {text}");
                let conversation = text
                    .split("\"conversation_id\":\"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .map(str::to_owned);
                Ok((first.unwrap_or(whole), whole, conversation))
            }
        })
    };
    let capacity_health = health(None).await;
    let capacity = answers(None, 0).await;
    let open_health = health(Some(rate)).await;
    let open = answers(Some(rate), 1).await;
    stop.send(()).ok();

    println!(
        "{visitors} visitor conversations at once, {messages} messages each, {chunks} chunks, SQLite, a model that answers at once"
    );
    println!("{}", data_source());
    for (title, health, answers) in [
        (
            "as fast as answers come (capacity)",
            &capacity_health,
            &capacity,
        ),
        (
            &*format!("open load: {rate:.0} messages/s in all"),
            &open_health,
            &open,
        ),
    ] {
        println!("{title}");
        println!(
            "  {:<32} {:>9} {:>9} {:>12} {:>7}",
            "", "p50 ms", "p99 ms", "per second", "failed"
        );
        for (name, samples) in [
            ("GET /health (baseline)", &health.first),
            ("widget chat: first token", &answers.first),
            ("widget chat: whole answer", &answers.whole),
        ] {
            let run = if name.starts_with("GET") {
                health
            } else {
                answers
            };
            println!(
                "  {:<32} {:>9.2} {:>9.2} {:>12.0} {:>7}",
                name,
                percentile(samples, 0.5),
                percentile(samples, 0.99),
                samples.len() as f64 / run.elapsed,
                run.failures
            );
        }
        println!(
            "  first token p99 = {:.1}× the /health p99",
            percentile(&answers.first, 0.99) / percentile(&health.first, 0.99)
        );
    }
    Ok(())
}
