//! What a client waits for is said at once (`Event::Warning`), against real brokers: a topic
//! this client is not authorized for (the `acl` profile's broker: StandardAuthorizer, user bob
//! without ACLs; `KAFKIT_ACL_BOOTSTRAP`, default 127.0.0.1:9192), and a group member left
//! without partitions (more KIP-848 members than partitions, on the default broker). A topic
//! that does not exist: tests/assign.rs.

mod common;

use std::time::Duration;

use kafkit::admin::{AclBinding, AclBindingFilter, AclOperation, ResourceType};
use kafkit::consumer::{ConsumerConfig, GroupProtocol};
use kafkit::producer::{ProducerConfig, Record};
use kafkit::security::SaslConfig;
use kafkit::{Event, Kafka, KafkaConfig, NewTopic, TopicPartition};
use tokio::sync::broadcast::{self, error::RecvError};

fn acl_bootstrap() -> String {
    std::env::var("KAFKIT_ACL_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9192".to_string())
}

async fn acl_user(user: &str, password: &str) -> Kafka {
    let config = KafkaConfig::new([acl_bootstrap()])
        .client_id("kafkit-tests")
        .sasl(SaslConfig::plain(user, password.to_string()));
    Kafka::connect(config).await.unwrap_or_else(|e| {
        panic!(
            "cannot reach the acl broker at {} as {user}: {e}\nstart it with `scripts/kafka up --profile acl`",
            acl_bootstrap()
        )
    })
}

/// Waits up to `within` for a warning that mentions every one of `words`.
async fn warning(
    events: &mut broadcast::Receiver<Event>,
    words: &[&str],
    within: Duration,
) -> String {
    tokio::time::timeout(within, async {
        loop {
            match events.recv().await {
                Ok(Event::Warning { message }) if words.iter().all(|w| message.contains(w)) => {
                    return message
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(e) => panic!("events ended: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no warning mentioning {words:?} within {within:?}"))
}

/// A topic on the acl broker that bob may not touch.
async fn forbidden_topic() -> String {
    let admin = acl_user("admin", "admin-secret").await;
    let topic = common::unique("warn-forbidden");
    admin
        .admin()
        .create_topics(&[NewTopic::new(&topic, 1)])
        .await
        .expect("create the topic as admin");
    topic
}

#[tokio::test]
async fn a_producer_says_at_once_that_its_topic_is_not_authorized() {
    common::init_tracing();
    let topic = forbidden_topic().await;
    let bob = acl_user("bob", "bob-secret").await;
    let mut events = bob.events();
    let producer = bob
        .producer(
            ProducerConfig::default()
                .idempotence(false)
                .max_block(Duration::from_secs(60)),
        )
        .expect("producer");
    let (t, p) = (topic.clone(), producer.clone());
    let send = tokio::spawn(async move { p.send(Record::new(&t, b"v")).await.map(|_| ()) });
    let message = warning(
        &mut events,
        &[&topic, "not authorized"],
        Duration::from_secs(10),
    )
    .await;
    assert!(message.contains("TOPIC_AUTHORIZATION_FAILED"), "{message}");
    assert!(message.contains("grant"), "says the fix: {message}");
    assert!(
        message.contains("max_block"),
        "says how long it waits: {message}"
    );
    assert!(!send.is_finished(), "the wait itself goes on as configured");
    send.abort();
}

#[tokio::test]
async fn a_reader_says_at_once_that_its_partition_is_not_authorized() {
    common::init_tracing();
    let topic = forbidden_topic().await;
    let bob = acl_user("bob", "bob-secret").await;
    let mut events = bob.events();
    let reader = bob
        .assigned_consumer(ConsumerConfig::without_group())
        .expect("reader");
    reader
        .assign(&[TopicPartition::new(&topic, 0)])
        .await
        .expect("assign");
    let message = warning(
        &mut events,
        &[&topic, "not authorized"],
        Duration::from_secs(10),
    )
    .await;
    assert!(message.contains("assigned partitions wait"), "{message}");
    reader.stop().await.unwrap();
}

/// A KIP-848 member allowed into its group (READ on the group) but not to read the topic it
/// subscribes to: the coordinator answers TOPIC_AUTHORIZATION_FAILED; the member says so at
/// once, naming the group and the fix, and stays in the group without partitions.
#[tokio::test]
async fn a_kip848_member_says_at_once_that_its_topic_is_not_authorized() {
    common::init_tracing();
    let topic = forbidden_topic().await;
    let group = common::unique("g-warn-forbidden");
    let admin = acl_user("admin", "admin-secret").await;
    admin
        .admin()
        .create_acls(&[AclBinding::allow(
            ResourceType::Group,
            &group,
            "User:bob",
            AclOperation::Read,
        )])
        .await
        .expect("grant bob READ on the group");
    let bob = acl_user("bob", "bob-secret").await;
    let mut events = bob.events();
    let member = bob
        .consumer(
            ConsumerConfig::new(&group)
                .group_protocol(GroupProtocol::Consumer)
                .max_wait(Duration::from_millis(200)),
        )
        .expect("member");
    member.subscribe(&[&topic], true).await.expect("subscribe");
    let message = warning(
        &mut events,
        &["not authorized to read some subscribed topics", &group],
        Duration::from_secs(20),
    )
    .await;
    assert!(message.contains("grant READ"), "{message}");
    assert!(member.assignment().await.unwrap().is_empty());
    member.disconnect().await.ok();
    admin
        .admin()
        .delete_acls(&[AclBindingFilter::any().resource(ResourceType::Group, &group)])
        .await
        .expect("delete the group ACL");
}

#[tokio::test]
async fn a_member_without_partitions_says_what_it_waits_for() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "warn-idle", 1).await;
    let group = common::unique("g-warn-idle");
    let config = || {
        ConsumerConfig::new(&group)
            .group_protocol(GroupProtocol::Consumer)
            .max_wait(Duration::from_millis(200))
    };
    let first = kafka.consumer(config()).expect("first member");
    first.subscribe(&[&topic], true).await.expect("subscribe");
    let tp = TopicPartition::new(&topic, 0);
    common::eventually(
        Duration::from_secs(30),
        "the first member owns the partition",
        || {
            let (c, tp) = (first.clone(), tp.clone());
            async move { c.assignment().await.is_ok_and(|a| a.contains(&tp)) }
        },
    )
    .await;

    // A second member of a one-partition group gets nothing: after a short grace it says so,
    // naming the group and why that may be.
    let idle_kafka = Kafka::connect(common::config()).await.expect("connect");
    let mut events = idle_kafka.events();
    let idle = idle_kafka.consumer(config()).expect("second member");
    idle.subscribe(&[&topic], true).await.expect("subscribe");
    let message = warning(
        &mut events,
        &["no partition assigned", &group],
        Duration::from_secs(30),
    )
    .await;
    assert!(
        message.contains("more members than partitions"),
        "{message}"
    );
    assert!(idle.assignment().await.unwrap().is_empty());
    // Said once per wait, not on every heartbeat.
    let again = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            if let Ok(Event::Warning { message }) = events.recv().await {
                if message.contains("no partition assigned") {
                    return message;
                }
            }
        }
    })
    .await;
    assert!(again.is_err(), "said twice: {again:?}");
    idle.stop().await.unwrap();
    first.stop().await.unwrap();
}
