//! The Analytics tab of a chat space and the organization's overview: figures as cards,
//! their series as charts drawn on the server, each with its table and its CSV.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono::NaiveDate;
use docent_core::*;
use serde::Deserialize;

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{ApiForm, ApiQuery, IdPath};
use crate::http::chart::{Chart, Series, Style};
use crate::http::form::{choice, day};
use crate::http::pages::{PageCtx, PageError, Shell, redirect_with};
use docent_app::chat_spaces;
use docent_app::insights::analytics::{self, Analytics, Figures, Granularity, Window};
use docent_app::insights::gaps::{self, AnswerGap, Gap, GapStatus};
use docent_app::insights::questions::{self, TopQuestion};

/// The window form as a browser sends it: a field left empty comes as an empty string.
#[derive(Debug, Default, Deserialize)]
pub struct WindowForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    granularity: String,
}

impl WindowForm {
    fn window(&self) -> Result<Window, docent_app::AppError> {
        Window::new(
            day("from", &self.from)?,
            day("to", &self.to)?,
            choice("granularity", &self.granularity, Granularity::parse)?.unwrap_or_default(),
        )
    }
}

/// A figure as a card shows it.
#[derive(Debug)]
struct Card {
    label: &'static str,
    value: String,
    detail: String,
}

fn cards(f: &Figures) -> Vec<Card> {
    let percent = |r: Option<f64>| r.map_or("—".into(), |r| format!("{:.1}%", r * 100.0));
    let ms = |v: Option<i64>| v.map_or("—".into(), |v| format!("{v} ms"));
    vec![
        Card {
            label: "Conversations",
            value: f.conversations.to_string(),
            detail: format!("{} visitors", f.unique_visitors),
        },
        Card {
            label: "Questions",
            value: f.visitor_messages.to_string(),
            detail: format!("{} answers", f.answers),
        },
        Card {
            label: "Satisfaction",
            value: f.satisfaction.map_or("—".into(), |s| format!("{s:.0}")),
            detail: format!(
                "helpful per 1,000 answers · {} up, {} down",
                f.feedback_up, f.feedback_down
            ),
        },
        Card {
            label: "Unanswered",
            value: percent(f.unanswered_rate),
            detail: format!("{} answers were the don't-know reply", f.unanswered),
        },
        Card {
            label: "Bot alone",
            value: percent(f.bot_resolved_rate),
            detail: format!(
                "{} conversations with no person, no don't-know, no thumbs down",
                f.bot_resolved
            ),
        },
        Card {
            label: "Handed over",
            value: percent(f.handover_rate),
            detail: format!(
                "{} conversations · {} no person answered",
                f.handovers, f.handovers_unanswered
            ),
        },
        Card {
            label: "First reply by a person",
            value: span(f.first_reply_secs_p50),
            detail: format!(
                "median · 95% within {} · resolved in {} (median)",
                span(f.first_reply_secs_p95),
                span(f.resolution_secs_p50)
            ),
        },
        Card {
            label: "Answer time",
            value: ms(f.response_ms_p50),
            detail: format!("median · 95% within {}", ms(f.response_ms_p95)),
        },
        Card {
            label: "Tokens",
            value: (f.tokens_in + f.tokens_out).to_string(),
            detail: format!(
                "{} in, {} out · ${:.2}",
                f.tokens_in,
                f.tokens_out,
                f.cost_micro_usd as f64 / 1e6
            ),
        },
    ]
}

/// A number of seconds as a person reads it: "45 s", "12 min", "3.5 h", "2.0 days".
fn span(secs: Option<i64>) -> String {
    match secs {
        None => "—".into(),
        Some(s) if s < 60 => format!("{s} s"),
        Some(s) if s < 3600 => format!("{} min", (s as f64 / 60.0).round()),
        Some(s) if s < 86_400 => format!("{:.1} h", s as f64 / 3600.0),
        Some(s) => format!("{:.1} days", s as f64 / 86_400.0),
    }
}

/// A period's first day as its label says it.
fn label(granularity: Granularity, period: NaiveDate) -> String {
    match granularity {
        Granularity::Day => period.format("%b %-d").to_string(),
        Granularity::Week => format!("wk {}", period.format("%b %-d")),
        Granularity::Month => period.format("%b %Y").to_string(),
    }
}

/// The query string of a window, for links to its CSV.
fn window_query(a: &Analytics) -> String {
    format!(
        "from={}&to={}&granularity={}",
        a.from,
        a.to,
        a.granularity.as_str()
    )
}

