//! KIP-714 client telemetry: when the cluster has a client-metrics subscription that matches
//! this client, the client pushes the subscribed metrics to a broker at the interval the broker
//! asks, as OTLP protobuf (PushTelemetry). Without a subscription it only asks
//! (GetTelemetrySubscriptions, once per push interval); against a broker without a telemetry
//! receiver (which then does not list the APIs) it sends nothing at all.
//!
//! The numbers come from the handle's own [`Event`]s: the task subscribes to them only while a
//! subscription exists, so an unsubscribed client pays nothing for telemetry.

mod otlp;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use kafka_protocol::messages::{
    GetTelemetrySubscriptionsRequest, PushTelemetryRequest, PushTelemetryResponse,
};
use kafka_protocol::protocol::Request;
use prost::Message;
use tokio::sync::broadcast;

use crate::events::Event;
use crate::kafka::WeakKafka;
use crate::Kafka;

/// How long to wait before asking again after a failed GetTelemetrySubscriptions.
const RETRY_AFTER: Duration = Duration::from_secs(30);
/// The broker's push interval is honoured within these bounds (a broken value must neither
/// flood the broker nor silence the client for days).
const MIN_INTERVAL: Duration = Duration::from_millis(100);
const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// What a GetTelemetrySubscriptions answer asks for.
struct Subscription {
    instance_id: uuid::Uuid,
    id: i32,
    interval: Duration,
    max_bytes: usize,
    delta: bool,
    /// Metric name prefixes; an empty prefix matches every metric.
    prefixes: Vec<String>,
}

impl Subscription {
    fn wants(&self, name: &str) -> bool {
        self.prefixes
            .iter()
            .any(|p| p.is_empty() || p == "*" || name.starts_with(p.as_str()))
    }
}

/// Starts the telemetry task of a handle; it ends when the handle is dropped.
pub(crate) fn spawn(kafka: WeakKafka) {
    tokio::spawn(run(kafka));
}

async fn run(weak: WeakKafka) {
    let mut instance_id = uuid::Uuid::nil();
    let mut stats = Stats::new();
    let mut events: Option<broadcast::Receiver<Event>> = None;
    loop {
        let Some(kafka) = weak.upgrade() else { return };
        let sub = match get_subscription(&kafka, instance_id).await {
            Ok(Some(s)) => s,
            Ok(None) => return, // the cluster has no telemetry receiver
            Err(e) => {
                tracing::debug!(error = %e, "GetTelemetrySubscriptions failed");
                drop(kafka);
                tokio::time::sleep(RETRY_AFTER).await;
                continue;
            }
        };
        instance_id = sub.instance_id;
        if sub.prefixes.is_empty() {
            // Nothing subscribed: collect nothing, ask again later.
            events = None;
            drop(kafka);
            tokio::time::sleep(sub.interval).await;
            continue;
        }
        let rx = events.get_or_insert_with(|| {
            stats = Stats::new();
            kafka.events()
        });
        drop(kafka);
        // The first push comes at a random point of the first interval (as KIP-714 asks), so
        // clients started together do not push together.
        let mut wait = sub.interval.mul_f64(0.5 + rand::random::<f64>());
        loop {
            collect_for(rx, &mut stats, wait).await;
            let Some(kafka) = weak.upgrade() else { return };
            match push(&kafka, &sub, &mut stats, false).await {
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

/// Feeds events into `stats` for `wait`.
async fn collect_for(rx: &mut broadcast::Receiver<Event>, stats: &mut Stats, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(ev) => stats.observe(&ev),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => {
                    tokio::time::sleep_until(deadline).await;
                    return;
                }
            },
            _ = tokio::time::sleep_until(deadline) => return,
        }
    }
}

async fn get_subscription(
    kafka: &Kafka,
    instance_id: uuid::Uuid,
) -> crate::Result<Option<Subscription>> {
    let conn = kafka.pool().any().await?;
    if !conn
        .api_versions()
        .supports(GetTelemetrySubscriptionsRequest::KEY)
    {
        return Ok(None);
    }
    let mut req = GetTelemetrySubscriptionsRequest::default();
    req.client_instance_id = instance_id;
    let resp = conn.send(&req).await?;
    crate::Error::check(resp.error_code, "get_telemetry_subscriptions", || {
        "the broker refused GetTelemetrySubscriptions".to_string()
    })?;
    let instance_id = if instance_id.is_nil() {
        resp.client_instance_id
    } else {
        instance_id
    };
    let interval = Duration::from_millis(resp.push_interval_ms.max(0) as u64)
        .clamp(MIN_INTERVAL, MAX_INTERVAL);
    Ok(Some(Subscription {
        instance_id,
        id: resp.subscription_id,
        interval,
        max_bytes: resp.telemetry_max_bytes.max(0) as usize,
        delta: resp.delta_temporality,
        prefixes: resp
            .requested_metrics
            .iter()
            .map(|m| m.to_string())
            .collect(),
    }))
}

/// Sends one push; returns the broker's error code.
async fn push(
    kafka: &Kafka,
    sub: &Subscription,
    stats: &mut Stats,
    terminating: bool,
) -> crate::Result<i16> {
    let conn = kafka.pool().any().await?;
    if !conn.api_versions().supports(PushTelemetryRequest::KEY) {
        return Ok(0);
    }
    let payload = stats.encode(kafka, sub);
    let mut req = PushTelemetryRequest::default();
    req.client_instance_id = sub.instance_id;
    req.subscription_id = sub.id;
    req.terminating = terminating;
    // Uncompressed: every broker accepts it, and a push is a few kilobytes at most.
    req.compression_type = 0;
    let size = payload.len();
    req.metrics = Bytes::from(payload);
    let resp: PushTelemetryResponse = conn.send(&req).await?;
    kafka.emit(Event::TelemetryPush {
        broker: conn.addr().to_string(),
        error_code: resp.error_code,
        size,
    });
    Ok(resp.error_code)
}

/// Latency of one kind of request, over one push interval.
#[derive(Default, Clone, Copy)]
struct Window {
    count: u64,
    sum: Duration,
    max: Duration,
}

impl Window {
    fn add(&mut self, d: Duration) {
        self.count += 1;
        self.sum += d;
        self.max = self.max.max(d);
    }

    fn avg_ms(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum.as_secs_f64() * 1000.0 / self.count as f64
        }
    }
}

