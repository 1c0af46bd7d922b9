//! The admin calls beyond topics and groups, against the real broker: configs of topics,
//! brokers, groups and client metrics; list offsets and delete records; the cluster, its
//! features and log dirs; client quotas; SCRAM credentials (and logging in with them over the
//! SASL listener); producers and transactions; removing a static member from a group.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kafkit::admin::{
    AlterConfigOp, ConfigResource, ConfigSource, MemberToRemove, OffsetSpec, QuotaEntity,
    QuotaFilter, QuotaOp, ScramMechanism,
};
use kafkit::consumer::{ConsumerConfig, GroupProtocol};
use kafkit::error::ResponseError;
use kafkit::producer::{ProducerConfig, Record};
use kafkit::security::SaslConfig;
use kafkit::{ErrorKind, Kafka, KafkaConfig, TopicPartition};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The default broker's SASL_PLAINTEXT listener (scripts/test exports it); none when
/// KAFKIT_SASL_BOOTSTRAP is empty (scripts/test-legacy: the legacy profile has no SASL
/// listener, so the SCRAM test manages credentials without logging in with them).
fn sasl_bootstrap() -> Option<String> {
    match std::env::var("KAFKIT_SASL_BOOTSTRAP") {
        Ok(b) if b.is_empty() => {
            eprintln!(
                "skipped part: the logins (KAFKIT_SASL_BOOTSTRAP is empty: no SASL listener)"
            );
            None
        }
        Ok(b) => Some(b),
        Err(_) => Some("127.0.0.1:9094".to_string()),
    }
}

