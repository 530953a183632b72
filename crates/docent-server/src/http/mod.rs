//! What the transports (JSON API, dashboard pages, widget) share, so that none imports
//! another: answers as JSON or events, files to save, ETags, the session's cookies, uploads, lists, the
//! dashboard's page shell and its static assets.

pub mod answer;
pub mod assets;
pub mod chart;
pub mod cookies;
pub mod download;
pub mod etag;
pub mod form;
pub mod list;
pub mod pages;
pub mod upload;

pub use download::download;
