//! Fields of the dashboard's GET forms as a browser sends them: a field left empty comes
//! as an empty string, which means "not chosen".

use docent_app::AppError;

/// One of the form's choices, `None` when left empty.
pub fn choice<T>(
    field: &str,
    value: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, AppError> {
    optional(field, value, parse, "is not one of the choices")
}

/// A field of a form read by `parse`, `None` when left empty, refused with `refusal`.
pub fn optional<T>(
    field: &str,
    value: &str,
    parse: impl Fn(&str) -> Option<T>,
    refusal: &str,
) -> Result<Option<T>, AppError> {
    match value.trim() {
        "" => Ok(None),
        v => parse(v)
            .map(Some)
            .ok_or_else(|| AppError::validation(field, refusal)),
    }
}

/// A day of the form, `None` when left empty.
pub fn day(field: &str, value: &str) -> Result<Option<chrono::NaiveDate>, AppError> {
    optional(
        field,
        value,
        |v| v.parse().ok(),
        "must be a day such as 2026-11-30",
    )
}
