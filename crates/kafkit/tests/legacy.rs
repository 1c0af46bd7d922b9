//! An older broker: Apache Kafka 3.9 (`scripts/kafka up --profile legacy`,
//! `KAFKIT_LEGACY_BOOTSTRAP`, default 127.0.0.1:19192). What 3.9 offers works (produce, classic
//! groups, the fallback from KIP-848, every admin call it serves); what it lacks fails with
//! `ErrorKind::Unsupported` naming what is missing and the Kafka version that has it. The
//! profile runs the StandardAuthorizer with every client a super user, for the ACL APIs.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafkit::admin::{
    AclBinding, AclBindingFilter, AclOperation, AlterConfigOp, ConfigResource, ElectionType,
    GroupKind, MemberToRemove, OffsetSpec, PatternType, QuotaEntity, QuotaFilter, QuotaOp,
    ResourceType, ScramMechanism,
};
use kafkit::consumer::{Consumer, ConsumerConfig, GroupProtocol};
use kafkit::error::ResponseError;
use kafkit::producer::{ProducerConfig, Record};
use kafkit::{ErrorKind, Kafka, KafkaConfig, TopicPartition};

fn bootstrap() -> String {
    std::env::var("KAFKIT_LEGACY_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:19192".into())
}

async fn connect() -> Kafka {
    match Kafka::connect(KafkaConfig::new([bootstrap()]).client_id("kafkit-legacy-tests")).await {
        Ok(k) => k,
        Err(e) => panic!(
            "cannot reach the Kafka 3.9 broker at {}: {e}\nstart it with `scripts/kafka up --profile legacy`",
            bootstrap()
        ),
    }
}

fn classic(group: &str) -> ConsumerConfig {
    ConsumerConfig::new(group)
        .group_protocol(GroupProtocol::Classic)
        .session_timeout(Duration::from_secs(10))
        .heartbeat_interval(Duration::from_millis(500))
        .max_wait(Duration::from_millis(200))
}

/// Starts a member that records the values it reads.
async fn member(
    kafka: &Kafka,
    config: ConsumerConfig,
    topic: &str,
) -> (Consumer, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let c = kafka.consumer(config).expect("consumer");
    c.subscribe(&[topic], true).await.expect("subscribe");
    let (c2, s) = (c.clone(), seen.clone());
    tokio::spawn(async move {
        c2.run_each_message(move |m| {
            let s = s.clone();
            async move {
                s.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(m.value.as_deref().unwrap_or_default()).into());
                Ok(())
            }
        })
        .await
    });
    (c, seen)
}

async fn read_all(seen: &Arc<Mutex<Vec<String>>>, n: usize) {
    common::eventually(Duration::from_secs(30), "every record read", || {
        let s = seen.clone();
        async move { s.lock().unwrap().len() >= n }
    })
    .await;
}

#[tokio::test]
async fn produce_and_classic_consume() {
    common::init_tracing();
    let kafka = connect().await;
    let topic = common::topic(&kafka, "legacy-pc", 2).await;
    common::produce(&kafka, &topic, 20).await;
    let (c, seen) = member(&kafka, classic(&common::unique("g-legacy-pc")), &topic).await;
    read_all(&seen, 20).await;
    let mut got = seen.lock().unwrap().clone();
    got.sort();
    let mut want: Vec<String> = (0..20).map(|i| format!("value-{i}")).collect();
    want.sort();
    assert_eq!(got, want);
    c.stop().await.unwrap();
}

#[tokio::test]
async fn kip848_says_what_is_missing_and_the_fallback_works() {
    common::init_tracing();
    let kafka = connect().await;
    let topic = common::topic(&kafka, "legacy-fb", 1).await;
    let group = common::unique("g-legacy-fb");
    let cfg = || ConsumerConfig::new(&group).max_wait(Duration::from_millis(200));
    let e = kafka
        .consumer(cfg())
        .unwrap()
        .subscribe(&[&topic], true)
        .await
        .expect_err("no KIP-848 on Kafka 3.9");
    assert_eq!(e.kind(), &ErrorKind::Unsupported, "{e}");
    assert!(e.to_string().contains("KIP-848"), "{e}");
    assert!(e.to_string().contains("4.0"), "{e}");
    common::produce(&kafka, &topic, 5).await;
    let (c, seen) = member(&kafka, cfg().fallback_to_classic(true), &topic).await;
    read_all(&seen, 5).await;
    c.stop().await.unwrap();
}

