use thiserror::Error;

/// What can go wrong in a store. Unique-key clashes are told apart, since users can cause
/// them and must be told which field to change.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A unique value exists already; `field` names it (`email`, `endpoint_slug`, …).
    #[error("{field} is taken")]
    Conflict { field: &'static str },
    /// A row could not be turned into a domain value: the database holds something the code
    /// never writes.
    /// A plan limit would be passed: `limit` rows of that kind exist already.
    #[error("the limit of {limit} is reached")]
    LimitReached { limit: u64 },
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Work done next to the database (building a search index) did not finish.
    #[error("{0}")]
    Task(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// An error of a backend's own SQLite connection (not one of sqlx's).
    #[error("database error: {0}")]
    Engine(String),
    #[error("migration {version} failed: {message}")]
    Migration { version: i64, message: String },
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            let constraint = db.constraint().unwrap_or_default().to_owned();
            let message = db.message().to_owned();
            let text = format!("{constraint} {message}");
            let field = if text.contains("email") {
                "email"
            } else if text.contains("endpoint_slug") {
                "endpoint_slug"
            } else if text.contains("shortcut") {
                "shortcut"
            } else if text.contains("slug") {
                "slug"
            } else if text.contains("prefix") || text.contains("key_hash") {
                "api_key"
            } else {
                "id"
            };
            return StoreError::Conflict { field };
        }
        StoreError::Database(e)
    }
}
