//! Chat space pages: cards, create, settings, publish, API keys, delete.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use docent_app::AppError;
use docent_core::config::{AiConfig, RetrievalConfig, WidgetConfig, read};
use docent_core::*;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiForm, IdPath};
use crate::http::pages::{PageCtx, PageError, Shell, field_errors, redirect_with};
use docent_app::api_keys::{self, CreateApiKey};
use docent_app::chat_spaces::{self, CreateChatSpace, PatchChatSpace};
use docent_app::orgs;

#[derive(Template)]
#[template(path = "chat_spaces/spaces.html")]
struct SpacesPage {
    shell: Shell,
    title: &'static str,
    spaces: Vec<ChatSpace>,
    usage: orgs::Usage,
}

impl SpacesPage {
    fn limit_text(&self) -> String {
        match self.usage.limits.chat_spaces_per_org {
            Some(max) => format!(
                "{} of {max} chat spaces on the {} plan",
                self.usage.chat_spaces,
                self.usage.plan.label()
            ),
            None => format!("{} chat spaces", self.usage.chat_spaces),
        }
    }

    fn at_limit(&self) -> bool {
        !PlanLimits::allows(
            self.usage.limits.chat_spaces_per_org,
            self.usage.chat_spaces,
        )
    }
}

pub async fn index(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
) -> Result<Response, PageError> {
    let spaces =
        chat_spaces::list(&state, &caller, Page::first(Page::<ChatSpaceId>::MAX_LIMIT)).await?;
    let usage = orgs::usage(&state, &caller).await?;
    let page = SpacesPage {
        shell: ctx.shell_in("spaces"),
        title: "Chat spaces",
        spaces,
        usage,
    };
    Ok(ctx.render(&page))
}

#[derive(Template)]
#[template(path = "chat_spaces/space_new.html")]
struct NewSpacePage {
    shell: Shell,
    title: &'static str,
    errors: ValidationErrors,
    name: String,
    description: String,
}

pub async fn new_page(caller: Caller, ctx: PageCtx) -> Result<Response, PageError> {
    caller.require(Role::Admin)?;
    let page = NewSpacePage {
        shell: ctx.shell_in("spaces"),
        title: "New chat space",
        errors: ValidationErrors::new(),
        name: String::new(),
        description: String::new(),
    };
    Ok(ctx.render(&page))
}

#[derive(Debug, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    ApiForm(form): ApiForm<CreateForm>,
) -> Result<Response, PageError> {
    let input = CreateChatSpace {
        name: form.name.clone(),
        description: form.description.clone(),
        ..CreateChatSpace::default()
    };
    match chat_spaces::create(&state, &caller, input).await {
        // A new chat space knows nothing yet: it opens where knowledge is added.
        Ok(space) => Ok(redirect_with(
            &format!("/app/chat-spaces/{}/knowledge", space.id),
            "created",
        )),
        Err(e) => {
            let e = ApiError::from(e);
            let status = e.status();
            let page = NewSpacePage {
                shell: ctx.shell_in("spaces"),
                title: "New chat space",
                errors: field_errors(e)?,
                name: form.name,
                description: form.description,
            };
            Ok(ctx.render_status(status, &page))
        }
    }
}

