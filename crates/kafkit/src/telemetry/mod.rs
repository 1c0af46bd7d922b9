//! KIP-714 client telemetry: when the cluster has a client-metrics subscription that matches
//! this client, the client pushes the subscribed metrics to a broker at the interval the broker
//! asks, as OTLP protobuf (PushTelemetry), compressed with the first codec the broker accepts.
//! Without a subscription it only asks (GetTelemetrySubscriptions, once per push interval);
//! against a broker without a telemetry receiver (which then does not list the APIs) it sends
//! nothing at all. [`crate::Kafka::close`] sends the last push, marked terminating, as KIP-714
//! asks.
//!
//! The numbers come from the handle's own [`Event`]s: the task subscribes to them only while a
//! subscription exists, so an unsubscribed client pays nothing for telemetry.

mod encode;
mod otlp;
mod stats;
mod wire;

use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot};

use std::sync::Weak;

use crate::cluster::Cluster;
use crate::events::Event;
use crate::net::BrokerPool;
use crate::protocol::compression::Compression;
use stats::Stats;

/// How long to wait before asking again after a failed GetTelemetrySubscriptions.
const RETRY_AFTER: Duration = Duration::from_secs(30);

/// What a GetTelemetrySubscriptions answer asks for.
#[derive(Debug)]
struct Subscription {
    instance_id: uuid::Uuid,
    id: i32,
    interval: Duration,
    max_bytes: usize,
    delta: bool,
    /// Metric name prefixes; an empty prefix matches every metric.
    prefixes: Vec<String>,
    /// The codec pushes use (the first of the broker's accepted ones).
    compression: Compression,
}

impl Subscription {
    fn wants(&self, name: &str) -> bool {
        self.prefixes
            .iter()
            .any(|p| p.is_empty() || p == "*" || name.starts_with(p.as_str()))
    }
}

/// A close asks the task for its terminating push; the task answers once it is sent.
type CloseRequest = oneshot::Sender<()>;

/// The handle's side of its telemetry task.
pub(crate) struct Telemetry {
    close: mpsc::UnboundedSender<CloseRequest>,
}

/// The task's side: where close requests arrive.
pub(crate) struct Closes(mpsc::UnboundedReceiver<CloseRequest>);

impl Telemetry {
    pub(crate) fn new() -> (Telemetry, Closes) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Telemetry { close: tx }, Closes(rx))
    }

    /// Asks for the terminating push and waits for it, for up to `timeout`. Returns at once
    /// when the task has ended (no telemetry receiver, or closed before).
    pub(crate) async fn terminate(&self, timeout: Duration) {
        let (tx, rx) = oneshot::channel();
        if self.close.send(tx).is_ok() {
            let _ = tokio::time::timeout(timeout, rx).await;
        }
    }
}

/// What the telemetry task needs of the client handle it reports for. The handle implements
/// it, so this layer, below the handle, does not import it.
pub(crate) trait Host: Send + Sync + 'static {
    fn pool(&self) -> &BrokerPool;
    fn cluster(&self) -> &Cluster;
    fn client_id(&self) -> &str;
    fn events(&self) -> &broadcast::Sender<Event>;
}

/// Starts the telemetry task of a handle; it ends when the handle closes or is dropped.
pub(crate) fn spawn(host: Weak<dyn Host>, closes: Closes) {
    tokio::spawn(run(host, closes));
}

/// Why a wait ended.
enum Wake {
    Elapsed,
    /// The handle is closing: push the terminating metrics (if subscribed), then answer.
    Close(CloseRequest),
    /// The handle is gone.
    Gone,
}

/// Waits for `wait`, or less when the handle closes.
async fn sleep(closes: &mut Closes, wait: Duration) -> Wake {
    tokio::select! {
        c = closes.0.recv() => c.map_or(Wake::Gone, Wake::Close),
        _ = tokio::time::sleep(wait) => Wake::Elapsed,
    }
}

/// Feeds events into `stats` for `wait`, or less when the handle closes.
async fn collect_for(
    rx: &mut broadcast::Receiver<Event>,
    stats: &mut Stats,
    closes: &mut Closes,
    wait: Duration,
) -> Wake {
    let deadline = tokio::time::Instant::now() + wait;
    let mut open = true;
    loop {
        tokio::select! {
            ev = rx.recv(), if open => match ev {
                Ok(ev) => stats.observe(&ev),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => open = false,
            },
            c = closes.0.recv() => return c.map_or(Wake::Gone, Wake::Close),
            _ = tokio::time::sleep_until(deadline) => return Wake::Elapsed,
        }
    }
}

