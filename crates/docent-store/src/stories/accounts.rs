//! Conformance stories of users, sessions, password resets and the outbox.

use chrono::{Duration, Utc};
use docent_core::*;

use super::*;
use crate::{Store, StoreError};

pub async fn signup_creates_owner_and_first_admin(store: &impl Store) {
    let (a, org_a, b, org_b) = two_orgs(store).await;
    assert!(a.is_platform_admin, "the first user becomes platform admin");
    assert!(!b.is_platform_admin, "later users do not");
    assert_eq!(
        store.find_role(org_a.id, a.id).await.expect("role"),
        Some(Role::Owner)
    );
    assert_eq!(store.find_role(org_b.id, a.id).await.expect("role"), None);
    let found = store
        .find_user_by_email(" A@Example.com ")
        .await
        .expect("find")
        .expect("user a");
    assert_eq!(found.id, a.id);
    assert_eq!(found.password_hash.as_deref(), Some("hash"));
    assert_eq!(
        store
            .find_user_by_id(b.id)
            .await
            .expect("find")
            .map(|u| u.email),
        Some("b@example.com".to_owned())
    );
    let orgs = store.memberships_of_user(a.id).await.expect("memberships");
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0].organization.id, org_a.id);
    assert_eq!(orgs[0].role, Role::Owner);
    assert_eq!(orgs[0].organization.plan, Plan::Free);

    let explicit = store
        .create_user(NewUser {
            is_platform_admin: Some(true),
            ..new_user("c@example.com")
        })
        .await
        .expect("create");
    assert!(explicit.is_platform_admin);
    assert!(
        store
            .set_platform_admin(explicit.id, false)
            .await
            .expect("set")
    );
    assert!(
        !store
            .find_user_by_id(explicit.id)
            .await
            .expect("find")
            .expect("c")
            .is_platform_admin
    );
    assert!(
        store
            .set_user_password(explicit.id, "new")
            .await
            .expect("pw")
    );
    store
        .record_login(explicit.id, Utc::now())
        .await
        .expect("login");
    let c = store
        .find_user_by_id(explicit.id)
        .await
        .expect("find")
        .expect("c");
    assert_eq!(c.password_hash.as_deref(), Some("new"));
    assert!(c.last_login_at.is_some());
}

pub async fn emails_are_unique_ignoring_case(store: &impl Store) {
    store
        .signup(new_user("dup@example.com"), new_org("dup-1"))
        .await
        .expect("first");
    let err = store
        .signup(new_user("DUP@example.com"), new_org("dup-2"))
        .await
        .expect_err("duplicate email");
    assert!(
        matches!(err, StoreError::Conflict { field: "email" }),
        "{err:?}"
    );
    // The failed signup left no organization behind.
    let orgs = store
        .list_organizations(Page::first(10))
        .await
        .expect("list");
    assert_eq!(orgs.len(), 1);
}

pub async fn sessions_expire_and_end(store: &impl Store) {
    let (a, org_a, _, org_b) = two_orgs(store).await;
    let now = Utc::now();
    let session = store
        .create_session(NewSession {
            user_id: a.id,
            token_hash: "live".into(),
            active_org_id: Some(org_a.id),
            expires_at: now + Duration::days(1),
            ip: Some("127.0.0.1".into()),
            user_agent: None,
        })
        .await
        .expect("session");
    store
        .create_session(NewSession {
            user_id: a.id,
            token_hash: "old".into(),
            active_org_id: None,
            expires_at: now - Duration::seconds(1),
            ip: None,
            user_agent: None,
        })
        .await
        .expect("expired session");
    let found = store
        .find_session("live", now)
        .await
        .expect("find")
        .expect("live");
    assert_eq!(found.id, session.id);
    assert_eq!(found.active_org_id, Some(org_a.id));
    assert!(
        store
            .find_session("old", now)
            .await
            .expect("find")
            .is_none()
    );
    assert!(
        store
            .find_session("nope", now)
            .await
            .expect("find")
            .is_none()
    );
    store
        .set_session_org(session.id, org_b.id)
        .await
        .expect("switch");
    let found = store
        .find_session("live", now)
        .await
        .expect("find")
        .expect("live");
    assert_eq!(found.active_org_id, Some(org_b.id));
    store.delete_session("live").await.expect("delete");
    assert!(
        store
            .find_session("live", now)
            .await
            .expect("find")
            .is_none()
    );
}

