//! The webhook answer mode (`answer_mode = webhook`, DESIGN §4): each question goes to the
//! chat space's webhook as n8n's Chat Trigger receives it — `{"action": "sendMessage",
//! "sessionId", "chatInput", "metadata"}` — so an unmodified n8n Chat Trigger workflow (or a
//! backend speaking its contract) answers. Both of its replies are read: a whole JSON answer
//! (`{"output"}`, `{"text"}`, `[{"output"}]`, a JSON string, or plain text) and n8n's
//! streamed lines (`{"type": "begin"|"item"|"end"|"error", "content"}`), told apart by the
//! body as n8n sends both as JSON; streamed items go on to the visitor as they come.
//!
//! A call that is refused, times out or answers 5xx before anything was streamed is tried
//! once more; when it still fails the visitor gets the chat space's fallback reply. Every
//! failure is written to `webhook_errors` with its kind, the health counts failures in a row
//! (an hourly job checks each webhook with n8n's `loadPreviousSession`, which a Chat Trigger
//! answers without running its workflow), and after three in a row the owners and admins are
//! emailed, once a run.

use std::time::{Duration, Instant};

use chrono::Utc;
use docent_core::config::AiConfig;
use docent_core::*;
use docent_ingest::fetch::FetchError;
use docent_rag::{AnswerEvent, Ask, AskError, Continue};
use docent_store::MessageQuota;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::{App, AppError, Caller, chat_spaces};

/// The `sessionId` of health checks.
pub const CHECK_SESSION: &str = "docent-health-check";
/// The most of a whole (not streamed) answer that is read.
const MAX_ANSWER_BYTES: usize = 512 * 1024;
/// Failures in a row after which the owners are emailed.
pub const ALERT_AFTER: i32 = 3;

/// Why one call failed.
#[derive(Debug, Clone)]
struct Failure {
    kind: WebhookErrorKind,
    message: String,
    /// The HTTP status, for a `status` failure.
    status: Option<u16>,
}

impl Failure {
    fn new(kind: WebhookErrorKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
            status: None,
        }
    }

    fn status(status: u16, message: String) -> Failure {
        Failure {
            status: Some(status),
            ..Failure::new(WebhookErrorKind::Status, message)
        }
    }

    fn of_fetch(e: FetchError) -> Failure {
        let kind = match e {
            FetchError::TimedOut(..) => WebhookErrorKind::Timeout,
            _ => WebhookErrorKind::Refused,
        };
        Failure::new(kind, e.to_string())
    }

    /// Worth a second try: nothing was said yet, and the webhook may answer next time.
    fn passing(&self) -> bool {
        matches!(
            self.kind,
            WebhookErrorKind::Timeout | WebhookErrorKind::Refused
        ) || self.status.is_some_and(|s| s >= 500)
    }
}

/// What the answer's text is, from a whole (not streamed) reply: `output`, then `text`, then
/// the first element's of a one-element array ("all entries"), a JSON string, or the body as
/// plain text.
fn whole_answer(body: &[u8]) -> Result<String, Failure> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return Err(Failure::new(
            WebhookErrorKind::BadBody,
            "The webhook answered with an empty body; an n8n workflow should end with an answer in `output`.",
        ));
    }
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Ok(text.to_owned());
    };
    let pick = |v: &Value| {
        ["output", "text"]
            .iter()
            .find_map(|k| v.get(k).and_then(Value::as_str).map(str::to_owned))
    };
    let found = match &value {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => items.first().and_then(pick),
        other => pick(other),
    };
    found.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
        Failure::new(
            WebhookErrorKind::BadBody,
            format!(
                "The webhook's answer has no `output` or `text`: {}",
                text.chars().take(200).collect::<String>()
            ),
        )
    })
}

/// One line of n8n's streamed answer, if it is one: its type and content.
fn stream_line(line: &str) -> Option<(String, Option<String>)> {
    let value: Value = serde_json::from_str(line).ok()?;
    let kind = value.get("type")?.as_str()?;
    matches!(kind, "begin" | "item" | "end" | "error").then(|| {
        (
            kind.to_owned(),
            value
                .get("content")
                .and_then(Value::as_str)
                .map(str::to_owned),
        )
    })
}

/// Reads n8n's streamed lines as they come, passing on each item's content.
struct Stream<'a> {
    text: String,
    tx: &'a mpsc::Sender<AnswerEvent>,
    error: Option<String>,
}

