//! Connections, version negotiation, metadata and topic admin against the real broker.

mod common;

use std::time::{Duration, Instant};

use kafkit::error::{ErrorKind, ResponseError};
use kafkit::test_support::{Connection, ConnectionConfig};
use kafkit::{Kafka, KafkaConfig, NewTopic};

#[tokio::test]
async fn negotiates_versions_with_the_broker() {
    common::init_tracing();
    let conn = Connection::connect(&common::bootstrap(), ConnectionConfig::default(), None)
        .await
        .expect("connect");
    let versions = conn.api_versions();
    // Produce, Fetch, Metadata and ApiVersions are there (Kafka 3.9 too)...
    for key in [0i16, 1, 3, 18] {
        assert!(versions.supports(key), "broker lacks api key {key}");
    }
    let (_, metadata) = versions.range(3).unwrap();
    assert!(metadata >= 12, "metadata v{metadata}");
    // ... and on Kafka 4.x the KIP-848 heartbeat at v1 or later.
    if !common::needs_kafka4("ConsumerGroupHeartbeat v1, KIP-848").await {
        let (_, hb) = versions.range(68).unwrap();
        assert!(hb >= 1, "ConsumerGroupHeartbeat v{hb}");
    }
}

#[tokio::test]
async fn metadata_lists_the_broker_and_a_new_topic() {
    let kafka = common::connect().await;
    let admin = kafka.admin();
    let cluster = admin.describe_cluster().await.unwrap();
    assert_eq!(cluster.brokers.len(), 1);
    assert!(cluster.cluster_id.is_some());
    let topic = common::unique("meta");
    admin
        .create_topics(&[NewTopic::new(&topic, 3).replication_factor(1)])
        .await
        .unwrap();
    let md = admin.describe_topics(&[&topic]).await.unwrap();
    assert_eq!(md[0].partitions.len(), 3);
    assert!(md[0].has_leaders());
    assert!(!md[0].id.is_nil());
    let snap = kafka.cluster().snapshot();
    assert_eq!(snap.topic_names.get(&md[0].id), Some(&topic), "id -> name");
    let listed = admin.list_topics().await.unwrap();
    assert!(listed.contains(&topic));
    admin.delete_topics(&[&topic]).await.unwrap();
    // The controller has accepted the deletion; the broker's metadata cache
    // follows within moments, so give it a bounded while.
    let mut gone = false;
    for _ in 0..100 {
        if !admin.list_topics().await.unwrap().contains(&topic) {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(gone, "deleted topic still listed after 5 s");
}

#[tokio::test]
async fn creating_an_existing_topic_is_a_typed_error() {
    let kafka = common::connect().await;
    let admin = kafka.admin();
    let topic = common::unique("dup");
    admin.create_topic(&topic, 1).await.unwrap();
    let err = admin.create_topic(&topic, 1).await.unwrap_err();
    assert_eq!(
        err.kafka_error(),
        Some(ResponseError::TopicAlreadyExists),
        "{err}"
    );
    assert!(!err.is_retriable());
    assert!(err.to_string().contains("TOPIC_ALREADY_EXISTS"), "{err}");
    assert!(err.to_string().contains(&topic), "{err}");
    admin.delete_topics(&[&topic]).await.unwrap();
}

#[tokio::test]
async fn deleting_a_missing_topic_is_a_typed_error() {
    let kafka = common::connect().await;
    let err = kafka
        .admin()
        .delete_topics(&[&common::unique("missing")])
        .await
        .unwrap_err();
    assert_eq!(
        err.kafka_error(),
        Some(ResponseError::UnknownTopicOrPartition),
        "{err}"
    );
}

#[tokio::test]
async fn unreachable_bootstrap_fails_clearly_within_the_timeout() {
    // A port nothing listens on (connection refused), and a non-routable address (timeout).
    let started = Instant::now();
    let err =
        Kafka::connect(KafkaConfig::new(["127.0.0.1:1"]).connect_timeout(Duration::from_secs(2)))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Connection, "{err}");
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));

    let started = Instant::now();
    let err = Kafka::connect(
        KafkaConfig::new(["10.255.255.1:9092"]).connect_timeout(Duration::from_millis(500)),
    )
    .await
    .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(err.to_string().contains("10.255.255.1:9092"), "{err}");
}

#[tokio::test]
async fn bad_config_is_rejected_before_connecting() {
    let err = Kafka::connect(KafkaConfig::new(["no-port"]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Config);
    assert!(err.to_string().contains("host:port"), "{err}");
}

#[tokio::test]
async fn pipelines_many_requests_on_one_connection() {
    let conn = Connection::connect(&common::bootstrap(), ConnectionConfig::default(), None)
        .await
        .unwrap();
    // Framed by an independent codec, so the connection is tested on its own.
    use kafka_protocol::messages::{MetadataRequest, RequestHeader};
    use kafka_protocol::protocol::{Encodable, StrBytes};
    let frame = |cid: i32| {
        let mut header = RequestHeader::default();
        header.request_api_key = 3;
        header.request_api_version = 12;
        header.correlation_id = cid;
        header.client_id = Some(StrBytes::from_static_str("t"));
        let mut body = bytes::BytesMut::new();
        header.encode(&mut body, 2).unwrap();
        MetadataRequest::default().encode(&mut body, 12).unwrap();
        let mut f = (body.len() as i32).to_be_bytes().to_vec();
        f.extend_from_slice(&body);
        vec![bytes::Bytes::from(f)]
    };
    let futs = (0..50).map(|_| {
        let cid = conn.next_correlation_id();
        conn.send_raw(frame(cid), cid, "Metadata")
    });
    let results = futures::future::join_all(futs).await;
    assert!(results.iter().all(|r| r.is_ok()));
    assert!(!conn.is_closed());
}
