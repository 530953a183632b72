//! The JSON documents stored on a chat space (`widget_config`, `ai_config`,
//! `retrieval_config`): their defaults, their rules, and partial updates.
//!
//! A stored document is always complete and valid: a PATCH body is merged over the current
//! value, then parsed into the typed struct (unknown keys refused), then checked.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::validate::ValidationErrors;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    Light,
    Dark,
    Auto,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Position {
    BottomRight,
    BottomLeft,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WidgetSize {
    Compact,
    Standard,
    Large,
}

/// How the widget looks and greets visitors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WidgetConfig {
    pub theme: Theme,
    /// `#rrggbb`.
    #[schemars(regex(pattern = r"^#[0-9A-Fa-f]{6}$"))]
    pub primary_color: String,
    pub position: Position,
    pub size: WidgetSize,
    /// Shown in the header; empty means the chat space's name.
    #[schemars(length(max = 60))]
    pub bot_name: String,
    #[schemars(regex(pattern = r"^https?://"))]
    pub avatar_url: Option<String>,
    #[schemars(length(max = 1000))]
    pub welcome_message: String,
    #[schemars(length(max = 120))]
    pub placeholder: String,
    /// BCP 47 tag, e.g. `en`, `ar`, `pt-BR`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9-]{1,35}$"))]
    pub locale: String,
    /// Right-to-left layout; also implied by an RTL locale.
    pub rtl: bool,
    pub show_branding: bool,
    /// Overrides of the widget's built-in UI strings, by key (up to 100; keys up to 64
    /// bytes, texts up to 500 characters).
    #[schemars(schema_with = "ui_strings")]
    pub strings: BTreeMap<String, String>,
    /// The form that asks visitors for their details.
    pub lead_form: crate::leads::LeadForm,
    /// Only visitors the site signed in (a verified identity, DESIGN §4) may chat.
    pub identity_required: bool,
}

fn ui_strings(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "maxProperties": 100,
        "propertyNames": {"maxLength": 64},
        "additionalProperties": {"type": "string", "maxLength": 500}
    })
}

impl Default for WidgetConfig {
    fn default() -> Self {
        WidgetConfig {
            theme: Theme::Auto,
            primary_color: "#4f46e5".to_owned(),
            position: Position::BottomRight,
            size: WidgetSize::Standard,
            bot_name: String::new(),
            avatar_url: None,
            welcome_message: "Hi! How can I help you today?".to_owned(),
            placeholder: "Ask a question…".to_owned(),
            locale: "en".to_owned(),
            rtl: false,
            show_branding: true,
            strings: BTreeMap::new(),
            lead_form: crate::leads::LeadForm::default(),
            identity_required: false,
        }
    }
}

/// Which model answers and how.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AiConfig {
    #[schemars(regex(pattern = r"\S"), length(max = 200))]
    pub model: String,
    #[schemars(range(min = 0.0, max = 2.0))]
    pub temperature: f64,
    #[schemars(range(min = 1, max = 32000))]
    #[serde(deserialize_with = "whole_number")]
    pub max_tokens: u32,
    #[schemars(length(max = 20000))]
    pub system_prompt: String,
    /// The reply when the knowledge holds no answer.
    #[schemars(regex(pattern = r"\S"), length(max = 2000))]
    pub dont_know_reply: String,
    /// How many earlier messages go into the prompt.
    #[schemars(range(max = 50))]
    #[serde(deserialize_with = "whole_number")]
    pub history_messages: u32,
    /// When the bot steps aside for a person.
    pub handover: HandoverConfig,
    /// The reply when the chat space's answer webhook (`answer_mode: webhook`) failed.
    #[schemars(regex(pattern = r"\S"), length(max = 2000))]
    pub fallback_reply: String,
}

