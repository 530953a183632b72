//! Conformance stories: what every backend must do, written once and run against SQLite and
//! PostgreSQL by [`conformance_tests!`](crate::conformance_tests). Each story gets a fresh,
//! migrated, empty store.

use chrono::{Duration, Utc};
use docent_core::*;
use serde_json::json;

use crate::{MessageQuota, Store, StoreError};

/// Generates one `#[tokio::test]` per story; `$fresh` is an async expression yielding a new
/// empty store (`impl Store`), or `None` to skip (a backend that is not available here).
#[macro_export]
macro_rules! conformance_tests {
    ($fresh:expr) => {
        $crate::conformance_tests!(@each $fresh;
            signup_creates_owner_and_first_admin,
            emails_are_unique_ignoring_case,
            sessions_expire_and_end,
            password_resets_are_single_use,
            chat_spaces_belong_to_their_organization,
            chat_space_slugs_are_unique,
            chat_spaces_page_newest_first,
            chat_space_patches_change_only_what_they_name,
            publishing_sets_published_at,
            api_keys_are_found_by_hash_until_revoked,
            invitations_add_members_once,
            members_change_roles_and_leave,
            deleting_an_organization_removes_its_data,
            documents_are_counted_per_chat_space,
            plan_limits_hold_under_parallel_inserts,
            outbox_keeps_messages_newest_first,
            documents_keep_their_chunks_searchable,
            search_stays_inside_the_chat_space,
            the_search_index_follows_every_change,
            jobs_are_claimed_once_and_retried,
            expired_leases_pass_to_another_worker,
            jobs_of_no_document_are_scheduled_and_keyed_once,
            nearest_chunks_are_found_by_embedding,
            site_pages_go_with_their_site,
            conversations_keep_messages_and_count_usage,
            conversations_belong_to_their_organization,
            knowledge_gaps_are_kept_per_chat_space,
            visitors_rate_answers_and_conversations_close,
        );
    };
    (@each $fresh:expr; $($story:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $story() {
            let Some(store) = $fresh.await else {
                eprintln!("skipped: backend not available");
                return;
            };
            $crate::stories::$story(&store).await;
        }
    )*};
}

fn new_user(email: &str) -> NewUser {
    NewUser {
        email: email.to_owned(),
        name: "Ana".to_owned(),
        password_hash: Some("hash".to_owned()),
        is_platform_admin: None,
    }
}

fn new_org(slug: &str) -> NewOrganization {
    NewOrganization {
        name: format!("Org {slug}"),
        slug: slug.to_owned(),
        plan: Plan::Free,
    }
}

fn new_space(slug: &str) -> NewChatSpace {
    NewChatSpace {
        name: format!("Space {slug}"),
        description: String::new(),
        endpoint_slug: slug.to_owned(),
        widget_config: json!({"theme": "auto"}),
        ai_config: json!({"model": "m"}),
        retrieval_config: json!({"top_k": 5}),
        allowed_origins: vec![],
    }
}

/// Two organizations with one owner each.
async fn two_orgs(store: &impl Store) -> (User, Organization, User, Organization) {
    let (a, org_a) = store
        .signup(new_user("a@example.com"), new_org("org-a"))
        .await
        .expect("signup a");
    let (b, org_b) = store
        .signup(new_user("b@example.com"), new_org("org-b"))
        .await
        .expect("signup b");
    (a, org_a, b, org_b)
}

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

pub async fn chat_spaces_belong_to_their_organization(store: &impl Store) {
    let (_, org_a, _, org_b) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("alpha"))
        .await
        .expect("create");
    assert_eq!(space.status, ChatSpaceStatus::Draft);
    assert_eq!(space.answer_mode, AnswerMode::Rag);
    assert_eq!(space.widget_config, json!({"theme": "auto"}));
    assert!(
        store
            .find_chat_space(org_a.id, space.id)
            .await
            .expect("find")
            .is_some()
    );
    assert!(
        store
            .find_chat_space(org_b.id, space.id)
            .await
            .expect("find")
            .is_none()
    );
    assert!(
        store
            .update_chat_space(
                org_b.id,
                space.id,
                ChatSpacePatch {
                    name: Some("x".into()),
                    ..Default::default()
                }
            )
            .await
            .expect("update")
            .is_none()
    );
    assert!(
        store
            .set_chat_space_status(org_b.id, space.id, ChatSpaceStatus::Published, Utc::now())
            .await
            .expect("status")
            .is_none()
    );
    assert!(
        !store
            .delete_chat_space(org_b.id, space.id)
            .await
            .expect("delete")
    );
    assert!(
        store
            .list_chat_spaces(org_b.id, Page::first(10))
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(store.count_chat_spaces(org_b.id).await.expect("count"), 0);
    assert_eq!(store.count_chat_spaces(org_a.id).await.expect("count"), 1);
    let by_slug = store
        .find_chat_space_by_slug("alpha")
        .await
        .expect("slug")
        .expect("found");
    assert_eq!(by_slug.id, space.id);
    assert!(
        store
            .delete_chat_space(org_a.id, space.id)
            .await
            .expect("delete")
    );
    assert!(
        store
            .find_chat_space(org_a.id, space.id)
            .await
            .expect("find")
            .is_none()
    );
}

pub async fn chat_space_slugs_are_unique(store: &impl Store) {
    let (_, org_a, _, org_b) = two_orgs(store).await;
    store
        .create_chat_space(org_a.id, new_space("taken"))
        .await
        .expect("create");
    let err = store
        .create_chat_space(org_b.id, new_space("taken"))
        .await
        .expect_err("slug is global");
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                field: "endpoint_slug"
            }
        ),
        "{err:?}"
    );
    let other = store
        .create_chat_space(org_b.id, new_space("free-one"))
        .await
        .expect("create");
    let err = store
        .update_chat_space(
            org_b.id,
            other.id,
            ChatSpacePatch {
                endpoint_slug: Some("taken".into()),
                ..Default::default()
            },
        )
        .await
        .expect_err("rename onto a taken slug");
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                field: "endpoint_slug"
            }
        ),
        "{err:?}"
    );
}

pub async fn chat_spaces_page_newest_first(store: &impl Store) {
    let (_, org_a, _, _) = two_orgs(store).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            store
                .create_chat_space(org_a.id, new_space(&format!("page-{i}")))
                .await
                .expect("create")
                .id,
        );
    }
    let first = store
        .list_chat_spaces(org_a.id, Page::first(2))
        .await
        .expect("page 1");
    assert_eq!(
        first.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![ids[4], ids[3]]
    );
    let second = store
        .list_chat_spaces(
            org_a.id,
            Page {
                limit: 2,
                cursor: Some(ids[3]),
            },
        )
        .await
        .expect("page 2");
    assert_eq!(
        second.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![ids[2], ids[1]]
    );
    let last = store
        .list_chat_spaces(
            org_a.id,
            Page {
                limit: 2,
                cursor: Some(ids[1]),
            },
        )
        .await
        .expect("page 3");
    assert_eq!(last.iter().map(|s| s.id).collect::<Vec<_>>(), vec![ids[0]]);
}

