//! Visitors' questions in groups of the same question, and the groups asked most (DESIGN §4
//! "Operators", top questions). A scheduled job groups the questions that came since it last
//! ran — incrementally, never on a page view: each joins the group it is most like, or starts
//! one. Questions are alike by their words (stems, without stop words, numbers as one word)
//! and, when an embedder is configured, by their embeddings, which also meet paraphrases that
//! share no word.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use docent_core::*;
use docent_store::{GroupedQuestion, QuestionGroup, QuestionToGroup};
use rust_stemmers::{Algorithm, Stemmer};
use serde::Serialize;

use super::analytics::Window;
use crate::actor::Caller;
use crate::{App, AppError, chat_spaces};

/// How many questions a run of the job reads at a time.
const BATCH: u32 = 200;

/// How long a question waits before it is grouped, so that its answer is written first.
const SETTLE_SECS: i64 = 10;

/// How alike two questions must be, by their words, to be one question: the mean of the
/// share of one's words the other holds, both ways (see [`term_similarity`]).
pub const TERM_THRESHOLD: f64 = 0.5;
/// How alike by their embeddings (cosine): paraphrases of all-MiniLM-L6-v2 score 0.6–0.9,
/// different questions about the same shop 0.2–0.5.
pub const VECTOR_THRESHOLD: f64 = 0.6;

/// The words of a question that say what it is about: lower-cased stems without stop words,
/// every number as `#`.
pub fn terms(question: &str) -> BTreeSet<String> {
    let stemmer = Stemmer::create(Algorithm::English);
    docent_rag::retrieve::topic_terms(question)
        .into_iter()
        .map(|t| {
            if t.chars().all(|c| c.is_ascii_digit()) {
                "#".to_owned()
            } else {
                stemmer.stem(&t).into_owned()
            }
        })
        .collect()
}

/// How alike a question's words are to a group's (0–1): the mean of the share of the
/// question's words the group holds (weighted by how many of its questions hold each) and
/// the share of the group's core words (those nearly as common in it as its commonest: what
/// its questions are about) the question holds.
pub fn term_similarity(question: &BTreeSet<String>, group: &BTreeMap<String, u32>, n: i64) -> f64 {
    if question.is_empty() || n <= 0 {
        return 0.0;
    }
    let n = n as f64;
    let held: f64 = question
        .iter()
        .map(|t| f64::from(group.get(t).copied().unwrap_or(0)) / n)
        .sum::<f64>()
        / question.len() as f64;
    let most = group.values().copied().max().unwrap_or(0);
    let core: Vec<&String> = group
        .iter()
        .filter(|(_, k)| f64::from(**k) >= 0.75 * f64::from(most))
        .map(|(t, _)| t)
        .collect();
    let covered = if core.is_empty() {
        0.0
    } else {
        core.iter().filter(|t| question.contains(**t)).count() as f64 / core.len() as f64
    };
    (held + covered) / 2.0
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut dot, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        dot += f64::from(*x) * f64::from(*y);
        aa += f64::from(*x) * f64::from(*x);
        bb += f64::from(*y) * f64::from(*y);
    }
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        dot / (aa.sqrt() * bb.sqrt())
    }
}

/// How well a question fits a group: its word and vector similarity each over its
/// threshold, the better of the two (1 or more: it belongs).
fn fit(words: &BTreeSet<String>, vector: Option<&[f32]>, group: &QuestionGroup) -> f64 {
    let by_words = term_similarity(words, &group.terms, group.questions) / TERM_THRESHOLD;
    let by_vector = match (vector, &group.vector) {
        (Some(v), Some(g)) => cosine(v, g) / VECTOR_THRESHOLD,
        _ => 0.0,
    };
    by_words.max(by_vector)
}

/// A question's label as it is shown: trimmed, on one line, at most 120 characters.
fn label_of(question: &str) -> String {
    let one_line: String = question.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= 120 {
        one_line
    } else {
        let mut cut: String = one_line.chars().take(119).collect();
        cut.push('…');
        cut
    }
}

/// Groups the visitors' questions asked since the job last ran (and at least ten seconds
/// ago, so their answers are written); how many it grouped.
pub async fn group_new(app: &App) -> Result<u64, AppError> {
    group_new_before(app, Utc::now() - Duration::seconds(SETTLE_SECS)).await
}

