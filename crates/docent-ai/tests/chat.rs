//! The chat client against an in-process server that speaks the OpenAI-compatible streaming
//! protocol, including its errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use docent_ai::{
    AiError, ChatConfig, ChatEvent, ChatMessage, ChatModel, ChatRequest, OpenAiChat, Role, Usage,
};
use serde_json::{Value, json};

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Normal,
    BusyOnce,
    Broken,
    Refused,
    Silent,
    StallsMidway,
    Malformed,
    CutShort,
    Endless,
}

#[derive(Clone)]
struct Fake {
    mode: Mode,
    calls: Arc<AtomicUsize>,
    hung_up: Arc<AtomicBool>,
}

fn sse(events: &[Value]) -> String {
    let mut body = String::from(": OPENROUTER PROCESSING\n\n");
    for event in events {
        body.push_str(&format!("data: {event}\n\n"));
    }
    body
}

fn delta(text: &str) -> Value {
    json!({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]})
}

fn stream_response(body: Body) -> Response {
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(body)
        .expect("response")
}

/// Sets the flag when the server's body is dropped: the client hung up.
struct HangUp(Arc<AtomicBool>);
impl Drop for HangUp {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

async fn completions(
    State(fake): State<Fake>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let call = fake.calls.fetch_add(1, Ordering::SeqCst);
    assert_eq!(body["stream"], true);
    assert_eq!(body["model"], "test/model");
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer sk-test") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"message": "missing key"}})),
        )
            .into_response();
    }
    let question = body["messages"][1]["content"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    match fake.mode {
        Mode::BusyOnce if call == 0 => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "0")],
                Json(json!({"error": {"message": "rate limited"}})),
            )
                .into_response();
        }
        Mode::Broken => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "upstream exploded").into_response();
        }
        Mode::Refused => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": {"message": "unknown model"}})),
            )
                .into_response();
        }
        Mode::Silent => {
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        Mode::Malformed => {
            return stream_response(Body::from(format!(
                "{}data: {{not json\n\n",
                sse(&[delta("Hel")])
            )));
        }
        Mode::CutShort => return stream_response(Body::from(sse(&[delta("Hel"), delta("lo")]))),
        Mode::StallsMidway | Mode::Endless => {
            let stalls = fake.mode == Mode::StallsMidway;
            let guard = HangUp(fake.hung_up.clone());
            let stream =
                futures_util::stream::unfold((0u32, guard), move |(n, guard)| async move {
                    if stalls && n == 2 {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    let event = format!("data: {}\n\n", delta(&format!("t{n} ")));
                    Some((Ok::<_, std::io::Error>(event), (n + 1, guard)))
                });
            return stream_response(Body::from_stream(stream));
        }
        _ => {}
    }
    let mut events: Vec<Value> = ["You ", "asked: ", &question]
        .iter()
        .map(|t| delta(t))
        .collect();
    events.push(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}));
    events.push(json!({"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}}));
    stream_response(Body::from(format!("{}data: [DONE]\n\n", sse(&events))))
}

async fn provider(mode: Mode) -> (String, Fake) {
    let fake = Fake {
        mode,
        calls: Arc::default(),
        hung_up: Arc::default(),
    };
    let app = axum::Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (format!("http://{addr}/v1"), fake)
}

fn client(base: &str) -> OpenAiChat {
    let mut config = ChatConfig::new(base);
    config.api_key = Some("sk-test".into());
    config.max_retries = 2;
    config.backoff = Duration::from_millis(10);
    config.first_byte_timeout = Duration::from_millis(500);
    config.idle_timeout = Duration::from_millis(500);
    OpenAiChat::new(config).expect("client")
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "test/model".into(),
        messages: vec![
            ChatMessage::new(Role::System, "Be brief."),
            ChatMessage::new(Role::User, "what is Docent?"),
        ],
        temperature: 0.2,
        max_tokens: 100,
    }
}

/// Reads a whole stream: the text and how it ended.
async fn collect(model: &OpenAiChat) -> Result<(String, Result<Option<Usage>, AiError>), AiError> {
    let mut stream = model.stream(request()).await?;
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        match event {
            Ok(ChatEvent::Delta(d)) => text.push_str(&d),
            Ok(ChatEvent::Done { usage }) => return Ok((text, Ok(usage))),
            Err(e) => return Ok((text, Err(e))),
        }
    }
    panic!("the stream ended without Done or an error");
}

