use std::time::Duration;

use super::Properties;
use crate::consumer::{AutoOffsetReset, ConsumerConfig, IsolationLevel};
use crate::producer::{Acks, Compression, ProducerConfig};
use crate::share::{AcknowledgementMode, ShareConsumerConfig};
use crate::{ErrorKind, KafkaConfig};

fn message<T: std::fmt::Debug>(r: crate::Result<T>) -> String {
    let e = r.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Config, "{e}");
    e.to_string()
}

#[test]
fn a_java_consumer_file_sets_both_configs() {
    let props = Properties::parse(
        "# from the Java client\n\
         bootstrap.servers = b1:9092, b2:9092\n\
         client.id: reporting\n\
         group.id=orders\n\
         group.protocol=CONSUMER\n\
         fetch.max.bytes=52428800\n\
         max.partition.fetch.bytes=2097152\n\
         fetch.min.bytes=10\n\
         fetch.max.wait.ms=250\n\
         auto.offset.reset=earliest\n\
         isolation.level=read_uncommitted\n\
         enable.auto.commit=false\n\
         auto.commit.interval.ms=1000\n\
         max.poll.interval.ms=600000\n\
         partition.assignment.strategy=org.apache.kafka.clients.consumer.RangeAssignor,roundrobin\n\
         request.timeout.ms=\\\n  40000\n",
    )
    .unwrap();
    let (kafka, c) = props.consumer().unwrap();
    assert_eq!(kafka.bootstrap, ["b1:9092", "b2:9092"]);
    assert_eq!(kafka.client_id, "reporting");
    assert_eq!(kafka.request_timeout, Duration::from_secs(40));
    assert_eq!(c.group_id, "orders");
    assert_eq!(c.max_bytes, 52_428_800);
    assert_eq!(c.max_bytes_per_partition, 2_097_152);
    assert_eq!(c.min_bytes, 10);
    assert_eq!(c.max_wait, Duration::from_millis(250));
    assert_eq!(c.auto_offset_reset, AutoOffsetReset::Earliest);
    assert_eq!(c.isolation_level, IsolationLevel::ReadUncommitted);
    assert!(!c.auto_commit);
    assert_eq!(c.auto_commit_interval, Duration::from_secs(1));
    assert_eq!(c.max_poll_interval, Duration::from_secs(600));
    assert_eq!(c.partition_assigners, ["range", "roundrobin"]);
    c.validate().unwrap();
}

#[test]
fn an_unknown_name_names_the_closest_known_one() {
    let m = message(ConsumerConfig::new("g").set("fetch.max.byte", "1"));
    assert!(
        m.contains("unknown consumer property 'fetch.max.byte'"),
        "{m}"
    );
    assert!(m.contains("did you mean 'fetch.max.bytes'"), "{m}");
    let m = message(ProducerConfig::from_properties([("linger.msec", "5")]));
    assert!(m.contains("did you mean 'linger.ms'"), "{m}");
    // Through Properties the client-wide names are candidates too.
    let m = message(Properties::new().set("bootstrap.server", "h:1").consumer());
    assert!(m.contains("did you mean 'bootstrap.servers'"), "{m}");
}

#[test]
fn a_name_of_another_config_says_whose_it_is() {
    let m = message(Properties::new().set("acks", "all").consumer());
    assert!(
        m.contains("'acks' is a producer property, not a consumer one"),
        "{m}"
    );
    let m = message(ConsumerConfig::new("g").set("bootstrap.servers", "h:1"));
    assert!(m.contains("client-wide (KafkaConfig)"), "{m}");
    let m = message(ShareConsumerConfig::new("q").set("enable.auto.commit", "true"));
    assert!(
        m.contains("a consumer property, not a share consumer one"),
        "{m}"
    );
    let m = message(ProducerConfig::default().set("interceptor.classes", "x.Y"));
    assert!(m.contains("no interceptors"), "{m}");
}

#[test]
fn a_bad_value_names_the_property_and_the_form() {
    let m = message(ConsumerConfig::new("g").set("fetch.max.bytes", "50MB"));
    assert!(
        m.contains("property 'fetch.max.bytes' has the bad value '50MB'"),
        "{m}"
    );
    assert!(m.contains("expected a whole number"), "{m}");
    let m = message(ConsumerConfig::new("g").set("enable.auto.commit", "yes"));
    assert!(m.contains("expected true or false"), "{m}");
    let m = message(ConsumerConfig::new("g").set("session.timeout.ms", "30s"));
    assert!(m.contains("milliseconds"), "{m}");
    let m = message(ConsumerConfig::new("g").set("auto.offset.reset", "by_duration:PT1H"));
    assert!(m.contains("earliest, latest or none"), "{m}");
    let m = message(ProducerConfig::default().set("acks", "2"));
    assert!(m.contains("all, -1, 1 or 0"), "{m}");
    let m = message(KafkaConfig::from_properties([("security.protocol", "TLS")]));
    assert!(m.contains("SASL_SSL"), "{m}");
}