/// When a conversation goes to a person (DESIGN §4 "Handover and inbox"). Off until the
/// organization has agents to answer: then each trigger may be turned off on its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HandoverConfig {
    pub enabled: bool,
    /// A "Talk to a person" button in the widget.
    pub visitor_button: bool,
    /// Phrases such as "talk to a human" (in the widget's languages) ask for a person.
    pub phrases: bool,
    /// After this many don't-know replies in a row (0: never).
    #[schemars(range(max = 20))]
    #[serde(deserialize_with = "whole_number")]
    pub after_dont_know: u32,
    /// After this many answers rated down in a conversation (0: never).
    #[schemars(range(max = 20))]
    #[serde(deserialize_with = "whole_number")]
    pub after_thumbs_down: u32,
    /// Words or phrases that hand the conversation over at once (up to 50, each up to 60
    /// characters), e.g. `refund`, `complaint`.
    #[schemars(length(max = 50))]
    pub keywords: Vec<String>,
    /// Give each new handover to an online agent (one with the inbox open), the one with
    /// the fewest conversations first, in turn; otherwise agents claim them.
    pub auto_assign: bool,
    /// The most conversations an agent is given at once by `auto_assign` (0: no limit).
    #[schemars(range(max = 1000))]
    #[serde(deserialize_with = "whole_number")]
    pub max_per_agent: u32,
    /// When people answer; outside these hours, or with nobody online, the widget offers
    /// to leave an email and the conversation waits. Always, when absent.
    pub hours: Option<BusinessHours>,
    /// Email the chat space's agents when a handover has waited this many minutes with
    /// nobody assigned (0: never); once a handover.
    #[schemars(range(max = 1440))]
    #[serde(deserialize_with = "whole_number")]
    pub email_after_minutes: u32,
}

impl Default for HandoverConfig {
    fn default() -> Self {
        HandoverConfig {
            enabled: false,
            visitor_button: true,
            phrases: true,
            after_dont_know: 2,
            after_thumbs_down: 2,
            keywords: Vec::new(),
            auto_assign: false,
            max_per_agent: 5,
            hours: None,
            email_after_minutes: 5,
        }
    }
}

impl HandoverConfig {
    /// Whether people answer at `at`: always without business hours, else within them.
    pub fn within_hours(&self, at: chrono::DateTime<chrono::Utc>) -> bool {
        self.hours.as_ref().is_none_or(|hours| hours.open_at(at))
    }
}

/// Opening hours in a time zone: each weekday's ranges as `HH:MM-HH:MM`, several separated
/// by commas (`09:00-12:00, 13:00-17:30`); an empty day is closed. `24:00` ends a day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BusinessHours {
    /// An IANA time zone, e.g. `Europe/Berlin`.
    #[schemars(length(max = 64), example = "Europe/Berlin")]
    pub time_zone: String,
    #[schemars(length(max = 200), example = "09:00-17:00")]
    pub mon: String,
    #[schemars(length(max = 200))]
    pub tue: String,
    #[schemars(length(max = 200))]
    pub wed: String,
    #[schemars(length(max = 200))]
    pub thu: String,
    #[schemars(length(max = 200))]
    pub fri: String,
    #[schemars(length(max = 200))]
    pub sat: String,
    #[schemars(length(max = 200))]
    pub sun: String,
}

impl Default for BusinessHours {
    fn default() -> Self {
        let weekday = "09:00-17:00".to_owned();
        BusinessHours {
            time_zone: "UTC".to_owned(),
            mon: weekday.clone(),
            tue: weekday.clone(),
            wed: weekday.clone(),
            thu: weekday.clone(),
            fri: weekday,
            sat: String::new(),
            sun: String::new(),
        }
    }
}

/// Minutes since midnight, from `HH:MM` (`24:00` included).
fn minutes(text: &str) -> Option<u32> {
    let (h, m) = text.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

/// A day's ranges in minutes, from `09:00-12:00, 13:00-17:00`; `None` when one is not a
/// range that starts before it ends.
pub fn day_ranges(text: &str) -> Option<Vec<(u32, u32)>> {
    text.split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| {
            let (from, to) = r.split_once('-')?;
            let (from, to) = (minutes(from)?, minutes(to)?);
            (from < to).then_some((from, to))
        })
        .collect()
}

impl BusinessHours {
    pub fn zone(&self) -> Option<chrono_tz::Tz> {
        self.time_zone.trim().parse().ok()
    }

    fn day(&self, weekday: chrono::Weekday) -> &str {
        use chrono::Weekday::*;
        match weekday {
            Mon => &self.mon,
            Tue => &self.tue,
            Wed => &self.wed,
            Thu => &self.thu,
            Fri => &self.fri,
            Sat => &self.sat,
            Sun => &self.sun,
        }
    }

    /// Whether `at` falls in the opening hours (its local time in the time zone).
    pub fn open_at(&self, at: chrono::DateTime<chrono::Utc>) -> bool {
        use chrono::{Datelike, Timelike};
        let Some(zone) = self.zone() else {
            return true;
        };
        let local = at.with_timezone(&zone);
        let now = local.hour() * 60 + local.minute();
        day_ranges(self.day(local.weekday()))
            .unwrap_or_default()
            .iter()
            .any(|&(from, to)| from <= now && now < to)
    }

