//! Writes the seed corpora in fuzz/corpus/<target>/: small valid inputs for every target, so
//! the fuzzers start from real encodings instead of discovering the layouts byte by byte.
//!
//! Run from fuzz/: `cargo run --example gen_seeds` (no nightly needed). Seeds are named by
//! what they hold; rerunning overwrites them with identical bytes.

use std::fs;
use std::path::Path;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, HeaderVersion, Request, StrBytes};
use kafkit::fuzzing::APIS;
use kafkit::fuzzing::{compress, Compression};
use kafkit::fuzzing::{BatchParams, Header, RecordBatchBuilder};

fn write(target: &str, name: &str, data: &[u8]) {
    // record_batch_crc takes the same inputs (it only rewrites their checksums).
    let also = (target == "record_batch").then_some("record_batch_crc");
    for t in std::iter::once(target).chain(also) {
        let dir = Path::new("corpus").join(t);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("seed-{name}")), data).unwrap();
    }
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// A `response` target input: API index, version offset, header, body.
fn response_seed<Q: Request>(name: &str, resp: &Q::Response, version: i16)
where
    Q::Response: Encodable + HeaderVersion,
{
    let idx = APIS
        .iter()
        .position(|a| a.0 == Q::KEY)
        .expect("API in APIS");
    let (_, min, max) = APIS[idx];
    if version < min || version > max {
        return;
    }
    let mut buf = BytesMut::new();
    buf.put_u8(idx as u8);
    buf.put_u8((version - min) as u8);
    let mut header = ResponseHeader::default();
    header.correlation_id = 7;
    let hv = Q::Response::header_version(version);
    if header.encode(&mut buf, hv).is_err() || resp.encode(&mut buf, version).is_err() {
        // Some fields do not exist at some versions: that seed is skipped.
        return;
    }
    // A seed the client cannot decode would teach the fuzzer nothing about valid layouts.
    if let Err(e) = kafkit::fuzzing::response(Q::KEY, version, Bytes::copy_from_slice(&buf[2..])) {
        panic!("seed {name} v{version} does not decode: {e}");
    }
    write("response", &format!("{name}-v{version}"), &buf);
    if Q::KEY == FetchRequest::KEY {
        // fetch_response: version offset, isolation bit, then the same frame; both isolation
        // levels, so aborted-transaction handling is seeded too.
        for committed in [0u8, 1] {
            let frame = Bytes::copy_from_slice(&buf[2..]);
            let n = kafkit::fuzzing::fetch_response(version, frame, committed == 1)
                .expect("fetch seed is handled");
            assert_eq!(n, 3, "fetch seed v{version} yields its records");
            let mut seed = vec![buf[1], committed];
            seed.extend_from_slice(&buf[2..]);
            write("fetch_response", &format!("v{version}-{committed}"), &seed);
        }
    }
}

/// Seeds at the lowest, a middle and the highest version the client reads.
fn at_versions<Q: Request>(name: &str, resp: &Q::Response)
where
    Q::Response: Encodable + HeaderVersion,
{
    let (_, min, max) = *APIS.iter().find(|a| a.0 == Q::KEY).unwrap();
    let mut vs = vec![min, (min + max) / 2, max];
    vs.dedup();
    for v in vs {
        response_seed::<Q>(name, resp, v);
    }
}

fn batch(c: Compression, n: usize, control: bool) -> Bytes {
    let mut b = RecordBatchBuilder::new(c);
    for i in 0..n {
        let value = format!("value-{i}-{}", "x".repeat(i * 7));
        let key = (i % 2 == 0).then(|| format!("k{i}"));
        let headers = [
            Header {
                key: b"h",
                value: Some(b"v"),
            },
            Header {
                key: b"null",
                value: None,
            },
        ];
        b.append(
            1_700_000_000_000 + i as i64,
            key.as_deref().map(str::as_bytes),
            Some(value.as_bytes()),
            &headers[..i % 3],
        );
    }
    b.build(BatchParams {
        producer_id: 5,
        producer_epoch: 1,
        base_sequence: 0,
        transactional: control,
        is_control: control,
    })
    .unwrap()
}

fn control_batch() -> Bytes {
    let mut b = RecordBatchBuilder::new(Compression::None);
    // Commit marker: key = version 0, type 1; value = version 0, coordinator epoch 3.
    b.append(0, Some(&[0, 0, 0, 1]), Some(&[0, 0, 0, 0, 0, 3]), &[]);
    b.build(BatchParams {
        producer_id: 5,
        producer_epoch: 1,
        base_sequence: -1,
        transactional: true,
        is_control: true,
    })
    .unwrap()
}

