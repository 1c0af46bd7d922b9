//! The KIP-714 standard client metrics, from [`Stats`], as an OTLP `MetricsData` payload.
//!
//! Names are the Java client's (`org.apache.kafka.` + the metric group and name, dots for
//! dashes). Every client role the handle plays sends its own set:
//!
//! | role | metrics |
//! | --- | --- |
//! | every role (`producer.`, `consumer.`, or `admin.` when neither) | `connection.creation.rate`, `connection.creation.total`, `node.request.latency.avg/max` (label `node_id`) |
//! | producer | `record.queue.time.avg/max`, `produce.throttle.time.avg/max`, `outgoing.byte.total` |
//! | consumer | `poll.idle.ratio.avg`, `coordinator.commit.latency.avg/max`, `coordinator.assigned.partitions`, `coordinator.rebalance.latency.avg/max/total`, `fetch.manager.fetch.latency.avg/max`, `fetch.manager.records.consumed.total` |
//!
//! Latencies and times are milliseconds. `poll.idle.ratio.avg` is the share of the interval
//! outside `run_each_message` / `run_each_batch` handlers; `coordinator.rebalance.latency` is
//! the time of each join (classic: every rebalance; KIP-848: a join or rejoin).

use std::collections::HashMap;

use prost::Message;

use super::otlp;
use super::stats::{now_ns, Stats, Window};
use super::Subscription;

const PRODUCER: &str = "org.apache.kafka.producer.";
const CONSUMER: &str = "org.apache.kafka.consumer.";
const ADMIN: &str = "org.apache.kafka.admin.";

/// Who the payload is from (OTLP resource attributes) and how brokers are named.
pub(super) struct Client<'a> {
    pub client_id: &'a str,
    /// `host:port` to node id, for the `node_id` label.
    pub nodes: HashMap<String, i32>,
}

/// Collects the metrics the subscription asks for.
struct Metrics<'a> {
    sub: &'a Subscription,
    start: u64,
    now: u64,
    out: Vec<otlp::Metric>,
}

impl Metrics<'_> {
    fn point(&self, attributes: Vec<otlp::KeyValue>, value: otlp::Value) -> otlp::NumberDataPoint {
        otlp::NumberDataPoint {
            attributes,
            start_time_unix_nano: self.start,
            time_unix_nano: self.now,
            value: Some(value),
        }
    }

    fn add(&mut self, name: String, unit: &str, data: otlp::Data) {
        if self.sub.wants(&name) {
            self.out.push(otlp::Metric {
                name,
                description: String::new(),
                unit: unit.to_string(),
                data: Some(data),
            });
        }
    }

    fn gauge(&mut self, name: String, unit: &str, value: f64) {
        let p = self.point(vec![], otlp::Value::AsDouble(value));
        self.add(
            name,
            unit,
            otlp::Data::Gauge(otlp::Gauge {
                data_points: vec![p],
            }),
        );
    }

    fn avg_max(&mut self, prefix: String, w: &Window) {
        self.gauge(format!("{prefix}.avg"), "ms", w.avg_ms());
        self.gauge(format!("{prefix}.max"), "ms", w.max_ms());
    }

    /// A monotonic sum: the interval's part (delta temporality) or the whole (cumulative).
    fn sum(&mut self, name: String, unit: &str, since_push: u64, total: u64) {
        let (v, temporality) = if self.sub.delta {
            (since_push, otlp::DELTA)
        } else {
            (total, otlp::CUMULATIVE)
        };
        let p = self.point(
            vec![],
            otlp::Value::AsInt(i64::try_from(v).unwrap_or(i64::MAX)),
        );
        self.add(
            name,
            unit,
            otlp::Data::Sum(otlp::Sum {
                data_points: vec![p],
                aggregation_temporality: temporality,
                is_monotonic: true,
            }),
        );
    }
}

