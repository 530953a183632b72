//! Platform administration: every organization, plans, the outbox.

pub mod api;
pub mod pages;

use axum::http::Method as M;
use axum::routing::{get, post, put};

use docent_core::*;

use crate::http::list::{List, ListQuery};
use crate::routes::{Access, Kind, Route, r};

/// This feature's routes (joined into the route table by [`crate::routes::routes`]).
#[rustfmt::skip]
pub fn routes() -> Vec<Route> {
    use Access::*;
    use Kind::*;
    vec![
        r(M::GET, "/api/admin/organizations", PlatformAdmin, Api, "Every organization", get(api::organizations))
            .query::<ListQuery<OrgId>>().ok::<List<Organization>>(),
        r(M::PUT, "/api/admin/organizations/{org_id}/plan", PlatformAdmin, Api, "Change an organization's plan", put(api::set_plan))
            .json::<api::PlanInput>().ok::<Organization>(),
        r(M::GET, "/api/admin/outbox", PlatformAdmin, Api, "Emails kept because SMTP is not configured", get(api::outbox))
            .ok::<Vec<OutboxEmail>>(),
        r(M::GET, "/admin", PlatformAdmin, Page, "Platform administration", get(pages::index)),
        r(M::POST, "/admin/organizations/{org_id}/plan", PlatformAdmin, Page, "Change a plan", post(pages::set_plan)),
    ]
}