pub async fn chat_space_patches_change_only_what_they_name(store: &impl Store) {
    let (_, org_a, _, _) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("patchy"))
        .await
        .expect("create");
    let patched = store
        .update_chat_space(
            org_a.id,
            space.id,
            ChatSpacePatch {
                name: Some("Renamed".into()),
                allowed_origins: Some(vec!["https://a.example".into()]),
                webhook_url: Some(Some("https://hook.example/x".into())),
                answer_mode: Some(AnswerMode::Webhook),
                widget_config: Some(json!({"theme": "dark"})),
                ..Default::default()
            },
        )
        .await
        .expect("update")
        .expect("found");
    assert_eq!(patched.name, "Renamed");
    assert_eq!(patched.endpoint_slug, "patchy");
    assert_eq!(patched.description, space.description);
    assert_eq!(patched.ai_config, space.ai_config);
    assert_eq!(patched.widget_config, json!({"theme": "dark"}));
    assert_eq!(
        patched.allowed_origins,
        vec!["https://a.example".to_owned()]
    );
    assert_eq!(patched.answer_mode, AnswerMode::Webhook);
    assert_eq!(
        patched.webhook_url.as_deref(),
        Some("https://hook.example/x")
    );
    assert!(patched.updated_at >= space.updated_at);
    let cleared = store
        .update_chat_space(
            org_a.id,
            space.id,
            ChatSpacePatch {
                webhook_url: Some(None),
                ..Default::default()
            },
        )
        .await
        .expect("update")
        .expect("found");
    assert_eq!(cleared.webhook_url, None);
    assert_eq!(cleared.name, "Renamed");
}

pub async fn publishing_sets_published_at(store: &impl Store) {
    let (_, org_a, _, org_b) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("pub"))
        .await
        .expect("create");
    assert!(space.published_at.is_none());
    let published = store
        .set_chat_space_status(org_a.id, space.id, ChatSpaceStatus::Published, Utc::now())
        .await
        .expect("publish")
        .expect("found");
    assert_eq!(published.status, ChatSpaceStatus::Published);
    let at = published.published_at.expect("published_at set");
    store
        .create_chat_space(org_a.id, new_space("draft"))
        .await
        .expect("create");
    assert_eq!(
        store
            .busiest_published_chat_spaces(10)
            .await
            .expect("busiest"),
        vec![(org_a.id, space.id)],
        "published ones only"
    );
    // Another organization's published space that visitors ask more comes first.
    let busy = store
        .create_chat_space(org_b.id, new_space("busy"))
        .await
        .expect("create");
    store
        .set_chat_space_status(org_b.id, busy.id, ChatSpaceStatus::Published, Utc::now())
        .await
        .expect("publish");
    let conversation = store
        .create_conversation(
            org_b.id,
            busy.id,
            Channel::Widget,
            NewConversation::default(),
        )
        .await
        .expect("create")
        .expect("space exists");
    store
        .add_message(
            org_b.id,
            NewMessage::plain(conversation.id, MessageRole::User, "hello?"),
        )
        .await
        .expect("message");
    assert_eq!(
        store
            .busiest_published_chat_spaces(10)
            .await
            .expect("busiest"),
        vec![(org_b.id, busy.id), (org_a.id, space.id)]
    );
    assert_eq!(
        store
            .busiest_published_chat_spaces(1)
            .await
            .expect("busiest"),
        vec![(org_b.id, busy.id)]
    );
    store
        .set_chat_space_status(org_b.id, busy.id, ChatSpaceStatus::Draft, Utc::now())
        .await
        .expect("unpublish");
    let draft = store
        .set_chat_space_status(org_a.id, space.id, ChatSpaceStatus::Draft, Utc::now())
        .await
        .expect("unpublish")
        .expect("found");
    assert_eq!(draft.status, ChatSpaceStatus::Draft);
    assert_eq!(
        store
            .busiest_published_chat_spaces(10)
            .await
            .expect("busiest"),
        vec![]
    );
    assert_eq!(
        draft.published_at,
        Some(at),
        "the first publication date is kept"
    );
}

pub async fn api_keys_are_found_by_hash_until_revoked(store: &impl Store) {
    let (_, org_a, _, org_b) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("keys"))
        .await
        .expect("create");
    let key = store
        .create_api_key(
            org_a.id,
            NewApiKey {
                chat_space_id: Some(space.id),
                name: "ci".into(),
                prefix: "dk_abc".into(),
                key_hash: "h1".into(),
            },
        )
        .await
        .expect("key");
    let org_wide = store
        .create_api_key(
            org_a.id,
            NewApiKey {
                chat_space_id: None,
                name: "all".into(),
                prefix: "dk_def".into(),
                key_hash: "h2".into(),
            },
        )
        .await
        .expect("key");
    assert_eq!(
        store
            .find_api_key_by_hash("h1")
            .await
            .expect("find")
            .map(|k| k.org_id),
        Some(org_a.id)
    );
    assert_eq!(
        store
            .list_api_keys(org_a.id, None)
            .await
            .expect("list")
            .len(),
        2
    );
    let scoped = store
        .list_api_keys(org_a.id, Some(space.id))
        .await
        .expect("list");
    assert_eq!(
        scoped.iter().map(|k| k.id).collect::<Vec<_>>(),
        vec![key.id]
    );
    assert!(
        store
            .list_api_keys(org_b.id, None)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        !store
            .revoke_api_key(org_b.id, key.id, Utc::now())
            .await
            .expect("revoke")
    );
    assert!(
        store
            .find_api_key_by_hash("h1")
            .await
            .expect("find")
            .is_some()
    );
    store
        .touch_api_key(key.id, Utc::now())
        .await
        .expect("touch");
    assert!(
        store
            .revoke_api_key(org_a.id, key.id, Utc::now())
            .await
            .expect("revoke")
    );
    assert!(
        store
            .find_api_key_by_hash("h1")
            .await
            .expect("find")
            .is_none()
    );
    let listed = store.list_api_keys(org_a.id, None).await.expect("list");
    let revoked = listed
        .iter()
        .find(|k| k.id == key.id)
        .expect("still listed");
    assert!(revoked.revoked_at.is_some());
    assert!(revoked.last_used_at.is_some());
    assert!(
        listed
            .iter()
            .any(|k| k.id == org_wide.id && k.revoked_at.is_none())
    );
}

