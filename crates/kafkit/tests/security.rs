//! TLS and SASL against the real broker's secured listeners (`scripts/kafka`, default
//! profile): 9094 SASL_PLAINTEXT, 9095 SSL, 9096 SASL_SSL, 9097 mTLS, 9098 a certificate for
//! another host, 9099 an expired certificate. User alice / alice-secret.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kafkit::consumer::{ConsumerConfig, GroupProtocol};
use kafkit::producer::{ProducerConfig, Record};
use kafkit::security::TlsConfig;
use kafkit::security::{OAuthToken, SaslConfig};
use kafkit::{ErrorKind, Event, Kafka, KafkaConfig};

const SASL_PLAINTEXT: &str = "127.0.0.1:9094";
const SSL: &str = "127.0.0.1:9095";
const SASL_SSL: &str = "127.0.0.1:9096";
const MTLS: &str = "127.0.0.1:9097";
const WRONG_HOST: &str = "127.0.0.1:9098";
const EXPIRED: &str = "127.0.0.1:9099";
const PASSWORD: &str = "alice-secret";

fn tls_dir() -> String {
    std::env::var("KAFKIT_TLS_DIR")
        .unwrap_or_else(|_| format!("{}/.kafka/default/tls", common::repo()))
}

fn ca() -> TlsConfig {
    TlsConfig::new().ca_file(format!("{}/ca.pem", tls_dir()))
}

fn config(addr: &str) -> KafkaConfig {
    KafkaConfig::new([addr])
        .client_id("kafkit-security-tests")
        .connect_timeout(Duration::from_secs(10))
}

/// Connects and asks for metadata; returns the error if any.
async fn try_connect(config: KafkaConfig) -> kafkit::Result<Kafka> {
    let kafka = Kafka::connect(config).await?;
    kafka.admin().describe_cluster().await?;
    Ok(kafka)
}

