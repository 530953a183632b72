//! Analytics of a chat space, or of all of an organization's: totals and a series by day,
//! week or month, counted from the conversations and messages themselves.
//!
//! One cohort per window: a period counts the conversations visitors started in it, and
//! everything of those conversations (their messages, answers, feedback, tokens) — so every
//! rate of a period divides figures of the same conversations. Playground conversations are
//! the team's own tries and are not counted; the API's and the widget's are.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use docent_core::*;
use docent_store::DayCounts;
use serde::{Deserialize, Serialize};

use crate::actor::Caller;
use crate::conversations::midnight;
use crate::{App, AppError, chat_spaces};

/// How long a period is.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    #[default]
    Day,
    /// Weeks start on Monday (ISO 8601).
    Week,
    Month,
}

impl Granularity {
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Day => "day",
            Granularity::Week => "week",
            Granularity::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<Granularity> {
        [Granularity::Day, Granularity::Week, Granularity::Month]
            .into_iter()
            .find(|g| g.as_str() == s)
    }

    /// The first day of the period `day` falls in.
    pub fn start(self, day: NaiveDate) -> NaiveDate {
        match self {
            Granularity::Day => day,
            Granularity::Week => {
                day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
            }
            Granularity::Month => day.with_day(1).unwrap_or(day),
        }
    }

    /// The first day of the period after the one starting on `start`.
    fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            Granularity::Day => start + Duration::days(1),
            Granularity::Week => start + Duration::days(7),
            Granularity::Month => start
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(NaiveDate::MAX),
        }
    }
}

/// The days analytics cover (UTC, both included) and how they are grouped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub granularity: Granularity,
}

/// The most periods a series may have (a year and a month of days).
pub const MAX_PERIODS: usize = 400;

/// Days shown when none are asked for: the last 30, today included.
pub const DEFAULT_DAYS: i64 = 30;

impl Window {
    /// The window asked for: `to` defaults to today, `from` to 29 days before `to`; a `from`
    /// after `to`, or more than [`MAX_PERIODS`] periods, is refused.
    pub fn new(
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        granularity: Granularity,
    ) -> Result<Window, AppError> {
        let to = to.unwrap_or_else(|| Utc::now().date_naive());
        let from = from.unwrap_or(to - Duration::days(DEFAULT_DAYS - 1));
        if from > to {
            return Err(AppError::validation("from", "must not be after `to`"));
        }
        let window = Window {
            from,
            to,
            granularity,
        };
        if window.periods().len() > MAX_PERIODS {
            return Err(AppError::validation(
                "from",
                format!(
                    "covers more than {MAX_PERIODS} {}s: choose a shorter range or a longer granularity",
                    granularity.as_str()
                ),
            ));
        }
        Ok(window)
    }

    /// The instants the window runs between: its first day's midnight, and the midnight after
    /// its last day.
    pub fn instants(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let end = self.to.succ_opt().unwrap_or(self.to);
        (midnight(self.from), midnight(end))
    }

    /// The first day of each period, in order.
    pub fn periods(&self) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let mut start = self.granularity.start(self.from);
        while start <= self.to && out.len() <= MAX_PERIODS {
            out.push(start);
            start = self.granularity.next(start);
        }
        out
    }
}

/// What a window's conversations came to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Figures {
    pub conversations: u64,
    /// Every message: the visitors', the answers, the agents'.
    pub messages: u64,
    pub visitor_messages: u64,
    /// The chatbot's replies.
    pub answers: u64,
    /// Different visitor ids among the conversations (a visitor who came back counts once).
    pub unique_visitors: u64,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_micro_usd: i64,
    pub feedback_up: u64,
    pub feedback_down: u64,
    /// Answers that were the chat space's "don't know" reply (nothing relevant was found).
    pub unanswered: u64,
    /// Conversations a person was asked for or took over.
    pub handovers: u64,
    /// Conversations the bot saw through alone: no person asked for, no don't-know reply,
    /// no answer rated down.
    pub bot_resolved: u64,
    /// Seconds from a handover's request to a person's first reply, median and 95th
    /// percentile, over the handovers a person answered.
    pub first_reply_secs_p50: Option<i64>,
    pub first_reply_secs_p95: Option<i64>,
    /// Seconds from a handover's request to its end (released or closed), median and 95th
    /// percentile, over the handovers that ended.
    pub resolution_secs_p50: Option<i64>,
    pub resolution_secs_p95: Option<i64>,
    /// Handovers no person replied to (still waiting, or ended unanswered).
    pub handovers_unanswered: u64,
    /// How long answers took, median and 95th percentile (nearest rank); none without answers.
    pub response_ms_p50: Option<i64>,
    pub response_ms_p95: Option<i64>,
    /// Thumbs up per 1,000 answers (Dify's satisfaction measure).
    pub satisfaction: Option<f64>,
    /// Unanswered answers per answer.
    pub unanswered_rate: Option<f64>,
    /// Handed-over conversations per conversation.
    pub handover_rate: Option<f64>,
    /// Conversations the bot saw through alone per conversation.
    pub bot_resolved_rate: Option<f64>,
    /// The answers' mean confidence (0–1, see `docent_rag::confidence`).
    pub confidence_mean: Option<f64>,
}