/// What the events of the handle add up to.
struct Stats {
    started_ns: u64,
    last_push_ns: u64,
    producer: bool,
    consumer: bool,
    connections: u64,
    connections_at_push: u64,
    records_consumed: u64,
    records_consumed_at_push: u64,
    produce_bytes: u64,
    produce_bytes_at_push: u64,
    node_latency: BTreeMap<String, Window>,
    fetch_latency: Window,
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl Stats {
    fn new() -> Self {
        let now = now_ns();
        Stats {
            started_ns: now,
            last_push_ns: now,
            producer: false,
            consumer: false,
            connections: 0,
            connections_at_push: 0,
            records_consumed: 0,
            records_consumed_at_push: 0,
            produce_bytes: 0,
            produce_bytes_at_push: 0,
            node_latency: BTreeMap::new(),
            fetch_latency: Window::default(),
        }
    }

    fn observe(&mut self, ev: &Event) {
        match ev {
            Event::Connect { .. } => self.connections += 1,
            Event::Request {
                broker,
                api,
                duration,
                size,
                ..
            } => {
                match *api {
                    "GetTelemetrySubscriptions" | "PushTelemetry" => return,
                    "Produce" => {
                        self.producer = true;
                        self.produce_bytes += *size as u64;
                    }
                    "Fetch"
                    | "ConsumerGroupHeartbeat"
                    | "JoinGroup"
                    | "Heartbeat"
                    | "OffsetCommit" => self.consumer = true,
                    _ => {}
                }
                self.node_latency
                    .entry(broker.clone())
                    .or_default()
                    .add(*duration);
            }
            Event::Fetch {
                records, duration, ..
            } => {
                self.consumer = true;
                self.records_consumed += *records as u64;
                self.fetch_latency.add(*duration);
            }
            _ => {}
        }
    }

    /// The subscribed metrics as an OTLP `MetricsData`, within the broker's size limit; the
    /// interval windows restart.
    fn encode(&mut self, kafka: &Kafka, sub: &Subscription) -> Vec<u8> {
        let now = now_ns();
        let start = if sub.delta {
            self.last_push_ns
        } else {
            self.started_ns
        };
        let temporality = if sub.delta {
            otlp::DELTA
        } else {
            otlp::CUMULATIVE
        };
        let point = |attributes, value| otlp::NumberDataPoint {
            attributes,
            start_time_unix_nano: start,
            time_unix_nano: now,
            value: Some(value),
        };
        let sum = |total: u64, at_push: u64| {
            let v = if sub.delta { total - at_push } else { total };
            otlp::Value::AsInt(v as i64)
        };
        let nodes: HashMap<String, i32> = kafka
            .cluster()
            .snapshot()
            .brokers
            .values()
            .map(|b| (b.addr(), b.node_id))
            .collect();
        let mut roles = Vec::new();
        if self.producer {
            roles.push("org.apache.kafka.producer.");
        }
        if self.consumer {
            roles.push("org.apache.kafka.consumer.");
        }
        if roles.is_empty() {
            roles.push("org.apache.kafka.admin.");
        }
        let mut metrics = Vec::new();
        let mut add = |name: String, unit: &str, data: otlp::Data| {
            if sub.wants(&name) {
                metrics.push(otlp::Metric {
                    name,
                    description: String::new(),
                    unit: unit.to_string(),
                    data: Some(data),
                });
            }
        };
        for role in &roles {
            add(
                format!("{role}connection.creation.total"),
                "",
                otlp::Data::Sum(otlp::Sum {
                    data_points: vec![point(
                        vec![],
                        sum(self.connections, self.connections_at_push),
                    )],
                    aggregation_temporality: temporality,
                    is_monotonic: true,
                }),
            );
            for (stat, pick) in [
                ("avg", Window::avg_ms as fn(&Window) -> f64),
                ("max", |w: &Window| w.max.as_secs_f64() * 1000.0),
            ] {
                let points = self
                    .node_latency
                    .iter()
                    .map(|(broker, w)| {
                        let node = nodes.get(broker).map_or(-1, |n| *n);
                        point(
                            vec![otlp::attr("node_id", node.to_string())],
                            otlp::Value::AsDouble(pick(w)),
                        )
                    })
                    .collect();
                add(
                    format!("{role}node.request.latency.{stat}"),
                    "ms",
                    otlp::Data::Gauge(otlp::Gauge {
                        data_points: points,
                    }),
                );
            }
        }
        if self.producer {
            add(
                "org.apache.kafka.producer.outgoing.byte.total".to_string(),
                "bytes",
                otlp::Data::Sum(otlp::Sum {
                    data_points: vec![point(
                        vec![],
                        sum(self.produce_bytes, self.produce_bytes_at_push),
                    )],
                    aggregation_temporality: temporality,
                    is_monotonic: true,
                }),
            );
        }
        if self.consumer {
            add(
                "org.apache.kafka.consumer.fetch.manager.records.consumed.total".to_string(),
                "",
                otlp::Data::Sum(otlp::Sum {
                    data_points: vec![point(
                        vec![],
                        sum(self.records_consumed, self.records_consumed_at_push),
                    )],
                    aggregation_temporality: temporality,
                    is_monotonic: true,
                }),
            );
            for (stat, v) in [
                ("avg", self.fetch_latency.avg_ms()),
                ("max", self.fetch_latency.max.as_secs_f64() * 1000.0),
            ] {
                add(
                    format!("org.apache.kafka.consumer.fetch.manager.fetch.latency.{stat}"),
                    "ms",
                    otlp::Data::Gauge(otlp::Gauge {
                        data_points: vec![point(vec![], otlp::Value::AsDouble(v))],
                    }),
                );
            }
        }
        let config = kafka.config();
        let data = |metrics| otlp::MetricsData {
            resource_metrics: vec![otlp::ResourceMetrics {
                resource: Some(otlp::Resource {
                    attributes: vec![
                        otlp::attr("client_id", config.client_id.clone()),
                        otlp::attr("client_software_name", "kafkit"),
                        otlp::attr("client_software_version", env!("CARGO_PKG_VERSION")),
                    ],
                }),
                scope_metrics: vec![otlp::ScopeMetrics {
                    scope: Some(otlp::InstrumentationScope {
                        name: "kafkit".to_string(),
                        version: env!("CARGO_PKG_VERSION").to_string(),
                    }),
                    metrics,
                }],
            }],
        };
        let mut payload = data(metrics.clone()).encode_to_vec();
        // Over the broker's limit: drop metrics from the end until it fits.
        while sub.max_bytes > 0 && payload.len() > sub.max_bytes && !metrics.is_empty() {
            metrics.pop();
            payload = data(metrics.clone()).encode_to_vec();
        }
        self.last_push_ns = now;
        self.connections_at_push = self.connections;
        self.records_consumed_at_push = self.records_consumed;
        self.produce_bytes_at_push = self.produce_bytes;
        self.node_latency
            .values_mut()
            .for_each(|w| *w = Window::default());
        self.fetch_latency = Window::default();
        payload
    }
}

#[cfg(test)]
mod tests {
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
}