#[tokio::test]
async fn a_normal_stream_arrives_in_order_with_usage() {
    let (base, _) = provider(Mode::Normal).await;
    let (text, end) = collect(&client(&base)).await.expect("stream");
    assert_eq!(text, "You asked: what is Docent?");
    assert_eq!(
        end,
        Ok(Some(Usage {
            prompt_tokens: 12,
            completion_tokens: 5
        }))
    );
}

#[tokio::test]
async fn a_busy_provider_is_retried_before_the_first_token() {
    let (base, fake) = provider(Mode::BusyOnce).await;
    let (text, end) = collect(&client(&base)).await.expect("second attempt");
    assert!(text.starts_with("You asked"));
    assert!(end.is_ok());
    assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn failures_before_the_first_token_are_clear() {
    let (base, fake) = provider(Mode::Broken).await;
    let err = collect(&client(&base)).await.expect_err("500");
    assert!(
        matches!(&err, AiError::Unavailable(m) if m.contains("500")),
        "{err}"
    );
    assert_eq!(
        fake.calls.load(Ordering::SeqCst),
        3,
        "one try and two retries"
    );

    let (base, fake) = provider(Mode::Refused).await;
    let err = collect(&client(&base)).await.expect_err("400");
    assert_eq!(
        err,
        AiError::Rejected {
            status: 400,
            message: "unknown model".into()
        }
    );
    assert_eq!(
        fake.calls.load(Ordering::SeqCst),
        1,
        "refusals are not retried"
    );

    let (base, fake) = provider(Mode::Silent).await;
    let started = std::time::Instant::now();
    let err = collect(&client(&base)).await.expect_err("timeout");
    assert!(
        matches!(&err, AiError::Unavailable(m) if m.contains("in time")),
        "{err}"
    );
    assert_eq!(fake.calls.load(Ordering::SeqCst), 3);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "three 0.5 s timeouts, not the server's 5 s"
    );

    let err = collect(&client("http://127.0.0.1:9/v1"))
        .await
        .expect_err("no server");
    assert!(matches!(err, AiError::Unavailable(_)));
}

#[tokio::test]
async fn failures_after_the_first_token_end_the_stream_with_an_error() {
    let (base, _) = provider(Mode::Malformed).await;
    let (text, end) = collect(&client(&base)).await.expect("started");
    assert_eq!(text, "Hel");
    assert!(matches!(end, Err(AiError::Malformed(_))), "{end:?}");

    let (base, _) = provider(Mode::CutShort).await;
    let (text, end) = collect(&client(&base)).await.expect("started");
    assert_eq!(text, "Hello");
    assert!(
        matches!(&end, Err(AiError::Unavailable(m)) if m.contains("before the answer was complete")),
        "{end:?}"
    );

    let (base, fake) = provider(Mode::StallsMidway).await;
    let (text, end) = collect(&client(&base)).await.expect("started");
    assert_eq!(text, "t0 t1 ");
    assert!(
        matches!(&end, Err(AiError::Unavailable(m)) if m.contains("timed out")),
        "{end:?}"
    );
    assert_eq!(
        fake.calls.load(Ordering::SeqCst),
        1,
        "no retry once tokens flowed"
    );
}

#[tokio::test]
async fn dropping_the_stream_hangs_up_on_the_provider() {
    let (base, fake) = provider(Mode::Endless).await;
    let mut stream = client(&base).stream(request()).await.expect("stream");
    for _ in 0..3 {
        assert!(matches!(stream.next().await, Some(Ok(ChatEvent::Delta(_)))));
    }
    assert!(!fake.hung_up.load(Ordering::SeqCst));
    drop(stream);
    for _ in 0..200 {
        if fake.hung_up.load(Ordering::SeqCst) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the provider kept streaming to nobody");
}