/// The values of the settings form, from the stored chat space or from a rejected post.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    endpoint_slug: String,
    #[serde(default)]
    description: String,
    #[serde(default, rename = "ai_config.model")]
    model: String,
    #[serde(default, rename = "ai_config.temperature")]
    temperature: String,
    #[serde(default, rename = "ai_config.system_prompt")]
    system_prompt: String,
    #[serde(default, rename = "ai_config.dont_know_reply")]
    dont_know_reply: String,
    /// `rag` or `webhook`.
    #[serde(default)]
    answer_mode: String,
    #[serde(default)]
    webhook_url: String,
    #[serde(default, rename = "ai_config.fallback_reply")]
    fallback_reply: String,
    #[serde(default, rename = "ai_config.max_tokens")]
    max_tokens: String,
    #[serde(default, rename = "retrieval_config.top_k")]
    top_k: String,
    #[serde(default, rename = "retrieval_config.similarity_threshold")]
    similarity_threshold: String,
    /// Empty: conversations are kept.
    #[serde(default)]
    retention_days: String,
    /// Checkboxes: present when ticked.
    #[serde(default, rename = "ai_config.handover.enabled")]
    handover_enabled: Option<String>,
    #[serde(default, rename = "ai_config.handover.visitor_button")]
    handover_button: Option<String>,
    #[serde(default, rename = "ai_config.handover.phrases")]
    handover_phrases: Option<String>,
    #[serde(default, rename = "ai_config.handover.after_dont_know")]
    after_dont_know: String,
    #[serde(default, rename = "ai_config.handover.after_thumbs_down")]
    after_thumbs_down: String,
    /// Comma-separated.
    #[serde(default, rename = "ai_config.handover.keywords")]
    keywords: String,
    #[serde(default, rename = "ai_config.handover.auto_assign")]
    auto_assign: Option<String>,
    #[serde(default, rename = "ai_config.handover.max_per_agent")]
    max_per_agent: String,
    #[serde(default, rename = "ai_config.handover.email_after_minutes")]
    email_after_minutes: String,
    /// Ticked: people answer only within the hours below.
    #[serde(default, rename = "ai_config.handover.hours")]
    hours_on: Option<String>,
    #[serde(default, rename = "ai_config.handover.hours.time_zone")]
    time_zone: String,
    #[serde(default, rename = "ai_config.handover.hours.mon")]
    hours_mon: String,
    #[serde(default, rename = "ai_config.handover.hours.tue")]
    hours_tue: String,
    #[serde(default, rename = "ai_config.handover.hours.wed")]
    hours_wed: String,
    #[serde(default, rename = "ai_config.handover.hours.thu")]
    hours_thu: String,
    #[serde(default, rename = "ai_config.handover.hours.fri")]
    hours_fri: String,
    #[serde(default, rename = "ai_config.handover.hours.sat")]
    hours_sat: String,
    #[serde(default, rename = "ai_config.handover.hours.sun")]
    hours_sun: String,
    /// The lead form (`widget_config.lead_form`): on, when, what it asks.
    #[serde(default, rename = "lead.enabled")]
    lead_enabled: Option<String>,
    #[serde(default, rename = "lead.ask.before_chat")]
    lead_before_chat: Option<String>,
    #[serde(default, rename = "lead.ask.after_messages")]
    lead_after_messages_on: Option<String>,
    #[serde(default, rename = "lead.ask.no_answer")]
    lead_no_answer: Option<String>,
    #[serde(default, rename = "lead.ask.outside_hours")]
    lead_outside_hours: Option<String>,
    #[serde(default, rename = "widget_config.lead_form.after_messages")]
    lead_after_messages: String,
    #[serde(default, rename = "widget_config.lead_form.title")]
    lead_title: String,
    /// `off`, `optional` or `required`, for each built-in field.
    #[serde(default, rename = "lead.name")]
    lead_name: String,
    #[serde(default, rename = "lead.email")]
    lead_email: String,
    #[serde(default, rename = "lead.phone")]
    lead_phone: String,
    #[serde(default, rename = "lead.company")]
    lead_company: String,
    /// One custom field a line: `Label`, or `Label: choice, choice` for a choice; a
    /// trailing `*` makes it required.
    #[serde(default, rename = "lead.custom")]
    lead_custom: String,
    #[serde(default, rename = "widget_config.lead_form.consent")]
    lead_consent: String,
}

/// The built-in lead fields: key, label, kind.
const LEAD_BUILT_IN: [(&str, &str, LeadFieldKind); 4] = [
    ("name", "Name", LeadFieldKind::Text),
    ("email", "Email", LeadFieldKind::Email),
    ("phone", "Phone", LeadFieldKind::Phone),
    ("company", "Company", LeadFieldKind::Text),
];