impl Stream<'_> {
    async fn line(&mut self, line: &str) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        let piece = match stream_line(line) {
            Some((kind, content)) if kind == "item" => content,
            Some((kind, content)) if kind == "error" => {
                self.error = Some(content.unwrap_or_else(|| "the workflow failed".into()));
                None
            }
            Some(_) => None,
            // A line that is not one of n8n's counts as text.
            None => Some(format!("{line}\n")),
        };
        if let Some(piece) = piece.filter(|p| !p.is_empty()) {
            self.text.push_str(&piece);
            let _ = self.tx.send(AnswerEvent::Delta { text: piece }).await;
        }
    }
}

/// One call of the webhook with `body`; the answer's text (streamed items already sent on
/// `tx`, and `streamed` set once one was).
async fn call(
    app: &App,
    url: &str,
    auth: Option<&str>,
    body: &Value,
    tx: &mpsc::Sender<AnswerEvent>,
    streamed: &mut bool,
) -> Result<String, Failure> {
    let wait = Duration::from_secs(u64::from(app.settings.llm_timeout_secs.max(1)));
    let mut headers = vec![
        ("content-type", "application/json"),
        ("accept", "application/json, text/plain, */*"),
    ];
    headers.extend(auth.map(|a| ("authorization", a)));
    let mut reply = app
        .fetcher
        .post_streaming(url, &headers, body.to_string().into_bytes(), wait)
        .await
        .map_err(Failure::of_fetch)?;
    let mut buffer: Vec<u8> = Vec::new();
    if !(200..300).contains(&reply.status) {
        while buffer.len() < 300 {
            match reply.next_chunk(wait).await {
                Ok(Some(chunk)) => buffer.extend_from_slice(&chunk),
                _ => break,
            }
        }
        let said = String::from_utf8_lossy(&buffer[..buffer.len().min(200)]).into_owned();
        let hint = status_hint(reply.status, auth.is_some());
        return Err(Failure::status(
            reply.status,
            format!("The webhook answered HTTP {}{hint}: {said}", reply.status),
        ));
    }
    // Streamed or whole: the first line tells.
    let mut stream: Option<Stream<'_>> = None;
    let mut decided = false;
    loop {
        let chunk = reply.next_chunk(wait).await.map_err(Failure::of_fetch)?;
        let Some(chunk) = chunk else { break };
        buffer.extend_from_slice(&chunk);
        if !decided {
            let text = String::from_utf8_lossy(&buffer);
            let first = text.trim_start().lines().next().map(str::to_owned);
            let complete = text.trim_start().contains('\n');
            if let Some(first) = first
                && (complete || stream_line(first.trim()).is_some())
            {
                decided = true;
                if stream_line(first.trim()).is_some() {
                    stream = Some(Stream {
                        text: String::new(),
                        tx,
                        error: None,
                    });
                }
            }
        }
        if let Some(s) = stream.as_mut() {
            while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buffer.drain(..=end).collect();
                s.line(&String::from_utf8_lossy(&line)).await;
                *streamed |= !s.text.is_empty();
            }
        } else if buffer.len() > MAX_ANSWER_BYTES {
            return Err(Failure::new(
                WebhookErrorKind::BadBody,
                format!(
                    "The webhook's answer is larger than {} KiB.",
                    MAX_ANSWER_BYTES / 1024
                ),
            ));
        }
    }
    match stream {
        Some(mut s) => {
            let rest = String::from_utf8_lossy(&buffer).into_owned();
            s.line(&rest).await;
            *streamed |= !s.text.is_empty();
            match (s.text.trim().is_empty(), s.error) {
                (true, Some(error)) => Err(Failure::new(
                    WebhookErrorKind::BadBody,
                    format!("The workflow reported an error: {error}"),
                )),
                (true, None) => Err(Failure::new(
                    WebhookErrorKind::BadBody,
                    "The webhook streamed no text.",
                )),
                (false, _) => Ok(s.text.trim_end().to_owned()),
            }
        }
        None => {
            let text = whole_answer(&buffer)?;
            let _ = tx.send(AnswerEvent::Delta { text: text.clone() }).await;
            *streamed = true;
            Ok(text)
        }
    }
}

/// Records how a call or check went, and emails the owners and admins once a run of
/// failures reaches [`ALERT_AFTER`].
async fn record(
    app: &App,
    space: &ChatSpace,
    failure: Option<&Failure>,
) -> Result<WebhookHealth, docent_store::StoreError> {
    let health = app
        .store
        .record_webhook_outcome(
            space.org_id,
            space.id,
            failure.map(|f| (f.kind, f.message.as_str())),
            Utc::now(),
        )
        .await?;
    if let Some(f) = failure {
        tracing::warn!(chat_space = %space.id, kind = f.kind.as_str(), message = %f.message, "the answer webhook failed");
        if health.consecutive_failures >= ALERT_AFTER
            && app
                .store
                .mark_webhook_alerted(space.org_id, space.id, Utc::now())
                .await?
        {
            alert(app, space, &health, f).await;
        }
    }
    Ok(health)
}