/// The charts of a window; `csv` is where a chart's CSV is (`None` on the overview).
fn charts(a: &Analytics, csv: Option<&str>) -> Vec<Chart> {
    let labels: Vec<String> = a
        .series
        .iter()
        .map(|p| label(a.granularity, p.period))
        .collect();
    let series = |name, class, value: fn(&Figures) -> Option<f64>| Series {
        name,
        class,
        values: a.series.iter().map(|p| value(&p.figures)).collect(),
    };
    let href = |chart: analytics::Chart| {
        csv.map(|base| format!("{base}?{}&chart={}", window_query(a), chart.as_str()))
            .unwrap_or_default()
    };
    let per = a.granularity.as_str();
    let mut out = vec![Chart {
        id: "volume",
        title: "Conversations",
        description: format!(
            "Conversations started and visitors, by {per}, from {} to {}: {} conversations in all.",
            a.from, a.to, a.totals.conversations
        ),
        labels: labels.clone(),
        series: vec![
            series("conversations", "chart-1", |f| Some(f.conversations as f64)),
            series("visitors", "chart-2", |f| Some(f.unique_visitors as f64)),
        ],
        style: Style::Bars,
        unit: "",
        csv_href: href(analytics::Chart::Volume),
    }];
    if csv.is_none() {
        return out;
    }
    out.extend([
        Chart {
            id: "feedback",
            title: "Feedback and unanswered",
            description: format!(
                "Answers rated helpful and not helpful, and answers that were the don't-know reply, by {per}: {} up, {} down, {} unanswered.",
                a.totals.feedback_up, a.totals.feedback_down, a.totals.unanswered
            ),
            labels: labels.clone(),
            series: vec![
                series("helpful", "chart-2", |f| Some(f.feedback_up as f64)),
                series("not helpful", "chart-3", |f| Some(f.feedback_down as f64)),
                series("unanswered", "chart-4", |f| Some(f.unanswered as f64)),
            ],
            style: Style::Bars,
            unit: "",
            csv_href: href(analytics::Chart::Feedback),
        },
        Chart {
            id: "speed",
            title: "Answer time",
            description: format!(
                "How long answers took, median and 95th percentile, by {per}, in milliseconds."
            ),
            labels: labels.clone(),
            series: vec![
                series("median", "chart-1", |f| f.response_ms_p50.map(|v| v as f64)),
                series("95th percentile", "chart-3", |f| {
                    f.response_ms_p95.map(|v| v as f64)
                }),
            ],
            style: Style::Lines,
            unit: " ms",
            csv_href: href(analytics::Chart::Speed),
        },
        Chart {
            id: "confidence",
            title: "Answer confidence",
            description: format!(
                "How many answers had each confidence, from 0 (nothing in the knowledge matched) to 1 (a passage held every topic word of the question); {} answers.",
                a.totals.answers
            ),
            labels: a
                .confidence
                .iter()
                .map(|b| format!("{:.1}–{:.1}", b.from, b.to))
                .collect(),
            series: vec![Series {
                name: "answers",
                class: "chart-1",
                values: a.confidence.iter().map(|b| Some(b.answers as f64)).collect(),
            }],
            style: Style::Bars,
            unit: "",
            csv_href: href(analytics::Chart::Confidence),
        },
    ]);
    // A chat space that never handed over is not shown two empty charts of it.
    if a.totals.handovers > 0 {
        let confidence = out.pop();
        out.extend([
            Chart {
                id: "handovers",
                title: "Handovers",
                description: format!(
                    "Conversations handed to a person, and handovers no person replied to, by {per}: {} handed over, {} unanswered, {} seen through by the bot alone.",
                    a.totals.handovers, a.totals.handovers_unanswered, a.totals.bot_resolved
                ),
                labels: labels.clone(),
                series: vec![
                    series("handed over", "chart-1", |f| Some(f.handovers as f64)),
                    series("no person replied", "chart-3", |f| {
                        Some(f.handovers_unanswered as f64)
                    }),
                ],
                style: Style::Bars,
                unit: "",
                csv_href: href(analytics::Chart::Handover),
            },
            Chart {
                id: "handover-time",
                title: "Time with a person",
                description: format!(
                    "Median seconds from a handover's request to a person's first reply, and to its end (released or closed), by {per}."
                ),
                labels: labels.clone(),
                series: vec![
                    series("first reply", "chart-2", |f| {
                        f.first_reply_secs_p50.map(|v| v as f64)
                    }),
                    series("resolved", "chart-4", |f| {
                        f.resolution_secs_p50.map(|v| v as f64)
                    }),
                ],
                style: Style::Lines,
                unit: " s",
                csv_href: href(analytics::Chart::Handover),
            },
        ]);
        out.extend(confidence);
    }
    out
}

/// What the window form shows as chosen.
#[derive(Debug)]
struct Chosen {
    from: String,
    to: String,
    granularity: &'static str,
}

impl Chosen {
    fn of(a: &Analytics) -> Chosen {
        Chosen {
            from: a.from.to_string(),
            to: a.to.to_string(),
            granularity: a.granularity.as_str(),
        }
    }
}

