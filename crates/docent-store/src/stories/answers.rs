//! Conformance stories of conversations, messages, feedback and knowledge gaps.

use chrono::Utc;
use docent_core::*;

use super::*;
use crate::{ConversationFilter, Store};

pub async fn conversations_keep_messages_and_count_usage(store: &impl Store) {
    let (_, org, _, _) = two_orgs(store).await;
    let space = store
        .create_chat_space(org.id, new_space("talk"))
        .await
        .expect("space");
    let conversation = store
        .create_conversation(
            org.id,
            space.id,
            Channel::Widget,
            NewConversation {
                visitor_id: Some("v-1".into()),
                locale: Some("en".into()),
                ..Default::default()
            },
        )
        .await
        .expect("create")
        .expect("space exists");
    assert_eq!(conversation.status, ConversationStatus::Active);
    assert_eq!(conversation.channel, Channel::Widget);
    for turn in 0..3 {
        store
            .add_message(
                org.id,
                NewMessage::plain(
                    conversation.id,
                    MessageRole::User,
                    format!("question {turn}"),
                ),
            )
            .await
            .expect("user")
            .expect("conversation exists");
        let document = DocumentId::generate();
        let answer = store
            .add_message(
                org.id,
                NewMessage {
                    model: Some("test/model".into()),
                    tokens_in: 100,
                    tokens_out: 20,
                    cost_micro_usd: 7,
                    processing_time_ms: 12,
                    context_chunks: vec![ContextChunk {
                        chunk_id: ChunkId::generate(),
                        document_id: document,
                        score: 0.5,
                        citable: true,
                    }],
                    citations: vec![Citation {
                        index: 1,
                        document_id: document,
                        title: "Guide".into(),
                        url: None,
                        file_name: Some("guide.pdf".into()),
                        page: Some(3),
                    }],
                    answer_kind: Some(AnswerKind::Generated),
                    ..NewMessage::plain(
                        conversation.id,
                        MessageRole::Assistant,
                        format!("answer {turn}"),
                    )
                },
            )
            .await
            .expect("assistant")
            .expect("conversation exists");
        assert_eq!(answer.citations[0].page, Some(3));
        assert_eq!(answer.answer_kind, Some(AnswerKind::Generated));
    }
    let all = store
        .list_messages(org.id, conversation.id, None, 100)
        .await
        .expect("list");
    let texts: Vec<&str> = all.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(
        texts,
        [
            "question 0",
            "answer 0",
            "question 1",
            "answer 1",
            "question 2",
            "answer 2"
        ]
    );
    let rest = store
        .list_messages(org.id, conversation.id, Some(all[3].id), 100)
        .await
        .expect("after");
    assert_eq!(rest.len(), 2);
    let recent = store
        .recent_messages(org.id, conversation.id, 2)
        .await
        .expect("recent");
    assert_eq!(
        recent
            .iter()
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>(),
        ["question 2", "answer 2"]
    );

    let today = Utc::now().date_naive();
    assert_eq!(
        store
            .count_messages_since(org.id, today)
            .await
            .expect("count"),
        3,
        "visitor messages"
    );
    let days = store
        .usage_days(org.id, space.id, today)
        .await
        .expect("usage");
    assert_eq!(days.len(), 1);
    assert_eq!(
        (
            days[0].messages,
            days[0].conversations,
            days[0].tokens,
            days[0].cost
        ),
        (3, 1, 360, 21)
    );
    let space = store
        .find_chat_space(org.id, space.id)
        .await
        .expect("find")
        .expect("space");
    assert_eq!(space.message_count, 3);
    assert!(space.last_message_at.is_some());
    let conversation = store
        .find_conversation(org.id, conversation.id)
        .await
        .expect("find")
        .expect("conversation");
    assert_eq!(conversation.message_count, 6);
    let listed = store
        .list_conversations(org.id, space.id, Page::first(10))
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
}

