//! `docent bench startup`: how fast a fresh `docent serve` is ready and how much memory it
//! holds when idle, side by side with a baseline measured in the same run (Python's built-in
//! `http.server`, the smallest web server most machines have), so the figures survive noisy
//! machines as ratios.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// One measured start.
struct Sample {
    ready: Duration,
    rss_kib: u64,
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Whether `GET path` answers 200.
pub(crate) fn answers(addr: SocketAddr, path: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(50)) else {
        return false;
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
        || head.starts_with(b"HTTP/1.0 200")
}

pub(crate) fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Starts `command`, waits for `path` to answer 200, lets it idle, reads its memory.
fn measure(mut command: Command, port: u16, path: &str, idle: Duration) -> anyhow::Result<Sample> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let start = Instant::now();
    let mut child: Child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting the server")?;
    let ready = loop {
        if answers(addr, path) {
            break start.elapsed();
        }
        if let Some(status) = child.try_wait()? {
            bail!("the server exited with {status} before it was ready");
        }
        if start.elapsed() > Duration::from_secs(30) {
            child.kill().ok();
            bail!("not ready after 30 s");
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    std::thread::sleep(idle);
    let rss_kib = rss_kib(child.id());
    child.kill().ok();
    child.wait().ok();
    Ok(Sample { ready, rss_kib })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

struct Row {
    name: String,
    ready_ms: f64,
    rss_mib: f64,
}

fn summarize(name: &str, samples: &[Sample]) -> Row {
    Row {
        name: name.to_owned(),
        ready_ms: median(
            samples
                .iter()
                .map(|s| s.ready.as_secs_f64() * 1000.0)
                .collect(),
        ),
        rss_mib: median(samples.iter().map(|s| s.rss_kib as f64 / 1024.0).collect()),
    }
}

pub fn startup(runs: usize, scratch: &Path) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("finding this executable")?;
    let idle = Duration::from_millis(1500);
    let mut fresh = Vec::new();
    let mut restart = Vec::new();
    let mut baseline = Vec::new();
    let has_python = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    for run in 1..=runs {
        eprint!("\rrun {run}/{runs} ");
        let dir = scratch.join(format!("startup-{run}"));
        std::fs::create_dir_all(&dir)?;
        for samples in [&mut fresh, &mut restart] {
            // The first start creates and migrates the database; the second finds it ready.
            let port = free_port()?;
            let mut command = Command::new(&exe);
            command
                .args([
                    "serve",
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                    "--data-dir",
                ])
                .arg(&dir)
                .env("DOCENT_LOG", "warn")
                .env_remove("DOCENT_DATABASE_URL");
            samples.push(measure(command, port, "/ready", idle)?);
        }
        if has_python {
            let port = free_port()?;
            let mut command = Command::new("python3");
            command
                .args([
                    "-m",
                    "http.server",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                ])
                .current_dir(&dir);
            baseline.push(measure(command, port, "/", idle)?);
        }
        std::fs::remove_dir_all(&dir).ok();
    }
    eprintln!();
    let rows = [
        summarize("docent serve, new database", &fresh),
        summarize("docent serve, existing database", &restart),
    ];
    println!("startup to ready and idle memory, median of {runs} runs\n");
    println!("| server | time to ready | idle RSS |");
    println!("|---|---:|---:|");
    for row in &rows {
        println!(
            "| {} | {:.1} ms | {:.1} MiB |",
            row.name, row.ready_ms, row.rss_mib
        );
    }
    if has_python {
        let base = summarize("python3 -m http.server (baseline)", &baseline);
        println!(
            "| {} | {:.1} ms | {:.1} MiB |",
            base.name, base.ready_ms, base.rss_mib
        );
        for row in &rows {
            println!(
                "| ratio: {} / baseline | {:.2}× | {:.2}× |",
                row.name,
                row.ready_ms / base.ready_ms,
                row.rss_mib / base.rss_mib
            );
        }
    } else {
        println!("(python3 not found: no baseline)");
    }
    Ok(())
}

/// What one pipeline did over the corpus.
struct IngestRun {
    name: String,
    files: usize,
    failed: usize,
    pages: u64,
    text_bytes: u64,
    seconds: f64,
}

impl IngestRun {
    fn pages_per_s(&self) -> f64 {
        self.pages as f64 / self.seconds
    }

    fn mb_per_s(&self) -> f64 {
        self.text_bytes as f64 / 1e6 / self.seconds
    }
}

/// `docent bench ingest DIR`: extract + chunk + full-text index every PDF of `dir` with
/// Docent's real pipeline (isolated `docent extract` children, `workers` at a time, chunks
/// into a scratch SQLite store), then the Python baseline users would otherwise write and
/// serial `pdftotext`, in the same run.
pub async fn ingest(
    dir: &Path,
    workers: usize,
    python: &str,
    baseline: &Path,
    scratch: &Path,
) -> anyhow::Result<()> {
    use docent_app::jobs::isolated::{Extractor, Limits, Outcome};
    use docent_core::*;
    use docent_store::prelude::*;

    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("pdf")))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no PDF files in {}", dir.display());
    }
    let exe = std::env::current_exe().context("finding this executable")?;
    std::fs::create_dir_all(scratch)?;
    let store = docent_store_sqlite::SqliteStore::open_dir(scratch, 4).await?;
    store.migrate().await?;
    let (org, space) = crate::eval::enterprise_space(
        &store,
        "bench",
        "bench",
        serde_json::json!({}),
        serde_json::json!({}),
    )
    .await?;
    let store = std::sync::Arc::new(store);
    let queue = std::sync::Arc::new(std::sync::Mutex::new(files.clone()));
    let progress = std::sync::Arc::new(std::sync::Mutex::new(crate::progress::Progress::new(
        "docent",
        files.len(),
    )));
    let limits = Limits {
        memory_mb: 1024,
        timeout: Duration::from_secs(60),
    };
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers.max(1) {
        let (queue, store, progress, exe) =
            (queue.clone(), store.clone(), progress.clone(), exe.clone());
        tasks.push(tokio::spawn(async move {
            // One extraction child per task, serving every file the task takes.
            let extractor = Extractor::new(exe, limits);
            let (mut pages, mut bytes, mut failed) = (0u64, 0u64, 0usize);
            loop {
                let Some(path) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop() else {
                    break;
                };
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("file.pdf")
                    .to_owned();
                let data = tokio::fs::read(&path).await.unwrap_or_default();
                match extractor.extract(&data, &name).await {
                    Outcome::Done(doc) => {
                        let (doc, chunks) = tokio::task::spawn_blocking(move || {
                            // The chunking a new chat space gets.
                            let config = docent_core::config::RetrievalConfig::default();
                            let chunks = docent_ingest::Chunker::new(
                                config.chunk_size,
                                config.chunk_overlap,
                            )
                            .chunk(&doc);
                            (doc, chunks)
                        })
                        .await
                        .unwrap_or_default();
                        pages += u64::from(doc.page_count.unwrap_or(0));
                        bytes += doc
                            .sections
                            .iter()
                            .map(|s| s.text.len() as u64)
                            .sum::<u64>();
                        let new = NewDocument {
                            chat_space_id: space.id,
                            parent_id: None,
                            doc_type: "pdf".into(),
                            title: name.clone(),
                            file_name: Some(name.clone()),
                            file_size: Some(data.len() as i64),
                            content_hash: None,
                            storage_key: None,
                            source_url: None,
                            citable: true,
                            status: DocumentStatus::Processing,
                        };
                        let chunks = chunks
                            .into_iter()
                            .map(|c| NewChunk {
                                chunk_index: c.index as i32,
                                token_count: c.token_count as i32,
                                content: c.content,
                                metadata: serde_json::json!({}),
                            })
                            .collect();
                        match store.create_document(org.id, new).await {
                            Ok(d) => {
                                let _ = store
                                    .complete_document(
                                        org.id,
                                        d.id,
                                        DocumentFacts::default(),
                                        chunks,
                                    )
                                    .await;
                            }
                            Err(_) => failed += 1,
                        }
                    }
                    _ => failed += 1,
                }
                progress
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .tick(&name);
            }
            (pages, bytes, failed)
        }));
    }
    let (mut pages, mut text_bytes, mut failed) = (0, 0, 0);
    for task in tasks {
        let (p, b, f) = task.await?;
        pages += p;
        text_bytes += b;
        failed += f;
    }
    let seconds = started.elapsed().as_secs_f64();
    if let Ok(progress) = std::sync::Arc::try_unwrap(progress) {
        progress
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .finish();
    }
    let docent = IngestRun {
        name: format!("Docent (PDFium, {workers} workers, + chunk + FTS index)"),
        files: files.len(),
        failed,
        pages,
        text_bytes,
        seconds,
    };

    let mut rows = vec![docent];
    match pdftotext_serial(&files, pages) {
        Ok(run) => rows.push(run),
        Err(e) => eprintln!("pdftotext skipped: {e:#}"),
    }
    match python_baseline(python, baseline, dir) {
        Ok(run) => rows.push(run),
        Err(e) => eprintln!("Python baseline skipped: {e:#}"),
    }
    let base = rows
        .iter()
        .find(|r| r.name.starts_with("Python"))
        .map(IngestRun::pages_per_s);
    println!(
        "\ningest benchmark over {} ({} PDFs), one run each, same machine, same run\n",
        dir.display(),
        files.len()
    );
    println!(
        "| pipeline | files (failed) | pages | text MB | seconds | pages/s | MB/s | vs Python baseline |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        let ratio = base.map_or_else(
            || "–".to_owned(),
            |b| format!("{:.1}×", row.pages_per_s() / b),
        );
        println!(
            "| {} | {} ({}) | {} | {:.2} | {:.2} | {:.0} | {:.2} | {ratio} |",
            row.name,
            row.files,
            row.failed,
            row.pages,
            row.text_bytes as f64 / 1e6,
            row.seconds,
            row.pages_per_s(),
            row.mb_per_s()
        );
    }
    Ok(())
}