#[derive(Template)]
#[template(path = "insights/analytics.html")]
struct AnalyticsPage {
    shell: Shell,
    title: String,
    space: ChatSpace,
    setup: chat_spaces::Setup,
    chosen: Chosen,
    /// Where the window form goes.
    action: String,
    cards: Vec<Card>,
    charts: Vec<Chart>,
    full_csv: String,
    top: Vec<TopQuestion>,
    gaps: Vec<Gap>,
}

impl AnalyticsPage {
    fn open_gaps(&self) -> impl Iterator<Item = &Gap> {
        self.gaps.iter().filter(|g| g.status == GapStatus::Open)
    }

    fn resolved_gaps(&self) -> impl Iterator<Item = &Gap> {
        self.gaps.iter().filter(|g| g.status == GapStatus::Resolved)
    }

    /// Why a gap's questions went unanswered, in words.
    fn reasons(gap: &Gap) -> String {
        let r = &gap.reasons;
        [
            (r.no_answer, "no answer"),
            (r.low_score, "weak answer"),
            (r.thumbs_down, "rated not helpful"),
            (r.handover, "went to a person"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect::<Vec<_>>()
        .join(" · ")
    }

    fn when(at: &chrono::DateTime<chrono::Utc>) -> String {
        at.format("%Y-%m-%d %H:%M UTC").to_string()
    }
}

pub async fn chat_space(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiQuery(form): ApiQuery<WindowForm>,
) -> Result<Response, PageError> {
    let space = chat_spaces::get(&state, &caller, id).await?;
    let window = form.window()?;
    let a = analytics::of_chat_space(&state, &caller, space.id, window).await?;
    let csv = format!("/api/chat-spaces/{}/analytics/export", space.id);
    let setup = chat_spaces::setup(&state, &caller, &space).await?;
    let top = questions::top(&state, &caller, space.id, window, 10).await?;
    let gaps = gaps::list(&state, &caller, space.id, None).await?;
    let page = AnalyticsPage {
        top,
        gaps,
        shell: ctx.shell_in("spaces"),
        title: format!("Analytics · {}", space.name),
        action: format!("/app/chat-spaces/{}/analytics", space.id),
        full_csv: format!("{csv}?{}", window_query(&a)),
        cards: cards(&a.totals),
        charts: charts(&a, Some(&csv)),
        chosen: Chosen::of(&a),
        space,
        setup,
    };
    Ok(ctx.render(&page))
}

/// A chat space on the overview, with its window's figures.
#[derive(Debug)]
struct SpaceRow {
    space: ChatSpace,
    figures: Figures,
}

impl SpaceRow {
    fn percent(rate: &Option<f64>) -> String {
        rate.map_or("—".into(), |r| format!("{:.1}%", r * 100.0))
    }

    fn satisfaction(&self) -> String {
        self.figures
            .satisfaction
            .map_or("—".into(), |s| format!("{s:.0}"))
    }
}

#[derive(Template)]
#[template(path = "insights/overview.html")]
struct OverviewPage {
    shell: Shell,
    title: &'static str,
    chosen: Chosen,
    action: String,
    cards: Vec<Card>,
    charts: Vec<Chart>,
    rows: Vec<SpaceRow>,
}

pub async fn organization(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    ApiQuery(form): ApiQuery<WindowForm>,
) -> Result<Response, PageError> {
    let window = form.window()?;
    let a = analytics::of_organization(&state, &caller, window).await?;
    let spaces =
        chat_spaces::list(&state, &caller, Page::first(Page::<ChatSpaceId>::MAX_LIMIT)).await?;
    let mut rows = Vec::with_capacity(spaces.len());
    for space in spaces {
        let figures = analytics::of_chat_space(&state, &caller, space.id, window)
            .await?
            .totals;
        rows.push(SpaceRow { space, figures });
    }
    let page = OverviewPage {
        shell: ctx.shell_in("analytics"),
        title: "Analytics",
        action: "/app/analytics".into(),
        cards: cards(&a.totals),
        charts: charts(&a, None),
        chosen: Chosen::of(&a),
        rows,
    };
    Ok(ctx.render(&page))
}

/// The "Answer this" form of a gap.
#[derive(Debug, Default, Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    answer: String,
    #[serde(default)]
    citable: Option<String>,
}

pub async fn answer_gap(
    State(state): State<AppState>,
    caller: Caller,
    IdPath((id, gap)): IdPath<(ChatSpaceId, QuestionGroupId)>,
    ApiForm(form): ApiForm<AnswerForm>,
) -> Result<Response, PageError> {
    let input = AnswerGap {
        answer: form.answer,
        citable: form.citable.is_some(),
    };
    gaps::answer(&state, &caller, id, gap, input).await?;
    Ok(redirect_with(
        &format!("/app/chat-spaces/{id}/analytics#gaps"),
        "gap_answered",
    ))
}
