//! Knowledge gaps that close (DESIGN §4 "Operators"): a group of visitors' questions is a
//! gap while any of them went unanswered (the don't-know reply), was answered with low
//! confidence, was rated down, or went to a person. The owner answers a gap once — a
//! question-and-answer source — or adds a document, and its questions are asked again as
//! soon as that source is read; when every one now gets an answer the gap is resolved. A
//! question of the group that goes unanswered after that reopens it.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use docent_core::*;
use docent_store::{GroupedQuestion, QuestionGroup};
use serde::{Deserialize, Serialize};

use crate::actor::Caller;
use crate::jobs::JobError;
use crate::{App, AppError, chat_spaces, documents};

/// Below this confidence an answer counts as a weak one (see `docent_rag::confidence`): the
/// best passage held fewer than two in five of the question's topic words.
pub const LOW_CONFIDENCE: f64 = 0.4;

/// Why questions of a gap count as unanswered, with how many of each (a question may have
/// several reasons).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Reasons {
    /// The don't-know reply.
    pub no_answer: u64,
    /// An answer from a passage that matched the question poorly.
    pub low_score: u64,
    /// Rated not helpful.
    pub thumbs_down: u64,
    /// Its conversation went to a person.
    pub handover: u64,
}

impl Reasons {
    /// The reasons of one question (each 0 or 1).
    fn of(q: &GroupedQuestion) -> Reasons {
        let no_answer = matches!(q.answer_kind, None | Some(AnswerKind::DontKnow));
        let low_score = !no_answer
            && q.answer_kind != Some(AnswerKind::Error)
            && q.confidence.is_some_and(|c| c < LOW_CONFIDENCE);
        Reasons {
            no_answer: u64::from(no_answer),
            low_score: u64::from(low_score),
            thumbs_down: u64::from(q.feedback == Some(Feedback::Down)),
            handover: u64::from(q.handed_over),
        }
    }

    fn any(&self) -> bool {
        self.no_answer + self.low_score + self.thumbs_down + self.handover > 0
    }

    fn add(&mut self, other: &Reasons) {
        self.no_answer += other.no_answer;
        self.low_score += other.low_score;
        self.thumbs_down += other.thumbs_down;
        self.handover += other.handover;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GapStatus {
    /// Some of its questions went unanswered since it was last resolved.
    Open,
    /// Answered by the owner, and every question asked again got an answer.
    Resolved,
}

impl GapStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GapStatus::Open => "open",
            GapStatus::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<GapStatus> {
        [GapStatus::Open, GapStatus::Resolved]
            .into_iter()
            .find(|g| g.as_str() == s)
    }
}

/// A question of a gap.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct GapQuestion {
    pub question: String,
    pub conversation_id: ConversationId,
    pub asked_at: DateTime<Utc>,
    pub reasons: Reasons,
    /// Asked again after the owner's answer: whether it got an answer then.
    pub answered_now: Option<bool>,
}

/// A knowledge gap.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Gap {
    pub id: QuestionGroupId,
    pub label: String,
    pub status: GapStatus,
    /// How many of its questions went unanswered (for any reason), ever.
    pub count: u64,
    /// Of those, how many in the last 7 days and in the 7 before (its trend).
    pub last_7_days: u64,
    pub previous_7_days: u64,
    pub reasons: Reasons,
    /// The unanswered questions, most recent first (up to 20).
    pub questions: Vec<GapQuestion>,
    pub last_asked_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The question-and-answer source the owner wrote for it.
    pub resolved_by_document_id: Option<DocumentId>,
    /// Whether its questions are being asked again (the owner's answer is being read).
    pub rechecking: bool,
}

