//! Outbound webhooks (DESIGN §4 "Integrations"): an organization's endpoints, and every
//! event they hear delivered as Standard Webhooks v1 says.
//!
//! An event is written once per endpoint that hears it, as a delivery holding the exact body
//! it sends, and each delivery is a durable job ([`JobKind::Webhook`]): at once, then on the
//! Standard Webhooks schedule for about three days, on whichever instance claims it. Each
//! attempt is signed anew (`webhook-id` stays, `webhook-timestamp` is the attempt's), with
//! the current secret and, for a day after a rotation, the previous one. An endpoint that
//! answers `410 Gone`, or that fails a delivery's every attempt without answering any other
//! in between, is disabled and its owners are emailed. Every URL goes through the fetch guard
//! when saved and again when called; an answer is read to 1 KiB.

use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use docent_core::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::jobs::JobError;
use crate::{App, AppError, Caller};

/// Endpoints an organization may have.
const MAX_ENDPOINTS: usize = 20;
/// How much of a receiver's answer the delivery log keeps.
const RESPONSE_BYTES: usize = 1024;
/// The longest `Retry-After` honoured; beyond it the schedule's own wait applies.
const MAX_RETRY_AFTER_SECS: u64 = 24 * 3600;

/// A new endpoint.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// Where events are POSTed: a public http(s) address.
    #[schemars(
        length(min = 1, max = 2048),
        example = "https://hooks.example.com/docent"
    )]
    pub url: String,
    /// The event types it hears; at least one.
    #[schemars(length(min = 1))]
    pub events: Vec<EventType>,
    /// Only this chat space's events; every chat space's when absent.
    #[serde(default)]
    pub chat_space_id: Option<ChatSpaceId>,
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub description: Option<String>,
}

/// A change to an endpoint: only what is given changes. `enabled: true` turns a disabled
/// endpoint back on; `chat_space_id: null` makes it hear every chat space.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    #[serde(default)]
    #[schemars(length(min = 1, max = 2048))]
    pub url: Option<String>,
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub events: Option<Vec<EventType>>,
    #[serde(default, deserialize_with = "double_option::deserialize")]
    #[schemars(with = "Option<ChatSpaceId>")]
    pub chat_space_id: Option<Option<ChatSpaceId>>,
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub description: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// `null` and absent told apart: `Some(None)` is an explicit null.
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// A new endpoint and its signing secret, shown this once.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// `whsec_…`: verify deliveries with it (any Standard Webhooks library does).
    pub secret: String,
}

/// The secret after a rotation, shown this once; the previous one keeps signing until
/// `previous_secret_expires_at`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RotatedSecret {
    pub secret: String,
    pub previous_secret_expires_at: DateTime<Utc>,
}

/// A random number from 0 to 1, for the jitter of a retry.
fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the operating system's random source is unavailable");
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// A new secret: `whsec_` and 32 random bytes in base64 (the key is those bytes).
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).expect("the operating system's random source is unavailable");
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// The `v1,<base64>` signature of a delivery: HMAC-SHA256, keyed with the secret's decoded
/// bytes, of `{id}.{timestamp}.{body}`. `None` for a secret that is not `whsec_<base64>`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_")?)
        .ok()?;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let tag = ring::hmac::sign(&key, format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
    ))
}

fn manage(caller: &Caller) -> Result<(), AppError> {
    caller.require(Role::Admin)?;
    if caller.limited_to().is_some() {
        return Err(AppError::Forbidden(
            "Webhooks belong to the whole organization; use an organization-wide key, or log in as an owner or admin.",
        ));
    }
    Ok(())
}

async fn checked_url(app: &App, raw: &str) -> Result<String, AppError> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 2048 {
        return Err(AppError::validation(
            "url",
            "Give the address events are sent to, up to 2048 characters.",
        ));
    }
    Ok(crate::public_url(app, raw, "url").await?.to_string())
}

fn checked_events(events: &[EventType]) -> Result<Vec<EventType>, AppError> {
    let mut out: Vec<EventType> = EventType::subscribable()
        .filter(|e| events.contains(e))
        .collect();
    out.dedup();
    if out.is_empty() {
        return Err(AppError::validation(
            "events",
            "Choose at least one event type to send.",
        ));
    }
    Ok(out)
}

fn checked_description(raw: Option<&str>) -> Result<String, AppError> {
    let text = raw.unwrap_or("").trim();
    if text.chars().count() > 200 {
        return Err(AppError::validation(
            "description",
            "Keep the description to 200 characters.",
        ));
    }
    Ok(text.to_owned())
}

