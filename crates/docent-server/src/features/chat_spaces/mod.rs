//! Chat spaces: their settings, publishing, API keys, the widget's look and the embed code.

pub mod api;
pub mod install;
pub mod pages;

use axum::http::Method as M;
use axum::routing::{delete, get, patch, post, put};

use docent_core::*;

use crate::http::list::{List, ListQuery};
use crate::routes::{Access, Kind, Route, r};

/// This feature's routes (joined into the route table by [`crate::routes::routes`]).
#[rustfmt::skip]
pub fn routes() -> Vec<Route> {
    use Access::*;
    use Kind::*;
    vec![
        r(M::GET, "/api/chat-spaces", ChatSpace, Api, "List chat spaces, newest first (?limit=&cursor=)", get(api::list))
            .query::<ListQuery<ChatSpaceId>>().ok::<List<docent_core::ChatSpace>>(),
        r(M::POST, "/api/chat-spaces", Org, Api, "Create a chat space", post(api::create))
            .json::<docent_app::chat_spaces::CreateChatSpace>().created::<docent_core::ChatSpace>()
            .link(M::GET, "/api/chat-spaces/{id}", "id", "/id")
            .link(M::PATCH, "/api/chat-spaces/{id}", "id", "/id")
            .link(M::DELETE, "/api/chat-spaces/{id}", "id", "/id")
            .link(M::POST, "/api/chat-spaces/{id}/publish", "id", "/id")
            .link(M::GET, "/api/chat-spaces/{id}/widget", "id", "/id")
            .link(M::GET, "/api/chat-spaces/{id}/documents", "id", "/id")
            .link(M::POST, "/api/chat-spaces/{id}/documents/url", "id", "/id")
            .link(M::POST, "/api/chat-spaces/{id}/chat", "id", "/id"),
        r(M::GET, "/api/chat-spaces/{id}", ChatSpace, Api, "Get a chat space", get(api::get))
            .ok::<docent_core::ChatSpace>(),
        r(M::PATCH, "/api/chat-spaces/{id}", ChatSpace, Api, "Change a chat space", patch(api::patch))
            .json::<docent_app::chat_spaces::PatchChatSpace>().ok::<docent_core::ChatSpace>(),
        r(M::DELETE, "/api/chat-spaces/{id}", ChatSpace, Api, "Delete a chat space", delete(api::delete))
            .no_content(),
        r(M::POST, "/api/chat-spaces/{id}/publish", ChatSpace, Api, "Publish (needs a completed document)", post(api::publish))
            .ok::<docent_core::ChatSpace>(),
        r(M::POST, "/api/chat-spaces/{id}/unpublish", ChatSpace, Api, "Back to draft", post(api::unpublish))
            .ok::<docent_core::ChatSpace>(),
        r(M::GET, "/api/chat-spaces/{id}/answer-webhook", ChatSpace, Api, "The answer webhook (answer_mode webhook): its health and latest failures", get(api::answer_webhook))
            .ok::<docent_app::answer_webhook::WebhookStatus>(),
        r(M::POST, "/api/chat-spaces/{id}/answer-webhook/check", ChatSpace, Api, "Check the answer webhook now (n8n's loadPreviousSession, as the hourly check does)", post(api::check_answer_webhook))
            .ok::<docent_app::answer_webhook::WebhookStatus>(),
        r(M::PUT, "/api/chat-spaces/{id}/answer-webhook/auth", ChatSpace, Api, "Set the Basic auth username and password the answer webhook is called with (owners and admins; the password is never shown), then check it", put(api::set_answer_webhook_auth))
            .json::<docent_app::answer_webhook::WebhookAuthInput>().ok::<docent_app::answer_webhook::WebhookStatus>(),
        r(M::DELETE, "/api/chat-spaces/{id}/answer-webhook/auth", ChatSpace, Api, "Call the answer webhook without credentials (owners and admins), then check it", delete(api::remove_answer_webhook_auth))
            .ok::<docent_app::answer_webhook::WebhookStatus>(),
        r(M::GET, "/api/chat-spaces/{id}/identity", ChatSpace, Api, "Verified visitor identity: whether a secret exists, and whether only signed-in visitors may chat (owners and admins)", get(api::identity))
            .ok::<docent_app::identity::IdentityStatus>(),
        r(M::POST, "/api/chat-spaces/{id}/identity/rotate-secret", ChatSpace, Api, "Make the identity secret (shown once) that the site signs visitor_id.expires with; a new one leaves the old valid for 24 hours", post(api::rotate_identity_secret))
            .ok::<docent_app::identity::IdentitySecret>(),
        r(M::GET, "/api/chat-spaces/{id}/widget", ChatSpace, Api, "Embed code: script tag, iframe, share link", get(api::widget))
            .ok::<docent_app::chat_spaces::EmbedCode>(),
        r(M::GET, "/api/api-keys", Org, Api, "API keys (?chat_space_id=)", get(api::list_keys))
            .query::<api::KeyQuery>().ok::<Vec<ApiKey>>(),
        r(M::POST, "/api/api-keys", Org, Api, "Create an API key; the secret is shown once", post(api::create_key))
            .json::<docent_app::api_keys::CreateApiKey>().created::<api::ApiKeyCreated>()
            .link(M::DELETE, "/api/api-keys/{key_id}", "key_id", "/id"),
        r(M::DELETE, "/api/api-keys/{key_id}", Org, Api, "Revoke an API key", delete(api::revoke_key))
            .no_content(),
        r(M::GET, "/app", ChatSpace, Page, "Chat spaces (those the caller sees)", get(pages::index)),
        r(M::GET, "/app/chat-spaces/new", Org, Page, "New chat space form", get(pages::new_page)),
        r(M::POST, "/app/chat-spaces", Org, Page, "Create a chat space", post(pages::create)),
        r(M::GET, "/app/chat-spaces/{id}", ChatSpace, Page, "A chat space's settings", get(pages::show)),
        r(M::POST, "/app/chat-spaces/{id}", ChatSpace, Page, "Save a chat space's settings", post(pages::update)),
        r(M::POST, "/app/chat-spaces/{id}/publish", ChatSpace, Page, "Publish", post(pages::publish)),
        r(M::POST, "/app/chat-spaces/{id}/answer-webhook/check", ChatSpace, Page, "Check the answer webhook now", post(pages::check_answer_webhook)),
        r(M::POST, "/app/chat-spaces/{id}/answer-webhook/auth", ChatSpace, Page, "Save or remove the answer webhook's Basic auth", post(pages::save_answer_webhook_auth)),
        r(M::POST, "/app/chat-spaces/{id}/unpublish", ChatSpace, Page, "Unpublish", post(pages::unpublish)),
        r(M::POST, "/app/chat-spaces/{id}/delete", ChatSpace, Page, "Delete", post(pages::delete)),
        r(M::POST, "/app/chat-spaces/{id}/api-keys", ChatSpace, Page, "Create an API key", post(pages::create_key)),
        r(M::POST, "/app/chat-spaces/{id}/api-keys/{key_id}/revoke", ChatSpace, Page, "Revoke an API key", post(pages::revoke_key)),
        r(M::GET, "/app/chat-spaces/{id}/appearance", ChatSpace, Page, "The widget's look, with a live preview", get(install::appearance)),
        r(M::POST, "/app/chat-spaces/{id}/appearance", ChatSpace, Page, "Save the widget's look", post(install::save_appearance)),
        r(M::GET, "/app/chat-spaces/{id}/install", ChatSpace, Page, "Embed snippets and allowed origins", get(install::install)),
        r(M::POST, "/app/chat-spaces/{id}/install", ChatSpace, Page, "Save the allowed origins", post(install::save_origins)),
        r(M::POST, "/app/chat-spaces/{id}/identity", ChatSpace, Page, "Whether only signed-in visitors may chat", post(install::save_identity)),
        r(M::POST, "/app/chat-spaces/{id}/identity/rotate", ChatSpace, Page, "Make the identity secret (shown once)", post(install::rotate_identity)),
    ]
}