/// The gap of a group's questions, or `None` when none of them went unanswered.
fn gap_of(group: &QuestionGroup, asked: &[&GroupedQuestion], now: DateTime<Utc>) -> Option<Gap> {
    let mut reasons = Reasons::default();
    let mut unanswered: Vec<GapQuestion> = Vec::new();
    let (mut last_7, mut previous_7) = (0, 0);
    for q in asked {
        let r = Reasons::of(q);
        if !r.any() {
            continue;
        }
        reasons.add(&r);
        let age = now - q.asked_at;
        if age < Duration::days(7) {
            last_7 += 1;
        } else if age < Duration::days(14) {
            previous_7 += 1;
        }
        unanswered.push(GapQuestion {
            question: q.question.clone(),
            conversation_id: q.conversation_id,
            asked_at: q.asked_at,
            reasons: r,
            answered_now: q.answered_now,
        });
    }
    let latest = unanswered.iter().map(|q| q.asked_at).max()?;
    // Resolved stays resolved until a question goes unanswered after it.
    let status = match group.resolved_at {
        Some(resolved) if latest <= resolved => GapStatus::Resolved,
        _ => GapStatus::Open,
    };
    let rechecking = group.resolved_by_document_id.is_some()
        && status == GapStatus::Open
        && unanswered.iter().any(|q| q.answered_now.is_none());
    let count = unanswered.len() as u64;
    unanswered.sort_by_key(|q| std::cmp::Reverse(q.asked_at));
    unanswered.truncate(20);
    Some(Gap {
        id: group.id,
        label: group.label.clone(),
        status,
        count,
        last_7_days: last_7,
        previous_7_days: previous_7,
        reasons,
        questions: unanswered,
        last_asked_at: latest,
        resolved_at: group.resolved_at,
        resolved_by_document_id: group.resolved_by_document_id,
        rechecking,
    })
}

/// A chat space's knowledge gaps (only those of `status` when given): open ones first, then
/// by how many questions went unanswered in the last week, then in all.
pub async fn list(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    status: Option<GapStatus>,
) -> Result<Vec<Gap>, AppError> {
    let space = chat_spaces::get(app, caller, space).await?;
    let mut gaps: Vec<Gap> = gaps_of(app, caller.org_id(), space.id)
        .await?
        .into_iter()
        .filter(|g| status.is_none_or(|s| g.status == s))
        .collect();
    gaps.sort_by(|a, b| {
        (a.status != GapStatus::Open)
            .cmp(&(b.status != GapStatus::Open))
            .then(b.last_7_days.cmp(&a.last_7_days))
            .then(b.count.cmp(&a.count))
            .then(b.last_asked_at.cmp(&a.last_asked_at))
    });
    Ok(gaps)
}

/// Every gap of a chat space.
async fn gaps_of(
    app: &App,
    org: OrgId,
    space: ChatSpaceId,
) -> Result<Vec<Gap>, docent_store::StoreError> {
    let groups = app.store.question_groups(org, space).await?;
    let asked = app
        .store
        .grouped_questions(org, space, None, None, None)
        .await?;
    let mut by_group: HashMap<QuestionGroupId, Vec<&GroupedQuestion>> = HashMap::new();
    for q in &asked {
        by_group.entry(q.group_id).or_default().push(q);
    }
    let now = Utc::now();
    Ok(groups
        .iter()
        .filter_map(|g| gap_of(g, by_group.get(&g.id)?, now))
        .collect())
}

/// How many open gaps a newly learned document has asked again, at most (the most recently
/// asked first): each is a few answers, written by the model when one is configured.
const RECHECK_AFTER_DOCUMENT: usize = 50;

/// After a chat space learns a document: asks its open gaps' questions again (a `recheck`
/// job each), so that a gap the document answers resolves without "Answer this". Gaps that a
/// visitor rated down or handed over are left to the owner: an answer found again may be the
/// one they found unhelpful.
pub async fn recheck_after(
    app: &App,
    org: OrgId,
    space: ChatSpaceId,
    document: DocumentId,
) -> Result<(), docent_store::StoreError> {
    let mut open: Vec<Gap> = gaps_of(app, org, space)
        .await?
        .into_iter()
        .filter(|g| {
            g.status == GapStatus::Open
                && g.resolved_by_document_id != Some(document)
                && g.reasons.thumbs_down == 0
                && g.reasons.handover == 0
        })
        .collect();
    open.sort_by_key(|g| std::cmp::Reverse(g.last_asked_at));
    for gap in open.iter().take(RECHECK_AFTER_DOCUMENT) {
        enqueue_recheck(app, org, space, gap.id, document).await?;
    }
    Ok(())
}

