//! Hostile brokers: a fake broker (tests/hostile/server.rs) that is connected to like a real one
//! and then misbehaves (garbage, bad frame lengths, wrong or unsolicited correlation ids, cut
//! frames, trailing bytes, silence, slowness, closing, TLS and SASL garbage). Each case drives the
//! public API, asserts the error kind and that the message names the broker and the API, that
//! the same handle works again once the broker behaves, and that dropping the handle closes
//! every socket (no client task left reading one). No Java needed.

#[path = "hostile/server.rs"]
mod server;

use std::time::{Duration, Instant};

use kafkit::net::pool::ReconnectBackoff;
use kafkit::protocol::messages::ApiKey;
use kafkit::{Error, ErrorKind, Event, Kafka, KafkaConfig, RetryPolicy};
use server::{raw_frame, with_correlation, with_trailing, Act, FakeBroker, GARBAGE};

const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);
const REQUEST_TIMEOUT: Duration = Duration::from_millis(500);
/// Time a dropped handle gets to close its sockets.
const CLOSE_WITHIN: Duration = Duration::from_secs(3);

/// Tests share the process; the memory test runs alone (it measures the process).
static GATE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

fn config(fake: &FakeBroker) -> KafkaConfig {
    let mut c = KafkaConfig::new([fake.addr.clone()])
        .client_id("kafkit-hostile")
        .connect_timeout(CONNECT_TIMEOUT)
        .request_timeout(REQUEST_TIMEOUT)
        .retry(RetryPolicy {
            retries: 2,
            initial_retry_time: Duration::from_millis(50),
            max_retry_time: Duration::from_millis(200),
            ..RetryPolicy::default()
        });
    c.reconnect_backoff = ReconnectBackoff {
        initial: Duration::from_millis(10),
        max: Duration::from_millis(50),
    };
    c
}

async fn connect(fake: &FakeBroker) -> Kafka {
    Kafka::connect(config(fake))
        .await
        .unwrap_or_else(|e| panic!("connect to the well-behaved fake {}: {e}", fake.addr))
}

/// The error has this kind and its text names each of `needles` (broker, API, cause).
#[track_caller]
fn assert_error(e: &Error, kind: ErrorKind, needles: &[&str]) {
    assert_eq!(e.kind(), &kind, "{e}");
    let text = e.to_string();
    for n in needles {
        assert!(text.contains(n), "want {n:?} in: {text}");
    }
}

/// The same handle works again once the broker behaves (reconnecting as needed).
async fn assert_usable(kafka: &Kafka, fake: &FakeBroker) {
    fake.behave();
    let cluster = kafka
        .admin()
        .describe_cluster()
        .await
        .unwrap_or_else(|e| panic!("the handle is unusable after the fault: {e}"));
    assert_eq!(
        cluster.brokers[0].port.to_string(),
        fake.addr.rsplit(':').next().unwrap()
    );
}

/// Dropping every handle closes every socket to the fake.
async fn assert_closed_after_drop(kafka: Kafka, fakes: &[&FakeBroker]) {
    drop(kafka);
    for f in fakes {
        f.closed(CLOSE_WITHIN).await.unwrap();
    }
}

/// Runs one request against a handle whose broker misbehaves, then checks recovery and cleanup.
async fn metadata_fault(
    script: impl Fn(&server::Incoming) -> Act + Send + Sync + 'static,
    kind: ErrorKind,
    needles: &[&str],
) -> Error {
    let fake = FakeBroker::start().await;
    let kafka = connect(&fake).await;
    fake.script(move |r| {
        if r.is(ApiKey::Metadata) {
            script(r)
        } else {
            Act::Answer
        }
    });
    let started = Instant::now();
    let e = kafka.admin().list_topics().await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let mut all = vec![fake.addr.as_str(), "Metadata"];
    all.extend_from_slice(needles);
    assert_error(&e, kind, &all);
    assert_usable(&kafka, &fake).await;
    assert_closed_after_drop(kafka, &[&fake]).await;
    e
}