#[tokio::test]
async fn topic_broker_group_and_client_metrics_configs_are_described_and_altered() {
    common::init_tracing();
    let kafka = common::connect().await;
    let admin = kafka.admin();
    let topic = common::topic(&kafka, "a-configs", 1).await;
    let t = ConfigResource::topic(&topic);

    admin
        .incremental_alter_configs(
            &[(
                t.clone(),
                vec![
                    AlterConfigOp::set("retention.ms", "3600000"),
                    AlterConfigOp::parse("cleanup.policy=compact").unwrap(),
                ],
            )],
            false,
        )
        .await
        .unwrap();
    // The broker applies it from its metadata log: soon, not at once (seen on Kafka 3.9).
    let (a, tt) = (admin.clone(), t.clone());
    common::eventually(
        Duration::from_secs(30),
        "the topic config is set",
        move || {
            let (a, tt) = (a.clone(), tt.clone());
            async move {
                a.describe_configs(std::slice::from_ref(&tt), &["retention.ms"])
                    .await
                    .ok()
                    .and_then(|d| d[0].entries.first().and_then(|e| e.value.clone()))
                    .as_deref()
                    == Some("3600000")
            }
        },
    )
    .await;
    let d = &admin
        .describe_configs(std::slice::from_ref(&t), &[])
        .await
        .unwrap()[0];
    let retention = d.get("retention.ms").expect("retention.ms described");
    assert_eq!(retention.value.as_deref(), Some("3600000"));
    assert_eq!(retention.source, ConfigSource::DynamicTopic);
    assert_eq!(
        d.get("cleanup.policy").unwrap().value.as_deref(),
        Some("compact")
    );
    // Other configs are there too, with their defaults.
    assert!(d.entries.len() > 10, "{d:?}");

    // Only the named key; then a delete brings back the default, and an append grows a list.
    admin
        .incremental_alter_configs(
            &[(
                t.clone(),
                vec![
                    AlterConfigOp::delete("retention.ms"),
                    AlterConfigOp::Append("cleanup.policy".into(), "delete".into()),
                ],
            )],
            false,
        )
        .await
        .unwrap();
    let (a, tt) = (admin.clone(), t.clone());
    common::eventually(Duration::from_secs(30), "retention.ms deleted", move || {
        let (a, tt) = (a.clone(), tt.clone());
        async move {
            a.describe_configs(std::slice::from_ref(&tt), &["retention.ms"])
                .await
                .is_ok_and(|d| d[0].entries[0].source != ConfigSource::DynamicTopic)
        }
    })
    .await;
    let d = &admin
        .describe_configs(
            std::slice::from_ref(&t),
            &["retention.ms", "cleanup.policy"],
        )
        .await
        .unwrap()[0];
    assert_eq!(d.entries.len(), 2, "{d:?}");
    let retention = d.get("retention.ms").unwrap();
    assert_ne!(
        retention.source,
        ConfigSource::DynamicTopic,
        "{retention:?}"
    );
    assert_eq!(retention.value.as_deref(), Some("604800000"));
    assert_eq!(
        d.get("cleanup.policy").unwrap().value.as_deref(),
        Some("compact,delete")
    );

    // A bad value is refused with the broker's reason; validate_only changes nothing.
    let e = admin
        .incremental_alter_configs(
            &[(t.clone(), vec![AlterConfigOp::set("retention.ms", "soon")])],
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kafka_error(), Some(ResponseError::InvalidConfig), "{e}");
    assert!(e.to_string().contains(&topic), "{e}");
    admin
        .incremental_alter_configs(
            &[(t.clone(), vec![AlterConfigOp::set("retention.ms", "1000")])],
            true,
        )
        .await
        .unwrap();
    let d = &admin
        .describe_configs(std::slice::from_ref(&t), &["retention.ms"])
        .await
        .unwrap()[0];
    assert_eq!(d.entries[0].value.as_deref(), Some("604800000"));

    // A topic that does not exist.
    let e = admin
        .describe_configs(&[ConfigResource::topic(common::unique("nope"))], &[])
        .await
        .unwrap_err();
    assert_eq!(
        e.kafka_error(),
        Some(ResponseError::UnknownTopicOrPartition),
        "{e}"
    );

    // A broker: a dynamic per-broker config, set and removed (reaches that broker).
    let node = admin.describe_cluster().await.unwrap().brokers[0].node_id;
    let b = ConfigResource::broker(node);
    let key = "log.cleaner.backoff.ms";
    admin
        .incremental_alter_configs(
            &[(b.clone(), vec![AlterConfigOp::set(key, "16000")])],
            false,
        )
        .await
        .unwrap();
    // Brokers apply dynamic configs from the metadata log: soon after the call returns.
    let source = |want: ConfigSource| {
        let (admin, b) = (admin.clone(), b.clone());
        async move { admin.describe_configs(&[b], &[key]).await.unwrap()[0].entries[0].source == want }
    };
    common::eventually(Duration::from_secs(30), "the broker config is set", || {
        source(ConfigSource::DynamicBroker)
    })
    .await;
    let d = &admin
        .describe_configs(std::slice::from_ref(&b), &[key])
        .await
        .unwrap()[0];
    assert_eq!(d.entries[0].value.as_deref(), Some("16000"));
    assert_eq!(d.entries[0].source, ConfigSource::DynamicBroker);
    // The synonyms show what it overrides: the default underneath.
    assert!(
        d.entries[0]
            .synonyms
            .iter()
            .any(|(_, _, s)| *s == ConfigSource::Default),
        "{d:?}"
    );
    admin
        .incremental_alter_configs(&[(b.clone(), vec![AlterConfigOp::delete(key)])], false)
        .await
        .unwrap();
    common::eventually(
        Duration::from_secs(30),
        "the broker config is deleted",
        || source(ConfigSource::Default),
    )
    .await;

    // A consumer group's own session timeout (KIP-848 group configs).
    if !common::needs_kafka4("group configs, KIP-848").await {
        let g = ConfigResource::group(common::unique("g-configs"));
        admin
            .incremental_alter_configs(
                &[(
                    g.clone(),
                    vec![AlterConfigOp::set("consumer.session.timeout.ms", "20000")],
                )],
                false,
            )
            .await
            .unwrap();
        let (a, gg) = (admin.clone(), g.clone());
        common::eventually(
            Duration::from_secs(30),
            "the group config is set",
            move || {
                let (a, gg) = (a.clone(), gg.clone());
                async move {
                    a.describe_configs(std::slice::from_ref(&gg), &["consumer.session.timeout.ms"])
                        .await
                        .ok()
                        .and_then(|d| d[0].entries.first().and_then(|e| e.value.clone()))
                        .as_deref()
                        == Some("20000")
                }
            },
        )
        .await;
        let d = &admin
            .describe_configs(std::slice::from_ref(&g), &["consumer.session.timeout.ms"])
            .await
            .unwrap()[0];
        assert_eq!(d.entries[0].value.as_deref(), Some("20000"), "{d:?}");
        assert_eq!(d.entries[0].source, ConfigSource::Group);
    }

    // A client metrics subscription (KIP-714): created by its first config, gone when empty.
    let m = ConfigResource::client_metrics(common::unique("cm"));
    admin
        .incremental_alter_configs(
            &[(
                m.clone(),
                vec![
                    AlterConfigOp::set("metrics", "org.apache.kafka.producer."),
                    AlterConfigOp::set("interval.ms", "60000"),
                ],
            )],
            false,
        )
        .await
        .unwrap();
    // Applied a moment after the call returns (through the metadata log).
    let (a, mm) = (admin.clone(), m.clone());
    common::eventually(
        Duration::from_secs(30),
        "the subscription's interval",
        move || {
            let (a, mm) = (a.clone(), mm.clone());
            async move {
                a.describe_configs(std::slice::from_ref(&mm), &[])
                    .await
                    .ok()
                    .and_then(|d| d[0].get("interval.ms").and_then(|e| e.value.clone()))
                    .as_deref()
                    == Some("60000")
            }
        },
    )
    .await;
    let d = &admin
        .describe_configs(std::slice::from_ref(&m), &[])
        .await
        .unwrap()[0];
    assert_eq!(
        d.get("interval.ms").unwrap().source,
        ConfigSource::ClientMetrics
    );
    assert_eq!(
        d.get("metrics").unwrap().value.as_deref(),
        Some("org.apache.kafka.producer.")
    );
    admin
        .incremental_alter_configs(
            &[(
                m.clone(),
                vec![
                    AlterConfigOp::delete("metrics"),
                    AlterConfigOp::delete("interval.ms"),
                ],
            )],
            false,
        )
        .await
        .unwrap();
    admin.delete_topics(&[&topic]).await.unwrap();
}

