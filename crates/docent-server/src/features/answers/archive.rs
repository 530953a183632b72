//! The conversation archive in the dashboard: a chat space's conversations, newest first,
//! a page at a time, with their export; and one conversation's transcript with what each
//! answer cited, how it was made and what the visitor thought of it.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use docent_core::*;

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{ApiQuery, IdPath};
use crate::http::form::{choice, day};
use crate::http::pages::{PageCtx, PageError, Shell};
use docent_app::conversations::{ConversationFilter, DateRange, ExportFormat};
use docent_app::{answers, chat_spaces, conversations};
use serde::Deserialize;

/// Conversations a page shows.
const PER_PAGE: u32 = 50;

/// A conversation in the list, with the first thing the visitor asked.
struct Row {
    conversation: Conversation,
    first_question: String,
}

#[derive(Template)]
#[template(path = "answers/conversations.html")]
struct ConversationsPage {
    shell: Shell,
    title: String,
    space: ChatSpace,
    setup: chat_spaces::Setup,
    rows: Vec<Row>,
    next_cursor: Option<String>,
    first_page: bool,
    chosen: Chosen,
}

/// What the pages show of a visitor: their name, email or id (or who asked, when no visitor
/// is known), and their language.
fn visitor(c: &Conversation) -> String {
    let anonymous = match c.channel {
        Channel::Playground => "your team, in the Playground",
        Channel::Api => "a program, through the API",
        Channel::Widget => "an anonymous visitor",
    };
    let verified = c
        .visitor_id
        .as_deref()
        .and_then(|v| v.strip_prefix(docent_app::identity::VERIFIED_PREFIX));
    let who = c
        .end_user_name
        .clone()
        .or_else(|| c.end_user_email.clone())
        .or_else(|| verified.map(str::to_owned))
        .or_else(|| c.visitor_id.clone())
        .unwrap_or_else(|| anonymous.into());
    let who = match verified {
        Some(id) => format!("{who} (signed in as {id})"),
        None => who,
    };
    match &c.locale {
        Some(locale) => format!("{who} · {locale}"),
        None => who,
    }
}

/// The network a visitor's address belongs to, not the address: the first three parts of an
/// IPv4 address (a /24), the first three groups of an IPv6 one (a /48).
fn network(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
        Err(_) => "an unknown network".into(),
    }
}

