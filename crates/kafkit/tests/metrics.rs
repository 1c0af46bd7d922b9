//! The `metrics` facade: a produce and a consume against the real broker change the counters,
//! histograms and gauges that `kafkit::metrics` names, with the labels it documents.

mod common;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use futures::StreamExt;
use kafkit::consumer::ConsumerConfig;
use kafkit::metrics as m;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::{CompositeKey, MetricKind};

/// One recorder for the whole test binary: the facade's recorder is global.
fn snapshotter() -> &'static Snapshotter {
    static S: std::sync::OnceLock<Snapshotter> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let s = recorder.snapshotter();
        recorder.install().expect("the only recorder");
        s
    })
}

/// Metric values by name, for those whose labels include every pair of `labels`.
#[derive(Default, Debug)]
struct Seen {
    counters: HashMap<String, u64>,
    gauges: HashMap<String, f64>,
    histograms: HashMap<String, Vec<f64>>,
}

/// Everything recorded so far: a snapshot drains counters and histograms, so they add up here.
fn recorded() -> std::sync::MutexGuard<'static, HashMap<CompositeKey, Value>> {
    static ALL: std::sync::OnceLock<Mutex<HashMap<CompositeKey, Value>>> =
        std::sync::OnceLock::new();
    let mut all = ALL.get_or_init(Default::default).lock().unwrap();
    for (key, _, _, value) in snapshotter().snapshot().into_vec() {
        let entry = all.entry(key).or_insert(Value::None);
        match value {
            DebugValue::Counter(c) => match entry {
                Value::Counter(t) => *t += c,
                _ => *entry = Value::Counter(c),
            },
            DebugValue::Gauge(g) => *entry = Value::Gauge(g.into_inner()),
            DebugValue::Histogram(h) => {
                let h = h.into_iter().map(|v| v.into_inner());
                match entry {
                    Value::Histogram(all) => all.extend(h),
                    _ => *entry = Value::Histogram(h.collect()),
                }
            }
        }
    }
    all
}

enum Value {
    None,
    Counter(u64),
    Gauge(f64),
    Histogram(Vec<f64>),
}

fn seen(labels: &[(&str, &str)]) -> Seen {
    let mut out = Seen::default();
    for (key, value) in recorded().iter() {
        let k = key.key();
        let matches = labels
            .iter()
            .all(|(n, v)| k.labels().any(|l| l.key() == *n && l.value() == *v));
        if !matches {
            continue;
        }
        let name = k.name().to_string();
        match (key.kind(), value) {
            (MetricKind::Counter, Value::Counter(c)) => *out.counters.entry(name).or_default() += c,
            (MetricKind::Gauge, Value::Gauge(g)) => {
                out.gauges.insert(name, *g);
            }
            (MetricKind::Histogram, Value::Histogram(h)) => out
                .histograms
                .entry(name)
                .or_default()
                .extend(h.iter().copied()),
            _ => {}
        }
    }
    out
}

#[tokio::test]
async fn producing_and_consuming_record_the_documented_metrics() {
    common::init_tracing();
    snapshotter();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "metrics", 2).await;
    common::produce(&kafka, &topic, 50).await;

    let topic_label = [(m::LABEL_TOPIC, topic.as_str())];
    let p = seen(&topic_label);
    assert_eq!(p.counters.get(m::PRODUCER_RECORD_SEND), Some(&50), "{p:?}");
    assert!(p.counters[m::PRODUCER_BYTES] > 0);
    let sizes = &p.histograms[m::PRODUCER_BATCH_SIZE];
    assert!(!sizes.is_empty() && sizes.iter().all(|s| *s > 0.0));
    let counts: f64 = p.histograms[m::PRODUCER_BATCH_RECORDS].iter().sum();
    assert_eq!(counts, 50.0);
    assert!(!p.counters.contains_key(m::PRODUCER_RECORD_ERRORS));

    let produce = seen(&[(m::LABEL_API, "Produce")]);
    assert!(
        !produce.histograms[m::REQUEST_LATENCY].is_empty(),
        "{produce:?}"
    );
    assert!(produce.counters[m::REQUEST_TOTAL] >= 1);
    let broker = seen(&[(m::LABEL_BROKER, common::bootstrap().as_str())]);
    assert!(broker.counters[m::OUTGOING_BYTES] > 0);
    assert!(broker.counters[m::INCOMING_BYTES] > 0);
    assert!(broker.counters[m::CONNECTION_CREATION] >= 1);
    assert!(
        broker.gauges.contains_key(m::REQUESTS_IN_FLIGHT),
        "{broker:?}"
    );
    let client = seen(&[(m::LABEL_CLIENT_ID, "kafkit-tests")]);
    assert!(
        client.gauges.contains_key(m::PRODUCER_BUFFER_USED),
        "{client:?}"
    );

    let group = common::unique("g-metrics");
    let c = kafka
        .consumer(
            ConsumerConfig::new(&group)
                .group_protocol(common::group_protocol(&kafka).await)
                // A classic member (Kafka 3.x) sends its first Heartbeat one interval after
                // joining; a KIP-848 member's join is a heartbeat.
                .heartbeat_interval(Duration::from_millis(200)),
        )
        .expect("consumer");
    c.subscribe(&[&topic], true).await.expect("subscribe");
    let mut stream = Box::pin(c.stream());
    for _ in 0..50 {
        tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("records within 30 s")
            .expect("stream open")
            .expect("record");
    }
    drop(stream);
    c.commit().await.expect("commit");
    let cons = seen(&topic_label);
    assert_eq!(
        cons.counters.get(m::CONSUMER_RECORDS),
        Some(&50),
        "{cons:?}"
    );
    assert!(cons.counters[m::CONSUMER_BYTES] > 0);
    for part in ["0", "1"] {
        let lag = seen(&[(m::LABEL_TOPIC, topic.as_str()), (m::LABEL_PARTITION, part)]);
        assert_eq!(
            lag.gauges.get(m::CONSUMER_LAG),
            Some(&0.0),
            "partition {part}: {lag:?}"
        );
    }
    let g = group.clone();
    common::eventually(Duration::from_secs(10), "a heartbeat's latency", || {
        let g = seen(&[(m::LABEL_GROUP, g.as_str())]);
        async move {
            g.histograms
                .get(m::CONSUMER_HEARTBEAT_LATENCY)
                .is_some_and(|h| !h.is_empty())
        }
    })
    .await;
    let g = seen(&[(m::LABEL_GROUP, group.as_str())]);
    assert!(!g.histograms[m::CONSUMER_COMMIT_LATENCY].is_empty());
    let assigned = seen(&[
        (m::LABEL_GROUP, group.as_str()),
        (m::LABEL_KIND, "assigned"),
    ]);
    assert!(assigned.counters[m::CONSUMER_REBALANCES] >= 1);
    assert!(!assigned.histograms[m::CONSUMER_REBALANCE_LATENCY].is_empty());
    let fetch = seen(&[(m::LABEL_API, "Fetch")]);
    assert!(fetch.counters[m::REQUEST_TOTAL] >= 1);
    c.stop().await.expect("stop");
}
