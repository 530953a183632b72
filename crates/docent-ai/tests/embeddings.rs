//! The embeddings client against an in-process server that speaks the OpenAI-compatible
//! protocol, including its errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use docent_ai::{AiError, Embedder, EmbedderConfig, OpenAiEmbedder};
use serde_json::{Value, json};

/// How the fake provider behaves.
#[derive(Clone, Copy)]
enum Mode {
    Normal,
    BusyOnce,
    Broken,
    BadRequest,
    Garbage,
    TooFew,
}

#[derive(Clone)]
struct Fake {
    mode: Mode,
    calls: Arc<AtomicUsize>,
}

async fn embeddings(
    State(fake): State<Fake>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let call = fake.calls.fetch_add(1, Ordering::SeqCst);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer sk-test") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"message": "missing key"}})),
        )
            .into_response();
    }
    let inputs: Vec<String> = body["input"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    match fake.mode {
        Mode::BusyOnce if call == 0 => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "0")],
                Json(json!({"error": {"message": "slow down"}})),
            )
                .into_response();
        }
        Mode::Broken => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "upstream exploded").into_response();
        }
        Mode::BadRequest => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": {"message": "model not found"}})),
            )
                .into_response();
        }
        Mode::Garbage => return (StatusCode::OK, "{\"data\": [").into_response(),
        _ => {}
    }
    let count = if matches!(fake.mode, Mode::TooFew) {
        inputs.len().saturating_sub(1)
    } else {
        inputs.len()
    };
    // Answer in reverse order, each with its index, as providers may.
    let data: Vec<Value> = (0..count)
        .rev()
        .map(|i| json!({"object": "embedding", "index": i, "embedding": [inputs[i].len() as f32, 1.0, 0.5]}))
        .collect();
    Json(json!({"object": "list", "data": data, "model": body["model"], "usage": {"prompt_tokens": 3, "total_tokens": 3}})).into_response()
}

async fn provider(mode: Mode) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new()
        .route("/v1/embeddings", post(embeddings))
        .with_state(Fake {
            mode,
            calls: calls.clone(),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (format!("http://{addr}/v1"), calls)
}

fn client(base: &str, batch_size: usize) -> OpenAiEmbedder {
    let mut config = EmbedderConfig::new(base, "text-embedding-3-small");
    config.api_key = Some("sk-test".into());
    config.batch_size = batch_size;
    config.max_retries = 2;
    config.backoff = Duration::from_millis(10);
    OpenAiEmbedder::new(config).expect("client")
}

fn texts(n: usize) -> Vec<String> {
    (0..n).map(|i| "x".repeat(i + 1)).collect()
}

#[tokio::test]
async fn vectors_come_back_in_order_and_in_batches() {
    let (base, calls) = provider(Mode::Normal).await;
    let vectors = client(&base, 2).embed(&texts(5)).await.expect("embed");
    assert_eq!(vectors.len(), 5);
    for (i, v) in vectors.iter().enumerate() {
        assert_eq!(
            v,
            &vec![(i + 1) as f32, 1.0, 0.5],
            "vector {i} belongs to text {i}"
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3, "5 texts in batches of 2");
}

#[tokio::test]
async fn busy_providers_are_retried() {
    let (base, calls) = provider(Mode::BusyOnce).await;
    let vectors = client(&base, 10)
        .embed(&texts(3))
        .await
        .expect("second attempt succeeds");
    assert_eq!(vectors.len(), 3);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn failures_are_reported_clearly() {
    let (base, calls) = provider(Mode::Broken).await;
    let err = client(&base, 10).embed(&texts(1)).await.expect_err("500s");
    assert!(
        matches!(&err, AiError::Unavailable(m) if m.contains("500")),
        "{err}"
    );
    assert!(err.is_passing());
    assert_eq!(calls.load(Ordering::SeqCst), 3, "one try and two retries");

    let (base, calls) = provider(Mode::BadRequest).await;
    let err = client(&base, 10).embed(&texts(1)).await.expect_err("400");
    assert_eq!(
        err,
        AiError::Rejected {
            status: 400,
            message: "model not found".into()
        }
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1, "refusals are not retried");

    let (base, _) = provider(Mode::Garbage).await;
    assert!(matches!(
        client(&base, 10).embed(&texts(2)).await,
        Err(AiError::Malformed(_))
    ));
    let (base, _) = provider(Mode::TooFew).await;
    assert!(matches!(
        client(&base, 10).embed(&texts(2)).await,
        Err(AiError::Malformed(_))
    ));

    let closed = "http://127.0.0.1:9/v1";
    assert!(matches!(
        client(closed, 10).embed(&texts(1)).await,
        Err(AiError::Unavailable(_))
    ));
}