fn responses() {
    let mut api = ApiVersionsResponse::default();
    api.api_keys = APIS
        .iter()
        .map(|(k, min, max)| {
            let mut a = api_versions_response::ApiVersion::default();
            a.api_key = *k;
            a.min_version = *min;
            a.max_version = *max;
            a
        })
        .collect();
    at_versions::<ApiVersionsRequest>("api_versions", &api);

    let (_, mmin, mmax) = *APIS.iter().find(|a| a.0 == MetadataRequest::KEY).unwrap();
    for v in [mmin, 4, 9, 10, mmax] {
        let mut m = MetadataResponse::default();
        let mut b = metadata_response::MetadataResponseBroker::default();
        b.node_id = BrokerId(1);
        b.host = s("localhost");
        b.port = 9092;
        b.rack = (v >= 1).then(|| s("r1"));
        m.brokers = vec![b];
        m.controller_id = BrokerId(1);
        let mut p = metadata_response::MetadataResponsePartition::default();
        p.partition_index = 0;
        p.leader_id = BrokerId(1);
        p.leader_epoch = if v >= 7 { 3 } else { -1 };
        p.replica_nodes = vec![BrokerId(1)];
        p.isr_nodes = vec![BrokerId(1)];
        let mut t = metadata_response::MetadataResponseTopic::default();
        t.name = Some(TopicName(s("events")));
        if v >= 10 {
            t.topic_id = uuid::Uuid::from_u128(42);
        }
        t.partitions = vec![p];
        m.topics = vec![t];
        response_seed::<MetadataRequest>("metadata", &m, v);
    }

    let (_, fmin, fmax) = *APIS.iter().find(|a| a.0 == FetchRequest::KEY).unwrap();
    let mut records = BytesMut::new();
    records.extend_from_slice(&batch(Compression::None, 3, false));
    records.extend_from_slice(&control_batch());
    let records = records.freeze();
    for v in [fmin, 7, 11, 12, 13, fmax] {
        let mut f = FetchResponse::default();
        let mut p = fetch_response::PartitionData::default();
        p.partition_index = 0;
        p.high_watermark = 4;
        p.last_stable_offset = 4;
        p.records = Some(records.clone());
        if v >= 4 {
            let mut a = fetch_response::AbortedTransaction::default();
            a.producer_id = ProducerId(5);
            a.first_offset = 0;
            p.aborted_transactions = Some(vec![a]);
        }
        let mut t = fetch_response::FetchableTopicResponse::default();
        if v >= 13 {
            t.topic_id = uuid::Uuid::from_u128(42);
        } else {
            t.topic = TopicName(s("events"));
        }
        t.partitions = vec![p];
        f.responses = vec![t];
        response_seed::<FetchRequest>("fetch", &f, v);
    }

    let (_, pmin, pmax) = *APIS.iter().find(|a| a.0 == ProduceRequest::KEY).unwrap();
    for v in [pmin, 8, pmax] {
        let mut r = ProduceResponse::default();
        let mut p = produce_response::PartitionProduceResponse::default();
        p.index = 0;
        p.base_offset = 100;
        if v >= 8 {
            let mut e = produce_response::BatchIndexAndErrorMessage::default();
            e.batch_index = 0;
            e.batch_index_error_message = Some(s("bad record"));
            p.record_errors = vec![e];
            p.error_message = Some(s("invalid record"));
            p.error_code = 87;
        }
        let mut t = produce_response::TopicProduceResponse::default();
        t.name = TopicName(s("events"));
        t.partition_responses = vec![p];
        r.responses = vec![t];
        response_seed::<ProduceRequest>("produce", &r, v);
    }

    let mut j = JoinGroupResponse::default();
    j.generation_id = 3;
    j.protocol_type = Some(s("consumer"));
    j.protocol_name = Some(s("range"));
    j.leader = s("m1");
    j.member_id = s("m1");
    let mut m = join_group_response::JoinGroupResponseMember::default();
    m.member_id = s("m1");
    m.metadata = subscription(1);
    j.members = vec![m];
    at_versions::<JoinGroupRequest>("join_group", &j);

    let mut sg = SyncGroupResponse::default();
    sg.assignment = assignment();
    at_versions::<SyncGroupRequest>("sync_group", &sg);

    let mut h = ConsumerGroupHeartbeatResponse::default();
    h.member_id = Some(s("member-1"));
    h.member_epoch = 5;
    h.heartbeat_interval_ms = 3000;
    let mut tp = consumer_group_heartbeat_response::TopicPartitions::default();
    tp.topic_id = uuid::Uuid::from_u128(42);
    tp.partitions = vec![0, 1, 2];
    let mut a = consumer_group_heartbeat_response::Assignment::default();
    a.topic_partitions = vec![tp];
    h.assignment = Some(a);
    at_versions::<ConsumerGroupHeartbeatRequest>("consumer_group_heartbeat", &h);

    let mut d = DescribeGroupsResponse::default();
    let mut g = describe_groups_response::DescribedGroup::default();
    g.group_id = GroupId(s("g"));
    g.group_state = s("Stable");
    g.protocol_type = s("consumer");
    g.protocol_data = s("range");
    let mut gm = describe_groups_response::DescribedGroupMember::default();
    gm.member_id = s("m1");
    gm.client_id = s("kafkit");
    gm.client_host = s("/127.0.0.1");
    gm.member_metadata = subscription(3);
    gm.member_assignment = assignment();
    g.members = vec![gm];
    d.groups = vec![g];
    at_versions::<DescribeGroupsRequest>("describe_groups", &d);

    // v4 (KIP-699) moved the coordinator into a list.
    let (_, cmin, cmax) = *APIS
        .iter()
        .find(|a| a.0 == FindCoordinatorRequest::KEY)
        .unwrap();
    for v in [cmin, 3, cmax] {
        let mut fc = FindCoordinatorResponse::default();
        if v < 4 {
            fc.node_id = BrokerId(1);
            fc.host = s("localhost");
            fc.port = 9092;
        } else {
            let mut c = find_coordinator_response::Coordinator::default();
            c.key = s("g");
            c.node_id = BrokerId(1);
            c.host = s("localhost");
            c.port = 9092;
            fc.coordinators = vec![c];
        }
        response_seed::<FindCoordinatorRequest>("find_coordinator", &fc, v);
    }

    let mut sa = SaslAuthenticateResponse::default();
    sa.auth_bytes = Bytes::from_static(b"r=fuzzXYZ,s=c2FsdA==,i=4096");
    sa.session_lifetime_ms = 60_000;
    at_versions::<SaslAuthenticateRequest>("sasl_authenticate", &sa);

    let mut sh = SaslHandshakeResponse::default();
    sh.mechanisms = vec![s("PLAIN"), s("SCRAM-SHA-512")];
    at_versions::<SaslHandshakeRequest>("sasl_handshake", &sh);

    // Every other API with its default (mostly empty) response.
    macro_rules! defaults {
        ($($req:ty),*) => {$(
            at_versions::<$req>(
                &format!("default-{}", <$req as Request>::KEY),
                &<<$req as Request>::Response as Default>::default(),
            );
        )*};
    }
    defaults!(
        ListOffsetsRequest,
        OffsetCommitRequest,
        OffsetFetchRequest,
        TxnOffsetCommitRequest,
        ConsumerGroupDescribeRequest,
        HeartbeatRequest,
        LeaveGroupRequest,
        ListGroupsRequest,
        DeleteGroupsRequest,
        CreateTopicsRequest,
        DeleteTopicsRequest,
        CreatePartitionsRequest,
        InitProducerIdRequest,
        AddPartitionsToTxnRequest,
        AddOffsetsToTxnRequest,
        EndTxnRequest
    );
}