/// One period of a series: its first day and its figures.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Period {
    pub period: NaiveDate,
    #[serde(flatten)]
    pub figures: Figures,
}

/// How many answers had a confidence from `from` up to `to` (the last bucket includes 1).
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ConfidenceBucket {
    pub from: f64,
    pub to: f64,
    pub answers: u64,
}

/// Analytics of a window.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Analytics {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub granularity: Granularity,
    pub totals: Figures,
    pub series: Vec<Period>,
    /// The answers' confidence in ten buckets of 0.1.
    pub confidence: Vec<ConfidenceBucket>,
}

/// How many confidence buckets.
const BUCKETS: usize = 10;

/// Analytics of one chat space the caller sees.
pub async fn of_chat_space(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    window: Window,
) -> Result<Analytics, AppError> {
    let space = chat_spaces::get(app, caller, space).await?;
    count(app, caller, Some(vec![space.id]), window).await
}

/// Analytics of every chat space of the caller's organization that the caller sees (a
/// limited member's or a scoped key's only).
pub async fn of_organization(
    app: &App,
    caller: &Caller,
    window: Window,
) -> Result<Analytics, AppError> {
    count(app, caller, caller.limited_to(), window).await
}

/// Analytics of `spaces` (all of the organization's when `None`).
async fn count(
    app: &App,
    caller: &Caller,
    spaces: Option<Vec<ChatSpaceId>>,
    window: Window,
) -> Result<Analytics, AppError> {
    let space = spaces.as_deref();
    let periods = window.periods();
    let (since, before) = window.instants();
    let org = caller.org_id();
    let found = app.store.analytics_days(org, space, since, before).await?;
    // Which period a day falls in.
    let period_of = |day: NaiveDate| {
        let at = periods.partition_point(|p| *p <= day);
        at.checked_sub(1)
    };
    let mut totals = Tally::default();
    let mut series: Vec<Tally> = periods.iter().map(|_| Tally::default()).collect();
    for day in &found.days {
        if let Some(at) = period_of(day.day) {
            series[at].day(day);
            totals.day(day);
            // A day's visitors come with its sums; a week's or a month's are counted below.
            if window.granularity == Granularity::Day {
                series[at].figures.unique_visitors = day.visitors;
            }
        }
    }
    for &(day, ms, n) in &found.response_ms {
        if let Some(at) = period_of(day) {
            series[at].response_ms.push((ms, n));
            totals.response_ms.push((ms, n));
        }
    }
    for &(day, confidence, n) in &found.confidence {
        if let Some(at) = period_of(day) {
            series[at].confidences.push((confidence, n));
            totals.confidences.push((confidence, n));
        }
    }
    for h in &found.handovers {
        if let Some(at) = period_of(h.day) {
            series[at].handover(h);
            totals.handover(h);
        }
    }
    // Visitors are counted once a period, however many days they came on in it (a period
    // counted from no earlier than the window's first day).
    for (at, start) in periods.iter().enumerate() {
        if window.granularity != Granularity::Day && series[at].figures.conversations > 0 {
            let from = midnight((*start).max(window.from));
            let to = periods
                .get(at + 1)
                .map_or(before, |next| midnight(*next).min(before));
            series[at].figures.unique_visitors =
                app.store.count_visitors(org, space, from, to).await?;
        }
    }
    totals.figures.unique_visitors = app.store.count_visitors(org, space, since, before).await?;
    Ok(Analytics {
        from: window.from,
        to: window.to,
        granularity: window.granularity,
        confidence: totals.buckets(),
        totals: totals.figures(),
        series: periods
            .into_iter()
            .zip(series)
            .map(|(period, tally)| Period {
                period,
                figures: tally.figures(),
            })
            .collect(),
    })
}