#[tokio::test]
async fn offsets_are_listed_by_spec_and_records_deleted_up_to_an_offset() {
    common::init_tracing();
    let kafka = common::connect().await;
    let admin = kafka.admin();
    let topic = common::topic(&kafka, "a-records", 1).await;
    let tp = TopicPartition::new(&topic, 0);
    // Ten records a second apart, an hour ago; record 5 has the largest timestamp.
    let base = now_ms() - 3_600_000;
    let producer = kafka.producer(ProducerConfig::default()).unwrap();
    for i in 0..10i64 {
        let ts = if i == 5 {
            base + 100_000
        } else {
            base + i * 1000
        };
        producer
            .send(Record::new(&topic, b"v").timestamp(ts))
            .await
            .unwrap()
            .await
            .unwrap();
    }
    producer.close().await.unwrap();
    let one = |spec| {
        let admin = admin.clone();
        let tp = tp.clone();
        async move {
            let o = admin
                .list_offsets(std::slice::from_ref(&tp), spec, false)
                .await
                .unwrap();
            assert_eq!(o.len(), 1);
            assert_eq!(o[0].partition, tp);
            o[0].clone()
        }
    };
    assert_eq!(one(OffsetSpec::Earliest).await.offset, 0);
    assert_eq!(one(OffsetSpec::Latest).await.offset, 10);
    let at = one(OffsetSpec::Timestamp(base + 3500)).await;
    assert_eq!((at.offset, at.timestamp), (4, base + 4000));
    let max = one(OffsetSpec::MaxTimestamp).await;
    assert_eq!((max.offset, max.timestamp), (5, base + 100_000));
    // After every record: the end (or -1 from brokers that say "none").
    let after = one(OffsetSpec::Timestamp(now_ms() + 3_600_000)).await;
    assert!(after.offset == 10 || after.offset == -1, "{after:?}");

    let low = admin.delete_records(&[(tp.clone(), 4)]).await.unwrap();
    assert_eq!(low, vec![(tp.clone(), 4)]);
    assert_eq!(one(OffsetSpec::Earliest).await.offset, 4);
    // Past the end is refused; -1 deletes everything.
    let e = admin.delete_records(&[(tp.clone(), 11)]).await.unwrap_err();
    assert_eq!(
        e.kafka_error(),
        Some(ResponseError::OffsetOutOfRange),
        "{e}"
    );
    assert_eq!(
        admin.delete_records(&[(tp.clone(), -1)]).await.unwrap(),
        vec![(tp.clone(), 10)]
    );
    assert_eq!(one(OffsetSpec::Earliest).await.offset, 10);
    // A partition that does not exist names itself.
    let e = admin
        .list_offsets(&[TopicPartition::new(&topic, 7)], OffsetSpec::Latest, false)
        .await
        .unwrap_err();
    assert!(e.to_string().contains(&format!("{topic}-7")), "{e}");
    admin.delete_topics(&[&topic]).await.unwrap();
}

