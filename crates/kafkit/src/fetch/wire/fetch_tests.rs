//! Unit tests of `fetcher.rs`.

use super::*;
use crate::error::ErrorKind;
use crate::fetch::budget::MESSAGE_COST;
use crate::fetch::decode_all;
use crate::fetch::FetchPosition;
use crate::protocol::compression::Compression;
use crate::protocol::record_batch::{BatchParams, Header, RecordBatchBuilder};

fn empty_out(bytes: usize) -> FetchedPartition {
    FetchedPartition {
        partition: TopicPartition::new("t", 0),
        fetch_offset: 100,
        error: None,
        high_watermark: 200,
        last_stable_offset: 200,
        messages: vec![],
        next_offset: 100,
        next_epoch: None,
        diverging: None,
        preferred_read_replica: None,
        bytes,
        needs_bytes: None,
        cut: false,
        failure: None,
        needs_whole_budget: false,
        retained: 0,
        leader_hint: None,
    }
}

/// Decodes partition t-0's `raw` records from `from` within `budget`.
fn decode(raw: &[u8], from: i64, budget: &mut Budget) -> FetchedPartition {
    let topic: Arc<str> = Arc::from("t");
    let mut out = empty_out(raw.len());
    out.fetch_offset = from;
    out.next_offset = from;
    decode_records(
        &topic,
        Bytes::copy_from_slice(raw),
        vec![],
        budget,
        &mut out,
    );
    out
}

/// An uncompressed batch of `n` records of 100 bytes starting at `base`.
fn batch(base: i64, n: usize) -> Vec<u8> {
    let mut b = RecordBatchBuilder::new(Compression::None);
    for _ in 0..n {
        b.append(0, None, Some(&[7u8; 100]), &[]);
    }
    let mut raw = b.build(BatchParams::default()).unwrap().to_vec();
    raw[..8].copy_from_slice(&base.to_be_bytes()); // not covered by the CRC
    raw
}

/// Puts the right CRC back after a header field covered by it was changed.
fn recrc(raw: &mut [u8]) {
    let crc = crc32c::crc32c(&raw[21..]);
    raw[17..21].copy_from_slice(&crc.to_be_bytes());
}

#[test]
fn a_response_larger_than_the_budget_is_cut_at_the_record_that_crosses_it() {
    let mut raw = batch(100, 10);
    raw.extend(batch(110, 10));
    raw.extend(batch(120, 10));
    let w = batch(100, 10).len();
    // Each batch costs its bytes once (its records slice them) and each record its
    // struct: room for the first batch and 2 records of the second.
    let room = 2 * w + 12 * MESSAGE_COST;
    let out = decode(&raw, 100, &mut Budget::new(room));
    assert_eq!(out.messages.len(), 12);
    assert_eq!(
        out.next_offset, 112,
        "the rest of the second batch comes again"
    );
    assert!(out.cut);
    assert_eq!(out.retained, room);
    // Fetched again from 112: the batch's first records are skipped, not charged.
    let again = decode(&raw, 112, &mut Budget::new(room));
    assert_eq!(again.messages.first().map(|m| m.offset), Some(112));
    assert_eq!(again.messages.len(), 12);
    // A spent budget still lets one record through (progress).
    let out = decode(&raw, 100, &mut Budget::new(0));
    assert_eq!(
        (out.messages.len(), out.next_offset, out.cut),
        (1, 101, true)
    );
}

/// `batch`, written by the leader of `epoch` (the field is outside the CRC).
fn batch_in_epoch(base: i64, n: usize, epoch: i32) -> Vec<u8> {
    let mut raw = batch(base, n);
    raw[12..16].copy_from_slice(&epoch.to_be_bytes());
    raw
}

#[test]
fn the_epoch_of_the_record_before_the_next_offset_is_kept_for_the_next_fetch() {
    let mut raw = batch_in_epoch(100, 10, 3);
    raw.extend(batch_in_epoch(110, 10, 5));
    let w = batch(100, 10).len();
    let stop = |room: usize| {
        let out = decode(&raw, 100, &mut Budget::new(room));
        (out.next_offset, out.next_epoch)
    };
    assert_eq!(
        stop(1 << 20),
        (120, Some(5)),
        "all read: the last batch's epoch"
    );
    assert_eq!(
        stop(2 * w + 15 * MESSAGE_COST),
        (115, Some(5)),
        "cut inside the second batch"
    );
    // Cut right before the second batch's first record: the record before is epoch 3's.
    assert_eq!(stop(w + 10 * MESSAGE_COST), (110, Some(3)));
}

/// A zstd batch at `base` of one record whose header value is `size` zero bytes: a few
/// hundred bytes on the wire.
fn bomb(base: i64, size: usize) -> Vec<u8> {
    let big = vec![0u8; size];
    let mut b = RecordBatchBuilder::new(Compression::Zstd);
    b.append(
        0,
        None,
        Some(b"v"),
        &[Header {
            key: b"h",
            value: Some(&big),
        }],
    );
    let mut raw = b.build(BatchParams::default()).unwrap().to_vec();
    raw[..8].copy_from_slice(&base.to_be_bytes());
    raw
}