/// Figures as they are counted: sums, and how many answers took a time or had a confidence.
#[derive(Default)]
struct Tally {
    figures: Figures,
    response_ms: Vec<(i64, u64)>,
    confidences: Vec<(f64, u64)>,
    first_reply_secs: Vec<(i64, u64)>,
    resolution_secs: Vec<(i64, u64)>,
}

impl Tally {
    fn handover(&mut self, h: &docent_store::HandoverTimes) {
        let secs = |at: chrono::DateTime<Utc>| (at - h.requested_at).num_seconds().max(0);
        match h.first_agent_reply_at {
            Some(at) => self.first_reply_secs.push((secs(at), 1)),
            None => self.figures.handovers_unanswered += 1,
        }
        if let Some(at) = h.resolved_at {
            self.resolution_secs.push((secs(at), 1));
        }
    }

    fn day(&mut self, d: &DayCounts) {
        let f = &mut self.figures;
        f.conversations += d.conversations;
        f.handovers += d.handovers;
        f.bot_resolved += d.bot_resolved;
        f.messages += d.messages;
        f.visitor_messages += d.visitor_messages;
        f.answers += d.answers;
        f.tokens_in += d.tokens_in;
        f.tokens_out += d.tokens_out;
        f.cost_micro_usd += d.cost_micro_usd;
        f.feedback_up += d.feedback_up;
        f.feedback_down += d.feedback_down;
        f.unanswered += d.unanswered;
    }

    fn figures(mut self) -> Figures {
        let mut f = self.figures;
        self.response_ms.sort_unstable();
        f.response_ms_p50 = percentile(&self.response_ms, 50);
        f.response_ms_p95 = percentile(&self.response_ms, 95);
        self.first_reply_secs.sort_unstable();
        f.first_reply_secs_p50 = percentile(&self.first_reply_secs, 50);
        f.first_reply_secs_p95 = percentile(&self.first_reply_secs, 95);
        self.resolution_secs.sort_unstable();
        f.resolution_secs_p50 = percentile(&self.resolution_secs, 50);
        f.resolution_secs_p95 = percentile(&self.resolution_secs, 95);
        let per = |n: u64, of: u64| (of > 0).then(|| n as f64 / of as f64);
        f.satisfaction = per(f.feedback_up * 1000, f.answers);
        f.unanswered_rate = per(f.unanswered, f.answers);
        f.handover_rate = per(f.handovers, f.conversations);
        f.bot_resolved_rate = per(f.bot_resolved, f.conversations);
        let (sum, n) = self
            .confidences
            .iter()
            .fold((0.0, 0u64), |(sum, n), &(c, k)| (sum + c * k as f64, n + k));
        f.confidence_mean = (n > 0).then(|| sum / n as f64);
        f
    }

    fn buckets(&self) -> Vec<ConfidenceBucket> {
        let mut counts = [0u64; BUCKETS];
        for &(c, n) in &self.confidences {
            let at = ((c.clamp(0.0, 1.0) * BUCKETS as f64) as usize).min(BUCKETS - 1);
            counts[at] += n;
        }
        counts
            .iter()
            .enumerate()
            .map(|(i, &answers)| ConfidenceBucket {
                from: i as f64 / BUCKETS as f64,
                to: (i + 1) as f64 / BUCKETS as f64,
                answers,
            })
            .collect()
    }
}

/// The nearest-rank percentile `p` of values given as sorted `(value, how many)`.
pub fn percentile(sorted: &[(i64, u64)], p: u64) -> Option<i64> {
    let n: u64 = sorted.iter().map(|(_, k)| k).sum();
    if n == 0 {
        return None;
    }
    let rank = (p * n).div_ceil(100).max(1);
    let mut seen = 0;
    sorted.iter().find_map(|&(v, k)| {
        seen += k;
        (seen >= rank).then_some(v)
    })
}

/// A chart of the Analytics tab: what it shows and so what its CSV holds.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema, strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
pub enum Chart {
    /// Conversations, visitor messages and visitors per period.
    Volume,
    /// Answers rated up and down, and unanswered, per period.
    Feedback,
    /// Answer time, median and 95th percentile, per period.
    Speed,
    /// Handovers, those no person answered, and how long a person took to reply and to
    /// see one through, per period.
    Handover,
    /// Tokens and cost per period.
    Usage,
    /// How many answers had each confidence (not a series: ten buckets).
    Confidence,
}