pub async fn password_resets_are_single_use(store: &impl Store) {
    let (a, _, b, _) = two_orgs(store).await;
    let now = Utc::now();
    let hour = now + Duration::hours(1);
    let use_it = |token: &'static str| async move {
        store.consume_password_reset(token, now).await.expect("use")
    };
    store
        .create_password_reset(a.id, "t1", hour)
        .await
        .expect("reset");
    assert_eq!(use_it("t1").await, Some(a.id));
    assert_eq!(use_it("t1").await, None, "used once");
    store
        .create_password_reset(a.id, "t2", now - Duration::seconds(1))
        .await
        .expect("expired reset");
    assert_eq!(use_it("t2").await, None, "expired");
    assert_eq!(use_it("zz").await, None, "unknown");

    // Issuing a link revokes the account's older ones, and only the account's.
    store
        .create_password_reset(b.id, "b1", hour)
        .await
        .expect("b");
    store
        .create_password_reset(a.id, "t3", hour)
        .await
        .expect("t3");
    store
        .create_password_reset(a.id, "t4", hour)
        .await
        .expect("t4");
    assert_eq!(use_it("t3").await, None, "revoked by the newer link");
    assert_eq!(use_it("t4").await, Some(a.id));
    assert_eq!(use_it("b1").await, Some(b.id), "another account's link");
}

pub async fn throttle_failures_are_counted_cleared_and_pruned(store: &impl Store) {
    let now = Utc::now();
    let window = now - Duration::minutes(15);
    let since = |key: &'static str| async move {
        store.throttle_failures(key, window).await.expect("count")
    };
    let old = now - Duration::minutes(20);
    store
        .record_throttle_failure(&["login:a@x|net1", "login:a@x"], old)
        .await
        .expect("old");
    for minutes in [3, 1] {
        store
            .record_throttle_failure(
                &["login:a@x|net1", "login-network:net1", "login:a@x"],
                now - Duration::minutes(minutes),
            )
            .await
            .expect("record");
    }
    store
        .record_throttle_failure(&["login:a@x|net2", "login:b@x|net1"], now)
        .await
        .expect("record");
    let pair = since("login:a@x|net1").await;
    assert_eq!(pair.len(), 2, "the window's failures only: {pair:?}");
    assert!(pair[0] < pair[1], "oldest first");
    assert!(
        (pair[0] - (now - Duration::minutes(3)))
            .num_milliseconds()
            .abs()
            < 1
    );
    assert_eq!(since("login:a@x").await.len(), 2);
    assert_eq!(since("login:c@x").await.len(), 0);

    // A key, and every key under a prefix; keys that only look alike stay.
    store
        .clear_throttle("login:a@x", Some("login:a@x|"))
        .await
        .expect("clear");
    assert_eq!(since("login:a@x").await.len(), 0);
    assert_eq!(since("login:a@x|net1").await.len(), 0);
    assert_eq!(since("login:a@x|net2").await.len(), 0);
    assert_eq!(since("login-network:net1").await.len(), 2);
    assert_eq!(since("login:b@x|net1").await.len(), 1);
    store
        .clear_throttle("login-network:net1", None)
        .await
        .expect("clear one");
    assert_eq!(since("login-network:net1").await.len(), 0);
    assert_eq!(since("login:b@x|net1").await.len(), 1);

    store
        .record_throttle_failure(&["login:d@x"], old)
        .await
        .expect("old");
    assert_eq!(store.prune_throttle(window).await.expect("prune"), 1);
    assert_eq!(since("login:b@x|net1").await.len(), 1, "recent ones stay");
}

pub async fn outbox_keeps_messages_newest_first(store: &impl Store) {
    store
        .push_outbox("a@example.com", "first", "body 1")
        .await
        .expect("push");
    store
        .push_outbox("b@example.com", "second", "body 2")
        .await
        .expect("push");
    let mail = store.list_outbox(10).await.expect("list");
    assert_eq!(
        mail.iter().map(|m| m.subject.as_str()).collect::<Vec<_>>(),
        vec!["second", "first"]
    );
    assert_eq!(store.list_outbox(1).await.expect("list").len(), 1);
}