#[tokio::test]
async fn cluster_features_and_log_dirs_are_described() {
    common::init_tracing();
    let kafka = common::connect().await;
    let admin = kafka.admin();
    let c = admin.describe_cluster().await.unwrap();
    assert!(c.cluster_id.as_deref().is_some_and(|id| !id.is_empty()));
    assert_eq!(c.brokers.len(), 1, "{c:?}");
    assert!(c.fenced.is_empty());
    assert!(c.brokers.iter().any(|b| b.node_id == c.controller_id));
    assert_eq!(c.brokers[0].addr(), common::bootstrap());

    let f = admin.describe_features().await.unwrap();
    let find = |v: &[kafkit::admin::Feature], n: &str| v.iter().find(|x| x.name == n).cloned();
    let mv = find(&f.finalized, "metadata.version").expect("metadata.version finalized");
    assert!(mv.max > 0);
    // group.version 1 is what turns the KIP-848 protocol on.
    if !common::needs_kafka4("group.version, KIP-848").await {
        assert!(
            find(&f.finalized, "group.version").is_some_and(|g| g.max >= 1),
            "{f:?}"
        );
    }
    assert!(find(&f.supported, "metadata.version").is_some_and(|s| s.max >= mv.max));

    let topic = common::topic(&kafka, "a-logdirs", 2).await;
    common::produce(&kafka, &topic, 20).await;
    let dirs = admin.describe_log_dirs(&[]).await.unwrap();
    assert!(!dirs.is_empty());
    let dir = &dirs[0];
    assert!(dir.error.is_none(), "{dir:?}");
    assert!(dir.total_bytes.unwrap() >= dir.usable_bytes.unwrap());
    let ours: Vec<_> = dirs
        .iter()
        .flat_map(|d| &d.partitions)
        .filter(|p| p.partition.topic == topic)
        .collect();
    assert_eq!(ours.len(), 2, "{ours:?}");
    assert!(ours.iter().map(|p| p.size).sum::<i64>() > 0, "{ours:?}");
    admin.delete_topics(&[&topic]).await.unwrap();
}

#[tokio::test]
async fn client_quotas_are_set_described_and_removed() {
    common::init_tracing();
    let kafka = common::connect().await;
    let admin = kafka.admin();
    let user = common::unique("quota-user");
    let entity = QuotaEntity::user(&user).and("client-id", Some("reports"));
    admin
        .alter_client_quotas(
            &[(
                entity.clone(),
                vec![
                    QuotaOp::Set("producer_byte_rate".into(), 1_048_576.0),
                    QuotaOp::Set("consumer_byte_rate".into(), 2_097_152.0),
                ],
            )],
            false,
        )
        .await
        .unwrap();
    let filter = [QuotaFilter::Exact("user".into(), user.clone())];
    // Quotas reach the brokers through the metadata log: soon after the call returns.
    let count = |n: usize| {
        let (admin, filter) = (admin.clone(), filter.clone());
        async move {
            admin
                .describe_client_quotas(&filter, false)
                .await
                .unwrap()
                .len()
                == n
        }
    };
    common::eventually(Duration::from_secs(30), "the quotas are set", || count(1)).await;
    let found = admin.describe_client_quotas(&filter, false).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].quotas,
        vec![
            ("consumer_byte_rate".to_string(), 2_097_152.0),
            ("producer_byte_rate".to_string(), 1_048_576.0)
        ]
    );
    let mut want = entity.parts.clone();
    want.sort();
    assert_eq!(found[0].entity.parts, want);
    // Strict: the entity has a client-id part the filter does not name.
    assert!(admin
        .describe_client_quotas(&filter, true)
        .await
        .unwrap()
        .is_empty());

    let e = admin
        .alter_client_quotas(
            &[(
                entity.clone(),
                vec![QuotaOp::Set("no_such_quota".into(), 1.0)],
            )],
            false,
        )
        .await
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Kafka(_)), "{e}");
    admin
        .alter_client_quotas(
            &[(
                entity,
                vec![
                    QuotaOp::Remove("producer_byte_rate".into()),
                    QuotaOp::Remove("consumer_byte_rate".into()),
                ],
            )],
            false,
        )
        .await
        .unwrap();
    common::eventually(Duration::from_secs(30), "the quotas are removed", || {
        count(0)
    })
    .await;
}

