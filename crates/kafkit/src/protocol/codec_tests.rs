//! The generated codec against itself (every message at every version round-trips) and against
//! an independent implementation (the `kafka-protocol` crate reads our bytes and writes them
//! back identically, at every version both know).

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::messages::*;
use super::wire::{
    decode_all, encode_to_bytes, Decode, Encode, Message, Request, Sample, SampleGen,
};

/// `M` sampled at `v` from `seed`, encoded, decoded: the same value, and the same bytes again.
fn round_trip<M: Message + Sample + std::fmt::Debug + PartialEq>(seed: u64, v: i16) {
    let m = M::sample(&mut SampleGen::new(seed), v);
    let bytes = encode_to_bytes(&m, v).unwrap_or_else(|e| panic!("{} v{v}: {e}", M::NAME));
    let back: M =
        decode_all(bytes.clone(), v).unwrap_or_else(|e| panic!("{} v{v}: {e}\n{m:?}", M::NAME));
    assert_eq!(back, m, "{} v{v}", M::NAME);
    assert_eq!(
        encode_to_bytes(&back, v).unwrap(),
        bytes,
        "{} v{v}",
        M::NAME
    );
}

fn all_versions<M: Message + Sample + std::fmt::Debug + PartialEq>(seed: u64) {
    for v in M::VERSIONS.0..=M::VERSIONS.1 {
        round_trip::<M>(seed, v);
    }
}

macro_rules! round_trip_all {
    ($($req:ident),* $(,)?) => {
        fn every_message(seed: u64) {
            $(
                all_versions::<$req>(seed);
                all_versions::<<$req as Request>::Response>(seed);
            )*
            all_versions::<RequestHeader>(seed);
            all_versions::<ResponseHeader>(seed);
            all_versions::<ConsumerProtocolSubscription>(seed);
            all_versions::<ConsumerProtocolAssignment>(seed);
        }
    };
}
with_apis!(round_trip_all);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn every_message_round_trips_at_every_version(seed in any::<u64>()) {
        every_message(seed);
    }
}

/// Our bytes, read and written back by kafka-protocol: identical.
fn same_as_oracle<M, K>(seed: u64, versions: (i16, i16))
where
    M: Message + Sample + std::fmt::Debug,
    K: kafka_protocol::protocol::Encodable + kafka_protocol::protocol::Decodable + std::fmt::Debug,
{
    let hi = versions.1.min(M::VERSIONS.1);
    let lo = versions.0.max(M::VERSIONS.0);
    for v in lo..=hi {
        let m = M::sample(&mut SampleGen::new(seed), v);
        let ours = encode_to_bytes(&m, v).unwrap();
        let mut buf = ours.clone();
        let theirs = K::decode(&mut buf, v).unwrap_or_else(|e| {
            panic!(
                "{} v{v}: kafka-protocol cannot read ours: {e}\n{m:?}",
                M::NAME
            )
        });
        assert!(
            buf.is_empty(),
            "{} v{v}: kafka-protocol left {} bytes",
            M::NAME,
            buf.len()
        );
        let mut again = BytesMut::new();
        theirs.encode(&mut again, v).unwrap();
        assert_eq!(
            Bytes::from(again),
            ours,
            "{} v{v}: {m:?}\n{theirs:?}",
            M::NAME
        );
    }
}

macro_rules! oracle_all {
    ($($req:ident),* $(,)?) => {
        fn every_message_against_oracle(seed: u64) {
            $(
                {
                    type K = kafka_protocol::messages::$req;
                    let kv = <K as kafka_protocol::protocol::Message>::VERSIONS;
                    same_as_oracle::<$req, K>(seed, (kv.min, kv.max));
                    same_as_oracle::<
                        <$req as Request>::Response,
                        <K as kafka_protocol::protocol::Request>::Response,
                    >(seed, (kv.min, kv.max));
                }
            )*
        }
    };
}
with_apis!(oracle_all);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn every_message_reads_the_same_in_an_independent_codec(seed in any::<u64>()) {
        every_message_against_oracle(seed);
    }
}

#[test]
fn a_length_past_the_frame_is_refused_before_anything_is_reserved() {
    // MetadataResponse v12: throttle, then a compact array of brokers announcing 2^28 entries.
    let mut frame = vec![0, 0, 0, 0];
    frame.extend_from_slice(&[0xff, 0xff, 0xff, 0x7f]);
    let e = decode_all::<MetadataResponse>(Bytes::from(frame), 12).unwrap_err();
    assert!(e.what.contains("past the 0 bytes left"), "{e}");
    assert_eq!(e.path(), "Brokers");
}

#[test]
fn bytes_left_over_are_an_error() {
    let bytes = encode_to_bytes(&HeartbeatResponse::default(), 4).unwrap();
    let mut longer = bytes.to_vec();
    longer.push(0);
    let e = decode_all::<HeartbeatResponse>(Bytes::from(longer), 4).unwrap_err();
    assert!(e.what.contains("left over"), "{e}");
}

#[test]
fn a_field_the_version_lacks_is_refused_unless_ignorable() {
    // OffsetCommit v7 added GroupInstanceId, which is not ignorable.
    let mut req = OffsetCommitRequest::default();
    req.group_instance_id = Some("static-1".into());
    assert!(encode_to_bytes(&req, 6).is_err());
    assert!(encode_to_bytes(&req, 7).is_ok());
}

#[test]
fn a_tagged_field_must_fill_the_size_it_announces() {
    // ApiVersionsResponse v3 with a tagged field 0 (SupportedFeatures) of size 5 holding an
    // empty array (1 byte): 4 bytes unaccounted for.
    let mut b = Vec::new();
    b.extend_from_slice(&0i16.to_be_bytes()); // error code
    b.push(1); // no api keys
    b.extend_from_slice(&0i32.to_be_bytes()); // throttle
    b.extend_from_slice(&[1, 0, 5, 1, 0, 0, 0, 0]); // one tag: 0, size 5, empty array + 4 bytes
    let e = decode_all::<ApiVersionsResponse>(Bytes::from(b), 3).unwrap_err();
    assert!(e.what.contains("announces 5 bytes"), "{e}");
}

#[test]
fn large_byte_values_are_pieces_of_their_own() {
    use super::wire::Writer;
    let batch = Bytes::from(vec![7u8; 4096]);
    let mut req = ProduceRequest::default();
    let mut t = produce_request::TopicProduceData::default();
    let mut p = produce_request::PartitionProduceData::default();
    p.records = Some(batch.clone());
    t.partition_data.push(p);
    req.topic_data.push(t);
    let mut w = Writer::new();
    req.encode(&mut w, 11).unwrap();
    let pieces = w.finish();
    assert!(
        pieces.iter().any(|p| p.as_ptr() == batch.as_ptr()),
        "the batch was copied"
    );
    let _ = ProduceRequest::decode(&mut super::wire::Reader::new(Bytes::new()), 11);
}

#[test]
fn defaults_are_the_schemas_whether_written_as_strings_or_numbers() {
    // ApiVersionsRequest.NodeId is `"default": -1` (a JSON number); 0 would name node 0 to a
    // v5 broker, which refuses the request as INVALID_REQUEST.
    assert_eq!(ApiVersionsRequest::default().node_id, -1);
    assert_eq!(ApiVersionsRequest::default().cluster_id, None);
    // `"default": "-1"` (a string).
    assert_eq!(
        OffsetCommitRequest::default().generation_id_or_member_epoch,
        -1
    );
    assert_eq!(
        ConsumerGroupHeartbeatRequest::default().rebalance_timeout_ms,
        -1
    );
}