#[tokio::test]
async fn group_describe_of_a_classic_group_uses_describe_groups() {
    common::init_tracing();
    let kafka = connect().await;
    let admin = kafka.admin();
    let topic = common::topic(&kafka, "legacy-gd", 2).await;
    let group = common::unique("g-legacy-gd");
    common::produce(&kafka, &topic, 4).await;
    let (c, seen) = member(&kafka, classic(&group), &topic).await;
    read_all(&seen, 4).await;
    let d = admin.describe_groups(&[&group]).await.expect("describe");
    assert_eq!(d[0].kind, GroupKind::Classic);
    assert_eq!(d[0].state, "Stable");
    assert_eq!(d[0].members.len(), 1);
    assert_eq!(d[0].members[0].subscribed_topics, vec![topic.clone()]);
    assert_eq!(d[0].members[0].assignment.len(), 2);
    let listed = admin.list_groups(&[], &[]).await.expect("list");
    assert!(listed.iter().any(|g| g.group_id == group), "{listed:?}");
    c.commit().await.expect("commit");
    c.stop().await.unwrap();
    let offsets = admin.group_offsets(&group).await.expect("offsets");
    assert_eq!(offsets.iter().map(|o| o.committed).sum::<i64>(), 4);
    let reset = admin
        .reset_group_offsets(&group, &topic, kafkit::admin::OffsetReset::Earliest)
        .await
        .expect("reset");
    assert!(reset.iter().all(|(_, o)| *o == 0), "{reset:?}");
    admin.delete_groups(&[&group]).await.expect("delete");
    // A group that does not exist: DescribeGroups' answer (Dead, no members), no error.
    let none = admin
        .describe_groups(&["no-such-group"])
        .await
        .expect("none");
    assert_eq!(none[0].kind, GroupKind::Classic);
}

#[tokio::test]
async fn cluster_topics_configs_offsets_and_records() {
    common::init_tracing();
    let kafka = connect().await;
    let admin = kafka.admin();
    let c = admin.describe_cluster().await.expect("describe_cluster");
    assert_eq!(c.brokers.len(), 1);
    assert!(c.fenced.is_empty());
    let f = admin.describe_features().await.expect("features");
    assert!(format!("{f:?}").contains("metadata.version"), "{f:?}");
    let topic = common::topic(&kafka, "legacy-adm", 1).await;
    admin
        .create_partitions(&topic, 2)
        .await
        .expect("partitions");
    common::produce(&kafka, &topic, 10).await;
    let dirs = admin.describe_log_dirs(&[]).await.expect("log dirs");
    assert!(!dirs.is_empty());
    let t = ConfigResource::topic(&topic);
    admin
        .incremental_alter_configs(
            &[(
                t.clone(),
                vec![AlterConfigOp::set("retention.ms", "3600000")],
            )],
            false,
        )
        .await
        .expect("alter configs");
    // Applied from the metadata log a moment after the call returns.
    let (a, tt) = (admin.clone(), t.clone());
    common::eventually(Duration::from_secs(30), "retention.ms set", move || {
        let (a, tt) = (a.clone(), tt.clone());
        async move {
            a.describe_configs(std::slice::from_ref(&tt), &["retention.ms"])
                .await
                .is_ok_and(|cfg| format!("{cfg:?}").contains("3600000"))
        }
    })
    .await;
    let cfg = admin
        .describe_configs(&[t], &["retention.ms"])
        .await
        .expect("describe configs");
    assert!(
        format!("{cfg:?}").contains("3600000"),
        "retention.ms set: {cfg:?}"
    );
    // Kafka 3.9's broker loggers (reload4j).
    let node = c.brokers[0].node_id;
    let loggers = admin
        .describe_configs(
            &[ConfigResource::new(
                kafkit::admin::ConfigResourceType::BrokerLogger,
                node.to_string(),
            )],
            &[],
        )
        .await
        .expect("broker loggers");
    assert!(!loggers[0].entries.is_empty());
    // Group configs came with KIP-848 (Kafka 4.0).
    let g = ConfigResource::group("legacy-group-configs");
    let e = admin
        .describe_configs(std::slice::from_ref(&g), &[])
        .await
        .expect_err("no group configs on 3.9");
    assert_eq!(e.kind(), &ErrorKind::Unsupported, "{e}");
    assert!(
        e.to_string().contains("KIP-848") && e.to_string().contains("4.0"),
        "{e}"
    );
    let e = admin
        .incremental_alter_configs(
            &[(
                g,
                vec![AlterConfigOp::set("consumer.session.timeout.ms", "20000")],
            )],
            false,
        )
        .await
        .expect_err("no group configs on 3.9");
    assert_eq!(e.kind(), &ErrorKind::Unsupported, "{e}");
    let parts = admin.partitions_of(&topic).await.expect("partitions_of");
    let latest = admin
        .list_offsets(&parts, OffsetSpec::Latest, false)
        .await
        .expect("latest");
    assert_eq!(latest.iter().map(|o| o.offset).sum::<i64>(), 10);
    admin
        .list_offsets(&parts, OffsetSpec::MaxTimestamp, false)
        .await
        .expect("max-timestamp");
    let p = latest
        .iter()
        .find(|o| o.offset > 0)
        .expect("a filled partition");
    let tp = TopicPartition::new(&topic, p.partition.partition);
    let moved = admin
        .delete_records(&[(tp.clone(), 1)])
        .await
        .expect("delete records");
    assert_eq!(moved[0].1, 1);
    admin
        .elect_leaders(ElectionType::Preferred, std::slice::from_ref(&tp))
        .await
        .expect("elect");
    admin
        .list_partition_reassignments(&[])
        .await
        .expect("reassignments");
    admin
        .alter_partition_reassignments(&[(tp, Some(vec![c.brokers[0].node_id]))])
        .await
        .expect("reassign in place");
    admin.delete_topics(&[&topic]).await.expect("delete topic");
}