async fn login(user: &str, password: &str) -> kafkit::Result<Kafka> {
    Kafka::connect(
        KafkaConfig::new([sasl_bootstrap().expect("a SASL listener")])
            .client_id("kafkit-tests")
            .retry(kafkit::RetryPolicy {
                retries: 0,
                ..Default::default()
            })
            .sasl(SaslConfig::scram_sha256(user, password.to_string())),
    )
    .await
}

#[tokio::test]
async fn a_scram_user_is_created_logs_in_and_is_refused_after_delete() {
    common::init_tracing();
    let kafka = common::connect().await;
    let admin = kafka.admin();
    let user = common::unique("carol");
    let sasl = sasl_bootstrap().is_some();
    if sasl {
        assert!(login(&user, "carol-secret").await.is_err());
    }

    admin
        .upsert_user_scram_credential(&user, ScramMechanism::ScramSha256, "carol-secret", None)
        .await
        .unwrap();
    admin
        .upsert_user_scram_credential(&user, ScramMechanism::ScramSha512, "other", Some(8192))
        .await
        .unwrap();
    // Described from the broker's metadata image: soon, not at once (seen on Kafka 3.9).
    let (a, u) = (admin.clone(), user.clone());
    common::eventually(Duration::from_secs(30), "both credentials", move || {
        let (a, u) = (a.clone(), u.clone());
        async move {
            a.describe_user_scram_credentials(&[&u])
                .await
                .is_ok_and(|users| users.len() == 1 && users[0].credentials.len() == 2)
        }
    })
    .await;
    let users = admin
        .describe_user_scram_credentials(&[&user])
        .await
        .unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(
        users[0]
            .credentials
            .iter()
            .map(|c| (c.mechanism, c.iterations))
            .collect::<Vec<_>>(),
        vec![
            (ScramMechanism::ScramSha256, 4096),
            (ScramMechanism::ScramSha512, 8192)
        ]
    );
    assert!(admin
        .describe_user_scram_credentials(&[])
        .await
        .unwrap()
        .iter()
        .any(|u| u.user == user));

    // The broker applies the credential from its metadata log: soon, not at once.
    let u = user.clone();
    if sasl {
        common::eventually(Duration::from_secs(30), "the new user logs in", move || {
            let u = u.clone();
            async move { login(&u, "carol-secret").await.is_ok() }
        })
        .await;
        let k = login(&user, "carol-secret").await.unwrap();
        assert_eq!(k.admin().describe_cluster().await.unwrap().brokers.len(), 1);
        k.close(Duration::from_secs(1)).await;
        let wrong = login(&user, "not-it").await.unwrap_err();
        assert_eq!(wrong.kind(), &ErrorKind::Auth, "{wrong}");
    }

    admin
        .delete_user_scram_credential(&user, ScramMechanism::ScramSha256)
        .await
        .unwrap();
    let u = user.clone();
    if sasl {
        common::eventually(
        Duration::from_secs(30),
        "the deleted user is refused",
        move || {
            let u = u.clone();
            async move {
                matches!(login(&u, "carol-secret").await, Err(e) if e.kind() == &ErrorKind::Auth)
            }
        },
    )
    .await;
    }
    let e = admin
        .delete_user_scram_credential(&user, ScramMechanism::ScramSha256)
        .await
        .unwrap_err();
    assert_eq!(
        e.kafka_error(),
        Some(ResponseError::ResourceNotFound),
        "{e}"
    );
    admin
        .delete_user_scram_credential(&user, ScramMechanism::ScramSha512)
        .await
        .unwrap();
    // The deletion reaches the broker's view a moment after the call returns.
    let (a, u) = (admin.clone(), user.clone());
    common::eventually(Duration::from_secs(30), "the user is gone", move || {
        let (a, u) = (a.clone(), u.clone());
        async move {
            matches!(
                a.describe_user_scram_credentials(&[&u]).await,
                Err(e) if e.kafka_error() == Some(ResponseError::ResourceNotFound)
            )
        }
    })
    .await;
}

