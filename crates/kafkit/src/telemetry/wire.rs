//! The two KIP-714 requests: GetTelemetrySubscriptions (what to push, how often, compressed
//! how) and PushTelemetry (the metrics, compressed with the first codec the broker accepts).

use std::time::Duration;

use crate::protocol::messages::{
    GetTelemetrySubscriptionsRequest, PushTelemetryRequest, PushTelemetryResponse,
};
use crate::protocol::wire::Request;
use bytes::{Bytes, BytesMut};

use super::encode::{self, Client};
use super::stats::Stats;
use super::Host;
use super::Subscription;
use crate::events::Event;
use crate::protocol::compression;
use crate::protocol::compression::Compression;

/// The broker's push interval is honoured within these bounds (a broken value must neither
/// flood the broker nor silence the client for days).
const MIN_INTERVAL: Duration = Duration::from_millis(100);
const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// The first codec of the broker's list (its order of preference) that is a codec: kafkit
/// has all four. An empty list, or only unknown ids: uncompressed, which every broker takes.
pub(super) fn pick_compression(accepted: &[i8]) -> Compression {
    accepted
        .iter()
        .filter_map(|c| u8::try_from(*c).ok())
        .filter_map(|c| Compression::from_code(c).ok())
        .find(|c| *c != Compression::None)
        .unwrap_or(Compression::None)
}

/// The subscription for this client (`None`: the cluster has no telemetry receiver).
pub(super) async fn get_subscription(
    kafka: &dyn Host,
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
    let interval = Duration::from_millis(u64::try_from(resp.push_interval_ms).unwrap_or(0))
        .clamp(MIN_INTERVAL, MAX_INTERVAL);
    Ok(Some(Subscription {
        instance_id,
        id: resp.subscription_id,
        interval,
        max_bytes: usize::try_from(resp.telemetry_max_bytes).unwrap_or(0),
        delta: resp.delta_temporality,
        prefixes: resp
            .requested_metrics
            .iter()
            .map(|m| m.to_string())
            .collect(),
        compression: pick_compression(&resp.accepted_compression_types),
    }))
}

/// The payload as sent: compressed with `c`, or as it is when the codec fails (a push is
/// better uncompressed than lost).
pub(super) fn compress(c: Compression, payload: &[u8]) -> (Compression, Bytes) {
    if c != Compression::None {
        let mut out = BytesMut::with_capacity(payload.len() / 2 + 64);
        match compression::compress(c, payload, &mut out) {
            Ok(()) => return (c, out.freeze()),
            Err(e) => {
                tracing::debug!(error = %e, "telemetry compression failed; sending it uncompressed")
            }
        }
    }
    (Compression::None, Bytes::copy_from_slice(payload))
}

/// Sends one push (`terminating`: the last one, as the client closes); returns the broker's
/// error code.
pub(super) async fn push(
    kafka: &dyn Host,
    sub: &Subscription,
    stats: &mut Stats,
    terminating: bool,
) -> crate::Result<i16> {
    let conn = kafka.pool().any().await?;
    if !conn.api_versions().supports(PushTelemetryRequest::KEY) {
        return Ok(0);
    }
    let client = Client {
        client_id: kafka.client_id(),
        nodes: kafka
            .cluster()
            .snapshot()
            .brokers
            .values()
            .map(|b| (b.addr(), b.node_id))
            .collect(),
    };
    let payload = encode::encode(stats, &client, sub);
    let (codec, metrics) = compress(sub.compression, &payload);
    let mut req = PushTelemetryRequest::default();
    req.client_instance_id = sub.instance_id;
    req.subscription_id = sub.id;
    req.terminating = terminating;
    req.compression_type = codec.code() as i8;
    let compressed_size = metrics.len();
    req.metrics = metrics;
    let resp: PushTelemetryResponse = conn.send(&req).await?;
    emit(
        kafka,
        Event::TelemetryPush {
            broker: conn.addr().to_string(),
            error_code: resp.error_code,
            size: payload.len(),
            compression: codec,
            compressed_size,
            terminating,
        },
    );
    Ok(resp.error_code)
}

/// Sends `event` to the handle's listeners, if any.
fn emit(host: &dyn Host, event: Event) {
    let events = host.events();
    if events.receiver_count() > 0 {
        let _ = events.send(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_codec_the_broker_accepts() {
        // Kafka 4.x sends zstd, lz4, gzip, snappy.
        assert_eq!(pick_compression(&[4, 3, 1, 2]), Compression::Zstd);
        assert_eq!(pick_compression(&[1, 4]), Compression::Gzip);
        assert_eq!(pick_compression(&[0, 2]), Compression::Snappy);
        assert_eq!(pick_compression(&[]), Compression::None);
        // Unknown or broken ids are skipped, never a panic.
        assert_eq!(pick_compression(&[-1, 9, 3]), Compression::Lz4);
        assert_eq!(pick_compression(&[-128, 127]), Compression::None);
    }

    #[test]
    fn compressed_pushes_decompress_to_the_payload() {
        let payload: Vec<u8> = b"org.apache.kafka.producer.node.request.latency.avg"
            .iter()
            .cycle()
            .take(4000)
            .copied()
            .collect();
        for c in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let (used, bytes) = compress(c, &payload);
            assert_eq!(used, c);
            assert!(bytes.len() < payload.len(), "{c}: {}", bytes.len());
            let back = compression::decompress(c, &bytes, 1 << 20).unwrap();
            assert_eq!(&back[..], &payload[..], "{c}");
        }
        let (used, bytes) = compress(Compression::None, &payload);
        assert_eq!((used, &bytes[..]), (Compression::None, &payload[..]));
    }
}