/// The subscribed metrics as OTLP within the broker's size limit (metrics are dropped from the
/// end until it fits); the interval's windows restart.
pub(super) fn encode(stats: &mut Stats, client: &Client<'_>, sub: &Subscription) -> Vec<u8> {
    let now = now_ns();
    let start = if sub.delta {
        stats.last_push_ns
    } else {
        stats.started_ns
    };
    let mut m = Metrics {
        sub,
        start,
        now,
        out: Vec::new(),
    };
    let mut roles = Vec::new();
    if stats.producer {
        roles.push(PRODUCER);
    }
    if stats.consumer {
        roles.push(CONSUMER);
    }
    if roles.is_empty() {
        roles.push(ADMIN);
    }
    let secs = stats.interval_secs(now);
    for role in roles {
        let c = stats.connections;
        m.gauge(
            format!("{role}connection.creation.rate"),
            "",
            c.since_push() as f64 / secs,
        );
        m.sum(
            format!("{role}connection.creation.total"),
            "",
            c.since_push(),
            c.total,
        );
        for (stat, pick) in [
            ("avg", Window::avg_ms as fn(&Window) -> f64),
            ("max", Window::max_ms),
        ] {
            let points = stats
                .node_latency
                .iter()
                .map(|(broker, w)| {
                    let node = client.nodes.get(broker).map_or(-1, |n| *n);
                    m.point(
                        vec![otlp::attr("node_id", node.to_string())],
                        otlp::Value::AsDouble(pick(w)),
                    )
                })
                .collect();
            m.add(
                format!("{role}node.request.latency.{stat}"),
                "ms",
                otlp::Data::Gauge(otlp::Gauge {
                    data_points: points,
                }),
            );
        }
    }
    if stats.producer {
        m.avg_max(format!("{PRODUCER}record.queue.time"), &stats.queue_time);
        m.avg_max(
            format!("{PRODUCER}produce.throttle.time"),
            &stats.produce_throttle,
        );
        let b = stats.produce_bytes;
        m.sum(
            format!("{PRODUCER}outgoing.byte.total"),
            "bytes",
            b.since_push(),
            b.total,
        );
    }
    if stats.consumer {
        m.gauge(
            format!("{CONSUMER}poll.idle.ratio.avg"),
            "",
            stats.idle_ratio(now),
        );
        m.avg_max(
            format!("{CONSUMER}coordinator.commit.latency"),
            &stats.commit_latency,
        );
        m.gauge(
            format!("{CONSUMER}coordinator.assigned.partitions"),
            "",
            stats.assigned_partitions() as f64,
        );
        m.avg_max(
            format!("{CONSUMER}coordinator.rebalance.latency"),
            &stats.rebalance_latency,
        );
        let r = stats.rebalance_ms;
        m.sum(
            format!("{CONSUMER}coordinator.rebalance.latency.total"),
            "ms",
            r.since_push(),
            r.total,
        );
        m.avg_max(
            format!("{CONSUMER}fetch.manager.fetch.latency"),
            &stats.fetch_latency,
        );
        let r = stats.records_consumed;
        m.sum(
            format!("{CONSUMER}fetch.manager.records.consumed.total"),
            "",
            r.since_push(),
            r.total,
        );
    }
    let mut metrics = m.out;
    let data = |metrics: Vec<otlp::Metric>| otlp::MetricsData {
        resource_metrics: vec![otlp::ResourceMetrics {
            resource: Some(otlp::Resource {
                attributes: vec![
                    otlp::attr("client_id", client.client_id),
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
    while sub.max_bytes > 0 && payload.len() > sub.max_bytes && !metrics.is_empty() {
        metrics.pop();
        payload = data(metrics.clone()).encode_to_vec();
    }
    stats.pushed(now);
    payload
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::events::Event;

    fn sub(prefixes: &[&str], delta: bool, max_bytes: usize) -> Subscription {
        Subscription {
            instance_id: uuid::Uuid::nil(),
            id: 1,
            interval: Duration::from_secs(1),
            max_bytes,
            delta,
            prefixes: prefixes.iter().map(|s| s.to_string()).collect(),
            compression: crate::protocol::compression::Compression::None,
        }
    }

    fn client() -> Client<'static> {
        Client {
            client_id: "c",
            nodes: [("b:1".to_string(), 7)].into_iter().collect(),
        }
    }

    fn names(payload: &[u8]) -> Vec<String> {
        let d = otlp::MetricsData::decode(payload).expect("OTLP");
        d.resource_metrics[0].scope_metrics[0]
            .metrics
            .iter()
            .map(|m| m.name.clone())
            .collect()
    }

    fn busy_client() -> Stats {
        let mut s = Stats::new();
        for api in ["Produce", "Fetch"] {
            s.observe(&Event::Request {
                broker: "b:1".into(),
                api,
                api_key: 0,
                api_version: 0,
                correlation_id: 1,
                sent_at: std::time::SystemTime::now(),
                pending: Duration::ZERO,
                duration: Duration::from_millis(3),
                size: 10,
                response_size: 0,
            });
        }
        s
    }

    #[test]
    fn every_standard_metric_of_both_roles() {
        let mut s = busy_client();
        let got = names(&encode(&mut s, &client(), &sub(&[""], true, 0)));
        for want in [
            "org.apache.kafka.producer.connection.creation.rate",
            "org.apache.kafka.producer.connection.creation.total",
            "org.apache.kafka.producer.node.request.latency.avg",
            "org.apache.kafka.producer.node.request.latency.max",
            "org.apache.kafka.producer.record.queue.time.avg",
            "org.apache.kafka.producer.record.queue.time.max",
            "org.apache.kafka.producer.produce.throttle.time.avg",
            "org.apache.kafka.producer.produce.throttle.time.max",
            "org.apache.kafka.consumer.connection.creation.rate",
            "org.apache.kafka.consumer.connection.creation.total",
            "org.apache.kafka.consumer.node.request.latency.avg",
            "org.apache.kafka.consumer.node.request.latency.max",
            "org.apache.kafka.consumer.poll.idle.ratio.avg",
            "org.apache.kafka.consumer.coordinator.commit.latency.avg",
            "org.apache.kafka.consumer.coordinator.commit.latency.max",
            "org.apache.kafka.consumer.coordinator.assigned.partitions",
            "org.apache.kafka.consumer.coordinator.rebalance.latency.avg",
            "org.apache.kafka.consumer.coordinator.rebalance.latency.max",
            "org.apache.kafka.consumer.coordinator.rebalance.latency.total",
            "org.apache.kafka.consumer.fetch.manager.fetch.latency.avg",
            "org.apache.kafka.consumer.fetch.manager.fetch.latency.max",
        ] {
            assert!(got.iter().any(|n| n == want), "{want} missing from {got:?}");
        }
    }

    #[test]
    fn only_the_subscribed_prefixes() {
        let mut s = busy_client();
        let got = names(&encode(
            &mut s,
            &client(),
            &sub(&["org.apache.kafka.producer.record."], true, 0),
        ));
        assert_eq!(
            got,
            [
                "org.apache.kafka.producer.record.queue.time.avg",
                "org.apache.kafka.producer.record.queue.time.max"
            ]
        );
    }

    #[test]
    fn node_latency_names_the_node() {
        let mut s = busy_client();
        let p = encode(
            &mut s,
            &client(),
            &sub(
                &["org.apache.kafka.producer.node.request.latency.max"],
                true,
                0,
            ),
        );
        let d = otlp::MetricsData::decode(p.as_slice()).unwrap();
        let m = &d.resource_metrics[0].scope_metrics[0].metrics[0];
        let Some(otlp::Data::Gauge(g)) = &m.data else {
            panic!("{m:?}")
        };
        assert_eq!(
            g.data_points[0].attributes,
            vec![otlp::attr("node_id", "7")]
        );
        assert_eq!(g.data_points[0].value, Some(otlp::Value::AsDouble(3.0)));
    }

    #[test]
    fn cumulative_sums_keep_counting_across_pushes() {
        let total = |s: &mut Stats, delta| {
            let p = encode(
                s,
                &client(),
                &sub(&["org.apache.kafka.producer.outgoing.byte.total"], delta, 0),
            );
            let d = otlp::MetricsData::decode(p.as_slice()).unwrap();
            match &d.resource_metrics[0].scope_metrics[0].metrics[0].data {
                Some(otlp::Data::Sum(s)) => s.data_points[0].value.clone(),
                other => panic!("{other:?}"),
            }
        };
        let mut s = busy_client();
        assert_eq!(total(&mut s, false), Some(otlp::Value::AsInt(10)));
        assert_eq!(total(&mut s, false), Some(otlp::Value::AsInt(10)));
        assert_eq!(total(&mut s, true), Some(otlp::Value::AsInt(0)));
    }

    #[test]
    fn a_small_limit_drops_metrics_until_it_fits() {
        let mut s = busy_client();
        let p = encode(&mut s, &client(), &sub(&[""], true, 400));
        assert!(p.len() <= 400, "{}", p.len());
        assert!(!names(&p).is_empty());
    }
}