impl Chart {
    pub fn as_str(self) -> &'static str {
        match self {
            Chart::Volume => "volume",
            Chart::Feedback => "feedback",
            Chart::Speed => "speed",
            Chart::Handover => "handover",
            Chart::Usage => "usage",
            Chart::Confidence => "confidence",
        }
    }

    /// The figures of a period it shows (none for [`Chart::Confidence`]).
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Chart::Volume => &["conversations", "visitor_messages", "unique_visitors"],
            Chart::Feedback => &["answers", "feedback_up", "feedback_down", "unanswered"],
            Chart::Speed => &["answers", "response_ms_p50", "response_ms_p95"],
            Chart::Handover => &[
                "conversations",
                "handovers",
                "handovers_unanswered",
                "bot_resolved",
                "first_reply_secs_p50",
                "first_reply_secs_p95",
                "resolution_secs_p50",
                "resolution_secs_p95",
            ],
            Chart::Usage => &["tokens_in", "tokens_out", "cost_micro_usd"],
            Chart::Confidence => &[],
        }
    }
}

/// Every figure of a period, in the order of the full CSV.
pub const COLUMNS: &[&str] = &[
    "conversations",
    "messages",
    "visitor_messages",
    "answers",
    "unique_visitors",
    "tokens_in",
    "tokens_out",
    "cost_micro_usd",
    "feedback_up",
    "feedback_down",
    "unanswered",
    "handovers",
    "handovers_unanswered",
    "bot_resolved",
    "first_reply_secs_p50",
    "first_reply_secs_p95",
    "resolution_secs_p50",
    "resolution_secs_p95",
    "response_ms_p50",
    "response_ms_p95",
    "satisfaction",
    "unanswered_rate",
    "handover_rate",
    "bot_resolved_rate",
    "confidence_mean",
];

impl Figures {
    /// A figure by its name in [`COLUMNS`], as a CSV cell (empty when there is none).
    pub fn cell(&self, column: &str) -> String {
        let count = |n: u64| n.to_string();
        let maybe = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        let rate = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
        match column {
            "conversations" => count(self.conversations),
            "messages" => count(self.messages),
            "visitor_messages" => count(self.visitor_messages),
            "answers" => count(self.answers),
            "unique_visitors" => count(self.unique_visitors),
            "tokens_in" => self.tokens_in.to_string(),
            "tokens_out" => self.tokens_out.to_string(),
            "cost_micro_usd" => self.cost_micro_usd.to_string(),
            "feedback_up" => count(self.feedback_up),
            "feedback_down" => count(self.feedback_down),
            "unanswered" => count(self.unanswered),
            "handovers" => count(self.handovers),
            "handovers_unanswered" => count(self.handovers_unanswered),
            "bot_resolved" => count(self.bot_resolved),
            "first_reply_secs_p50" => maybe(self.first_reply_secs_p50),
            "first_reply_secs_p95" => maybe(self.first_reply_secs_p95),
            "resolution_secs_p50" => maybe(self.resolution_secs_p50),
            "resolution_secs_p95" => maybe(self.resolution_secs_p95),
            "response_ms_p50" => maybe(self.response_ms_p50),
            "response_ms_p95" => maybe(self.response_ms_p95),
            "satisfaction" => self
                .satisfaction
                .map(|v| format!("{v:.1}"))
                .unwrap_or_default(),
            "unanswered_rate" => rate(self.unanswered_rate),
            "handover_rate" => rate(self.handover_rate),
            "bot_resolved_rate" => rate(self.bot_resolved_rate),
            "confidence_mean" => rate(self.confidence_mean),
            _ => String::new(),
        }
    }
}

/// The data of one chart (or, with `None`, every figure of every period) as CSV: a row a
/// period under a header row; the confidence chart has a row a bucket.
pub fn csv(analytics: &Analytics, chart: Option<Chart>) -> Vec<u8> {
    use crate::conversations::csv_line;
    if chart == Some(Chart::Confidence) {
        let mut out = csv_line(["confidence_from", "confidence_to", "answers"]);
        for b in &analytics.confidence {
            let (from, to, n) = (
                format!("{:.1}", b.from),
                format!("{:.1}", b.to),
                b.answers.to_string(),
            );
            out.extend(csv_line([from.as_str(), to.as_str(), n.as_str()]));
        }
        return out;
    }
    let columns = chart.map_or(COLUMNS, Chart::columns);
    let mut out = csv_line(std::iter::once("period").chain(columns.iter().copied()));
    for p in &analytics.series {
        let cells: Vec<String> = std::iter::once(p.period.to_string())
            .chain(columns.iter().map(|c| p.figures.cell(c)))
            .collect();
        out.extend(csv_line(cells.iter().map(String::as_str)));
    }
    out
}

