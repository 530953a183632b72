//! Analytics against a month of traffic sent through the widget API — conversations on
//! every day, visitors who come back, questions the knowledge answers and questions it
//! cannot, thumbs up and down — on both backends: every figure of the API equals what the
//! test counts from what it sent (answer times and confidences, which only the server
//! knows, are read back from the conversations). Then the CSV, the pages and the refusals.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, NaiveDate, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, code, unlimited_widget};
use crate::widget::published;

/// Questions the shop's knowledge (returns and refunds) answers.
const ANSWERED: [&str; 3] = [
    "How long until refunds reach my card?",
    "Are returns accepted for unused items?",
    "Can I send back an item in its original box?",
];
/// Questions it has nothing for: the don't-know reply.
const UNANSWERABLE: [&str; 2] = [
    "Do you sell gift vouchers for birthdays?",
    "Which parking garage is closest?",
];

/// What the test counts of a day (or a week, a month, the window).
#[derive(Clone, Debug, Default, PartialEq)]
struct Counted {
    conversations: u64,
    visitor_messages: u64,
    answers: u64,
    unanswered: u64,
    feedback_up: u64,
    feedback_down: u64,
    /// Conversations with no don't-know reply and no answer rated down (none is handed over).
    bot_resolved: u64,
    visitors: BTreeSet<String>,
    response_ms: Vec<i64>,
    confidences: Vec<f64>,
}

impl Counted {
    fn add(&mut self, other: &Counted) {
        self.conversations += other.conversations;
        self.visitor_messages += other.visitor_messages;
        self.answers += other.answers;
        self.unanswered += other.unanswered;
        self.feedback_up += other.feedback_up;
        self.feedback_down += other.feedback_down;
        self.bot_resolved += other.bot_resolved;
        self.visitors.extend(other.visitors.iter().cloned());
        self.response_ms.extend(&other.response_ms);
        self.confidences.extend(&other.confidences);
    }

    /// The figures the API should give for this, as JSON.
    fn expected(&self) -> Value {
        let mut ms = self.response_ms.clone();
        ms.sort_unstable();
        let rank = |p: usize| (!ms.is_empty()).then(|| ms[(p * ms.len()).div_ceil(100).max(1) - 1]);
        let per = |n: u64, of: u64| (of > 0).then(|| n as f64 / of as f64);
        json!({
            "conversations": self.conversations,
            "messages": self.visitor_messages + self.answers,
            "visitor_messages": self.visitor_messages,
            "answers": self.answers,
            "unique_visitors": self.visitors.len(),
            "tokens_in": 0, "tokens_out": 0, "cost_micro_usd": 0,
            "feedback_up": self.feedback_up,
            "feedback_down": self.feedback_down,
            "unanswered": self.unanswered,
            "handovers": 0,
            "handovers_unanswered": 0,
            "bot_resolved": self.bot_resolved,
            "first_reply_secs_p50": null, "first_reply_secs_p95": null,
            "resolution_secs_p50": null, "resolution_secs_p95": null,
            "response_ms_p50": rank(50),
            "response_ms_p95": rank(95),
            "satisfaction": per(self.feedback_up * 1000, self.answers),
            "unanswered_rate": per(self.unanswered, self.answers),
            "handover_rate": per(0, self.conversations),
            "bot_resolved_rate": per(self.bot_resolved, self.conversations),
            "confidence_mean": (!self.confidences.is_empty())
                .then(|| self.confidences.iter().sum::<f64>() / self.confidences.len() as f64),
        })
    }
}

/// The figures of a period or the totals, without its `period`, with fractions to nine
/// places (serde_json's default parser may miss a float's last digit; the server sums
/// confidences in another order).
fn figures(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("period");
        for value in o.values_mut() {
            if let Some(f) = value.as_f64().filter(|_| value.is_f64()) {
                *value = json!((f * 1e9).round() / 1e9);
            }
        }
    }
    v
}