#[tokio::test]
async fn quotas_scram_producers_and_transactions() {
    common::init_tracing();
    let kafka = connect().await;
    let admin = kafka.admin();
    let user = common::unique("legacy-user");
    let entity = QuotaEntity::user(&user);
    admin
        .alter_client_quotas(
            &[(
                entity.clone(),
                vec![QuotaOp::Set("producer_byte_rate".into(), 1024.0)],
            )],
            false,
        )
        .await
        .expect("alter quotas");
    common::eventually(Duration::from_secs(10), "the quota shows", || {
        let (admin, user) = (admin.clone(), user.clone());
        async move {
            let q = admin
                .describe_client_quotas(&[QuotaFilter::Exact("user".into(), user)], true)
                .await
                .expect("describe quotas");
            !q.is_empty()
        }
    })
    .await;
    admin
        .upsert_user_scram_credential(&user, ScramMechanism::ScramSha256, "secret", None)
        .await
        .expect("scram upsert");
    common::eventually(Duration::from_secs(10), "the credential shows", || {
        let (admin, user) = (admin.clone(), user.clone());
        async move {
            admin
                .describe_user_scram_credentials(&[&user])
                .await
                .is_ok_and(|u| !u.is_empty() && !u[0].credentials.is_empty())
        }
    })
    .await;
    admin
        .delete_user_scram_credential(&user, ScramMechanism::ScramSha256)
        .await
        .expect("scram delete");

    let topic = common::topic(&kafka, "legacy-txn", 1).await;
    let txn = common::unique("legacy-txn");
    let producer = kafka
        .producer(ProducerConfig::default().transactional_id(&txn))
        .expect("producer");
    producer
        .init_transactions()
        .await
        .expect("init_transactions");
    // Kafka 3.9 does not finalize transaction.version 2: the classic protocol.
    assert_eq!(
        producer.transaction_version(),
        Some(common::cluster_transaction_version(&kafka).await)
    );
    assert_eq!(
        producer.transaction_version(),
        Some(kafkit::producer::TransactionVersion::V1)
    );
    producer.begin_transaction().unwrap();
    producer
        .send(Record::new(&topic, &b"in a transaction"[..]))
        .await
        .unwrap()
        .await
        .unwrap();
    let states = admin
        .describe_producers(&[TopicPartition::new(&topic, 0)])
        .await
        .expect("producers");
    assert_eq!(states.len(), 1, "{states:?}");
    let listed = admin.list_transactions(&[]).await.expect("list txns");
    assert!(
        listed.iter().any(|t| t.transactional_id == txn),
        "{listed:?}"
    );
    let d = admin
        .describe_transactions(&[&txn])
        .await
        .expect("describe txn");
    assert_eq!(d[0].state, "Ongoing");
    producer.commit_transaction().await.expect("commit");
    producer.close().await.unwrap();
    let fenced = admin.fence_producers(&[&txn]).await.expect("fence");
    assert_eq!(fenced.len(), 1);
}

