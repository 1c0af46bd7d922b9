use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, HeaderVersion, Message as _, Request, StrBytes};

use super::*;

const LIMIT: usize = 64 << 20;

/// Encodes `resp` with kafka-protocol as a response frame (header + body) at `version`.
fn frame<R: Request>(resp: &R::Response, version: i16) -> Bytes
where
    R::Response: Encodable + HeaderVersion,
{
    let mut buf = BytesMut::new();
    let mut header = ResponseHeader::default();
    header.correlation_id = 7;
    header
        .encode(&mut buf, R::Response::header_version(version))
        .unwrap();
    resp.encode(&mut buf, version).unwrap();
    buf.freeze()
}

/// Every version kafkit can negotiate: what kafka-protocol encodes, the walk accepts whole.
fn accepts_every_version<R: Request>(resp: R::Response)
where
    R::Response: Encodable + HeaderVersion + kafka_protocol::protocol::Message,
{
    let schema = response(R::KEY).expect("schema for every API");
    let versions = R::Response::VERSIONS;
    for v in versions.min..=versions.max {
        if !schema.valid.has(v) {
            continue;
        }
        let f = frame::<R>(&resp, v);
        check_response(R::KEY, v, R::Response::header_version(v), &f, LIMIT)
            .unwrap_or_else(|e| panic!("{} v{v}: {e}", schema.name));
        // Every truncation is refused, never accepted short.
        for cut in 0..f.len() {
            assert!(
                check_response(R::KEY, v, R::Response::header_version(v), &f[..cut], LIMIT)
                    .is_err(),
                "{} v{v} cut at {cut}",
                schema.name
            );
        }
    }
}

fn s(x: &str) -> StrBytes {
    StrBytes::from_string(x.to_string())
}

fn metadata() -> MetadataResponse {
    let mut b = metadata_response::MetadataResponseBroker::default();
    b.node_id = BrokerId(1);
    b.host = s("localhost");
    b.port = 9092;
    b.rack = Some(s("r1"));
    let mut p = metadata_response::MetadataResponsePartition::default();
    p.partition_index = 3;
    p.replica_nodes = vec![BrokerId(1), BrokerId(2)];
    p.isr_nodes = vec![BrokerId(1)];
    let mut t = metadata_response::MetadataResponseTopic::default();
    t.name = Some(TopicName(s("orders")));
    t.partitions = vec![p.clone(), p];
    let mut m = MetadataResponse::default();
    m.brokers = vec![b];
    m.topics = vec![t];
    m.cluster_id = Some(s("c"));
    m
}

fn fetch() -> FetchResponse {
    let mut p = fetch_response::PartitionData::default();
    p.partition_index = 1;
    p.records = Some(Bytes::from_static(b"0123456789"));
    p.current_leader.leader_id = BrokerId(2);
    p.current_leader.leader_epoch = 5;
    p.aborted_transactions = Some(vec![fetch_response::AbortedTransaction::default()]);
    let mut t = fetch_response::FetchableTopicResponse::default();
    t.topic = TopicName(s("orders"));
    t.partitions = vec![p];
    let mut e = fetch_response::NodeEndpoint::default();
    e.node_id = BrokerId(2);
    e.host = s("h");
    let mut f = FetchResponse::default();
    f.responses = vec![t];
    f.node_endpoints = vec![e];
    f
}

fn heartbeat() -> ConsumerGroupHeartbeatResponse {
    let mut tp = consumer_group_heartbeat_response::TopicPartitions::default();
    tp.partitions = vec![0, 1, 2];
    let mut a = consumer_group_heartbeat_response::Assignment::default();
    a.topic_partitions = vec![tp];
    let mut r = ConsumerGroupHeartbeatResponse::default();
    r.member_id = Some(s("m"));
    r.assignment = Some(a);
    r
}

#[test]
fn populated_responses_of_every_version_walk_whole() {
    accepts_every_version::<MetadataRequest>(metadata());
    accepts_every_version::<FetchRequest>(fetch());
    accepts_every_version::<ConsumerGroupHeartbeatRequest>(heartbeat());
    let mut av = ApiVersionsResponse::default();
    let mut k = api_versions_response::ApiVersion::default();
    k.api_key = 1;
    k.max_version = 17;
    av.api_keys = vec![k];
    accepts_every_version::<ApiVersionsRequest>(av);
}

macro_rules! defaults_walk {
    ($($req:ty),* $(,)?) => {
        #[test]
        fn default_responses_of_every_api_kafkit_uses_walk_whole() {
            $(accepts_every_version::<$req>(Default::default());)*
        }

        #[test]
        fn every_negotiable_version_has_a_schema() {
            let mut missing = Vec::new();
            $(
                let schema = response(<$req as Request>::KEY).expect("schema");
                let v = <$req as kafka_protocol::protocol::Message>::VERSIONS;
                // kafkit negotiates at most the crate's highest version; the schema must know
                // it (lower ones Kafka 4 removed are refused, not guessed).
                if !schema.valid.has(v.max) {
                    missing.push(format!("{} v{}", schema.name, v.max));
                }
            )*
            assert!(missing.is_empty(), "{missing:?}");
        }
    };
}