#[test]
fn a_compressed_batch_costs_its_inflated_buffer_and_never_inflates_past_the_budget() {
    let raw = bomb(100, 1 << 20);
    assert!(raw.len() < 1024, "{}", raw.len());
    // Room for it: one record, charged the whole buffer its header value slices.
    let out = decode(&raw, 100, &mut Budget::whole(4 << 20));
    assert_eq!(out.messages.len(), 1);
    assert!(out.retained > 1 << 20, "{}", out.retained);
    // Past a share of the space, first in its response: read again alone with all of it.
    let out = decode(&raw, 100, &mut Budget::new(512 << 10));
    assert!(out.messages.is_empty() && out.cut && out.needs_whole_budget);
    assert_eq!((out.next_offset, out.failure.is_none()), (100, true));
    // Past the whole space: the partition stops there, with an error that says so.
    let out = decode(&raw, 100, &mut Budget::whole(512 << 10));
    let e = out.failure.expect("a failure");
    assert_eq!(e.kind(), &ErrorKind::TooLarge);
    assert_eq!(
        e.partition_offset(),
        Some((&TopicPartition::new("t", 0), 100))
    );
    assert!(e.to_string().contains("seek t-0 to offset 101"), "{e}");
    // After other records of the response: cut, fetched again later (no failure).
    let mut two = batch(100, 1);
    two.extend(bomb(101, 1 << 20));
    let out = decode(&two, 100, &mut Budget::whole(512 << 10));
    assert_eq!((out.messages.len(), out.next_offset), (1, 101));
    assert!(out.cut && !out.needs_whole_budget && out.failure.is_none());
}

/// Decodes `raw` from 100, fetch after fetch as the engine would, until the partition
/// stops; returns the failure's text, checking it says where (`at`).
fn failure_at(raw: &[u8], at: i64) -> String {
    let mut from = 100;
    loop {
        let out = decode(raw, from, &mut Budget::new(1 << 20));
        if let Some(e) = out.failure {
            assert!(out.messages.is_empty());
            assert_eq!(e.kind(), &ErrorKind::CorruptRecord, "{e}");
            assert_eq!(
                e.partition_offset(),
                Some((&TopicPartition::new("t", 0), at)),
                "{e}"
            );
            return e.to_string();
        }
        assert!(out.cut && out.next_offset > from, "no progress, no failure");
        from = out.next_offset;
    }
}

fn failure(raw: &[u8]) -> String {
    failure_at(raw, 100)
}

#[test]
fn corrupt_batches_stop_the_partition_with_an_error_that_says_where_and_why() {
    let good = batch(100, 3);
    let mut bad_crc = good.clone();
    let value_byte = bad_crc.len() - 2; // the last record's value; then its header count
    bad_crc[value_byte] ^= 0xff;
    assert!(failure(&bad_crc).contains("CRC"));
    // With CRC checks off the same bytes are read.
    let out = decode(&bad_crc, 100, &mut Budget::new(1 << 20).check_crcs(false));
    assert_eq!(out.messages.len(), 3);
    let mut magic = good.clone();
    magic[16] = 1;
    assert!(failure(&magic).contains("magic 1"));
    let mut short = good.clone();
    short[8..12].copy_from_slice(&(-5i32).to_be_bytes());
    assert!(failure(&short).contains("length -5"));
    // Records before the inconsistency go first; the partition stops after them.
    for (count, at, says) in [
        (-1i32, 100, "declares -1"),
        (2, 102, "holds more"),
        (4, 100, "last offset delta of 2"),
    ] {
        let mut c = good.clone();
        c[57..61].copy_from_slice(&count.to_be_bytes());
        recrc(&mut c);
        assert!(failure_at(&c, at).contains(says), "count {count}");
    }
    let mut delta = good.clone();
    delta[23..27].copy_from_slice(&1i32.to_be_bytes()); // last offset delta 1, 3 records
    recrc(&mut delta);
    assert!(failure(&delta).contains("3 records but a last offset delta of 1"));
    // Fewer records than declared (compaction leaves holes, not a short count).
    let mut fewer = batch(100, 2);
    fewer[23..27].copy_from_slice(&2i32.to_be_bytes());
    fewer[57..61].copy_from_slice(&3i32.to_be_bytes());
    recrc(&mut fewer);
    assert!(failure_at(&fewer, 102).contains("holds fewer"));
    let mut negative = good.clone();
    negative[23..27].copy_from_slice(&(-1i32).to_be_bytes());
    recrc(&mut negative);
    assert!(failure(&negative).contains("last offset delta of -1"));
}