fn subscription(version: i16) -> Bytes {
    let mut m = ConsumerProtocolSubscription::default();
    m.topics = vec![s("events"), s("audit")];
    m.user_data = Some(Bytes::from_static(b"ud"));
    let mut o = consumer_protocol_subscription::TopicPartition::default();
    o.topic = TopicName(s("events"));
    o.partitions = vec![0, 2];
    if version >= 1 {
        m.owned_partitions = vec![o];
    }
    if version >= 2 {
        m.generation_id = 4;
    }
    if version >= 3 {
        m.rack_id = Some(s("r1"));
    }
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    m.encode(&mut buf, version).unwrap();
    buf.freeze()
}

fn assignment() -> Bytes {
    kafkit::fuzzing::encode_assignment(
        &kafkit::fuzzing::MemberAssignment {
            partitions: vec![
                kafkit::TopicPartition::new("events", 0),
                kafkit::TopicPartition::new("events", 1),
                kafkit::TopicPartition::new("audit", 0),
            ],
            user_data: Some(Bytes::from_static(b"ud")),
        },
    )
}

fn codecs() {
    let text: Vec<u8> = (0..3000u32)
        .flat_map(|i| format!("record {i} ").into_bytes())
        .collect();
    let small = b"hello kafka".to_vec();
    for (c, target) in [
        (Compression::Gzip, "decompress_gzip"),
        (Compression::Snappy, "decompress_snappy"),
        (Compression::Lz4, "decompress_lz4"),
        (Compression::Zstd, "decompress_zstd"),
    ] {
        for (name, data) in [("empty", &b""[..]), ("small", &small), ("text", &text)] {
            let mut out = BytesMut::new();
            compress(c, data, &mut out).unwrap();
            write(target, name, &out);
        }
        // A real batch's records, as the consumer inflates them.
        let b = batch(c, 5, false);
        write(target, "batch-body", &b[61..]);
    }
    // Forms other writers produce: raw (unframed) snappy, a linked-block lz4 frame with
    // checksums, a gzip stream of two members.
    let raw = snap::raw::Encoder::new().compress_vec(&text).unwrap();
    write("decompress_snappy", "raw", &raw);
    let mut info = lz4_flex::frame::FrameInfo::new();
    info.block_mode = lz4_flex::frame::BlockMode::Linked;
    info.content_checksum = true;
    info.content_size = Some(text.len() as u64);
    let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
    std::io::Write::write_all(&mut enc, &text).unwrap();
    write("decompress_lz4", "linked-checksum", &enc.finish().unwrap());
    let mut two = Vec::new();
    for part in [&small[..], &text[..100]] {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut e, part).unwrap();
        two.extend(e.finish().unwrap());
    }
    write("decompress_gzip", "two-members", &two);
    let z =
        ruzstd::encoding::compress_to_vec(&text[..], ruzstd::encoding::CompressionLevel::Fastest);
    write("decompress_zstd", "fastest-text", &z);
}

