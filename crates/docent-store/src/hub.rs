//! The Hub (DESIGN §7): publish and subscribe by topic (`chat_space:{id}`, `org:{id}`,
//! `conversation:{id}`). Events carry ids, not rows: a subscriber re-reads what changed from
//! the database, so an event can be dropped without harm as long as the subscriber hears
//! that it may have missed some ([`Received::Missed`]) and re-reads then too.
//!
//! Each backend has its hub ([`crate::Store::hub`]): [`LocalHub`] broadcasts inside the
//! process (the embedded SQLite has one), PostgreSQL's goes through `LISTEN/NOTIFY` so an
//! event published on one replica reaches subscribers on every other. Both deliver through
//! one [`Fanout`]. Subscribers must be authorised for a topic before they subscribe.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::Result;

/// Something happened that subscribers of `topic` may want to re-read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub topic: String,
    /// What changed, e.g. `documents`.
    pub kind: String,
    /// Ids that say what changed; small (PostgreSQL carries at most 8,000 bytes).
    #[serde(default)]
    pub data: serde_json::Value,
}

impl Event {
    pub fn new(topic: impl Into<String>, kind: impl Into<String>) -> Event {
        Event {
            topic: topic.into(),
            kind: kind.into(),
            data: serde_json::Value::Null,
        }
    }
}

/// What a subscription hears.
#[derive(Clone, Debug, PartialEq)]
pub enum Received {
    Event(Event),
    /// Events may have been lost (the subscriber fell behind, or the hub's connection to
    /// the database dropped): read the state again.
    Missed,
}

#[derive(Clone, Debug)]
enum Delivery {
    Event(Arc<Event>),
    Missed,
}

/// Events of one topic, from the moment of subscribing.
#[derive(Debug)]
pub struct Subscription {
    topic: String,
    rx: broadcast::Receiver<Delivery>,
}

impl Subscription {
    /// The next event of the topic (or a [`Received::Missed`]); `None` once the hub is gone.
    pub async fn next(&mut self) -> Option<Received> {
        loop {
            match self.rx.recv().await {
                Ok(Delivery::Event(event)) if event.topic == self.topic => {
                    return Some(Received::Event((*event).clone()));
                }
                Ok(Delivery::Event(_)) => continue,
                Ok(Delivery::Missed) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    return Some(Received::Missed);
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// The next thing `subscription` hears; never, when there is none (the caller then goes by
/// its timers alone). A subscription whose hub is gone is dropped.
pub async fn heard(subscription: &mut Option<Subscription>) -> Received {
    loop {
        match subscription {
            Some(s) => match s.next().await {
                Some(received) => return received,
                None => *subscription = None,
            },
            None => return std::future::pending().await,
        }
    }
}

/// The broadcast inside a process that every hub delivers through.
#[derive(Clone, Debug)]
pub struct Fanout {
    tx: broadcast::Sender<Delivery>,
}

impl Default for Fanout {
    fn default() -> Self {
        // A subscriber more than this many events behind hears `Missed` and re-reads.
        Fanout {
            tx: broadcast::channel(1024).0,
        }
    }
}

impl Fanout {
    pub fn deliver(&self, event: Event) {
        // No subscriber: nobody to tell.
        let _ = self.tx.send(Delivery::Event(Arc::new(event)));
    }

    /// Tells every subscriber that events may have been lost.
    pub fn missed(&self) {
        let _ = self.tx.send(Delivery::Missed);
    }

    pub fn subscribe(&self, topic: &str) -> Subscription {
        Subscription {
            topic: topic.to_owned(),
            rx: self.tx.subscribe(),
        }
    }
}

#[async_trait]
pub trait Hub: Send + Sync + std::fmt::Debug {
    /// Sends `event` to the topic's subscribers, in this process and (where the backend
    /// reaches them) in every other.
    async fn publish(&self, event: Event) -> Result<()>;
    /// Events of `topic` from now on.
    async fn subscribe(&self, topic: &str) -> Result<Subscription>;
}

/// The hub of a single process.
#[derive(Debug, Default)]
pub struct LocalHub {
    fanout: Fanout,
}

#[async_trait]
impl Hub for LocalHub {
    async fn publish(&self, event: Event) -> Result<()> {
        self.fanout.deliver(event);
        Ok(())
    }

    async fn subscribe(&self, topic: &str) -> Result<Subscription> {
        Ok(self.fanout.subscribe(topic))
    }
}

/// Hub behaviour every backend shares: what is published on `publisher` reaches the
/// subscribers of its topic on `subscriber` (the same hub, or another replica's), in order,
/// and only theirs. Topics start with `prefix`, so that stories running at once on one
/// database keep apart. Called by each backend's tests.
#[cfg(any(test, feature = "testing"))]
pub async fn hub_story(publisher: &dyn Hub, subscriber: &dyn Hub, prefix: &str) {
    let (a, b) = (format!("{prefix}:a"), format!("{prefix}:b"));
    let mut mine = subscriber.subscribe(&a).await.expect("subscribe");
    let mut other = subscriber.subscribe(&b).await.expect("subscribe");
    for n in 0..3 {
        let mut event = Event::new(a.clone(), "documents");
        event.data = serde_json::json!({"n": n});
        publisher.publish(event).await.expect("publish");
    }
    publisher
        .publish(Event::new(b.clone(), "documents"))
        .await
        .expect("publish");
    for n in 0..3 {
        let got = tokio::time::timeout(std::time::Duration::from_secs(5), mine.next())
            .await
            .expect("an event within 5 s");
        match got {
            Some(Received::Event(e)) => {
                assert_eq!((&e.topic, e.data["n"].as_i64()), (&a, Some(n)));
            }
            other => panic!("{other:?}"),
        }
    }
    match tokio::time::timeout(std::time::Duration::from_secs(5), other.next()).await {
        Ok(Some(Received::Event(e))) => assert_eq!(e.topic, b),
        other => panic!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_local_hub_keeps_topics_apart() {
        let hub = LocalHub::default();
        hub_story(&hub, &hub, "chat_space").await;
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_hears_it_missed_events() {
        let hub = LocalHub::default();
        let mut slow = hub.subscribe("t").await.expect("subscribe");
        for _ in 0..2000 {
            hub.publish(Event::new("t", "x")).await.expect("publish");
        }
        assert_eq!(slow.next().await, Some(Received::Missed));
        assert!(matches!(slow.next().await, Some(Received::Event(_))));
    }
}