async fn alert(app: &App, space: &ChatSpace, health: &WebhookHealth, last: &Failure) {
    let subject = format!("{}: its answer webhook is failing", space.name);
    let body = format!(
        "The webhook that answers for {name} has failed {n} times in a row; visitors get the \
         fallback reply until it answers again.\n\nThe last failure ({kind}): {message}\n\n\
         See its health and errors on the chat space's Settings: {base}/app/chat-spaces/{id}#answer-webhook\n",
        name = space.name,
        n = health.consecutive_failures,
        kind = last.kind.as_str(),
        message = last.message,
        base = app.settings.public_base_url(),
        id = space.id,
    );
    let members = match app.store.list_members(space.org_id).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "could not read who to tell about a failing webhook");
            return;
        }
    };
    for member in members.iter().filter(|m| m.role >= Role::Admin) {
        if let Err(e) = app
            .mailer
            .send(&app.store, &member.email, &subject, &body)
            .await
        {
            tracing::warn!(chat_space = %space.id, error = %e.message(), "could not email an owner about a failing webhook");
        }
    }
}

/// Answers `ask` through the chat space's webhook, as [`docent_rag::AnswerService::answer`]
/// answers from its knowledge: the question is stored (within the month's messages), the
/// answer streams on `tx`, and the stored answer is returned.
pub async fn answer(
    app: &App,
    ask: Ask,
    tx: mpsc::Sender<AnswerEvent>,
) -> Result<Message, AskError> {
    let started = Instant::now();
    let question = ask.question.trim().to_owned();
    if validate::is_blank(&question) {
        return Err(AskError::EmptyQuestion);
    }
    if question.chars().count() > docent_rag::MAX_QUESTION_CHARS {
        return Err(AskError::QuestionTooLong);
    }
    let quota = MessageQuota::monthly(ask.plan, Utc::now());
    if let Some(q) = quota
        && app.store.count_messages_since(ask.org, q.since).await? >= q.limit
    {
        return Err(AskError::QuotaExceeded { limit: q.limit });
    }
    let space = ask.chat_space;
    let conversation = match ask.conversation {
        Some(Continue::Found(found)) => Some(*found),
        Some(Continue::Id(id)) => app.store.find_conversation(ask.org, id).await?,
        None => {
            app.store
                .create_conversation(ask.org, space.id, ask.channel, ask.visitor)
                .await?
        }
    }
    .filter(|c| c.chat_space_id == space.id)
    .ok_or(AskError::ConversationNotFound)?;
    let user_message = match app
        .store
        .add_message_within(
            ask.org,
            NewMessage::plain(conversation.id, MessageRole::User, question.clone()),
            quota,
        )
        .await
    {
        Err(docent_store::StoreError::LimitReached { limit }) => {
            return Err(AskError::QuotaExceeded { limit });
        }
        other => other?.ok_or(AskError::ConversationNotFound)?,
    };
    let _ = tx
        .send(AnswerEvent::Started {
            conversation_id: conversation.id,
            message_id: user_message.id,
            sources: None,
        })
        .await;
    let body = json!({
        "action": "sendMessage",
        "sessionId": conversation.id.to_string(),
        "chatInput": question,
        "metadata": {
            "source": "docent",
            "chat_space_id": space.id,
            "conversation_id": conversation.id,
            "visitor_id": conversation.visitor_id,
            "name": conversation.end_user_name,
            "email": conversation.end_user_email,
            "locale": conversation.locale,
            "page_url": conversation.referrer,
            "channel": conversation.channel,
        },
    });
    let url = space.webhook_url.clone().unwrap_or_default();
    let auth = authorization(app, &space).await?;
    let auth = auth.as_deref();
    let mut streamed = false;
    let mut outcome = call(app, &url, auth, &body, &tx, &mut streamed).await;
    if let Err(first) = &outcome
        && !streamed
        && first.passing()
    {
        record(app, &space, Some(first)).await?;
        outcome = call(app, &url, auth, &body, &tx, &mut streamed).await;
    }
    let (text, kind) = match outcome {
        Ok(text) => {
            record(app, &space, None).await?;
            (text, AnswerKind::Generated)
        }
        Err(failure) => {
            record(app, &space, Some(&failure)).await?;
            let ai: AiConfig = docent_core::config::read(&space.ai_config);
            let fallback = ai.fallback_reply;
            let _ = tx
                .send(AnswerEvent::Delta {
                    text: fallback.clone(),
                })
                .await;
            (fallback, AnswerKind::Error)
        }
    };
    let message = NewMessage {
        answer_kind: Some(kind),
        processing_time_ms: started.elapsed().as_millis() as i64,
        ..NewMessage::plain(conversation.id, MessageRole::Assistant, text)
    };
    let message = app
        .store
        .add_message(ask.org, message)
        .await?
        .ok_or(AskError::ConversationNotFound)?;
    let _ = tx
        .send(AnswerEvent::Done {
            message: message.clone(),
        })
        .await;
    Ok(message)
}

