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

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Whether `GET path` answers 200.
fn answers(addr: SocketAddr, path: &str) -> bool {
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

fn rss_kib(pid: u32) -> u64 {
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