pub async fn conversations_belong_to_their_organization(store: &impl Store) {
    let (_, org_a, _, org_b) = two_orgs(store).await;
    let space_a = store
        .create_chat_space(org_a.id, new_space("mine"))
        .await
        .expect("space");
    assert!(
        store
            .create_conversation(
                org_b.id,
                space_a.id,
                Channel::Api,
                NewConversation::default()
            )
            .await
            .expect("query")
            .is_none(),
        "another organization cannot open a conversation in this chat space"
    );
    let conversation = store
        .create_conversation(
            org_a.id,
            space_a.id,
            Channel::Playground,
            NewConversation::default(),
        )
        .await
        .expect("create")
        .expect("space");
    assert!(
        store
            .find_conversation(org_b.id, conversation.id)
            .await
            .expect("find")
            .is_none()
    );
    assert_eq!(
        store
            .conversation_channels(org_a.id, space_a.id)
            .await
            .expect("channels"),
        [Channel::Playground]
    );
    assert_eq!(
        store
            .conversation_channels(org_b.id, space_a.id)
            .await
            .expect("channels"),
        [],
        "another organization sees none"
    );
    assert!(
        store
            .add_message(
                org_b.id,
                NewMessage::plain(conversation.id, MessageRole::User, "intrusion")
            )
            .await
            .expect("query")
            .is_none()
    );
    assert!(
        store
            .list_messages(org_b.id, conversation.id, None, 10)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        store
            .list_conversations(org_b.id, space_a.id, Page::first(10))
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        store
            .count_messages_since(org_b.id, Utc::now().date_naive())
            .await
            .expect("count"),
        0
    );
    assert!(
        store
            .list_messages(org_a.id, conversation.id, None, 10)
            .await
            .expect("list")
            .is_empty()
    );
}

pub async fn visitors_rate_answers_and_conversations_close(store: &impl Store) {
    let (_, org_a, _, org_b) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("rated"))
        .await
        .expect("space");
    let visitor = NewConversation {
        visitor_id: Some("v-1".into()),
        end_user_name: Some("Zoe".into()),
        ..NewConversation::default()
    };
    let conversation = store
        .create_conversation(org_a.id, space.id, Channel::Widget, visitor)
        .await
        .expect("create")
        .expect("space");
    assert_eq!(conversation.end_user_name.as_deref(), Some("Zoe"));
    let question = store
        .add_message(
            org_a.id,
            NewMessage::plain(conversation.id, MessageRole::User, "Hours?"),
        )
        .await
        .expect("add")
        .expect("conversation");
    let answer = store
        .add_message(
            org_a.id,
            NewMessage::plain(conversation.id, MessageRole::Assistant, "9 to 5."),
        )
        .await
        .expect("add")
        .expect("conversation");

    // Only assistant messages of this conversation, only by their organization.
    for (org, conversation_id, message) in [
        (org_a.id, conversation.id, question.id),
        (org_b.id, conversation.id, answer.id),
        (org_a.id, ConversationId::generate(), answer.id),
    ] {
        assert!(
            store
                .set_feedback(org, conversation_id, message, Some(Feedback::Up))
                .await
                .expect("query")
                .is_none()
        );
    }
    let today = Utc::now().date_naive();
    let counters = |days: Vec<UsageDay>| {
        days.iter().fold((0, 0), |(u, d), day| {
            (u + day.feedback_up, d + day.feedback_down)
        })
    };
    let rated = store
        .set_feedback(org_a.id, conversation.id, answer.id, Some(Feedback::Up))
        .await
        .expect("set")
        .expect("message");
    assert_eq!(rated.feedback, Some(Feedback::Up));
    // Saying the same twice counts once; changing one's mind moves the count.
    store
        .set_feedback(org_a.id, conversation.id, answer.id, Some(Feedback::Up))
        .await
        .expect("set");
    let days = store
        .usage_days(org_a.id, space.id, today)
        .await
        .expect("usage");
    assert_eq!(counters(days), (1, 0));
    store
        .set_feedback(org_a.id, conversation.id, answer.id, Some(Feedback::Down))
        .await
        .expect("set");
    let days = store
        .usage_days(org_a.id, space.id, today)
        .await
        .expect("usage");
    assert_eq!(counters(days), (0, 1));
    let cleared = store
        .set_feedback(org_a.id, conversation.id, answer.id, None)
        .await
        .expect("set")
        .expect("message");
    assert_eq!(cleared.feedback, None);
    let days = store
        .usage_days(org_a.id, space.id, today)
        .await
        .expect("usage");
    assert_eq!(counters(days), (0, 0));

    // Identify fills what is given and keeps the rest.
    assert!(
        !store
            .identify_visitor(org_b.id, conversation.id, Some("Eve".into()), None)
            .await
            .expect("query")
    );
    assert!(
        store
            .identify_visitor(
                org_a.id,
                conversation.id,
                None,
                Some("zoe@example.com".into())
            )
            .await
            .expect("identify")
    );
    let found = store
        .find_conversation(org_a.id, conversation.id)
        .await
        .expect("find")
        .expect("conversation");
    assert_eq!(found.end_user_name.as_deref(), Some("Zoe"));
    assert_eq!(found.end_user_email.as_deref(), Some("zoe@example.com"));

    // Closing: only by its organization, once.
    let now = Utc::now();
    assert!(
        !store
            .close_conversation(org_b.id, conversation.id, now)
            .await
            .expect("query")
    );
    assert!(
        store
            .close_conversation(org_a.id, conversation.id, now)
            .await
            .expect("close")
    );
    assert!(
        !store
            .close_conversation(org_a.id, conversation.id, now)
            .await
            .expect("again")
    );
    let closed = store
        .find_conversation(org_a.id, conversation.id)
        .await
        .expect("find")
        .expect("conversation");
    assert_eq!(closed.status, ConversationStatus::Closed);
    assert!(closed.closed_at.is_some());

    // Housekeeping closes quiet widget conversations, and only those.
    let quiet = store
        .create_conversation(
            org_a.id,
            space.id,
            Channel::Widget,
            NewConversation::default(),
        )
        .await
        .expect("create")
        .expect("space");
    let playground = store
        .create_conversation(
            org_a.id,
            space.id,
            Channel::Playground,
            NewConversation::default(),
        )
        .await
        .expect("create")
        .expect("space");
    let later = Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(
        store
            .close_idle_conversations(Channel::Widget, later, later)
            .await
            .expect("sweep")
            .len(),
        1,
        "the widget conversation closed earlier is not counted again"
    );
    for (id, status) in [
        (quiet.id, ConversationStatus::Closed),
        (playground.id, ConversationStatus::Active),
    ] {
        let found = store
            .find_conversation(org_a.id, id)
            .await
            .expect("find")
            .expect("conversation");
        assert_eq!(found.status, status);
    }
}

