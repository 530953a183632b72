//! The one implementation of every action. JSON handlers, dashboard pages and the CLI call
//! these functions, so all transports enforce the same rules.

pub mod accounts;
pub mod answers;
pub mod api_keys;
pub mod chat_spaces;
pub mod documents;
pub mod orgs;
pub mod widget;
