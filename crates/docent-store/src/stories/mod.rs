//! Conformance stories: what every backend must do, written once and run against SQLite and
//! PostgreSQL by [`conformance_tests!`](crate::conformance_tests). Each story gets a fresh,
//! migrated, empty store.

use docent_core::*;
use serde_json::json;

use crate::Store;

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
            throttle_failures_are_counted_cleared_and_pruned,
            chat_spaces_belong_to_their_organization,
            chat_space_slugs_are_unique,
            chat_spaces_page_newest_first,
            chat_space_patches_change_only_what_they_name,
            publishing_sets_published_at,
            answer_webhook_credentials_stay_in_their_chat_space,
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
            visitors_rate_answers_and_conversations_close,
            conversations_are_found_by_status_feedback_and_time,
            messages_of_a_range_of_conversations_come_in_pages,
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

mod accounts;
mod answers;
mod chat_spaces;
mod jobs;
mod knowledge;
mod orgs;

pub use accounts::*;
pub use answers::*;
pub use chat_spaces::*;
pub use jobs::*;
pub use knowledge::*;
pub use orgs::*;

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