    fn check(&self, field: &str, errors: &mut ValidationErrors) {
        if self.zone().is_none() {
            errors.add(
                &format!("{field}.time_zone"),
                "Name a time zone such as Europe/Berlin or America/New_York.",
            );
        }
        for (name, text) in [
            ("mon", &self.mon),
            ("tue", &self.tue),
            ("wed", &self.wed),
            ("thu", &self.thu),
            ("fri", &self.fri),
            ("sat", &self.sat),
            ("sun", &self.sun),
        ] {
            if text.chars().count() > 200 || day_ranges(text).is_none() {
                errors.add(
                    &format!("{field}.{name}"),
                    "Write hours as 09:00-17:00, several separated by commas; leave a closed day empty.",
                );
            }
        }
    }
}

impl Default for AiConfig {
    fn default() -> Self {
        AiConfig {
            model: "openai/gpt-4o-mini".to_owned(),
            temperature: 0.3,
            max_tokens: 1024,
            system_prompt: "You are a helpful assistant. Answer only from the provided context. \
                            If the context does not contain the answer, say so."
                .to_owned(),
            dont_know_reply: "Sorry, I don't know the answer to that yet.".to_owned(),
            history_messages: 6,
            handover: HandoverConfig::default(),
            fallback_reply: "Sorry, I can't answer right now. Please try again in a moment."
                .to_owned(),
        }
    }
}

/// How knowledge is chunked and retrieved (the spec's RAGConfig).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RetrievalConfig {
    #[schemars(range(min = 1, max = 50))]
    #[serde(deserialize_with = "whole_number")]
    pub top_k: u32,
    #[schemars(range(min = 0.0, max = 1.0))]
    pub similarity_threshold: f64,
    pub rerank_results: bool,
    pub include_metadata: bool,
    #[schemars(range(min = 100, max = 8000))]
    #[serde(deserialize_with = "whole_number")]
    pub chunk_size: u32,
    /// Smaller than `chunk_size`.
    #[schemars(range(max = 7999))]
    #[serde(deserialize_with = "whole_number")]
    pub chunk_overlap: u32,
}

impl Default for RetrievalConfig {
    fn default() -> Self {
        RetrievalConfig {
            top_k: 5,
            similarity_threshold: 0.0,
            rerank_results: false,
            include_metadata: true,
            // Chosen with `docent eval chroma` (README): 400 tokens without overlap retrieved
            // the most gold text within a 2,000-token context.
            chunk_size: 400,
            chunk_overlap: 0,
        }
    }
}

/// A count sent as a JSON number: `7` or `7.0` (JSON has one number type, and JSON Schema's
/// `integer` takes both), not `7.5`, nor anything past `u32`.
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = f64::deserialize(d)?;
    if n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n) {
        Ok(n as u32)
    } else {
        Err(serde::de::Error::custom(format!(
            "expected a whole number from 0 to {}, got {n}",
            u32::MAX
        )))
    }
}

/// A configuration document with rules beyond its types.
pub trait ConfigDoc: Serialize + DeserializeOwned + Default {
    /// The field name of this document on a chat space, used in error paths.
    const FIELD: &'static str;
    fn check(&self, errors: &mut ValidationErrors);
}

impl ConfigDoc for WidgetConfig {
    const FIELD: &'static str = "widget_config";
    fn check(&self, errors: &mut ValidationErrors) {
        let f = |name: &str| format!("{}.{name}", Self::FIELD);
        if !is_hex_color(&self.primary_color) {
            errors.add(&f("primary_color"), "Use a colour like #4f46e5.");
        }
        for (name, value, max) in [
            ("bot_name", &self.bot_name, 60),
            ("welcome_message", &self.welcome_message, 1000),
            ("placeholder", &self.placeholder, 120),
            ("locale", &self.locale, 35),
        ] {
            if value.chars().count() > max {
                errors.add(&f(name), format!("Use at most {max} characters."));
            }
        }
        if !self
            .locale
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
            || self.locale.is_empty()
        {
            errors.add(&f("locale"), "Use a language tag like en or pt-BR.");
        }
        if let Some(url) = &self.avatar_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            errors.add(&f("avatar_url"), "Use an http(s) address for the avatar.");
        }
        if self.strings.len() > 100
            || self
                .strings
                .iter()
                .any(|(k, v)| k.len() > 64 || v.chars().count() > 500)
        {
            errors.add(
                &f("strings"),
                "Use at most 100 strings, keys up to 64 and texts up to 500 characters.",
            );
        }
        self.lead_form.check(&f("lead_form"), errors);
    }
}