fn expected(c: &Counted) -> Value {
    figures(&c.expected())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    a_month_of_traffic_adds_up(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    a_month_of_traffic_adds_up(Backend::Postgres).await;
}

async fn a_month_of_traffic_adds_up(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, unlimited_widget).await else {
        eprintln!("skipped: no PostgreSQL (set DOCENT_TEST_DATABASE_URL)");
        return;
    };
    let (owner, space, slug) = published(&app, "owner@example.com", json!({})).await;
    // A month of traffic is more than the free plan's messages.
    let (_, me) = owner.get("/api/auth/me").await;
    let org = me["organization"]["id"]
        .as_str()
        .expect("org")
        .parse()
        .expect("id");
    app.state
        .store
        .set_organization_plan(org, docent_core::Plan::Enterprise)
        .await
        .expect("plan");
    let client = reqwest::Client::new();
    let post = |path: String, body: Value| {
        let request = client.post(format!("{}{path}", app.base)).json(&body);
        async move {
            let response = request.send().await.expect("send");
            let status = response.status();
            let body: Value = response.json().await.expect("json");
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        }
    };

    let today = Utc::now().date_naive();
    let first_day = today - Duration::days(29);
    let mut days: BTreeMap<NaiveDate, Counted> = BTreeMap::new();
    let mut by_conversation: BTreeMap<String, NaiveDate> = BTreeMap::new();
    // 300 conversations over 30 days, 6 to 14 a day, by 110 visitors (most come back).
    let mut n = 0usize;
    for offset in 0..30i64 {
        let day = first_day + Duration::days(offset);
        for _ in 0..(6 + (offset as usize * 7) % 9) {
            n += 1;
            let visitor = format!("visitor-{:05}", (n * 37) % 110);
            let counted = days.entry(day).or_default();
            counted.conversations += 1;
            counted.visitors.insert(visitor.clone());
            let mut conversation: Option<String> = None;
            let mut alone = true;
            for turn in 0..(1 + n % 3) {
                let question = if (n + turn).is_multiple_of(4) {
                    UNANSWERABLE[(n + turn) % 2]
                } else {
                    ANSWERED[(n + turn) % 3]
                };
                let answer = post(
                    format!("/api/widget/{slug}/chat"),
                    json!({"message": question, "visitor_id": visitor, "conversation_id": conversation}),
                )
                .await;
                conversation = Some(answer["conversation_id"].as_str().expect("id").to_owned());
                counted.visitor_messages += 1;
                counted.answers += 1;
                let unanswered = UNANSWERABLE.contains(&question);
                assert_eq!(
                    answer["message"]["answer_kind"] == "dont_know",
                    unanswered,
                    "{question}: {answer}"
                );
                counted.unanswered += u64::from(unanswered);
                alone &= !unanswered;
                let verdict = match (n + turn) % 5 {
                    0 => Some("up"),
                    1 if unanswered || n.is_multiple_of(2) => Some("down"),
                    _ => None,
                };
                if let Some(verdict) = verdict {
                    post(
                        format!("/api/widget/{slug}/feedback"),
                        json!({"visitor_id": visitor, "conversation_id": conversation, "message_id": answer["message"]["id"], "feedback": verdict}),
                    )
                    .await;
                    match verdict {
                        "up" => counted.feedback_up += 1,
                        _ => {
                            counted.feedback_down += 1;
                            alone = false;
                        }
                    }
                }
            }
            counted.bot_resolved += u64::from(alone);
            let conversation = conversation.expect("a conversation");
            let at = day
                .and_hms_opt((n % 24) as u32, (n % 60) as u32, 0)
                .expect("a time")
                .and_utc();
            app.move_conversation(&conversation, at).await;
            by_conversation.insert(conversation, day);
        }
    }
    assert!(n >= 250, "several hundred conversations: {n}");
    // The team's own tries in the Playground are not visitors' traffic.
    let (status, _) = owner
        .post(
            &format!("/api/chat-spaces/{space}/chat"),
            json!({"message": ANSWERED[0]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Answer times and confidences: only the server knows them; read them back.
    for (conversation, day) in &by_conversation {
        let (status, list) = owner
            .get(&format!(
                "/api/conversations/{conversation}/messages?limit=200"
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let counted = days.get_mut(day).expect("day");
        for m in list["data"].as_array().expect("messages") {
            if m["role"] == "assistant" {
                counted
                    .response_ms
                    .push(m["processing_time_ms"].as_i64().expect("ms"));
                let confidence = m["confidence"].as_f64().expect("a confidence");
                assert!((0.0..=1.0).contains(&confidence), "{confidence}");
                if m["answer_kind"] == "dont_know" {
                    assert_eq!(confidence, 0.0, "nothing matched: {m}");
                } else {
                    assert!(confidence >= 0.5, "a passage matched: {m}");
                }
                counted.confidences.push(confidence);
            }
        }
    }

    // By day: every day of the window, each as counted.
    let query = format!("from={first_day}&to={today}");
    let (status, by_day) = owner
        .get(&format!("/api/chat-spaces/{space}/analytics?{query}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{by_day}");
    let series = by_day["series"].as_array().expect("series");
    assert_eq!(series.len(), 30);
    let mut total = Counted::default();
    for (period, (day, counted)) in series.iter().zip(&days) {
        assert_eq!(period["period"], day.to_string());
        assert_eq!(figures(period), expected(counted), "{day}");
        total.add(counted);
    }
    assert_eq!(figures(&by_day["totals"]), expected(&total));
    assert!(
        total.visitors.len() < n && total.conversations as usize == n,
        "visitors came back: {} visitors, {n} conversations",
        total.visitors.len()
    );
    let buckets = by_day["confidence"].as_array().expect("buckets");
    assert_eq!(buckets.len(), 10);
    for (i, bucket) in buckets.iter().enumerate() {
        let counted = total
            .confidences
            .iter()
            .filter(|c| ((**c * 10.0) as usize).min(9) == i)
            .count();
        assert_eq!(bucket["answers"], counted, "bucket {i}");
    }

    // By week (from Monday) and by month: the same conversations, grouped.
    for (granularity, start) in [
        (
            "week",
            (|d: NaiveDate| d - Duration::days(i64::from(d.weekday().num_days_from_monday())))
                as fn(NaiveDate) -> NaiveDate,
        ),
        ("month", |d: NaiveDate| d.with_day(1).expect("first")),
    ] {
        let mut grouped: BTreeMap<NaiveDate, Counted> = BTreeMap::new();
        for (day, counted) in &days {
            grouped.entry(start(*day)).or_default().add(counted);
        }
        let (status, body) = owner
            .get(&format!(
                "/api/chat-spaces/{space}/analytics?{query}&granularity={granularity}"
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let series = body["series"].as_array().expect("series");
        assert_eq!(series.len(), grouped.len(), "{granularity}");
        for (period, (first, counted)) in series.iter().zip(&grouped) {
            assert_eq!(period["period"], first.to_string(), "{granularity}");
            assert_eq!(
                figures(period),
                expected(counted),
                "{granularity} of {first}"
            );
        }
        assert_eq!(figures(&body["totals"]), expected(&total), "{granularity}");
    }

    // A window of some of the days counts only theirs; the organization's is the same as
    // its one chat space's.
    let middle = first_day + Duration::days(10);
    let (_, part) = owner
        .get(&format!(
            "/api/chat-spaces/{space}/analytics?from={middle}&to={middle}"
        ))
        .await;
    assert_eq!(figures(&part["totals"]), expected(&days[&middle]));
    let (status, org) = owner.get(&format!("/api/analytics?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{org}");
    assert_eq!(org["totals"], by_day["totals"]);

    // The CSV of the volume chart: a row a day, the same figures.
    let response = owner
        .request(
            Method::GET,
            &format!("/api/chat-spaces/{space}/analytics/export?{query}&chart=volume"),
        )
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/csv")
    );
    let text = response.text().await.expect("csv");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().expect("header"),
        vec![
            "period",
            "conversations",
            "visitor_messages",
            "unique_visitors"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 30);
    for (row, (day, counted)) in rows.iter().zip(&days) {
        assert_eq!(&row[0], day.to_string());
        assert_eq!(row[1].parse::<u64>().expect("n"), counted.conversations);
        assert_eq!(row[3].parse::<usize>().expect("n"), counted.visitors.len());
    }

    // The pages draw it.
    let (status, page) = owner
        .page(&format!(
            "/app/chat-spaces/{space}/analytics?from={first_day}&to={today}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    for chart in ["volume", "feedback", "speed", "confidence"] {
        assert!(
            page.contains(&format!("data-docent=\"chart-{chart}\"")),
            "{chart}"
        );
    }
    assert!(
        !page.contains("<h3>Handovers</h3>"),
        "no handover charts where none was handed over"
    );
    assert!(page.contains(&format!("<strong class=\"stat-value\">{n}</strong>")));
    let (status, overview) = owner.page("/app/analytics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(overview.contains("data-docent=\"space-row\""));

    // Windows that cannot be: clear refusals.
    for (bad, status_wanted, code_wanted) in [
        (
            format!("from={today}&to={first_day}"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "from=2020-01-01&to=2026-12-01".to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "granularity=hourly".to_owned(),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "from=yesterday".to_owned(),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "chart=pie".to_owned(),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
    ] {
        let (status, body) = owner
            .get(&format!("/api/chat-spaces/{space}/analytics/export?{bad}"))
            .await;
        assert_eq!(
            (status, code(&body)),
            (status_wanted, code_wanted),
            "{bad}: {body}"
        );
    }
    let (status, page) = owner
        .page(&format!(
            "/app/chat-spaces/{space}/analytics?from={today}&to={first_day}"
        ))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
}