pub async fn invitations_add_members_once(store: &impl Store) {
    let (a, org_a, b, org_b) = two_orgs(store).await;
    let now = Utc::now();
    let invite = store
        .create_invitation(
            org_a.id,
            NewInvitation {
                email: "B@example.com".into(),
                role: Role::Agent,
                token_hash: "inv1".into(),
                invited_by: a.id,
                expires_at: now + Duration::days(7),
            },
        )
        .await
        .expect("invite");
    assert_eq!(invite.email, "b@example.com");
    assert_eq!(
        store.list_invitations(org_a.id).await.expect("list").len(),
        1
    );
    assert!(
        store
            .list_invitations(org_b.id)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        store
            .find_invitation_by_token("inv1")
            .await
            .expect("find")
            .map(|i| i.id),
        Some(invite.id)
    );
    assert!(
        store
            .accept_invitation(invite.id, b.id, now)
            .await
            .expect("accept")
    );
    assert!(
        !store
            .accept_invitation(invite.id, b.id, now)
            .await
            .expect("again")
    );
    assert_eq!(
        store.find_role(org_a.id, b.id).await.expect("role"),
        Some(Role::Agent)
    );
    assert!(
        store
            .list_invitations(org_a.id)
            .await
            .expect("list")
            .is_empty()
    );

    let expired = store
        .create_invitation(
            org_a.id,
            NewInvitation {
                email: "c@example.com".into(),
                role: Role::Viewer,
                token_hash: "inv2".into(),
                invited_by: a.id,
                expires_at: now - Duration::seconds(1),
            },
        )
        .await
        .expect("invite");
    assert!(
        !store
            .accept_invitation(expired.id, b.id, now)
            .await
            .expect("expired")
    );
    assert!(
        !store
            .delete_invitation(org_b.id, expired.id)
            .await
            .expect("other org")
    );
    assert!(
        store
            .delete_invitation(org_a.id, expired.id)
            .await
            .expect("delete")
    );
}

pub async fn members_change_roles_and_leave(store: &impl Store) {
    let (a, org_a, b, org_b) = two_orgs(store).await;
    let invite = store
        .create_invitation(
            org_a.id,
            NewInvitation {
                email: b.email.clone(),
                role: Role::Viewer,
                token_hash: "m1".into(),
                invited_by: a.id,
                expires_at: Utc::now() + Duration::days(1),
            },
        )
        .await
        .expect("invite");
    assert!(
        store
            .accept_invitation(invite.id, b.id, Utc::now())
            .await
            .expect("accept")
    );
    let members = store.list_members(org_a.id).await.expect("members");
    assert_eq!(
        members
            .iter()
            .map(|m| (m.user_id, m.role))
            .collect::<Vec<_>>(),
        vec![(a.id, Role::Owner), (b.id, Role::Viewer)]
    );
    assert_eq!(store.count_members(org_a.id).await.expect("count"), 2);
    assert!(
        !store
            .set_member_role(org_b.id, a.id, Role::Admin)
            .await
            .expect("not a member there")
    );
    assert!(
        store
            .set_member_role(org_a.id, b.id, Role::Admin)
            .await
            .expect("role")
    );
    assert_eq!(
        store.find_role(org_a.id, b.id).await.expect("role"),
        Some(Role::Admin)
    );
    let orgs = store.memberships_of_user(b.id).await.expect("orgs");
    assert_eq!(
        orgs.iter().map(|m| m.organization.id).collect::<Vec<_>>(),
        vec![org_b.id, org_a.id]
    );
    assert!(store.remove_member(org_a.id, b.id).await.expect("remove"));
    assert_eq!(store.find_role(org_a.id, b.id).await.expect("role"), None);
}

pub async fn deleting_an_organization_removes_its_data(store: &impl Store) {
    let (a, org_a, _, org_b) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("gone"))
        .await
        .expect("create");
    store
        .create_api_key(
            org_a.id,
            NewApiKey {
                chat_space_id: None,
                name: "k".into(),
                prefix: "p".into(),
                key_hash: "gone".into(),
            },
        )
        .await
        .expect("key");
    let second = store
        .create_organization(new_org("org-a2"), a.id)
        .await
        .expect("second org");
    assert_eq!(
        store.find_role(second.id, a.id).await.expect("role"),
        Some(Role::Owner)
    );
    assert!(
        store
            .set_organization_plan(org_a.id, Plan::Pro)
            .await
            .expect("plan")
    );
    assert_eq!(
        store
            .find_organization(org_a.id)
            .await
            .expect("find")
            .map(|o| o.plan),
        Some(Plan::Pro)
    );
    assert!(store.delete_organization(org_a.id).await.expect("delete"));
    assert!(
        store
            .find_organization(org_a.id)
            .await
            .expect("find")
            .is_none()
    );
    assert!(
        store
            .find_chat_space_by_slug("gone")
            .await
            .expect("slug")
            .is_none()
    );
    assert!(
        store
            .find_chat_space(org_a.id, space.id)
            .await
            .expect("find")
            .is_none()
    );
    assert!(
        store
            .find_api_key_by_hash("gone")
            .await
            .expect("key")
            .is_none()
    );
    assert!(
        store
            .find_organization(org_b.id)
            .await
            .expect("find")
            .is_some()
    );
    assert_eq!(
        store.memberships_of_user(a.id).await.expect("orgs").len(),
        1
    );
}

fn new_doc(space: ChatSpaceId, status: DocumentStatus) -> NewDocument {
    NewDocument {
        chat_space_id: space,
        parent_id: None,
        doc_type: "text".into(),
        title: String::new(),
        file_name: Some("a.txt".into()),
        file_size: Some(12),
        content_hash: Some("h".into()),
        storage_key: Some("k".into()),
        source_url: None,
        citable: true,
        status,
    }
}

fn chunk(i: i32, text: &str) -> NewChunk {
    NewChunk {
        chunk_index: i,
        content: text.into(),
        token_count: 3,
        metadata: json!({"page": i + 1}),
    }
}

pub async fn documents_are_counted_per_chat_space(store: &impl Store) {
    let (_, org_a, _, org_b) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("docs"))
        .await
        .expect("create");
    assert_eq!(
        store
            .count_documents(org_a.id, space.id, Some(DocumentStatus::Completed))
            .await
            .expect("count"),
        0
    );
    store
        .create_document(org_a.id, new_doc(space.id, DocumentStatus::Pending))
        .await
        .expect("doc");
    store
        .create_document(org_a.id, new_doc(space.id, DocumentStatus::Completed))
        .await
        .expect("doc");
    assert_eq!(
        store
            .count_documents(org_a.id, space.id, None)
            .await
            .expect("count"),
        2
    );
    assert_eq!(
        store
            .count_documents(org_a.id, space.id, Some(DocumentStatus::Completed))
            .await
            .expect("count"),
        1
    );
    assert_eq!(
        store
            .count_documents(org_b.id, space.id, None)
            .await
            .expect("count"),
        0
    );
    assert!(
        store
            .create_document(org_b.id, new_doc(space.id, DocumentStatus::Pending))
            .await
            .is_err(),
        "another org's chat space"
    );
}