#[tokio::test]
async fn garbage_answer_to_the_first_request_fails_connect_with_a_protocol_error() {
    let _g = GATE.read().await;
    let fake = FakeBroker::start().await;
    fake.script(|r| {
        if r.is(ApiKey::ApiVersions) {
            Act::Send(raw_frame(r.correlation_id, GARBAGE))
        } else {
            Act::Answer
        }
    });
    let e = Kafka::connect(config(&fake)).await.unwrap_err();
    assert_error(
        &e,
        ErrorKind::Protocol,
        &[&fake.addr, "ApiVersions", "malformed"],
    );
    // The process is fine: the same configuration reaches the broker once it behaves.
    fake.behave();
    let kafka = connect(&fake).await;
    assert_closed_after_drop(kafka, &[&fake]).await;
}

#[tokio::test]
async fn garbage_answer_is_a_protocol_error_naming_broker_and_api() {
    let _g = GATE.read().await;
    metadata_fault(
        |r| Act::Send(raw_frame(r.correlation_id, GARBAGE)),
        ErrorKind::Protocol,
        &["malformed"],
    )
    .await;
}

#[tokio::test]
async fn frame_over_max_response_size_is_too_large() {
    let _g = GATE.read().await;
    let fake = FakeBroker::start().await;
    let mut c = config(&fake);
    c.max_response_size = 64 * 1024;
    let kafka = Kafka::connect(c).await.unwrap();
    fake.script(|r| {
        if r.is(ApiKey::Metadata) {
            let mut f = (1i32 << 20).to_be_bytes().to_vec();
            f.extend_from_slice(&[0; 100]);
            Act::Send(f)
        } else {
            Act::Answer
        }
    });
    let e = kafka.admin().list_topics().await.unwrap_err();
    assert_error(
        &e,
        ErrorKind::TooLarge,
        &[&fake.addr, "Metadata", "1048576 bytes", "max_response_size"],
    );
    assert_usable(&kafka, &fake).await;
    assert_closed_after_drop(kafka, &[&fake]).await;
}

#[tokio::test]
async fn negative_and_tiny_frame_lengths_are_protocol_errors() {
    let _g = GATE.read().await;
    let fake = FakeBroker::start().await;
    let kafka = connect(&fake).await;
    for len in [-1i32, i32::MIN, 0, 3] {
        fake.script(move |r| {
            if r.is(ApiKey::Metadata) {
                Act::Send(len.to_be_bytes().to_vec())
            } else {
                Act::Answer
            }
        });
        let e = kafka.admin().list_topics().await.unwrap_err();
        assert_error(
            &e,
            ErrorKind::Protocol,
            &[
                &fake.addr,
                "Metadata",
                &format!("frame length {len} is too small"),
            ],
        );
        assert_usable(&kafka, &fake).await;
    }
    assert_closed_after_drop(kafka, &[&fake]).await;
}

/// `(virtual size, resident size)` of this process in bytes.
fn memory() -> (u64, u64) {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let mut f = statm
        .split_whitespace()
        .map(|v| v.parse::<u64>().unwrap() * 4096);
    (f.next().unwrap(), f.next().unwrap())
}