async fn enqueue_recheck(
    app: &App,
    org: OrgId,
    space: ChatSpaceId,
    group: QuestionGroupId,
    document: DocumentId,
) -> Result<(), docent_store::StoreError> {
    let job = NewJob {
        org_id: Some(org),
        chat_space_id: Some(space),
        payload: serde_json::json!({"group_id": group, "document_id": document}),
        ..NewJob::of(JobKind::Recheck)
    };
    app.store.enqueue_job(job, Utc::now()).await?;
    crate::events::jobs_queued(app).await;
    Ok(())
}

/// One gap of a chat space the caller sees.
pub async fn get(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    id: QuestionGroupId,
) -> Result<Gap, AppError> {
    let (_, group) = group_of(app, caller, space, id).await?;
    let asked = app
        .store
        .grouped_questions(
            caller.org_id(),
            group.chat_space_id,
            Some(group.id),
            None,
            None,
        )
        .await?;
    let asked: Vec<&GroupedQuestion> = asked.iter().collect();
    gap_of(&group, &asked, Utc::now()).ok_or(AppError::NotFound("knowledge gap"))
}

async fn group_of(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    id: QuestionGroupId,
) -> Result<(ChatSpace, QuestionGroup), AppError> {
    let space = chat_spaces::get(app, caller, space).await?;
    let group = app
        .store
        .find_question_group(caller.org_id(), id)
        .await?
        .filter(|g| g.chat_space_id == space.id)
        .ok_or(AppError::NotFound("knowledge gap"))?;
    Ok((space, group))
}

/// The owner's answer to a gap.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerGap {
    /// At most 1,500 characters: it is quoted whole when the question is asked.
    #[schemars(regex(pattern = docent_core::validate::NOT_BLANK_PATTERN), length(max = 1500), example = "Yes: gift vouchers from 10 to 200 euros, in the shop and online.")]
    pub answer: String,
    /// Cited in answers (the default), or learn-only.
    #[serde(default = "yes")]
    pub citable: bool,
}

fn yes() -> bool {
    true
}

/// Answers a gap: its label and `answer` become a question-and-answer source of the chat
/// space, and its unanswered questions are asked again once that source is read.
pub async fn answer(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    id: QuestionGroupId,
    input: AnswerGap,
) -> Result<Gap, AppError> {
    let (space, group) = group_of(app, caller, space, id).await?;
    let pair = documents::QaPair {
        question: group.label.clone(),
        answer: input.answer,
        citable: input.citable,
    };
    let document = documents::add_qa(app, caller, space.id, pair).await?;
    app.store
        .set_group_answer(caller.org_id(), group.id, document.id)
        .await?;
    enqueue_recheck(app, caller.org_id(), space.id, group.id, document.id).await?;
    get(app, caller, space.id, group.id).await
}

/// What a `recheck` job carries.
#[derive(Debug, Deserialize)]
struct Recheck {
    group_id: QuestionGroupId,
    document_id: DocumentId,
}

