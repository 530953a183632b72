//! The conversation archive: one conversation, the list and transcript pages, and the
//! export as CSV (read back with the `csv` crate, an independent parser) and JSON Lines,
//! with the awkward text visitors write.

use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::answers::shop;
use crate::common::{Session, TestApp, code};

/// Asks `question` in the chat space, in `conversation` when given; the answer's message.
async fn ask(owner: &Session, space: &str, question: &str, conversation: Option<&str>) -> Value {
    let (status, answer) = owner
        .post(
            &format!("/api/chat-spaces/{space}/chat"),
            json!({"message": question, "conversation_id": conversation}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

/// The body of an export, with its content type and disposition.
async fn export(owner: &Session, space: &str, query: &str) -> (StatusCode, String, String, String) {
    let response = owner
        .request(
            Method::GET,
            &format!("/api/chat-spaces/{space}/conversations/export{query}"),
        )
        .send()
        .await
        .expect("export");
    let status = response.status();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (kind, disposition) = (header("content-type"), header("content-disposition"));
    (
        status,
        kind,
        disposition,
        response.text().await.expect("body"),
    )
}

crate::on_both_backends!(conversations_are_listed_read_and_exported);

async fn conversations_are_listed_read_and_exported(app: TestApp) {
    let (owner, space) = shop(&app, "openai/gpt-4o-mini").await;
    let (_, empty) = owner
        .page(&format!("/app/chat-spaces/{space}/conversations"))
        .await;
    assert!(
        empty.contains("data-docent=\"no-conversations\""),
        "{empty}"
    );

    let formula = "=HYPERLINK(\"http://evil.example\",\"refunds\")";
    let awkward = "Refunds, \"quickly\"?\nAnd returns — in five days?";
    let first = ask(
        &owner,
        &space,
        "How long until refunds reach my card?",
        None,
    )
    .await;
    let conversation = first["conversation_id"]
        .as_str()
        .expect("conversation")
        .to_owned();
    ask(&owner, &space, awkward, Some(&conversation)).await;
    ask(&owner, &space, formula, None).await;

    // One conversation, by id; another's id (or none) is a 404.
    let (status, found) = owner
        .get(&format!("/api/conversations/{conversation}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["id"], conversation.as_str());
    assert_eq!(found["message_count"], 4);
    let (status, body) = owner
        .get(&format!("/api/conversations/{}", uuid::Uuid::now_v7()))
        .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));

    // The pages: the list with each first question, the transcript with the cited answer.
    let (status, list) = owner
        .page(&format!("/app/chat-spaces/{space}/conversations"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.matches("data-docent=\"conversation-row\"").count(), 2);
    assert!(
        list.contains("How long until refunds reach my card?"),
        "{list}"
    );
    assert!(list.contains(&format!("/app/conversations/{conversation}")));
    let (status, transcript) = owner
        .page(&format!("/app/conversations/{conversation}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(transcript.matches("data-docent=\"message\"").count(), 4);
    assert!(
        transcript.contains("Refunds reach your card in five days."),
        "{transcript}"
    );
    assert!(transcript.contains("quoted from the knowledge"));

    // CSV: a header and a row a message, read back by an independent parser.
    let (status, kind, disposition, body) = export(&owner, &space, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(kind.starts_with("text/csv"), "{kind}");
    assert!(
        disposition.starts_with("attachment; filename=\"") && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name).expect(name);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("record")).collect();
    assert_eq!(rows.len(), 6, "two conversations of 4 and 2 messages");
    let contents: Vec<&str> = rows.iter().map(|r| &r[column("content")]).collect();
    assert!(
        contents.contains(&awkward),
        "commas, quotes and line breaks survive: {contents:?}"
    );
    assert!(
        contents.contains(&format!("'{formula}").as_str()),
        "a formula is defused: {contents:?}"
    );
    assert!(
        rows.iter()
            .any(|r| &r[column("answer_kind")] == "extractive"
                && r[column("citations")].contains("returns"))
    );
    assert!(
        rows.iter().all(|r| &r[column("channel")] == "playground"),
        "asked by a signed-in owner"
    );

    // JSON Lines: an object a conversation with its messages, newest first.
    let (status, kind, _, body) = export(&owner, &space, "?format=jsonl").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind, "application/x-ndjson");
    let lines: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["id"], conversation.as_str());
    let messages = lines[1]["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[2]["content"], awkward);
    assert_eq!(messages[1]["citations"][0]["title"], "returns");

    // Days: today holds both; tomorrow on, or up to yesterday, none.
    let today = Utc::now().date_naive();
    let (_, _, _, body) = export(
        &owner,
        &space,
        &format!("?format=jsonl&from={today}&to={today}"),
    )
    .await;
    assert_eq!(body.lines().count(), 2);
    let tomorrow = today + Duration::days(1);
    let (_, _, _, body) = export(&owner, &space, &format!("?format=jsonl&from={tomorrow}")).await;
    assert_eq!(body, "");
    let yesterday = today - Duration::days(1);
    let (_, _, _, body) = export(&owner, &space, &format!("?to={yesterday}")).await;
    assert_eq!(body.lines().count(), 1, "the header alone: {body}");

    // Bad input is a clear 4xx.
    for query in [
        format!("?from={tomorrow}&to={today}"),
        "?format=xlsx".to_owned(),
        "?from=yesterday".to_owned(),
        "?limit=3".to_owned(),
    ] {
        let (status, _, _, body) = export(&owner, &space, &query).await;
        assert!(status.is_client_error(), "{query}: {status} {body}");
        let body: Value = serde_json::from_str(&body).expect("a JSON error");
        assert!(!code(&body).is_empty(), "{query}: {body}");
    }
}

crate::on_both_backends!(the_tab_exports_what_its_form_sends);

/// The Download button sends every field, the days empty when left so.
async fn the_tab_exports_what_its_form_sends(app: TestApp) {
    let (owner, space) = shop(&app, "openai/gpt-4o-mini").await;
    ask(
        &owner,
        &space,
        "How long until refunds reach my card?",
        None,
    )
    .await;
    let (_, tab) = owner
        .page(&format!("/app/chat-spaces/{space}/conversations"))
        .await;
    let action = format!("/app/chat-spaces/{space}/conversations/export");
    assert!(tab.contains(&format!("action=\"{action}\"")), "{tab}");
    let response = owner
        .request(Method::GET, &format!("{action}?from=&to=&format=jsonl"))
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("body").lines().count(), 1);
    let today = Utc::now().date_naive();
    let response = owner
        .request(
            Method::GET,
            &format!("{action}?from={today}&to=&format=csv"),
        )
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("body").lines().count(), 3);
    let (status, _) = owner
        .page(&format!("{action}?from=soon&to=&format=csv"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

crate::on_both_backends!(conversations_are_filtered_in_the_api_and_the_tab);

async fn conversations_are_filtered_in_the_api_and_the_tab(app: TestApp) {
    let (owner, space) = shop(&app, "openai/gpt-4o-mini").await;
    let rated = ask(
        &owner,
        &space,
        "How long until refunds reach my card?",
        None,
    )
    .await;
    let closed = ask(&owner, &space, "Are returns accepted?", None).await;
    let id = |answer: &Value, field: &str| -> uuid::Uuid {
        answer[field].as_str().expect(field).parse().expect("uuid")
    };
    let (rated_id, closed_id) = (
        id(&rated, "conversation_id"),
        id(&closed, "conversation_id"),
    );
    let (_, conversation) = owner.get(&format!("/api/conversations/{rated_id}")).await;
    let org = docent_core::OrgId(
        conversation["org_id"]
            .as_str()
            .expect("org_id")
            .parse()
            .expect("uuid"),
    );
    app.state
        .store
        .set_feedback(
            org,
            docent_core::ConversationId(rated_id),
            docent_core::MessageId(
                rated["message"]["id"]
                    .as_str()
                    .expect("id")
                    .parse()
                    .expect("uuid"),
            ),
            Some(docent_core::Feedback::Down),
        )
        .await
        .expect("feedback")
        .expect("an answer");
    assert!(
        app.state
            .store
            .close_conversation(org, docent_core::ConversationId(closed_id), Utc::now())
            .await
            .expect("close")
    );

    let listed = |query: &'static str| {
        let owner = &owner;
        let space = &space;
        async move {
            let (status, body) = owner
                .get(&format!("/api/chat-spaces/{space}/conversations{query}"))
                .await;
            assert_eq!(status, StatusCode::OK, "{query}: {body}");
            body["data"]
                .as_array()
                .expect("data")
                .iter()
                .map(|c| {
                    c["id"]
                        .as_str()
                        .expect("id")
                        .parse::<uuid::Uuid>()
                        .expect("uuid")
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed("").await, vec![closed_id, rated_id]);
    assert_eq!(listed("?feedback=down").await, vec![rated_id]);
    assert!(listed("?feedback=up").await.is_empty());
    assert_eq!(listed("?status=closed").await, vec![closed_id]);
    assert_eq!(listed("?status=active&limit=1").await, vec![rated_id]);
    // By the words of the messages, in any form; by unanswered and handed over.
    assert_eq!(listed("?q=refund").await, vec![rated_id]);
    assert_eq!(listed("?q=RETURNS%20accepted").await, vec![closed_id]);
    assert!(listed("?q=telescope").await.is_empty());
    assert_eq!(
        listed("?q=%20%20").await,
        vec![closed_id, rated_id],
        "blank: all"
    );
    assert!(listed("?unanswered=true").await.is_empty());
    assert!(listed("?handover=true").await.is_empty());
    assert_eq!(listed("?unanswered=false&q=card").await, vec![rated_id]);
    let today = Utc::now().date_naive();
    let (_, body) = owner
        .get(&format!(
            "/api/chat-spaces/{space}/conversations?from={today}&to={today}"
        ))
        .await;
    assert_eq!(body["data"].as_array().expect("data").len(), 2);
    let tomorrow = today + Duration::days(1);
    let (_, body) = owner
        .get(&format!(
            "/api/chat-spaces/{space}/conversations?from={tomorrow}"
        ))
        .await;
    assert!(body["data"].as_array().expect("data").is_empty());
    for query in [
        "?feedback=sideways",
        "?status=lost",
        "?from=soon",
        "?from=2026-12-02&to=2026-12-01",
        "?unanswered=maybe",
        "?q=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ] {
        let (status, body) = owner
            .get(&format!("/api/chat-spaces/{space}/conversations{query}"))
            .await;
        assert!(status.is_client_error(), "{query}: {status} {body}");
        assert!(!code(&body).is_empty(), "{query}: {body}");
    }

    // The tab: the form keeps what was chosen, and shows only what matches.
    let tab = format!("/app/chat-spaces/{space}/conversations");
    let (status, page) = owner
        .page(&format!("{tab}?status=&feedback=down&from=&to="))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page.matches("data-docent=\"conversation-row\"").count(), 1);
    assert!(page.contains("<option value=\"down\" selected>"), "{page}");
    assert!(page.contains(&rated_id.to_string()));
    let (_, page) = owner.page(&format!("{tab}?feedback=up")).await;
    assert!(page.contains("data-docent=\"none-match\""), "{page}");
    let (status, _) = owner.page(&format!("{tab}?status=lost")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Words and boxes in the form, kept by the pager.
    let (status, page) = owner
        .page(&format!(
            "{tab}?q=refund+card&unanswered=&status=&feedback=&from=&to="
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page.matches("data-docent=\"conversation-row\"").count(), 1);
    assert!(page.contains("value=\"refund card\""), "{page}");
    let (_, page) = owner.page(&format!("{tab}?unanswered=on")).await;
    assert!(page.contains("data-docent=\"none-match\""), "{page}");
    assert!(page.contains("name=\"unanswered\" checked"), "{page}");
}
