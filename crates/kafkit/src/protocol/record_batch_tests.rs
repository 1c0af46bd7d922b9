//! Unit tests of `record_batch.rs`.

use super::*;
use proptest::prelude::*;

const ALL: [Compression; 5] = [
    Compression::None,
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];

type Rec = (
    i64,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<(String, Option<Vec<u8>>)>,
);

#[test]
fn a_header_bomb_is_refused() {
    // 200k empty headers: 400 KB inflated from a few hundred bytes of zstd, but 12.8 MB
    // of decoded headers. Before the header bound this decoded (32x the inflate limit).
    let empty: Vec<Header> = (0..200_000)
        .map(|_| Header {
            key: b"",
            value: Some(b""),
        })
        .collect();
    let mut b = RecordBatchBuilder::new(Compression::Zstd);
    b.append(0, None, Some(b"v"), &empty);
    let batch = b.build(BatchParams::default()).unwrap();
    assert!(batch.len() < 4096, "{}", batch.len());
    let parsed = BatchIter::new(batch, 1 << 20).next().unwrap().unwrap();
    let err = parsed.records().unwrap().next().unwrap().unwrap_err();
    assert!(err.to_string().contains("headers"), "{err}");
    // Real header counts fit easily: 1000 headers in a 1 MiB bound.
    let mut b = RecordBatchBuilder::new(Compression::Zstd);
    for _ in 0..10 {
        b.append(0, None, Some(b"v"), &empty[..100]);
    }
    let batch = b.build(BatchParams::default()).unwrap();
    let parsed = BatchIter::new(batch, 1 << 20).next().unwrap().unwrap();
    let n: usize = parsed
        .records()
        .unwrap()
        .map(|r| r.unwrap().headers.len())
        .sum();
    assert_eq!(n, 1000);
}

fn build(c: Compression, recs: &[Rec], p: BatchParams) -> Bytes {
    let mut b = RecordBatchBuilder::new(c);
    for (ts, k, v, hs) in recs {
        let headers: Vec<Header> = hs
            .iter()
            .map(|(k, v)| Header {
                key: k.as_bytes(),
                value: v.as_deref(),
            })
            .collect();
        b.append(*ts, k.as_deref(), v.as_deref(), &headers);
    }
    b.build(p).unwrap()
}

fn check(c: Compression, recs: &[Rec]) {
    let p = BatchParams {
        producer_id: 42,
        producer_epoch: 3,
        base_sequence: 7,
        transactional: true,
        is_control: false,
    };
    let data = build(c, recs, p);
    let batches: Vec<RecordBatch> = BatchIter::new(data, 1 << 30).map(|b| b.unwrap()).collect();
    assert_eq!(batches.len(), 1);
    let b = &batches[0];
    assert_eq!(b.compression().unwrap(), c);
    assert_eq!(b.record_count(), recs.len() as i32);
    assert_eq!(b.last_offset(), recs.len() as i64 - 1);
    assert_eq!(
        (b.producer_id(), b.producer_epoch(), b.base_sequence()),
        (42, 3, 7)
    );
    assert!(b.is_transactional() && !b.is_control());
    if let Some(max) = recs.iter().map(|r| r.0).max() {
        assert_eq!(b.max_timestamp(), max);
    }
    let got: Vec<Record> = b.records().unwrap().map(|r| r.unwrap()).collect();
    assert_eq!(got.len(), recs.len());
    for (i, (r, (ts, k, v, hs))) in got.iter().zip(recs).enumerate() {
        assert_eq!(r.offset, i as i64);
        assert_eq!(r.timestamp, *ts);
        assert_eq!(r.key.as_deref(), k.as_deref());
        assert_eq!(r.value.as_deref(), v.as_deref());
        let h: Vec<(Vec<u8>, Option<Vec<u8>>)> = r
            .headers
            .iter()
            .map(|h| (h.key.to_vec(), h.value.as_ref().map(|v| v.to_vec())))
            .collect();
        let want: Vec<(Vec<u8>, Option<Vec<u8>>)> = hs
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.clone()))
            .collect();
        assert_eq!(h, want);
    }
}