pub async fn conversations_are_found_by_status_feedback_and_time(store: &impl Store) {
    let (_, org, _, org_b) = two_orgs(store).await;
    let space = store
        .create_chat_space(org.id, new_space("found"))
        .await
        .expect("space");
    let mut ids = Vec::new();
    for visitor in ["v-1", "v-2", "v-3"] {
        let conversation = store
            .create_conversation(
                org.id,
                space.id,
                Channel::Widget,
                NewConversation {
                    visitor_id: Some(visitor.into()),
                    ..Default::default()
                },
            )
            .await
            .expect("create")
            .expect("space exists");
        ids.push(conversation.id);
    }
    // The second's answer was rated down; the third was closed.
    let answer = store
        .add_message(
            org.id,
            NewMessage::plain(ids[1], MessageRole::Assistant, "Five days."),
        )
        .await
        .expect("answer")
        .expect("conversation");
    store
        .set_feedback(org.id, ids[1], answer.id, Some(Feedback::Down))
        .await
        .expect("feedback")
        .expect("an answer");
    assert!(
        store
            .close_conversation(org.id, ids[2], Utc::now())
            .await
            .expect("close")
    );
    let found = |filter: ConversationFilter| async move {
        store
            .find_conversations(org.id, space.id, &filter, Page::first(10))
            .await
            .expect("find")
            .into_iter()
            .map(|c| c.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        found(ConversationFilter::default()).await,
        vec![ids[2], ids[1], ids[0]]
    );
    let down = ConversationFilter {
        feedback: Some(Feedback::Down),
        ..Default::default()
    };
    assert_eq!(found(down).await, vec![ids[1]]);
    let up = ConversationFilter {
        feedback: Some(Feedback::Up),
        ..Default::default()
    };
    assert!(found(up).await.is_empty());
    let closed = ConversationFilter {
        status: Some(ConversationStatus::Closed),
        ..Default::default()
    };
    assert_eq!(found(closed).await, vec![ids[2]]);
    let now = Utc::now();
    let hour = chrono::Duration::hours(1);
    let today = ConversationFilter {
        since: Some(now - hour),
        before: Some(now + hour),
        ..Default::default()
    };
    assert_eq!(found(today).await.len(), 3);
    let later = ConversationFilter {
        since: Some(now + hour),
        ..Default::default()
    };
    assert!(found(later).await.is_empty());
    let earlier = ConversationFilter {
        before: Some(now - hour),
        ..Default::default()
    };
    assert!(found(earlier).await.is_empty());
    // By the words of their messages (stemmed, any case, all of them, in one message),
    // whatever else the words hold; and by the don't-know reply.
    store
        .add_message(
            org.id,
            NewMessage::plain(
                ids[0],
                MessageRole::User,
                "Do REFUNDS reach my card? \"quick\" -OR* NEAR(",
            ),
        )
        .await
        .expect("question")
        .expect("conversation");
    store
        .add_message(
            org.id,
            NewMessage {
                answer_kind: Some(AnswerKind::DontKnow),
                ..NewMessage::plain(ids[0], MessageRole::Assistant, "Sorry, I don't know.")
            },
        )
        .await
        .expect("answer")
        .expect("conversation");
    let words = |q: &str| ConversationFilter {
        text: Some(q.into()),
        ..Default::default()
    };
    assert_eq!(found(words("refund")).await, vec![ids[0]]);
    assert_eq!(found(words("card refunds")).await, vec![ids[0]]);
    assert_eq!(found(words("five days")).await, vec![ids[1]]);
    assert!(
        found(words("refund days")).await.is_empty(),
        "all words in one message"
    );
    assert!(found(words("telescope")).await.is_empty());
    assert_eq!(
        found(words("\" * ( -")).await.len(),
        3,
        "no words: no condition"
    );
    assert_eq!(
        found(words("or NEAR")).await,
        vec![ids[0]],
        "operators are words too"
    );
    let unanswered = ConversationFilter {
        unanswered: true,
        ..Default::default()
    };
    assert_eq!(found(unanswered).await, vec![ids[0]]);
    let handed_over = ConversationFilter {
        handed_over: true,
        ..Default::default()
    };
    assert!(found(handed_over).await.is_empty());
    // Another organization finds none of them, whatever it asks.
    assert!(
        store
            .find_conversations(
                org_b.id,
                space.id,
                &ConversationFilter::default(),
                Page::first(10)
            )
            .await
            .expect("find")
            .is_empty()
    );
}

pub async fn messages_of_a_range_of_conversations_come_in_pages(store: &impl Store) {
    let (_, org, _, org_b) = two_orgs(store).await;
    let space = store
        .create_chat_space(org.id, new_space("range"))
        .await
        .expect("space");
    let mut written = Vec::new();
    for visitor in ["v-1", "v-2", "v-3"] {
        let conversation = store
            .create_conversation(
                org.id,
                space.id,
                Channel::Widget,
                NewConversation::default(),
            )
            .await
            .expect("create")
            .expect("space exists");
        for text in [format!("{visitor} asks"), format!("{visitor} is answered")] {
            let message = store
                .add_message(
                    org.id,
                    NewMessage::plain(conversation.id, MessageRole::User, text),
                )
                .await
                .expect("message")
                .expect("conversation");
            written.push((conversation.id, message.id));
        }
    }
    // The first two conversations, one message at a time.
    let (first, last) = (written[0].0, written[2].0);
    let mut read = Vec::new();
    let mut after = None;
    loop {
        let batch = store
            .messages_of_conversations(org.id, space.id, first, last, after, 1)
            .await
            .expect("messages");
        let Some(message) = batch.first() else { break };
        after = Some((message.conversation_id, message.id));
        read.push((message.conversation_id, message.id));
    }
    assert_eq!(read, written[..4].to_vec());
    assert!(
        store
            .messages_of_conversations(org_b.id, space.id, first, last, None, 10)
            .await
            .expect("messages")
            .is_empty(),
        "another organization reads none"
    );
}