/// `pdftotext` on each file in turn (poppler-utils); pages are Docent's count of the same files.
fn pdftotext_serial(files: &[std::path::PathBuf], pages: u64) -> anyhow::Result<IngestRun> {
    let started = Instant::now();
    let (mut bytes, mut failed) = (0u64, 0usize);
    let mut progress = crate::progress::Progress::new("pdftotext", files.len());
    for file in files {
        let out = Command::new("pdftotext")
            .args(["-enc", "UTF-8"])
            .arg(file)
            .arg("-")
            .output()
            .context("running pdftotext")?;
        if out.status.success() {
            bytes += out.stdout.len() as u64;
        } else {
            failed += 1;
        }
        progress.tick(
            &file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    }
    progress.finish();
    Ok(IngestRun {
        name: "pdftotext, serial (extract only)".into(),
        files: files.len(),
        failed,
        pages,
        text_bytes: bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// `baseline_ingest.py DIR --json`: pypdf + LangChain's splitter, one process.
fn python_baseline(python: &str, script: &Path, dir: &Path) -> anyhow::Result<IngestRun> {
    if !script.exists() {
        bail!("{} not found (pass --baseline)", script.display());
    }
    eprintln!("running the Python baseline ({})…", script.display());
    let out = Command::new(python)
        .arg(script)
        .arg(dir)
        .arg("--json")
        .output()
        .context("running python")?;
    if !out.status.success() {
        bail!(
            "it failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let summary: serde_json::Value = serde_json::from_str(text.lines().last().unwrap_or("{}"))
        .context("reading its JSON summary")?;
    let number = |k: &str| summary[k].as_f64().unwrap_or(0.0);
    Ok(IngestRun {
        name: "Python baseline (pypdf + LangChain splitter)".into(),
        files: number("files") as usize,
        failed: number("failed") as usize,
        pages: number("pages") as u64,
        text_bytes: (number("text_MB") * 1e6) as u64,
        seconds: number("median_seconds"),
    })
}

/// Words of a text for comparison. Plain: split on white space. Normalised: NFKC first
/// (ligatures such as "ﬃ" become "ffi"), invisible characters dropped (zero-width spaces
/// and joiners, direction marks and embeddings, soft hyphens, control characters), and
/// each character of scripts written without spaces (Chinese, Japanese, Thai…) counts as a
/// word of its own.
fn words(text: &str, normalised: bool) -> Vec<String> {
    use unicode_normalization::UnicodeNormalization;
    if !normalised {
        return text.split_whitespace().map(str::to_owned).collect();
    }
    let unspaced = |c: char| matches!(c as u32, 0x0E00..=0x0E7F | 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF);
    let mut out = Vec::new();
    let mut word = String::new();
    let invisible = |c: char| {
        (c.is_control() && !c.is_whitespace())
            || matches!(c as u32, 0x00AD | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2069 | 0xFEFF)
    };
    for c in text.nfkc().filter(|&c| !invisible(c)) {
        if c.is_whitespace() || unspaced(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            if unspaced(c) {
                out.push(c.to_string());
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Token F1 of two texts: their words as multisets.
fn token_f1(a: &str, b: &str, normalised: bool) -> f64 {
    use std::collections::HashMap;
    fn count(words: Vec<String>) -> HashMap<String, usize> {
        let mut m: HashMap<String, usize> = HashMap::new();
        for w in words {
            *m.entry(w).or_default() += 1;
        }
        m
    }
    let (ca, cb) = (count(words(a, normalised)), count(words(b, normalised)));
    let (na, nb): (usize, usize) = (ca.values().sum(), cb.values().sum());
    let common: usize = ca
        .iter()
        .map(|(w, n)| (*n).min(cb.get(w.as_str()).copied().unwrap_or(0)))
        .sum();
    if common == 0 || na == 0 || nb == 0 {
        return 0.0;
    }
    let (p, r) = (common as f64 / na as f64, common as f64 / nb as f64);
    2.0 * p * r / (p + r)
}

/// `docent bench extract-quality DIR`: token F1 of Docent's extraction against reference
/// text, for the two corpus layouts: `X.pdf` beside `X.pdf.pdftotext.txt` (poppler's
/// output), or folders with `source.html` and `expected.html` (Readability's test pages,
/// compared with `--main-content`). Lists every file below 0.9.
pub fn extract_quality(dir: &Path) -> anyhow::Result<()> {
    let mut cases: Vec<(String, Vec<u8>, String, bool)> = Vec::new();
    let mut entries: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_dir() {
            let (source, expected) = (path.join("source.html"), path.join("expected.html"));
            if let (Ok(bytes), Ok(expected)) =
                (std::fs::read(&source), std::fs::read_to_string(&expected))
            {
                cases.push((name, bytes, docent_ingest::html_text(&expected), true));
            }
        } else if name.ends_with(".pdf") {
            let reference = path.with_file_name(format!("{name}.pdftotext.txt"));
            if let (Ok(bytes), Ok(expected)) =
                (std::fs::read(&path), std::fs::read_to_string(&reference))
            {
                cases.push((name, bytes, expected, false));
            }
        }
    }
    if cases.is_empty() {
        bail!("no reference pairs in {}", dir.display());
    }
    let mut progress = crate::progress::Progress::new("extract", cases.len());
    // (plain F1, normalised F1, name, error)
    let mut scores: Vec<(f64, f64, String, String)> = Vec::new();
    for (name, bytes, expected, html) in &cases {
        let options = docent_ingest::ExtractOptions {
            main_content: *html,
            url: None,
        };
        let file_name = if *html { "source.html" } else { name.as_str() };
        let (plain, normalised, note) =
            match docent_ingest::extract(bytes, Some(file_name), &options) {
                Ok(doc) => {
                    let text = doc.text();
                    (
                        token_f1(&text, expected, false),
                        token_f1(&text, expected, true),
                        String::new(),
                    )
                }
                Err(e) => (0.0, 0.0, e.to_string()),
            };
        scores.push((plain, normalised, name.clone(), note));
        progress.tick(name);
    }
    progress.finish();
    for (label, pick) in [
        ("white-space words", 0usize),
        ("NFKC, unspaced scripts by character", 1),
    ] {
        let mut values: Vec<f64> = scores
            .iter()
            .map(|s| if pick == 0 { s.0 } else { s.1 })
            .collect();
        values.sort_by(f64::total_cmp);
        let median = values[values.len() / 2];
        let at_least = |t: f64| values.iter().filter(|v| **v >= t).count();
        println!(
            "{} ({label}): {} files, median token F1 {median:.3}, ≥ 0.9: {} ({:.0} %), ≥ 0.95: {}",
            dir.display(),
            values.len(),
            at_least(0.9),
            100.0 * at_least(0.9) as f64 / values.len() as f64,
            at_least(0.95)
        );
    }
    scores.sort_by(|a, b| a.1.total_cmp(&b.1));
    println!("below 0.9 (normalised, then plain):");
    for (plain, normalised, name, note) in scores.iter().filter(|s| s.1 < 0.9) {
        println!("  {normalised:.3}  {plain:.3}  {name}  {note}");
    }
    Ok(())
}
