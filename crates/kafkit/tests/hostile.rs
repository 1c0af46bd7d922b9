//! Hostile brokers: a fake broker (tests/hostile/server.rs) that is connected to like a real one
//! and then misbehaves (garbage, bad frame lengths, wrong or unsolicited correlation ids, cut
//! frames, trailing bytes, silence, slowness, closing, TLS and SASL garbage). Each case drives the
//! public API, asserts the error kind and that the message names the broker and the API, that
//! the same handle works again once the broker behaves, and that dropping the handle closes
//! every socket (no client task left reading one). No Java needed.

#[path = "hostile/server.rs"]
mod server;

use std::time::{Duration, Instant};

use kafka_protocol::messages::{ApiKey, SaslAuthenticateRequest, SaslAuthenticateResponse};
use kafkit::admin::NewTopic;
use kafkit::consumer::{ConsumerConfig, GroupProtocol};
use kafkit::producer::{ProducerConfig, Record};
use kafkit::security::ReconnectBackoff;
use kafkit::security::SaslConfig;
use kafkit::security::TlsConfig;
use kafkit::{Error, ErrorKind, Event, Kafka, KafkaConfig, RetryPolicy};
use server::{raw_frame, with_correlation, with_trailing, Act, FakeBroker, GARBAGE, NOT_KAFKA};

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
        &[
            &fake.addr,
            "Metadata",
            "1048576 bytes",
            "max_response_size (65536 bytes)",
            "KafkaConfig::max_response_size",
        ],
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
    // The lookup reconnects to the silent broker: its ApiVersions goes unanswered too.
    let e = kafka.admin().list_topics().await.unwrap_err();
    assert_error(
        &e,
        ErrorKind::Timeout(REQUEST_TIMEOUT),
        &[
            &fake.addr,
            "metadata",
            "no response within the request timeout",
        ],
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

/// A CA certificate for TLS configurations (the fakes never present a certificate).
const TEST_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBmDCCAT+gAwIBAgIUN98FElZwe7676D3sRcX9zIxnqrgwCgYIKoZIzj0EAwIw
ITEfMB0GA1UEAwwWa2Fma2l0IGhvc3RpbGUtdGVzdCBDQTAgFw0yNjEyMDEyMDMw
NDlaGA8yMTI2MTEwNzIwMzA0OVowITEfMB0GA1UEAwwWa2Fma2l0IGhvc3RpbGUt
dGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABJlVit0D1zFGbGckzprh
y3cCNbgg8qNyPVHcVLfiMa1dG6EC++2hJrhIbLDj9PV+8zHcTDKP2u52sGBctOtq
ocqjUzBRMB0GA1UdDgQWBBTdGgIMSKSIFLa2+4+P574rPvLNdzAfBgNVHSMEGDAW
gBTdGgIMSKSIFLa2+4+P574rPvLNdzAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49
BAMCA0cAMEQCIGUxqoAKTC7E3+27Km+wP9wqFb7j7cXpgp6RrJ/T6j2LAiB4hPxg
ZGdHAfDfdkf0Fc1tHM06CC2EDlBXFlwPzqKcEw==
-----END CERTIFICATE-----
";

#[tokio::test]
async fn tls_client_against_a_plaintext_listener_is_a_clear_error() {
    let _g = GATE.read().await;
    let fake = FakeBroker::start().await;
    let tls = || config(&fake).tls(TlsConfig::new().ca_pem(TEST_CA));
    // A Kafka listener reads the ClientHello as a frame length far too large and hangs up.
    fake.script(|r| {
        if r.api_key == NOT_KAFKA {
            Act::Close
        } else {
            Act::Answer
        }
    });
    let e = Kafka::connect(tls()).await.unwrap_err();
    assert_error(
        &e,
        ErrorKind::Connection,
        &[&fake.addr, "TLS handshake", "TLS (SSL / SASL_SSL) listener"],
    );
    // A listener that answers with something other than TLS.
    fake.script(|r| {
        if r.api_key == NOT_KAFKA {
            Act::SendAndClose(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec())
        } else {
            Act::Answer
        }
    });
    let e = Kafka::connect(tls()).await.unwrap_err();
    assert_error(
        &e,
        ErrorKind::Protocol,
        &[&fake.addr, "did not answer with TLS"],
    );
    // Without TLS the same process reaches it.
    fake.behave();
    let kafka = connect(&fake).await;
    assert_closed_after_drop(kafka, &[&fake]).await;
}

#[tokio::test]
async fn plaintext_client_against_tls_bytes_names_tls() {
    let _g = GATE.read().await;
    let fake = FakeBroker::start().await;
    // What a TLS listener answers to a plaintext request: an alert record, then it hangs up.
    fake.script(|_| Act::SendAndClose(vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]));
    let e = Kafka::connect(config(&fake)).await.unwrap_err();
    assert_error(
        &e,
        ErrorKind::TooLarge,
        &[&fake.addr, "ApiVersions", "TLS record", "KafkaConfig::tls"],
    );
    fake.behave();
    let kafka = connect(&fake).await;
    assert_closed_after_drop(kafka, &[&fake]).await;
}