/// A custom field's line as the form shows it.
fn custom_line(f: &LeadField) -> String {
    let mut line = f.label.clone();
    if f.kind == LeadFieldKind::Select {
        line.push_str(": ");
        line.push_str(&f.options.join(", "));
    }
    if f.required {
        line.push_str(" *");
    }
    line
}

/// The custom fields of the form's lines.
fn custom_fields(text: &str, errors: &mut ValidationErrors) -> Vec<LeadField> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (line, required) = match line.strip_suffix('*') {
            Some(rest) => (rest.trim_end(), true),
            None => (line, false),
        };
        let (label, options) = match line.split_once(':') {
            Some((label, choices)) => (
                label.trim(),
                choices
                    .split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>(),
            ),
            None => (line, Vec::new()),
        };
        let key: String = docent_core::validate::slugify(label).replace('-', "_");
        let key = if key.starts_with(|c: char| c.is_ascii_lowercase()) {
            key
        } else {
            format!("field_{key}")
        };
        if label.is_empty() || LEAD_BUILT_IN.iter().any(|(k, ..)| *k == key) {
            errors.add(
                "lead.custom",
                format!("\"{line}\": give each custom field a label of its own (name, email, phone and company are above)."),
            );
            continue;
        }
        out.push(LeadField {
            key: key.chars().take(32).collect(),
            label: label.to_owned(),
            kind: if options.is_empty() {
                LeadFieldKind::Text
            } else {
                LeadFieldKind::Select
            },
            required,
            options,
        });
    }
    out
}

impl SettingsForm {
    fn from_space(space: &ChatSpace) -> SettingsForm {
        let ai: AiConfig = read(&space.ai_config);
        let retrieval: RetrievalConfig = read(&space.retrieval_config);
        let hours = ai.handover.hours.clone().unwrap_or_default();
        let widget: WidgetConfig = read(&space.widget_config);
        let lead = widget.lead_form;
        let built_in = |key: &str| match lead.fields.iter().find(|f| f.key == key) {
            Some(f) if f.required => "required".to_owned(),
            Some(_) => "optional".to_owned(),
            None => "off".to_owned(),
        };
        SettingsForm {
            name: space.name.clone(),
            endpoint_slug: space.endpoint_slug.clone(),
            description: space.description.clone(),
            model: ai.model,
            temperature: ai.temperature.to_string(),
            system_prompt: ai.system_prompt,
            dont_know_reply: ai.dont_know_reply,
            answer_mode: space.answer_mode.as_str().to_owned(),
            webhook_url: space.webhook_url.clone().unwrap_or_default(),
            fallback_reply: ai.fallback_reply,
            max_tokens: ai.max_tokens.to_string(),
            top_k: retrieval.top_k.to_string(),
            similarity_threshold: retrieval.similarity_threshold.to_string(),
            retention_days: space
                .retention_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
            handover_enabled: ai.handover.enabled.then(|| "on".to_owned()),
            handover_button: ai.handover.visitor_button.then(|| "on".to_owned()),
            handover_phrases: ai.handover.phrases.then(|| "on".to_owned()),
            after_dont_know: ai.handover.after_dont_know.to_string(),
            after_thumbs_down: ai.handover.after_thumbs_down.to_string(),
            keywords: ai.handover.keywords.join(", "),
            auto_assign: ai.handover.auto_assign.then(|| "on".to_owned()),
            max_per_agent: ai.handover.max_per_agent.to_string(),
            email_after_minutes: ai.handover.email_after_minutes.to_string(),
            hours_on: ai.handover.hours.is_some().then(|| "on".to_owned()),
            time_zone: hours.time_zone,
            hours_mon: hours.mon,
            hours_tue: hours.tue,
            hours_wed: hours.wed,
            hours_thu: hours.thu,
            hours_fri: hours.fri,
            hours_sat: hours.sat,
            hours_sun: hours.sun,
            lead_enabled: lead.enabled.then(|| "on".to_owned()),
            lead_before_chat: lead
                .ask
                .contains(&LeadTrigger::BeforeChat)
                .then(|| "on".to_owned()),
            lead_after_messages_on: lead
                .ask
                .contains(&LeadTrigger::AfterMessages)
                .then(|| "on".to_owned()),
            lead_no_answer: lead
                .ask
                .contains(&LeadTrigger::NoAnswer)
                .then(|| "on".to_owned()),
            lead_outside_hours: lead
                .ask
                .contains(&LeadTrigger::OutsideHours)
                .then(|| "on".to_owned()),
            lead_after_messages: lead.after_messages.to_string(),
            lead_name: built_in("name"),
            lead_email: built_in("email"),
            lead_phone: built_in("phone"),
            lead_company: built_in("company"),
            lead_custom: lead
                .fields
                .iter()
                .filter(|f| !LEAD_BUILT_IN.iter().any(|(k, ..)| *k == f.key))
                .map(custom_line)
                .collect::<Vec<_>>()
                .join("\n"),
            lead_title: lead.title,
            lead_consent: lead.consent,
        }
    }

