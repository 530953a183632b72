//! Lead capture: the form's settings are checked; a visitor's details are checked against
//! the form on the server (formats, required fields, consent, unknown fields); one lead a
//! visitor, updated when given again; linked to the visitor's own conversation only; listed,
//! searched and exported as CSV (formulas defused); sent to `lead.captured` webhooks; and
//! erased with the visitor, together with what webhooks were sent about them (found by their
//! email, also their conversations and webhooks that carry only their id).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Session, TestApp, code};
use crate::on_both_backends;
use crate::widget::published;

on_both_backends!(settings = crate::common::unlimited_widget; visitors_leave_their_details);
on_both_backends!(settings = crate::common::unlimited_widget; erasing_by_email_takes_the_ids_it_is_known_by);

const VISITOR: &str = "visitor-leads-0001";

async fn lead(app: &TestApp, slug: &str, body: Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/widget/{slug}/lead", app.base))
        .json(&body)
        .send()
        .await
        .expect("lead");
    let status = response.status();
    (status, response.json().await.expect("json"))
}

fn fields_of(error: &Value) -> Vec<String> {
    error["error"]["fields"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|e| e["field"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn turn_on(owner: &Session, space: &str) {
    // A form that makes no sense is refused.
    let (status, refused) = owner
        .patch(
            &format!("/api/chat-spaces/{space}"),
            json!({"widget_config": {"lead_form": {"enabled": true, "fields": [
                {"key": "Size", "label": "Size", "kind": "select"},
                {"key": "email", "label": "", "kind": "email", "options": ["x"]}
            ]}}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let fields = fields_of(&refused);
    for f in [
        "widget_config.lead_form.fields[0].key",
        "widget_config.lead_form.fields[0].options",
        "widget_config.lead_form.fields[1].label",
        "widget_config.lead_form.fields[1].options",
    ] {
        assert!(fields.contains(&f.to_owned()), "{f} in {fields:?}");
    }
    let (status, body) = owner
        .patch(&format!("/api/chat-spaces/{space}"),
            json!({"widget_config": {"lead_form": {
                "enabled": true,
                "ask": ["no_answer", "after_messages"],
                "consent": "You may contact me about my question.",
                "fields": [
                    {"key": "name", "label": "Name", "kind": "text", "required": true},
                    {"key": "email", "label": "Email", "kind": "email", "required": true},
                    {"key": "phone", "label": "Phone", "kind": "phone"},
                    {"key": "company", "label": "Company", "kind": "text"},
                    {"key": "team_size", "label": "Team size", "kind": "select", "options": ["1-10", "11-50"]}
                ]
            }}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn visitors_leave_their_details(app: TestApp) {
    let (owner, space, slug) = published(&app, "leads@example.com", json!({})).await;
    // Off until turned on.
    let (status, off) = lead(
        &app,
        &slug,
        json!({"visitor_id": VISITOR, "fields": {"name": "Ana"}}),
    )
    .await;
    assert_eq!(
        (status, code(&off)),
        (StatusCode::CONFLICT, "lead_form_off")
    );
    turn_on(&owner, &space).await;
    let config = reqwest::get(format!("{}/api/widget/{slug}/config", app.base))
        .await
        .expect("config")
        .json::<Value>()
        .await
        .expect("json");
    assert_eq!(config["widget"]["lead_form"]["enabled"], true, "{config}");
    assert_eq!(config["outside_hours"], false);

    // A webhook that hears leads (its address is public by number; nothing is sent here).
    let (status, hook) = owner
        .post(
            "/api/webhooks",
            json!({"url": "https://93.184.215.14/crm", "events": ["lead.captured"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let hook = hook["id"].as_str().expect("webhook").to_owned();

    // The visitor's conversation, which the lead will point to.
    let conversation = ask(
        &app,
        &slug,
        json!({"message": "How long do refunds take?", "visitor_id": VISITOR}),
    )
    .await;

    // Checked on the server, whatever the widget checked.
    let (status, refused) = lead(
        &app,
        &slug,
        json!({"visitor_id": VISITOR, "fields": {
            "email": "ana@nowhere", "phone": "call me", "team_size": "500+", "age": "40"
        }}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let fields = fields_of(&refused);
    for f in [
        "fields.name",
        "fields.email",
        "fields.phone",
        "fields.team_size",
        "fields.age",
        "consent",
    ] {
        assert!(fields.contains(&f.to_owned()), "{f} in {fields:?}");
    }
    let (status, long) = lead(
        &app,
        &slug,
        json!({"visitor_id": VISITOR, "consent": true, "fields": {
            "name": "a".repeat(501), "email": "ana@example.com"
        }}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{long}");
    // Someone else's conversation is not theirs to attach to.
    let (status, _) = lead(
        &app,
        &slug,
        json!({"visitor_id": "visitor-leads-other", "conversation_id": conversation, "consent": true,
               "fields": {"name": "Eve", "email": "eve@example.com"}}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let details = json!({"visitor_id": VISITOR, "conversation_id": conversation, "consent": true,
        "page_url": "https://shop.example.com/pricing",
        "fields": {"name": " Ana Lima ", "email": "Ana@Example.com", "phone": "+1 (555) 010-0199",
                   "company": "=HYPERLINK(\"http://evil\")", "team_size": "11-50"}});
    let (status, saved) = lead(&app, &slug, details.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    assert_eq!(saved["created"], true);
    // Given again: the same lead, updated.
    let mut again = details.clone();
    again["fields"]["phone"] = json!("0612 34 56 78");
    let (status, updated) = lead(&app, &slug, again).await;
    assert_eq!(
        (status, updated["created"].clone()),
        (StatusCode::OK, json!(false)),
        "{updated}"
    );
    assert_eq!(updated["lead_id"], saved["lead_id"]);

    let (status, list) = owner.get(&format!("/api/chat-spaces/{space}/leads")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let leads = list["data"].as_array().expect("data");
    assert_eq!(leads.len(), 1, "{list}");
    let l = &leads[0];
    assert_eq!(
        (l["name"].as_str(), l["email"].as_str(), l["phone"].as_str()),
        (
            Some("Ana Lima"),
            Some("ana@example.com"),
            Some("0612 34 56 78")
        )
    );
    assert_eq!(l["fields"], json!({"team_size": "11-50"}));
    assert_eq!(l["conversation_id"], conversation.as_str());
    assert_eq!(l["consent_text"], "You may contact me about my question.");
    // The conversation now says who the visitor is.
    let (_, c) = owner
        .get(&format!("/api/conversations/{conversation}"))
        .await;
    assert_eq!(c["end_user_email"], "ana@example.com", "{c}");
    for (q, found) in [
        ("ANA", 1),
        ("0612", 1),
        ("hyperlink", 1),
        ("bob", 0),
        ("%", 0),
    ] {
        let (_, hits) = owner
            .get(&format!("/api/chat-spaces/{space}/leads?q={q}"))
            .await;
        assert_eq!(
            hits["data"].as_array().map(Vec::len),
            Some(found),
            "q={q}: {hits}"
        );
    }
    let csv = owner
        .request(
            Method::GET,
            &format!("/api/chat-spaces/{space}/leads/export"),
        )
        .send()
        .await
        .expect("export");
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/csv"))
    );
    let csv = csv.text().await.expect("csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "created_at,name,email,phone,company,consent,verified,page_url,visitor_id,conversation_id,team_size"
        )
    );
    let row = lines.next().expect("a row");
    assert!(
        row.contains(",Ana Lima,ana@example.com,0612 34 56 78,"),
        "{row}"
    );
    assert!(
        row.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
        "a formula is defused: {row}"
    );
    assert!(row.ends_with(",11-50"), "{row}");

    // Sent to the webhook that hears leads, twice (captured, then updated).
    let (_, log) = owner.get(&format!("/api/webhooks/{hook}/deliveries")).await;
    let sent = log["data"].as_array().expect("deliveries");
    assert_eq!(sent.len(), 2, "{log}");
    let body: Value = serde_json::from_str(sent[1]["body"].as_str().expect("body")).expect("json");
    assert_eq!(body["type"], "lead.captured");
    assert_eq!(body["data"]["email"], "ana@example.com");
    assert_eq!(body["data"]["visitor_id"], VISITOR);
    assert_eq!(body["data"]["updated"], false);
    assert!(body["data"].get("org_id").is_none());

    // The page lists it and links the conversation.
    let (status, page) = owner
        .page(&format!("/app/chat-spaces/{space}/leads?q=lima"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("ana@example.com")
            && page.contains(&format!("/app/conversations/{conversation}"))
    );

    // Erased with the visitor: the lead, and what was sent about them.
    let (status, erased) = owner
        .call(
            Method::DELETE,
            &format!("/api/chat-spaces/{space}/visitors/{VISITOR}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{erased}");
    let (_, list) = owner.get(&format!("/api/chat-spaces/{space}/leads")).await;
    assert_eq!(list["data"], json!([]));
    for needle in [VISITOR, "ana@example.com", "Ana Lima"] {
        assert_eq!(
            app.tables_mentioning(needle).await,
            Vec::<String>::new(),
            "{needle} is gone everywhere"
        );
    }
}

/// The Settings tab saves the lead form (built-in fields, custom lines, consent) and the
/// answer mode, and shows what it read back; a bad custom line is named beside its field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_form_saves_the_lead_form_and_who_answers() {
    let app = TestApp::spawn(crate::common::Backend::Sqlite)
        .await
        .expect("app");
    let (owner, space, slug) = published(&app, "form@example.com", json!({})).await;
    let slug: &str = &slug;
    let form = move |custom: &'static str| {
        let mut fields = crate::common::settings_fields(slug);
        fields.extend([
            ("ai_config.handover.after_dont_know", "2"),
            ("ai_config.handover.after_thumbs_down", "2"),
            ("ai_config.handover.max_per_agent", "5"),
            ("ai_config.handover.email_after_minutes", "5"),
            ("answer_mode", "rag"),
            ("webhook_url", ""),
            ("ai_config.fallback_reply", "Back soon."),
            ("lead.enabled", "on"),
            ("lead.ask.after_messages", "on"),
            ("lead.ask.outside_hours", "on"),
            ("widget_config.lead_form.after_messages", "2"),
            ("widget_config.lead_form.title", "Stay in touch"),
            ("lead.name", "required"),
            ("lead.email", "optional"),
            ("lead.phone", "required"),
            ("lead.company", "off"),
            ("lead.custom", custom),
            ("widget_config.lead_form.consent", "You may call me."),
        ]);
        fields
    };
    let path = format!("/app/chat-spaces/{space}");
    let (status, page) = owner.form(&path, &form("Email: x *\nOrder number")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(
        page.contains("give each custom field a label of its own"),
        "{page}"
    );
    let (status, _) = owner
        .form(&path, &form("Order number\nTeam size: 1-10, 11-50 *"))
        .await;
    assert!(
        status.is_redirection() || status == StatusCode::OK,
        "{status}"
    );
    let (_, saved) = owner.get(&format!("/api/chat-spaces/{space}")).await;
    let lead = &saved["widget_config"]["lead_form"];
    assert_eq!(lead["enabled"], true);
    assert_eq!(lead["ask"], json!(["after_messages", "outside_hours"]));
    assert_eq!(lead["after_messages"], 2);
    assert_eq!(lead["consent"], "You may call me.");
    let fields: Vec<(String, String, bool)> = lead["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| {
            (
                f["key"].as_str().unwrap_or("").to_owned(),
                f["kind"].as_str().unwrap_or("").to_owned(),
                f["required"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            ("name".into(), "text".into(), true),
            ("email".into(), "email".into(), false),
            ("phone".into(), "phone".into(), true),
            ("order_number".into(), "text".into(), false),
            ("team_size".into(), "select".into(), true),
        ]
    );
    assert_eq!(lead["fields"][4]["options"], json!(["1-10", "11-50"]));
    assert_eq!(saved["ai_config"]["fallback_reply"], "Back soon.");
    // Read back into the form as it was written.
    let (_, page) = owner.page(&path).await;
    assert!(
        page.contains("Team size: 1-10, 11-50 *"),
        "the custom lines come back"
    );
}

async fn ask(app: &TestApp, slug: &str, body: Value) -> String {
    let asked: Value = reqwest::Client::new()
        .post(format!("{}/api/widget/{slug}/chat", app.base))
        .json(&body)
        .send()
        .await
        .expect("ask")
        .json()
        .await
        .expect("json");
    asked["conversation_id"]
        .as_str()
        .expect("conversation")
        .to_owned()
}

/// An owner erasing a visitor by the email they gave erases what carries only the visitor's
/// id too: a conversation from before the lead, and the webhooks sent about its messages;
/// an export by the email holds both conversations. Another visitor's conversation stays.
async fn erasing_by_email_takes_the_ids_it_is_known_by(app: TestApp) {
    let (owner, space, slug) = published(&app, "erase@example.com", json!({})).await;
    turn_on(&owner, &space).await;
    let (status, hook) = owner
        .post("/api/webhooks",
            json!({"url": "https://93.184.215.14/crm", "events": ["message.created", "lead.captured"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    const OTHER: &str = "visitor-leads-other";
    let before = ask(
        &app,
        &slug,
        json!({"message": "Do you ship abroad?", "visitor_id": VISITOR}),
    )
    .await;
    let with_lead = ask(
        &app,
        &slug,
        json!({"message": "How long do refunds take?", "visitor_id": VISITOR}),
    )
    .await;
    let other = ask(
        &app,
        &slug,
        json!({"message": "Do you ship abroad?", "visitor_id": OTHER}),
    )
    .await;
    assert_ne!(before, with_lead, "two conversations of one visitor");
    let (status, saved) = lead(
        &app,
        &slug,
        json!({"visitor_id": VISITOR, "conversation_id": with_lead, "consent": true,
               "fields": {"name": "Bo Berg", "email": "Bo@Example.com"}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    assert!(!app.tables_mentioning(VISITOR).await.is_empty());

    // Exported by the email: both of the visitor's conversations, not the other's.
    let (status, export) = owner
        .page(&format!(
            "/api/chat-spaces/{space}/visitors/bo@example.com/export?format=jsonl"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{export}");
    let mut ids: Vec<String> = export
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json line")["id"].to_string())
        .collect();
    ids.sort();
    let mut mine = vec![format!("{before:?}"), format!("{with_lead:?}")];
    mine.sort();
    assert_eq!(ids, mine, "{export}");

    let (status, erased) = owner
        .call(
            Method::DELETE,
            &format!("/api/chat-spaces/{space}/visitors/bo@example.com"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{erased}");
    assert_eq!(erased["conversations"], 2, "{erased}");
    for needle in [VISITOR, "bo@example.com", "Bo Berg"] {
        assert_eq!(
            app.tables_mentioning(needle).await,
            Vec::<String>::new(),
            "{needle} is gone everywhere"
        );
    }
    let (status, kept) = owner.get(&format!("/api/conversations/{other}")).await;
    assert_eq!(status, StatusCode::OK, "{kept}");
}