async fn checked_chat_space(
    app: &App,
    caller: &Caller,
    id: Option<ChatSpaceId>,
) -> Result<Option<ChatSpaceId>, AppError> {
    match id {
        None => Ok(None),
        Some(id) => Ok(Some(crate::chat_spaces::get(app, caller, id).await?.id)),
    }
}

pub async fn list(app: &App, caller: &Caller) -> Result<Vec<WebhookEndpoint>, AppError> {
    manage(caller)?;
    Ok(app.store.webhooks(caller.org_id()).await?)
}

pub async fn get(
    app: &App,
    caller: &Caller,
    id: WebhookEndpointId,
) -> Result<WebhookEndpoint, AppError> {
    manage(caller)?;
    app.store
        .find_webhook(caller.org_id(), id)
        .await?
        .ok_or(AppError::NotFound("webhook"))
}

pub async fn create(
    app: &App,
    caller: &Caller,
    input: WebhookInput,
) -> Result<CreatedWebhook, AppError> {
    manage(caller)?;
    let events = checked_events(&input.events)?;
    let description = checked_description(input.description.as_deref())?;
    let chat_space_id = checked_chat_space(app, caller, input.chat_space_id).await?;
    let url = checked_url(app, &input.url).await?;
    if app.store.webhooks(caller.org_id()).await?.len() >= MAX_ENDPOINTS {
        return Err(AppError::validation(
            "url",
            format!(
                "An organization has at most {MAX_ENDPOINTS} webhooks; delete one you no longer use."
            ),
        ));
    }
    let now = Utc::now();
    let endpoint = WebhookEndpoint {
        id: WebhookEndpointId::generate(),
        org_id: caller.org_id(),
        chat_space_id,
        url,
        description,
        events,
        previous_secret_expires_at: None,
        disabled_at: None,
        disabled_reason: None,
        last_success_at: None,
        created_at: now,
        updated_at: now,
    };
    let secret = new_secret();
    app.store.create_webhook(&endpoint, &secret).await?;
    Ok(CreatedWebhook { endpoint, secret })
}

pub async fn update(
    app: &App,
    caller: &Caller,
    id: WebhookEndpointId,
    patch: WebhookPatch,
) -> Result<WebhookEndpoint, AppError> {
    let mut endpoint = get(app, caller, id).await?;
    if let Some(events) = &patch.events {
        endpoint.events = checked_events(events)?;
    }
    if let Some(description) = &patch.description {
        endpoint.description = checked_description(Some(description))?;
    }
    if let Some(space) = patch.chat_space_id {
        endpoint.chat_space_id = checked_chat_space(app, caller, space).await?;
    }
    if let Some(url) = &patch.url {
        endpoint.url = checked_url(app, url).await?;
    }
    let now = Utc::now();
    match patch.enabled {
        Some(true) => {
            endpoint.disabled_at = None;
            endpoint.disabled_reason = None;
        }
        Some(false) if endpoint.disabled_at.is_none() => {
            endpoint.disabled_at = Some(now);
            endpoint.disabled_reason = Some("Turned off by a member.".into());
        }
        _ => {}
    }
    endpoint.updated_at = now;
    if !app.store.update_webhook(&endpoint).await? {
        return Err(AppError::NotFound("webhook"));
    }
    Ok(endpoint)
}

pub async fn delete(app: &App, caller: &Caller, id: WebhookEndpointId) -> Result<(), AppError> {
    manage(caller)?;
    if app.store.delete_webhook(caller.org_id(), id).await? {
        Ok(())
    } else {
        Err(AppError::NotFound("webhook"))
    }
}

/// A new secret; the one before keeps signing for a day, so that a receiver can switch at
/// its own pace (it accepts a delivery when any signature verifies).
pub async fn rotate_secret(
    app: &App,
    caller: &Caller,
    id: WebhookEndpointId,
) -> Result<RotatedSecret, AppError> {
    manage(caller)?;
    let now = Utc::now();
    let until = now + SigningSecrets::ROTATION_OVERLAP;
    let secret = new_secret();
    if !app
        .store
        .rotate_webhook_secret(caller.org_id(), id, &secret, until, now)
        .await?
    {
        return Err(AppError::NotFound("webhook"));
    }
    Ok(RotatedSecret {
        secret,
        previous_secret_expires_at: until,
    })
}