    /// Whether the built-in lead field `key` is chosen as `state` (`off`, `optional`,
    /// `required`).
    pub fn lead_is(&self, key: &str, state: &str) -> bool {
        self.lead_built_in()
            .iter()
            .any(|(k, _, chosen)| *k == key && *chosen == state)
    }

    /// The built-in lead fields as the form shows them: key, label, chosen state.
    pub fn lead_built_in(&self) -> [(&'static str, &'static str, &str); 4] {
        [
            ("name", "Name", &self.lead_name),
            ("email", "Email", &self.lead_email),
            ("phone", "Phone", &self.lead_phone),
            ("company", "Company", &self.lead_company),
        ]
    }

    /// The business hours as the form shows them, one field a day.
    pub fn days(&self) -> [(&'static str, &'static str, &str); 7] {
        [
            ("mon", "Monday", &self.hours_mon),
            ("tue", "Tuesday", &self.hours_tue),
            ("wed", "Wednesday", &self.hours_wed),
            ("thu", "Thursday", &self.hours_thu),
            ("fri", "Friday", &self.hours_fri),
            ("sat", "Saturday", &self.hours_sat),
            ("sun", "Sunday", &self.hours_sun),
        ]
    }

    fn into_patch(self, errors: &mut ValidationErrors) -> PatchChatSpace {
        let temperature = match self.temperature.trim().parse::<f64>() {
            Ok(t) => json!(t),
            Err(_) => {
                errors.add("ai_config.temperature", "Use a number from 0 to 2.");
                json!(null)
            }
        };
        let mut number = |field: &str, text: &str, message: &str| match text.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => json!(n),
            _ => {
                errors.add(field, message);
                json!(null)
            }
        };
        let max_tokens = number(
            "ai_config.max_tokens",
            &self.max_tokens,
            "Use 1 to 32000 tokens.",
        );
        let top_k = number(
            "retrieval_config.top_k",
            &self.top_k,
            "Use a whole number from 1 to 50.",
        );
        let threshold = number(
            "retrieval_config.similarity_threshold",
            &self.similarity_threshold,
            "Use a number from 0 to 1.",
        );
        let after_dont_know = number(
            "ai_config.handover.after_dont_know",
            &self.after_dont_know,
            "Use 0 (never) to 20.",
        );
        let after_thumbs_down = number(
            "ai_config.handover.after_thumbs_down",
            &self.after_thumbs_down,
            "Use 0 (never) to 20.",
        );
        let max_per_agent = number(
            "ai_config.handover.max_per_agent",
            &self.max_per_agent,
            "Use 0 (no limit) to 1000.",
        );
        let email_after_minutes = number(
            "ai_config.handover.email_after_minutes",
            &self.email_after_minutes,
            "Use 0 (never) to 1440 minutes.",
        );
        // Fields a form leaves out keep their defaults.
        let lead_after = if self.lead_after_messages.trim().is_empty() {
            json!(null)
        } else {
            number(
                "widget_config.lead_form.after_messages",
                &self.lead_after_messages,
                "Use 1 to 50 messages.",
            )
        };
        let retention_days = match self.retention_days.trim() {
            "" => None,
            text => match text.parse::<u32>() {
                Ok(days) => Some(days),
                Err(_) => {
                    errors.add(
                        "retention_days",
                        "Use a whole number of days, or leave it empty to keep conversations.",
                    );
                    None
                }
            },
        };
        let keywords: Vec<&str> = self
            .keywords
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .collect();
        let whole = |v: serde_json::Value| match v.as_f64() {
            Some(n) if n.fract() == 0.0 && n >= 0.0 => json!(n as u64),
            _ => v,
        };
        let mut lead_fields: Vec<LeadField> = Vec::new();
        for (key, label, kind) in LEAD_BUILT_IN {
            let state = match key {
                "name" => &self.lead_name,
                "email" => &self.lead_email,
                "phone" => &self.lead_phone,
                _ => &self.lead_company,
            };
            if matches!(state.as_str(), "optional" | "required") {
                lead_fields.push(LeadField {
                    key: key.into(),
                    label: label.into(),
                    kind,
                    required: state == "required",
                    options: Vec::new(),
                });
            }
        }
        lead_fields.extend(custom_fields(&self.lead_custom, errors));
        let ask: Vec<LeadTrigger> = [
            (&self.lead_before_chat, LeadTrigger::BeforeChat),
            (&self.lead_after_messages_on, LeadTrigger::AfterMessages),
            (&self.lead_no_answer, LeadTrigger::NoAnswer),
            (&self.lead_outside_hours, LeadTrigger::OutsideHours),
        ]
        .into_iter()
        .filter(|(on, _)| on.is_some())
        .map(|(_, t)| t)
        .collect();
        PatchChatSpace {
            widget_config: Some(json!({"lead_form": {
                "enabled": self.lead_enabled.is_some(),
                "ask": ask,
                "after_messages": whole(lead_after),
                "title": self.lead_title.trim(),
                "fields": if lead_fields.is_empty() && self.lead_enabled.is_none() {
                    json!(null)
                } else {
                    json!(lead_fields)
                },
                "consent": self.lead_consent.trim(),
            }})),
            name: Some(self.name),
            endpoint_slug: Some(self.endpoint_slug),
            description: Some(self.description),
            ai_config: Some(json!({
                "model": self.model,
                "temperature": temperature,
                "system_prompt": self.system_prompt,
                "dont_know_reply": self.dont_know_reply,
                "fallback_reply": Some(self.fallback_reply.trim()).filter(|f| !f.is_empty()),
                "max_tokens": whole(max_tokens),
                "handover": {
                    "enabled": self.handover_enabled.is_some(),
                    "visitor_button": self.handover_button.is_some(),
                    "phrases": self.handover_phrases.is_some(),
                    "after_dont_know": whole(after_dont_know),
                    "after_thumbs_down": whole(after_thumbs_down),
                    "keywords": keywords,
                    "auto_assign": self.auto_assign.is_some(),
                    "max_per_agent": whole(max_per_agent),
                    "email_after_minutes": whole(email_after_minutes),
                    "hours": self.hours_on.is_some().then(|| json!({
                        "time_zone": self.time_zone.trim(),
                        "mon": self.hours_mon, "tue": self.hours_tue, "wed": self.hours_wed,
                        "thu": self.hours_thu, "fri": self.hours_fri, "sat": self.hours_sat,
                        "sun": self.hours_sun,
                    })),
                },
            })),
            retrieval_config: Some(json!({
                "top_k": whole(top_k),
                "similarity_threshold": threshold,
            })),
            retention_days: Some(retention_days),
            answer_mode: Some(match self.answer_mode.as_str() {
                "webhook" => AnswerMode::Webhook,
                _ => AnswerMode::Rag,
            }),
            webhook_url: Some(Some(self.webhook_url.trim().to_owned()).filter(|u| !u.is_empty())),
            ..PatchChatSpace::default()
        }
    }
}

