//! What the transports (JSON API, dashboard pages, widget) share, so that none imports
//! another: answers as JSON or events, ETags, the session's cookies, uploads.

pub mod answer;
pub mod cookies;
pub mod etag;
pub mod upload;