#[test]
fn records_before_a_corrupt_batch_go_first_and_the_next_fetch_stops_at_it() {
    // Offsets going backwards: 100-102, then a batch at 101.
    let mut raw = batch(100, 3);
    raw.extend(batch(101, 3));
    let out = decode(&raw, 100, &mut Budget::new(1 << 20));
    assert_eq!((out.messages.len(), out.next_offset), (3, 103));
    assert!(out.cut && out.failure.is_none());
    let mut bad = batch(100, 3);
    *bad.last_mut().unwrap() ^= 0xff;
    let mut raw = batch(97, 3);
    raw.extend(bad);
    let out = decode(&raw, 97, &mut Budget::new(1 << 20));
    assert_eq!((out.messages.len(), out.next_offset), (3, 100));
    assert!(out.failure.is_none());
    // Fetched again from 100, the bad batch comes first: the partition stops there. The
    // batch before it, below the position, does not count as progress.
    let e = decode(&raw, 100, &mut Budget::new(1 << 20)).failure;
    assert!(e.is_some_and(|e| e.partition_offset().map(|p| p.1) == Some(100)));
}

#[test]
fn a_diverging_epoch_is_reported_and_its_records_are_not_read() {
    use crate::protocol::messages::fetch_response::{
        EpochEndOffset, FetchableTopicResponse, PartitionData,
    };
    let mut resp = FetchResponse::default();
    let mut t = FetchableTopicResponse::default();
    t.topic = String::from("t");
    let mut p = PartitionData::default();
    p.partition_index = 0;
    p.high_watermark = 150;
    p.diverging_epoch = EpochEndOffset {
        epoch: 4,
        end_offset: 90,
    };
    p.records = Some(Bytes::from(batch_in_epoch(100, 5, 4)));
    t.partitions.push(p);
    resp.responses.push(t);
    let offsets = HashMap::from([(TopicPartition::new("t", 0), 100i64)]);
    let out = parse_response(
        resp,
        &HashMap::new(),
        &offsets,
        IsolationLevel::ReadUncommitted,
        &mut Budget::new(1 << 20),
    )
    .unwrap();
    assert_eq!(out[0].diverging, Some((4, 90)));
    assert!(out[0].messages.is_empty());
    assert_eq!(
        out[0].next_offset, 100,
        "the position moves only by the engine"
    );
}

#[test]
fn the_last_fetched_epoch_is_sent_from_fetch_v12() {
    let target = FetchTarget {
        partition: TopicPartition::new("t", 0),
        topic_id: Uuid::nil(),
        position: FetchPosition {
            offset: 7,
            current_leader_epoch: 9,
            last_fetched_epoch: 8,
        },
        max_bytes: 1024,
    };
    let config = FetchParams {
        max_wait: std::time::Duration::from_millis(500),
        min_bytes: 1,
        max_bytes: 1 << 20,
        isolation: IsolationLevel::ReadCommitted,
        rack_id: None,
    };
    let sent = |v| {
        build_request(v, &config, std::slice::from_ref(&target), None).topics[0].partitions[0]
            .last_fetched_epoch
    };
    assert_eq!(sent(12), 8);
    assert_eq!(sent(17), 8);
    assert_eq!(sent(11), -1, "not in the schema before v12");
}

#[test]
fn the_start_of_a_batch_too_big_for_the_limit_asks_for_its_whole_size() {
    // Base offset 100, then "5000 more bytes", then a cut header (magic 2).
    let mut raw = Vec::new();
    raw.extend_from_slice(&100i64.to_be_bytes());
    raw.extend_from_slice(&5000i32.to_be_bytes());
    raw.extend_from_slice(&[0, 0, 0, 0, 2]);
    raw.resize(1024, 0);
    let out = decode(&raw, 100, &mut Budget::new(1 << 20));
    assert_eq!(out.needs_bytes, Some(5012));
    assert!(out.messages.is_empty());
    assert_eq!(out.next_offset, 100, "the position stays");
}

#[test]
fn a_fragment_too_short_to_size_stops_the_partition_naming_the_setting() {
    // Not even the batch length came.
    let out = decode(&[0u8; 10], 100, &mut Budget::new(1 << 20));
    let e = out.failure.expect("a failure");
    assert!(e.to_string().contains("max_bytes_per_partition"), "{e}");
}

#[test]
fn share_decoding_says_where_it_stopped_and_why() {
    let topic: Arc<str> = Arc::from("t");
    let raw = Bytes::from(bomb(100, 1 << 20));
    let (got, stopped) = decode_all(&topic, 0, raw.clone(), 100, &mut Budget::whole(64 << 10));
    assert!(got.is_empty());
    let (at, e) = stopped.expect("stopped");
    assert_eq!((at, e.kind()), (100, &ErrorKind::TooLarge), "{e}");
    let (got, stopped) = decode_all(&topic, 0, raw, 100, &mut Budget::whole(4 << 20));
    assert_eq!((got.len(), stopped.is_none()), (1, true));
    // Good records, then a corrupt batch: the good ones, and where the bad ones start.
    let mut raw = batch(100, 2);
    let mut bad = batch(102, 2);
    let at = bad.len() - 2;
    bad[at] ^= 0x55;
    raw.extend(bad);
    let (got, stopped) = decode_all(
        &topic,
        0,
        Bytes::from(raw),
        100,
        &mut Budget::whole(1 << 20),
    );
    assert_eq!(got.len(), 2);
    let (at, e) = stopped.expect("stopped");
    assert_eq!((at, e.kind()), (102, &ErrorKind::CorruptRecord), "{e}");
    assert!(e.to_string().contains("CRC"), "{e}");
}