#[derive(Template)]
#[template(path = "chat_spaces/space_show.html")]
struct SpacePage {
    shell: Shell,
    title: String,
    space: ChatSpace,
    form: SettingsForm,
    errors: ValidationErrors,
    keys: Vec<ApiKey>,
    new_key: Option<String>,
    setup: chat_spaces::Setup,
    /// Whether a language model writes answers on this server (else they are quoted).
    has_model: bool,
    /// The answer webhook's health and latest failures.
    webhook: docent_app::answer_webhook::WebhookStatus,
}

async fn space_page(
    state: &AppState,
    caller: &Caller,
    ctx: &PageCtx,
    space: ChatSpace,
    form: Option<SettingsForm>,
    errors: ValidationErrors,
    new_key: Option<String>,
) -> Result<SpacePage, PageError> {
    let keys = if caller.role.can_manage() {
        api_keys::list(state, caller, Some(space.id)).await?
    } else {
        Vec::new()
    };
    let setup = chat_spaces::setup(state, caller, &space).await?;
    let id = space.id;
    Ok(SpacePage {
        shell: ctx.shell_in("spaces"),
        title: space.name.clone(),
        form: form.unwrap_or_else(|| SettingsForm::from_space(&space)),
        space,
        errors,
        keys,
        new_key,
        setup,
        has_model: state.answers.has_model(),
        webhook: docent_app::answer_webhook::status(state, caller, id).await?,
    })
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<ChatSpaceId>,
) -> Result<Response, PageError> {
    let space = chat_spaces::get(&state, &caller, id).await?;
    let page = space_page(
        &state,
        &caller,
        &ctx,
        space,
        None,
        ValidationErrors::new(),
        None,
    )
    .await?;
    Ok(ctx.render(&page))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiForm(form): ApiForm<SettingsForm>,
) -> Result<Response, PageError> {
    caller.require(Role::Admin)?;
    let space = chat_spaces::get(&state, &caller, id).await?;
    let mut errors = ValidationErrors::new();
    let shown = form.clone();
    let patch = form.into_patch(&mut errors);
    match save_form(&state, &caller, id, patch, errors, "").await? {
        Saved::Done(done) => Ok(done),
        Saved::Refused(status, errors) => {
            let page = space_page(&state, &caller, &ctx, space, Some(shown), errors, None).await?;
            Ok(ctx.render_status(status, &page))
        }
    }
}