/// Sends a `webhook.test` event to the endpoint now, once (disabled or not), and returns
/// the delivery as it ended: what the receiver answered, for the dashboard to show.
pub async fn send_test(
    app: &App,
    caller: &Caller,
    id: WebhookEndpointId,
) -> Result<WebhookDelivery, AppError> {
    let endpoint = get(app, caller, id).await?;
    let now = Utc::now();
    let data = json!({
        "webhook_id": endpoint.id,
        "message": "A test from Docent: this endpoint receives and verifies events.",
    });
    let delivery = new_delivery(&endpoint, &new_event_id(), EventType::Test, &data, now);
    app.store
        .add_deliveries(std::slice::from_ref(&delivery))
        .await?;
    let secrets = secrets_of(app, &endpoint).await?;
    let answer = attempt(app, &endpoint, &secrets, &delivery).await;
    let outcome = if answer.succeeded() {
        DeliveryStatus::Succeeded
    } else {
        DeliveryStatus::Failed
    };
    let recorded = app
        .store
        .record_attempt(
            endpoint.org_id,
            delivery.id,
            &answer.into_attempt(outcome, None),
        )
        .await?;
    recorded.ok_or(AppError::NotFound("webhook"))
}

/// An endpoint's deliveries, newest first.
pub async fn deliveries(
    app: &App,
    caller: &Caller,
    id: WebhookEndpointId,
    page: Page<WebhookDeliveryId>,
) -> Result<Vec<WebhookDelivery>, AppError> {
    let endpoint = get(app, caller, id).await?;
    Ok(app
        .store
        .deliveries(caller.org_id(), endpoint.id, page)
        .await?)
}

/// Sends a delivery again, once, now (the same `webhook-id`, so a receiver that has it
/// already can tell); its log shows the new attempt.
pub async fn redeliver(
    app: &App,
    caller: &Caller,
    id: WebhookEndpointId,
    delivery: WebhookDeliveryId,
) -> Result<WebhookDelivery, AppError> {
    let endpoint = get(app, caller, id).await?;
    let found = app
        .store
        .find_delivery(caller.org_id(), delivery)
        .await?
        .filter(|d| d.endpoint_id == endpoint.id)
        .ok_or(AppError::NotFound("delivery"))?;
    let now = Utc::now();
    let reopened = app
        .store
        .reopen_delivery(caller.org_id(), found.id, now)
        .await?
        .ok_or(AppError::NotFound("delivery"))?;
    queue_jobs(app, endpoint.org_id, &[(reopened.id, true)]).await?;
    Ok(reopened)
}

fn new_event_id() -> String {
    format!("evt_{}", uuid::Uuid::now_v7().simple())
}

fn new_delivery(
    endpoint: &WebhookEndpoint,
    event_id: &str,
    kind: EventType,
    data: &Value,
    at: DateTime<Utc>,
) -> WebhookDelivery {
    let body = json!({
        "type": kind.as_str(),
        "timestamp": at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": data,
    })
    .to_string();
    WebhookDelivery {
        id: WebhookDeliveryId::generate(),
        org_id: endpoint.org_id,
        endpoint_id: endpoint.id,
        event_id: event_id.to_owned(),
        event_type: kind,
        body,
        status: DeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at: Some(at),
        last_attempt_at: None,
        last_status_code: None,
        last_response: None,
        last_error: None,
        created_at: at,
        delivered_at: None,
    }
}

async fn queue_jobs(
    app: &App,
    org: OrgId,
    deliveries: &[(WebhookDeliveryId, bool)],
) -> Result<(), AppError> {
    let now = Utc::now();
    for (id, once) in deliveries {
        let mut job = NewJob::of(JobKind::Webhook);
        job.org_id = Some(org);
        job.payload = json!({"delivery_id": id, "once": once});
        app.store.enqueue_job(job, now).await?;
    }
    crate::events::jobs_queued(app).await;
    Ok(())
}

/// Sends `kind` with `data` to every enabled endpoint of `org` that hears it (for
/// `chat_space`, when the event is about one). Returns how many deliveries were queued.
pub async fn emit(
    app: &App,
    org: OrgId,
    chat_space: Option<ChatSpaceId>,
    kind: EventType,
    data: Value,
) -> Result<usize, AppError> {
    let endpoints = app.store.webhooks(org).await?;
    emit_to(app, &endpoints, org, chat_space, kind, data).await
}

