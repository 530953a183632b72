//! Accounts: sign-up, log-in and out, password resets, who is logged in.

pub mod api;
pub mod pages;

use axum::http::Method as M;
use axum::routing::{get, post};

use crate::routes::{Access, Kind, Route, r};

/// This feature's routes (joined into the route table by [`crate::routes::routes`]).
#[rustfmt::skip]
pub fn routes() -> Vec<Route> {
    use Access::*;
    use Kind::*;
    vec![
        r(M::POST, "/api/auth/signup", Public, Api, "Create an account and its first organization; logs in", post(api::signup))
            .json::<docent_app::accounts::SignupInput>().created::<api::SessionView>(),
        r(M::POST, "/api/auth/login", Public, Api, "Log in; sets the session cookie", post(api::login))
            .json::<docent_app::accounts::LoginInput>().ok::<api::SessionView>(),
        r(M::POST, "/api/auth/logout", Public, Api, "Log out", post(api::logout))
            .no_content(),
        r(M::POST, "/api/auth/forgot-password", Public, Api, "Email a password reset link", post(api::forgot_password))
            .json::<api::ForgotInput>().answers::<api::Sent>(202),
        r(M::POST, "/api/auth/reset-password", Public, Api, "Set a new password with a reset token", post(api::reset_password))
            .json::<api::ResetInput>().ok::<docent_core::User>(),
        r(M::GET, "/api/auth/me", Org, Api, "The logged-in user, active organization and role", get(api::me))
            .ok::<api::MeView>(),
        r(M::GET, "/", Public, Page, "Home: the dashboard or the log-in page", get(pages::home)),
        r(M::GET, "/signup", Public, Page, "Sign-up form", get(pages::signup_page)),
        r(M::POST, "/signup", Public, Page, "Sign up", post(pages::signup)),
        r(M::GET, "/login", Public, Page, "Log-in form", get(pages::login_page)),
        r(M::POST, "/login", Public, Page, "Log in", post(pages::login)),
        r(M::POST, "/logout", Public, Page, "Log out", post(pages::logout)),
        r(M::GET, "/forgot-password", Public, Page, "Forgot-password form", get(pages::forgot_page)),
        r(M::POST, "/forgot-password", Public, Page, "Send a reset link", post(pages::forgot)),
        r(M::GET, "/reset-password", Public, Page, "Reset-password form", get(pages::reset_page)),
        r(M::POST, "/reset-password", Public, Page, "Set a new password", post(pages::reset)),
    ]
}
