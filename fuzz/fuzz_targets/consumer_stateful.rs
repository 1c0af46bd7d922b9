//! A stateful fuzzer of the consumers: a consumer of assigned partitions, a KIP-848 group
//! consumer or a share consumer runs against an in-process fake broker (the hostile suite's,
//! `crates/kafkit/tests/hostile/server.rs`) whose answers are well-formed responses built
//! from Kafka's message types, with the faults the input chooses, request by request: an
//! error code from the protocol's table, records mutated or replaced, an answer never sent, a
//! connection closed. When the input's faults run out the broker behaves.
//!
//! Checked on every run: no panic (libFuzzer aborts on one, in any task); the memory the
//! process holds stays within the consumer's budget plus a fixed margin; no request type goes
//! out faster than the pacing bound; and once the broker behaves, every partition of an
//! assigned or group consumer delivers all its records or reports an error.
//!
//! Input: byte 0 picks the consumer; then, per request, one byte picks what the broker does
//! (and a few more bytes its details).
#![no_main]

#[allow(dead_code, unused_imports)]
#[path = "../../crates/kafkit/tests/hostile/server.rs"]
mod server;

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request};
use kafkit::consumer::{AutoOffsetReset, ConsumerConfig, GroupProtocol};
use kafkit::share::ShareConsumerConfig;
use kafkit::{Kafka, KafkaConfig, RetryPolicy, TopicPartition};
use libfuzzer_sys::fuzz_target;
use server::{frame, Act, FakeBroker, Incoming};

struct Counting;
static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call goes to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = NOW.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        NOW.fetch_sub(l.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The consumer's prefetch budget, and what the process may hold beyond it (runtime, fake
/// broker, frames in flight).
const BUDGET: usize = 1 << 20;
const MARGIN: usize = 24 << 20;
/// Requests of one API per second at most, over a run (the pacing bound with room for the
/// long polls of a 50 ms max_wait and the reconnections closed connections cause).
const MAX_RATE: f64 = 60.0;
/// Records in each partition.
const RECORDS: usize = 5;
const PARTITIONS: i32 = 3;

/// Error codes the broker may answer with: those the consumers handle by name, and a few
/// they do not know.
const CODES: [i16; 18] = [
    1, 2, 3, 5, 6, 7, 14, 15, 16, 25, 27, 74, 75, 100, 110, 113, 29, 999,
];

/// The fault script: the input's bytes, consumed request by request.
struct Faults {
    bytes: Vec<u8>,
    at: usize,
}

impl Faults {
    fn next(&mut self) -> Option<u8> {
        let b = self.bytes.get(self.at).copied();
        self.at += 1;
        if std::env::var_os("KAFKIT_FUZZ_LOG").is_some() {
            eprintln!("fault byte {} = {b:?}", self.at - 1);
        }
        b
    }

    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }
}

/// The good answer to `inc`, decoded, changed by `f`, encoded again.
fn changed<R: Request>(inc: &Incoming, f: impl FnOnce(&mut R::Response)) -> Act
where
    R::Response: Decodable + Encodable + HeaderVersion,
{
    let Some(good) = inc.answer.clone() else {
        return Act::Answer;
    };
    let mut body = Bytes::copy_from_slice(&good[4..]);
    let hv = <R::Response as HeaderVersion>::header_version(inc.version);
    if ResponseHeader::decode(&mut body, hv).is_err() {
        return Act::Answer;
    }
    let Ok(mut resp) = <R::Response as Decodable>::decode(&mut body, inc.version) else {
        return Act::Answer;
    };
    f(&mut resp);
    // A field the version does not carry cannot be sent: the good answer then.
    let mut probe = bytes::BytesMut::new();
    if resp.encode(&mut probe, inc.version).is_err() {
        return Act::Answer;
    }
    Act::Send(frame::<R>(inc.correlation_id, inc.version, &resp))
}

/// Flips bits of one byte of a records field (the byte at `at`, modulo its length).
fn flip(records: &mut Option<Bytes>, at: u8, xor: u8) {
    if let Some(rec) = records.as_ref().filter(|r| !r.is_empty()) {
        let mut v = rec.to_vec();
        let i = at as usize % v.len();
        v[i] ^= xor.max(1);
        *records = Some(Bytes::from(v));
    }
}