#[tokio::test]
async fn acls_are_created_described_and_deleted() {
    // The legacy profile runs Kafka 3.9's StandardAuthorizer with every client a super user:
    // the ACL APIs answer (CreateAcls, DescribeAcls, DeleteAcls as 3.9 speaks them), nothing is
    // refused. A broker without an authorizer: tests/admin_acls.rs, on the default broker.
    common::init_tracing();
    let admin = connect().await.admin();
    let topic = common::unique("legacy-acl");
    let read = AclBinding::allow(ResourceType::Topic, &topic, "User:bob", AclOperation::Read);
    let prefixed = AclBinding::allow(
        ResourceType::Group,
        format!("{topic}-g"),
        "User:bob",
        AclOperation::Describe,
    )
    .pattern(PatternType::Prefixed)
    .deny();
    admin
        .create_acls(&[read.clone(), prefixed.clone()])
        .await
        .expect("create ACLs on 3.9");
    let on_topic = AclBindingFilter::any().resource(ResourceType::Topic, &topic);
    common::eventually(Duration::from_secs(10), "the ACLs are listed", || {
        let (admin, f) = (admin.clone(), on_topic.clone());
        async move { admin.describe_acls(&f).await.is_ok_and(|l| !l.is_empty()) }
    })
    .await;
    assert_eq!(
        admin.describe_acls(&on_topic).await.unwrap(),
        vec![read.clone()]
    );
    let bobs = AclBindingFilter::any().principal("User:bob");
    let listed = admin.describe_acls(&bobs).await.expect("describe");
    assert!(listed.contains(&prefixed), "{listed:?}");
    let deleted = admin
        .delete_acls(&[read.to_filter()])
        .await
        .expect("delete");
    assert_eq!(deleted, vec![read]);
    let deleted = admin
        .delete_acls(&[prefixed.to_filter()])
        .await
        .expect("delete prefixed");
    assert_eq!(deleted, vec![prefixed]);
    common::eventually(Duration::from_secs(10), "the ACLs are gone", || {
        let (admin, f) = (admin.clone(), on_topic.clone());
        async move { admin.describe_acls(&f).await.is_ok_and(|l| l.is_empty()) }
    })
    .await;
}

#[tokio::test]
async fn a_static_member_is_removed_from_its_group() {
    common::init_tracing();
    let kafka = connect().await;
    let admin = kafka.admin();
    let topic = common::topic(&kafka, "legacy-remove", 1).await;
    let group = common::unique("g-legacy-remove");
    let c = kafka
        .consumer(
            classic(&group)
                .instance_id("legacy-reports-1")
                .session_timeout(Duration::from_secs(60)),
        )
        .expect("consumer");
    c.subscribe(&[&topic], true).await.expect("subscribe");
    common::eventually(Duration::from_secs(30), "the member joined", || {
        let (a, g) = (admin.clone(), group.clone());
        async move {
            a.describe_groups(&[&g])
                .await
                .is_ok_and(|d| d[0].state == "Stable" && d[0].members.len() == 1)
        }
    })
    .await;
    // A static member does not leave when it stops: its place waits for the session timeout.
    c.stop().await.unwrap();
    let d = &admin.describe_groups(&[&group]).await.unwrap()[0];
    assert_eq!(d.members.len(), 1, "{d:?}");
    let e = admin
        .remove_group_members(&group, &[MemberToRemove::Static("nobody".into())], None)
        .await
        .expect_err("no such member");
    assert_eq!(e.kafka_error(), Some(ResponseError::UnknownMemberId), "{e}");
    assert!(e.to_string().contains("nobody"), "{e}");
    admin
        .remove_group_members(
            &group,
            &[MemberToRemove::Static("legacy-reports-1".into())],
            Some("decommissioned"),
        )
        .await
        .expect("remove on 3.9");
    let d = &admin.describe_groups(&[&group]).await.unwrap()[0];
    assert!(d.members.is_empty(), "{d:?}");
    assert_eq!(d.state, "Empty");
    admin.delete_groups(&[&group]).await.unwrap();
    admin.delete_topics(&[&topic]).await.unwrap();
}