pub async fn documents_keep_their_chunks_searchable(store: &impl Store) {
    let (_, org_a, _, org_b) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("know"))
        .await
        .expect("create");
    let doc = store
        .create_document(org_a.id, new_doc(space.id, DocumentStatus::Pending))
        .await
        .expect("doc");
    assert_eq!(doc.status, DocumentStatus::Pending);
    assert!(
        store
            .find_document(org_b.id, doc.id)
            .await
            .expect("find")
            .is_none()
    );
    assert!(
        store
            .update_document(
                org_b.id,
                doc.id,
                DocumentPatch {
                    citable: Some(false),
                    title: None
                }
            )
            .await
            .expect("update")
            .is_none()
    );
    assert!(
        store
            .delete_document(org_b.id, doc.id)
            .await
            .expect("delete")
            .is_none()
    );

    store
        .set_document_file(
            org_b.id,
            doc.id,
            StoredFile {
                storage_key: "evil".into(),
                file_size: 1,
                content_hash: "x".into(),
                source_url: None,
            },
        )
        .await
        .expect("other org");
    assert_eq!(
        store
            .find_document(org_a.id, doc.id)
            .await
            .expect("find")
            .expect("doc")
            .storage_key
            .as_deref(),
        Some("k"),
        "another org changes nothing"
    );
    store
        .set_document_file(
            org_a.id,
            doc.id,
            StoredFile {
                storage_key: "k2".into(),
                file_size: 99,
                content_hash: "h2".into(),
                source_url: Some("https://example.com/faq".into()),
            },
        )
        .await
        .expect("file");
    let stored = store
        .find_document(org_a.id, doc.id)
        .await
        .expect("find")
        .expect("doc");
    assert_eq!(
        (
            stored.storage_key.as_deref(),
            stored.file_size,
            stored.source_url.as_deref()
        ),
        (Some("k2"), Some(99), Some("https://example.com/faq"))
    );
    store
        .set_document_status(org_a.id, doc.id, DocumentStatus::Processing, 40, None)
        .await
        .expect("progress");
    let processing = store
        .find_document(org_a.id, doc.id)
        .await
        .expect("find")
        .expect("doc");
    assert_eq!(
        (processing.status, processing.progress),
        (DocumentStatus::Processing, 40)
    );
    assert!(processing.processing_started_at.is_some());

    let facts = DocumentFacts {
        title: Some("Returns policy".into()),
        author: Some("Ana".into()),
        doc_type: Some("markdown".into()),
        page_count: Some(2),
        word_count: Some(9),
    };
    let chunks = vec![
        chunk(0, "Refunds are paid within five days."),
        chunk(1, "Shipping is free above fifty euros."),
    ];
    assert!(
        store
            .complete_document(org_a.id, doc.id, facts.clone(), chunks.clone())
            .await
            .expect("complete")
    );
    // Processing twice (a retried job) replaces the chunks instead of adding to them.
    assert!(
        store
            .complete_document(org_a.id, doc.id, facts, chunks)
            .await
            .expect("again")
    );
    let done = store
        .find_document(org_a.id, doc.id)
        .await
        .expect("find")
        .expect("doc");
    assert_eq!(
        (done.status, done.progress, done.chunk_count),
        (DocumentStatus::Completed, 100, 2)
    );
    assert_eq!(
        (
            done.title.as_str(),
            done.doc_type.as_str(),
            done.page_count,
            done.word_count
        ),
        ("Returns policy", "markdown", Some(2), Some(9))
    );
    let listed = store
        .list_chunks(org_a.id, doc.id, None, 10)
        .await
        .expect("chunks");
    assert_eq!(
        listed.iter().map(|c| c.chunk_index).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert_eq!(listed[1].metadata, json!({"page": 2}));
    assert_eq!(
        store
            .list_chunks(org_a.id, doc.id, Some(0), 10)
            .await
            .expect("after")
            .len(),
        1
    );
    assert!(
        store
            .list_chunks(org_b.id, doc.id, None, 10)
            .await
            .expect("other org")
            .is_empty()
    );

    let hits = store
        .search_chunks(org_a.id, space.id, &search_terms("refund policy?"), 5)
        .await
        .expect("search");
    assert_eq!(hits.len(), 1, "stemming matches refund with Refunds");
    assert_eq!(hits[0].chunk.chunk_index, 0);
    assert_eq!(hits[0].document_title, "Returns policy");
    assert!(hits[0].score > 0.0);
    let both = store
        .search_chunks(org_a.id, space.id, &search_terms("refunds shipping"), 5)
        .await
        .expect("search");
    assert_eq!(both.len(), 2, "any term matches");
    assert!(
        store
            .search_chunks(org_a.id, space.id, &[], 5)
            .await
            .expect("empty")
            .is_empty()
    );

    let renamed = store
        .update_document(
            org_a.id,
            doc.id,
            DocumentPatch {
                citable: Some(false),
                title: Some("Policy".into()),
            },
        )
        .await
        .expect("update")
        .expect("doc");
    assert!(!renamed.citable);
    assert_eq!(renamed.title, "Policy");
    let deleted = store
        .delete_document(org_a.id, doc.id)
        .await
        .expect("delete")
        .expect("was there");
    assert_eq!(deleted.storage_key.as_deref(), Some("k2"));
    assert!(
        store
            .search_chunks(org_a.id, space.id, &search_terms("refunds"), 5)
            .await
            .expect("search")
            .is_empty(),
        "chunks go with their document"
    );
}

pub async fn search_stays_inside_the_chat_space(store: &impl Store) {
    let (_, org_a, _, org_b) = two_orgs(store).await;
    let space_a = store
        .create_chat_space(org_a.id, new_space("sa"))
        .await
        .expect("a");
    let space_b = store
        .create_chat_space(org_b.id, new_space("sb"))
        .await
        .expect("b");
    for (org, space) in [(org_a.id, space_a.id), (org_b.id, space_b.id)] {
        let doc = store
            .create_document(org, new_doc(space, DocumentStatus::Pending))
            .await
            .expect("doc");
        store
            .complete_document(
                org,
                doc.id,
                DocumentFacts::default(),
                vec![chunk(0, "The secret warranty lasts two years.")],
            )
            .await
            .expect("complete");
    }
    let terms = search_terms("warranty");
    assert_eq!(
        store
            .search_chunks(org_a.id, space_a.id, &terms, 5)
            .await
            .expect("a")
            .len(),
        1
    );
    assert!(
        store
            .search_chunks(org_a.id, space_b.id, &terms, 5)
            .await
            .expect("cross")
            .is_empty()
    );
    assert!(
        store
            .search_chunks(org_b.id, space_a.id, &terms, 5)
            .await
            .expect("cross")
            .is_empty()
    );
}