/// [`group_new`] for the questions asked before `asked_before`.
pub async fn group_new_before(app: &App, asked_before: DateTime<Utc>) -> Result<u64, AppError> {
    let mut grouped = 0;
    let mut after = app.store.grouping_watermark().await?;
    // Each chat space's groups, read once a run and grown as questions join them.
    let mut groups: HashMap<ChatSpaceId, Vec<QuestionGroup>> = HashMap::new();
    loop {
        let batch = app
            .store
            .questions_to_group(after, asked_before, BATCH)
            .await?;
        let Some(last) = batch.last() else { break };
        let watermark = last.message_id;
        let vectors = embed(app, &batch).await;
        let mut changed: BTreeMap<QuestionGroupId, ChatSpaceId> = BTreeMap::new();
        let mut members = Vec::with_capacity(batch.len());
        for (i, q) in batch.iter().enumerate() {
            let space_groups = match groups.entry(q.chat_space_id) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(app.store.question_groups(q.org_id, q.chat_space_id).await?)
                }
            };
            let words = terms(&q.question);
            let vector = vectors.as_ref().and_then(|v| v.get(i)).map(Vec::as_slice);
            let best = space_groups
                .iter()
                .enumerate()
                .map(|(at, g)| (at, fit(&words, vector, g)))
                .filter(|(_, score)| *score >= 1.0)
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(at, _)| at);
            let group = match best {
                Some(at) => &mut space_groups[at],
                None => {
                    space_groups.push(QuestionGroup {
                        id: QuestionGroupId::generate(),
                        org_id: q.org_id,
                        chat_space_id: q.chat_space_id,
                        // As the visitor wrote it (erasing a visitor renames a group
                        // named by one of their questions, finding it by this text).
                        label: q.question.clone(),
                        terms: BTreeMap::new(),
                        vector: None,
                        questions: 0,
                        resolved_at: None,
                        resolved_by_document_id: None,
                        created_at: q.asked_at,
                        last_asked_at: q.asked_at,
                    });
                    space_groups.last_mut().expect("just pushed")
                }
            };
            join(group, &words, vector, q.asked_at);
            changed.insert(group.id, q.chat_space_id);
            members.push((q.clone(), group.id));
        }
        let touched: Vec<QuestionGroup> = changed
            .iter()
            .filter_map(|(id, space)| groups.get(space)?.iter().find(|g| g.id == *id).cloned())
            .collect();
        app.store
            .save_grouping(&touched, &members, watermark)
            .await?;
        grouped += members.len() as u64;
        after = Some(watermark);
        if batch.len() < BATCH as usize {
            break;
        }
    }
    Ok(grouped)
}

/// Recounts the words of a chat space's groups from the questions they still hold (after an
/// erasure: a group keeps nothing of an erased question, not even its stems). A group that
/// lost questions forgets its mean vector too (it cannot be taken apart); the next question
/// that joins it starts a new one.
pub async fn recount(app: &App, org: OrgId, space: ChatSpaceId) -> Result<(), AppError> {
    let groups = app.store.question_groups(org, space).await?;
    let asked = app
        .store
        .grouped_questions(org, space, None, None, None)
        .await?;
    let mut words: HashMap<QuestionGroupId, (BTreeMap<String, u32>, i64)> = HashMap::new();
    for q in &asked {
        let (counts, n) = words.entry(q.group_id).or_default();
        for w in terms(&q.question) {
            *counts.entry(w).or_default() += 1;
        }
        *n += 1;
    }
    let changed: Vec<QuestionGroup> = groups
        .into_iter()
        .filter_map(|mut g| {
            let (counts, n) = words.remove(&g.id).unwrap_or_default();
            if counts == g.terms && n == g.questions {
                return None;
            }
            if n != g.questions {
                g.vector = None;
            }
            g.terms = counts;
            g.questions = n;
            Some(g)
        })
        .collect();
    if !changed.is_empty() {
        app.store.rewrite_groups(org, &changed).await?;
    }
    Ok(())
}

/// Adds a question to a group: its words to the group's, its vector to the mean.
fn join(
    group: &mut QuestionGroup,
    words: &BTreeSet<String>,
    vector: Option<&[f32]>,
    at: DateTime<Utc>,
) {
    for w in words {
        *group.terms.entry(w.clone()).or_default() += 1;
    }
    if let Some(v) = vector {
        let n = group.questions as f32;
        group.vector = Some(match group.vector.take() {
            Some(mean) if mean.len() == v.len() => mean
                .iter()
                .zip(v)
                .map(|(m, x)| (m * n + x) / (n + 1.0))
                .collect(),
            _ => v.to_vec(),
        });
    }
    group.questions += 1;
    group.last_asked_at = group.last_asked_at.max(at);
}

/// The batch's embeddings, when an embedder is configured and answers; without them the
/// questions are grouped by their words alone.
async fn embed(app: &App, batch: &[QuestionToGroup]) -> Option<Vec<Vec<f32>>> {
    let embedder = app.embedder.as_ref()?;
    let texts: Vec<String> = batch.iter().map(|q| q.question.clone()).collect();
    match embedder.embed(&texts).await {
        Ok(vectors) if vectors.len() == texts.len() => Some(vectors),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(error = %e, "embedding questions failed; grouping them by their words");
            None
        }
    }
}