fn when(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

impl ConversationsPage {
    fn visitor(c: &Conversation) -> String {
        visitor(c)
    }

    fn when(at: &chrono::DateTime<chrono::Utc>) -> String {
        when(at)
    }
}

/// The list's filter form and pager as a browser sends them: a field left empty comes as an
/// empty string.
#[derive(Debug, Default, Deserialize)]
pub struct ListForm {
    #[serde(default)]
    cursor: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    feedback: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    q: String,
    /// A ticked box comes as `on` (or `true` in a link), an unticked one not at all.
    #[serde(default)]
    unanswered: String,
    #[serde(default)]
    handover: String,
}

/// Whether a form's checkbox was ticked.
fn ticked(value: &str) -> bool {
    matches!(value, "on" | "true" | "1")
}

/// What the filter form shows as chosen, and the query string that keeps it across pages.
struct Chosen {
    q: String,
    unanswered: bool,
    handover: bool,
    status: String,
    feedback: String,
    from: String,
    to: String,
}

impl Chosen {
    fn query(&self) -> String {
        let flag = |on: bool| if on { "true".to_owned() } else { String::new() };
        let q: String = form_urlencoded::byte_serialize(self.q.as_bytes()).collect();
        [
            ("q", &q),
            ("unanswered", &flag(self.unanswered)),
            ("handover", &flag(self.handover)),
            ("status", &self.status),
            ("feedback", &self.feedback),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("&{k}={v}"))
        .collect()
    }

    fn any(&self) -> bool {
        !self.query().is_empty()
    }
}

pub async fn index(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiQuery(form): ApiQuery<ListForm>,
) -> Result<Response, PageError> {
    let space = chat_spaces::get(&state, &caller, id).await?;
    let range = DateRange {
        from: day("from", &form.from)?,
        to: day("to", &form.to)?,
    };
    let filter = ConversationFilter {
        status: choice("status", &form.status, ConversationStatus::parse)?,
        feedback: choice("feedback", &form.feedback, Feedback::parse)?,
        text: conversations::search_text(Some(form.q.clone()))?,
        unanswered: ticked(&form.unanswered),
        handed_over: ticked(&form.handover),
        ..range.filter()?
    };
    let chosen = Chosen {
        q: filter.text.clone().unwrap_or_default(),
        unanswered: filter.unanswered,
        handover: filter.handed_over,
        status: filter
            .status
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        feedback: filter
            .feedback
            .map(|f| f.as_str().to_owned())
            .unwrap_or_default(),
        from: range.from.map(|d| d.to_string()).unwrap_or_default(),
        to: range.to.map(|d| d.to_string()).unwrap_or_default(),
    };
    let page = Page {
        limit: PER_PAGE,
        cursor: choice("cursor", &form.cursor, |c| c.parse::<ConversationId>().ok())?,
    };
    let list = answers::conversations(&state, &caller, space.id, &filter, page).await?;
    let next_cursor = (list.len() as u32 == PER_PAGE)
        .then(|| list.last().map(|c| c.id.to_string()))
        .flatten();
    let mut rows = Vec::with_capacity(list.len());
    for conversation in list {
        let first = answers::messages(&state, &caller, conversation.id, None, 1).await?;
        let first_question = first
            .into_iter()
            .find(|m| m.role == MessageRole::User)
            .map(|m| super::preview(&m.content, 140))
            .unwrap_or_default();
        rows.push(Row {
            conversation,
            first_question,
        });
    }
    let setup = chat_spaces::setup(&state, &caller, &space).await?;
    let page = ConversationsPage {
        shell: ctx.shell_in("spaces"),
        title: format!("Conversations · {}", space.name),
        space,
        setup,
        rows,
        next_cursor,
        first_page: page.cursor.is_none(),
        chosen,
    };
    Ok(ctx.render(&page))
}

#[derive(Template)]
#[template(path = "answers/conversation.html")]
struct TranscriptPage {
    shell: Shell,
    title: String,
    space: ChatSpace,
    conversation: Conversation,
    messages: Vec<Message>,
}

impl TranscriptPage {
    fn visitor(c: &Conversation) -> String {
        visitor(c)
    }

    fn network(ip: &str) -> String {
        network(ip)
    }

    fn when(at: &chrono::DateTime<chrono::Utc>) -> String {
        when(at)
    }

    fn kind(message: &Message) -> &'static str {
        match message.answer_kind {
            Some(AnswerKind::Extractive) => "quoted from the knowledge",
            Some(AnswerKind::DontKnow) => "no answer in the knowledge",
            Some(AnswerKind::Error) => "the model failed",
            Some(AnswerKind::Generated) => "written by the model",
            None => "",
        }
    }

    fn verdict(feedback: &Feedback) -> &'static str {
        match feedback {
            Feedback::Up => "helpful",
            Feedback::Down => "not helpful",
        }
    }

    fn cost(micro_usd: &i64) -> String {
        format!("${:.4}", *micro_usd as f64 / 1_000_000.0)
    }
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<ConversationId>,
) -> Result<Response, PageError> {
    let (conversation, messages) = conversations::transcript(&state, &caller, id).await?;
    let space = chat_spaces::get(&state, &caller, conversation.chat_space_id).await?;
    let page = TranscriptPage {
        shell: ctx.shell_in("spaces"),
        title: format!("Conversation · {}", space.name),
        space,
        conversation,
        messages,
    };
    Ok(ctx.render(&page))
}

/// The export form as a browser sends it: a date left empty comes as an empty string.
#[derive(Debug, Deserialize)]
pub struct ExportForm {
    #[serde(default)]
    format: Option<ExportFormat>,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// The Download button of the Conversations tab: the API's export, from the form.
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiQuery(form): ApiQuery<ExportForm>,
) -> Result<Response, PageError> {
    let range = DateRange {
        from: day("from", &form.from)?,
        to: day("to", &form.to)?,
    };
    let format = form.format.unwrap_or_default();
    let export = conversations::export(&state, &caller, id, format, range).await?;
    Ok(crate::http::download(export))
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_are_shown_as_their_network() {
        assert_eq!(super::network("203.0.113.57"), "203.0.113.0/24");
        assert_eq!(super::network("2001:db8:abcd:12::1"), "2001:db8:abcd::/48");
        assert_eq!(super::network("not an address"), "an unknown network");
    }
}
