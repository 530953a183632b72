//! Input rules shared by the JSON API, the dashboard forms and the CLI, so all three refuse the
//! same things with the same words.

use serde::Serialize;

/// One field's problem, shown next to the field in forms and listed in API errors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Every problem found in one input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was found.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }

    /// The message for `field`, if it has one.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// A one-line summary for logs and CLI output.
    pub fn summary(&self) -> String {
        self.0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

macro_rules! email_pattern {
    () => {
        r"^\s*[^@\s\x00-\x1f\x7f-\x9f]+@(?!\.)(?!.*\.\.)(?:[^\W_]|[.-])+\.(?:[^\W_]|[.-])*(?<!\.)\s*$"
    };
}

/// The shape [`email`] accepts, as a JSON Schema pattern (for the API's documented schemas):
/// something without `@` or spaces, `@`, and a domain of letters, digits, dots and hyphens
/// holding a dot, not at either end nor two in a row; spaces around are trimmed.
pub const EMAIL_PATTERN: &str = email_pattern!();
/// An email address or nothing (spaces only), as optional fields take it.
pub const OPTIONAL_EMAIL_PATTERN: &str = concat!(r"^\s*$|", email_pattern!());
/// A display name as [`name`] takes it: something besides spaces, and no control characters.
/// White space around it is trimmed, as [`name`] does (a pasted name may end in a line
/// break), so only inside it are control characters refused.
pub const NAME_PATTERN: &str =
    r"^[\s\x85]*[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*[\s\x85]*$";
/// Text without control characters (an optional name).
pub const NO_CONTROL_PATTERN: &str = r"^[^\x00-\x1f\x7f-\x9f]*$";
/// An allowed origin as [`origin`] takes it: `http(s)://host[:port]` or `http(s)://*.host`.
pub const ORIGIN_PATTERN: &str = r"^\s*[hH][tT][tT][pP][sS]?://(\*\.)?[A-Za-z0-9-](?:[A-Za-z0-9.-]*[A-Za-z0-9-])?(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?/*\s*$";
/// The ids the widget makes for its visitors.
pub const VISITOR_ID_PATTERN: &str = r"^[A-Za-z0-9_-]{8,64}$";
/// Text with something in it (a required name, a question): a character that is neither
/// white space (as JSON Schema's regular expressions and Rust's `trim` both take it) nor a
/// control character.
pub const NOT_BLANK_PATTERN: &str = r"[^\s\x00-\x1f\x7f-\x9f]";

/// Whether `text` has nothing but white space and control characters: what
/// [`NOT_BLANK_PATTERN`] refuses.
pub fn is_blank(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_whitespace() || c.is_control() || c == '\u{feff}')
}

pub const PASSWORD_MIN_CHARS: usize = 10;
pub const PASSWORD_MAX_CHARS: usize = 200;
pub const NAME_MAX_CHARS: usize = 100;
pub const DESCRIPTION_MAX_CHARS: usize = 2_000;
pub const SLUG_MIN_CHARS: usize = 3;
pub const SLUG_MAX_CHARS: usize = 63;

/// Slugs that would collide with the product's own paths.
const RESERVED_SLUGS: &[&str] = &[
    "api", "app", "admin", "assets", "embed", "health", "login", "logout", "metrics", "new",
    "ready", "signup", "static", "widget", "www",
];

/// Trims and lower-cases an email address and checks its shape.
pub fn email(errors: &mut ValidationErrors, field: &str, raw: &str) -> String {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
                && domain
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
                && !local.contains('@')
                && !domain.contains('@')
        });
    if email.is_empty() {
        errors.add(field, "Enter an email address.");
    } else if !valid {
        errors.add(field, "Enter a valid email address, like name@example.com.");
    }
    email
}

pub fn password(errors: &mut ValidationErrors, field: &str, password: &str) {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        errors.add(
            field,
            format!("Use at least {PASSWORD_MIN_CHARS} characters for the password."),
        );
    } else if chars > PASSWORD_MAX_CHARS {
        errors.add(
            field,
            format!("Use at most {PASSWORD_MAX_CHARS} characters for the password."),
        );
    }
}

/// A required display name: trimmed, non-empty, bounded, no control characters.
pub fn name(errors: &mut ValidationErrors, field: &str, raw: &str) -> String {
    // Trimmed as a JSON Schema pattern's `\s` takes white space (which counts U+FEFF).
    let name = raw
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .to_owned();
    if name.is_empty() {
        errors.add(field, "Enter a name.");
    } else if raw.chars().count() > NAME_MAX_CHARS {
        // Counted as sent, white space and all, as the schema's maxLength counts it.
        errors.add(field, format!("Use at most {NAME_MAX_CHARS} characters."));
    } else if name.chars().any(char::is_control) {
        errors.add(field, "Remove control characters from the name.");
    }
    name
}

pub fn description(errors: &mut ValidationErrors, field: &str, raw: &str) -> String {
    let text = raw.trim().to_owned();
    if text.chars().count() > DESCRIPTION_MAX_CHARS {
        errors.add(
            field,
            format!("Use at most {DESCRIPTION_MAX_CHARS} characters."),
        );
    }
    text
}

