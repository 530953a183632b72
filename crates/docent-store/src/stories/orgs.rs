//! Conformance stories of organizations, members, invitations and plan limits.

use chrono::{Duration, Utc};
use docent_core::*;

use super::*;
use crate::{MessageQuota, Store, StoreError};

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
