//! Lead capture (DESIGN §4 "Integrations"): the form a chat space shows its visitors, and
//! the details a visitor left. A visitor leaves one lead per chat space; giving details again
//! updates it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::*;
use crate::validate::{self, ValidationErrors};

/// When the widget shows the lead form.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::EnumIter, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LeadTrigger {
    /// When the chat opens, before the first question.
    BeforeChat,
    /// After the visitor's `after_messages`-th message.
    AfterMessages,
    /// When the bot could not answer.
    NoAnswer,
    /// When the chat opens outside the handover's business hours.
    OutsideHours,
}

/// What a field takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadFieldKind {
    Text,
    Email,
    Phone,
    /// One of `options`.
    Select,
}

/// One field of the form. `name`, `email`, `phone` and `company` are kept in their own
/// columns (searched, exported); any other key is a custom field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadField {
    /// Letters, digits and `_`, up to 32.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_]{0,31}$"))]
    pub key: String,
    #[schemars(length(min = 1, max = 80))]
    pub label: String,
    pub kind: LeadFieldKind,
    #[serde(default)]
    pub required: bool,
    /// The choices of a `select` field (up to 20).
    #[serde(default)]
    pub options: Vec<String>,
}

/// The built-in fields, by key.
pub const LEAD_COLUMNS: [&str; 4] = ["name", "email", "phone", "company"];
/// The longest value a field takes.
pub const LEAD_VALUE_MAX_CHARS: usize = 500;

/// The lead form of a chat space (`widget_config.lead_form`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LeadForm {
    pub enabled: bool,
    /// When it is shown (any of them).
    pub ask: Vec<LeadTrigger>,
    /// For `after_messages`.
    #[schemars(range(min = 1, max = 50))]
    pub after_messages: u32,
    #[schemars(length(max = 200))]
    pub title: String,
    /// 1 to 10 fields.
    pub fields: Vec<LeadField>,
    /// When set, the visitor must tick it (the text is kept with the lead).
    #[schemars(length(max = 500))]
    pub consent: String,
}

impl Default for LeadForm {
    fn default() -> Self {
        LeadForm {
            enabled: false,
            ask: vec![LeadTrigger::NoAnswer],
            after_messages: 3,
            title: "Leave your details and we'll get back to you.".to_owned(),
            fields: vec![
                LeadField {
                    key: "name".into(),
                    label: "Name".into(),
                    kind: LeadFieldKind::Text,
                    required: true,
                    options: Vec::new(),
                },
                LeadField {
                    key: "email".into(),
                    label: "Email".into(),
                    kind: LeadFieldKind::Email,
                    required: true,
                    options: Vec::new(),
                },
            ],
            consent: String::new(),
        }
    }
}

impl LeadForm {
    /// Its rules beyond the types, as errors under `field`.
    pub fn check(&self, field: &str, errors: &mut ValidationErrors) {
        let f = |name: &str| format!("{field}.{name}");
        if !(1..=50).contains(&self.after_messages) {
            errors.add(&f("after_messages"), "Use 1 to 50 messages.");
        }
        if self.title.chars().count() > 200 {
            errors.add(&f("title"), "Use at most 200 characters.");
        }
        if self.consent.chars().count() > 500 {
            errors.add(&f("consent"), "Use at most 500 characters.");
        }
        if (self.enabled && self.fields.is_empty()) || self.fields.len() > 10 {
            errors.add(&f("fields"), "Ask for 1 to 10 fields.");
        }
        let mut keys = std::collections::BTreeSet::new();
        for (i, field) in self.fields.iter().enumerate() {
            let at = |name: &str| f(&format!("fields[{i}].{name}"));
            let key_ok = field.key.len() <= 32
                && field.key.starts_with(|c: char| c.is_ascii_lowercase())
                && field
                    .key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !key_ok {
                errors.add(
                    &at("key"),
                    "Use lower-case letters, digits and _, starting with a letter.",
                );
            } else if !keys.insert(field.key.as_str()) {
                errors.add(&at("key"), "Each field needs a key of its own.");
            }
            if validate::is_blank(&field.label) || field.label.chars().count() > 80 {
                errors.add(&at("label"), "Give a label of 1 to 80 characters.");
            }
            let bad_choices = field.options.is_empty()
                || field.options.len() > 20
                || field
                    .options
                    .iter()
                    .any(|o| validate::is_blank(o) || o.chars().count() > 80);
            match field.kind {
                LeadFieldKind::Select if bad_choices => {
                    errors.add(
                        &at("options"),
                        "Give 1 to 20 choices of up to 80 characters.",
                    );
                }
                LeadFieldKind::Select => {}
                _ if !field.options.is_empty() => {
                    errors.add(&at("options"), "Only a select field has choices.");
                }
                _ => {}
            }
        }
    }

