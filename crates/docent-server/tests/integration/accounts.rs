//! Sign-up, log-in, sessions, CSRF, throttling and password resets.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{Backend, TestApp, code};
use crate::on_both_backends;

on_both_backends!(
    signup_logs_in_and_first_user_is_admin,
    bad_signups_get_field_errors,
    login_checks_passwords_and_logout_ends_the_session,
    password_reset_works_once_and_ends_sessions
);

async fn signup_logs_in_and_first_user_is_admin(app: TestApp) {
    let ana = app.signup("ana@example.com").await;
    let (status, me) = ana.get("/api/auth/me").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["email"], "ana@example.com");
    assert_eq!(me["user"]["is_platform_admin"], true);
    assert_eq!(me["role"], "owner");
    assert!(
        me["user"].get("password_hash").is_none(),
        "the hash never leaves the server"
    );
    assert_eq!(
        me["csrf_token"].as_str(),
        ana.cookie("docent_csrf").as_deref()
    );

    let bob = app.signup("bob@example.com").await;
    let (_, me) = bob.get("/api/auth/me").await;
    assert_eq!(me["user"]["is_platform_admin"], false);
    assert_ne!(me["organization"]["id"], json!(null));
}

async fn bad_signups_get_field_errors(app: TestApp) {
    app.signup("taken@example.com").await;
    let anon = app.anonymous();
    let cases = [
        (
            json!({"email": "not-an-email", "password": "correct horse battery"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("email"),
        ),
        (
            json!({"email": "a@example.com", "password": "short"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("password"),
        ),
        (
            json!({"email": "TAKEN@example.com", "password": "correct horse battery"}),
            StatusCode::CONFLICT,
            "email_taken",
            None,
        ),
        (
            json!({"email": 42, "password": "correct horse battery"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            None,
        ),
        (
            json!({"password": "correct horse battery"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            None,
        ),
        (
            json!({"email": "x@example.com", "password": "correct horse battery", "admin": true}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            None,
        ),
    ];
    for (body, status, expected, field) in cases {
        let (got, answer) = anon
            .json(Method::POST, "/api/auth/signup", body.clone())
            .await;
        assert_eq!(got, status, "{body} → {answer}");
        assert_eq!(code(&answer), expected, "{body} → {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        if let Some(field) = field {
            assert_eq!(answer["error"]["fields"][0]["field"], field, "{answer}");
        }
    }
    let raw = anon
        .request(Method::POST, "/api/auth/signup")
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .expect("send");
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
}

async fn login_checks_passwords_and_logout_ends_the_session(app: TestApp) {
    app.signup("ana@example.com").await;
    let anon = app.anonymous();
    let (status, body) = anon
        .json(
            Method::POST,
            "/api/auth/login",
            json!({"email": "ana@example.com", "password": "wrong password!"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    let (status, body) = anon
        .json(
            Method::POST,
            "/api/auth/login",
            json!({"email": "nobody@example.com", "password": "wrong password!"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_credentials"),
        "unknown emails look the same"
    );
    let (status, body) = anon
        .json(
            Method::POST,
            "/api/auth/login",
            json!({"email": " ANA@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["role"], "owner");
    let (status, _) = anon.get("/api/auth/me").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = anon.call(Method::POST, "/api/auth/logout").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = anon.get("/api/auth/me").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "not_authenticated")
    );
}

#[tokio::test]
async fn session_cookies_are_http_only_and_secure_behind_https() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.public_url = Some("https://docent.example".into())
    })
    .await
    .expect("app");
    let anon = app.anonymous();
    let csrf = anon.csrf().await;
    let response = anon
        .request(Method::POST, "/api/auth/signup")
        .header("x-csrf-token", csrf)
        .json(&json!({"email": "ana@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .expect("send");
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("docent_session="))
        .expect("session cookie")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Secure"),
        "{cookie}"
    );
    assert!(response.headers().contains_key("strict-transport-security"));
}

#[tokio::test]
async fn unsafe_cookie_requests_need_the_csrf_token() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let ana = app.signup("ana@example.com").await;
    let no_header = ana
        .request(Method::POST, "/api/chat-spaces")
        .json(&json!({"name": "Support"}))
        .send()
        .await
        .expect("send");
    assert_eq!(no_header.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        no_header.json::<serde_json::Value>().await.expect("json")["error"]["code"],
        "csrf_failed"
    );
    let wrong = ana
        .request(Method::POST, "/api/chat-spaces")
        .header("x-csrf-token", "0".repeat(64))
        .json(&json!({"name": "Support"}))
        .send()
        .await
        .expect("send");
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    // A form post without the hidden field is refused even with no session (login CSRF).
    let anon = app.anonymous();
    anon.csrf().await;
    let form = anon
        .request(Method::POST, "/login")
        .form(&[
            ("email", "ana@example.com"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(form.status(), StatusCode::FORBIDDEN);
    let (status, _) = anon
        .form(
            "/login",
            &[
                ("email", "ana@example.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "with the field it logs in");
}

#[tokio::test]
async fn repeated_failures_are_throttled() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.login_max_failures_per_account = 3)
        .await
        .expect("app");
    app.signup("ana@example.com").await;
    let anon = app.anonymous();
    for _ in 0..3 {
        let (status, _) = anon
            .json(
                Method::POST,
                "/api/auth/login",
                json!({"email": "ana@example.com", "password": "wrong password!"}),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let csrf = anon.csrf().await;
    let response = anon
        .request(Method::POST, "/api/auth/login")
        .header("x-csrf-token", csrf)
        .json(&json!({"email": "ana@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .expect("send");
    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    assert!(response.headers().contains_key("retry-after"));
    let (status, _) = anon
        .json(
            Method::POST,
            "/api/auth/login",
            json!({"email": "other@example.com", "password": "wrong password!"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "other accounts are not blocked"
    );
}

async fn password_reset_works_once_and_ends_sessions(app: TestApp) {
    let ana = app.signup("ana@example.com").await;
    let anon = app.anonymous();
    let (status, _) = anon
        .json(
            Method::POST,
            "/api/auth/forgot-password",
            json!({"email": "ana@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) = anon
        .json(
            Method::POST,
            "/api/auth/forgot-password",
            json!({"email": "ghost@example.com"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "unknown emails get the same answer"
    );
    let outbox = app.state.store.list_outbox(10).await.expect("outbox");
    assert_eq!(outbox.len(), 1, "only the real account got mail");
    let body = &outbox[0].body;
    let token = body
        .split("token=")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .expect("link in the email");
    let (status, body) = anon
        .json(
            Method::POST,
            "/api/auth/reset-password",
            json!({"token": token, "password": "short"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (status, body) = anon
        .json(
            Method::POST,
            "/api/auth/reset-password",
            json!({"token": token, "password": "a brand new secret"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = anon
        .json(
            Method::POST,
            "/api/auth/reset-password",
            json!({"token": token, "password": "a brand new secret"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_token")
    );
    let (status, _) = ana.get("/api/auth/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "old sessions ended");
    let (status, _) = anon
        .json(
            Method::POST,
            "/api/auth/login",
            json!({"email": "ana@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = anon
        .json(
            Method::POST,
            "/api/auth/login",
            json!({"email": "ana@example.com", "password": "a brand new secret"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}
