//! Docent's domain: typed ids, the shapes of organizations, users and chat spaces, plan
//! limits, validated configuration documents and [`Settings`]. Nothing here does I/O, so every
//! other crate can depend on it and tests can use it without a database.

pub mod answers;
pub mod config;
pub mod handover;
pub mod ids;
pub mod jobs;
pub mod knowledge;
pub mod leads;
pub mod model;
pub mod plans;
pub mod settings;
pub mod validate;
pub mod webhooks;

pub use answers::*;
pub use handover::*;
pub use ids::*;
pub use jobs::*;
pub use knowledge::*;
pub use leads::*;
pub use model::*;
pub use plans::{Plan, PlanLimits};
pub use settings::Settings;
pub use validate::{FieldError, ValidationErrors};
pub use webhooks::*;