impl ConfigDoc for AiConfig {
    const FIELD: &'static str = "ai_config";
    fn check(&self, errors: &mut ValidationErrors) {
        let f = |name: &str| format!("{}.{name}", Self::FIELD);
        if self.model.trim().is_empty() || self.model.len() > 200 {
            errors.add(&f("model"), "Name a model, like openai/gpt-4o-mini.");
        }
        if !(0.0..=2.0).contains(&self.temperature) {
            errors.add(&f("temperature"), "Use a temperature from 0 to 2.");
        }
        if !(1..=32_000).contains(&self.max_tokens) {
            errors.add(&f("max_tokens"), "Use 1 to 32000 tokens.");
        }
        if self.system_prompt.chars().count() > 20_000 {
            errors.add(&f("system_prompt"), "Use at most 20000 characters.");
        }
        if self.dont_know_reply.trim().is_empty() || self.dont_know_reply.chars().count() > 2_000 {
            errors.add(&f("dont_know_reply"), "Use 1 to 2000 characters.");
        }
        if self.fallback_reply.trim().is_empty() || self.fallback_reply.chars().count() > 2_000 {
            errors.add(&f("fallback_reply"), "Use 1 to 2000 characters.");
        }
        if self.history_messages > 50 {
            errors.add(&f("history_messages"), "Use at most 50 messages.");
        }
        let h = &self.handover;
        if h.after_dont_know > 20 {
            errors.add(&f("handover.after_dont_know"), "Use 0 (never) to 20.");
        }
        if h.after_thumbs_down > 20 {
            errors.add(&f("handover.after_thumbs_down"), "Use 0 (never) to 20.");
        }
        if h.keywords.len() > 50
            || h.keywords
                .iter()
                .any(|k| k.trim().is_empty() || k.chars().count() > 60)
        {
            errors.add(
                &f("handover.keywords"),
                "Use at most 50 keywords of 1 to 60 characters.",
            );
        }
        if h.email_after_minutes > 1440 {
            errors.add(
                &f("handover.email_after_minutes"),
                "Use 0 (never) to 1440 minutes.",
            );
        }
        if h.max_per_agent > 1000 {
            errors.add(&f("handover.max_per_agent"), "Use 0 (no limit) to 1000.");
        }
        if let Some(hours) = &h.hours {
            hours.check(&f("handover.hours"), errors);
        }
    }
}

impl ConfigDoc for RetrievalConfig {
    const FIELD: &'static str = "retrieval_config";
    fn check(&self, errors: &mut ValidationErrors) {
        let f = |name: &str| format!("{}.{name}", Self::FIELD);
        if !(1..=50).contains(&self.top_k) {
            errors.add(&f("top_k"), "Use 1 to 50.");
        }
        if !(0.0..=1.0).contains(&self.similarity_threshold) {
            errors.add(&f("similarity_threshold"), "Use a threshold from 0 to 1.");
        }
        if !(100..=8_000).contains(&self.chunk_size) {
            errors.add(&f("chunk_size"), "Use 100 to 8000 tokens.");
        }
        if self.chunk_overlap >= self.chunk_size {
            errors.add(
                &f("chunk_overlap"),
                "Make the overlap smaller than the chunk size.",
            );
        }
    }
}

/// The stored JSON of a fresh document with its defaults.
pub fn default_value<T: ConfigDoc>() -> Value {
    serde_json::to_value(T::default()).unwrap_or(Value::Null)
}

/// Merges `patch` over `current` (JSON merge patch: objects merge, `null` restores the
/// default), parses and checks the result. Returns the complete stored value.
pub fn apply_patch<T: ConfigDoc>(
    current: &Value,
    patch: &Value,
) -> Result<Value, ValidationErrors> {
    let mut merged = current.clone();
    if !merged.is_object() {
        merged = default_value::<T>();
    }
    if !patch.is_object() {
        return Err(ValidationErrors::single(
            T::FIELD,
            "Send an object of settings to change.",
        ));
    }
    merge(&mut merged, patch);
    let parsed: T = serde_json::from_value(merged).map_err(|e| {
        ValidationErrors::single(T::FIELD, format!("Invalid settings: {}", clean_serde(&e)))
    })?;
    let mut errors = ValidationErrors::new();
    parsed.check(&mut errors);
    errors.into_result()?;
    Ok(serde_json::to_value(parsed).unwrap_or(Value::Null))
}