#[tokio::test]
async fn sasl_servers_answering_garbage_are_clear_errors() {
    let _g = GATE.read().await;
    let fake = FakeBroker::start().await;
    let plain = || config(&fake).sasl(SaslConfig::plain("alice", "alice-secret"));
    let scram = || config(&fake).sasl(SaslConfig::scram_sha256("alice", "alice-secret"));

    // An undecodable SaslHandshake answer.
    fake.script(|r| {
        if r.is(ApiKey::SaslHandshake) {
            Act::Send(raw_frame(r.correlation_id, GARBAGE))
        } else {
            Act::Answer
        }
    });
    let e = Kafka::connect(plain()).await.unwrap_err();
    assert_error(
        &e,
        ErrorKind::Protocol,
        &[&fake.addr, "SaslHandshake", "malformed"],
    );

    // An undecodable SaslAuthenticate answer (PLAIN).
    fake.script(|r| {
        if r.is(ApiKey::SaslAuthenticate) {
            Act::Send(raw_frame(r.correlation_id, GARBAGE))
        } else {
            Act::Answer
        }
    });
    let e = Kafka::connect(plain()).await.unwrap_err();
    assert_error(
        &e,
        ErrorKind::Protocol,
        &[&fake.addr, "SaslAuthenticate", "malformed"],
    );

    // SCRAM: a well-formed SaslAuthenticate whose challenge is garbage.
    fake.script(|r| {
        if r.is(ApiKey::SaslAuthenticate) {
            let mut resp = SaslAuthenticateResponse::default();
            resp.auth_bytes = bytes::Bytes::from_static(b"\xff\xfe\x00not scram");
            Act::Send(server::frame::<SaslAuthenticateRequest>(
                r.correlation_id,
                r.version,
                &resp,
            ))
        } else {
            Act::Answer
        }
    });
    let e = Kafka::connect(scram()).await.unwrap_err();
    assert_error(&e, ErrorKind::Auth, &[&fake.addr, "SCRAM", "not UTF-8"]);
    // SCRAM: a challenge that is not one (empty).
    fake.script(|_| Act::Answer);
    let e = Kafka::connect(scram()).await.unwrap_err();
    assert_error(
        &e,
        ErrorKind::Auth,
        &[&fake.addr, "SCRAM", "lacks its nonce"],
    );
    // SCRAM: a valid challenge, then a server-final message that is garbage.
    fake.script(|r| {
        if !r.is(ApiKey::SaslAuthenticate) {
            return Act::Answer;
        }
        let req: SaslAuthenticateRequest = r.decode();
        let text = String::from_utf8_lossy(&req.auth_bytes).into_owned();
        let mut resp = SaslAuthenticateResponse::default();
        resp.auth_bytes = match text.split_once(",r=") {
            // client-first "n,,n=alice,r=NONCE": answer with the nonce extended.
            Some((_, nonce)) if text.starts_with("n,,") => {
                format!("r={nonce}fake,s=c2FsdHNhbHQ=,i=4096")
                    .into_bytes()
                    .into()
            }
            _ => bytes::Bytes::from_static(b"v=\x00garbage%%"),
        };
        Act::Send(server::frame::<SaslAuthenticateRequest>(
            r.correlation_id,
            r.version,
            &resp,
        ))
    });
    let e = Kafka::connect(scram()).await.unwrap_err();
    assert_error(&e, ErrorKind::Auth, &[&fake.addr, "SCRAM", "final message"]);

    // The same process authenticates with a broker that behaves (PLAIN).
    fake.behave();
    let kafka = Kafka::connect(plain()).await.unwrap();
    assert_closed_after_drop(kafka, &[&fake]).await;
}