/// [`emit`] to those of `endpoints` (the organization's, read already) that hear it.
async fn emit_to(
    app: &App,
    endpoints: &[WebhookEndpoint],
    org: OrgId,
    chat_space: Option<ChatSpaceId>,
    kind: EventType,
    data: Value,
) -> Result<usize, AppError> {
    let endpoints: Vec<&WebhookEndpoint> = endpoints
        .iter()
        .filter(|e| e.hears(kind, chat_space))
        .collect();
    if endpoints.is_empty() {
        return Ok(0);
    }
    let now = Utc::now();
    let event_id = new_event_id();
    let deliveries: Vec<WebhookDelivery> = endpoints
        .iter()
        .map(|e| new_delivery(e, &event_id, kind, &data, now))
        .collect();
    app.store.add_deliveries(&deliveries).await?;
    let ids: Vec<_> = deliveries.iter().map(|d| (d.id, false)).collect();
    queue_jobs(app, org, &ids).await?;
    Ok(deliveries.len())
}

/// [`emit`] for callers whose own work is done: a failure to queue is logged, not theirs.
pub async fn notify(
    app: &App,
    org: OrgId,
    chat_space: Option<ChatSpaceId>,
    kind: EventType,
    data: Value,
) {
    if let Err(e) = emit(app, org, chat_space, kind, data).await {
        tracing::warn!(%org, event = kind.as_str(), error = %e, "could not queue webhook deliveries");
    }
}

/// A conversation as events carry it.
fn conversation_data(c: &Conversation) -> Value {
    json!({
        "conversation_id": c.id,
        "chat_space_id": c.chat_space_id,
        "visitor_id": c.visitor_id,
        "name": c.end_user_name,
        "email": c.end_user_email,
        "status": c.status,
        "page_url": c.referrer,
        "created_at": c.created_at,
        "closed_at": c.closed_at,
    })
}

/// `conversation.created`, `handover.requested` (with its reason) or `conversation.closed`.
pub async fn conversation_event(
    app: &App,
    kind: EventType,
    c: &Conversation,
    reason: Option<HandoverReason>,
) {
    let mut data = conversation_data(c);
    if let Some(reason) = reason {
        data["reason"] = json!(reason);
    }
    notify(app, c.org_id, Some(c.chat_space_id), kind, data).await;
}

/// `message.created` for a message of a widget conversation (a visitor's, the bot's or an
/// agent's; internal notes are not messages and never sent).
pub async fn message_event(app: &App, c: &Conversation, m: &Message) {
    if c.channel != Channel::Widget {
        return;
    }
    notify(
        app,
        c.org_id,
        Some(c.chat_space_id),
        EventType::MessageCreated,
        message_data(c, m),
    )
    .await;
}

/// A message as `message.created` carries it.
fn message_data(c: &Conversation, m: &Message) -> Value {
    let citations: Vec<Value> = m
        .citations
        .iter()
        .map(|cite| json!({"index": cite.index, "title": cite.title, "url": cite.url, "page": cite.page}))
        .collect();
    json!({
        "message_id": m.id,
        "conversation_id": m.conversation_id,
        "chat_space_id": m.chat_space_id,
        "visitor_id": c.visitor_id,
        "role": m.role,
        "content": m.content,
        "citations": citations,
        "created_at": m.created_at,
    })
}

/// After the bot answered in a widget conversation: `conversation.created` when the
/// question began it, and `message.created` for the question and the answer.
pub async fn turn_events(app: &App, answer: &Message, began: bool) {
    let hears = |kind| move |e: &WebhookEndpoint| e.hears(kind, Some(answer.chat_space_id));
    let endpoints = match app.store.webhooks(answer.org_id).await {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the webhooks for an answer's events");
            return;
        }
    };
    let (created, messages) = (
        began && endpoints.iter().any(hears(EventType::ConversationCreated)),
        endpoints.iter().any(hears(EventType::MessageCreated)),
    );
    if !created && !messages {
        return;
    }
    let Ok(Some(c)) = app
        .store
        .find_conversation(answer.org_id, answer.conversation_id)
        .await
    else {
        return;
    };
    if c.channel != Channel::Widget {
        return;
    }
    // The endpoints read above serve every event of the turn.
    let mut events = Vec::new();
    if created {
        events.push((EventType::ConversationCreated, conversation_data(&c)));
    }
    if messages {
        let recent = app
            .store
            .recent_messages(c.org_id, c.id, 2)
            .await
            .unwrap_or_default();
        let question = recent
            .iter()
            .find(|m| m.role == MessageRole::User && m.id < answer.id);
        for m in question.into_iter().chain(std::iter::once(answer)) {
            events.push((EventType::MessageCreated, message_data(&c, m)));
        }
    }
    for (kind, data) in events {
        if let Err(e) = emit_to(app, &endpoints, c.org_id, Some(c.chat_space_id), kind, data).await
        {
            tracing::warn!(org = %c.org_id, event = kind.as_str(), error = %e, "could not queue webhook deliveries");
        }
    }
}

