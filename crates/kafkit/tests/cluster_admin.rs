//! Leader elections and partition reassignments on the three-node cluster (scripts/cluster;
//! runs when KAFKIT_CLUSTER_BOOTSTRAP is set, holding the cluster lock so no other test
//! fails a node meanwhile): a reordered replica list makes another broker the preferred
//! leader, a preferred election moves leadership there, and a reassignment drops a replica.

mod common;

use std::time::Duration;

use common::cluster::*;
use kafkit::admin::ElectionType;
use kafkit::cluster::PartitionInfo;
use kafkit::error::ResponseError;
use kafkit::{Kafka, TopicPartition};

async fn partition(kafka: &Kafka, topic: &str, p: i32) -> PartitionInfo {
    kafka.cluster().invalidate();
    let t = kafka
        .cluster()
        .wait_for_topic(topic, Duration::from_secs(30))
        .await
        .expect("topic");
    t.partition(p).expect("partition").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reassignment_and_preferred_election_move_a_partitions_leader() {
    common::init_tracing();
    let Some((bootstrap, _lock)) = begin().await else {
        return;
    };
    let kafka = connect(&bootstrap).await;
    let admin = kafka.admin();
    let c = admin.describe_cluster().await.unwrap();
    assert_eq!(c.brokers.len(), 3, "{c:?}");
    let topic = replicated_topic(&kafka, "admin-elect").await;
    let tp = TopicPartition::new(&topic, 0);
    let before = partition(&kafka, &topic, 0).await;
    assert_eq!(before.leader, before.replicas[0], "{before:?}");

    // Nothing to elect: the preferred replica leads already.
    assert!(admin
        .elect_leaders(ElectionType::Preferred, std::slice::from_ref(&tp))
        .await
        .unwrap()
        .is_empty());
    // The same for an unclean election of a partition with a live in-sync leader.
    assert!(admin
        .elect_leaders(ElectionType::Unclean, std::slice::from_ref(&tp))
        .await
        .unwrap()
        .is_empty());

    // The same replicas in another order: the move is immediate, the leader stays.
    let mut reordered = before.replicas.clone();
    reordered.rotate_left(1);
    admin
        .alter_partition_reassignments(&[(tp.clone(), Some(reordered.clone()))])
        .await
        .unwrap();
    let (k, t, want) = (kafka.clone(), topic.clone(), reordered.clone());
    common::eventually(
        Duration::from_secs(30),
        "the replicas reordered",
        move || {
            let (k, t, want) = (k.clone(), t.clone(), want.clone());
            async move { partition(&k, &t, 0).await.replicas == want }
        },
    )
    .await;
    assert!(admin
        .list_partition_reassignments(std::slice::from_ref(&tp))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(partition(&kafka, &topic, 0).await.leader, before.leader);

    let elected = admin
        .elect_leaders(ElectionType::Preferred, std::slice::from_ref(&tp))
        .await
        .unwrap();
    assert_eq!(elected, vec![tp.clone()]);
    let (k, t, want) = (kafka.clone(), topic.clone(), reordered[0]);
    common::eventually(
        Duration::from_secs(30),
        "the preferred replica leads",
        move || {
            let (k, t) = (k.clone(), t.clone());
            async move { partition(&k, &t, 0).await.leader == want }
        },
    )
    .await;

    // Down to two replicas (dropping the last one); then nothing is left to cancel.
    let two = reordered[..2].to_vec();
    admin
        .alter_partition_reassignments(&[(tp.clone(), Some(two.clone()))])
        .await
        .unwrap();
    let (k, t) = (kafka.clone(), topic.clone());
    common::eventually(
        Duration::from_secs(60),
        "the replica is removed",
        move || {
            let (k, t, want) = (k.clone(), t.clone(), two.clone());
            async move {
                let p = partition(&k, &t, 0).await;
                p.replicas == want && p.isr.len() == 2
            }
        },
    )
    .await;
    let e = admin
        .alter_partition_reassignments(&[(tp.clone(), None)])
        .await
        .unwrap_err();
    assert_eq!(
        e.kafka_error(),
        Some(ResponseError::NoReassignmentInProgress),
        "{e}"
    );
    assert!(e.to_string().contains("nothing to cancel"), "{e}");

    // Log dirs of every broker: the two replicas kept are on disk.
    let dirs = admin.describe_log_dirs(&[]).await.unwrap();
    let holders: Vec<i32> = dirs
        .iter()
        .filter(|d| d.partitions.iter().any(|p| p.partition == tp))
        .map(|d| d.broker)
        .collect();
    assert!(holders.len() >= 2, "{holders:?}");
    admin.delete_topics(&[&topic]).await.unwrap();
}
