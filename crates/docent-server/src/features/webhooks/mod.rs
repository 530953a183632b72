//! Outbound webhooks: an organization's endpoints, their signing secrets, a test, and the
//! delivery log with redelivery (Standard Webhooks v1).

pub mod api;
pub mod pages;

use axum::http::Method as M;
use axum::routing::{get, post};

use docent_core::*;

use crate::http::list::{Data, List};
use crate::routes::{Access, Kind, Route, r};

/// This feature's routes (joined into the route table by [`crate::routes::routes`]).
#[rustfmt::skip]
pub fn routes() -> Vec<Route> {
    use Access::*;
    use Kind::*;
    vec![
        r(M::GET, "/api/webhooks", Org, Api, "The organization's webhook endpoints (owners and admins)", get(api::list))
            .ok::<Data<WebhookEndpoint>>(),
        r(M::POST, "/api/webhooks", Org, Api, "Add an endpoint: events are POSTed to it, signed as Standard Webhooks say; its whsec_ secret is shown this once", post(api::create))
            .json::<docent_app::webhooks::WebhookInput>().created::<docent_app::webhooks::CreatedWebhook>()
            .link(M::GET, "/api/webhooks/{webhook_id}", "webhook_id", "/id")
            .link(M::PATCH, "/api/webhooks/{webhook_id}", "webhook_id", "/id")
            .link(M::DELETE, "/api/webhooks/{webhook_id}", "webhook_id", "/id"),
        r(M::GET, "/api/webhooks/{webhook_id}", Org, Api, "An endpoint", get(api::get))
            .ok::<WebhookEndpoint>(),
        r(M::PATCH, "/api/webhooks/{webhook_id}", Org, Api, "Change an endpoint's address, events or chat space; enabled: true turns a disabled one back on", axum::routing::patch(api::update))
            .json::<docent_app::webhooks::WebhookPatch>().ok::<WebhookEndpoint>(),
        r(M::DELETE, "/api/webhooks/{webhook_id}", Org, Api, "Delete an endpoint and its delivery log", axum::routing::delete(api::delete))
            .no_content(),
        r(M::POST, "/api/webhooks/{webhook_id}/rotate-secret", Org, Api, "A new secret, shown this once; the one before keeps signing for 24 hours", post(api::rotate_secret))
            .ok::<docent_app::webhooks::RotatedSecret>(),
        r(M::POST, "/api/webhooks/{webhook_id}/test", Org, Api, "Send a webhook.test event now, once, and see what the endpoint answered", post(api::test))
            .ok::<WebhookDelivery>(),
        r(M::GET, "/api/webhooks/{webhook_id}/deliveries", Org, Api, "The endpoint's deliveries, newest first: status, attempts, the last answer", get(api::deliveries))
            .query::<crate::http::list::ListQuery<WebhookDeliveryId>>().ok::<List<WebhookDelivery>>(),
        r(M::POST, "/api/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", Org, Api, "Send a delivery again, once, now (same webhook-id)", post(api::redeliver))
            .answers::<WebhookDelivery>(202),
        r(M::GET, "/app/webhooks", Org, Page, "Webhooks: endpoints, secrets, tests", get(pages::index)),
        r(M::POST, "/app/webhooks", Org, Page, "Add a webhook (its secret is shown once)", post(pages::create)),
        r(M::GET, "/app/webhooks/{webhook_id}", Org, Page, "A webhook's delivery log", get(pages::show)),
        r(M::POST, "/app/webhooks/{webhook_id}/test", Org, Page, "Send a test event and show the answer", post(pages::test)),
        r(M::POST, "/app/webhooks/{webhook_id}/rotate", Org, Page, "Rotate the secret (the old one signs for 24 h more)", post(pages::rotate)),
        r(M::POST, "/app/webhooks/{webhook_id}/toggle", Org, Page, "Turn a webhook off or back on", post(pages::toggle)),
        r(M::POST, "/app/webhooks/{webhook_id}/delete", Org, Page, "Delete a webhook", post(pages::delete)),
        r(M::POST, "/app/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", Org, Page, "Send a delivery again", post(pages::redeliver)),
    ]
}
