//! The conversation archive: one conversation, and every conversation of a chat space with
//! its messages exported as CSV (a row a message, for spreadsheets) or JSON Lines (an object
//! a conversation, for programs), streamed so that any number export in constant memory.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveTime};
use docent_core::*;
pub use docent_store::ConversationFilter;
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::actor::Caller;
use crate::{App, AppError, chat_spaces};

/// A conversation of a chat space the caller sees.
pub async fn get(app: &App, caller: &Caller, id: ConversationId) -> Result<Conversation, AppError> {
    app.store
        .find_conversation(caller.org_id(), id)
        .await?
        .filter(|c| caller.sees(c.chat_space_id))
        .ok_or(AppError::NotFound("conversation"))
}

/// A conversation of a chat space the caller sees, with all its messages in order.
pub async fn transcript(
    app: &App,
    caller: &Caller,
    id: ConversationId,
) -> Result<(Conversation, Vec<Message>), AppError> {
    let conversation = get(app, caller, id).await?;
    let messages = all_messages(app.store.as_ref(), caller.org_id(), conversation.id).await?;
    Ok((conversation, messages))
}

/// How an export is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// One row a message (a conversation without messages has a row of its own), with a
    /// header row; cells that a spreadsheet would run as a formula start with `'`.
    #[default]
    Csv,
    /// One JSON object a line: a conversation with its `messages`.
    Jsonl,
}

impl ExportFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Jsonl => "application/x-ndjson",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Jsonl => "jsonl",
        }
    }
}