/// The in-memory full-text index (`warm_search`) finds what the database's own search finds,
/// sees added and deleted chunks at once, and never crosses organizations.
pub async fn the_search_index_follows_every_change(store: &impl Store) {
    let (_, org_a, _, org_b) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("indexed"))
        .await
        .expect("space");
    let add = |texts: &'static [&'static str]| async move {
        let doc = store
            .create_document(org_a.id, new_doc(space.id, DocumentStatus::Pending))
            .await
            .expect("doc");
        let chunks = texts
            .iter()
            .enumerate()
            .map(|(i, t)| chunk(i as i32, t))
            .collect();
        store
            .complete_document(org_a.id, doc.id, DocumentFacts::default(), chunks)
            .await
            .expect("complete");
        doc
    };
    let search = |question: &'static str| async move {
        store
            .search_chunks(org_a.id, space.id, &search_terms(question), 5)
            .await
            .expect("search")
            .into_iter()
            .map(|h| h.chunk.content)
            .collect::<Vec<_>>()
    };
    let returns = add(&[
        "Refunds are issued within thirty days of delivery.",
        "Shipping is free on orders over fifty euros; shipping abroad costs more.",
        "Our refund policy also covers damage in shipping.",
    ])
    .await;
    let cold = search("refund shipping").await;
    store.warm_search(org_a.id, space.id).await.expect("warm");
    store
        .warm_search(org_a.id, space.id)
        .await
        .expect("warm again");
    let warm = search("refund shipping").await;
    assert_eq!(warm.len(), 3, "{warm:?}");
    assert_eq!(
        warm[0], "Our refund policy also covers damage in shipping.",
        "both words first"
    );
    let mut sorted = (cold.clone(), warm.clone());
    sorted.0.sort();
    sorted.1.sort();
    assert_eq!(sorted.0, sorted.1, "the database finds the same chunks");
    assert_eq!(search("refunded").await.len(), 2, "stemming");
    assert!(search("warranty").await.is_empty());

    // A chunk added after the index was built is found next to the ones it knows: rows the
    // old index ranks are not taken as the answer once the chunks have changed.
    let damage = add(&["Refund of shipping costs for damaged parcels: refund shipping."]).await;
    let found = search("refund shipping").await;
    assert!(
        found
            .contains(&"Refund of shipping costs for damaged parcels: refund shipping.".to_owned()),
        "{found:?}"
    );
    store
        .delete_document(org_a.id, damage.id)
        .await
        .expect("delete")
        .expect("was there");
    assert_eq!(search("refund shipping").await.len(), 3);

    // Added and deleted knowledge counts at once, before any rebuild.
    let warranty = add(&["The warranty lasts two years."]).await;
    assert_eq!(search("warranty").await, ["The warranty lasts two years."]);
    store.warm_search(org_a.id, space.id).await.expect("warm");
    assert_eq!(search("warranty").await, ["The warranty lasts two years."]);
    store
        .delete_document(org_a.id, returns.id)
        .await
        .expect("delete")
        .expect("was there");
    assert!(search("refund shipping").await.is_empty());
    store.warm_search(org_a.id, space.id).await.expect("warm");
    assert!(search("refund shipping").await.is_empty());
    assert_eq!(search("warranty years").await.len(), 1);

    // Another organization, even naming this chat space, finds nothing.
    store.warm_search(org_b.id, space.id).await.expect("warm");
    assert!(
        store
            .search_chunks(org_b.id, space.id, &search_terms("warranty"), 5)
            .await
            .expect("search")
            .is_empty()
    );
    store
        .delete_document(org_a.id, warranty.id)
        .await
        .expect("delete")
        .expect("was there");
    store.warm_search(org_a.id, space.id).await.expect("warm");
    assert!(search("warranty").await.is_empty());
}

pub async fn jobs_are_claimed_once_and_retried(store: &impl Store) {
    let (_, org_a, _, _) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("jobs"))
        .await
        .expect("create");
    let doc = store
        .create_document(org_a.id, new_doc(space.id, DocumentStatus::Pending))
        .await
        .expect("doc");
    let job = store
        .enqueue_job(
            NewJob::for_document(JobKind::Ingest, org_a.id, space.id, doc.id),
            Utc::now(),
        )
        .await
        .expect("enqueue");
    let now = Utc::now();
    let lease = now + Duration::seconds(30);
    let claimed = store
        .claim_job("w1", now, lease)
        .await
        .expect("claim")
        .expect("a job");
    assert_eq!(
        (claimed.id, claimed.attempts, claimed.locked_by.as_deref()),
        (job.id, 1, Some("w1"))
    );
    assert!(
        store
            .claim_job("w2", now, lease)
            .await
            .expect("claim")
            .is_none(),
        "leased to w1"
    );
    assert!(
        !store
            .heartbeat_job(job.id, "w2", lease, 50)
            .await
            .expect("beat"),
        "w2 does not hold it"
    );
    assert!(
        store
            .heartbeat_job(job.id, "w1", lease, 50)
            .await
            .expect("beat")
    );
    let later = now + Duration::seconds(60);
    assert!(
        store
            .finish_job(
                job.id,
                "w1",
                JobOutcome::Retry {
                    message: "busy".into(),
                    run_after: later
                },
                now
            )
            .await
            .expect("retry")
    );
    assert!(
        store
            .claim_job("w1", now, lease)
            .await
            .expect("claim")
            .is_none(),
        "not due yet"
    );
    let again = store
        .claim_job("w2", later, later + Duration::seconds(30))
        .await
        .expect("claim")
        .expect("due");
    assert_eq!(
        (again.attempts, again.error_message.as_deref()),
        (2, Some("busy"))
    );
    assert!(
        store
            .finish_job(job.id, "w2", JobOutcome::Completed, later)
            .await
            .expect("done")
    );
    assert!(
        !store
            .finish_job(job.id, "w2", JobOutcome::Completed, later)
            .await
            .expect("twice"),
        "finished already"
    );
    let jobs = store.list_jobs(org_a.id, doc.id).await.expect("jobs");
    assert_eq!(
        (jobs[0].status, jobs[0].progress),
        (JobStatus::Completed, 100)
    );
    assert!(
        store
            .claim_job("w3", later + Duration::days(1), later + Duration::days(2))
            .await
            .expect("claim")
            .is_none()
    );
}

pub async fn expired_leases_pass_to_another_worker(store: &impl Store) {
    let (_, org_a, _, _) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("lease"))
        .await
        .expect("create");
    let doc = store
        .create_document(org_a.id, new_doc(space.id, DocumentStatus::Pending))
        .await
        .expect("doc");
    let job = store
        .enqueue_job(
            NewJob::for_document(JobKind::Ingest, org_a.id, space.id, doc.id),
            Utc::now(),
        )
        .await
        .expect("enqueue");
    let now = Utc::now();
    store
        .claim_job("crashed", now, now + Duration::seconds(10))
        .await
        .expect("claim")
        .expect("job");
    let after = now + Duration::seconds(11);
    let taken = store
        .claim_job("survivor", after, after + Duration::seconds(10))
        .await
        .expect("claim")
        .expect("lease ran out");
    assert_eq!((taken.id, taken.attempts), (job.id, 2));
    assert!(
        !store
            .finish_job(job.id, "crashed", JobOutcome::Completed, after)
            .await
            .expect("late"),
        "the old worker lost it"
    );
    assert!(
        store
            .finish_job(
                job.id,
                "survivor",
                JobOutcome::Failed("broken file".into()),
                after
            )
            .await
            .expect("fail")
    );
    assert_eq!(
        store.list_jobs(org_a.id, doc.id).await.expect("jobs")[0].status,
        JobStatus::Failed
    );
}

