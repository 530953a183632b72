//! The product's features as HTTP: each area's JSON API (`api.rs`) and dashboard pages
//! (`pages.rs`) side by side, over the application (`docent_app`), with the routes of the
//! area in its `mod.rs`. A feature imports no other feature, and no other transport; what they
//! share is in `http/`, `auth/` and `extract`.

pub mod accounts;
pub mod admin;
pub mod answers;
pub mod chat_spaces;
pub mod inbox;
pub mod insights;
pub mod knowledge;
pub mod leads;
pub mod openai;
pub mod orgs;
pub mod webhooks;