fn record_batches() {
    let check = |b: &[u8]| {
        kafkit::fuzzing::record_batches(Bytes::copy_from_slice(b)).expect("seed batch decodes")
    };
    for c in [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        for n in [1, 6] {
            let b = batch(c, n, false);
            assert_eq!(check(&b), n);
            write("record_batch", &format!("{c}-{n}"), &b);
        }
    }
    write("record_batch", "control", &control_batch());
    let mut two = BytesMut::new();
    two.extend_from_slice(&batch(Compression::Lz4, 2, true));
    two.extend_from_slice(&control_batch());
    two.extend_from_slice(&batch(Compression::None, 2, false)[..40]); // cut by max_bytes
    assert_eq!(check(&two), 3);
    write("record_batch", "txn-then-marker-then-cut", &two);
}

fn consumer_protocol() {
    for v in 0..=3 {
        write(
            "consumer_protocol",
            &format!("subscription-v{v}"),
            &subscription(v),
        );
    }
    write("consumer_protocol", "assignment-v3", &assignment());
    write("consumer_protocol", "empty", b"");
}

fn scram() {
    write(
        "scram",
        "ok-first-bad-final",
        b"r=fuzzXYZ,s=c2FsdA==,i=4096\0v=AAAA",
    );
    write(
        "scram",
        "ok-first-error-final",
        b"r=fuzzXYZ,s=c2FsdA==,i=4096\0e=invalid-proof",
    );
    write(
        "scram",
        "extension",
        b"r=fuzz1,s=QSXCR+Q6sek8bf92,i=4096,m=ext\0v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
    );
    write("scram", "error-first", b"e=unknown-user");
}

fn frames() {
    let mut stream = vec![0x10, 0x00]; // max 4096
    for (id, body) in [(1i32, &b""[..]), (2, b"\x00\x00\x12"), (3, &[7u8; 100][..])] {
        stream.extend(((4 + body.len()) as i32).to_be_bytes());
        stream.extend(id.to_be_bytes());
        stream.extend(body);
    }
    write("frame_reader", "three-frames", &stream);
    write(
        "frame_reader",
        "too-large",
        &[0x00, 0x10, 0x00, 0x00, 0x01, 0x00, 0, 0, 0, 1],
    );
    write(
        "frame_reader",
        "cut",
        &[0x10, 0x00, 0x00, 0x00, 0x00, 0x09, 0, 0, 0, 1],
    );
}

fn oauth() {
    for (name, json) in [
        (
            "invalid-token",
            r#"{"status":"invalid_token","scope":"kafka","openid-configuration":"https://idp.example/.well-known/openid-configuration"}"#,
        ),
        (
            "insufficient-scope",
            r#"{"status":"insufficient_scope","scope":"kafka.write kafka.read"}"#,
        ),
        ("invalid-request", r#"{"status":"invalid_request"}"#),
        (
            "no-status",
            r#"{"scope":"a","x":[1,{"y":null}],"n":-1.5e3}"#,
        ),
        (
            "escapes",
            r#"{"status":"x\u00e9\ud83d\ude00\n","scope":"\"q\""}"#,
        ),
    ] {
        write("oauth_error", name, json.as_bytes());
    }
}

fn main() {
    responses();
    record_batches();
    codecs();
    consumer_protocol();
    scram();
    frames();
    oauth();
}