pub async fn jobs_of_no_document_are_scheduled_and_keyed_once(store: &impl Store) {
    let now = Utc::now();
    let later = now + Duration::seconds(60);
    let payload = serde_json::json!({"window": "hour", "limits": [1, 2]});
    let first = store
        .enqueue_job(
            NewJob::of(JobKind::Sweep)
                .with_payload(payload.clone())
                .at(later)
                .keyed("sweep"),
            now,
        )
        .await
        .expect("enqueue");
    assert_eq!(
        (
            first.org_id,
            first.document_id,
            &first.payload,
            first.status
        ),
        (None, None, &payload, JobStatus::Pending)
    );
    assert_eq!(first.key.as_deref(), Some("sweep"));
    // Another instance scheduling the same work gets the job that is queued already.
    let again = store
        .enqueue_job(NewJob::of(JobKind::Sweep).keyed("sweep"), now)
        .await
        .expect("enqueue again");
    assert_eq!((again.id, again.run_after), (first.id, first.run_after));
    assert!(
        store
            .claim_job("w1", now, now + Duration::seconds(30))
            .await
            .expect("claim")
            .is_none(),
        "scheduled for later"
    );
    let claimed = store
        .claim_job("w1", later, later + Duration::seconds(30))
        .await
        .expect("claim")
        .expect("due now");
    assert_eq!((claimed.id, &claimed.payload), (first.id, &payload));
    let while_running = store
        .enqueue_job(NewJob::of(JobKind::Sweep).keyed("sweep"), later)
        .await
        .expect("enqueue while running");
    assert_eq!(while_running.id, first.id, "a running job holds its key");
    assert!(
        store
            .finish_job(first.id, "w1", JobOutcome::Completed, later)
            .await
            .expect("done")
    );
    assert!(
        store
            .find_job_by_key("sweep")
            .await
            .expect("find")
            .is_none()
    );
    // Once it ended, the key is free for the next run.
    let next = store
        .enqueue_job(
            NewJob::of(JobKind::Sweep)
                .at(later + Duration::seconds(60))
                .keyed("sweep"),
            later,
        )
        .await
        .expect("next");
    assert_ne!(next.id, first.id);
    assert_eq!(next.payload, serde_json::json!({}));
    assert_eq!(
        store
            .find_job_by_key("sweep")
            .await
            .expect("find")
            .map(|j| j.id),
        Some(next.id)
    );
    // Unkeyed jobs are never merged.
    let a = store
        .enqueue_job(NewJob::of(JobKind::Sweep), later)
        .await
        .expect("a");
    let b = store
        .enqueue_job(NewJob::of(JobKind::Sweep), later)
        .await
        .expect("b");
    assert_ne!(a.id, b.id);
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

pub async fn nearest_chunks_are_found_by_embedding(store: &impl Store) {
    let (_, org_a, _, org_b) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("vec"))
        .await
        .expect("create");
    let doc = store
        .create_document(org_a.id, new_doc(space.id, DocumentStatus::Pending))
        .await
        .expect("doc");
    let chunks = vec![
        chunk(0, "about kettles"),
        chunk(1, "about teapots"),
        chunk(2, "about cups"),
    ];
    store
        .complete_document(org_a.id, doc.id, DocumentFacts::default(), chunks)
        .await
        .expect("complete");
    assert!(
        store
            .vector_search(org_a.id, space.id, &[1.0, 0.0, 0.0], 3)
            .await
            .expect("none yet")
            .is_empty()
    );
    let updated = store
        .set_chunk_embeddings(
            org_a.id,
            doc.id,
            vec![
                (0, vec![1.0, 0.0, 0.0]),
                (1, vec![0.7, 0.7, 0.0]),
                (2, vec![0.0, 0.0, 1.0]),
            ],
        )
        .await
        .expect("embed");
    assert_eq!(updated, 3);
    assert_eq!(
        store
            .set_chunk_embeddings(org_b.id, doc.id, vec![(0, vec![0.0, 1.0, 0.0])])
            .await
            .expect("other org"),
        0
    );
    let hits = store
        .vector_search(org_a.id, space.id, &[0.9, 0.1, 0.0], 2)
        .await
        .expect("search");
    assert_eq!(
        hits.iter().map(|h| h.chunk.chunk_index).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert!(
        hits[0].score > hits[1].score && hits[0].score > 0.9 && hits[0].score <= 1.0001,
        "{hits:?}"
    );
    assert!(
        store
            .vector_search(org_a.id, space.id, &[1.0, 0.0], 2)
            .await
            .expect("other dimension")
            .is_empty()
    );
    assert!(
        store
            .vector_search(org_b.id, space.id, &[1.0, 0.0, 0.0], 2)
            .await
            .expect("other org")
            .is_empty()
    );
    // Processing the document again replaces its chunks, and their embeddings with them.
    store
        .complete_document(
            org_a.id,
            doc.id,
            DocumentFacts::default(),
            vec![chunk(0, "new text")],
        )
        .await
        .expect("again");
    assert!(
        store
            .vector_search(org_a.id, space.id, &[1.0, 0.0, 0.0], 3)
            .await
            .expect("stale")
            .is_empty()
    );
    store
        .set_chunk_embeddings(org_a.id, doc.id, vec![(0, vec![1.0, 0.0, 0.0])])
        .await
        .expect("embed again");
    assert_eq!(
        store
            .vector_search(org_a.id, space.id, &[1.0, 0.0, 0.0], 3)
            .await
            .expect("found")
            .len(),
        1
    );
    store
        .delete_document(org_a.id, doc.id)
        .await
        .expect("delete");
    assert!(
        store
            .vector_search(org_a.id, space.id, &[1.0, 0.0, 0.0], 3)
            .await
            .expect("deleted")
            .is_empty()
    );
}

pub async fn site_pages_go_with_their_site(store: &impl Store) {
    let (_, org_a, _, org_b) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("site"))
        .await
        .expect("create");
    let site = store
        .create_document(org_a.id, new_doc(space.id, DocumentStatus::Completed))
        .await
        .expect("site");
    for key in ["page-1", "page-2"] {
        let page = NewDocument {
            parent_id: Some(site.id),
            storage_key: Some(key.into()),
            ..new_doc(space.id, DocumentStatus::Pending)
        };
        store.create_document(org_a.id, page).await.expect("page");
    }
    let mut keys = store
        .child_storage_keys(org_a.id, site.id)
        .await
        .expect("keys");
    keys.sort();
    assert_eq!(keys, vec!["page-1".to_owned(), "page-2".to_owned()]);
    assert!(
        store
            .child_storage_keys(org_b.id, site.id)
            .await
            .expect("other org")
            .is_empty()
    );
    store
        .delete_document(org_a.id, site.id)
        .await
        .expect("delete")
        .expect("was there");
    assert_eq!(
        store
            .count_documents(org_a.id, space.id, None)
            .await
            .expect("count"),
        0,
        "pages go with their site"
    );
}