/// A producer config with short timeouts.
fn producer_config() -> ProducerConfig {
    let mut c = ProducerConfig::default()
        .delivery_timeout(Duration::from_secs(2))
        .linger(Duration::ZERO);
    c.request_timeout = Duration::from_millis(500);
    c.retry_backoff = Duration::from_millis(50);
    c
}

#[tokio::test]
async fn producer_send_to_a_hostile_leader_fails_within_the_delivery_timeout() {
    let _g = GATE.read().await;
    let good = FakeBroker::start().await;
    let bad = good.join().await;
    good.add_topic("led-by-good", 1, good.node_id);
    good.add_topic("led-by-bad", 1, bad.node_id);
    let kafka = connect(&good).await;
    let producer = kafka.producer(producer_config()).unwrap();
    let send = |topic: &'static str| {
        let producer = producer.clone();
        async move {
            let started = Instant::now();
            let ack = producer.send(Record::new(topic, b"value")).await?;
            let res = tokio::time::timeout(Duration::from_secs(6), ack)
                .await
                .expect("the delivery future hangs");
            Ok::<_, Error>((res, started.elapsed()))
        }
    };

    // Garbage: not retriable, the batch fails at once.
    bad.script(|r| {
        if r.is(ApiKey::Produce) {
            Act::Send(raw_frame(r.correlation_id, GARBAGE))
        } else {
            Act::Answer
        }
    });
    let (res, took) = send("led-by-bad").await.unwrap();
    let e = res.unwrap_err();
    assert_error(
        &e,
        ErrorKind::Protocol,
        &[&bad.addr, "Produce", "malformed"],
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");

    // Closing after every request: retried (a bounded number of times) until the delivery
    // timeout, which names the last failure.
    let before = bad.seen(ApiKey::Produce);
    bad.script(|r| {
        if r.is(ApiKey::Produce) {
            Act::Close
        } else {
            Act::Answer
        }
    });
    let (res, took) = send("led-by-bad").await.unwrap();
    let e = res.unwrap_err();
    assert_error(
        &e,
        ErrorKind::Timeout(Duration::from_secs(2)),
        &[
            "delivery_timeout",
            &bad.addr,
            "Produce",
            "the broker closed the connection",
        ],
    );
    let attempts = bad.seen(ApiKey::Produce) - before;
    assert!((2..100).contains(&attempts), "{attempts} attempts");
    assert!(took < Duration::from_secs(4), "took {took:?}");

    // Silence: each attempt times out, then the delivery timeout ends it.
    bad.script(|r| {
        if r.is(ApiKey::Produce) {
            Act::Ignore
        } else {
            Act::Answer
        }
    });
    let (res, took) = send("led-by-bad").await.unwrap();
    let e = res.unwrap_err();
    assert_error(
        &e,
        ErrorKind::Timeout(Duration::from_secs(2)),
        &[
            "delivery_timeout",
            &bad.addr,
            "Produce",
            "no response within the request timeout",
        ],
    );
    assert!(took < Duration::from_secs(4), "took {took:?}");

    // The same producer delivers to a good leader, and to the bad one once it behaves.
    let (res, _) = send("led-by-good").await.unwrap();
    res.unwrap();
    bad.behave();
    let (res, _) = send("led-by-bad").await.unwrap();
    res.unwrap();
    producer.close().await.unwrap();
    drop(producer);
    assert_closed_after_drop(kafka, &[&good, &bad]).await;
}