async fn run(weak: Weak<dyn Host>, mut closes: Closes) {
    let mut instance_id = uuid::Uuid::nil();
    let mut stats = Stats::new();
    let mut events: Option<broadcast::Receiver<Event>> = None;
    loop {
        let Some(kafka) = weak.upgrade() else { return };
        let sub = match wire::get_subscription(&*kafka, instance_id).await {
            Ok(Some(s)) => s,
            Ok(None) => return, // the cluster has no telemetry receiver
            Err(e) => {
                tracing::debug!(error = %e, "GetTelemetrySubscriptions failed");
                drop(kafka);
                match sleep(&mut closes, RETRY_AFTER).await {
                    Wake::Elapsed => continue,
                    Wake::Close(done) => {
                        let _ = done.send(());
                        return;
                    }
                    Wake::Gone => return,
                }
            }
        };
        instance_id = sub.instance_id;
        if sub.prefixes.is_empty() {
            // Nothing subscribed: collect nothing, ask again later (nothing to push on close).
            events = None;
            drop(kafka);
            match sleep(&mut closes, sub.interval).await {
                Wake::Elapsed => continue,
                Wake::Close(done) => {
                    let _ = done.send(());
                    return;
                }
                Wake::Gone => return,
            }
        }
        let rx = events.get_or_insert_with(|| {
            stats = Stats::new();
            kafka.events().subscribe()
        });
        drop(kafka);
        // The first push comes at a random point of the first interval (as KIP-714 asks), so
        // clients started together do not push together.
        let mut wait = sub.interval.mul_f64(0.5 + rand::random::<f64>());
        loop {
            let wake = collect_for(rx, &mut stats, &mut closes, wait).await;
            let Some(kafka) = weak.upgrade() else { return };
            match wake {
                Wake::Elapsed => {}
                Wake::Close(done) => {
                    // KIP-714: a closing client sends its last metrics with Terminating set
                    // (the broker takes it before the interval ends, and nothing after it).
                    // What the closing clients did last counts too.
                    while let Ok(ev) = rx.try_recv() {
                        stats.observe(&ev);
                    }
                    if let Err(e) = wire::push(&*kafka, &sub, &mut stats, true).await {
                        tracing::debug!(error = %e, "terminating PushTelemetry failed");
                    }
                    let _ = done.send(());
                    return;
                }
                Wake::Gone => return,
            }
            match wire::push(&*kafka, &sub, &mut stats, false).await {
                Ok(0) => {}
                Ok(code) => {
                    tracing::debug!(
                        code,
                        "PushTelemetry refused; asking for the subscription again"
                    );
                    break;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "PushTelemetry failed");
                    break;
                }
            }
            wait = sub.interval;
        }
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn prefixes_select_metrics() {
        let sub = |p: &[&str]| Subscription {
            instance_id: uuid::Uuid::nil(),
            id: 1,
            interval: Duration::from_secs(1),
            max_bytes: 0,
            delta: true,
            prefixes: p.iter().map(|s| s.to_string()).collect(),
            compression: Compression::None,
        };
        assert!(sub(&[""]).wants("org.apache.kafka.producer.x"));
        assert!(sub(&["*"]).wants("anything"));
        assert!(sub(&["org.apache.kafka.producer."]).wants("org.apache.kafka.producer.x"));
        assert!(!sub(&["org.apache.kafka.producer."]).wants("org.apache.kafka.consumer.x"));
        assert!(!sub(&[]).wants("org.apache.kafka.producer.x"));
    }

    #[test]
    fn otlp_round_trips() {
        let m = otlp::MetricsData {
            resource_metrics: vec![otlp::ResourceMetrics {
                resource: Some(otlp::Resource {
                    attributes: vec![otlp::attr("client_id", "c")],
                }),
                scope_metrics: vec![],
            }],
        };
        let bytes = m.encode_to_vec();
        assert_eq!(otlp::MetricsData::decode(bytes.as_slice()).unwrap(), m);
    }

    #[tokio::test]
    async fn terminate_returns_at_once_without_a_task() {
        let (t, closes) = Telemetry::new();
        drop(closes);
        tokio::time::timeout(
            Duration::from_millis(100),
            t.terminate(Duration::from_secs(60)),
        )
        .await
        .expect("no task: no wait");
    }

    #[tokio::test]
    async fn a_close_wakes_a_waiting_task() {
        let (t, mut closes) = Telemetry::new();
        let waiting = tokio::spawn(async move {
            match sleep(&mut closes, Duration::from_secs(3600)).await {
                Wake::Close(done) => {
                    let _ = done.send(());
                    true
                }
                _ => false,
            }
        });
        tokio::time::timeout(Duration::from_secs(5), t.terminate(Duration::from_secs(60)))
            .await
            .expect("answered");
        assert!(waiting.await.unwrap());
    }
}