/// Parses a stored document, falling back to defaults for anything unreadable.
pub fn read<T: ConfigDoc>(value: &Value) -> T {
    serde_json::from_value(value.clone()).unwrap_or_default()
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

fn clean_serde(e: &serde_json::Error) -> String {
    // serde_json appends " at line 1 column 12", meaningless for a value that was merged.
    let text = e.to_string();
    match text.find(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

fn is_hex_color(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn business_hours_are_read_in_their_time_zone() {
        let hours = BusinessHours {
            time_zone: "Europe/Berlin".into(),
            mon: "09:00-12:00, 13:00-17:30".into(),
            sat: "10:00-24:00".into(),
            ..BusinessHours::default()
        };
        let at = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().expect("instant");
        // Monday 30 November 2026; Berlin is UTC+1 in winter.
        assert!(
            !hours.open_at(at("2026-11-30T07:59:00Z")),
            "08:59 in Berlin"
        );
        assert!(hours.open_at(at("2026-11-30T08:00:00Z")), "09:00 in Berlin");
        assert!(!hours.open_at(at("2026-11-30T11:30:00Z")), "lunch");
        assert!(hours.open_at(at("2026-11-30T16:29:00Z")), "17:29");
        assert!(!hours.open_at(at("2026-11-30T16:30:00Z")), "17:30 closes");
        assert!(hours.open_at(at("2026-12-05T22:59:00Z")), "Saturday 23:59");
        assert!(
            !hours.open_at(at("2026-12-06T12:00:00Z")),
            "Sunday is closed"
        );
        // Summer time: UTC+2.
        assert!(hours.open_at(at("2026-07-06T07:00:00Z")), "09:00 in July");

        let mut errors = ValidationErrors::default();
        BusinessHours {
            time_zone: "Mars/Olympus".into(),
            mon: "17:00-09:00".into(),
            tue: "9-5".into(),
            wed: "08:00-25:00".into(),
            ..BusinessHours::default()
        }
        .check("h", &mut errors);
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["h.time_zone", "h.mon", "h.tue", "h.wed"]);
        assert_eq!(day_ranges(""), Some(vec![]));
    }

    #[test]
    fn patch_merges_and_validates() {
        let current = default_value::<WidgetConfig>();
        let next = apply_patch::<WidgetConfig>(&current, &json!({"primary_color": "#112233"}))
            .expect("valid patch");
        assert_eq!(next["primary_color"], "#112233");
        assert_eq!(next["welcome_message"], current["welcome_message"]);

        let err = apply_patch::<WidgetConfig>(&current, &json!({"primary_color": "red"}))
            .expect_err("bad colour");
        assert_eq!(err.0[0].field, "widget_config.primary_color");

        let err = apply_patch::<WidgetConfig>(&current, &json!({"colour": "#fff"}))
            .expect_err("unknown key");
        assert!(err.0[0].message.contains("unknown field"), "{err:?}");

        let err =
            apply_patch::<AiConfig>(&default_value::<AiConfig>(), &json!({"temperature": "hot"}))
                .expect_err("wrong type");
        assert_eq!(err.0[0].field, "ai_config");
    }

    #[test]
    fn counts_take_whole_numbers_written_either_way() {
        let current = default_value::<RetrievalConfig>();
        let next = apply_patch::<RetrievalConfig>(&current, &json!({"top_k": 7.0}))
            .expect("7.0 is a whole number");
        assert_eq!(next["top_k"], 7);
        for bad in [json!(7.5), json!(-1), json!(1e12), json!("7")] {
            apply_patch::<RetrievalConfig>(&current, &json!({"top_k": bad}))
                .expect_err("not a count");
        }
    }

    #[test]
    fn null_restores_the_default() {
        let current =
            apply_patch::<AiConfig>(&default_value::<AiConfig>(), &json!({"max_tokens": 9}))
                .expect("valid");
        let back = apply_patch::<AiConfig>(&current, &json!({"max_tokens": null})).expect("valid");
        assert_eq!(back["max_tokens"], 1024);
    }

    #[test]
    fn retrieval_overlap_must_be_smaller_than_chunks() {
        let err = apply_patch::<RetrievalConfig>(
            &default_value::<RetrievalConfig>(),
            &json!({"chunk_size": 300, "chunk_overlap": 300}),
        )
        .expect_err("overlap too big");
        assert_eq!(err.0[0].field, "retrieval_config.chunk_overlap");
    }
}