pub async fn conversations_keep_messages_and_count_usage(store: &impl Store) {
    let (_, org, _, _) = two_orgs(store).await;
    let space = store
        .create_chat_space(org.id, new_space("talk"))
        .await
        .expect("space");
    let conversation = store
        .create_conversation(
            org.id,
            space.id,
            Channel::Widget,
            NewConversation {
                visitor_id: Some("v-1".into()),
                locale: Some("en".into()),
                ..Default::default()
            },
        )
        .await
        .expect("create")
        .expect("space exists");
    assert_eq!(conversation.status, ConversationStatus::Active);
    assert_eq!(conversation.channel, Channel::Widget);
    for turn in 0..3 {
        store
            .add_message(
                org.id,
                NewMessage::plain(
                    conversation.id,
                    MessageRole::User,
                    format!("question {turn}"),
                ),
            )
            .await
            .expect("user")
            .expect("conversation exists");
        let document = DocumentId::generate();
        let answer = store
            .add_message(
                org.id,
                NewMessage {
                    model: Some("test/model".into()),
                    tokens_in: 100,
                    tokens_out: 20,
                    cost_micro_usd: 7,
                    processing_time_ms: 12,
                    context_chunks: vec![ContextChunk {
                        chunk_id: ChunkId::generate(),
                        document_id: document,
                        score: 0.5,
                        citable: true,
                    }],
                    citations: vec![Citation {
                        index: 1,
                        document_id: document,
                        title: "Guide".into(),
                        url: None,
                        file_name: Some("guide.pdf".into()),
                        page: Some(3),
                    }],
                    answer_kind: Some(AnswerKind::Generated),
                    ..NewMessage::plain(
                        conversation.id,
                        MessageRole::Assistant,
                        format!("answer {turn}"),
                    )
                },
            )
            .await
            .expect("assistant")
            .expect("conversation exists");
        assert_eq!(answer.citations[0].page, Some(3));
        assert_eq!(answer.answer_kind, Some(AnswerKind::Generated));
    }
    let all = store
        .list_messages(org.id, conversation.id, None, 100)
        .await
        .expect("list");
    let texts: Vec<&str> = all.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(
        texts,
        [
            "question 0",
            "answer 0",
            "question 1",
            "answer 1",
            "question 2",
            "answer 2"
        ]
    );
    let rest = store
        .list_messages(org.id, conversation.id, Some(all[3].id), 100)
        .await
        .expect("after");
    assert_eq!(rest.len(), 2);
    let recent = store
        .recent_messages(org.id, conversation.id, 2)
        .await
        .expect("recent");
    assert_eq!(
        recent
            .iter()
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>(),
        ["question 2", "answer 2"]
    );

    let today = Utc::now().date_naive();
    assert_eq!(
        store
            .count_messages_since(org.id, today)
            .await
            .expect("count"),
        3,
        "visitor messages"
    );
    let days = store
        .usage_days(org.id, space.id, today)
        .await
        .expect("usage");
    assert_eq!(days.len(), 1);
    assert_eq!(
        (
            days[0].messages,
            days[0].conversations,
            days[0].tokens,
            days[0].cost
        ),
        (3, 1, 360, 21)
    );
    let space = store
        .find_chat_space(org.id, space.id)
        .await
        .expect("find")
        .expect("space");
    assert_eq!(space.message_count, 3);
    assert!(space.last_message_at.is_some());
    let conversation = store
        .find_conversation(org.id, conversation.id)
        .await
        .expect("find")
        .expect("conversation");
    assert_eq!(conversation.message_count, 6);
    let listed = store
        .list_conversations(org.id, space.id, Page::first(10))
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
}

pub async fn conversations_belong_to_their_organization(store: &impl Store) {
    let (_, org_a, _, org_b) = two_orgs(store).await;
    let space_a = store
        .create_chat_space(org_a.id, new_space("mine"))
        .await
        .expect("space");
    assert!(
        store
            .create_conversation(
                org_b.id,
                space_a.id,
                Channel::Api,
                NewConversation::default()
            )
            .await
            .expect("query")
            .is_none(),
        "another organization cannot open a conversation in this chat space"
    );
    let conversation = store
        .create_conversation(
            org_a.id,
            space_a.id,
            Channel::Playground,
            NewConversation::default(),
        )
        .await
        .expect("create")
        .expect("space");
    assert!(
        store
            .find_conversation(org_b.id, conversation.id)
            .await
            .expect("find")
            .is_none()
    );
    assert!(
        store
            .add_message(
                org_b.id,
                NewMessage::plain(conversation.id, MessageRole::User, "intrusion")
            )
            .await
            .expect("query")
            .is_none()
    );
    assert!(
        store
            .list_messages(org_b.id, conversation.id, None, 10)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        store
            .list_conversations(org_b.id, space_a.id, Page::first(10))
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        store
            .count_messages_since(org_b.id, Utc::now().date_naive())
            .await
            .expect("count"),
        0
    );
    assert!(
        store
            .list_messages(org_a.id, conversation.id, None, 10)
            .await
            .expect("list")
            .is_empty()
    );
}

pub async fn knowledge_gaps_are_kept_per_chat_space(store: &impl Store) {
    let (_, org_a, _, org_b) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("gaps"))
        .await
        .expect("space");
    for question in ["Do you ship to Mars?", "Is there a student discount?"] {
        store
            .record_knowledge_gap(org_a.id, space.id, None, question)
            .await
            .expect("record")
            .expect("space");
    }
    assert!(
        store
            .record_knowledge_gap(org_b.id, space.id, None, "sneaky")
            .await
            .expect("query")
            .is_none()
    );
    let gaps = store
        .list_knowledge_gaps(org_a.id, space.id, 10)
        .await
        .expect("list");
    assert_eq!(
        gaps.iter().map(|g| g.question.as_str()).collect::<Vec<_>>(),
        ["Is there a student discount?", "Do you ship to Mars?"]
    );
    assert!(
        store
            .list_knowledge_gaps(org_b.id, space.id, 10)
            .await
            .expect("list")
            .is_empty()
    );
}

