//! Metrics, through the [`metrics`](https://docs.rs/metrics) facade.
//!
//! kafkit records; the application chooses where the numbers go by installing a recorder
//! (Prometheus, StatsD, OpenTelemetry, ...) before it builds its clients. Without a recorder
//! every call is a no-op. Every name, its type, unit and labels are listed here and in
//! `docs/metrics.md`; names follow the Java client's (`record-send-total` becomes
//! `kafka.producer.record_send_total`), with the unit in the name where Prometheus wants it.
//!
//! For Prometheus, add the exporter without its default features (they include a push
//! gateway whose HTTPS client builds aws-lc, a C library; the scrape endpoint needs none of
//! it):
//!
//! ```toml
//! metrics-exporter-prometheus = { version = "0.18", default-features = false, features = ["http-listener"] }
//! ```
//!
//! (`cargo add metrics-exporter-prometheus@0.18 --no-default-features --features http-listener`;
//! 0.18 is the line that records through `metrics` 0.24, the facade kafkit uses.)
//!
//! ```no_run
//! # async fn demo() -> kafkit::Result<()> {
//! // Any `metrics` recorder works; this one serves Prometheus on :9000/metrics.
//! metrics_exporter_prometheus::PrometheusBuilder::new()
//!     .with_http_listener(([127, 0, 0, 1], 9000))
//!     .install()
//!     .expect("recorder");
//! kafkit::metrics::describe(); // help texts and units, for exporters that show them
//! let kafka = kafkit::Kafka::connect(kafkit::KafkaConfig::new(["127.0.0.1:9092"])).await?;
//! # Ok(()) }
//! ```
//!
//! Recording is per request, per batch or per fetched partition, never per record; label
//! values are `&'static str` or shared strings, so the hot path does not allocate for them
//! beyond what the recorder itself does.

use std::sync::Arc;
use std::time::Duration;

use ::metrics::{counter, gauge, histogram, SharedString, Unit};

// ---- Labels -----------------------------------------------------------------------------

/// `host:port` of the broker a request went to.
pub const LABEL_BROKER: &str = "broker";
/// Kafka API name of a request, e.g. `Produce`, `Fetch`.
pub const LABEL_API: &str = "api";
/// What kind of failure a request met (`timeout`, `connection`, `protocol`, ...).
pub const LABEL_ERROR: &str = "error";
/// Topic name.
pub const LABEL_TOPIC: &str = "topic";
/// Partition number.
pub const LABEL_PARTITION: &str = "partition";
/// Consumer group id.
pub const LABEL_GROUP: &str = "group";
/// Group protocol (`consumer` for KIP-848, `classic`).
pub const LABEL_PROTOCOL: &str = "protocol";
/// Rebalance step: `assigned`, `revoked` or `lost`.
pub const LABEL_KIND: &str = "kind";
/// The client id of the [`crate::Kafka`] handle.
pub const LABEL_CLIENT_ID: &str = "client_id";

// ---- Every client: requests and connections ----------------------------------------------

/// Histogram, seconds: request round-trip time. Labels `broker`, `api`.
/// Java `request-latency-avg/max` (per node).
pub const REQUEST_LATENCY: &str = "kafka.client.request_latency_seconds";
/// Counter: requests answered. Labels `broker`, `api`. Java `request-total`.
pub const REQUEST_TOTAL: &str = "kafka.client.request_total";
/// Counter: requests that failed on the wire (no or bad answer). Labels `broker`, `api`,
/// `error`. Error codes inside a response are counted by the client that reads them.
pub const REQUEST_ERRORS: &str = "kafka.client.request_error_total";
/// Gauge: requests sent and not yet answered. Label `broker`. Java `requests-in-flight`.
pub const REQUESTS_IN_FLIGHT: &str = "kafka.client.requests_in_flight";
/// Counter, bytes: request bytes written. Label `broker`. Java `outgoing-byte-total`.
pub const OUTGOING_BYTES: &str = "kafka.client.outgoing_byte_total";
/// Counter, bytes: response bytes read. Label `broker`. Java `incoming-byte-total`.
pub const INCOMING_BYTES: &str = "kafka.client.incoming_byte_total";
/// Counter: connections opened (after ApiVersions and SASL). Label `broker`.
/// Java `connection-creation-total`.
pub const CONNECTION_CREATION: &str = "kafka.client.connection_creation_total";

// ---- Producer ----------------------------------------------------------------------------