/// What an error status means for an answer webhook, said after the status.
fn status_hint(status: u16, sent_credentials: bool) -> &'static str {
    match status {
        404 => {
            " (n8n answers 404 when the workflow is not active, or its chat is not made publicly available)"
        }
        401 | 403 if sent_credentials => {
            " (the webhook refused the username and password set under Who answers)"
        }
        401 | 403 => {
            " (the webhook asks for credentials: set its Basic auth username and password under Who answers)"
        }
        _ => "",
    }
}

/// The `Authorization` header for the chat space's webhook, when credentials are set.
async fn authorization(app: &App, space: &ChatSpace) -> docent_store::Result<Option<String>> {
    let auth = app.store.webhook_auth(space.org_id, space.id).await?;
    Ok(auth.map(|auth| {
        use base64::Engine;
        let pair = format!("{}:{}", auth.username, auth.password.expose());
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }))
}

/// Asks the webhook whether it is there, with n8n's `loadPreviousSession` (a Chat Trigger
/// answers it without running its workflow); any 2xx answer is healthy.
async fn probe(app: &App, url: &str, auth: Option<&str>) -> Option<Failure> {
    let body = json!({
        "action": "loadPreviousSession",
        "sessionId": CHECK_SESSION,
        "metadata": {"source": "docent", "check": true},
    });
    let timeout = Duration::from_secs(u64::from(app.settings.webhook_timeout_secs.max(1)));
    let mut headers = vec![("content-type", "application/json")];
    headers.extend(auth.map(|a| ("authorization", a)));
    match app
        .fetcher
        .post(url, &headers, body.to_string().into_bytes(), timeout, 300)
        .await
    {
        Ok(p) if (200..300).contains(&p.status) => None,
        Ok(p) => Some(Failure::status(
            p.status,
            format!(
                "The webhook answered HTTP {}{} to a health check: {}",
                p.status,
                status_hint(p.status, auth.is_some()),
                String::from_utf8_lossy(&p.body[..p.body.len().min(200)])
            ),
        )),
        Err(e) => Some(Failure::of_fetch(e)),
    }
}

/// Checks a chat space's answer webhook now and records how it went.
pub async fn check_space(app: &App, space: &ChatSpace) -> Result<WebhookHealth, AppError> {
    let Some(url) = space
        .webhook_url
        .as_deref()
        .filter(|_| space.answer_mode == AnswerMode::Webhook)
    else {
        return Ok(app.store.webhook_health(space.org_id, space.id).await?);
    };
    let auth = authorization(app, space).await?;
    let failure = probe(app, url, auth.as_deref()).await;
    Ok(record(app, space, failure.as_ref()).await?)
}

/// The hourly job: every webhook-answered chat space's webhook, checked.
pub async fn check_all(app: &App) -> Result<usize, AppError> {
    let mut checked = 0;
    for (org, id) in app.store.answer_webhook_spaces().await? {
        if let Some(space) = app.store.find_chat_space(org, id).await? {
            check_space(app, &space).await?;
            checked += 1;
        }
    }
    Ok(checked)
}

/// A chat space's answer webhook as its Settings show it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct WebhookStatus {
    pub answer_mode: AnswerMode,
    pub webhook_url: Option<String>,
    /// The Basic auth username the webhook is called with, when one is set (its password is
    /// never shown).
    pub basic_auth_username: Option<String>,
    pub health: WebhookHealth,
    /// The latest failures, newest first (up to 20).
    pub errors: Vec<WebhookError>,
}

pub async fn status(
    app: &App,
    caller: &Caller,
    id: ChatSpaceId,
) -> Result<WebhookStatus, AppError> {
    let space = chat_spaces::get(app, caller, id).await?;
    let auth = app.store.webhook_auth(space.org_id, space.id).await?;
    Ok(WebhookStatus {
        health: app.store.webhook_health(space.org_id, space.id).await?,
        errors: app.store.webhook_errors(space.org_id, space.id, 20).await?,
        answer_mode: space.answer_mode,
        webhook_url: space.webhook_url,
        basic_auth_username: auth.map(|auth| auth.username),
    })
}