    /// Checks what a visitor sent against the form; returns the values kept (trimmed, the
    /// empty ones left out), or the errors under `fields.<key>` / `consent`.
    pub fn accept(
        &self,
        values: &BTreeMap<String, String>,
        consent: bool,
    ) -> Result<BTreeMap<String, String>, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut kept = BTreeMap::new();
        for key in values.keys() {
            if !self.fields.iter().any(|f| &f.key == key) {
                errors.add(&format!("fields.{key}"), "This form has no such field.");
            }
        }
        for field in &self.fields {
            let at = format!("fields.{}", field.key);
            let value = values.get(&field.key).map_or("", |v| v.trim());
            if validate::is_blank(value) {
                if field.required {
                    errors.add(&at, format!("{} is required.", field.label));
                }
                continue;
            }
            if value.chars().count() > LEAD_VALUE_MAX_CHARS || value.chars().any(|c| c.is_control())
            {
                errors.add(
                    &at,
                    format!("Use at most {LEAD_VALUE_MAX_CHARS} characters, on one line."),
                );
                continue;
            }
            let value = match field.kind {
                LeadFieldKind::Text => value.to_owned(),
                LeadFieldKind::Email => {
                    let mut e = ValidationErrors::new();
                    let email = validate::email(&mut e, &at, value);
                    if !e.is_empty() {
                        errors.add(&at, "Give an email address like ana@example.com.");
                        continue;
                    }
                    email
                }
                LeadFieldKind::Phone => match phone(value) {
                    Some(p) => p,
                    None => {
                        errors.add(
                            &at,
                            "Give a phone number of 6 to 15 digits, like +1 555 010 0199.",
                        );
                        continue;
                    }
                },
                LeadFieldKind::Select => match field.options.iter().find(|o| o.trim() == value) {
                    Some(o) => o.trim().to_owned(),
                    None => {
                        errors.add(&at, "Choose one of the choices.");
                        continue;
                    }
                },
            };
            kept.insert(field.key.clone(), value);
        }
        if !self.consent.trim().is_empty() && !consent {
            errors.add(
                "consent",
                "Please agree to be contacted, or leave the form.",
            );
        }
        errors.into_result()?;
        Ok(kept)
    }
}

/// A phone number as people write it (`+1 (555) 010-0199`, `0612 34 56 78`): digits with
/// spaces, dots, dashes and brackets, an optional leading `+`; 6 to 15 digits (E.164's
/// most). Kept as written, tidied of repeated spaces.
pub fn phone(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let body = raw.strip_prefix('+').unwrap_or(raw);
    if !body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '.' | '-' | '(' | ')'))
    {
        return None;
    }
    let digits = body.chars().filter(char::is_ascii_digit).count();
    (6..=15)
        .contains(&digits)
        .then(|| raw.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Details a visitor left.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Lead {
    pub id: LeadId,
    pub org_id: OrgId,
    pub chat_space_id: ChatSpaceId,
    /// The conversation it was left in, while that conversation is kept.
    pub conversation_id: Option<ConversationId>,
    /// `v:` and the site's id for a visitor the site signed in (see `verified`).
    pub visitor_id: String,
    /// Left by a visitor the site signed in (a verified identity).
    pub verified: bool,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    /// The form's other fields, by key.
    pub fields: BTreeMap<String, String>,
    pub consent: bool,
    /// The consent text the visitor agreed to, when the form had one.
    pub consent_text: Option<String>,
    /// The page the widget was on.
    pub page_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_as_people_write_them() {
        for ok in [
            "+1 (555) 010-0199",
            "0612 34 56 78",
            "06.12.34.56.78",
            "+44  20 7946 0958",
        ] {
            assert!(phone(ok).is_some(), "{ok}");
        }
        assert_eq!(
            phone("+44  20 7946 0958").as_deref(),
            Some("+44 20 7946 0958")
        );
        for bad in [
            "12345",
            "call me",
            "+1 555 010 0199 ext 2",
            "1234567890123456",
            "++123456",
        ] {
            assert!(phone(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_submission_is_checked_against_the_form() {
        let mut form = LeadForm {
            consent: "You may contact me.".into(),
            ..LeadForm::default()
        };
        form.fields.push(LeadField {
            key: "size".into(),
            label: "Team size".into(),
            kind: LeadFieldKind::Select,
            required: false,
            options: vec!["1-10".into(), "11-50".into()],
        });
        let mut errors = ValidationErrors::new();
        form.check("lead_form", &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        let values = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect()
        };
        let kept = form
            .accept(
                &values(&[
                    ("name", " Ana "),
                    ("email", "Ana@Example.com"),
                    ("size", "11-50"),
                ]),
                true,
            )
            .expect("accepted");
        assert_eq!(
            kept,
            values(&[
                ("name", "Ana"),
                ("email", "ana@example.com"),
                ("size", "11-50")
            ])
        );
        let refused = form
            .accept(
                &values(&[("email", "nope"), ("size", "huge"), ("age", "3")]),
                false,
            )
            .expect_err("refused");
        let fields: Vec<&str> = refused.0.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "fields.name",
            "fields.email",
            "fields.size",
            "fields.age",
            "consent",
        ] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
    }
}