/// Histogram, bytes: size of each record batch sent (after compression). Label `topic`.
/// Java `batch-size-avg/max`.
pub const PRODUCER_BATCH_SIZE: &str = "kafka.producer.batch_size_bytes";
/// Histogram: records in each batch sent. Label `topic`. Java `records-per-request-avg`.
pub const PRODUCER_BATCH_RECORDS: &str = "kafka.producer.batch_record_count";
/// Counter: records acknowledged by the broker. Label `topic`. Java `record-send-total`.
pub const PRODUCER_RECORD_SEND: &str = "kafka.producer.record_send_total";
/// Counter, bytes: record batch bytes acknowledged. Label `topic`. Java `byte-total`.
pub const PRODUCER_BYTES: &str = "kafka.producer.byte_total";
/// Counter: records that failed for good. Label `topic`. Java `record-error-total`.
pub const PRODUCER_RECORD_ERRORS: &str = "kafka.producer.record_error_total";
/// Counter: records sent again after a retriable failure. Label `topic`.
/// Java `record-retry-total`.
pub const PRODUCER_RECORD_RETRIES: &str = "kafka.producer.record_retry_total";
/// Gauge, bytes: `buffer_memory` held by records not yet acknowledged. Label `client_id`.
/// Java `buffer-total-bytes` minus `buffer-available-bytes`. Producers sharing a client id
/// share the gauge (the last one to report wins).
pub const PRODUCER_BUFFER_USED: &str = "kafka.producer.buffer_used_bytes";

// ---- Consumer ----------------------------------------------------------------------------

/// Counter: records fetched (before the handler sees them). Label `topic`.
/// Java `records-consumed-total`.
pub const CONSUMER_RECORDS: &str = "kafka.consumer.records_consumed_total";
/// Counter, bytes: key and value bytes fetched. Label `topic`. Java `bytes-consumed-total`.
pub const CONSUMER_BYTES: &str = "kafka.consumer.bytes_consumed_total";
/// Gauge: records between the fetch position and the high watermark, from each fetch
/// answer. Labels `topic`, `partition`. Java `records-lag`.
pub const CONSUMER_LAG: &str = "kafka.consumer.records_lag";
/// Counter: rebalance steps finished. Labels `group`, `kind`. Java `rebalance-total`.
pub const CONSUMER_REBALANCES: &str = "kafka.consumer.rebalance_total";
/// Histogram, seconds: time a rebalance step took (assign: offsets lookup and hook; revoke:
/// waiting for the handler, commit and hook). Labels `group`, `kind`.
/// Java `rebalance-latency-avg/max`.
pub const CONSUMER_REBALANCE_LATENCY: &str = "kafka.consumer.rebalance_latency_seconds";
/// Histogram, seconds: OffsetCommit round trip, retries included. Label `group`.
/// Java `commit-latency-avg/max`.
pub const CONSUMER_COMMIT_LATENCY: &str = "kafka.consumer.commit_latency_seconds";
/// Histogram, seconds: group heartbeat round trip (ConsumerGroupHeartbeat or classic
/// Heartbeat). Labels `group`, `protocol`. Java `heartbeat-response-time-max`.
pub const CONSUMER_HEARTBEAT_LATENCY: &str = "kafka.consumer.heartbeat_latency_seconds";

/// Registers the description and unit of every metric with the installed recorder (Prometheus
/// shows them as `# HELP`). Call it once, after installing the recorder.
pub fn describe() {
    use ::metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(REQUEST_LATENCY, Unit::Seconds, "request round-trip time");
    describe_counter!(REQUEST_TOTAL, "requests answered");
    describe_counter!(REQUEST_ERRORS, "requests that failed on the wire");
    describe_gauge!(REQUESTS_IN_FLIGHT, "requests awaiting an answer");
    describe_counter!(OUTGOING_BYTES, Unit::Bytes, "request bytes written");
    describe_counter!(INCOMING_BYTES, Unit::Bytes, "response bytes read");
    describe_counter!(CONNECTION_CREATION, "connections opened");
    describe_histogram!(PRODUCER_BATCH_SIZE, Unit::Bytes, "record batch size");
    describe_histogram!(PRODUCER_BATCH_RECORDS, "records per batch");
    describe_counter!(PRODUCER_RECORD_SEND, "records acknowledged");
    describe_counter!(PRODUCER_BYTES, Unit::Bytes, "batch bytes acknowledged");
    describe_counter!(PRODUCER_RECORD_ERRORS, "records failed for good");
    describe_counter!(PRODUCER_RECORD_RETRIES, "records retried");
    describe_gauge!(
        PRODUCER_BUFFER_USED,
        Unit::Bytes,
        "buffer memory held by unacknowledged records"
    );
    describe_counter!(CONSUMER_RECORDS, "records fetched");
    describe_counter!(CONSUMER_BYTES, Unit::Bytes, "key and value bytes fetched");
    describe_gauge!(CONSUMER_LAG, "records behind the high watermark");
    describe_counter!(CONSUMER_REBALANCES, "rebalance steps finished");
    describe_histogram!(
        CONSUMER_REBALANCE_LATENCY,
        Unit::Seconds,
        "rebalance step duration"
    );
    describe_histogram!(
        CONSUMER_COMMIT_LATENCY,
        Unit::Seconds,
        "offset commit round trip"
    );
    describe_histogram!(
        CONSUMER_HEARTBEAT_LATENCY,
        Unit::Seconds,
        "group heartbeat round trip"
    );
}

// ---- Recording (crate-internal) ----------------------------------------------------------

