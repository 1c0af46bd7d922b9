//! What the consumer waits for, said at once and once per cause as an
//! [`Event::Warning`](crate::Event::Warning) (and a log line): a subscribed or assigned topic
//! that does not exist or is not authorized, a member the group leaves without partitions, a
//! coordinator no broker finds. The waits themselves go on as configured.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::super::config::ConsumerConfig;
use super::report::Internal;
use super::Ctx;
use crate::cluster::{TopicSelection, TopicWait};
use crate::error::Result;
use crate::events::Event;
use crate::Kafka;

/// How long a joined member may have no partition before it is said to wait for one (the
/// assignment normally comes with the next heartbeat or two).
const UNASSIGNED_GRACE: Duration = Duration::from_secs(5);

/// The causes said so far.
#[derive(Default)]
pub(super) struct Waits {
    /// Per topic, the cause last said for it.
    topics: HashMap<String, TopicWait>,
    /// Since when the joined member has had no partition, and whether that was said.
    unassigned: Option<(Instant, bool)>,
}

/// Asks metadata about `topics` in a task; the answer comes back as
/// [`Internal::TopicsChecked`].
pub(super) fn check_topics(ctx: &Ctx<'_>, topics: Vec<String>) {
    let kafka = ctx.kafka.clone();
    ctx.report.spawn(async move {
        let res = kafka
            .cluster()
            .refresh(TopicSelection::Names(topics.clone()))
            .await
            .map(|snap| {
                topics
                    .iter()
                    .filter_map(|t| TopicWait::of(&snap, t).map(|w| (t.clone(), w)))
                    // A partition without a leader is mostly a topic just created: the
                    // fetches follow its leader once it has one.
                    .filter(|(_, w)| *w != TopicWait::NoLeader)
                    .collect()
            });
        Internal::TopicsChecked(res)
    });
}

impl Waits {
    /// Says what metadata found wrong with the topics the consumer waits for; `waiting` says
    /// what waits for them and until when.
    pub fn on_topics_checked(
        &mut self,
        kafka: &Kafka,
        config: &ConsumerConfig,
        res: Result<Vec<(String, TopicWait)>>,
        waiting: &str,
    ) {
        let found = match res {
            Ok(found) => found,
            // Said by the coordinator lookup or the fetches, which meet the same brokers.
            Err(e) => return tracing::debug!(error = %e, "checking the consumer's topics failed"),
        };
        for (topic, cause) in found {
            if self
                .topics
                .get(&topic)
                .is_some_and(|c| c.same_cause(&cause))
            {
                continue;
            }
            say(
                kafka,
                config,
                format!("{}; {waiting}", cause.describe(&topic)),
            );
            self.topics.insert(topic, cause);
        }
    }

    /// Called on every step of a group member: `waiting` when it has joined and holds no
    /// partition with no rebalance under way. Said once after a short grace, again only after
    /// the member has had partitions in between.
    pub fn unassigned(
        &mut self,
        kafka: &Kafka,
        config: &ConsumerConfig,
        waiting: bool,
        now: Instant,
    ) {
        if !waiting {
            self.unassigned = None;
            return;
        }
        let (since, said) = self.unassigned.get_or_insert((now, false));
        if !*said && now >= *since + UNASSIGNED_GRACE {
            *said = true;
            say(kafka, config, format!(
                "the member has had no partition assigned for {UNASSIGNED_GRACE:?}: it waits for the coordinator of group '{}' to assign some, for as long as it runs (the subscribed topics may not exist yet, or the group has more members than partitions)",
                config.group_id
            ));
        }
    }

    /// When the member's wait for an assignment is next looked at.
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.unassigned {
            Some((since, false)) => Some(since + UNASSIGNED_GRACE),
            _ => None,
        }
    }
}

/// A warning, logged and sent as an event.
pub(super) fn say(kafka: &Kafka, config: &ConsumerConfig, message: String) {
    let message = if config.group_id.is_empty() {
        format!("consumer: {message}")
    } else {
        format!("consumer of group '{}': {message}", config.group_id)
    };
    tracing::warn!("{message}");
    kafka.emit(Event::Warning { message });
}