#[tokio::test]
async fn huge_frame_header_then_silence_times_out_without_allocating() {
    // Alone: it measures the process's memory.
    let _g = GATE.write().await;
    let fake = FakeBroker::start().await;
    let kafka = connect(&fake).await;
    let (sent_tx, mut sent_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    fake.script(move |r| {
        if r.is(ApiKey::Metadata) {
            let _ = sent_tx.send(());
            // 200 MB announced, then a few bytes and silence.
            let mut f = 200_000_000i32.to_be_bytes().to_vec();
            f.extend_from_slice(&r.correlation_id.to_be_bytes());
            f.extend_from_slice(&[0; 1000]);
            Act::Send(f)
        } else {
            Act::Answer
        }
    });
    let before = memory();
    let admin = kafka.admin();
    let request = tokio::spawn(async move { admin.list_topics().await });
    // Measured while the client waits for the rest of the frame.
    sent_rx.recv().await.unwrap();
    tokio::time::sleep(REQUEST_TIMEOUT / 2).await;
    let during = memory();
    let started = Instant::now();
    let e = request.await.unwrap().unwrap_err();
    assert!(started.elapsed() < REQUEST_TIMEOUT * 2);
    assert_error(
        &e,
        ErrorKind::Timeout(REQUEST_TIMEOUT),
        &[
            &fake.addr,
            "Metadata",
            "no response within the request timeout",
        ],
    );
    let grew = |i: usize| {
        let (b, d) = [(before.0, during.0), (before.1, during.1)][i];
        d.saturating_sub(b)
    };
    assert!(grew(0) < 50 << 20, "virtual size grew {} MB", grew(0) >> 20);
    assert!(
        grew(1) < 50 << 20,
        "resident size grew {} MB",
        grew(1) >> 20
    );
    assert_usable(&kafka, &fake).await;
    assert_closed_after_drop(kafka, &[&fake]).await;
}

#[tokio::test]
async fn slowly_dribbled_frame_hits_the_request_timeout_and_the_connection_is_dropped() {
    let _g = GATE.read().await;
    let fake = FakeBroker::start().await;
    let kafka = connect(&fake).await;
    // A valid answer at one byte per 50 ms: some bytes arrive all the time, the whole never
    // within the timeout.
    fake.script(|r| {
        if r.is(ApiKey::Metadata) {
            Act::Dribble(r.good(), Duration::from_millis(50))
        } else {
            Act::Answer
        }
    });
    // The bootstrap connection stays; metadata's node 0 gets a connection of its own.
    let open = fake.open();
    let started = Instant::now();
    let e = kafka.admin().list_topics().await.unwrap_err();
    assert!(
        started.elapsed() < REQUEST_TIMEOUT * 2,
        "took {:?}",
        started.elapsed()
    );
    assert_error(
        &e,
        ErrorKind::Timeout(REQUEST_TIMEOUT),
        &[&fake.addr, "Metadata"],
    );
    // The dribbling connection is closed by the client (the fake's next byte fails).
    let deadline = Instant::now() + CLOSE_WITHIN;
    while fake.open() > open && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(fake.open(), open, "the timed-out connection is still open");
    assert_usable(&kafka, &fake).await;
    assert_closed_after_drop(kafka, &[&fake]).await;
}

#[tokio::test]
async fn wrong_correlation_id_fails_the_waiting_request_by_name() {
    let _g = GATE.read().await;
    metadata_fault(
        |r| Act::Send(with_correlation(&r.good(), r.correlation_id + 1000)),
        ErrorKind::Protocol,
        &["correlation id", "Metadata request with correlation id"],
    )
    .await;
}

#[tokio::test]
async fn response_to_nothing_closes_the_connection_and_the_handle_reconnects() {
    let _g = GATE.read().await;
    let fake = FakeBroker::start().await;
    let kafka = connect(&fake).await;
    let mut events = kafka.events();
    // The answer, then a second frame no request asked for.
    fake.script(|r| {
        if r.is(ApiKey::Metadata) {
            let mut bytes = r.good();
            bytes.extend(with_correlation(&r.good(), 777_777));
            Act::Send(bytes)
        } else {
            Act::Answer
        }
    });
    kafka.admin().list_topics().await.unwrap();
    let reason = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            if let Ok(Event::Disconnect { broker, reason }) = events.recv().await {
                assert_eq!(broker, fake.addr);
                return reason.unwrap();
            }
        }
    })
    .await
    .expect("a Disconnect event");
    assert!(reason.contains(&fake.addr), "{reason}");
    assert!(
        reason.contains("correlation id 777777") && reason.contains("no request waiting"),
        "{reason}"
    );
    let accepted = fake.accepted();
    assert_usable(&kafka, &fake).await;
    assert!(fake.accepted() > accepted, "no new connection");
    assert_closed_after_drop(kafka, &[&fake]).await;
}

