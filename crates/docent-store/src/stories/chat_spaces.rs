//! Conformance stories of chat spaces and API keys.

use chrono::Utc;
use docent_core::*;
use serde_json::json;

use super::*;
use crate::{Store, StoreError};

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

pub async fn answer_webhook_credentials_stay_in_their_chat_space(store: &impl Store) {
    let (_, org_a, _, org_b) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("guarded"))
        .await
        .expect("create");
    let at = Utc::now();
    assert_eq!(
        store.webhook_auth(org_a.id, space.id).await.expect("read"),
        None
    );
    let first = BasicAuth::new("docent", "s3cret: with a colon");
    store
        .set_webhook_auth(org_a.id, space.id, Some(&first), at)
        .await
        .expect("set");
    let read = store
        .webhook_auth(org_a.id, space.id)
        .await
        .expect("read")
        .expect("set");
    assert_eq!(read, first);

    // Another organization can neither read nor write them.
    assert_eq!(
        store.webhook_auth(org_b.id, space.id).await.expect("read"),
        None
    );
    store
        .set_webhook_auth(org_b.id, space.id, Some(&BasicAuth::new("x", "y")), at)
        .await
        .expect("set elsewhere");
    store
        .set_webhook_auth(org_b.id, space.id, None, at)
        .await
        .expect("remove elsewhere");
    let second = BasicAuth::new("n8n-user", "another");
    store
        .set_webhook_auth(org_a.id, space.id, Some(&second), at)
        .await
        .expect("replace");
    let read = store
        .webhook_auth(org_a.id, space.id)
        .await
        .expect("read")
        .expect("still set");
    assert_eq!(
        read, second,
        "replaced, and untouched by the other organization"
    );

    store
        .set_webhook_auth(org_a.id, space.id, None, at)
        .await
        .expect("remove");
    assert_eq!(
        store.webhook_auth(org_a.id, space.id).await.expect("read"),
        None
    );
}
