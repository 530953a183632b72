//! Sign-up, log-in, sessions, CSRF, throttling and password resets.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{Backend, Session, TestApp, code};
use crate::on_both_backends;

on_both_backends!(
    signup_logs_in_and_first_user_is_admin,
    bad_signups_get_field_errors,
    login_checks_passwords_and_logout_ends_the_session,
    password_reset_works_once_and_ends_sessions,
    an_older_reset_link_dies_when_a_newer_one_is_sent,
    a_planted_csrf_cookie_cannot_forge_a_post
);

async fn a_planted_csrf_cookie_cannot_forge_a_post(app: TestApp) {
    let ana = app.signup("ana@example.com").await;
    let own = ana.csrf().await;
    let planted = "a".repeat(64);
    ana.plant_cookie("docent_csrf", &planted);
    let form = ana
        .request(Method::POST, "/app/chat-spaces")
        .form(&[("csrf_token", planted.as_str()), ("name", "Forged by form")])
        .send()
        .await
        .expect("send");
    assert_eq!(
        form.status(),
        StatusCode::FORBIDDEN,
        "a form echoing a planted cookie"
    );
    ana.plant_cookie("docent_csrf", &planted);
    let response = ana
        .request(Method::POST, "/api/chat-spaces")
        .header("x-csrf-token", &planted)
        .json(&json!({"name": "Forged by script"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(code(&body), "csrf_failed");
    // The session's own token still works, and the server put it back in the cookie.
    assert_eq!(ana.cookie("docent_csrf").as_deref(), Some(own.as_str()));
    let (status, body) = ana.post("/api/chat-spaces", json!({"name": "Mine"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, list) = ana.get("/api/chat-spaces").await;
    let names: Vec<&str> = list["data"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["Mine"]);
    // Another session's token is not this one's.
    let ben = app.signup("ben@example.com").await;
    assert_ne!(ben.csrf().await, own);
}

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
        let (got, answer) = anon.post("/api/auth/signup", body.clone()).await;
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
        .post(
            "/api/auth/login",
            json!({"email": "ana@example.com", "password": "wrong password!"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    let (status, body) = anon
        .post(
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
        .post(
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

/// POSTs `body` to `path` from `address` (the app trusts X-Forwarded-For); the status.
async fn post_from(
    anon: &Session,
    address: &str,
    path: &str,
    body: serde_json::Value,
) -> StatusCode {
    let csrf = anon.csrf().await;
    anon.request(Method::POST, path)
        .header("x-csrf-token", csrf)
        .header("x-forwarded-for", address)
        .json(&body)
        .send()
        .await
        .expect("send")
        .status()
}

async fn login_from(anon: &Session, address: &str, email: &str, password: &str) -> StatusCode {
    post_from(
        anon,
        address,
        "/api/auth/login",
        json!({"email": email, "password": password}),
    )
    .await
}

const RIGHT: &str = "correct horse battery";
const WRONG: &str = "wrong password!";

#[tokio::test]
async fn wrong_passwords_from_elsewhere_never_lock_the_owner_out() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.login_max_failures_per_account = 3;
        s.login_max_failures_per_ip = 30;
        s.trust_proxy = true;
    })
    .await
    .expect("app");
    app.signup("ana@example.com").await;
    let anon = app.anonymous();
    let ana = "ana@example.com";
    for _ in 0..3 {
        assert_eq!(
            login_from(&anon, "203.0.113.7", ana, WRONG).await,
            StatusCode::UNAUTHORIZED
        );
    }
    let csrf = anon.csrf().await;
    let response = anon
        .request(Method::POST, "/api/auth/login")
        .header("x-csrf-token", csrf)
        .header("x-forwarded-for", "203.0.113.7")
        .json(&json!({"email": ana, "password": RIGHT}))
        .send()
        .await
        .expect("send");
    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the failing address waits, even with the right password"
    );
    let wait: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds");
    assert!(
        (800..=900).contains(&wait),
        "until the first failure leaves the 15-minute window: {wait} s"
    );
    assert_eq!(
        login_from(&anon, "198.51.100.20", ana, RIGHT).await,
        StatusCode::OK,
        "the owner, elsewhere, logs in"
    );
    assert_eq!(
        login_from(&anon, "203.0.113.7", "other@example.com", WRONG).await,
        StatusCode::UNAUTHORIZED,
        "other accounts from the failing address are not blocked"
    );

    // IPv6 counts by /64: three addresses of one block are one network.
    for host in ["1", "2", "3"] {
        let address = format!("2001:db8:aa:bb::{host}");
        assert_eq!(
            login_from(&anon, &address, ana, WRONG).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login_from(&anon, "2001:db8:aa:bb::99", ana, RIGHT).await,
        StatusCode::TOO_MANY_REQUESTS,
        "a new address in the same /64 is the same network"
    );

    // A spray from many networks slows the account down for the networks that failed, never
    // for one that did not.
    for n in 0..30 {
        login_from(&anon, &format!("192.0.2.{n}"), ana, WRONG).await;
    }
    assert_eq!(
        login_from(&anon, "192.0.2.5", ana, RIGHT).await,
        StatusCode::TOO_MANY_REQUESTS,
        "a network that failed waits for the account-wide back-off"
    );
    assert_eq!(
        login_from(&anon, "198.51.100.77", ana, RIGHT).await,
        StatusCode::OK,
        "a network that never failed is not blocked"
    );

    // One network failing on many accounts is throttled as a network.
    for n in 0..30 {
        login_from(&anon, "100.64.0.1", &format!("guess{n}@example.com"), WRONG).await;
    }
    assert_eq!(
        login_from(&anon, "100.64.0.1", "fresh@example.com", WRONG).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// Behind a load balancer every replica counts the same failures: wrong passwords sent to
/// one replica block the pair on the other, and a reset through the other clears them for both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_throttling_holds_across_replicas() {
    let Some((a, b)) = TestApp::spawn_replicas_with(|s| {
        s.login_max_failures_per_account = 3;
        s.login_max_failures_per_ip = 30;
        s.trust_proxy = true;
    })
    .await
    else {
        eprintln!("skipped: no PostgreSQL (set DOCENT_TEST_DATABASE_URL)");
        return;
    };
    let ana = "ana@example.com";
    a.signup(ana).await;
    let (on_a, on_b) = (a.anonymous(), b.anonymous());
    for _ in 0..2 {
        assert_eq!(
            login_from(&on_a, "203.0.113.7", ana, WRONG).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login_from(&on_b, "203.0.113.7", ana, WRONG).await,
        StatusCode::UNAUTHORIZED,
        "the third failure, on the other replica"
    );
    for (replica, name) in [(&on_a, "a"), (&on_b, "b")] {
        assert_eq!(
            login_from(replica, "203.0.113.7", ana, RIGHT).await,
            StatusCode::TOO_MANY_REQUESTS,
            "replica {name} counts the three failures of both"
        );
    }
    assert_eq!(
        login_from(&on_b, "198.51.100.20", ana, RIGHT).await,
        StatusCode::OK,
        "the owner, elsewhere, logs in"
    );

    // A reset on replica b: the owner has proved who they are, on every replica.
    assert_eq!(
        forgot_from(&on_b, "198.51.100.20", ana).await,
        StatusCode::ACCEPTED
    );
    let token = reset_tokens(&b).await.pop().expect("a reset link");
    let (status, body) = reset_with(&on_b, &token, "a brand new secret").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        login_from(&on_a, "203.0.113.7", ana, "a brand new secret").await,
        StatusCode::OK,
        "the failing address may try again on replica a"
    );
}

/// The reset tokens in the outbox, oldest first.
async fn reset_tokens(app: &TestApp) -> Vec<String> {
    let mut outbox = app.state.store.list_outbox(100).await.expect("outbox");
    outbox.sort_by_key(|m| (m.created_at, m.id));
    outbox
        .iter()
        .filter_map(|m| {
            m.body
                .split("token=")
                .nth(1)
                .and_then(|t| t.split_whitespace().next())
                .map(str::to_owned)
        })
        .collect()
}

/// Sets a new password with a reset link's token.
async fn reset_with(
    session: &Session,
    token: &str,
    password: &str,
) -> (StatusCode, serde_json::Value) {
    session
        .post(
            "/api/auth/reset-password",
            json!({"token": token, "password": password}),
        )
        .await
}

async fn forgot_from(anon: &Session, address: &str, email: &str) -> StatusCode {
    post_from(
        anon,
        address,
        "/api/auth/forgot-password",
        json!({"email": email}),
    )
    .await
}

async fn an_older_reset_link_dies_when_a_newer_one_is_sent(app: TestApp) {
    app.signup("ana@example.com").await;
    let anon = app.anonymous();
    for _ in 0..2 {
        let (status, _) = anon
            .post(
                "/api/auth/forgot-password",
                json!({"email": "ana@example.com"}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    let tokens = reset_tokens(&app).await;
    assert_eq!(tokens.len(), 2);
    let (status, body) = reset_with(&anon, &tokens[0], "a brand new secret").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_token"),
        "the older link was revoked"
    );
    let (status, body) = reset_with(&anon, &tokens[1], "a brand new secret").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = reset_with(&anon, &tokens[0], "a brand new secret").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn asking_for_reset_links_is_throttled_per_address_and_per_account() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.login_max_failures_per_account = 3;
        s.trust_proxy = true;
    })
    .await
    .expect("app");
    app.signup("ana@example.com").await;
    let anon = app.anonymous();
    for _ in 0..3 {
        assert_eq!(
            forgot_from(&anon, "203.0.113.7", "ana@example.com").await,
            StatusCode::ACCEPTED
        );
    }
    assert_eq!(
        forgot_from(&anon, "203.0.113.7", "ana@example.com").await,
        StatusCode::TOO_MANY_REQUESTS,
        "one address asks for one account a few times at most"
    );
    assert_eq!(
        forgot_from(&anon, "203.0.113.7", "ghost@example.com").await,
        StatusCode::ACCEPTED,
        "unknown accounts answer as known ones do"
    );
    for _ in 0..3 {
        forgot_from(&anon, "203.0.113.8", "ghost@example.com").await;
    }
    assert_eq!(
        forgot_from(&anon, "203.0.113.8", "ghost@example.com").await,
        StatusCode::TOO_MANY_REQUESTS,
        "and are throttled alike"
    );
    // From many addresses: every answer is the same, but the account gets ten links at most,
    // and the last one it got still works.
    for n in 0..20 {
        assert_eq!(
            forgot_from(&anon, &format!("192.0.2.{n}"), "ana@example.com").await,
            StatusCode::ACCEPTED
        );
    }
    let tokens = reset_tokens(&app).await;
    assert_eq!(tokens.len(), 10, "the account's mail is capped");
    let (status, body) = reset_with(&anon, &tokens[9], "a brand new secret").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn password_reset_works_once_and_ends_sessions(app: TestApp) {
    let ana = app.signup("ana@example.com").await;
    let anon = app.anonymous();
    let (status, _) = anon
        .post(
            "/api/auth/forgot-password",
            json!({"email": "ana@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) = anon
        .post(
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
    let (status, body) = reset_with(&anon, token, "short").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (status, body) = reset_with(&anon, token, "a brand new secret").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = reset_with(&anon, token, "a brand new secret").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_token")
    );
    let (status, _) = ana.get("/api/auth/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "old sessions ended");
    let (status, _) = anon
        .post(
            "/api/auth/login",
            json!({"email": "ana@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = anon
        .post(
            "/api/auth/login",
            json!({"email": "ana@example.com", "password": "a brand new secret"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}