#[tokio::test]
async fn frame_cut_by_close_is_a_retriable_connection_error() {
    let _g = GATE.read().await;
    let e = metadata_fault(
        |r| {
            let good = r.good();
            Act::SendAndClose(good[..good.len() / 2].to_vec())
        },
        ErrorKind::Connection,
        &["frame cut short"],
    )
    .await;
    assert!(e.is_retriable());
}

#[tokio::test]
async fn trailing_bytes_after_a_valid_body_are_a_protocol_error() {
    let _g = GATE.read().await;
    metadata_fault(
        |r| Act::Send(with_trailing(&r.good(), &[1, 2, 3, 4])),
        ErrorKind::Protocol,
        &["trailing bytes"],
    )
    .await;
}

#[tokio::test]
async fn array_length_beyond_the_frame_is_a_protocol_error_not_an_abort() {
    let _g = GATE.read().await;
    metadata_fault(
        |r| {
            // Throttle time, then a brokers array claiming 2^31-1 entries and nothing after.
            let mut body = Vec::new();
            let flexible = r.version >= 9;
            if flexible {
                body.push(0); // response header tagged fields
            }
            body.extend_from_slice(&0i32.to_be_bytes());
            if flexible {
                // Compact array: unsigned varint of length + 1 = 2^31.
                body.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x08]);
            } else {
                body.extend_from_slice(&i32::MAX.to_be_bytes());
            }
            Act::Send(raw_frame(r.correlation_id, &body))
        },
        ErrorKind::Protocol,
        &["malformed"],
    )
    .await;
}

#[tokio::test]
async fn broker_that_accepts_and_never_answers_times_out() {
    let _g = GATE.read().await;
    let fake = FakeBroker::start().await;
    fake.script(|_| Act::Ignore);
    // Connecting: the connect timeout, naming the request that got no answer.
    let mut c = config(&fake);
    c.connect_timeout = Duration::from_millis(300);
    c.request_timeout = Duration::from_secs(5);
    let started = Instant::now();
    let e = Kafka::connect(c).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_error(
        &e,
        ErrorKind::Timeout(Duration::from_millis(300)),
        &[
            &fake.addr,
            "did not answer ApiVersions within connect_timeout",
        ],
    );
    // Connected: the request timeout.
    fake.behave();
    let kafka = connect(&fake).await;
    fake.script(|_| Act::Ignore);
    let e = kafka.admin().list_topics().await.unwrap_err();
    assert_error(
        &e,
        ErrorKind::Timeout(REQUEST_TIMEOUT),
        &[&fake.addr, "Metadata"],
    );
    assert!(e.is_retriable());
    assert_usable(&kafka, &fake).await;
    assert_closed_after_drop(kafka, &[&fake]).await;
}

#[tokio::test]
async fn broker_that_closes_after_every_request_gives_a_connection_error() {
    let _g = GATE.read().await;
    let fake = FakeBroker::start().await;
    fake.script(|_| Act::Close);
    let e = Kafka::connect(config(&fake)).await.unwrap_err();
    assert_error(
        &e,
        ErrorKind::Connection,
        &[
            &fake.addr,
            "ApiVersions",
            "the broker closed the connection",
        ],
    );
    assert!(e.is_retriable());
    fake.behave();
    let kafka = connect(&fake).await;
    fake.script(|r| {
        if r.is(ApiKey::Metadata) {
            Act::Close
        } else {
            Act::Answer
        }
    });
    let e = kafka.admin().list_topics().await.unwrap_err();
    assert_error(
        &e,
        ErrorKind::Connection,
        &[&fake.addr, "Metadata", "the broker closed the connection"],
    );
    assert_usable(&kafka, &fake).await;
    assert_closed_after_drop(kafka, &[&fake]).await;
}