/// Analytics of a chat space as a CSV file to save: one chart's data or every figure.
pub async fn export(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    window: Window,
    chart: Option<Chart>,
) -> Result<crate::conversations::Export, AppError> {
    let space = chat_spaces::get(app, caller, space).await?;
    let analytics = count(app, caller, Some(vec![space.id]), window).await?;
    let what = chart.map_or("analytics", Chart::as_str);
    let file_name = format!(
        "{}-{what}-{}-{}.csv",
        space.endpoint_slug, window.from, window.to
    );
    Ok(crate::conversations::Export::whole(
        file_name,
        csv(&analytics, chart),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("day")
    }

    #[test]
    fn periods_start_on_their_first_day_and_cover_the_window() {
        let w = Window::new(
            Some(day("2026-11-04")),
            Some(day("2026-12-01")),
            Granularity::Week,
        )
        .expect("window");
        let periods = w.periods();
        assert_eq!(periods.first(), Some(&day("2026-11-02")), "a Monday");
        assert_eq!(periods.last(), Some(&day("2026-11-30")));
        assert_eq!(periods.len(), 5);
        let m = Window::new(
            Some(day("2026-01-31")),
            Some(day("2026-03-01")),
            Granularity::Month,
        )
        .expect("window");
        assert_eq!(
            m.periods(),
            vec![day("2026-01-01"), day("2026-02-01"), day("2026-03-01")]
        );
        let d = Window::new(
            Some(day("2026-12-01")),
            Some(day("2026-12-01")),
            Granularity::Day,
        )
        .expect("window");
        assert_eq!(d.periods(), vec![day("2026-12-01")]);
    }

    #[test]
    fn windows_that_are_backwards_or_too_long_are_refused() {
        let window = |from: &str, to: &str, g| Window::new(Some(day(from)), Some(day(to)), g);
        assert!(window("2026-12-02", "2026-12-01", Granularity::Day).is_err());
        assert!(window("2024-01-01", "2026-12-01", Granularity::Day).is_err());
        assert!(window("2024-01-01", "2026-12-01", Granularity::Week).is_ok());
        let default = Window::new(None, Some(day("2026-12-01")), Granularity::Day).expect("window");
        assert_eq!(default.from, day("2026-11-02"));
        assert_eq!(default.periods().len(), 30);
    }

    #[test]
    fn handover_times_count_from_the_request() {
        let at = |s: i64| {
            "2026-12-01T10:00:00Z".parse::<DateTime<Utc>>().expect("t") + Duration::seconds(s)
        };
        let mut tally = Tally::default();
        for (reply, end) in [
            (Some(30), Some(600)),
            (Some(90), None),
            (None, Some(20)),
            (Some(10), Some(40)),
        ] {
            tally.handover(&docent_store::HandoverTimes {
                day: day("2026-12-01"),
                requested_at: at(0),
                first_agent_reply_at: reply.map(at),
                resolved_at: end.map(at),
            });
        }
        let f = tally.figures();
        assert_eq!(f.handovers_unanswered, 1, "one no person replied to");
        assert_eq!(
            (f.first_reply_secs_p50, f.first_reply_secs_p95),
            (Some(30), Some(90))
        );
        assert_eq!(
            (f.resolution_secs_p50, f.resolution_secs_p95),
            (Some(40), Some(600))
        );
    }

    #[test]
    fn percentiles_are_by_nearest_rank() {
        let v: Vec<(i64, u64)> = (1..=20).map(|v| (v, 1)).collect();
        assert_eq!(percentile(&v, 50), Some(10));
        assert_eq!(percentile(&v, 95), Some(19));
        assert_eq!(percentile(&[(7, 1)], 95), Some(7));
        assert_eq!(percentile(&[], 50), None);
        // Counted values: 10 answers of 100 ms and one of 900.
        assert_eq!(percentile(&[(100, 10), (900, 1)], 95), Some(900));
        assert_eq!(percentile(&[(100, 10), (900, 1)], 50), Some(100));
    }
}
