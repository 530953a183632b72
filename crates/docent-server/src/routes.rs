//! The route table: every endpoint with its method, path, access and purpose. The router,
//! the OpenAPI document and the tenant-isolation test are all built from this one list, so
//! an endpoint cannot exist without being documented and tested.

use std::collections::BTreeMap;

use axum::Router;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, patch, post, put};

use crate::{AppState, api, dashboard, ops, widget};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// A logged-in person, whatever their organization.
    User,
    /// A member (or API key) acting in their organization as a whole: members, invitations,
    /// API keys, plans. A key limited to one chat space is refused (403 `api_key_scope`).
    Org,
    /// A member (or API key) acting on one chat space or what it holds (documents,
    /// conversations). A key limited to one chat space reaches these, and through them only
    /// its own chat space; another's is a 404 to it, as another organization's is to anyone.
    ChatSpace,
    /// A platform administrator.
    PlatformAdmin,
}

/// What a route serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// JSON API, in the OpenAPI document.
    Api,
    /// Dashboard HTML.
    Page,
    /// Health, metrics, documents, assets.
    Ops,
}

pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub summary: &'static str,
    pub access: Access,
    pub kind: Kind,
    /// A description of the JSON body, for routes that take one.
    pub body: Option<&'static str>,
    handler: MethodRouter<AppState>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

fn r(
    method: Method,
    path: &'static str,
    access: Access,
    kind: Kind,
    summary: &'static str,
    handler: MethodRouter<AppState>,
) -> Route {
    Route {
        method,
        path,
        summary,
        access,
        kind,
        body: None,
        handler,
    }
}

impl Access {
    /// Routes of one organization's data (the tenant routes).
    pub fn is_tenant(self) -> bool {
        matches!(self, Access::Org | Access::ChatSpace)
    }
}

/// Marks a request to an organization-wide route, for [`crate::auth::Caller`] to refuse
/// keys limited to one chat space.
#[derive(Clone, Copy, Debug)]
pub struct OrgWide;

async fn org_wide(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    request.extensions_mut().insert(OrgWide);
    next.run(request).await
}

impl Route {
    fn body(mut self, body: &'static str) -> Route {
        self.body = Some(body);
        self
    }
}

