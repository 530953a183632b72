//! The answer service end to end on a real SQLite store: the learn-only guard against a model
//! that echoes its whole prompt, extractive answers, "don't know" with knowledge gaps,
//! quotas, and a listener that leaves mid-answer.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use docent_ai::{AiError, ChatEvent, ChatModel, ChatRequest, ChatStream, Usage};
use docent_core::*;
use docent_rag::guard::leaked_run;
use docent_rag::{AnswerEvent, AnswerService, Ask, AskError, Continue};
use docent_store::prelude::*;
use docent_store_sqlite::fresh_test_store;
use serde_json::json;
use tokio::sync::mpsc;

const PUBLIC: &str = "Returns are accepted within thirty days of delivery when the item is \
                      unused and in its original box. Refunds reach your card in five days.";
const PRIVATE: &str = "Internal note on returns: our supplier in Lyon charges eleven euros per \
                       unit for the blue ceramic mugs and we mark them up four times, so \
                       refunds on returns hurt the margin badly.";

/// A model that answers with its whole prompt, a few characters at a time.
#[derive(Debug, Default)]
struct Echo {
    /// Set when the service stopped reading.
    abandoned: Arc<AtomicBool>,
    slow: bool,
}

#[async_trait]
impl ChatModel for Echo {
    async fn stream(&self, request: ChatRequest) -> Result<ChatStream, AiError> {
        let text: String = request
            .messages
            .iter()
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let (tx, stream) = ChatStream::channel();
        let abandoned = self.abandoned.clone();
        let slow = self.slow;
        tokio::spawn(async move {
            let chars: Vec<char> = text.chars().collect();
            for piece in chars.chunks(3) {
                if slow {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                if tx
                    .send(Ok(ChatEvent::Delta(piece.iter().collect())))
                    .await
                    .is_err()
                {
                    abandoned.store(true, Ordering::SeqCst);
                    return;
                }
            }
            let _ = tx
                .send(Ok(ChatEvent::Done {
                    usage: Some(Usage {
                        prompt_tokens: 1000,
                        completion_tokens: 500,
                    }),
                }))
                .await;
        });
        Ok(stream)
    }
}

/// A model whose provider is down.
#[derive(Debug)]
struct Down;

#[async_trait]
impl ChatModel for Down {
    async fn stream(&self, _: ChatRequest) -> Result<ChatStream, AiError> {
        Err(AiError::Unavailable("HTTP 503".into()))
    }
}

/// A model that finishes without a word.
#[derive(Debug)]
struct Mute;

#[async_trait]
impl ChatModel for Mute {
    async fn stream(&self, _: ChatRequest) -> Result<ChatStream, AiError> {
        let (tx, stream) = ChatStream::channel();
        tokio::spawn(async move {
            let _ = tx.send(Ok(ChatEvent::Done { usage: None })).await;
        });
        Ok(stream)
    }
}

struct World {
    store: Arc<dyn Store>,
    org: Organization,
    space: ChatSpace,
    public_doc: DocumentId,
}

async fn world() -> World {
    let store = fresh_test_store().await;
    let (_, org) = store
        .signup(
            NewUser::new("owner@example.com", "Owner"),
            NewOrganization::new("Shop", "shop", Plan::Free),
        )
        .await
        .expect("signup");
    let space = store
        .create_chat_space(
            org.id,
            NewChatSpace {
                ai_config: json!({"model": "openai/gpt-4o-mini"}),
                ..NewChatSpace::new("Help", "help")
            },
        )
        .await
        .expect("space");
    let mut public_doc = None;
    for (title, text, citable) in [
        ("Returns policy", PUBLIC, true),
        ("Margins", PRIVATE, false),
    ] {
        let doc = store
            .create_document(
                org.id,
                NewDocument {
                    chat_space_id: space.id,
                    parent_id: None,
                    doc_type: "text".into(),
                    title: title.into(),
                    file_name: Some(format!("{title}.txt")),
                    file_size: Some(100),
                    content_hash: None,
                    storage_key: None,
                    source_url: None,
                    citable,
                    status: DocumentStatus::Processing,
                },
            )
            .await
            .expect("document");
        store
            .complete_document(
                org.id,
                doc.id,
                DocumentFacts::default(),
                vec![NewChunk {
                    chunk_index: 0,
                    content: text.into(),
                    token_count: 40,
                    metadata: json!({"page": 2}),
                }],
            )
            .await
            .expect("chunks");
        if citable {
            public_doc = Some(doc.id);
        }
    }
    World {
        store: Arc::new(store),
        org,
        space,
        public_doc: public_doc.expect("public"),
    }
}

fn ask(world: &World, question: &str) -> Ask {
    Ask {
        org: world.org.id,
        plan: Plan::Free,
        chat_space: world.space.clone(),
        conversation: None,
        channel: Channel::Widget,
        visitor: NewConversation::default(),
        question: question.into(),
        show_sources: false,
        prior: None,
    }
}

/// Answers and returns what the listener saw, and the stored answer.
async fn run(
    service: &AnswerService,
    ask: Ask,
) -> (String, Vec<AnswerEvent>, Result<Message, AskError>) {
    let (tx, mut rx) = mpsc::channel(16);
    let task = tokio::spawn({
        let service = service.clone();
        async move { service.answer(ask, tx).await }
    });
    let mut text = String::new();
    let mut events = Vec::new();
    while let Some(event) = rx.recv().await {
        if let AnswerEvent::Delta { text: t } = &event {
            text.push_str(t);
        }
        events.push(event);
    }
    (text, events, task.await.expect("task"))
}

#[tokio::test]
async fn an_echoing_model_leaks_nothing_private_and_cites_nothing_private() {
    let world = world().await;
    let service = AnswerService::new(
        world.store.clone(),
        None,
        Some(Arc::new(Echo::default())),
        BTreeMap::new(),
    );
    let (shown, events, stored) =
        run(&service, ask(&world, "How do returns and refunds work?")).await;
    let stored = stored.expect("answered");
    assert!(
        shown.contains("thirty days of delivery"),
        "the public text may be quoted: {shown}"
    );
    assert_eq!(
        leaked_run(&shown, PRIVATE),
        None,
        "streamed text leaked: {shown}"
    );
    assert_eq!(
        leaked_run(&stored.content, PRIVATE),
        None,
        "stored text leaked"
    );
    assert!(
        !shown.contains("Margins"),
        "a private block's title never reaches the prompt"
    );
    assert!(
        stored
            .citations
            .iter()
            .all(|c| c.document_id == world.public_doc)
    );
    assert_eq!(stored.citations.len(), 1, "{:?}", stored.citations);
    assert_eq!(stored.citations[0].page, Some(2));
    assert_eq!(stored.answer_kind, Some(AnswerKind::Generated));
    assert_eq!((stored.tokens_in, stored.tokens_out), (1000, 500));
    assert_eq!(
        stored.cost_micro_usd, 0,
        "no price configured for the model"
    );
    assert_eq!(
        stored.context_chunks.len(),
        2,
        "the private chunk informed the answer"
    );
    assert!(
        matches!(&events[0], AnswerEvent::Started { sources: None, .. }),
        "visitors see no sources"
    );
    assert!(matches!(events.last(), Some(AnswerEvent::Done { .. })));
}

#[tokio::test]
async fn prices_give_the_cost_and_sources_show_in_the_playground() {
    let world = world().await;
    let prices = BTreeMap::from([(
        "openai/gpt-4o-mini".to_owned(),
        docent_core::settings::ModelPrice {
            input_per_million: 0.15,
            output_per_million: 0.60,
        },
    )]);
    let service = AnswerService::new(
        world.store.clone(),
        None,
        Some(Arc::new(Echo::default())),
        prices,
    );
    let mut question = ask(&world, "refunds");
    question.show_sources = true;
    question.channel = Channel::Playground;
    let (_, events, stored) = run(&service, question).await;
    assert_eq!(
        stored.expect("answer").cost_micro_usd,
        450,
        "1000 × 0.15 + 500 × 0.60"
    );
    let AnswerEvent::Started {
        sources: Some(sources),
        ..
    } = &events[0]
    else {
        panic!("the playground sees its sources: {:?}", events[0]);
    };
    assert_eq!(sources.len(), 2);
    assert!(
        sources
            .iter()
            .all(|s| s.score > 0.0 && s.text_rank.is_some())
    );
}

#[tokio::test]
async fn without_a_model_answers_quote_citable_sentences() {
    let world = world().await;
    let service = AnswerService::new(world.store.clone(), None, None, BTreeMap::new());
    let (shown, _, stored) = run(
        &service,
        ask(&world, "How long do refunds take to reach my card?"),
    )
    .await;
    let stored = stored.expect("answer");
    assert_eq!(stored.answer_kind, Some(AnswerKind::Extractive));
    assert_eq!(shown, "Refunds reach your card in five days. [1]");
    assert_eq!(stored.citations.len(), 1);
    assert_eq!(leaked_run(&shown, PRIVATE), None);

    // A provider that is down: the same quotes rather than an apology.
    let service = AnswerService::new(
        world.store.clone(),
        None,
        Some(Arc::new(Down)),
        BTreeMap::new(),
    );
    let (_, _, stored) = run(&service, ask(&world, "How long do refunds take?")).await;
    assert_eq!(
        stored.expect("answer").answer_kind,
        Some(AnswerKind::Extractive)
    );
}

#[tokio::test]
async fn unknown_questions_get_the_dont_know_reply() {
    let world = world().await;
    let service = AnswerService::new(
        world.store.clone(),
        None,
        Some(Arc::new(Echo::default())),
        BTreeMap::new(),
    );
    let (shown, _, stored) = run(&service, ask(&world, "Do you sell telescopes?")).await;
    let stored = stored.expect("answer");
    assert_eq!(stored.answer_kind, Some(AnswerKind::DontKnow));
    assert_eq!(shown, config::AiConfig::default().dont_know_reply);
    assert!(stored.citations.is_empty());
    assert_eq!(
        stored.confidence,
        Some(0.0),
        "nothing in the knowledge matched"
    );
}

/// The history the model reads holds the earlier turns, and the question once (it is stored
/// while the history is read).
#[tokio::test]
async fn history_holds_earlier_turns_and_the_question_once() {
    let world = world().await;
    let service = AnswerService::new(
        world.store.clone(),
        None,
        Some(Arc::new(Echo::default())),
        BTreeMap::new(),
    );
    let (_, _, first) = run(&service, ask(&world, "What about refunds?")).await;
    let first = first.expect("first");
    for question in ["Are returns free?", "And returns of zebras?"] {
        let mut next = ask(&world, question);
        next.conversation = Some(Continue::Id(first.conversation_id));
        let (shown, _, answer) = run(&service, next).await;
        answer.expect("answer");
        assert_eq!(shown.matches(question).count(), 1, "{shown}");
        assert!(shown.contains("What about refunds?"), "{shown}");
    }
}

#[tokio::test]
async fn conversations_continue_and_quotas_hold() {
    let world = world().await;
    let service = AnswerService::new(world.store.clone(), None, None, BTreeMap::new());
    let (_, _, first) = run(&service, ask(&world, "refunds?")).await;
    let first = first.expect("first");
    let mut next = ask(&world, "returns?");
    next.conversation = Some(Continue::Id(first.conversation_id));
    let (_, _, second) = run(&service, next.clone()).await;
    assert_eq!(
        second.expect("second").conversation_id,
        first.conversation_id
    );
    let messages = world
        .store
        .list_messages(world.org.id, first.conversation_id, None, 10)
        .await
        .expect("list");
    assert_eq!(messages.len(), 4);

    next.conversation = Some(Continue::Id(ConversationId::generate()));
    assert!(matches!(
        run(&service, next).await.2,
        Err(AskError::ConversationNotFound)
    ));
    assert!(matches!(
        run(&service, ask(&world, "   ")).await.2,
        Err(AskError::EmptyQuestion)
    ));

    // Fill the free plan's month, then one more is refused and nothing is stored.
    let limit = Plan::Free
        .limits()
        .messages_per_month
        .expect("free has a limit");
    let conversation = first.conversation_id;
    for _ in 2..limit {
        world
            .store
            .add_message(
                world.org.id,
                NewMessage::plain(conversation, MessageRole::User, "q"),
            )
            .await
            .expect("add")
            .expect("conversation");
    }
    let before = world
        .store
        .count_messages_since(world.org.id, chrono::Utc::now().date_naive())
        .await
        .expect("count");
    assert_eq!(before, limit);
    assert!(matches!(
        run(&service, ask(&world, "refunds?")).await.2,
        Err(AskError::QuotaExceeded { .. })
    ));
    let after = world
        .store
        .count_messages_since(world.org.id, chrono::Utc::now().date_naive())
        .await
        .expect("count");
    assert_eq!(after, limit);
}

#[tokio::test]
async fn a_listener_that_leaves_stops_the_model_and_the_answer_is_kept() {
    let world = world().await;
    let echo = Echo {
        slow: true,
        ..Echo::default()
    };
    let abandoned = echo.abandoned.clone();
    let service = AnswerService::new(
        world.store.clone(),
        None,
        Some(Arc::new(echo)),
        BTreeMap::new(),
    );
    let (tx, mut rx) = mpsc::channel(1);
    let task = tokio::spawn({
        let service = service.clone();
        let ask = ask(&world, "refunds?");
        async move { service.answer(ask, tx).await }
    });
    let mut deltas = 0;
    while let Some(event) = rx.recv().await {
        if matches!(event, AnswerEvent::Delta { .. }) {
            deltas += 1;
            if deltas == 3 {
                break;
            }
        }
    }
    drop(rx);
    let stored = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("ends")
        .expect("task")
        .expect("stored");
    assert!(!stored.content.is_empty());
    assert!(
        stored.content.len() < 200,
        "stopped early: {}",
        stored.content.len()
    );
    for _ in 0..100 {
        if abandoned.load(Ordering::SeqCst) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the model kept writing to nobody");
}

#[tokio::test]
async fn a_model_that_says_nothing_gets_the_dont_know_reply() {
    let world = world().await;
    let service = AnswerService::new(
        world.store.clone(),
        None,
        Some(Arc::new(Mute)),
        BTreeMap::new(),
    );
    let (shown, _, stored) = run(&service, ask(&world, "How do refunds work?")).await;
    let stored = stored.expect("answer");
    assert_eq!(stored.answer_kind, Some(AnswerKind::DontKnow));
    assert_eq!(shown, config::AiConfig::default().dont_know_reply);
    assert_eq!(stored.content, shown);
}

/// A model that answers with a fixed text.
#[derive(Debug)]
struct Says(&'static str);

#[async_trait]
impl ChatModel for Says {
    async fn stream(&self, _: ChatRequest) -> Result<ChatStream, AiError> {
        let (tx, stream) = ChatStream::channel();
        let text = self.0;
        tokio::spawn(async move {
            let _ = tx.send(Ok(ChatEvent::Delta(text.into()))).await;
            let _ = tx.send(Ok(ChatEvent::Done { usage: None })).await;
        });
        Ok(stream)
    }
}

#[tokio::test]
async fn stored_answers_mark_only_the_sources_they_list() {
    let world = world().await;
    let service = AnswerService::new(
        world.store.clone(),
        None,
        Some(Arc::new(Says(
            "**Returns** are accepted within *thirty days* [1][3]. Refunds take five days [2, 1].",
        ))),
        BTreeMap::new(),
    );
    let (_, _, stored) = run(&service, ask(&world, "How do returns work?")).await;
    let stored = stored.expect("answer");
    assert_eq!(stored.answer_kind, Some(AnswerKind::Generated));
    assert_eq!(
        stored.citations.iter().map(|c| c.index).collect::<Vec<_>>(),
        [1]
    );
    assert_eq!(
        stored.content,
        "**Returns** are accepted within *thirty days* [1]. Refunds take five days [1]."
    );
}