#[tokio::test]
async fn admin_calls_against_hostile_answers() {
    let _g = GATE.read().await;
    let fake = FakeBroker::start().await;
    let kafka = connect(&fake).await;
    let admin = kafka.admin();

    // Two requests in flight; the answer to the second comes with a correlation id nobody
    // used: both fail, each named, with the request that was waiting named as the cause.
    fake.script(|r| {
        if r.is(ApiKey::CreateTopics) {
            Act::Ignore
        } else if r.is(ApiKey::Metadata) {
            Act::Send(with_correlation(&r.good(), r.correlation_id + 1000))
        } else {
            Act::Answer
        }
    });
    let create = {
        let admin = admin.clone();
        tokio::spawn(async move { admin.create_topics(&[NewTopic::new("t", 1)]).await })
    };
    while fake.seen(ApiKey::CreateTopics) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let e = admin.list_topics().await.unwrap_err();
    assert_error(
        &e,
        ErrorKind::Protocol,
        &[
            &fake.addr,
            "Metadata request",
            "the CreateTopics request with correlation id",
        ],
    );
    let e = create.await.unwrap().unwrap_err();
    assert_error(
        &e,
        ErrorKind::Protocol,
        &[
            &fake.addr,
            "CreateTopics request",
            "the CreateTopics request with correlation id",
        ],
    );

    // A ListGroups answer cut by a close.
    fake.script(|r| {
        if r.is(ApiKey::ListGroups) {
            let good = r.good();
            Act::SendAndClose(good[..good.len() - 3].to_vec())
        } else {
            Act::Answer
        }
    });
    let e = admin.list_groups(&[], &[]).await.unwrap_err();
    assert_error(
        &e,
        ErrorKind::Connection,
        &[&fake.addr, "ListGroups", "frame cut short"],
    );

    // Both work once the broker behaves.
    fake.behave();
    admin.create_topics(&[NewTopic::new("t", 1)]).await.unwrap();
    assert_eq!(admin.list_groups(&[], &[]).await.unwrap().len(), 1);
    drop(admin);
    assert_closed_after_drop(kafka, &[&fake]).await;
}

