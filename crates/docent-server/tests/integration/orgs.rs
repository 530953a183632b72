//! Organizations, invitations, roles.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{TestApp, code};
use crate::on_both_backends;

on_both_backends!(
    invited_members_get_their_role,
    owners_stay_and_members_leave,
    organizations_are_created_and_switched
);

async fn invited_members_get_their_role(app: TestApp) {
    let ana = app.signup("ana@example.com").await;
    let (status, invite) = ana
        .post(
            "/api/organization/invitations",
            json!({"email": "Vic@Example.com", "role": "viewer"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invite}");
    let link = invite["accept_url"].as_str().expect("link").to_owned();
    let token = link.split("token=").nth(1).expect("token").to_owned();
    let (_, pending) = ana.get("/api/organization/invitations").await;
    assert_eq!(pending.as_array().expect("list").len(), 1);
    let outbox = app.state.store.list_outbox(5).await.expect("outbox");
    assert!(outbox[0].body.contains(&link) && outbox[0].to_email == "vic@example.com");

    let eve = app.signup("eve@example.com").await;
    let (status, answer) = eve
        .post("/api/invitations/accept", json!({"token": token}))
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::FORBIDDEN, "invitation_email_mismatch")
    );

    let vic = app.signup("vic@example.com").await;
    let (status, org) = vic
        .post("/api/invitations/accept", json!({"token": token}))
        .await;
    assert_eq!(status, StatusCode::OK, "{org}");
    let (status, answer) = vic
        .post("/api/invitations/accept", json!({"token": token}))
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::BAD_REQUEST, "invalid_token"),
        "an invitation works once"
    );
    let (_, me) = vic.get("/api/auth/me").await;
    assert_eq!(me["role"], "viewer");
    assert_eq!(me["organizations"].as_array().expect("orgs").len(), 2);

    // A viewer reads but changes nothing.
    let (_, space) = ana
        .post("/api/chat-spaces", json!({"name": "Shared"}))
        .await;
    let id = space["id"].as_str().expect("id");
    let (status, _) = vic.get(&format!("/api/chat-spaces/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    for (method, path, body) in [
        (
            Method::POST,
            "/api/chat-spaces".to_owned(),
            json!({"name": "Mine"}),
        ),
        (
            Method::PATCH,
            format!("/api/chat-spaces/{id}"),
            json!({"name": "Renamed"}),
        ),
        (
            Method::DELETE,
            format!("/api/chat-spaces/{id}"),
            json!(null),
        ),
        (
            Method::POST,
            format!("/api/chat-spaces/{id}/publish"),
            json!(null),
        ),
        (
            Method::POST,
            "/api/api-keys".to_owned(),
            json!({"name": "k"}),
        ),
        (
            Method::POST,
            "/api/organization/invitations".to_owned(),
            json!({"email": "x@example.com", "role": "viewer"}),
        ),
        (Method::DELETE, "/api/organization".to_owned(), json!(null)),
    ] {
        let (status, answer) = vic.json(method.clone(), &path, body).await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{method} {path}"
        );
    }

    let vic_id = me["user"]["id"].as_str().expect("id").to_owned();
    let (status, member) = ana
        .patch(
            &format!("/api/organization/members/{vic_id}"),
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(
        (status, &member["role"]),
        (StatusCode::OK, &json!("admin")),
        "{member}"
    );
    let (status, answer) = vic
        .patch(
            &format!("/api/organization/members/{vic_id}"),
            json!({"role": "owner"}),
        )
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "admins cannot make owners"
    );
    let (status, _) = vic
        .patch(
            &format!("/api/chat-spaces/{id}"),
            json!({"name": "Renamed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "admins manage chat spaces");
}

async fn owners_stay_and_members_leave(app: TestApp) {
    let ana = app.signup("ana@example.com").await;
    let (_, me) = ana.get("/api/auth/me").await;
    let ana_id = me["user"]["id"].as_str().expect("id").to_owned();
    let (status, answer) = ana
        .patch(
            &format!("/api/organization/members/{ana_id}"),
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::CONFLICT, "last_owner")
    );
    let (status, answer) = ana
        .call(
            Method::DELETE,
            &format!("/api/organization/members/{ana_id}"),
        )
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::CONFLICT, "last_owner")
    );

    let bo = app.invite_and_join(&ana, "bo@example.com", "agent").await;
    let (_, bo_me) = bo.get("/api/auth/me").await;
    let bo_id = bo_me["user"]["id"].as_str().expect("id").to_owned();
    let (status, answer) = bo
        .call(
            Method::DELETE,
            &format!("/api/organization/members/{ana_id}"),
        )
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let (status, _) = bo
        .call(
            Method::DELETE,
            &format!("/api/organization/members/{bo_id}"),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "anyone may leave");
    let (_, members) = ana.get("/api/organization/members").await;
    assert_eq!(members.as_array().expect("members").len(), 1);

    let (_, again) = ana
        .post(
            "/api/organization/invitations",
            json!({"email": "cy@example.com", "role": "viewer"}),
        )
        .await;
    let (status, _) = ana
        .call(
            Method::DELETE,
            &format!(
                "/api/organization/invitations/{}",
                again["id"].as_str().expect("id")
            ),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, pending) = ana.get("/api/organization/invitations").await;
    assert_eq!(pending, json!([]));
    let (status, answer) = ana
        .post(
            "/api/organization/invitations",
            json!({"email": "ana@example.com", "role": "viewer"}),
        )
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        "members are not invited twice"
    );
}

async fn organizations_are_created_and_switched(app: TestApp) {
    let ana = app.signup("ana@example.com").await;
    let (_, first) = ana.get("/api/organization").await;
    let (status, second) = ana
        .post("/api/organizations", json!({"name": "Side project"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let (_, now) = ana.get("/api/organization").await;
    assert_eq!(
        now["organization"]["id"], second["id"],
        "the new organization becomes active"
    );
    let (status, _) = ana
        .post(
            "/api/organizations/switch",
            json!({"org_id": first["organization"]["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, back) = ana.get("/api/organization").await;
    assert_eq!(back["organization"]["id"], first["organization"]["id"]);
    let (_, orgs) = ana.get("/api/organizations").await;
    assert_eq!(orgs.as_array().expect("orgs").len(), 2);

    let bob = app.signup("bob@example.com").await;
    let (status, answer) = bob
        .post(
            "/api/organizations/switch",
            json!({"org_id": first["organization"]["id"]}),
        )
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::NOT_FOUND, "not_found"),
        "no switching into others' organizations"
    );

    let (status, _) = ana.call(Method::DELETE, "/api/organization").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, orgs) = ana.get("/api/organizations").await;
    assert_eq!(orgs.as_array().expect("orgs").len(), 1);
    let (status, now) = ana.get("/api/organization").await;
    assert_eq!(
        (status, &now["organization"]["id"]),
        (StatusCode::OK, &second["id"]),
        "falls back to a remaining organization"
    );
}