pub async fn visitors_rate_answers_and_conversations_close(store: &impl Store) {
    let (_, org_a, _, org_b) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("rated"))
        .await
        .expect("space");
    let visitor = NewConversation {
        visitor_id: Some("v-1".into()),
        end_user_name: Some("Zoe".into()),
        ..NewConversation::default()
    };
    let conversation = store
        .create_conversation(org_a.id, space.id, Channel::Widget, visitor)
        .await
        .expect("create")
        .expect("space");
    assert_eq!(conversation.end_user_name.as_deref(), Some("Zoe"));
    let question = store
        .add_message(
            org_a.id,
            NewMessage::plain(conversation.id, MessageRole::User, "Hours?"),
        )
        .await
        .expect("add")
        .expect("conversation");
    let answer = store
        .add_message(
            org_a.id,
            NewMessage::plain(conversation.id, MessageRole::Assistant, "9 to 5."),
        )
        .await
        .expect("add")
        .expect("conversation");

    // Only assistant messages of this conversation, only by their organization.
    for (org, conversation_id, message) in [
        (org_a.id, conversation.id, question.id),
        (org_b.id, conversation.id, answer.id),
        (org_a.id, ConversationId::generate(), answer.id),
    ] {
        assert!(
            store
                .set_feedback(org, conversation_id, message, Some(Feedback::Up))
                .await
                .expect("query")
                .is_none()
        );
    }
    let today = Utc::now().date_naive();
    let counters = |days: Vec<UsageDay>| {
        days.iter().fold((0, 0), |(u, d), day| {
            (u + day.feedback_up, d + day.feedback_down)
        })
    };
    let rated = store
        .set_feedback(org_a.id, conversation.id, answer.id, Some(Feedback::Up))
        .await
        .expect("set")
        .expect("message");
    assert_eq!(rated.feedback.as_deref(), Some("up"));
    // Saying the same twice counts once; changing one's mind moves the count.
    store
        .set_feedback(org_a.id, conversation.id, answer.id, Some(Feedback::Up))
        .await
        .expect("set");
    let days = store
        .usage_days(org_a.id, space.id, today)
        .await
        .expect("usage");
    assert_eq!(counters(days), (1, 0));
    store
        .set_feedback(org_a.id, conversation.id, answer.id, Some(Feedback::Down))
        .await
        .expect("set");
    let days = store
        .usage_days(org_a.id, space.id, today)
        .await
        .expect("usage");
    assert_eq!(counters(days), (0, 1));
    let cleared = store
        .set_feedback(org_a.id, conversation.id, answer.id, None)
        .await
        .expect("set")
        .expect("message");
    assert_eq!(cleared.feedback, None);
    let days = store
        .usage_days(org_a.id, space.id, today)
        .await
        .expect("usage");
    assert_eq!(counters(days), (0, 0));

    // Identify fills what is given and keeps the rest.
    assert!(
        !store
            .identify_visitor(org_b.id, conversation.id, Some("Eve".into()), None)
            .await
            .expect("query")
    );
    assert!(
        store
            .identify_visitor(
                org_a.id,
                conversation.id,
                None,
                Some("zoe@example.com".into())
            )
            .await
            .expect("identify")
    );
    let found = store
        .find_conversation(org_a.id, conversation.id)
        .await
        .expect("find")
        .expect("conversation");
    assert_eq!(found.end_user_name.as_deref(), Some("Zoe"));
    assert_eq!(found.end_user_email.as_deref(), Some("zoe@example.com"));

    // Closing: only by its organization, once.
    let now = Utc::now();
    assert!(
        !store
            .close_conversation(org_b.id, conversation.id, now)
            .await
            .expect("query")
    );
    assert!(
        store
            .close_conversation(org_a.id, conversation.id, now)
            .await
            .expect("close")
    );
    assert!(
        !store
            .close_conversation(org_a.id, conversation.id, now)
            .await
            .expect("again")
    );
    let closed = store
        .find_conversation(org_a.id, conversation.id)
        .await
        .expect("find")
        .expect("conversation");
    assert_eq!(closed.status, ConversationStatus::Closed);
    assert!(closed.closed_at.is_some());

    // Housekeeping closes quiet widget conversations, and only those.
    let quiet = store
        .create_conversation(
            org_a.id,
            space.id,
            Channel::Widget,
            NewConversation::default(),
        )
        .await
        .expect("create")
        .expect("space");
    let playground = store
        .create_conversation(
            org_a.id,
            space.id,
            Channel::Playground,
            NewConversation::default(),
        )
        .await
        .expect("create")
        .expect("space");
    let later = Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(
        store
            .close_idle_conversations(Channel::Widget, later, later)
            .await
            .expect("sweep"),
        1,
        "the widget conversation closed earlier is not counted again"
    );
    for (id, status) in [
        (quiet.id, ConversationStatus::Closed),
        (playground.id, ConversationStatus::Active),
    ] {
        let found = store
            .find_conversation(org_a.id, id)
            .await
            .expect("find")
            .expect("conversation");
        assert_eq!(found.status, status);
    }
}

/// 40 inserts at once against a limit of 5 (chat spaces, documents, invitations, visitor
/// messages): exactly 5 pass, the others are `LimitReached`, and no limit means none.
pub async fn plan_limits_hold_under_parallel_inserts(store: &impl Store) {
    use futures_util::future::join_all;
    fn tally<T>(results: Vec<crate::Result<T>>) -> (usize, usize) {
        let mut passed = 0;
        let mut refused = 0;
        for result in results {
            match result {
                Ok(_) => passed += 1,
                Err(StoreError::LimitReached { limit: 5 }) => refused += 1,
                Err(e) => panic!("unexpected error: {e}"),
            }
        }
        (passed, refused)
    }
    let (a, org, _, _) = two_orgs(store).await;
    let spaces =
        join_all((0..40).map(|n| {
            store.create_chat_space_within(org.id, new_space(&format!("race-{n}")), Some(5))
        }))
        .await;
    assert_eq!(tally(spaces), (5, 35), "chat spaces");
    assert_eq!(store.count_chat_spaces(org.id).await.expect("count"), 5);
    let space = store
        .list_chat_spaces(
            org.id,
            Page {
                limit: 1,
                cursor: None,
            },
        )
        .await
        .expect("list")
        .remove(0);

    let docs = join_all((0..40).map(|_| {
        store.create_document_within(org.id, new_doc(space.id, DocumentStatus::Pending), Some(5))
    }))
    .await;
    assert_eq!(tally(docs), (5, 35), "documents");
    assert_eq!(
        store
            .count_documents(org.id, space.id, None)
            .await
            .expect("count"),
        5
    );

    // One member (the owner) and four invitations fill five seats.
    let now = Utc::now();
    let invites = join_all((0..40).map(|n| {
        store.create_invitation_within(
            org.id,
            NewInvitation {
                email: format!("seat{n}@example.com"),
                role: Role::Agent,
                token_hash: format!("seat-{n}"),
                invited_by: a.id,
                expires_at: now + Duration::days(7),
            },
            Some(5),
        )
    }))
    .await;
    assert_eq!(tally(invites), (4, 36), "invitations");

    let conversation = store
        .create_conversation(
            org.id,
            space.id,
            Channel::Widget,
            NewConversation::default(),
        )
        .await
        .expect("create")
        .expect("space exists");
    let quota = MessageQuota {
        since: now.date_naive(),
        limit: 5,
    };
    let messages = join_all((0..40).map(|n| {
        store.add_message_within(
            org.id,
            NewMessage::plain(conversation.id, MessageRole::User, format!("question {n}")),
            Some(quota),
        )
    }))
    .await;
    assert_eq!(tally(messages), (5, 35), "visitor messages");
    assert_eq!(
        store
            .count_messages_since(org.id, quota.since)
            .await
            .expect("count"),
        5
    );
    // Without a quota the same insert passes.
    assert!(
        store
            .add_message_within(
                org.id,
                NewMessage::plain(conversation.id, MessageRole::User, "unlimited"),
                None,
            )
            .await
            .expect("add")
            .is_some()
    );
}