/// A label value shared without copying (an `Arc<str>` clone per use).
pub(crate) fn shared(s: &Arc<str>) -> SharedString {
    SharedString::from(s.clone())
}

pub(crate) fn request_done(
    broker: &Arc<str>,
    api: &'static str,
    took: Duration,
    sent: usize,
    received: usize,
) {
    histogram!(REQUEST_LATENCY, LABEL_BROKER => shared(broker), LABEL_API => api)
        .record(took.as_secs_f64());
    counter!(REQUEST_TOTAL, LABEL_BROKER => shared(broker), LABEL_API => api).increment(1);
    counter!(OUTGOING_BYTES, LABEL_BROKER => shared(broker)).increment(sent as u64);
    counter!(INCOMING_BYTES, LABEL_BROKER => shared(broker)).increment(received as u64);
}

pub(crate) fn request_failed(broker: &Arc<str>, api: &'static str, error: &crate::Error) {
    let kind = error_label(error.kind());
    counter!(REQUEST_ERRORS, LABEL_BROKER => shared(broker), LABEL_API => api, LABEL_ERROR => kind)
        .increment(1);
}

pub(crate) fn in_flight(broker: &Arc<str>, delta: f64) {
    gauge!(REQUESTS_IN_FLIGHT, LABEL_BROKER => shared(broker)).increment(delta);
}

pub(crate) fn connection_created(broker: &str) {
    counter!(CONNECTION_CREATION, LABEL_BROKER => broker.to_string()).increment(1);
}

fn error_label(kind: &crate::ErrorKind) -> &'static str {
    use crate::ErrorKind as K;
    match kind {
        K::Timeout(_) => "timeout",
        K::Connection => "connection",
        K::Closed => "closed",
        K::Protocol => "protocol",
        K::TooLarge => "too_large",
        K::Auth => "auth",
        _ => "other",
    }
}

pub(crate) fn batch_sent(topic: &Arc<str>, bytes: usize, records: i32) {
    histogram!(PRODUCER_BATCH_SIZE, LABEL_TOPIC => shared(topic)).record(bytes as f64);
    histogram!(PRODUCER_BATCH_RECORDS, LABEL_TOPIC => shared(topic)).record(records as f64);
}

pub(crate) fn batch_acked(topic: &Arc<str>, bytes: usize, records: i32) {
    counter!(PRODUCER_RECORD_SEND, LABEL_TOPIC => shared(topic)).increment(records.max(0) as u64);
    counter!(PRODUCER_BYTES, LABEL_TOPIC => shared(topic)).increment(bytes as u64);
}

pub(crate) fn batch_failed(topic: &Arc<str>, records: i32) {
    counter!(PRODUCER_RECORD_ERRORS, LABEL_TOPIC => shared(topic)).increment(records.max(0) as u64);
}

pub(crate) fn batch_retried(topic: &Arc<str>, records: i32) {
    counter!(PRODUCER_RECORD_RETRIES, LABEL_TOPIC => shared(topic))
        .increment(records.max(0) as u64);
}

pub(crate) fn buffer_used(client_id: &Arc<str>, bytes: usize) {
    gauge!(PRODUCER_BUFFER_USED, LABEL_CLIENT_ID => shared(client_id)).set(bytes as f64);
}

/// One partition's share of a fetch answer.
pub(crate) fn fetched(topic: &Arc<str>, partition: i32, records: usize, bytes: usize, lag: i64) {
    counter!(CONSUMER_RECORDS, LABEL_TOPIC => shared(topic)).increment(records as u64);
    counter!(CONSUMER_BYTES, LABEL_TOPIC => shared(topic)).increment(bytes as u64);
    gauge!(CONSUMER_LAG, LABEL_TOPIC => shared(topic), LABEL_PARTITION => partition_label(partition))
        .set(lag.max(0) as f64);
}

/// Partition numbers as label values; the common ones without an allocation.
fn partition_label(p: i32) -> SharedString {
    const SMALL: [&str; 16] = [
        "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15",
    ];
    match usize::try_from(p).ok().and_then(|i| SMALL.get(i)) {
        Some(s) => SharedString::const_str(s),
        None => SharedString::from(p.to_string()),
    }
}

pub(crate) fn rebalance_done(group: &Arc<str>, kind: &'static str, took: Duration) {
    counter!(CONSUMER_REBALANCES, LABEL_GROUP => shared(group), LABEL_KIND => kind).increment(1);
    histogram!(CONSUMER_REBALANCE_LATENCY, LABEL_GROUP => shared(group), LABEL_KIND => kind)
        .record(took.as_secs_f64());
}

pub(crate) fn commit_done(group: &str, took: Duration) {
    histogram!(CONSUMER_COMMIT_LATENCY, LABEL_GROUP => group.to_string())
        .record(took.as_secs_f64());
}

pub(crate) fn heartbeat_done(group: &str, protocol: &'static str, took: Duration) {
    histogram!(CONSUMER_HEARTBEAT_LATENCY, LABEL_GROUP => group.to_string(), LABEL_PROTOCOL => protocol)
        .record(took.as_secs_f64());
}