/// What became of a chat space form.
pub(super) enum Saved {
    /// Saved: the redirect back to its page, with "saved".
    Done(Response),
    /// Not saved: the status and field errors to show the form again with.
    Refused(StatusCode, ValidationErrors),
}

/// Saves a chat space form, the dashboard's one way for every page of a chat space: `patch`
/// when the form had no `errors`, then back to the page at `/app/chat-spaces/{id}{tab}`.
pub(super) async fn save_form(
    state: &AppState,
    caller: &Caller,
    id: ChatSpaceId,
    patch: PatchChatSpace,
    errors: ValidationErrors,
    tab: &str,
) -> Result<Saved, PageError> {
    let result = if errors.is_empty() {
        chat_spaces::patch(state, caller, id, patch).await
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(space) => Ok(Saved::Done(redirect_with(
            &format!("/app/chat-spaces/{}{tab}", space.id),
            "saved",
        ))),
        Err(e) => {
            let e = ApiError::from(e);
            let status = e.status();
            Ok(Saved::Refused(status, field_errors(e)?))
        }
    }
}

async fn status_change(
    state: &AppState,
    caller: &Caller,
    ctx: &PageCtx,
    id: ChatSpaceId,
    publish: bool,
    back: &str,
) -> Result<Response, PageError> {
    let result = if publish {
        chat_spaces::publish(state, caller, id).await
    } else {
        chat_spaces::unpublish(state, caller, id).await
    };
    match result {
        Ok(_) => Ok(redirect_with(
            back,
            if publish { "published" } else { "unpublished" },
        )),
        Err(e) => {
            let e = ApiError::from(e);
            let status = e.status();
            let errors = field_errors(e)?;
            let space = chat_spaces::get(state, caller, id).await?;
            let page = space_page(state, caller, ctx, space, None, errors, None).await?;
            Ok(ctx.render_status(status, &page))
        }
    }
}