#[tokio::test]
async fn consumer_against_a_coordinator_answering_garbage() {
    let _g = GATE.read().await;
    let good = FakeBroker::start().await;
    let bad = good.join().await;
    good.add_topic("orders", 1, good.node_id);
    let kafka = connect(&good).await;
    let consumer = kafka
        .consumer(ConsumerConfig::new("hostile-group").group_protocol(GroupProtocol::Consumer))
        .unwrap();

    // FindCoordinator answered with garbage by every broker (the lookup asks the next broker
    // when one fails): subscribe fails, naming it.
    for node in [&good, &bad] {
        node.script(|r| {
            if r.is(ApiKey::FindCoordinator) {
                Act::Send(raw_frame(r.correlation_id, GARBAGE))
            } else {
                Act::Answer
            }
        });
    }
    let e = consumer.subscribe(&["orders"], true).await.unwrap_err();
    assert_error(
        &e,
        ErrorKind::Protocol,
        &[&good.addr, "FindCoordinator", "malformed"],
    );

    // The coordinator found is the other node, and its heartbeat answers are garbage: the
    // member keeps trying with backoff (not in a hot loop), and joins once it behaves.
    good.behave();
    good.set_coordinator(bad.node_id);
    bad.script(|r| {
        if r.is(ApiKey::ConsumerGroupHeartbeat) {
            Act::Send(raw_frame(r.correlation_id, GARBAGE))
        } else {
            Act::Answer
        }
    });
    consumer.subscribe(&["orders"], true).await.unwrap();
    let run = {
        let consumer = consumer.clone();
        tokio::spawn(async move { consumer.run_each_message(|_| async { Ok(()) }).await })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let tries = bad.seen(ApiKey::ConsumerGroupHeartbeat);
    assert!((2..30).contains(&tries), "{tries} heartbeats in 1 s");
    assert_eq!(
        consumer.group_metadata().generation_id,
        0,
        "joined on garbage"
    );
    bad.behave();
    let deadline = Instant::now() + Duration::from_secs(5);
    while consumer.group_metadata().generation_id < 1 {
        assert!(
            Instant::now() < deadline,
            "never joined once the coordinator behaved"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::timeout(Duration::from_secs(5), consumer.stop())
        .await
        .expect("stop hangs")
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .expect("run does not return after stop")
        .unwrap()
        .unwrap();
    drop(consumer);
    assert_closed_after_drop(kafka, &[&good, &bad]).await;
}

/// A hung broker (socket open, no answers: a frozen process) is the first one asked for
/// metadata: the lookup asks the next broker too after a moment instead of waiting out the
/// request timeout, and afterwards asks the hung one last.
#[tokio::test]
async fn a_hung_broker_does_not_hold_metadata_lookups() {
    let _g = GATE.read().await;
    let hung = FakeBroker::start().await;
    let good = hung.join().await;
    let config = config(&hung)
        .request_timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(60));
    let kafka = Kafka::connect(config).await.unwrap();
    assert!(
        hung.node_id < good.node_id,
        "the hung broker is asked first"
    );
    hung.script(|_| Act::Ignore);
    hung.add_topic("orders", 1, good.node_id);
    let topic = tokio::time::timeout(
        Duration::from_secs(20),
        kafka
            .cluster()
            .wait_for_topic("orders", Duration::from_secs(20)),
    )
    .await
    .expect("the lookup waited for the hung broker")
    .unwrap();
    assert_eq!(topic.partition(0).unwrap().leader, good.node_id);
    // Found out: the next lookups go to the broker that answers.
    let asked = hung.seen(ApiKey::Metadata) + hung.seen(ApiKey::ApiVersions);
    good.add_topic("payments", 1, good.node_id);
    tokio::time::timeout(
        Duration::from_secs(20),
        kafka
            .cluster()
            .wait_for_topic("payments", Duration::from_secs(20)),
    )
    .await
    .expect("the second lookup waited for the hung broker")
    .unwrap();
    assert_eq!(
        hung.seen(ApiKey::Metadata) + hung.seen(ApiKey::ApiVersions),
        asked,
        "the hung broker was asked again first"
    );
    hung.behave();
    assert_closed_after_drop(kafka, &[&hung, &good]).await;
}

/// Every broker the cluster listed stops answering: lookups go back to the bootstrap list
/// (KIP-899), which now leads to the cluster that replaced them.
#[tokio::test]
async fn when_every_listed_broker_is_gone_the_bootstrap_list_is_asked_again() {
    let _g = GATE.read().await;
    let old = FakeBroker::start().await;
    let old_peer = old.join().await;
    let new = FakeBroker::start().await;
    let mut config = config(&old);
    config.bootstrap = vec![old.addr.clone(), new.addr.clone()];
    let kafka = Kafka::connect(config).await.unwrap();
    kafka.admin().list_topics().await.unwrap();
    // The old cluster goes away; the new one (behind the second bootstrap address) has the
    // topic.
    old.script(|_| Act::Close);
    old_peer.script(|_| Act::Close);
    new.add_topic("orders", 1, new.node_id);
    let topic = kafka
        .cluster()
        .wait_for_topic("orders", Duration::from_secs(10))
        .await
        .expect("found through the bootstrap list");
    assert_eq!(topic.partition(0).unwrap().leader, new.node_id);
    old.behave();
    old_peer.behave();
    assert_closed_after_drop(kafka, &[&old, &old_peer, &new]).await;
}

/// KIP-1102: a broker that answers Metadata with REBOOTSTRAP_REQUIRED makes the client forget
/// the brokers it knows and ask the bootstrap servers, within the same call.
#[tokio::test]
async fn rebootstrap_required_sends_the_lookup_to_the_bootstrap_servers() {
    use kafka_protocol::messages::{MetadataRequest, MetadataResponse};
    let _g = GATE.read().await;
    let boot = FakeBroker::start().await;
    let other = boot.join().await;
    let kafka = connect(&boot).await;
    kafka.admin().list_topics().await.unwrap();
    // The bootstrap broker is away for a moment: lookups go to the other one, which says the
    // client's view is stale; by then the bootstrap broker is back.
    let back = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let b = back.clone();
    boot.script(move |_| {
        if b.load(std::sync::atomic::Ordering::SeqCst) {
            Act::Answer
        } else {
            Act::Close
        }
    });
    let b = back.clone();
    other.script(move |r| {
        if r.is(ApiKey::Metadata) {
            b.store(true, std::sync::atomic::Ordering::SeqCst);
            let mut resp = MetadataResponse::default();
            resp.error_code = 129;
            Act::Send(server::frame::<MetadataRequest>(
                r.correlation_id,
                r.version,
                &resp,
            ))
        } else {
            Act::Answer
        }
    });
    let asked = boot.seen(ApiKey::Metadata);
    kafka
        .admin()
        .list_topics()
        .await
        .expect("answered by the bootstrap server after REBOOTSTRAP_REQUIRED");
    assert_eq!(
        other.seen(ApiKey::Metadata),
        1,
        "the other broker answered REBOOTSTRAP_REQUIRED"
    );
    assert!(
        boot.seen(ApiKey::Metadata) > asked,
        "then the bootstrap server"
    );
    boot.behave();
    other.behave();
    assert_closed_after_drop(kafka, &[&boot, &other]).await;
}
