//! Organizations: members and their roles, invitations, switching, plan usage.

pub mod api;
pub mod pages;

use axum::http::Method as M;
use axum::routing::{delete, get, patch, post, put};

use docent_core::*;

use crate::routes::{Access, Kind, Route, r};

/// This feature's routes (joined into the route table by [`crate::routes::routes`]).
#[rustfmt::skip]
pub fn routes() -> Vec<Route> {
    use Access::*;
    use Kind::*;
    vec![
        r(M::GET, "/api/organizations", User, Api, "Organizations the user belongs to", get(api::list))
            .ok::<Vec<OrgMembership>>(),
        r(M::POST, "/api/organizations", User, Api, "Create an organization", post(api::create))
            .json::<docent_app::orgs::CreateOrgInput>().created::<Organization>(),
        r(M::POST, "/api/organizations/switch", User, Api, "Switch the active organization", post(api::switch))
            .json::<api::SwitchInput>().ok::<OrgMembership>(),
        r(M::GET, "/api/organization", Org, Api, "The active organization, role and plan usage", get(api::current))
            .ok::<api::OrgView>(),
        r(M::DELETE, "/api/organization", Org, Api, "Delete the active organization (owner)", delete(api::delete))
            .no_content(),
        r(M::GET, "/api/organization/members", Org, Api, "Members and roles", get(api::members))
            .ok::<Vec<Member>>(),
        r(M::PATCH, "/api/organization/members/{user_id}", Org, Api, "Change a member's role", patch(api::change_role))
            .json::<docent_app::orgs::RoleInput>().ok::<Member>(),
        r(M::GET, "/api/organization/members/{user_id}/chat-spaces", Org, Api, "Which chat spaces a member sees: all (null) or a list", get(api::member_access))
            .ok::<docent_app::orgs::MemberAccess>(),
        r(M::PUT, "/api/organization/members/{user_id}/chat-spaces", Org, Api, "Limit a viewer to some chat spaces (an agency's client: their conversations and analytics only), or null for all", put(api::set_member_access))
            .json::<docent_app::orgs::MemberAccess>().ok::<docent_app::orgs::MemberAccess>(),
        r(M::DELETE, "/api/organization/members/{user_id}", Org, Api, "Remove a member (or leave)", delete(api::remove_member))
            .no_content(),
        r(M::GET, "/api/organization/invitations", Org, Api, "Pending invitations", get(api::invitations))
            .ok::<Vec<Invitation>>(),
        r(M::POST, "/api/organization/invitations", Org, Api, "Invite someone by email", post(api::invite))
            .json::<docent_app::orgs::InviteInput>().created::<api::InvitationCreated>()
            .link(M::DELETE, "/api/organization/invitations/{invitation_id}", "invitation_id", "/id"),
        r(M::DELETE, "/api/organization/invitations/{invitation_id}", Org, Api, "Revoke an invitation", delete(api::revoke_invitation))
            .no_content(),
        r(M::POST, "/api/invitations/accept", User, Api, "Accept an invitation", post(api::accept_invitation))
            .json::<api::AcceptInput>().ok::<Organization>(),
        r(M::GET, "/invite", Public, Page, "An invitation", get(pages::invite_page)),
        r(M::POST, "/invite", User, Page, "Accept an invitation", post(pages::accept)),
        r(M::GET, "/app/members", Org, Page, "Members and invitations", get(pages::index)),
        r(M::POST, "/app/members/invite", Org, Page, "Invite a member", post(pages::invite)),
        r(M::POST, "/app/members/{user_id}/role", Org, Page, "Change a role", post(pages::change_role)),
        r(M::POST, "/app/members/{user_id}/chat-spaces", Org, Page, "Choose the chat spaces a viewer sees", post(pages::set_access)),
        r(M::POST, "/app/members/{user_id}/remove", Org, Page, "Remove a member", post(pages::remove)),
        r(M::POST, "/app/invitations/{invitation_id}/revoke", Org, Page, "Revoke an invitation", post(pages::revoke_invitation)),
        r(M::GET, "/app/organization", Org, Page, "Organization, plan and usage", get(pages::organization)),
        r(M::POST, "/app/organization/delete", Org, Page, "Delete the organization", post(pages::delete_organization)),
        r(M::GET, "/app/organizations/new", User, Page, "New organization form", get(pages::new_org_page)),
        r(M::POST, "/app/organizations", User, Page, "Create an organization", post(pages::create_org)),
        r(M::POST, "/app/switch-org", User, Page, "Switch organization", post(pages::switch_org)),
    ]
}
