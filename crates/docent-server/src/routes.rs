//! The route table: every endpoint with its method, path, access and purpose. The router,
//! the OpenAPI document and the tenant-isolation test are all built from this one list, so
//! an endpoint cannot exist without being documented and tested.

use std::collections::BTreeMap;

use axum::Router;
use axum::http::Method;
use axum::routing::MethodRouter;

use crate::{AppState, features, ops, widget};

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

pub(crate) fn r(
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
    pub(crate) fn body(mut self, body: &'static str) -> Route {
        self.body = Some(body);
        self
    }
}

/// Every route of the server: each feature's, the public widget's and operations'.
pub fn routes() -> Vec<Route> {
    [
        features::accounts::routes(),
        features::orgs::routes(),
        features::chat_spaces::routes(),
        features::knowledge::routes(),
        features::answers::routes(),
        features::admin::routes(),
        widget::routes(),
        ops::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Upload routes read bodies larger than the JSON limit; the handler enforces the
/// upload limit itself while the file streams in.
pub(crate) fn upload(handler: MethodRouter<AppState>) -> MethodRouter<AppState> {
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
