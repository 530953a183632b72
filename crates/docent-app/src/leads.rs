//! Lead capture (DESIGN §4 "Integrations"): a visitor leaves their details in the chat space's
//! lead form (checked against the form here, whatever the widget checked); one lead per
//! visitor and chat space, updated when they give them again. Each is sent to the webhooks
//! that hear `lead.captured` (a CRM URL is such a webhook). Members read a chat space's leads,
//! search them and export them as CSV.

use std::collections::BTreeMap;

use chrono::Utc;
use docent_core::config::WidgetConfig;
use docent_core::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::conversations::{Export, cell, csv_line};
use crate::limits::WidgetSpace;
use crate::{App, AppError, Caller, chat_spaces};

/// What a visitor sent from the lead form.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadInput {
    #[schemars(regex(pattern = docent_core::validate::VISITOR_ID_PATTERN), example = "v-3f9a2c71d4e8")]
    pub visitor_id: String,
    /// The conversation it was left in, when there is one.
    #[serde(default)]
    pub conversation_id: Option<ConversationId>,
    /// The form's fields by key (`name`, `email`, `phone`, `company`, or a custom key).
    #[schemars(example = lead_example())]
    pub fields: BTreeMap<String, String>,
    /// Whether the visitor ticked the form's consent.
    #[serde(default)]
    pub consent: bool,
    /// The page the widget is on.
    #[serde(default)]
    #[schemars(length(max = 2000))]
    pub page_url: Option<String>,
}

fn lead_example() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("name".to_owned(), "Ana Lima".to_owned()),
        ("email".to_owned(), "ana@example.com".to_owned()),
    ])
}

/// What the visitor is told.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LeadSaved {
    pub lead_id: LeadId,
    /// False when it updated the details this visitor left before.
    pub created: bool,
}

/// The lead form a chat space shows, when it has one on.
pub fn form(space: &ChatSpace) -> Option<LeadForm> {
    let widget: WidgetConfig = docent_core::config::read(&space.widget_config);
    widget.lead_form.enabled.then_some(widget.lead_form)
}

pub async fn submit(app: &App, w: &WidgetSpace, input: LeadInput) -> Result<LeadSaved, AppError> {
    let visitor_id = w.visitor(&input.visitor_id)?;
    let form = form(&w.space).ok_or(AppError::LeadFormOff)?;
    let mut values = form.accept(&input.fields, input.consent)?;
    let page_url = input
        .page_url
        .map(|u| u.trim().chars().take(2000).collect::<String>())
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"));
    let conversation = match input.conversation_id {
        Some(id) => {
            Some(crate::visitors::visitors_conversation(app, w, id, &input.visitor_id).await?)
        }
        None => None,
    };
    let now = Utc::now();
    let mut take = |key: &str| values.remove(key);
    let lead = Lead {
        id: LeadId::generate(),
        org_id: w.space.org_id,
        chat_space_id: w.space.id,
        conversation_id: conversation.as_ref().map(|c| c.id),
        verified: visitor_id.starts_with(crate::identity::VERIFIED_PREFIX),
        visitor_id,
        name: take("name"),
        email: take("email"),
        phone: take("phone"),
        company: take("company"),
        fields: values,
        consent: input.consent,
        consent_text: (!form.consent.trim().is_empty()).then(|| form.consent.trim().to_owned()),
        page_url,
        created_at: now,
        updated_at: now,
    };
    let (saved, created) = app.store.save_lead(&lead).await?;
    if let Some(c) = &conversation
        && (saved.name.is_some() || saved.email.is_some())
    {
        // The inbox and the conversation list show who it is.
        app.store
            .identify_visitor(c.org_id, c.id, saved.name.clone(), saved.email.clone())
            .await?;
    }
    let mut data = serde_json::to_value(&saved).unwrap_or_default();
    if let Some(d) = data.as_object_mut() {
        d.remove("org_id");
        d.insert("lead_id".into(), json!(saved.id));
        d.remove("id");
        d.insert("updated".into(), json!(!created));
    }
    crate::webhooks::notify(
        app,
        saved.org_id,
        Some(saved.chat_space_id),
        EventType::LeadCaptured,
        data,
    )
    .await;
    Ok(LeadSaved {
        lead_id: saved.id,
        created,
    })
}

/// `?q=&limit=&cursor=`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadQuery {
    /// Part of a name, email, phone or company.
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub q: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub cursor: Option<LeadId>,
}

impl LeadQuery {
    fn search(&self) -> Option<&str> {
        self.q.as_deref().map(str::trim).filter(|q| !q.is_empty())
    }
}

/// A chat space's leads, newest first (everyone who sees the chat space).
pub async fn list(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    query: &LeadQuery,
) -> Result<Vec<Lead>, AppError> {
    let space = chat_spaces::get(app, caller, space).await?;
    if query.q.as_deref().is_some_and(|q| q.chars().count() > 200) {
        return Err(AppError::validation(
            "q",
            "Search for at most 200 characters.",
        ));
    }
    let page = Page {
        limit: query
            .limit
            .unwrap_or(Page::<LeadId>::DEFAULT_LIMIT)
            .clamp(1, Page::<LeadId>::MAX_LIMIT),
        cursor: query.cursor,
    };
    Ok(app
        .store
        .leads(space.org_id, space.id, query.search(), page)
        .await?)
}

/// Every lead of a chat space (that `q` finds) as CSV: the form's built-in fields, then
/// each custom field in a column of its own.
pub async fn export(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    q: Option<&str>,
) -> Result<Export, AppError> {
    let space = chat_spaces::get(app, caller, space).await?;
    if q.is_some_and(|q| q.chars().count() > 200) {
        return Err(AppError::validation(
            "q",
            "Search for at most 200 characters.",
        ));
    }
    let q = q.map(str::trim).filter(|q| !q.is_empty());
    let mut leads = Vec::new();
    let mut cursor = None;
    loop {
        let page = Page { limit: 500, cursor };
        let batch = app.store.leads(space.org_id, space.id, q, page).await?;
        let full = batch.len() == 500;
        cursor = batch.last().map(|l| l.id);
        leads.extend(batch);
        if !full || leads.len() >= 100_000 {
            break;
        }
    }
    let custom: std::collections::BTreeSet<String> = leads
        .iter()
        .flat_map(|l| l.fields.keys().cloned())
        .collect();
    let mut out = csv_line(
        [
            "created_at",
            "name",
            "email",
            "phone",
            "company",
            "consent",
            "verified",
            "page_url",
            "visitor_id",
            "conversation_id",
        ]
        .into_iter()
        .chain(custom.iter().map(String::as_str)),
    );
    for l in &leads {
        let text = |v: &Option<String>| cell(v.as_deref().unwrap_or("")).into_owned();
        let mut row = vec![
            l.created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            text(&l.name),
            text(&l.email),
            text(&l.phone),
            text(&l.company),
            if l.consent { "yes" } else { "no" }.to_owned(),
            if l.verified { "yes" } else { "no" }.to_owned(),
            text(&l.page_url),
            cell(&l.visitor_id).into_owned(),
            l.conversation_id.map(|c| c.to_string()).unwrap_or_default(),
        ];
        row.extend(
            custom
                .iter()
                .map(|k| cell(l.fields.get(k).map_or("", String::as_str)).into_owned()),
        );
        out.extend(csv_line(row.iter().map(String::as_str)));
    }
    let file_name = format!(
        "{}-leads-{}.csv",
        space.endpoint_slug,
        Utc::now().format("%Y-%m-%d")
    );
    Ok(Export::whole(file_name, out))
}
