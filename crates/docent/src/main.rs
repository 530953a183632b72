//! `docent`: one binary for the server, its migrations and headless administration.

mod ask;
mod bench;
mod bench_answers;
mod bench_inbox;
mod bench_widget;
mod eval;
mod eval_answers;
mod ingest;
mod progress;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use docent_app::App;
use docent_core::Settings;
use docent_core::settings::{LogFormat, SettingsLayer};
use docent_ingest::Chunker;
use docent_server::{AppState, build_app, serve};
use docent_store::Store;
use docent_store_postgres::PostgresStore;
use docent_store_sqlite::SqliteStore;
use tokio::net::TcpListener;

#[derive(Debug, Parser)]
#[command(
    name = "docent",
    version,
    about = "Self-hostable chatbots that answer from your own knowledge"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Global {
    /// Settings file (default: ./docent.toml when it exists).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on [env: DOCENT_LISTEN] (default 127.0.0.1:8080).
    #[arg(long, global = true, value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,
    /// Directory of the embedded database [env: DOCENT_DATA_DIR] (default ./docent-data).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// sqlite:… or postgres://… [env: DOCENT_DATABASE_URL] (default SQLite in the data dir).
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (migrations run first).
    Serve,
    /// Run background workers only (document processing), without the HTTP server.
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage accounts without the web interface.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Print the text Docent extracts from a file or web page (PDF pages separated by form
    /// feeds).
    Extract {
        /// The file to read, or an http(s) address to fetch (through the same guard as the
        /// server, rendered with Chromium when `DOCENT_CHROMIUM_PATH` is set).
        #[arg(required_unless_present = "serve")]
        path: Option<PathBuf>,
        /// Serve many files: read `{"path", "file_name"}` lines on standard input and answer
        /// each with one JSON line (how workers run the extractor in a child process).
        #[arg(long, conflicts_with_all = ["json", "main_content"])]
        serve: bool,
        /// For HTML: only the main content (no navigation, footers, ads, cookie banners).
        #[arg(long)]
        main_content: bool,
        /// Print sections, metadata and chunks as JSON instead of the text (errors too, as
        /// `{"error": "…"}`).
        #[arg(long)]
        json: bool,
        /// With --json, also cut the text into chunks of this many tokens.
        #[arg(long)]
        chunk_size: Option<u32>,
        /// Chunk overlap in tokens, with --chunk-size.
        #[arg(long, default_value_t = 200)]
        chunk_overlap: u32,
    },
    /// Add local files (or whole directories) to a chat space and process them here.
    Ingest {
        /// The chat space's public slug.
        #[arg(long)]
        chat_space: String,
        /// Learn-only instead of citable.
        #[arg(long)]
        learn_only: bool,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Answer a question from a chat space's knowledge, in the terminal.
    Ask {
        /// The chat space's public slug.
        #[arg(long)]
        chat_space: String,
        /// Also print the retrieved chunks with their scores.
        #[arg(long)]
        sources: bool,
        question: String,
    },
    /// Measure retrieval quality on a public question set.
    Eval {
        #[command(subcommand)]
        command: EvalCommand,
    },
    /// Measure Docent against a baseline on this machine.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account with an organization of its own.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        /// Make the account a platform administrator.
        #[arg(long)]
        admin: bool,
    },
    /// Set a new password (and end the account's sessions).
    ResetPassword {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
    },
}

#[derive(Debug, Subcommand)]
enum EvalCommand {
    /// Chroma's chunking evaluation (questions_df.csv with gold character spans, corpora/*.md):
    /// recall@k, MRR and gold_char_recall.
    Chroma {
        dir: PathBuf,
        #[command(flatten)]
        options: EvalArgs,
    },
    /// Quoted answers (no model) on Chroma's set, scored on the answer text: the share of
    /// questions whose answer holds at least half of the gold evidence's words, the median
    /// answer length and markers naming no citation, beside a BM25 baseline, for the dev
    /// (even rows) and held-out (odd rows) halves. --show-misses prints the misses.
    Answers {
        dir: PathBuf,
        #[command(flatten)]
        options: EvalArgs,
    },
    /// Docugami's SEC 10-Q set (docs/*.pdf, qna_data.csv with source-document patterns):
    /// recall@k and MRR.
    Docugami {
        dir: PathBuf,
        #[command(flatten)]
        options: EvalArgs,
    },
}

#[derive(Debug, Args)]
struct EvalArgs {
    /// Chunks retrieved per question.
    #[arg(long, default_value_t = 5)]
    k: u32,
    /// Tokens of retrieved chunks that count towards gold_char_recall.
    #[arg(long, default_value_t = 2000)]
    budget_tokens: u32,
    /// Chunk size in tokens (default: a new chat space's).
    #[arg(long)]
    chunk_size: Option<u32>,
    /// Chunk overlap in tokens (default: a new chat space's).
    #[arg(long)]
    chunk_overlap: Option<u32>,
    /// fulltext, vector or hybrid (default: hybrid with an embedder, else fulltext).
    #[arg(long, value_parser = ["fulltext", "vector", "hybrid"])]
    mode: Option<String>,
    /// One JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Print the questions whose gold text was not all retrieved (chroma).
    #[arg(long)]
    show_misses: bool,
}

impl EvalArgs {
    fn options(self) -> eval::Options {
        let defaults = docent_core::config::RetrievalConfig::default();
        eval::Options {
            k: self.k.max(1),
            budget_tokens: self.budget_tokens,
            chunk_size: self.chunk_size.unwrap_or(defaults.chunk_size),
            chunk_overlap: self.chunk_overlap.unwrap_or(defaults.chunk_overlap),
            mode: self.mode.as_deref().map(|m| match m {
                "vector" => docent_rag::Mode::Vector,
                "hybrid" => docent_rag::Mode::Hybrid,
                _ => docent_rag::Mode::FullText,
            }),
            json: self.json,
            show_misses: self.show_misses,
        }
    }
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Token F1 of extraction against reference texts (PDFs with pdftotext references, or
    /// Readability's source/expected pages); lists files below 0.9.
    ExtractQuality { dir: PathBuf },
    /// Extract + chunk + full-text index every PDF of DIR, against pdftotext and a Python
    /// baseline in the same run.
    Ingest {
        dir: PathBuf,
        /// Parallel extraction workers (default: the number of cores).
        #[arg(long)]
        workers: Option<usize>,
        /// The Python with pypdf and langchain-text-splitters for the baseline.
        #[arg(long, default_value = "python3")]
        python: String,
        /// The baseline script.
        #[arg(long, default_value = "../shared/bench/baseline_ingest.py")]
        baseline: PathBuf,
    },
    /// p50/p99 of top-5 retrieval (full text, vector, hybrid) in one chat space of each size,
    /// on SQLite and, with --postgres, PostgreSQL; against one full-text SQL query.
    Retrieval {
        /// Chunk counts to measure.
        #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
        chunks: Vec<usize>,
        /// Questions timed per measurement.
        #[arg(long, default_value_t = 500)]
        runs: usize,
        /// A PostgreSQL (with pgvector) to measure too; the benchmark's rows are removed after.
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
    },
    /// Docent's own time per answer (all but the model) with a model that answers at once.
    Answer {
        #[arg(long, default_value_t = 10000)]
        chunks: usize,
        #[arg(long, default_value_t = 50)]
        concurrency: usize,
        #[arg(long, default_value_t = 2000)]
        questions: usize,
    },
    /// Widget weight (gzip -9), and many visitor conversations streaming at once against one
    /// server on SQLite with a model that answers at once: time to first token, messages/s.
    Widget {
        #[arg(long, default_value_t = 1000)]
        chunks: usize,
        /// Visitor conversations at once.
        #[arg(long, default_value_t = 1000)]
        visitors: usize,
        /// Messages each visitor sends, one after another.
        #[arg(long, default_value_t = 3)]
        messages: usize,
        /// Messages a second in all for the open-load run.
        #[arg(long, default_value_t = 1000.0)]
        rate: f64,
    },
    /// Live handover under load on real `docent serve` processes: visitor event streams held
    /// open, agents replying at a steady rate; delivery time from an agent's reply to the
    /// visitor's event (against a /health round trip), replies lost or doubled, memory per
    /// open stream. On SQLite, and with --postgres on two instances sharing a scratch
    /// database (created and dropped on that server).
    Inbox {
        /// Visitor streams held open.
        #[arg(long, default_value_t = 1000)]
        visitors: usize,
        /// Agents, each replying to its share of the conversations.
        #[arg(long, default_value_t = 20)]
        agents: usize,
        /// Agent replies a second in all.
        #[arg(long, default_value_t = 50.0)]
        rate: f64,
        /// How long the agents reply.
        #[arg(long, default_value_t = 30.0)]
        seconds: f64,
        /// A PostgreSQL server (URL ending in /DATABASE, a user who may create databases).
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
    },
    /// Time from process start to a ready server, and idle memory, vs. python3 -m http.server.
    Startup {
        /// How many starts to measure.
        #[arg(long, default_value_t = 10)]
        runs: usize,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the effective settings, secrets redacted, and check that they are usable.
    Check,
}

/// mimalloc instead of the C library's allocator: a server allocates and frees small buffers
/// on every request from many threads, where glibc's malloc spent about 16 % of the CPU
/// under the widget benchmark (`perf`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    match run_cli() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_cli() -> anyhow::Result<()> {
    let started = Instant::now();
    let cli = Cli::parse();
    let flags = SettingsLayer {
        listen: cli.global.listen,
        data_dir: cli.global.data_dir.clone(),
        database_url: cli
            .global
            .database_url
            .clone()
            .map(docent_core::settings::Secret::new),
        ..SettingsLayer::default()
    };
    if let Command::Extract {
        path,
        main_content,
        json,
        chunk_size,
        chunk_overlap,
        serve,
    } = &cli.command
    {
        if *serve {
            return serve_extract();
        }
        let Some(path) = path else {
            anyhow::bail!("name a file to extract")
        };
        // A web page needs the settings (what may be fetched, the browser) and a runtime.
        if !is_web_address(path) {
            let chunker = chunk_size.map(|size| Chunker::new(size, *chunk_overlap));
            let shown = path.display().to_string();
            return match std::fs::read(path) {
                Ok(bytes) => {
                    let name = path.file_name().and_then(|n| n.to_str());
                    extract(&shown, &bytes, name, None, *main_content, *json, chunker)
                }
                Err(e) => extract_failed(&shown, e, *json),
            };
        }
    }
    let settings = Settings::load(
        cli.global.config.as_deref(),
        |k| std::env::var(k).ok(),
        flags,
    )
    .context("reading the settings")?;
    // Servers log what they do; one-off commands only what goes wrong, so their own
    // output (progress bars, tables) stays readable.
    // The TLS verifier logs an ERROR of its own for every certificate it refuses, though the
    // refusal reaches Docent as the call's error (a webhook delivery's, a fetched page's) and
    // is recorded there: a customer's bad certificate is not a fault of this server.
    let quiet = !matches!(cli.command, Command::Serve | Command::Worker);
    init_logging(
        settings.log_format,
        if quiet {
            "warn,rustls_platform_verifier=off"
        } else {
            "info,sqlx=warn,tower_http=info,rustls_platform_verifier=off"
        },
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run(cli.command, settings, started))
}

/// `docent extract`: prints what `bytes` (a file, or the page fetched from `url`) hold; a
/// file needs no settings, database or runtime. With `--json` it is also the
/// isolated extractor the workers run in a child process, so a file that crashes or
/// exhausts the reader takes only this process down.
fn extract(
    shown: &str,
    bytes: &[u8],
    name: Option<&str>,
    url: Option<String>,
    main_content: bool,
    json: bool,
    chunker: Option<Chunker>,
) -> anyhow::Result<()> {
    let options = docent_ingest::ExtractOptions { main_content, url };
    let out = match (docent_ingest::extract(bytes, name, &options), json) {
        (Ok(extracted), true) => {
            let chunks = chunker.map(|c| c.chunk(&extracted));
            serde_json::to_string(&serde_json::json!({"document": extracted, "chunks": chunks}))?
        }
        (Ok(extracted), false) => extracted.text(),
        (Err(e), _) => return extract_failed(shown, e, json),
    };
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{out}") {
        // `docent extract f.pdf | head` closes the pipe early: that is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// How `docent extract` fails: one `{"error"}` line and exit status 1 with `--json`, else
/// the message.
fn extract_failed(shown: &str, error: impl std::fmt::Display, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::json!({"error": error.to_string()}));
        std::process::exit(1);
    }
    anyhow::bail!("{shown}: {error}")
}

fn is_web_address(path: &std::path::Path) -> bool {
    path.to_str()
        .is_some_and(|p| p.starts_with("http://") || p.starts_with("https://"))
}

/// `docent extract --serve`: one request line in, one answer line out, until standard input
/// closes. Workers keep one such child per worker.
fn serve_extract() -> anyhow::Result<()> {
    #[derive(serde::Deserialize)]
    struct Request {
        path: PathBuf,
        file_name: String,
    }
    let options = docent_ingest::ExtractOptions {
        main_content: true,
        url: None,
    };
    let mut stdout = std::io::stdout().lock();
    for line in std::io::stdin().lines() {
        let line = line.context("reading a request")?;
        let answer = match serde_json::from_str::<Request>(&line) {
            Err(e) => serde_json::json!({"error": format!("bad request: {e}")}),
            Ok(request) => match std::fs::read(&request.path) {
                Err(e) => serde_json::json!({"error": format!("reading the file: {e}")}),
                Ok(bytes) => {
                    match docent_ingest::extract(&bytes, Some(&request.file_name), &options) {
                        Ok(document) => serde_json::json!({"document": document}),
                        Err(e) => serde_json::json!({"error": e.to_string()}),
                    }
                }
            },
        };
        writeln!(stdout, "{answer}").context("answering")?;
        stdout.flush().context("answering")?;
    }
    Ok(())
}

fn init_logging(format: LogFormat, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DOCENT_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.compact().init(),
    }
}