/// What the broker does with `inc`, as the input says.
fn fault(faults: &mut Faults, inc: &Incoming) -> Act {
    if std::env::var_os("KAFKIT_FUZZ_LOG").is_some() {
        eprintln!("request api {} v{}", inc.api_key, inc.version);
    }
    let Some(op) = faults.next() else {
        return Act::Answer;
    };
    match op % 8 {
        4 => {
            let code = CODES[faults.next().unwrap_or(0) as usize % CODES.len()];
            error_answer(inc, code)
        }
        5 if inc.is(ApiKey::Fetch) => {
            let (at, xor) = (faults.next().unwrap_or(0), faults.next().unwrap_or(1));
            changed::<FetchRequest>(inc, |r| {
                for p in r.responses.iter_mut().flat_map(|t| t.partitions.iter_mut()) {
                    flip(&mut p.records, at, xor);
                }
            })
        }
        5 if inc.is(ApiKey::ShareFetch) => {
            let (at, xor) = (faults.next().unwrap_or(0), faults.next().unwrap_or(1));
            changed::<ShareFetchRequest>(inc, |r| {
                for p in r.responses.iter_mut().flat_map(|t| t.partitions.iter_mut()) {
                    flip(&mut p.records, at, xor);
                }
            })
        }
        5 if inc.is(ApiKey::ConsumerGroupHeartbeat) => {
            // An assignment naming a topic id the metadata does not know, beside the real one.
            let extra = faults.next().unwrap_or(0) as i32;
            changed::<ConsumerGroupHeartbeatRequest>(inc, |r| {
                if let Some(a) = r.assignment.as_mut() {
                    let mut t = consumer_group_heartbeat_response::TopicPartitions::default();
                    t.topic_id = uuid::Uuid::from_u128(0xdead_beef);
                    t.partitions = vec![extra % 4];
                    a.topic_partitions.push(t);
                }
            })
        }
        6 => Act::Close,
        7 => Act::Ignore,
        _ => Act::Answer,
    }
}

/// The good answer with `code` where the API carries its errors.
fn error_answer(inc: &Incoming, code: i16) -> Act {
    if inc.is(ApiKey::Fetch) {
        changed::<FetchRequest>(inc, |r| {
            for p in r.responses.iter_mut().flat_map(|t| t.partitions.iter_mut()) {
                p.error_code = code;
                p.records = None;
            }
        })
    } else if inc.is(ApiKey::ConsumerGroupHeartbeat) {
        changed::<ConsumerGroupHeartbeatRequest>(inc, |r| {
            r.error_code = code;
            r.assignment = None;
        })
    } else if inc.is(ApiKey::ShareGroupHeartbeat) {
        changed::<ShareGroupHeartbeatRequest>(inc, |r| {
            r.error_code = code;
            r.assignment = None;
        })
    } else if inc.is(ApiKey::ListOffsets) {
        changed::<ListOffsetsRequest>(inc, |r| {
            for p in r.topics.iter_mut().flat_map(|t| t.partitions.iter_mut()) {
                p.error_code = code;
            }
        })
    } else if inc.is(ApiKey::ShareFetch) {
        changed::<ShareFetchRequest>(inc, |r| r.error_code = code)
    } else if inc.is(ApiKey::FindCoordinator) {
        let batched = inc.version >= 4;
        changed::<FindCoordinatorRequest>(inc, |r| {
            if !batched {
                r.error_code = code;
            }
            for c in &mut r.coordinators {
                c.error_code = code;
            }
        })
    } else if inc.is(ApiKey::OffsetCommit) {
        changed::<OffsetCommitRequest>(inc, |r| {
            for p in r.topics.iter_mut().flat_map(|t| t.partitions.iter_mut()) {
                p.error_code = code;
            }
        })
    } else if inc.is(ApiKey::Metadata) {
        changed::<MetadataRequest>(inc, |r| {
            for t in &mut r.topics {
                t.error_code = code;
            }
        })
    } else {
        Act::Answer
    }
}

fn client_config(fake: &FakeBroker) -> KafkaConfig {
    let mut c = KafkaConfig::new([fake.addr.clone()])
        .client_id("kafkit-fuzz")
        .connect_timeout(Duration::from_millis(300))
        .request_timeout(Duration::from_millis(300))
        .retry(RetryPolicy {
            retries: 2,
            initial_retry_time: Duration::from_millis(20),
            max_retry_time: Duration::from_millis(100),
            ..RetryPolicy::default()
        });
    c.reconnect_backoff.initial = Duration::from_millis(10);
    c.reconnect_backoff.max = Duration::from_millis(100);
    c
}

fn consumer_config(group: &str) -> ConsumerConfig {
    let mut c = if group.is_empty() {
        ConsumerConfig::without_group()
    } else {
        ConsumerConfig::new(group).group_protocol(GroupProtocol::Consumer)
    };
    c.max_wait = Duration::from_millis(50);
    c.max_prefetch_bytes = BUDGET;
    c.max_bytes_per_partition = 64 * 1024;
    c.auto_offset_reset = AutoOffsetReset::Earliest;
    c
}

/// What a run saw per partition: records (offsets) and whether an error item came.
type Seen = BTreeMap<i32, (Vec<i64>, bool)>;