/// A question asked often, with some of its wordings and where it was asked.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TopQuestion {
    pub id: QuestionGroupId,
    pub label: String,
    /// How many times it was asked in the window.
    pub count: u64,
    /// Up to five different wordings, most recent first.
    pub examples: Vec<String>,
    /// The conversations it was asked in (up to 20, most recent first).
    pub conversation_ids: Vec<ConversationId>,
}

/// A chat space's questions asked most in the window's days, most asked first.
pub async fn top(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    window: Window,
    limit: usize,
) -> Result<Vec<TopQuestion>, AppError> {
    let space = chat_spaces::get(app, caller, space).await?;
    let (since, before) = window.instants();
    let asked = app
        .store
        .grouped_questions(caller.org_id(), space.id, None, Some(since), Some(before))
        .await?;
    let groups = app.store.question_groups(caller.org_id(), space.id).await?;
    Ok(rank(&groups, &asked, limit))
}

/// The groups of `asked` by how often they were asked (then most recently), with examples.
pub fn rank(groups: &[QuestionGroup], asked: &[GroupedQuestion], limit: usize) -> Vec<TopQuestion> {
    let mut by_group: HashMap<QuestionGroupId, Vec<&GroupedQuestion>> = HashMap::new();
    for q in asked {
        by_group.entry(q.group_id).or_default().push(q);
    }
    let mut top: Vec<(DateTime<Utc>, TopQuestion)> = groups
        .iter()
        .filter_map(|g| {
            let mut questions = by_group.remove(&g.id)?;
            questions.sort_by_key(|q| std::cmp::Reverse(q.asked_at));
            let mut examples: Vec<String> = Vec::new();
            for q in &questions {
                let text = label_of(&q.question);
                if examples.len() < 5 && !examples.contains(&text) {
                    examples.push(text);
                }
            }
            let mut conversation_ids = Vec::new();
            for q in &questions {
                if conversation_ids.len() < 20 && !conversation_ids.contains(&q.conversation_id) {
                    conversation_ids.push(q.conversation_id);
                }
            }
            let latest = questions.first()?.asked_at;
            Some((
                latest,
                TopQuestion {
                    id: g.id,
                    label: g.label.clone(),
                    count: questions.len() as u64,
                    examples,
                    conversation_ids,
                },
            ))
        })
        .collect();
    top.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(b.0.cmp(&a.0)));
    top.into_iter().take(limit).map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group_of(questions: &[&str]) -> QuestionGroup {
        let mut g = QuestionGroup {
            id: QuestionGroupId::generate(),
            org_id: OrgId::generate(),
            chat_space_id: ChatSpaceId::generate(),
            label: questions[0].into(),
            terms: BTreeMap::new(),
            vector: None,
            questions: 0,
            resolved_at: None,
            resolved_by_document_id: None,
            created_at: Utc::now(),
            last_asked_at: Utc::now(),
        };
        for q in questions {
            join(&mut g, &terms(q), None, Utc::now());
        }
        g
    }

    #[test]
    fn words_are_stems_without_stop_words_and_numbers_are_one_word() {
        let t = terms("Hi! Can you tell me how long refunds take for order 12345?");
        assert_eq!(
            t,
            ["#", "order", "refund"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        );
        assert_eq!(terms("Do you SHIP to Canada?"), terms("shipping to canada"));
    }

    #[test]
    fn rewordings_of_a_question_fit_its_group_and_other_questions_do_not() {
        let refunds = group_of(&["How long do refunds take?", "When will I get my refund?"]);
        for same in [
            "How many days until my refund arrives?",
            "refund still not here",
        ] {
            assert!(fit(&terms(same), None, &refunds) >= 1.0, "{same}");
        }
        for other in [
            "Do you ship to Canada?",
            "What are your opening hours?",
            "How long is the warranty?",
        ] {
            assert!(fit(&terms(other), None, &refunds) < 1.0, "{other}");
        }
        assert_eq!(fit(&BTreeSet::new(), None, &refunds), 0.0);
    }

    #[test]
    fn embeddings_meet_paraphrases_that_share_no_word() {
        let mut g = group_of(&["Do you ship to Canada?"]);
        g.vector = Some(vec![1.0, 0.0, 0.2]);
        let near = [0.9f32, 0.1, 0.25];
        assert!(fit(&terms("Can you deliver abroad?"), Some(&near), &g) >= 1.0);
        assert!(
            fit(
                &terms("Can you deliver abroad?"),
                Some(&[0.0, 1.0, 0.0]),
                &g
            ) < 1.0
        );
    }
}