/// Conversations started from `from` to `to` (days in UTC, both included; open when absent).
#[derive(Clone, Copy, Debug, Default)]
pub struct DateRange {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// The first instant of a day (UTC): where a range of days starts, and (for the day after
/// its last) where it ends.
pub fn midnight(day: NaiveDate) -> chrono::DateTime<chrono::Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

impl DateRange {
    /// The range as a filter of conversations; a `from` after `to` is refused.
    pub fn filter(self) -> Result<ConversationFilter, AppError> {
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from > to
        {
            return Err(AppError::validation("from", "must not be after `to`"));
        }
        Ok(ConversationFilter {
            since: self.from.map(midnight),
            before: self.to.and_then(|d| d.succ_opt()).map(midnight),
            ..ConversationFilter::default()
        })
    }
}

/// The longest search of conversations, in characters.
pub const SEARCH_MAX_CHARS: usize = 200;

/// Words to search conversations for, `None` when there are none (blank); refused when
/// longer than [`SEARCH_MAX_CHARS`].
pub fn search_text(q: Option<String>) -> Result<Option<String>, AppError> {
    match q {
        Some(q) if q.chars().count() > SEARCH_MAX_CHARS => Err(AppError::validation(
            "q",
            format!("Search with at most {SEARCH_MAX_CHARS} characters."),
        )),
        Some(q) if !q.trim().is_empty() => Ok(Some(q.trim().to_owned())),
        _ => Ok(None),
    }
}

/// An export under way: its file name and its bytes as they are written. An error after
/// the first bytes ends the stream with it (the answer has started, so the transport can
/// only cut it short).
#[derive(Debug)]
pub struct Export {
    pub file_name: String,
    pub format: ExportFormat,
    pub chunks: mpsc::Receiver<Result<Vec<u8>, AppError>>,
}

impl Export {
    /// A CSV file written already (a small one: analytics).
    pub fn whole(file_name: String, bytes: Vec<u8>) -> Export {
        let (tx, chunks) = mpsc::channel(1);
        // The channel has room for it: this cannot wait or fail.
        let _ = tx.try_send(Ok(bytes));
        Export {
            file_name,
            format: ExportFormat::Csv,
            chunks,
        }
    }
}

/// How many conversations, and messages of one, are read at a time.
const BATCH: u32 = 200;

/// How many messages of a page of conversations are read at a time.
const MESSAGE_BATCH: u32 = 1000;

/// Exports a chat space's conversations, newest first. The chat space is checked before
/// anything is written; the rest is written by a task of its own as the reader takes it
/// (a few batches ahead at most), and stops when the reader goes away. A page of 200
/// conversations is in memory at a time, with its messages.
pub async fn export(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    format: ExportFormat,
    range: DateRange,
) -> Result<Export, AppError> {
    export_of(app, caller, space, format, range.filter()?, "conversations").await
}

/// [`export`] of the conversations that pass `filter`, saved as `{slug}-{what}-{today}`.
pub async fn export_of(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    format: ExportFormat,
    filter: ConversationFilter,
    what: &str,
) -> Result<Export, AppError> {
    let space = chat_spaces::get(app, caller, space).await?;
    let (tx, chunks) = mpsc::channel(4);
    let store = app.store.clone();
    let org = caller.org_id();
    tokio::spawn(async move {
        if let Err(e) = write(store.as_ref(), org, space.id, format, &filter, &tx).await {
            let _ = tx.send(Err(e)).await;
        }
    });
    let today = chrono::Utc::now().date_naive();
    Ok(Export {
        file_name: format!(
            "{}-{what}-{today}.{}",
            space.endpoint_slug,
            format.extension()
        ),
        format,
        chunks,
    })
}

/// The columns of the CSV export.
const CSV_HEADER: &[&str] = &[
    "conversation_id",
    "conversation_started_at",
    "channel",
    "status",
    "visitor_id",
    "visitor_name",
    "visitor_email",
    "locale",
    "referrer",
    "message_id",
    "message_at",
    "role",
    "content",
    "answer_kind",
    "citations",
    "feedback",
    "model",
    "tokens_in",
    "tokens_out",
    "cost_micro_usd",
    "processing_time_ms",
];

type Sender = mpsc::Sender<Result<Vec<u8>, AppError>>;

/// Whether the reader is still there to take `bytes`.
async fn send(tx: &Sender, bytes: Vec<u8>) -> bool {
    tx.send(Ok(bytes)).await.is_ok()
}

async fn write(
    store: &dyn docent_store::Store,
    org: OrgId,
    space: ChatSpaceId,
    format: ExportFormat,
    filter: &ConversationFilter,
    tx: &Sender,
) -> Result<(), AppError> {
    if format == ExportFormat::Csv && !send(tx, csv_line(CSV_HEADER.iter().copied())).await {
        return Ok(());
    }
    let mut page = Page::first(BATCH);
    loop {
        let conversations = store.find_conversations(org, space, filter, page).await?;
        let Some(last) = conversations.last() else {
            return Ok(());
        };
        page.cursor = Some(last.id);
        let full = conversations.len() as u32 == BATCH;
        let (oldest, newest) = (last.id, conversations[0].id);
        let mut messages = messages_between(store, org, space, oldest, newest).await?;
        for conversation in conversations {
            let messages = messages.remove(&conversation.id).unwrap_or_default();
            let bytes = match format {
                ExportFormat::Csv => csv_rows(&conversation, &messages),
                ExportFormat::Jsonl => jsonl_line(&conversation, &messages)?,
            };
            if !send(tx, bytes).await {
                return Ok(());
            }
        }
        if !full {
            return Ok(());
        }
    }
}

/// The messages of the conversations with ids from `first` to `last`, by conversation.
async fn messages_between(
    store: &dyn docent_store::Store,
    org: OrgId,
    space: ChatSpaceId,
    first: ConversationId,
    last: ConversationId,
) -> Result<HashMap<ConversationId, Vec<Message>>, AppError> {
    let mut by_conversation: HashMap<ConversationId, Vec<Message>> = HashMap::new();
    let mut after = None;
    loop {
        let batch = store
            .messages_of_conversations(org, space, first, last, after, MESSAGE_BATCH)
            .await?;
        let full = batch.len() as u32 == MESSAGE_BATCH;
        after = batch.last().map(|m| (m.conversation_id, m.id));
        for message in batch {
            by_conversation
                .entry(message.conversation_id)
                .or_default()
                .push(message);
        }
        if !full {
            return Ok(by_conversation);
        }
    }
}

pub(crate) async fn all_messages(
    store: &dyn docent_store::Store,
    org: OrgId,
    conversation: ConversationId,
) -> Result<Vec<Message>, AppError> {
    let mut messages: Vec<Message> = Vec::new();
    loop {
        let after = messages.last().map(|m| m.id);
        let batch = store.list_messages(org, conversation, after, BATCH).await?;
        let full = batch.len() as u32 == BATCH;
        messages.extend(batch);
        if !full {
            return Ok(messages);
        }
    }
}

/// A cell as a spreadsheet should show it: text that it would run as a formula (starting
/// with `=`, `+`, `-`, `@`, a tab or a carriage return) starts with `'`.
pub(crate) fn cell(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// One CSV record: fields quoted where they hold a comma, a quote or a line break, lines
/// ended by CRLF (RFC 4180).
pub(crate) fn csv_line<'a>(fields: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if field.contains([',', '"', '\n', '\r']) {
            out.push(b'"');
            out.extend_from_slice(field.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(field.as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn csv_rows(conversation: &Conversation, messages: &[Message]) -> Vec<u8> {
    let c = conversation;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let head = [
        c.id.to_string(),
        c.created_at.to_rfc3339(),
        c.channel.as_str().to_owned(),
        c.status.as_str().to_owned(),
        text(&c.visitor_id),
        text(&c.end_user_name),
        text(&c.end_user_email),
        text(&c.locale),
        text(&c.referrer),
    ];
    let row = |tail: [String; 12]| {
        let fields: Vec<String> = head.iter().cloned().chain(tail).collect();
        let cells: Vec<_> = fields.iter().map(|f| cell(f)).collect();
        csv_line(cells.iter().map(|c| c.as_ref()))
    };
    if messages.is_empty() {
        return row(Default::default());
    }
    let mut out = Vec::new();
    for m in messages {
        let citations: Vec<String> = m
            .citations
            .iter()
            .map(|c| match &c.url {
                Some(url) => format!("[{}] {} <{url}>", c.index, c.title),
                None => format!("[{}] {}", c.index, c.title),
            })
            .collect();
        out.extend(row([
            m.id.to_string(),
            m.created_at.to_rfc3339(),
            m.role.as_str().to_owned(),
            m.content.clone(),
            m.answer_kind
                .map(|k| k.as_str().to_owned())
                .unwrap_or_default(),
            citations.join(" | "),
            m.feedback
                .map(|f| f.as_str().to_owned())
                .unwrap_or_default(),
            text(&m.model),
            m.tokens_in.to_string(),
            m.tokens_out.to_string(),
            m.cost_micro_usd.to_string(),
            m.processing_time_ms.to_string(),
        ]));
    }
    out
}

fn jsonl_line(conversation: &Conversation, messages: &[Message]) -> Result<Vec<u8>, AppError> {
    let mut object =
        serde_json::to_value(conversation).map_err(|e| AppError::Internal(e.to_string()))?;
    object["messages"] =
        serde_json::to_value(messages).map_err(|e| AppError::Internal(e.to_string()))?;
    let mut line = serde_json::to_vec(&object).map_err(|e| AppError::Internal(e.to_string()))?;
    line.push(b'\n');
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_it_and_defuses_formulas() {
        let line = csv_line(["plain", "a, b", "say \"hi\"", "two\nlines"]);
        assert_eq!(
            String::from_utf8(line).expect("UTF-8"),
            "plain,\"a, b\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
        );
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("-1+2"), "'-1+2");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("Where is my order?"), "Where is my order?");
    }
}