/// The `recheck` job: once the owner's answer is read, asks the gap's unanswered questions
/// again (nothing is stored but the outcome) and resolves it when every one gets an answer.
pub async fn recheck(app: &App, job: &Job) -> Result<(), JobError> {
    let (Some(org), Some(space)) = (job.org_id, job.chat_space_id) else {
        return Err(JobError::Final(
            "a recheck needs its organization and chat space".into(),
        ));
    };
    let Ok(what) = serde_json::from_value::<Recheck>(job.payload.clone()) else {
        return Err(JobError::Final(format!(
            "a recheck's payload is not one: {}",
            job.payload
        )));
    };
    let Some(document) = app.store.find_document(org, what.document_id).await? else {
        return Err(JobError::Final("the gap's answer was deleted".into()));
    };
    match document.status {
        DocumentStatus::Pending | DocumentStatus::Processing => {
            return Err(JobError::Passing(
                "the gap's answer is still being read".into(),
            ));
        }
        DocumentStatus::Failed => {
            return Err(JobError::Final("the gap's answer could not be read".into()));
        }
        DocumentStatus::Completed => {}
    }
    let Some(space) = app.store.find_chat_space(org, space).await? else {
        return Ok(());
    };
    let asked = app
        .store
        .grouped_questions(org, space.id, Some(what.group_id), None, None)
        .await?;
    let mut outcome: HashMap<String, bool> = HashMap::new();
    let mut results = Vec::new();
    for q in asked.iter().filter(|q| Reasons::of(q).any()) {
        let answered = match outcome.get(&q.question) {
            Some(&answered) => answered,
            None => {
                let (kind, confidence) = app
                    .answers
                    .rehearse(org, &space, &q.question)
                    .await
                    .map_err(|e| JobError::Passing(e.to_string()))?;
                let answered = matches!(kind, AnswerKind::Extractive | AnswerKind::Generated)
                    && confidence >= LOW_CONFIDENCE;
                outcome.insert(q.question.clone(), answered);
                answered
            }
        };
        results.push((q.message_id, answered));
    }
    let resolved = !results.is_empty() && results.iter().all(|(_, answered)| *answered);
    app.store
        .record_recheck(org, what.group_id, &results, Utc::now(), resolved)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(kind: Option<AnswerKind>, confidence: f64, at: DateTime<Utc>) -> GroupedQuestion {
        GroupedQuestion {
            message_id: MessageId::generate(),
            group_id: QuestionGroupId::generate(),
            conversation_id: ConversationId::generate(),
            question: "Do you sell gift vouchers?".into(),
            asked_at: at,
            answer_kind: kind,
            confidence: Some(confidence),
            feedback: None,
            handed_over: false,
            rechecked_at: None,
            answered_now: None,
        }
    }

    fn group(resolved_at: Option<DateTime<Utc>>) -> QuestionGroup {
        QuestionGroup {
            id: QuestionGroupId::generate(),
            org_id: OrgId::generate(),
            chat_space_id: ChatSpaceId::generate(),
            label: "Do you sell gift vouchers?".into(),
            terms: Default::default(),
            vector: None,
            questions: 2,
            resolved_at,
            resolved_by_document_id: None,
            created_at: Utc::now(),
            last_asked_at: Utc::now(),
        }
    }

    #[test]
    fn a_group_is_a_gap_while_questions_go_unanswered_after_it_was_resolved() {
        let now = Utc::now();
        let old = now - Duration::days(10);
        let answered = asked(Some(AnswerKind::Extractive), 0.9, now);
        let weak = asked(Some(AnswerKind::Extractive), 0.2, old);
        let dont_know = asked(Some(AnswerKind::DontKnow), 0.0, old);
        assert!(
            gap_of(&group(None), &[&answered], now).is_none(),
            "all answered"
        );
        let gap = gap_of(&group(None), &[&answered, &weak, &dont_know], now).expect("a gap");
        assert_eq!(gap.status, GapStatus::Open);
        assert_eq!(gap.count, 2);
        assert_eq!((gap.last_7_days, gap.previous_7_days), (0, 2));
        assert_eq!(
            gap.reasons,
            Reasons {
                no_answer: 1,
                low_score: 1,
                ..Reasons::default()
            }
        );
        let resolved = group(Some(now - Duration::days(1)));
        let gap = gap_of(&resolved, &[&weak, &dont_know], now).expect("a gap");
        assert_eq!(gap.status, GapStatus::Resolved);
        let again = asked(Some(AnswerKind::DontKnow), 0.0, now);
        let gap = gap_of(&resolved, &[&weak, &dont_know, &again], now).expect("a gap");
        assert_eq!(gap.status, GapStatus::Open, "it came back");
        assert_eq!(gap.last_7_days, 1);
    }
}