fn mechanisms(password: &str) -> Vec<SaslConfig> {
    vec![
        SaslConfig::plain("alice", password),
        SaslConfig::scram_sha256("alice", password),
        SaslConfig::scram_sha512("alice", password),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mechanism_accepts_good_and_refuses_bad_credentials() {
    common::init_tracing();
    for (addr, tls) in [(SASL_PLAINTEXT, None), (SASL_SSL, Some(ca()))] {
        for sasl in mechanisms(PASSWORD) {
            let mech = sasl.mechanism();
            let mut c = config(addr).sasl(sasl);
            if let Some(t) = &tls {
                c = c.tls(t.clone());
            }
            try_connect(c)
                .await
                .unwrap_or_else(|e| panic!("{mech} on {addr}: {e}"));
        }
        for sasl in mechanisms("wrong-password-123") {
            let mech = sasl.mechanism();
            let mut c = config(addr).sasl(sasl);
            if let Some(t) = &tls {
                c = c.tls(t.clone());
            }
            assert!(!format!("{c:?}").contains("wrong-password-123"));
            let started = Instant::now();
            let e = try_connect(c).await.expect_err("bad password accepted");
            assert_eq!(e.kind(), &ErrorKind::Auth, "{mech}: {e}");
            let text = e.to_string();
            assert!(text.contains(mech) && text.contains("alice"), "{text}");
            assert!(text.contains("credentials"), "{text}");
            assert!(
                !text.contains("wrong-password-123"),
                "secret in error: {text}"
            );
            // Refused at once, not retried until a timeout.
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{mech} took {:?}",
                started.elapsed()
            );
        }
    }
    // A mechanism the listener does not enable is named with what it offers. PLAINTEXT has no
    // SASL at all: the broker closes the connection and the error says what to check.
    let e = try_connect(config("127.0.0.1:9092").sasl(SaslConfig::plain("alice", PASSWORD)))
        .await
        .expect_err("SASL on a PLAINTEXT listener");
    assert!(!e.to_string().contains(PASSWORD), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauthbearer_uses_the_token_provider() {
    common::init_tracing();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let good = SaslConfig::oauthbearer(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Ok(OAuthToken::unsecured("alice", Duration::from_secs(3600))) }
    });
    try_connect(config(SASL_PLAINTEXT).sasl(good.clone()))
        .await
        .expect("OAUTHBEARER on SASL_PLAINTEXT");
    try_connect(config(SASL_SSL).tls(ca()).sasl(good))
        .await
        .expect("OAUTHBEARER on SASL_SSL");
    assert!(calls.load(Ordering::SeqCst) >= 1);

    let bad = SaslConfig::oauthbearer(|| async {
        Ok(OAuthToken::new(
            "not-a-jws-token",
            std::time::SystemTime::now() + Duration::from_secs(60),
        ))
    });
    let e = try_connect(config(SASL_PLAINTEXT).sasl(bad))
        .await
        .expect_err("malformed token accepted");
    assert_eq!(e.kind(), &ErrorKind::Auth, "{e}");
    assert!(e.to_string().contains("OAUTHBEARER"), "{e}");
    assert!(
        !e.to_string().contains("not-a-jws-token"),
        "token in error: {e}"
    );

    let failing = SaslConfig::oauthbearer(|| async {
        Err(kafkit::Error::new(
            ErrorKind::Connection,
            "token",
            "identity provider down",
        ))
    });
    let e = try_connect(config(SASL_PLAINTEXT).sasl(failing))
        .await
        .expect_err("no token");
    assert!(e.to_string().contains("identity provider down"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_verifies_the_brokers_certificate() {
    common::init_tracing();
    try_connect(config(SSL).tls(ca()))
        .await
        .expect("SSL with the test CA");

    let cases: [(&str, TlsConfig, &str); 4] = [
        (SSL, TlsConfig::new(), "not trusted"),
        (
            SSL,
            TlsConfig::new().ca_file(format!("{}/other-ca.pem", tls_dir())),
            "not trusted",
        ),
        (WRONG_HOST, ca(), "host name"),
        (EXPIRED, ca(), "expired"),
    ];
    for (addr, tls, want) in cases {
        let e = try_connect(config(addr).tls(tls))
            .await
            .expect_err("bad certificate accepted");
        assert_eq!(e.kind(), &ErrorKind::Auth, "{addr}: {e}");
        assert!(
            e.to_string().contains(want),
            "{addr}: want '{want}' in: {e}"
        );
    }

    // TLS to a plaintext port, and plaintext to a TLS port: both say what to check.
    let e = try_connect(config("127.0.0.1:9092").tls(ca()))
        .await
        .expect_err("TLS to PLAINTEXT");
    assert!(e.to_string().contains("TLS"), "{e}");
    let started = Instant::now();
    let e = try_connect(config(SSL))
        .await
        .expect_err("plaintext to SSL");
    assert!(e.to_string().contains("TLS"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_needs_the_client_certificate() {
    common::init_tracing();
    let dir = tls_dir();
    let with_cert =
        ca().client_cert_files(format!("{dir}/client.crt"), format!("{dir}/client.key"));
    try_connect(config(MTLS).tls(with_cert))
        .await
        .expect("mTLS with a client certificate");
    let e = try_connect(config(MTLS).tls(ca()))
        .await
        .expect_err("mTLS without a client certificate");
    assert!(e.to_string().contains("client_cert"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_and_group_consumer_over_sasl_ssl() {
    common::init_tracing();
    let kafka = try_connect(
        config(SASL_SSL)
            .tls(ca())
            .sasl(SaslConfig::scram_sha512("alice", PASSWORD)),
    )
    .await
    .expect("SASL_SSL");
    let topic = common::topic(&kafka, "sasl-ssl", 3).await;
    let producer = kafka.producer(ProducerConfig::default()).unwrap();
    let n = 300;
    let values: Vec<String> = (0..n).map(|i| format!("secure-{i}")).collect();
    producer
        .send_all(values.iter().map(|v| Record::new(&topic, v.as_bytes())))
        .await
        .expect("produce over SASL_SSL");
    let consumer = kafka
        .consumer(
            ConsumerConfig::new(common::unique("g-secure")).group_protocol(GroupProtocol::Consumer),
        )
        .unwrap();
    consumer.subscribe(&[&topic], true).await.unwrap();
    let mut stream = Box::pin(consumer.stream());
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < n {
        let m = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("records over SASL_SSL")
            .unwrap()
            .unwrap();
        seen.insert(String::from_utf8(m.value.unwrap().to_vec()).unwrap());
    }
    assert_eq!(seen, values.into_iter().collect());
    drop(stream);
    consumer.stop().await.unwrap();
    producer.close().await.unwrap();
}

/// The broker grants 10 s sessions (`connections.max.reauth.ms`): connections re-authenticate
/// in place and keep working, and OAUTHBEARER asks its provider for fresh tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_reauthenticated_before_they_expire() {
    common::init_tracing();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let oauth = SaslConfig::oauthbearer(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Ok(OAuthToken::unsecured("alice", Duration::from_secs(8))) }
    });
    let run = |sasl: SaslConfig| async move {
        let kafka = try_connect(config(SASL_PLAINTEXT).sasl(sasl))
            .await
            .expect("connect");
        let mut events = kafka.events();
        let until = Instant::now() + Duration::from_secs(21);
        while Instant::now() < until {
            kafka
                .admin()
                .describe_cluster()
                .await
                .expect("request on a long-lived connection");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let (mut reauths, mut disconnects) = (0, 0);
        while let Ok(e) = events.try_recv() {
            match e {
                Event::Reauthenticated { .. } => reauths += 1,
                Event::Disconnect { .. } => disconnects += 1,
                _ => {}
            }
        }
        (reauths, disconnects)
    };
    let (scram, oauth_result) =
        tokio::join!(run(SaslConfig::scram_sha256("alice", PASSWORD)), run(oauth));
    for (name, (reauths, disconnects)) in [("SCRAM", scram), ("OAUTHBEARER", oauth_result)] {
        assert!(
            reauths >= 2,
            "{name}: {reauths} re-authentications in 21 s of 10 s sessions"
        );
        assert_eq!(
            disconnects, 0,
            "{name}: connections were dropped instead of re-authenticated"
        );
    }
    // Tokens of 8 s: every re-authentication needed a new one.
    assert!(
        calls.load(Ordering::SeqCst) >= 3,
        "provider called {} times",
        calls.load(Ordering::SeqCst)
    );
}
