//! Health, readiness, metrics, OpenAPI, headers and the error answers of the transport.

use docent_server::routes::{Kind, routes};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{Backend, TestApp, code};
use crate::on_both_backends;

on_both_backends!(health_ready_and_metrics_answer);

async fn health_ready_and_metrics_answer(app: TestApp) {
    let anon = app.anonymous();
    let (status, body) = anon.get("/health").await;
    assert_eq!((status, &body["status"]), (StatusCode::OK, &json!("ok")));
    let (status, body) = anon.get("/ready").await;
    assert_eq!((status, &body["status"]), (StatusCode::OK, &json!("ready")));
    app.signup("ana@example.com").await;
    let response = anon
        .request(Method::GET, "/metrics")
        .send()
        .await
        .expect("metrics");
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("text");
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(
        text.contains("route=\"/api/auth/signup\""),
        "requests are labelled by route template"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "latency is a histogram"
    );
    assert!(text.contains("db_pool_connections"));
}

#[tokio::test]
async fn metrics_answer_only_their_token_when_one_is_set() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.metrics_token = Some(docent_core::settings::Secret::new("scrape-me-7f3a"));
    })
    .await
    .expect("app");
    let anon = app.anonymous();
    for authorization in [
        None,
        Some("Bearer wrong"),
        Some("scrape-me-7f3a"),
        Some("Bearer "),
    ] {
        let mut request = anon.request(Method::GET, "/metrics");
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.expect("metrics");
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{authorization:?}"
        );
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(code(&body), "not_authenticated", "{body}");
    }
    let response = anon
        .request(Method::GET, "/metrics")
        .header("authorization", "Bearer scrape-me-7f3a")
        .send()
        .await
        .expect("metrics");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .text()
            .await
            .expect("text")
            .contains("process_uptime_seconds")
    );
    let (status, _) = anon.get("/health").await;
    assert_eq!(status, StatusCode::OK, "health stays open");
}

#[tokio::test]
async fn openapi_lists_every_api_route() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let (status, doc) = app.anonymous().get("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    for route in routes().into_iter().filter(|r| r.kind == Kind::Api) {
        let method = route.method.as_str().to_lowercase();
        assert!(
            doc["paths"][route.path][&method]["summary"].is_string(),
            "{method} {} is missing",
            route.path
        );
    }
    let codes = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]
        ["enum"]
        .as_array()
        .expect("codes");
    assert!(codes.contains(&json!("plan_limit_reached")));
    let body = &doc["paths"]["/api/chat-spaces"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"]["$ref"];
    assert_eq!(
        body, "#/components/schemas/CreateChatSpace",
        "bodies have schemas"
    );
    let answer = &doc["paths"]["/api/chat-spaces"]["post"]["responses"]["201"]["content"]["application/json"]
        ["schema"]["$ref"];
    assert_eq!(
        answer, "#/components/schemas/ChatSpace",
        "answers have schemas"
    );

    // The reference page shows every operation, with no script and nothing from elsewhere.
    let response = reqwest::get(format!("{}/api/docs", app.base))
        .await
        .expect("docs");
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("html");
    for route in routes().into_iter().filter(|r| r.kind == Kind::Api) {
        assert!(
            html.contains(&format!("<code>{}</code>", route.path)),
            "{}",
            route.path
        );
    }
    assert!(html.contains("plan_limit_reached"));
    assert!(
        !html.contains("<script") && !html.contains("src=\"http") && !html.contains("href=\"http")
    );
}

#[tokio::test]
async fn transport_errors_use_the_error_format() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.max_body_bytes = 4096)
        .await
        .expect("app");
    let ana = app.signup("ana@example.com").await;
    let (status, body) = ana.get("/api/nothing-here").await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, body) = ana.call(Method::PUT, "/api/chat-spaces").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    let (status, body) = ana
        .post("/api/chat-spaces", json!({"name": "x".repeat(10_000)}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    let csrf = ana.csrf().await;
    let response = ana
        .request(Method::POST, "/api/chat-spaces")
        .header("x-csrf-token", csrf)
        .header("content-type", "text/plain")
        .body("{\"name\":\"x\"}")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, body) = ana.get("/api/chat-spaces?limit=abc").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
    let (status, body) = ana.get("/api/chat-spaces?cursor=zzz").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
}

#[tokio::test]
async fn pages_carry_security_headers_and_request_ids() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let anon = app.anonymous();
    let response = anon
        .request(Method::GET, "/login")
        .send()
        .await
        .expect("login page");
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert!(
        headers["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains("script-src 'self'")
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers.contains_key("x-request-id"));
    let page = response.text().await.expect("html");
    assert!(page.contains("name=\"csrf_token\""));
    let (status, _) = anon.page("/app").await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "logged-out visitors are sent to log in"
    );
    let (status, html) = anon.page("/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("<html"));
    let css = anon
        .request(Method::GET, "/assets/app.css")
        .send()
        .await
        .expect("css");
    let etag = css.headers()["etag"].to_str().expect("etag").to_owned();
    let again = anon
        .request(Method::GET, "/assets/app.css")
        .header("if-none-match", etag)
        .send()
        .await
        .expect("css");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn dashboard_forms_show_field_errors_inline() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let anon = app.anonymous();
    let (status, html) = anon
        .form(
            "/signup",
            &[
                ("email", "nope"),
                ("password", "short"),
                ("name", "<script>alert(1)</script>"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Enter a valid email address"), "{html}");
    assert!(html.contains("Use at least 10 characters"));
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(
        !html.contains("<script>alert(1)</script>"),
        "values are escaped"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") || html.contains("&#60;script&#62;"),
        "the typed name is kept, escaped"
    );

    let (status, _) = anon
        .form(
            "/signup",
            &[
                ("email", "ana@example.com"),
                ("password", "correct horse battery"),
                ("name", "Ana"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, html) = anon.page("/app").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Welcome to Docent"));
    let (status, html) = anon.form("/app/chat-spaces", &[("name", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Enter a name."));
}