/// Characters that HTTP Basic auth cannot carry in a username (a colon ends it) or in a
/// password: control characters.
const USERNAME_PATTERN: &str =
    r"^[^:\x00-\x1f\x7f-\x9f]*[^\s:\x00-\x1f\x7f-\x9f][^:\x00-\x1f\x7f-\x9f]*$";
const PASSWORD_PATTERN: &str = r"^[^\x00-\x1f\x7f-\x9f]+$";

/// The Basic auth username and password to call the answer webhook with, as an n8n Chat
/// Trigger with Basic auth asks for them.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookAuthInput {
    /// No colon or control character.
    #[schemars(regex(pattern = USERNAME_PATTERN), length(max = 200), example = &"docent")]
    pub username: String,
    /// Never shown again; no control character.
    #[schemars(regex(pattern = PASSWORD_PATTERN), length(max = 500), example = "a long random password")]
    pub password: String,
}

impl WebhookAuthInput {
    /// The credentials, or the fields' errors (the same rules as the patterns above).
    fn accept(self) -> Result<BasicAuth, AppError> {
        let mut errors = ValidationErrors::new();
        let username = &self.username;
        let allowed = |c: char| c != ':' && !c.is_control();
        if !username.chars().all(allowed) {
            errors.add(
                "username",
                "A Basic auth username cannot hold a colon or control characters.",
            );
        } else if !username.chars().any(|c| !c.is_whitespace()) {
            errors.add("username", "Enter the username the webhook asks for.");
        } else if username.chars().count() > 200 {
            errors.add("username", "Use at most 200 characters.");
        }
        if self.password.is_empty() {
            errors.add("password", "Enter the password the webhook asks for.");
        } else if self.password.chars().count() > 500 {
            errors.add("password", "Use at most 500 characters.");
        } else if self.password.chars().any(char::is_control) {
            errors.add("password", "Remove control characters from the password.");
        }
        errors.into_result()?;
        Ok(BasicAuth::new(self.username, self.password))
    }
}

/// Sets (`Some`) or removes (`None`) the username and password the answer webhook is called
/// with, then checks it as it will be called from now on (owners and admins).
pub async fn set_auth(
    app: &App,
    caller: &Caller,
    id: ChatSpaceId,
    input: Option<WebhookAuthInput>,
) -> Result<WebhookStatus, AppError> {
    caller.require(Role::Admin)?;
    let space = chat_spaces::get(app, caller, id).await?;
    let auth = input.map(WebhookAuthInput::accept).transpose()?;
    app.store
        .set_webhook_auth(space.org_id, space.id, auth.as_ref(), Utc::now())
        .await?;
    check_space(app, &space).await?;
    status(app, caller, id).await
}

/// "Check now": the same check as the hourly one (owners and admins).
pub async fn check_now(
    app: &App,
    caller: &Caller,
    id: ChatSpaceId,
) -> Result<WebhookStatus, AppError> {
    caller.require(Role::Admin)?;
    let space = chat_spaces::get(app, caller, id).await?;
    check_space(app, &space).await?;
    status(app, caller, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_answers_as_n8n_and_custom_backends_send_them() {
        for (body, text) in [
            (r#"{"output":"Hi there"}"#, "Hi there"),
            (r#"{"text":"From text"}"#, "From text"),
            (r#"[{"output":"All entries"}]"#, "All entries"),
            (r#""a JSON string""#, "a JSON string"),
            ("plain words", "plain words"),
        ] {
            assert_eq!(whole_answer(body.as_bytes()).expect(body), text);
        }
        for body in ["", "  ", r#"{"result":1}"#, "[]", r#"{"output":""}"#] {
            let e = whole_answer(body.as_bytes()).expect_err(body);
            assert_eq!(e.kind, WebhookErrorKind::BadBody, "{body}");
        }
    }

    #[test]
    fn streamed_lines_are_n8ns_types_only() {
        assert_eq!(
            stream_line(r#"{"type":"item","content":"Hel","metadata":{"nodeId":"a"}}"#),
            Some(("item".into(), Some("Hel".into())))
        );
        assert_eq!(
            stream_line(r#"{"type":"begin"}"#),
            Some(("begin".into(), None))
        );
        assert_eq!(stream_line(r#"{"type":"message","content":"x"}"#), None);
        assert_eq!(stream_line(r#"{"output":"x"}"#), None);
        assert_eq!(stream_line("not json"), None);
    }
}