crate::protocol::with_client_apis!(defaults_walk);

/// The seven bytes that used to abort `kafkit metadata`: a header, then a brokers array of
/// 2^31-1 entries.
#[test]
fn a_huge_array_length_is_refused_before_decoding() {
    let f = [0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff, 0xff];
    let e = check_response(3, 1, 0, &f, LIMIT).unwrap_err();
    assert!(e.what.contains("larger than the 1 bytes left"), "{e}");
    assert_eq!(e.path, "Brokers");
    // Flexible (compact) arrays too: varint length 2^32-1.
    let f = [0, 0, 0, 1, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f];
    let e = check_response(3, 12, 1, &f, LIMIT).unwrap_err();
    assert!(e.what.contains("larger than"), "{e}");
}

#[test]
fn trailing_bytes_nulls_and_bad_tags_are_refused() {
    let v = 12;
    let hv = MetadataResponse::header_version(v);
    let mut f = BytesMut::from(&frame::<MetadataRequest>(&metadata(), v)[..]);
    f.put_u8(0);
    let e = check_response(3, v, hv, &f, LIMIT).unwrap_err();
    assert!(e.what.contains("1 trailing bytes"), "{e}");

    // Metadata v1: brokers' host is a non-nullable string; -1 is refused.
    let f = [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff];
    let e = check_response(3, 1, 0, &f, LIMIT).unwrap_err();
    assert!(e.what.contains("null"), "{e}");
    assert_eq!(e.path, "Brokers.Host");

    // A known tagged field (Fetch v16 NodeEndpoints, tag 0) whose size disagrees with its
    // value: kafka-protocol would read past it.
    let good = frame::<FetchRequest>(&FetchResponse::default(), 16);
    let mut bad = BytesMut::from(&good[..good.len() - 1]);
    bad.put_slice(&[1, 0, 3, 1, 0, 0]); // one tagged field: tag 0, size 3, value: empty array
    let e = check_response(1, 16, 1, &bad, LIMIT).unwrap_err();
    assert!(e.what.contains("announces 3 bytes"), "{e}");

    // An unknown tag is skipped by its size.
    let mut ok = BytesMut::from(&good[..good.len() - 1]);
    ok.put_slice(&[1, 9, 2, 0xaa, 0xbb]);
    check_response(1, 16, 1, &ok, LIMIT).unwrap();
}

#[test]
fn versions_outside_the_schema_are_refused() {
    let e = check_response(1, 3, 0, &[0, 0, 0, 1], LIMIT).unwrap_err();
    assert!(e.what.contains("no version 3"), "{e}");
    assert!(check_response(9999, 0, 0, &[0, 0, 0, 1], LIMIT).is_err());
}

#[test]
fn consumer_protocol_blobs_walk() {
    let mut sub = ConsumerProtocolSubscription::default();
    sub.topics = vec![s("a"), s("b")];
    sub.user_data = Some(Bytes::from_static(b"u"));
    for v in 0..=3 {
        let mut b = BytesMut::new();
        sub.encode(&mut b, v).unwrap();
        assert_eq!(
            walk(&CONSUMER_PROTOCOL_SUBSCRIPTION, v, &b, false),
            Ok(b.len())
        );
    }
    let e = walk(
        &CONSUMER_PROTOCOL_ASSIGNMENT,
        3,
        &[0x7f, 0xff, 0xff, 0xff],
        false,
    )
    .unwrap_err();
    assert!(e.what.contains("larger than"), "{e}");
}

proptest::proptest! {
    /// Any bytes: the walk answers (Ok or Err) without panicking, for every API and version.
    #[test]
    fn arbitrary_bytes_never_panic(key in 0i16..100, v in 0i16..20, data in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
        let _ = check_response(key, v, 1, &data, LIMIT);
        let _ = check_response(key, v, 0, &data, LIMIT);
    }
}

#[test]
fn a_frame_of_many_tiny_elements_is_refused_by_its_decoded_size() {
    // ListGroups v5 (flexible): 1,000 groups of five one-byte fields each, 6 KB on the wire,
    // decode to ~200 KB of structs.
    let mut f = BytesMut::new();
    f.put_slice(&[0, 0, 0, 1, 0]); // correlation id, header tags
    f.put_slice(&[0, 0, 0, 0, 0, 0]); // throttle, error code
    f.put_slice(&[0xe9, 0x07]); // 1,000 + 1 as an unsigned varint
    for _ in 0..1000 {
        f.put_slice(&[1, 1, 1, 1, 0]); // four empty strings, no tags
    }
    f.put_u8(0);
    check_response(16, 5, 1, &f, 1 << 20).unwrap();
    let e = check_response(16, 5, 1, &f, 100_000).unwrap_err();
    assert!(e.what.contains("would decode to about"), "{e}");
}