#[tokio::test]
async fn client_metrics_configs_are_set_described_and_deleted() {
    // KIP-714 came with Kafka 3.7: 3.9 keeps CLIENT_METRICS subscriptions (no receiver runs
    // here, so the client's telemetry task sends nothing).
    common::init_tracing();
    let kafka = connect().await;
    let admin = kafka.admin();
    let name = common::unique("legacy-sub");
    let r = ConfigResource::client_metrics(&name);
    admin
        .incremental_alter_configs(
            &[(
                r.clone(),
                vec![
                    AlterConfigOp::set("metrics", "org.apache.kafka.producer."),
                    AlterConfigOp::set("interval.ms", "60000"),
                    AlterConfigOp::set("match", "client_id=legacy-.*"),
                ],
            )],
            false,
        )
        .await
        .expect("client-metrics subscription on 3.9");
    let value = |d: &[kafkit::admin::ResourceConfig], key: &str| {
        d[0].entries
            .iter()
            .find(|e| e.name == key)
            .and_then(|e| e.value.clone())
    };
    common::eventually(Duration::from_secs(10), "the subscription shows", || {
        let (admin, r) = (admin.clone(), r.clone());
        async move {
            admin
                .describe_configs(std::slice::from_ref(&r), &[])
                .await
                .is_ok_and(|d| value(&d, "interval.ms").as_deref() == Some("60000"))
        }
    })
    .await;
    let d = admin
        .describe_configs(std::slice::from_ref(&r), &[])
        .await
        .expect("describe");
    assert_eq!(
        value(&d, "metrics").as_deref(),
        Some("org.apache.kafka.producer."),
        "{d:?}"
    );
    // A setting client metrics do not have: the broker's error, naming it.
    let e = admin
        .incremental_alter_configs(
            &[(r.clone(), vec![AlterConfigOp::set("no.such.setting", "1")])],
            false,
        )
        .await
        .expect_err("unknown client-metrics setting");
    assert!(e.to_string().contains("no.such.setting"), "{e}");
    admin
        .incremental_alter_configs(
            &[(
                r.clone(),
                vec![
                    AlterConfigOp::delete("metrics"),
                    AlterConfigOp::delete("interval.ms"),
                    AlterConfigOp::delete("match"),
                ],
            )],
            false,
        )
        .await
        .expect("delete the subscription");
}

#[tokio::test]
async fn share_groups_say_they_are_missing() {
    common::init_tracing();
    let kafka = connect().await;
    let e = kafka
        .admin()
        .describe_share_groups(&["legacy-share"])
        .await
        .expect_err("no share groups on 3.9");
    assert_eq!(e.kind(), &ErrorKind::Unsupported, "{e}");
    assert!(e.to_string().contains("KIP-932"), "{e}");
    assert!(e.to_string().contains("4.2"), "{e}");
    let e = kafka
        .admin()
        .share_group_offsets("legacy-share")
        .await
        .expect_err("no share group offsets on 3.9");
    assert_eq!(e.kind(), &ErrorKind::Unsupported, "{e}");
    let topic = common::topic(&kafka, "legacy-share", 1).await;
    let share = kafka
        .share_consumer(kafkit::share::ShareConsumerConfig::new("legacy-share"))
        .expect("share consumer");
    let e = share
        .subscribe(&[&topic])
        .await
        .expect_err("no share groups on 3.9");
    assert_eq!(e.kind(), &ErrorKind::Unsupported, "{e}");
    assert!(e.to_string().contains("4.2"), "{e}");
}