/// `document.completed` or `document.failed` for a knowledge source.
pub async fn document_event(app: &App, org: OrgId, id: DocumentId) {
    let Ok(Some(d)) = app.store.find_document(org, id).await else {
        return;
    };
    let kind = match d.status {
        DocumentStatus::Completed => EventType::DocumentCompleted,
        DocumentStatus::Failed => EventType::DocumentFailed,
        DocumentStatus::Pending | DocumentStatus::Processing => return,
    };
    let data = json!({
        "document_id": d.id,
        "chat_space_id": d.chat_space_id,
        "type": d.doc_type,
        "title": d.title,
        "file_name": d.file_name,
        "source_url": d.source_url,
        "citable": d.citable,
        "status": d.status,
        "chunk_count": d.chunk_count,
        "error_message": d.error_message,
    });
    notify(app, org, Some(d.chat_space_id), kind, data).await;
}

/// What a receiver did with one attempt.
struct Answer {
    at: DateTime<Utc>,
    status: Option<u16>,
    body: Option<String>,
    retry_after: Option<std::time::Duration>,
    error: Option<String>,
}

impl Answer {
    fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    fn into_attempt(
        self,
        outcome: DeliveryStatus,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> DeliveryAttempt {
        DeliveryAttempt {
            at: self.at,
            status_code: self.status.map(i32::from),
            response: self.body,
            error: self.error,
            outcome,
            next_attempt_at,
        }
    }
}

async fn secrets_of(app: &App, endpoint: &WebhookEndpoint) -> Result<SigningSecrets, AppError> {
    app.store
        .webhook_secrets(endpoint.org_id, endpoint.id)
        .await?
        .ok_or(AppError::NotFound("webhook"))
}

/// One signed POST of a delivery's body.
async fn attempt(
    app: &App,
    endpoint: &WebhookEndpoint,
    secrets: &SigningSecrets,
    delivery: &WebhookDelivery,
) -> Answer {
    let at = Utc::now();
    let timestamp = at.timestamp();
    let signature = secrets
        .signing(at)
        .into_iter()
        .filter_map(|s| sign(s, &delivery.event_id, timestamp, &delivery.body))
        .collect::<Vec<_>>()
        .join(" ");
    let timestamp = timestamp.to_string();
    let headers = [
        ("content-type", "application/json"),
        ("webhook-id", delivery.event_id.as_str()),
        ("webhook-timestamp", timestamp.as_str()),
        ("webhook-signature", signature.as_str()),
    ];
    let timeout =
        std::time::Duration::from_secs(u64::from(app.settings.webhook_timeout_secs.max(1)));
    match app
        .fetcher
        .post(
            &endpoint.url,
            &headers,
            delivery.body.clone().into_bytes(),
            timeout,
            RESPONSE_BYTES,
        )
        .await
    {
        Ok(posted) => {
            let ok = (200..300).contains(&posted.status);
            Answer {
                at,
                status: Some(posted.status),
                body: Some(String::from_utf8_lossy(&posted.body).into_owned()),
                retry_after: posted.retry_after,
                error: (!ok).then(|| match posted.status {
                    300..=399 => format!(
                        "The endpoint answered {} (a redirect); webhooks are not redirected, so give the final address.",
                        posted.status
                    ),
                    s => format!("The endpoint answered HTTP {s}."),
                }),
            }
        }
        Err(e) => Answer {
            at,
            status: None,
            body: None,
            retry_after: None,
            error: Some(e.to_string()),
        },
    }
}

/// Runs a [`JobKind::Webhook`] job: one attempt at its delivery.
pub async fn deliver(app: &App, job: &Job) -> Result<(), JobError> {
    let org = job
        .org_id
        .ok_or_else(|| JobError::Final("a webhook job needs its organization".into()))?;
    let id = job
        .payload
        .get("delivery_id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .map(WebhookDeliveryId)
        .ok_or_else(|| JobError::Final("a webhook job needs its delivery_id".into()))?;
    let once = job.payload.get("once").and_then(Value::as_bool) == Some(true);
    // Deleted with its endpoint, or delivered already: nothing to do.
    let Some(delivery) = app.store.find_delivery(org, id).await? else {
        return Ok(());
    };
    if delivery.status != DeliveryStatus::Pending {
        return Ok(());
    }
    let Some(endpoint) = app.store.find_webhook(org, delivery.endpoint_id).await? else {
        return Ok(());
    };
    if endpoint.disabled_at.is_some() {
        let not_sent = DeliveryAttempt {
            at: Utc::now(),
            status_code: None,
            response: None,
            error: Some("Not sent: the endpoint is disabled.".into()),
            outcome: DeliveryStatus::Failed,
            next_attempt_at: None,
        };
        app.store.record_attempt(org, id, &not_sent).await?;
        return Ok(());
    }
    let secrets = secrets_of(app, &endpoint)
        .await
        .map_err(|e| JobError::Passing(e.to_string()))?;
    let answer = attempt(app, &endpoint, &secrets, &delivery).await;
    if answer.succeeded() {
        app.store
            .record_attempt(
                org,
                id,
                &answer.into_attempt(DeliveryStatus::Succeeded, None),
            )
            .await?;
        return Ok(());
    }
    let gone = answer.status == Some(410);
    let policy = JobKind::Webhook.retry();
    let last = once || gone || !policy.retries_after(job.attempts);
    let message = answer.error.clone().unwrap_or_default();
    if !last {
        let wait = policy.jittered_delay_after(job.attempts, random_unit());
        let asked = answer
            .retry_after
            .filter(|d| d.as_secs() <= MAX_RETRY_AFTER_SECS)
            .and_then(|d| chrono::Duration::from_std(d).ok());
        let next = Utc::now() + asked.map_or(wait, |a| a.max(wait));
        app.store
            .record_attempt(
                org,
                id,
                &answer.into_attempt(DeliveryStatus::Pending, Some(next)),
            )
            .await?;
        return Err(JobError::Later { message, at: next });
    }
    app.store
        .record_attempt(org, id, &answer.into_attempt(DeliveryStatus::Failed, None))
        .await?;
    let reason = if gone {
        Some("The endpoint answered 410 Gone: it asked not to be sent events any more.".to_owned())
    } else if !once
        && endpoint
            .last_success_at
            .is_none_or(|t| t < delivery.created_at)
    {
        Some(format!(
            "All {} attempts to deliver {} failed, the last with: {message}",
            job.attempts, delivery.event_id
        ))
    } else {
        None
    };
    if let Some(reason) = reason {
        disable(app, &endpoint, &reason).await?;
    }
    Ok(())
}

/// Disables an endpoint and tells the organization's owners and admins, once.
async fn disable(app: &App, endpoint: &WebhookEndpoint, reason: &str) -> Result<(), JobError> {
    if !app
        .store
        .disable_webhook(endpoint.org_id, endpoint.id, reason, Utc::now())
        .await?
    {
        return Ok(());
    }
    tracing::warn!(webhook = %endpoint.id, url = %endpoint.url, %reason, "disabled a webhook");
    let subject = format!("Docent stopped sending events to {}", endpoint.url);
    let body = format!(
        "Docent disabled the webhook {url}.\n\nWhy: {reason}\n\nEvents that happen while it is \
         disabled are not sent. Once the receiver works again, turn the webhook back on, and \
         redeliver what it missed from its delivery log: {base}/app/org/webhooks\n",
        url = endpoint.url,
        base = app.settings.public_base_url(),
    );
    for member in app.store.list_members(endpoint.org_id).await? {
        if member.role < Role::Admin {
            continue;
        }
        if let Err(e) = app
            .mailer
            .send(&app.store, &member.email, &subject, &body)
            .await
        {
            tracing::warn!(webhook = %endpoint.id, error = %e.message(), "could not email an owner about a disabled webhook");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_standard_webhooks() {
        // The example of the Standard Webhooks specification (its reference libraries'
        // test vector): this secret, id, timestamp and body give this signature.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(sign("not-a-secret", "id", 1, "{}"), None);
        let fresh = new_secret();
        assert!(fresh.starts_with("whsec_") && sign(&fresh, "id", 1, "{}").is_some());
        assert_ne!(fresh, new_secret());
    }

    #[test]
    fn a_rotated_secret_signs_for_a_day() {
        let now = Utc::now();
        let secrets = SigningSecrets {
            current: "new".into(),
            previous: Some(("old".into(), now + chrono::Duration::hours(1))),
        };
        assert_eq!(secrets.signing(now), ["new", "old"]);
        assert_eq!(secrets.signing(now + chrono::Duration::hours(2)), ["new"]);
    }
}