#[tokio::test]
async fn producers_and_transactions_are_described_and_a_producer_fenced() {
    common::init_tracing();
    let kafka = common::connect().await;
    let admin = kafka.admin();
    let topic = common::topic(&kafka, "a-txn", 1).await;
    let tp = TopicPartition::new(&topic, 0);
    let txn_id = common::unique("txn-admin");
    let producer = kafka
        .producer(ProducerConfig::default().transactional_id(&txn_id))
        .unwrap();
    producer.init_transactions().await.unwrap();
    producer.begin_transaction().unwrap();
    producer
        .send(Record::new(&topic, b"open"))
        .await
        .unwrap()
        .await
        .unwrap();

    let listed = admin.list_transactions(&["Ongoing"]).await.unwrap();
    let mine = listed
        .iter()
        .find(|t| t.transactional_id == txn_id)
        .unwrap_or_else(|| panic!("{txn_id} not in {listed:?}"));
    assert_eq!(mine.state, "Ongoing");
    let d = &admin.describe_transactions(&[&txn_id]).await.unwrap()[0];
    assert_eq!(d.state, "Ongoing");
    assert_eq!(d.partitions, vec![tp.clone()]);
    assert_eq!(d.producer_id, mine.producer_id);
    assert!(d.start_time_ms > 0);

    let producers = admin
        .describe_producers(std::slice::from_ref(&tp))
        .await
        .unwrap();
    let p = producers
        .iter()
        .find(|p| p.producer_id == d.producer_id)
        .unwrap_or_else(|| panic!("{producers:?}"));
    assert_eq!(p.current_txn_start_offset, Some(0));
    assert_eq!(p.producer_epoch, i32::from(d.producer_epoch));

    let fenced = admin.fence_producers(&[&txn_id]).await.unwrap();
    assert_eq!(fenced[0].0, d.producer_id);
    assert!(fenced[0].1 > d.producer_epoch, "{fenced:?} after {d:?}");
    // The old instance is a zombie now: its commit fails.
    assert!(producer.commit_transaction().await.is_err());
    let d = &admin.describe_transactions(&[&txn_id]).await.unwrap()[0];
    assert_ne!(d.state, "Ongoing", "{d:?}");

    let e = admin
        .describe_transactions(&[&common::unique("never-used")])
        .await
        .unwrap_err();
    assert_eq!(
        e.kafka_error(),
        Some(ResponseError::TransactionalIdNotFound),
        "{e}"
    );
    producer.close_now().await;
    admin.delete_topics(&[&topic]).await.unwrap();
}

#[tokio::test]
async fn a_static_member_that_stopped_is_removed_from_its_group() {
    common::init_tracing();
    let kafka = common::connect().await;
    let admin = kafka.admin();
    let topic = common::topic(&kafka, "a-remove", 1).await;
    let group = common::unique("g-remove");
    let c = kafka
        .consumer(
            ConsumerConfig::new(&group)
                .group_protocol(GroupProtocol::Classic)
                .instance_id("reports-1")
                .session_timeout(Duration::from_secs(60)),
        )
        .unwrap();
    c.subscribe(&[&topic], true).await.unwrap();
    let a = admin.clone();
    let g = group.clone();
    common::eventually(Duration::from_secs(30), "the member joined", move || {
        let (a, g) = (a.clone(), g.clone());
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
    assert_eq!(d.members[0].instance_id.as_deref(), Some("reports-1"));

    let e = admin
        .remove_group_members(&group, &[MemberToRemove::Static("nobody".into())], None)
        .await
        .unwrap_err();
    assert_eq!(e.kafka_error(), Some(ResponseError::UnknownMemberId), "{e}");
    assert!(e.to_string().contains("nobody"), "{e}");
    admin
        .remove_group_members(
            &group,
            &[MemberToRemove::Static("reports-1".into())],
            Some("test"),
        )
        .await
        .unwrap();
    let d = &admin.describe_groups(&[&group]).await.unwrap()[0];
    assert!(d.members.is_empty(), "{d:?}");
    assert_eq!(d.state, "Empty");
    admin.delete_groups(&[&group]).await.unwrap();
    admin.delete_topics(&[&topic]).await.unwrap();
}