/// Checks a user-chosen slug: lower-case letters, digits and single hyphens.
pub fn slug(errors: &mut ValidationErrors, field: &str, raw: &str) -> String {
    let slug = raw.trim().to_owned();
    let len = slug.chars().count();
    if !(SLUG_MIN_CHARS..=SLUG_MAX_CHARS).contains(&len) {
        errors.add(
            field,
            format!("Use {SLUG_MIN_CHARS} to {SLUG_MAX_CHARS} characters."),
        );
    } else if !slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || slug.starts_with('-')
        || slug.ends_with('-')
        || slug.contains("--")
    {
        errors.add(
            field,
            "Use lower-case letters, digits and single hyphens, not at the start or end.",
        );
    } else if RESERVED_SLUGS.contains(&slug.as_str()) {
        errors.add(field, "This name is reserved; choose another.");
    }
    slug
}

/// Derives a valid slug from any name ("Café Support!" → "cafe-support").
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(fold_accent) {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= SLUG_MAX_CHARS - 8 {
            break;
        }
    }
    let mut slug = slug.trim_matches('-').to_owned();
    if slug.len() < SLUG_MIN_CHARS || RESERVED_SLUGS.contains(&slug.as_str()) {
        slug = if slug.is_empty() {
            "chat".to_owned()
        } else {
            format!("{slug}-chat")
        };
    }
    slug
}

fn fold_accent(c: char) -> impl Iterator<Item = char> {
    let folded = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'a',
        'ç' | 'Ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
        'ñ' | 'Ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
        'ý' | 'ÿ' | 'Ý' => 'y',
        other => other,
    };
    std::iter::once(folded)
}

/// Checks one allowed origin: `https://shop.example.com`, `http://localhost:3000` or a
/// wildcard subdomain `https://*.example.com`. Returns it without a trailing slash.
pub fn origin(errors: &mut ValidationErrors, field: &str, raw: &str) -> String {
    let origin = raw.trim().trim_end_matches('/').to_lowercase();
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    let valid = rest.is_some_and(|host_port| {
        let host = host_port.strip_prefix("*.").unwrap_or(host_port);
        let (host, port) = match host.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host, None),
        };
        !host.is_empty()
            && host.len() <= 253
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            && !host.starts_with('.')
            && !host.ends_with('.')
            && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0))
    });
    if !valid {
        errors.add(
            field,
            format!(
                "\"{}\" is not an origin; use a form like https://www.example.com or https://*.example.com.",
                raw.trim()
            ),
        );
    }
    origin
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<T>(f: impl Fn(&mut ValidationErrors, &str, &str) -> T, input: &str) -> bool {
        let mut errors = ValidationErrors::new();
        f(&mut errors, "f", input);
        errors.is_empty()
    }

    #[test]
    fn emails() {
        assert!(check(email, " Ana@Example.COM "));
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "a b@c.de",
            "a@b..c",
        ] {
            assert!(!check(email, bad), "{bad} should be refused");
        }
        let mut errors = ValidationErrors::new();
        assert_eq!(
            email(&mut errors, "f", " Ana@Example.COM "),
            "ana@example.com"
        );
    }

    #[test]
    fn slugs() {
        assert!(check(slug, "acme-support"));
        for bad in [
            "ab", "Acme", "acme--x", "-acme", "acme-", "api", "ac me", "über",
        ] {
            assert!(!check(slug, bad), "{bad} should be refused");
        }
    }

    #[test]
    fn slugify_always_yields_a_valid_slug() {
        for name in [
            "Café Support!",
            "",
            "!!!",
            "API",
            "a",
            "ÄÖÜ ñ",
            &"x".repeat(300),
        ] {
            let s = slugify(name);
            assert!(check(slug, &s), "{name:?} gave invalid slug {s:?}");
        }
        assert_eq!(slugify("Café Support!"), "cafe-support");
    }

    #[test]
    fn origins() {
        for good in [
            "https://www.example.com",
            "http://localhost:3000",
            "https://*.example.com",
            "https://example.com/",
        ] {
            assert!(check(origin, good), "{good} should be accepted");
        }
        for bad in [
            "example.com",
            "ftp://x.com",
            "https://",
            "https://x.com:99999",
            "https://a b",
        ] {
            assert!(!check(origin, bad), "{bad} should be refused");
        }
    }

    #[test]
    fn blank_text_is_white_space_and_control_characters_only() {
        for blank in ["", "  ", "\u{85}", "\t\u{1}\n", "\u{feff}\u{3000}"] {
            assert!(super::is_blank(blank), "{blank:?}");
        }
        for text in ["a", " \u{85}x", "\u{ce}"] {
            assert!(!super::is_blank(text), "{text:?}");
        }
    }

    #[test]
    fn names_are_trimmed_of_white_space_and_refuse_control_characters_inside() {
        let mut errors = super::ValidationErrors::new();
        assert_eq!(
            super::name(&mut errors, "name", "o\u{ed}\u{e0}\r"),
            "o\u{ed}\u{e0}"
        );
        assert_eq!(
            super::name(&mut errors, "name", "\u{feff} Ana\u{85}"),
            "Ana"
        );
        assert!(errors.into_result().is_ok());
        for bad in ["a\rb", "\u{feff}", "\u{85}", " "] {
            let mut errors = super::ValidationErrors::new();
            super::name(&mut errors, "name", bad);
            assert!(errors.into_result().is_err(), "{bad:?}");
        }
    }
}
