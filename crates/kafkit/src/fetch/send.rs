//! Sending one fetch of either kind (Fetch or ShareFetch) to a broker and waiting for its
//! answer, as both consumers do: on the lane the consumer reads on, for at most the fetch's
//! `max_wait` plus the request timeout, given up early if its partitions' leadership moves
//! away from a broker that stopped answering ([`leader::moved_away`]), and observed the same way
//! (a `FetchStart`/`Fetch` event pair and a `kafka.fetch` span).

use std::time::Duration;

use tokio::time::Instant;

use super::leader::{self, Watched};
use crate::error::Result;
use crate::events::Event;
use crate::net::{Connection, Lane};
use crate::protocol::wire::Request;
use crate::Kafka;

/// One fetch to send.
pub(crate) struct Fetch<'a> {
    pub node: i32,
    pub lane: Lane,
    /// How long the broker may hold the request (its `max_wait`).
    pub max_wait: Duration,
    /// The partitions asked for, with their leader epochs then.
    pub watched: &'a [Watched],
}

/// Sends the request `build` makes for the version the connection speaks (it may refuse one
/// it cannot express) and returns the answer with that version.
pub(crate) async fn send<R: Request>(
    kafka: &Kafka,
    fetch: &Fetch<'_>,
    build: impl FnOnce(&Connection, i16) -> Result<R>,
) -> Result<(R::Response, i16)> {
    let conn = kafka.pool().get(fetch.node, fetch.lane).await?;
    let version = conn.version::<R>()?;
    let req = build(&conn, version)?;
    let timeout = fetch.max_wait + kafka.config().request_timeout;
    tokio::select! {
        r = conn.send_timeout(&req, version, timeout) => Ok((r?, version)),
        e = leader::moved_away(kafka, fetch.node, fetch.max_wait, fetch.watched) => {
            // Frozen, and its partitions are elsewhere now: fetch them there at once.
            kafka.pool().mark_suspect(conn.addr());
            conn.abandon(e.clone());
            Err(e)
        }
    }
}

/// What observing one fetch takes: said when it starts, and when its answer is read.
pub(crate) struct Observed {
    node: i32,
    started: Instant,
}

impl Observed {
    /// A fetch to `node` starts now.
    pub fn start(kafka: &Kafka, node: i32) -> Observed {
        kafka.emit(Event::FetchStart { node_id: node });
        Observed {
            node,
            started: Instant::now(),
        }
    }

    /// Its answer brought `records`.
    pub fn answered(&self, kafka: &Kafka, records: usize) {
        tracing::Span::current().record("messaging.batch.message_count", records);
        kafka.emit(Event::Fetch {
            node_id: self.node,
            records,
            duration: self.started.elapsed(),
        });
    }
}

/// The span a fetch runs in (OpenTelemetry messaging conventions): `group`, the first topic.
pub(crate) fn span(group: &str, node: i32, topic: Option<&str>) -> tracing::Span {
    tracing::debug_span!(
        "kafka.fetch",
        otel.name = "receive",
        messaging.system = "kafka",
        messaging.operation.type = "receive",
        messaging.operation.name = "poll",
        messaging.kafka.consumer.group = %group,
        messaging.destination.name = topic,
        messaging.batch.message_count = tracing::field::Empty,
        kafka.node_id = node,
    )
}
