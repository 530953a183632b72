//! Human handover (DESIGN §3 `handovers`, §4 "Handover and inbox"): why a person was asked
//! for, each handover's times, an agent's internal notes, and what may trigger one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::*;

/// Why a conversation was handed to a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HandoverReason {
    /// The visitor pressed "Talk to a person" or wrote a phrase asking for one.
    VisitorAsked,
    /// The bot gave its don't-know reply too many times in a row.
    NoAnswer,
    /// The visitor rated answers down.
    ThumbsDown,
    /// The visitor's message held one of the chat space's keywords.
    Keyword,
    /// An agent took the conversation over on their own.
    Agent,
}

impl HandoverReason {
    pub const ALL: [HandoverReason; 5] = [
        HandoverReason::VisitorAsked,
        HandoverReason::NoAnswer,
        HandoverReason::ThumbsDown,
        HandoverReason::Keyword,
        HandoverReason::Agent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HandoverReason::VisitorAsked => "visitor_asked",
            HandoverReason::NoAnswer => "no_answer",
            HandoverReason::ThumbsDown => "thumbs_down",
            HandoverReason::Keyword => "keyword",
            HandoverReason::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<HandoverReason> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// As the inbox shows it.
    pub fn label(self) -> &'static str {
        match self {
            HandoverReason::VisitorAsked => "Visitor asked for a person",
            HandoverReason::NoAnswer => "The bot could not answer",
            HandoverReason::ThumbsDown => "Answers rated down",
            HandoverReason::Keyword => "Keyword",
            HandoverReason::Agent => "Taken over by an agent",
        }
    }
}

/// How a handover ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HandoverEnd {
    /// Given back to the bot; the conversation goes on.
    Released,
    /// The conversation was closed.
    Closed,
}

impl HandoverEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            HandoverEnd::Released => "released",
            HandoverEnd::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<HandoverEnd> {
        [HandoverEnd::Released, HandoverEnd::Closed]
            .into_iter()
            .find(|e| e.as_str() == s)
    }
}

/// One time a conversation went to a person, from the request to its end.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Handover {
    pub id: HandoverId,
    pub org_id: OrgId,
    pub chat_space_id: ChatSpaceId,
    pub conversation_id: ConversationId,
    pub reason: HandoverReason,
    pub requested_at: DateTime<Utc>,
    pub assigned_agent_id: Option<UserId>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub first_agent_reply_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<HandoverEnd>,
}

/// An agent's note on a conversation: seen by the organization's members only, never by
/// the visitor nor sent anywhere.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Note {
    pub id: NoteId,
    pub org_id: OrgId,
    pub conversation_id: ConversationId,
    pub author_id: Option<UserId>,
    pub content: String,
    pub created_at: DateTime<Utc>,
}

/// A ready answer an agent inserts by its shortcut (`/returns`), the organization's own.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CannedReply {
    pub id: CannedReplyId,
    pub org_id: OrgId,
    /// Letters, digits, `-` and `_`, unique in the organization.
    pub shortcut: String,
    /// Markdown.
    pub content: String,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Which conversations an inbox list holds, besides being handed over.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum InboxStatus {
    /// Waiting for a person.
    WaitingForHuman,
    /// Owned by a person.
    Human,
    /// Waiting or owned.
    #[default]
    Open,
    /// Every conversation a person was asked for, including closed ones.
    All,
}

/// Whose conversations an inbox list holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Assigned {
    Me,
    Unassigned,
}

/// Words that ask for a person, in the languages Docent's widget speaks (lower case; a
/// visitor's message matches when it holds one of them).
pub const ASK_FOR_PERSON: &[&str] = &[
    // English
    "talk to a human",
    "talk to a person",
    "speak to a human",
    "speak to a person",
    "speak with a human",
    "speak with a person",
    "talk with a human",
    "talk with a person",
    "real person",
    "human agent",
    "live agent",
    "customer service agent",
    "talk to an agent",
    "speak to an agent",
    "talk to someone",
    "speak to someone",
    // German
    "mit einem menschen",
    "mit einer person sprechen",
    "mitarbeiter sprechen",
    // French
    "parler à un humain",
    "parler a un humain",
    "parler à une personne",
    "parler a une personne",
    "parler à un conseiller",
    // Spanish
    "hablar con una persona",
    "hablar con un humano",
    "hablar con un agente",
    // Portuguese
    "falar com uma pessoa",
    "falar com um humano",
    "falar com um atendente",
    // Italian
    "parlare con una persona",
    "parlare con un operatore",
    // Dutch
    "met een mens",
    "met een medewerker",
];

/// Whether `message` asks for a person in so many words.
pub fn asks_for_person(message: &str) -> bool {
    let lower = normalized(message);
    ASK_FOR_PERSON.iter().any(|p| lower.contains(p))
}

/// The first of `keywords` that `message` holds as a word or phrase (any case).
pub fn keyword_in<'a>(message: &str, keywords: &'a [String]) -> Option<&'a str> {
    let lower = format!(" {} ", normalized(message));
    keywords
        .iter()
        .map(|k| k.trim())
        .filter(|k| !k.is_empty())
        .find(|k| lower.contains(&format!(" {} ", normalized(k))))
}

/// Lower case, with every run of characters other than letters and digits one space.
fn normalized(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        } else {
            space = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_asking_for_a_person_are_heard_in_any_case_and_punctuation() {
        assert!(asks_for_person("Can I TALK to a   human, please?"));
        assert!(asks_for_person("Je voudrais parler à un humain"));
        assert!(asks_for_person("quiero hablar con una persona!"));
        assert!(!asks_for_person("Is the human body mostly water?"));
        assert!(!asks_for_person("How do I talk to my kettle?"));
    }

    #[test]
    fn keywords_match_whole_words_only() {
        let keywords = vec![
            "refund".to_owned(),
            "legal action".to_owned(),
            " ".to_owned(),
        ];
        assert_eq!(keyword_in("I want a REFUND now", &keywords), Some("refund"));
        assert_eq!(
            keyword_in("we will take legal-action", &keywords),
            Some("legal action")
        );
        assert_eq!(keyword_in("refunds policy?", &keywords), None);
        assert_eq!(keyword_in("anything", &[]), None);
    }

    #[test]
    fn names_round_trip() {
        for r in HandoverReason::ALL {
            assert_eq!(HandoverReason::parse(r.as_str()), Some(r));
        }
        for e in [HandoverEnd::Released, HandoverEnd::Closed] {
            assert_eq!(HandoverEnd::parse(e.as_str()), Some(e));
        }
    }
}
