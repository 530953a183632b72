//! Integration tests: the real app on 127.0.0.1:0, real HTTP, on SQLite and on PostgreSQL
//! (when `DOCENT_TEST_DATABASE_URL` is set; CI sets it), and a real Chromium for the browser
//! journey.

mod common;

mod accounts;
mod analytics;
mod answer_webhook;
mod answers;
mod browser;
mod chat_spaces;
mod conversations;
mod fuzz;
mod handover;
mod handover_browser;
mod identity;
mod insights;
mod isolation;
mod jobs;
mod knowledge;
mod leads;
mod mail;
mod markdown_browser;
mod openai;
mod ops;
mod orgs;
mod privacy;
mod replicas_browser;
mod responsive_browser;
mod schemathesis;
mod webhooks;
mod widget;
mod widget_browser;