async fn run(mode: u8, faults: Arc<Mutex<Faults>>) {
    let fake = FakeBroker::start().await;
    fake.add_topic("t", PARTITIONS as usize, 0);
    for p in 0..PARTITIONS {
        let values: Vec<String> = (0..RECORDS).map(|i| format!("{p}-{i}")).collect();
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        fake.append("t", p, &values);
    }
    fake.assign(vec![(fake.topic_id("t"), (0..PARTITIONS).collect())]);
    fake.set_coordinator(0);
    {
        let faults = faults.clone();
        fake.script(move |inc| fault(&mut faults.lock().unwrap(), inc));
    }
    let started = Instant::now();
    let Ok(Ok(kafka)) =
        tokio::time::timeout(Duration::from_secs(5), Kafka::connect(client_config(&fake))).await
    else {
        return; // the faults kept the bootstrap from connecting: a clear error, checked elsewhere
    };
    let base = NOW.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let mut seen = Seen::new();
    let behaving = |f: &Arc<Mutex<Faults>>| f.lock().unwrap().done();
    let mut behaved_at: Option<Instant> = None;
    let complete = |seen: &Seen| {
        (0..PARTITIONS).all(|p| {
            seen.get(&p)
                .is_some_and(|(o, err)| *err || o.contains(&(RECORDS as i64 - 1)))
        })
    };
    match mode % 3 {
        2 => {
            // Share: the fake acquires each record once and never again (a real broker would
            // redeliver what was released), so no progress is required; what is checked is
            // that nothing panics, memory stays bounded and errors are paced.
            let Ok(consumer) = kafka.share_consumer(ShareConsumerConfig::new("s").max_wait(
                Duration::from_millis(50),
            )) else {
                return;
            };
            let _ = consumer.subscribe(&["t"]).await;
            let mut stream = Box::pin(consumer.stream());
            let until = Instant::now() + Duration::from_millis(600);
            while Instant::now() < until || !behaving(&faults) {
                if started.elapsed() > Duration::from_secs(20) {
                    break;
                }
                if let Ok(None) =
                    tokio::time::timeout(Duration::from_millis(100), stream.next()).await
                {
                    break; // the consumer stopped (an error it cannot go on with)
                }
            }
            drop(stream);
            let _ = tokio::time::timeout(Duration::from_secs(3), consumer.close()).await;
        }
        m => {
            let consumer = if m == 0 {
                let c = kafka.assigned_consumer(consumer_config("")).unwrap();
                let tps: Vec<_> = (0..PARTITIONS).map(|p| TopicPartition::new("t", p)).collect();
                if c.assign(&tps).await.is_err() {
                    return;
                }
                c
            } else {
                let c = kafka.consumer(consumer_config("g")).unwrap();
                // A subscribe that fails has said why (a broker answering FindCoordinator
                // with an error that cannot be retried): nothing more to check.
                match tokio::time::timeout(Duration::from_secs(10), c.subscribe(&["t"], true))
                    .await
                {
                    Ok(Ok(())) => c,
                    Ok(Err(_)) => return,
                    Err(_) => panic!("subscribe did not return within 10 s"),
                }
            };
            let mut stream = Box::pin(consumer.stream());
            loop {
                if behaved_at.is_none() && behaving(&faults) {
                    behaved_at = Some(Instant::now());
                }
                if complete(&seen) {
                    break;
                }
                {
                    let f = faults.lock().unwrap();
                    assert!(
                        started.elapsed() < Duration::from_secs(20),
                        "20 s without reading every partition or an error: {seen:?}, faults at {}/{}",
                        f.at,
                        f.bytes.len()
                    );
                }
                if let Some(at) = behaved_at {
                    // Backoffs top out at a few seconds: after that, what is not read is stuck.
                    assert!(
                        at.elapsed() < Duration::from_secs(8),
                        "the broker behaves, yet partitions make no progress and report nothing: {seen:?}"
                    );
                }
                match tokio::time::timeout(Duration::from_millis(100), stream.next()).await {
                    Ok(Some(Ok(m))) => seen.entry(m.partition).or_default().0.push(m.offset),
                    Ok(Some(Err(e))) => {
                        if let Some((tp, _)) = e.partition_offset() {
                            seen.entry(tp.partition).or_default().1 = true;
                        }
                    }
                    Ok(None) => break,
                    Err(_) => {}
                }
            }
            drop(stream);
            let _ = tokio::time::timeout(Duration::from_secs(3), consumer.stop()).await;
        }
    }
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    assert!(
        peak <= BUDGET + MARGIN,
        "the process held {peak} bytes more than at the start: past the budget"
    );
    let secs = started.elapsed().as_secs_f64().max(1.0);
    for api in [
        ApiKey::Metadata,
        ApiKey::Fetch,
        ApiKey::ListOffsets,
        ApiKey::ConsumerGroupHeartbeat,
        ApiKey::ShareGroupHeartbeat,
        ApiKey::ShareFetch,
        ApiKey::FindCoordinator,
        ApiKey::OffsetFetch,
        ApiKey::OffsetCommit,
    ] {
        let n = fake.seen(api) as f64;
        assert!(
            n <= MAX_RATE * secs + 20.0,
            "{api:?}: {n} requests in {secs:.1} s, over the pacing bound"
        );
    }
    drop(kafka);
}

fuzz_target!(|data: &[u8]| {
    if data.is_empty() || data.len() > 256 {
        return;
    }
    if let Ok(filter) = std::env::var("KAFKIT_FUZZ_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    }
    let faults = Arc::new(Mutex::new(Faults {
        bytes: data[1..].to_vec(),
        at: 0,
    }));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(data[0], faults));
});
