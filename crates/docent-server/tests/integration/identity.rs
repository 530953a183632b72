//! Verified visitor identity: a site signs `visitor_id.expires` with the chat space's identity
//! secret; a good token makes the visitor verified on every widget route (their conversations
//! and leads marked, found again from another device), and a tampered, expired, malformed or
//! other chat space's token is refused with 401 `identity_invalid`, as is an anonymous visitor
//! where the chat space requires identity. Nobody can pass as a verified visitor by their id.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{TestApp, code};
use crate::on_both_backends;
use crate::widget::published;

on_both_backends!(settings = crate::common::unlimited_widget; signed_in_visitors_are_verified);

/// A widget request as the widget makes it, with an identity when given.
async fn widget(
    app: &TestApp,
    method: Method,
    path: &str,
    identity: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", app.base));
    if let Some(identity) = identity {
        request = request.header("x-docent-identity", identity);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("send");
    let status = response.status();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn token(secret: &str, visitor: &str, expires: i64) -> String {
    let signature = docent_app::identity::sign(secret, visitor, expires);
    format!("{visitor}.{expires}.{signature}")
}

async fn signed_in_visitors_are_verified(app: TestApp) {
    let (owner, space, slug) = published(&app, "identity@example.com", json!({})).await;
    let (status, made) = owner
        .call(
            Method::POST,
            &format!("/api/chat-spaces/{space}/identity/rotate-secret"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let secret = made["secret"].as_str().expect("secret").to_owned();
    let (_, shown) = owner
        .get(&format!("/api/chat-spaces/{space}/identity"))
        .await;
    assert_eq!(shown["has_secret"], true);
    assert!(
        !shown.to_string().contains(&secret),
        "the secret is shown once"
    );
    let later = chrono::Utc::now().timestamp() + 600;
    let good = token(&secret, "user.42@shop", later);
    let chat = format!("/api/widget/{slug}/chat");
    let ask =
        |visitor: &str| json!({"message": "How long do refunds take?", "visitor_id": visitor});

    // Verified: the conversation is kept under the site's id.
    let (status, answered) = widget(
        &app,
        Method::POST,
        &chat,
        Some(&good),
        Some(ask("device-one-0001")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answered}");
    let conversation = answered["conversation_id"].as_str().expect("id").to_owned();
    let (_, c) = owner
        .get(&format!("/api/conversations/{conversation}"))
        .await;
    assert_eq!(c["visitor_id"], "v:user.42@shop", "{c}");

    // Refused: tampered, expired, malformed, another chat space's.
    let mut tampered = good.clone();
    let last = tampered.pop().expect("a character");
    tampered.push(if last == '0' { '1' } else { '0' });
    let expired = token(&secret, "user.42@shop", chrono::Utc::now().timestamp() - 1);
    let (other, other_space, _) = published(&app, "other@example.com", json!({})).await;
    let (_, other_secret) = other
        .call(
            Method::POST,
            &format!("/api/chat-spaces/{other_space}/identity/rotate-secret"),
        )
        .await;
    let foreign = token(
        other_secret["secret"].as_str().expect("secret"),
        "user.42@shop",
        later,
    );
    let other_id = token(&secret, "user.43@shop", later).replace("user.43@shop", "user.42@shop");
    for bad in [
        tampered.as_str(),
        &expired,
        &foreign,
        &other_id,
        "user.42@shop",
        "a.b.c",
    ] {
        let (status, refused) = widget(
            &app,
            Method::POST,
            &chat,
            Some(bad),
            Some(ask("device-one-0001")),
        )
        .await;
        assert_eq!(
            (status, code(&refused)),
            (StatusCode::UNAUTHORIZED, "identity_invalid"),
            "{bad}: {refused}"
        );
    }

    // Nobody passes as them by their id: not as a visitor id, not on their conversation.
    let (status, _) = widget(&app, Method::POST, &chat, None, Some(ask("v:user.42@shop"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let history =
        format!("/api/widget/{slug}/conversation/{conversation}?visitor_id=device-one-0001");
    let (status, _) = widget(&app, Method::GET, &history, None, None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an anonymous caller does not see it"
    );
    let (status, theirs) = widget(&app, Method::GET, &history, Some(&good), None).await;
    assert_eq!(status, StatusCode::OK, "{theirs}");

    // Another device (another widget id, the same signed-in visitor) finds the conversation,
    // with the identity in the query string as an EventSource sends it.
    let (status, listed) = widget(
        &app,
        Method::GET,
        &format!("/api/widget/{slug}/conversations?visitor_id=device-two-0002"),
        Some(&good),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["data"][0]["conversation_id"], conversation.as_str());
    let (status, anonymous) = widget(
        &app,
        Method::GET,
        &format!("/api/widget/{slug}/conversations?visitor_id=device-two-0002"),
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, anonymous["data"].clone()),
        (StatusCode::OK, json!([]))
    );
    let identity: String = form_urlencoded::byte_serialize(good.as_bytes()).collect();
    let (status, _) = widget(
        &app,
        Method::GET,
        &format!("/api/widget/{slug}/conversation/{conversation}?visitor_id=device-two-0002&identity={identity}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Their lead says verified.
    let (status, _) = owner
        .patch(
            &format!("/api/chat-spaces/{space}"),
            json!({"widget_config": {"lead_form": {"enabled": true}}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, lead) = widget(
        &app,
        Method::POST,
        &format!("/api/widget/{slug}/lead"),
        Some(&good),
        Some(json!({"visitor_id": "device-two-0002", "fields": {"name": "Ana", "email": "ana@example.com"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{lead}");
    let (_, leads) = owner.get(&format!("/api/chat-spaces/{space}/leads")).await;
    assert_eq!(
        (
            leads["data"][0]["verified"].clone(),
            leads["data"][0]["visitor_id"].clone()
        ),
        (json!(true), json!("v:user.42@shop"))
    );

    // Required: anonymous visitors are refused, the widget's settings still load.
    let (status, _) = owner
        .patch(
            &format!("/api/chat-spaces/{space}"),
            json!({"widget_config": {"identity_required": true}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, refused) = widget(
        &app,
        Method::POST,
        &chat,
        None,
        Some(ask("device-three-03")),
    )
    .await;
    assert_eq!(
        (status, code(&refused)),
        (StatusCode::UNAUTHORIZED, "identity_invalid"),
        "{refused}"
    );
    let (status, config) = widget(
        &app,
        Method::GET,
        &format!("/api/widget/{slug}/config"),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(config["widget"]["identity_required"], true);
    let (status, _) = widget(
        &app,
        Method::POST,
        &chat,
        Some(&good),
        Some(ask("device-three-03")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // An owner erases the signed-in visitor by the id conversations show: their conversations
    // and their lead go.
    let (status, erased) = owner
        .call(
            Method::DELETE,
            &format!("/api/chat-spaces/{space}/visitors/v:user.42@shop"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{erased}");
    assert!(
        erased["conversations"].as_u64().unwrap_or(0) >= 2,
        "{erased}"
    );
    let (_, leads) = owner.get(&format!("/api/chat-spaces/{space}/leads")).await;
    assert_eq!(leads["data"], json!([]));

    // Rotated: the old secret still verifies for a day, the new one at once.
    let (_, rotated) = owner
        .call(
            Method::POST,
            &format!("/api/chat-spaces/{space}/identity/rotate-secret"),
        )
        .await;
    let new_secret = rotated["secret"].as_str().expect("secret");
    assert!(
        rotated["previous_secret_expires_at"].is_string(),
        "{rotated}"
    );
    for identity in [good.clone(), token(new_secret, "user.42@shop", later)] {
        let (status, body) = widget(
            &app,
            Method::POST,
            &chat,
            Some(&identity),
            Some(ask("device-one-0001")),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    // Forgotten from the widget: their conversations, wherever they were made.
    let (status, erased) = widget(
        &app,
        Method::DELETE,
        &format!("/api/widget/{slug}/visitor"),
        Some(&good),
        Some(json!({"visitor_id": "device-four-0004"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{erased}");
    assert!(
        erased["conversations"].as_u64().unwrap_or(0) >= 2,
        "{erased}"
    );
    assert_eq!(
        app.tables_mentioning("v:user.42@shop").await,
        Vec::<String>::new()
    );
}