async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let max = settings.database_max_connections;
    match settings.database_url.as_ref().map(|u| u.expose()) {
        Some(url) if url.starts_with("postgres") => {
            let store = PostgresStore::connect(url, max)
                .await
                .context("connecting to PostgreSQL")?;
            store.migrate().await.context("migrating PostgreSQL")?;
            Ok(Arc::new(store))
        }
        Some(url) => {
            let store = SqliteStore::open_url(url, max)
                .await
                .context("opening SQLite")?;
            store.migrate().await.context("migrating SQLite")?;
            Ok(Arc::new(store))
        }
        None => {
            let store = SqliteStore::open_dir(&settings.data_dir, max)
                .await
                .with_context(|| {
                    format!("opening the database in {}", settings.data_dir.display())
                })?;
            store.migrate().await.context("migrating SQLite")?;
            Ok(Arc::new(store))
        }
    }
}

async fn run(command: Command, settings: Settings, started: Instant) -> anyhow::Result<()> {
    match command {
        Command::Config {
            command: ConfigCommand::Check,
        } => {
            println!("{}", serde_json::to_string_pretty(&settings)?);
            docent_app::mail::Mailer::from_settings(&settings).map_err(anyhow::Error::msg)?;
            eprintln!("settings are valid");
            Ok(())
        }
        // Files are handled in `run_cli` before any settings are read.
        Command::Extract {
            path,
            main_content,
            json,
            chunk_size,
            chunk_overlap,
            ..
        } => {
            let url = path.as_deref().and_then(|p| p.to_str()).unwrap_or_default();
            let fetcher = docent_app::web_fetcher(&settings).map_err(anyhow::Error::msg)?;
            let fetched = match fetcher.get_page(url).await {
                Ok(fetched) => fetched,
                Err(e) => return extract_failed(url, e, json),
            };
            let name = fetched
                .url
                .path_segments()
                .and_then(|mut s| s.next_back())
                .filter(|n| !n.is_empty());
            let chunker = chunk_size.map(|size| Chunker::new(size, chunk_overlap));
            extract(
                url,
                &fetched.bytes,
                name,
                Some(fetched.url.to_string()),
                main_content,
                json,
                chunker,
            )
        }
        Command::Bench {
            command:
                BenchCommand::Ingest {
                    dir,
                    workers,
                    python,
                    baseline,
                },
        } => {
            let workers = workers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
            let scratch =
                std::env::temp_dir().join(format!("docent-bench-ingest-{}", std::process::id()));
            let result = bench::ingest(&dir, workers, &python, &baseline, &scratch).await;
            std::fs::remove_dir_all(&scratch).ok();
            result
        }
        Command::Bench {
            command:
                BenchCommand::Retrieval {
                    chunks,
                    runs,
                    postgres,
                },
        } => {
            let scratch =
                std::env::temp_dir().join(format!("docent-bench-retrieval-{}", std::process::id()));
            let postgres = match postgres {
                None => None,
                Some(url) => {
                    let store = PostgresStore::connect(&url, 8)
                        .await
                        .context("connecting to PostgreSQL")?;
                    store.migrate().await.context("migrating PostgreSQL")?;
                    Some(store)
                }
            };
            let result = bench_answers::retrieval(&scratch, postgres, &chunks, runs.max(10)).await;
            std::fs::remove_dir_all(&scratch).ok();
            result
        }
        Command::Bench {
            command:
                BenchCommand::Answer {
                    chunks,
                    concurrency,
                    questions,
                },
        } => {
            let scratch =
                std::env::temp_dir().join(format!("docent-bench-answer-{}", std::process::id()));
            let result =
                bench_answers::answer(&scratch, chunks, concurrency.max(1), questions.max(10))
                    .await;
            std::fs::remove_dir_all(&scratch).ok();
            result
        }
        Command::Bench {
            command:
                BenchCommand::Widget {
                    chunks,
                    visitors,
                    messages,
                    rate,
                },
        } => {
            let scratch =
                std::env::temp_dir().join(format!("docent-bench-widget-{}", std::process::id()));
            let result = bench_widget::widget(
                &scratch,
                chunks,
                visitors.max(1),
                messages.max(1),
                rate.max(1.0),
            )
            .await;
            std::fs::remove_dir_all(&scratch).ok();
            result
        }
        Command::Bench {
            command:
                BenchCommand::Inbox {
                    visitors,
                    agents,
                    rate,
                    seconds,
                    postgres,
                },
        } => {
            let scratch =
                std::env::temp_dir().join(format!("docent-bench-inbox-{}", std::process::id()));
            let options = bench_inbox::Options {
                visitors: visitors.max(1),
                agents: agents.clamp(1, visitors.max(1)),
                rate: rate.max(1.0),
                seconds: seconds.max(1.0),
                postgres,
            };
            let result = bench_inbox::inbox(&scratch, options).await;
            std::fs::remove_dir_all(&scratch).ok();
            result
        }
        Command::Bench {
            command: BenchCommand::ExtractQuality { dir },
        } => tokio::task::spawn_blocking(move || bench::extract_quality(&dir))
            .await
            .context("the benchmark thread")?,
        Command::Bench {
            command: BenchCommand::Startup { runs },
        } => tokio::task::spawn_blocking(move || {
            let scratch = std::env::temp_dir().join(format!("docent-bench-{}", std::process::id()));
            let result = bench::startup(runs.max(1), &scratch);
            std::fs::remove_dir_all(&scratch).ok();
            result
        })
        .await
        .context("the benchmark thread")?,
        Command::Ingest {
            chat_space,
            learn_only,
            paths,
        } => {
            let settings = with_isolated_extractor(settings);
            let store = open_store(&settings).await?;
            let app = App::new(store, settings).map_err(anyhow::Error::msg)?;
            ingest::run(&app, &chat_space, &paths, !learn_only).await
        }
        Command::Eval {
            command: EvalCommand::Chroma { dir, options },
        } => eval::chroma(&settings, &dir, options.options()).await,
        Command::Eval {
            command: EvalCommand::Answers { dir, options },
        } => eval_answers::answers(&settings, &dir, options.options()).await,
        Command::Eval {
            command: EvalCommand::Docugami { dir, options },
        } => {
            let settings = with_isolated_extractor(settings);
            eval::docugami(&settings, &dir, options.options()).await
        }
        Command::Ask {
            chat_space,
            sources,
            question,
        } => {
            let store = open_store(&settings).await?;
            let app = App::new(store, settings).map_err(anyhow::Error::msg)?;
            ask::run(&app, &chat_space, &question, sources).await
        }
        Command::Migrate => {
            open_store(&settings).await?;
            eprintln!("migrations are up to date");
            Ok(())
        }
        Command::User { command } => {
            let store = open_store(&settings).await?;
            let app = App::new(store, settings).map_err(anyhow::Error::msg)?;
            match command {
                UserCommand::Create {
                    email,
                    password,
                    admin,
                } => {
                    let (user, org) =
                        docent_app::accounts::create_user_headless(&app, &email, &password, admin)
                            .await
                            .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
                    println!(
                        "created {} (platform admin: {}) with organization {:?}",
                        user.email, user.is_platform_admin, org.name
                    );
                }
                UserCommand::ResetPassword { email, password } => {
                    let user = docent_app::accounts::set_password_headless(&app, &email, password)
                        .await
                        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
                    println!("password changed for {}; their sessions ended", user.email);
                }
            }
            Ok(())
        }
        Command::Serve => {
            let settings = with_isolated_extractor(settings);
            let listen = settings.listen;
            let store = open_store(&settings).await?;
            let backend = store.backend();
            let state = AppState::new(store, settings).map_err(anyhow::Error::msg)?;
            let public = state.settings.public_base_url();
            let listener = match TcpListener::bind(listen).await {
                Ok(l) => l,
                Err(e) => bail!("cannot listen on {listen}: {e} (choose another with --listen)"),
            };
            let (stop_workers, stopping) = tokio::sync::watch::channel(false);
            let workers = docent_app::jobs::spawn_workers(&state, state.settings.workers, stopping);
            tokio::spawn(docent_app::warm_search(state.app.clone()));
            let app = build_app(state);
            tracing::info!(%listen, backend, ready_ms = started.elapsed().as_millis() as u64, "ready");
            println!("Docent is running at {public}  (database: {backend}; press Ctrl+C to stop)");
            serve(listener, app, shutdown_signal()).await?;
            stop_workers.send(true).ok();
            finish_workers(workers).await;
            tracing::info!("stopped");
            Ok(())
        }
        Command::Worker => {
            let settings = with_isolated_extractor(settings);
            let store = open_store(&settings).await?;
            let app = App::new(store, settings).map_err(anyhow::Error::msg)?;
            let count = app.settings.workers.max(1);
            let (stop_workers, stopping) = tokio::sync::watch::channel(false);
            let workers = docent_app::jobs::spawn_workers(&app, count, stopping);
            println!("Docent worker running {count} worker(s)  (press Ctrl+C to stop)");
            shutdown_signal().await;
            stop_workers.send(true).ok();
            finish_workers(workers).await;
            Ok(())
        }
    }
}

/// Workers extract files in a child `docent extract` (this very binary) unless another
/// extractor is configured.
fn with_isolated_extractor(mut settings: Settings) -> Settings {
    if settings.extractor.is_none() {
        settings.extractor = std::env::current_exe().ok();
    }
    settings
}

/// Waits for workers to finish the job at hand, for at most 30 seconds; an unfinished job's
/// lease runs out and another worker takes it over.
async fn finish_workers(workers: Vec<tokio::task::JoinHandle<()>>) {
    let all = async {
        for worker in workers {
            worker.await.ok();
        }
    };
    if tokio::time::timeout(std::time::Duration::from_secs(30), all)
        .await
        .is_err()
    {
        tracing::warn!("workers still busy 30 s after shutdown began; their jobs will be retried");
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