/// Every route of the server.
pub fn routes() -> Vec<Route> {
    use Access::*;
    use Kind::*;
    use Method as M;
    vec![
        // ---- accounts ----
        r(M::POST, "/api/auth/signup", Public, Api, "Create an account and its first organization; logs in", post(api::auth::signup))
            .body("{email, password, name?, organization_name?}"),
        r(M::POST, "/api/auth/login", Public, Api, "Log in; sets the session cookie", post(api::auth::login))
            .body("{email, password}"),
        r(M::POST, "/api/auth/logout", Public, Api, "Log out", post(api::auth::logout)),
        r(M::POST, "/api/auth/forgot-password", Public, Api, "Email a password reset link", post(api::auth::forgot_password))
            .body("{email}"),
        r(M::POST, "/api/auth/reset-password", Public, Api, "Set a new password with a reset token", post(api::auth::reset_password))
            .body("{token, password}"),
        r(M::GET, "/api/auth/me", Org, Api, "The logged-in user, active organization and role", get(api::auth::me)),
        // ---- organizations ----
        r(M::GET, "/api/organizations", User, Api, "Organizations the user belongs to", get(api::orgs::list)),
        r(M::POST, "/api/organizations", User, Api, "Create an organization", post(api::orgs::create)).body("{name}"),
        r(M::POST, "/api/organizations/switch", User, Api, "Switch the active organization", post(api::orgs::switch))
            .body("{org_id}"),
        r(M::GET, "/api/organization", Org, Api, "The active organization, role and plan usage", get(api::orgs::current)),
        r(M::DELETE, "/api/organization", Org, Api, "Delete the active organization (owner)", delete(api::orgs::delete)),
        r(M::GET, "/api/organization/members", Org, Api, "Members and roles", get(api::orgs::members)),
        r(M::PATCH, "/api/organization/members/{user_id}", Org, Api, "Change a member's role", patch(api::orgs::change_role))
            .body("{role}"),
        r(M::DELETE, "/api/organization/members/{user_id}", Org, Api, "Remove a member (or leave)", delete(api::orgs::remove_member)),
        r(M::GET, "/api/organization/invitations", Org, Api, "Pending invitations", get(api::orgs::invitations)),
        r(M::POST, "/api/organization/invitations", Org, Api, "Invite someone by email", post(api::orgs::invite))
            .body("{email, role}"),
        r(M::DELETE, "/api/organization/invitations/{invitation_id}", Org, Api, "Revoke an invitation", delete(api::orgs::revoke_invitation)),
        r(M::POST, "/api/invitations/accept", User, Api, "Accept an invitation", post(api::orgs::accept_invitation))
            .body("{token}"),
        // ---- chat spaces ----
        r(M::GET, "/api/chat-spaces", ChatSpace, Api, "List chat spaces, newest first (?limit=&cursor=)", get(api::chat_spaces::list)),
        r(M::POST, "/api/chat-spaces", Org, Api, "Create a chat space", post(api::chat_spaces::create))
            .body("{name, description?, endpoint_slug?, widget_config?, ai_config?, retrieval_config?, allowed_origins?}"),
        r(M::GET, "/api/chat-spaces/{id}", ChatSpace, Api, "Get a chat space", get(api::chat_spaces::get)),
        r(M::PATCH, "/api/chat-spaces/{id}", ChatSpace, Api, "Change a chat space", patch(api::chat_spaces::patch))
            .body("{name?, description?, endpoint_slug?, status?, widget_config?, ai_config?, retrieval_config?, allowed_origins?, answer_mode?, webhook_url?}"),
        r(M::DELETE, "/api/chat-spaces/{id}", ChatSpace, Api, "Delete a chat space", delete(api::chat_spaces::delete)),
        r(M::POST, "/api/chat-spaces/{id}/publish", ChatSpace, Api, "Publish (needs a completed document)", post(api::chat_spaces::publish)),
        r(M::POST, "/api/chat-spaces/{id}/unpublish", ChatSpace, Api, "Back to draft", post(api::chat_spaces::unpublish)),
        r(M::GET, "/api/chat-spaces/{id}/widget", ChatSpace, Api, "Embed code: script tag, iframe, share link", get(api::chat_spaces::widget)),
        // ---- knowledge ----
        r(M::GET, "/api/chat-spaces/{id}/documents", ChatSpace, Api, "Documents of a chat space with status and progress", get(api::documents::list)),
        r(M::GET, "/api/chat-spaces/{id}/documents/events", ChatSpace, Api, "Server-sent events of document progress while any is processing", get(api::documents::events)),
        r(M::POST, "/api/chat-spaces/{id}/documents/upload", ChatSpace, Api, "Upload files (multipart: file…, citable)", upload(post(api::documents::upload)))
            .body("multipart/form-data: file (one or more), citable (true|false)"),
        r(M::POST, "/api/chat-spaces/{id}/documents/url", ChatSpace, Api, "Add a web page; it is fetched and processed in the background", post(api::documents::add_url))
            .body("{url, citable?}"),
        r(M::GET, "/api/chat-spaces/{id}/search", ChatSpace, Api, "Search a chat space's knowledge (?q=&limit=&mode=fulltext|vector)", get(api::documents::search)),
        r(M::GET, "/api/documents/{document_id}", ChatSpace, Api, "Get a document", get(api::documents::get)),
        r(M::PATCH, "/api/documents/{document_id}", ChatSpace, Api, "Change a document's title or citable flag", patch(api::documents::patch))
            .body("{citable?, title?}"),
        r(M::DELETE, "/api/documents/{document_id}", ChatSpace, Api, "Delete a document and its chunks", delete(api::documents::delete)),
        r(M::POST, "/api/documents/{document_id}/reprocess", ChatSpace, Api, "Process a document again", post(api::documents::reprocess)),
        r(M::GET, "/api/documents/{document_id}/chunks", ChatSpace, Api, "A document's chunks in order (?after=&limit=)", get(api::documents::chunks)),
        // ---- answers ----
        r(M::POST, "/api/chat-spaces/{id}/chat", ChatSpace, Api, "Ask a question (playground / API): JSON answer, or SSE events start, delta, done, error with Accept: text/event-stream", post(api::answers::chat))
            .body("{message, conversation_id?}"),
        r(M::GET, "/api/chat-spaces/{id}/conversations", ChatSpace, Api, "Conversations, most recent first (?limit=&cursor=)", get(api::answers::conversations)),
        r(M::GET, "/api/conversations/{conversation_id}/messages", ChatSpace, Api, "A conversation's messages in order (?after=&limit=)", get(api::answers::messages)),
        r(M::GET, "/api/chat-spaces/{id}/knowledge-gaps", ChatSpace, Api, "Questions the knowledge could not answer, newest first (?limit=)", get(api::answers::knowledge_gaps)),
        // ---- the public widget (published chat spaces; origin allowlist, rate limits) ----
        r(M::GET, "/api/widget/{slug}/config", Public, Api, "The widget's look and wording", get(widget::api::config)),
        r(M::POST, "/api/widget/{slug}/conversation", Public, Api, "Start a visitor conversation", post(widget::api::open_conversation))
            .body("{visitor_id, name?, email?, locale?, referrer?}"),
        r(M::GET, "/api/widget/{slug}/conversation/{conversation_id}", Public, Api, "A visitor's conversation and its messages (?visitor_id=)", get(widget::api::history)),
        r(M::POST, "/api/widget/{slug}/chat", Public, Api, "Ask as a visitor: JSON answer, or SSE events start, delta, done, error with Accept: text/event-stream", post(widget::api::chat))
            .body("{message, visitor_id, conversation_id?, name?, email?, locale?, referrer?}"),
        r(M::POST, "/api/widget/{slug}/feedback", Public, Api, "Thumbs up or down on an answer (null takes it back)", post(widget::api::feedback))
            .body("{visitor_id, conversation_id, message_id, feedback}"),
        // ---- API keys ----
        r(M::GET, "/api/api-keys", Org, Api, "API keys (?chat_space_id=)", get(api::chat_spaces::list_keys)),
        r(M::POST, "/api/api-keys", Org, Api, "Create an API key; the secret is shown once", post(api::chat_spaces::create_key))
            .body("{name, chat_space_id?}"),
        r(M::DELETE, "/api/api-keys/{key_id}", Org, Api, "Revoke an API key", delete(api::chat_spaces::revoke_key)),
        // ---- platform administration ----
        r(M::GET, "/api/admin/organizations", PlatformAdmin, Api, "Every organization", get(api::admin::organizations)),
        r(M::PUT, "/api/admin/organizations/{org_id}/plan", PlatformAdmin, Api, "Change an organization's plan", put(api::admin::set_plan))
            .body("{plan}"),
        r(M::GET, "/api/admin/outbox", PlatformAdmin, Api, "Emails kept because SMTP is not configured", get(api::admin::outbox)),
        // ---- operations ----
        r(M::GET, "/health", Public, Ops, "Liveness", get(ops::health)),
        r(M::GET, "/ready", Public, Ops, "Readiness: the database answers", get(ops::ready)),
        r(M::GET, "/metrics", Public, Ops, "Prometheus metrics", get(ops::metrics)),
        r(M::GET, "/api/openapi.json", Public, Ops, "This API's OpenAPI document", get(ops::openapi)),
        r(M::GET, "/assets/{file}", Public, Ops, "Dashboard CSS and JavaScript", get(dashboard::assets::serve)),
        r(M::GET, "/widget.js", Public, Ops, "The widget loader for the script-tag embed", get(widget::assets::loader)),
        r(M::GET, "/widget/{file}", Public, Ops, "The widget's chat UI, loaded on first open", get(widget::assets::ui)),
        r(M::GET, "/embed/{slug}", Public, Page, "The chat for an iframe embed", get(widget::pages::embed)),
        r(M::GET, "/c/{slug}", Public, Page, "A chat space's share page", get(widget::pages::share)),
        // ---- dashboard pages ----
        r(M::GET, "/", Public, Page, "Home: the dashboard or the log-in page", get(dashboard::accounts::home)),
        r(M::GET, "/signup", Public, Page, "Sign-up form", get(dashboard::accounts::signup_page)),
        r(M::POST, "/signup", Public, Page, "Sign up", post(dashboard::accounts::signup)),
        r(M::GET, "/login", Public, Page, "Log-in form", get(dashboard::accounts::login_page)),
        r(M::POST, "/login", Public, Page, "Log in", post(dashboard::accounts::login)),
        r(M::POST, "/logout", Public, Page, "Log out", post(dashboard::accounts::logout)),
        r(M::GET, "/forgot-password", Public, Page, "Forgot-password form", get(dashboard::accounts::forgot_page)),
        r(M::POST, "/forgot-password", Public, Page, "Send a reset link", post(dashboard::accounts::forgot)),
        r(M::GET, "/reset-password", Public, Page, "Reset-password form", get(dashboard::accounts::reset_page)),
        r(M::POST, "/reset-password", Public, Page, "Set a new password", post(dashboard::accounts::reset)),
        r(M::GET, "/invite", Public, Page, "An invitation", get(dashboard::members::invite_page)),
        r(M::POST, "/invite", User, Page, "Accept an invitation", post(dashboard::members::accept)),
        r(M::GET, "/app", Org, Page, "Chat spaces", get(dashboard::chat_spaces::index)),
        r(M::GET, "/app/chat-spaces/new", Org, Page, "New chat space form", get(dashboard::chat_spaces::new_page)),
        r(M::POST, "/app/chat-spaces", Org, Page, "Create a chat space", post(dashboard::chat_spaces::create)),
        r(M::GET, "/app/chat-spaces/{id}", ChatSpace, Page, "A chat space's settings", get(dashboard::chat_spaces::show)),
        r(M::POST, "/app/chat-spaces/{id}", ChatSpace, Page, "Save a chat space's settings", post(dashboard::chat_spaces::update)),
        r(M::POST, "/app/chat-spaces/{id}/publish", ChatSpace, Page, "Publish", post(dashboard::chat_spaces::publish)),
        r(M::POST, "/app/chat-spaces/{id}/unpublish", ChatSpace, Page, "Unpublish", post(dashboard::chat_spaces::unpublish)),
        r(M::POST, "/app/chat-spaces/{id}/delete", ChatSpace, Page, "Delete", post(dashboard::chat_spaces::delete)),
        r(M::POST, "/app/chat-spaces/{id}/api-keys", ChatSpace, Page, "Create an API key", post(dashboard::chat_spaces::create_key)),
        r(M::POST, "/app/chat-spaces/{id}/api-keys/{key_id}/revoke", ChatSpace, Page, "Revoke an API key", post(dashboard::chat_spaces::revoke_key)),
        r(M::GET, "/app/chat-spaces/{id}/knowledge", ChatSpace, Page, "A chat space's knowledge", get(dashboard::knowledge::index)),
        r(M::POST, "/app/chat-spaces/{id}/documents", ChatSpace, Page, "Upload files", upload(post(dashboard::knowledge::upload))),
        r(M::POST, "/app/chat-spaces/{id}/urls", ChatSpace, Page, "Add a web page", post(dashboard::knowledge::add_url)),
        r(M::GET, "/app/chat-spaces/{id}/playground", ChatSpace, Page, "Try the chatbot: answers, citations, retrieved chunks", get(dashboard::playground::index)),
        r(M::POST, "/app/chat-spaces/{id}/playground", ChatSpace, Page, "Ask in the playground (without JavaScript)", post(dashboard::playground::ask)),
        r(M::GET, "/app/chat-spaces/{id}/appearance", ChatSpace, Page, "The widget's look, with a live preview", get(dashboard::widget::appearance)),
        r(M::POST, "/app/chat-spaces/{id}/appearance", ChatSpace, Page, "Save the widget's look", post(dashboard::widget::save_appearance)),
        r(M::GET, "/app/chat-spaces/{id}/install", ChatSpace, Page, "Embed snippets and allowed origins", get(dashboard::widget::install)),
        r(M::POST, "/app/chat-spaces/{id}/install", ChatSpace, Page, "Save the allowed origins", post(dashboard::widget::save_origins)),
        r(M::GET, "/app/documents/{document_id}", ChatSpace, Page, "A document and its chunks", get(dashboard::knowledge::show)),
        r(M::POST, "/app/documents/{document_id}/citable", ChatSpace, Page, "Citable or learn-only", post(dashboard::knowledge::set_citable)),
        r(M::POST, "/app/documents/{document_id}/reprocess", ChatSpace, Page, "Process a document again", post(dashboard::knowledge::reprocess)),
        r(M::POST, "/app/documents/{document_id}/delete", ChatSpace, Page, "Delete a document", post(dashboard::knowledge::delete)),
        r(M::GET, "/app/members", Org, Page, "Members and invitations", get(dashboard::members::index)),
        r(M::POST, "/app/members/invite", Org, Page, "Invite a member", post(dashboard::members::invite)),
        r(M::POST, "/app/members/{user_id}/role", Org, Page, "Change a role", post(dashboard::members::change_role)),
        r(M::POST, "/app/members/{user_id}/remove", Org, Page, "Remove a member", post(dashboard::members::remove)),
        r(M::POST, "/app/invitations/{invitation_id}/revoke", Org, Page, "Revoke an invitation", post(dashboard::members::revoke_invitation)),
        r(M::GET, "/app/organization", Org, Page, "Organization, plan and usage", get(dashboard::members::organization)),
        r(M::POST, "/app/organization/delete", Org, Page, "Delete the organization", post(dashboard::members::delete_organization)),
        r(M::GET, "/app/organizations/new", User, Page, "New organization form", get(dashboard::members::new_org_page)),
        r(M::POST, "/app/organizations", User, Page, "Create an organization", post(dashboard::members::create_org)),
        r(M::POST, "/app/switch-org", User, Page, "Switch organization", post(dashboard::members::switch_org)),
        r(M::GET, "/admin", PlatformAdmin, Page, "Platform administration", get(dashboard::admin::index)),
        r(M::POST, "/admin/organizations/{org_id}/plan", PlatformAdmin, Page, "Change a plan", post(dashboard::admin::set_plan)),
    ]
}

/// Upload routes read bodies larger than the JSON limit; the handler enforces the
/// upload limit itself while the file streams in.
fn upload(handler: MethodRouter<AppState>) -> MethodRouter<AppState> {
    handler.layer(axum::extract::DefaultBodyLimit::disable())
}

/// The router of every route (one `MethodRouter` a path).
pub fn router() -> Router<AppState> {
    let mut by_path: BTreeMap<&'static str, MethodRouter<AppState>> = BTreeMap::new();
    for route in routes() {
        let handler = match route.access {
            Access::Org => route.handler.layer(axum::middleware::from_fn(org_wide)),
            _ => route.handler,
        };
        let merged = match by_path.remove(route.path) {
            Some(existing) => existing.merge(handler),
            None => handler,
        };
        by_path.insert(route.path, merged);
    }
    by_path
        .into_iter()
        .fold(Router::new(), |router, (path, handler)| {
            router.route(path, handler.fallback(ops::method_not_allowed))
        })
}