/// The tab a Publish or Unpublish button was pressed on, to return to.
#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    back: String,
}

impl StatusForm {
    fn path(&self, id: ChatSpaceId) -> String {
        match self.back.as_str() {
            tab @ ("knowledge" | "playground" | "appearance" | "install") => {
                format!("/app/chat-spaces/{id}/{tab}")
            }
            _ => format!("/app/chat-spaces/{id}"),
        }
    }
}

pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiForm(form): ApiForm<StatusForm>,
) -> Result<Response, PageError> {
    status_change(&state, &caller, &ctx, id, true, &form.path(id)).await
}

pub async fn unpublish(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiForm(form): ApiForm<StatusForm>,
) -> Result<Response, PageError> {
    status_change(&state, &caller, &ctx, id, false, &form.path(id)).await
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
) -> Result<Response, PageError> {
    chat_spaces::delete(&state, &caller, id).await?;
    Ok(redirect_with("/app", "deleted"))
}

#[derive(Debug, Deserialize)]
pub struct KeyForm {
    #[serde(default, rename = "key_name")]
    name: String,
}

pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiForm(form): ApiForm<KeyForm>,
) -> Result<Response, PageError> {
    let space = chat_spaces::get(&state, &caller, id).await?;
    let input = CreateApiKey {
        name: form.name,
        chat_space_id: Some(id),
    };
    let (errors, secret) = match api_keys::create(&state, &caller, input).await {
        Ok((_, secret)) => (ValidationErrors::new(), Some(secret)),
        Err(AppError::Validation(errors)) => (
            ValidationErrors(
                errors
                    .0
                    .into_iter()
                    .map(|mut e| {
                        e.field = "key_name".into();
                        e
                    })
                    .collect(),
            ),
            None,
        ),
        Err(e) => return Err(e.into()),
    };
    let status = if secret.is_some() {
        axum::http::StatusCode::CREATED
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = space_page(&state, &caller, &ctx, space, None, errors, secret).await?;
    Ok(ctx.render_status(status, &page))
}

pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    IdPath((id, key_id)): IdPath<(ChatSpaceId, ApiKeyId)>,
) -> Result<Response, PageError> {
    chat_spaces::get(&state, &caller, id).await?;
    let key_belongs = api_keys::list(&state, &caller, Some(id))
        .await?
        .iter()
        .any(|k| k.id == key_id);
    if !key_belongs {
        return Err(AppError::NotFound("API key").into());
    }
    api_keys::revoke(&state, &caller, key_id).await?;
    Ok(redirect_with(
        &format!("/app/chat-spaces/{id}#api-keys"),
        "key_revoked",
    ))
}

/// The answer webhook's Basic auth form: Save sends both fields, Remove only `action`.
#[derive(Debug, Deserialize)]
pub struct WebhookAuthForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub async fn save_answer_webhook_auth(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiForm(form): ApiForm<WebhookAuthForm>,
) -> Result<Response, PageError> {
    use docent_app::answer_webhook::{self, WebhookAuthInput};
    let remove = form.action == "remove";
    let input = (!remove).then_some(WebhookAuthInput {
        username: form.username,
        password: form.password,
    });
    let saved = answer_webhook::set_auth(&state, &caller, id, input).await;
    match saved {
        Ok(_) => Ok(redirect_with(
            &format!("/app/chat-spaces/{id}#answer-webhook"),
            if remove {
                "webhook_auth_removed"
            } else {
                "webhook_auth_saved"
            },
        )),
        Err(e) => {
            let status = ApiError::from(e.clone()).status();
            let errors = field_errors(e)?;
            let space = chat_spaces::get(&state, &caller, id).await?;
            let page = space_page(&state, &caller, &ctx, space, None, errors, None).await?;
            Ok(ctx.render_status(status, &page))
        }
    }
}

pub async fn check_answer_webhook(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
) -> Result<Response, PageError> {
    docent_app::answer_webhook::check_now(&state, &caller, id).await?;
    Ok(redirect_with(
        &format!("/app/chat-spaces/{id}#answer-webhook"),
        "webhook_checked",
    ))
}