#[test]
fn round_trips_edge_cases_in_every_codec() {
    let recs: Vec<Rec> = vec![
        (1000, None, None, vec![]),
        (999, Some(vec![]), Some(vec![]), vec![]),
        (
            5000,
            Some(b"k".to_vec()),
            Some(vec![7; 70_000]),
            vec![
                ("dup".into(), Some(b"1".to_vec())),
                ("dup".into(), Some(b"2".to_vec())),
                ("null".into(), None),
            ],
        ),
    ];
    for c in ALL {
        check(c, &recs);
        check(c, &[]);
    }
}

#[test]
fn size_estimate_bounds_the_record() {
    let mut b = RecordBatchBuilder::new(Compression::None);
    let before = b.size_estimate();
    let h = [Header {
        key: b"a",
        value: Some(b"b"),
    }];
    b.append(1, Some(b"key"), Some(&[0; 300]), &h);
    let used = b.size_estimate() - before;
    assert!(used <= RecordBatchBuilder::record_size(Some(b"key"), Some(&[0; 300]), &h));
}

#[test]
fn truncated_trailing_batch_ends_silently() {
    let recs: Vec<Rec> = vec![(1, None, Some(b"a".to_vec()), vec![])];
    let one = build(Compression::None, &recs, BatchParams::default());
    let mut two = BytesMut::new();
    two.extend_from_slice(&one);
    two.extend_from_slice(&one[..one.len() - 3]);
    let got: Vec<_> = BatchIter::new(two.freeze(), 1 << 20).collect();
    assert_eq!(got.len(), 1);
    assert!(got[0].is_ok());
}

#[test]
fn bad_crc_and_legacy_magic_are_errors() {
    let recs: Vec<Rec> = vec![(1, None, Some(b"a".to_vec()), vec![])];
    let good = build(Compression::None, &recs, BatchParams::default());
    let mut bad = BytesMut::from(&good[..]);
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let e = BatchIter::new(bad.freeze(), 1 << 20)
        .next()
        .unwrap()
        .unwrap_err();
    assert!(e.to_string().contains("CRC"), "{e}");
    let mut legacy = BytesMut::from(&good[..]);
    legacy[16] = 1;
    let e = BatchIter::new(legacy.freeze(), 1 << 20)
        .next()
        .unwrap()
        .unwrap_err();
    assert!(e.to_string().contains("magic 1"), "{e}");
}

#[test]
fn control_records_are_recognised() {
    let mut b = RecordBatchBuilder::new(Compression::None);
    b.append(1, Some(&[0, 0, 0, 1]), Some(&[0, 0, 0, 0, 0, 0]), &[]);
    let data = b
        .build(BatchParams {
            is_control: true,
            transactional: true,
            ..Default::default()
        })
        .unwrap();
    let batch = BatchIter::new(data, 1 << 20).next().unwrap().unwrap();
    assert!(batch.is_control());
    let r = batch.records().unwrap().next().unwrap().unwrap();
    assert_eq!(control_record(&r), Some(ControlRecord::Commit));
}

fn arb_rec() -> impl Strategy<Value = Rec> {
    (
        0i64..2_000_000_000_000,
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..200)),
        proptest::collection::vec(
            (
                "[a-z]{0,5}",
                proptest::option::of(proptest::collection::vec(any::<u8>(), 0..10)),
            ),
            0..4,
        ),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_records_round_trip(recs in proptest::collection::vec(arb_rec(), 0..30), codec in 0usize..5) {
        check(ALL[codec], &recs);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        for b in BatchIter::new(Bytes::from(data), 1 << 16).flatten() {
            if let Ok(rs) = b.records() {
                for r in rs { let _ = r; }
            }
        }
    }

    #[test]
    fn mutated_batches_never_panic(recs in proptest::collection::vec(arb_rec(), 1..5), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>(), codec in 0usize..5) {
        let good = build(ALL[codec], &recs, BatchParams::default());
        let mut m = BytesMut::from(&good[..]);
        for (at, x) in flips {
            let i = at % m.len();
            m[i] ^= x;
        }
        // Recompute the CRC half the time so the record parser sees the damage too.
        if cut % 2 == 0 && m.len() > ATTRIBUTES_AT {
            let crc = crc32c::crc32c(&m[ATTRIBUTES_AT..]);
            m[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
        }
        let keep = cut % (m.len() + 1);
        m.truncate(keep.max(m.len() / 2));
        for b in BatchIter::new(m.freeze(), 1 << 20).flatten() {
            if let Ok(rs) = b.records() {
                for r in rs { let _ = r; }
            }
        }
    }
}
