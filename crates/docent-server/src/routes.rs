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

/// Describes a type in the OpenAPI document: its JSON Schema, or a reference to it.
pub type SchemaFn = fn(&mut schemars::SchemaGenerator) -> schemars::Schema;

/// What a route takes in its body.
#[derive(Clone, Copy, Debug)]
pub enum Body {
    /// JSON of this type.
    Json(SchemaFn),
    /// `multipart/form-data` with these file and text fields.
    Multipart,
}

/// What a route answers with when it succeeds.
#[derive(Clone, Copy, Debug)]
pub enum Returns {
    /// This status with JSON of this type.
    Json(u16, SchemaFn),
    /// This status, no body.
    Empty(u16),
    /// Server-sent events (named events with JSON data).
    Events,
    /// JSON of this type, or server-sent events with `Accept: text/event-stream`.
    JsonOrEvents(SchemaFn),
    /// A file to save, streamed, in one of these media types.
    Download(&'static [&'static str]),
}

/// A follow-up the OpenAPI document links from a route's answer: the operation at
/// (`method`, `path`) takes the answer's `field` as its path parameter `parameter`.
#[derive(Clone, Debug)]
pub struct Link {
    pub method: Method,
    pub path: &'static str,
    pub parameter: &'static str,
    pub field: &'static str,
}

pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub summary: &'static str,
    pub access: Access,
    pub kind: Kind,
    /// The body, for routes that take one.
    pub body: Option<Body>,
    /// The query string's parameters, as the properties of this type.
    pub query: Option<SchemaFn>,
    /// The answer on success.
    pub returns: Option<Returns>,
    /// Operations that take a value of the answer.
    pub links: Vec<Link>,
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
        query: None,
        returns: None,
        links: Vec::new(),
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

fn schema<T: schemars::JsonSchema>(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    generator.subschema_for::<T>()
}

impl Route {
    /// Takes a JSON body of type `T`.
    pub(crate) fn json<T: schemars::JsonSchema>(mut self) -> Route {
        self.body = Some(Body::Json(schema::<T>));
        self
    }

    /// Takes a `multipart/form-data` upload.
    pub(crate) fn multipart(mut self) -> Route {
        self.body = Some(Body::Multipart);
        self
    }

    /// Takes the query parameters of `T`.
    pub(crate) fn query<T: schemars::JsonSchema>(mut self) -> Route {
        self.query = Some(schema::<T>);
        self
    }

    /// Answers 200 with JSON of type `T`.
    pub(crate) fn ok<T: schemars::JsonSchema>(self) -> Route {
        self.answers::<T>(200)
    }

    /// Answers 201 with JSON of type `T`.
    pub(crate) fn created<T: schemars::JsonSchema>(self) -> Route {
        self.answers::<T>(201)
    }

    /// Answers `status` with JSON of type `T`.
    pub(crate) fn answers<T: schemars::JsonSchema>(mut self, status: u16) -> Route {
        self.returns = Some(Returns::Json(status, schema::<T>));
        self
    }

    /// Answers 204 without a body.
    pub(crate) fn no_content(mut self) -> Route {
        self.returns = Some(Returns::Empty(204));
        self
    }

    /// Answers with server-sent events.
    pub(crate) fn events(mut self) -> Route {
        self.returns = Some(Returns::Events);
        self
    }

    /// Answers JSON of type `T`, or the same as server-sent events.
    pub(crate) fn answer_or_events<T: schemars::JsonSchema>(mut self) -> Route {
        self.returns = Some(Returns::JsonOrEvents(schema::<T>));
        self
    }

    /// Answers with a file to save, in one of `media_types`.
    pub(crate) fn download(mut self, media_types: &'static [&'static str]) -> Route {
        self.returns = Some(Returns::Download(media_types));
        self
    }

    /// The answer's `field` is the path parameter `parameter` of `method path`.
    pub(crate) fn link(
        mut self,
        method: Method,
        path: &'static str,
        parameter: &'static str,
        field: &'static str,
    ) -> Route {
        self.links.push(Link {
            method,
            path,
            parameter,
            field,
        });
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
        features::insights::routes(),
        features::inbox::routes(),
        features::openai::routes(),
        features::webhooks::routes(),
        features::leads::routes(),
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