#[test]
fn a_java_property_kafkit_lacks_is_reported() {
    let m = message(ConsumerConfig::new("g").set("max.poll.records", "100"));
    assert!(
        m.contains("'max.poll.records' is a Java client property that kafkit does not implement"),
        "{m}"
    );
    assert!(m.contains("max_prefetch_bytes"), "{m}");
    let props = Properties::new().set("bootstrap.servers", "h:1").set(
        "key.serializer",
        "org.apache.kafka.common.serialization.StringSerializer",
    );
    let m = message(props.producer());
    assert!(
        m.contains("key.serializer") && m.contains("does not implement"),
        "{m}"
    );
    // Removing it is the fix the message gives.
    props.remove("key.serializer").producer().unwrap();
}

#[test]
fn producer_properties_set_every_option() {
    let (kafka, p) = Properties::from_iter([
        ("bootstrap.servers", "h:9092"),
        ("acks", "1"),
        ("enable.idempotence", "false"),
        ("compression.type", "zstd"),
        ("compression.zstd.level", "9"),
        ("linger.ms", "20"),
        ("batch.size", "65536"),
        ("buffer.memory", "1048576"),
        ("max.block.ms", "5000"),
        ("delivery.timeout.ms", "90000"),
        ("request.timeout.ms", "20000"),
        ("max.request.size", "2097152"),
        ("max.in.flight.requests.per.connection", "3"),
        ("retry.backoff.ms", "200"),
        ("transaction.timeout.ms", "30000"),
    ])
    .producer()
    .unwrap();
    assert_eq!(p.acks, Acks::Leader);
    assert_eq!(p.idempotence, Some(false));
    assert_eq!(p.compression, Compression::Zstd);
    assert_eq!(p.compression_levels.get(Compression::Zstd), Some(9));
    assert_eq!(p.linger, Duration::from_millis(20));
    assert_eq!(p.batch_size, 65_536);
    assert_eq!(p.buffer_memory, 1_048_576);
    assert_eq!(p.max_block, Duration::from_secs(5));
    assert_eq!(p.delivery_timeout, Duration::from_secs(90));
    // A name both know sets both: the client's request timeout and the Produce timeout.
    assert_eq!(p.request_timeout, Duration::from_secs(20));
    assert_eq!(kafka.request_timeout, Duration::from_secs(20));
    assert_eq!(p.retry_backoff, Duration::from_millis(200));
    assert_eq!(kafka.retry.initial_retry_time, Duration::from_millis(200));
    assert_eq!(p.max_request_size, 2_097_152);
    assert_eq!(p.max_in_flight, 3);
    assert_eq!(p.transaction_timeout, Duration::from_secs(30));
    p.validate().unwrap();
}

#[test]
fn share_and_security_properties() {
    let (kafka, s) = Properties::from_iter([
        ("bootstrap.servers", "h:9096"),
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "SCRAM-SHA-512"),
        (
            "sasl.jaas.config",
            r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="s3cr\"t";"#,
        ),
        ("group.id", "jobs"),
        ("share.acknowledgement.mode", "explicit"),
        ("max.poll.records", "10"),
    ])
    .share_consumer()
    .unwrap();
    assert!(kafka.sasl.is_some() && kafka.tls.is_none());
    assert_eq!(s.group_id, "jobs");
    assert_eq!(s.acknowledgement_mode, AcknowledgementMode::Explicit);
    assert_eq!(s.max_records, 10);
    let m = message(
        Properties::new()
            .set("max.poll.records", "1")
            .share_consumer(),
    );
    assert!(m.contains("group.id"), "{m}");
    let m = message(KafkaConfig::from_properties([
        ("ssl.truststore.location", "/etc/truststore.jks"),
        ("ssl.truststore.type", "JKS"),
    ]));
    assert!(m.contains("PEM"), "{m}");
    let m = message(KafkaConfig::from_properties([(
        "sasl.jaas.config",
        "com.sun.security.auth.module.Krb5LoginModule required;",
    )]));
    assert!(m.contains("Krb5LoginModule"), "{m}");
}

#[test]
fn client_properties_must_name_the_brokers() {
    let m = message(Properties::new().set("group.id", "g").consumer());
    assert!(m.contains("'bootstrap.servers' is missing"), "{m}");
    let m = message(KafkaConfig::from_properties([("client.id", "x")]));
    assert!(m.contains("'bootstrap.servers' is missing"), "{m}");
    // Setting one property on a config that has brokers needs none.
    KafkaConfig::new(["h:1"]).set("client.id", "x").unwrap();
}

#[test]
fn share_config_from_properties_and_set() {
    let s = ShareConsumerConfig::from_properties([("group.id", "q"), ("fetch.max.bytes", "1024")])
        .unwrap()
        .set("check.crcs", "false")
        .unwrap();
    assert_eq!(s.max_bytes, 1024);
    assert!(!s.check_crcs);
}

#[test]
fn files_load_and_bad_files_name_the_path() {
    let dir = std::env::temp_dir().join(format!("kafkit-props-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("c.properties");
    std::fs::write(&path, "bootstrap.servers=h:1\ngroup.id=g\n").unwrap();
    let (_, c) = Properties::load(&path).unwrap().consumer().unwrap();
    assert_eq!(c.group_id, "g");
    let m = message(Properties::load(dir.join("missing.properties")));
    assert!(m.contains("missing.properties"), "{m}");
    std::fs::remove_dir_all(&dir).unwrap();
}
