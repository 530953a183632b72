//! The one implementation of every action. JSON handlers, dashboard pages and the CLI call
//! these functions, so all transports enforce the same rules.

pub mod accounts;
pub mod answers;
pub mod api_keys;
pub mod chat_spaces;
pub mod documents;
pub mod orgs;
pub mod widget;

use crate::AppState;
use crate::error::ApiError;

/// A URL Docent will call (a web source, a webhook), through the same guard as every fetch:
/// http(s) only, no credentials, and every address the name resolves to public (unless the
/// settings allow private ones). A malformed URL is a field error on `field`.
pub async fn public_url(state: &AppState, raw: &str, field: &str) -> Result<url::Url, ApiError> {
    use docent_ingest::fetch::{FetchError, check_resolved, check_url};
    let policy = state.fetcher.policy();
    let refuse = |e: FetchError| match e {
        FetchError::InvalidUrl(_) => ApiError::validation(field, e.to_string()),
        FetchError::Unreachable(..) => ApiError::UrlUnreachable(e.to_string()),
        other => ApiError::UrlNotAllowed(other.to_string()),
    };
    let url = check_url(raw, policy).map_err(refuse)?;
    check_resolved(&url, policy).await.map_err(refuse)?;
    Ok(url)
}
