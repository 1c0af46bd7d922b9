//! Group administration against the real broker: list, describe, offsets, reset, delete. A
//! KIP-848 group on Kafka 4.x, a classic one on an older broker (scripts/test-legacy).

mod common;

use std::time::Duration;

use futures::StreamExt;
use kafkit::admin::{GroupKind, GroupState, GroupType, OffsetReset};
use kafkit::consumer::{ConsumerConfig, GroupProtocol};
use kafkit::TopicPartition;

#[tokio::test]
async fn a_consumer_group_is_listed_described_reset_and_deleted() {
    common::init_tracing();
    let kafka = common::connect().await;
    let admin = kafka.admin();
    let topic = common::topic(&kafka, "a-groups", 2).await;
    common::produce(&kafka, &topic, 20).await;
    let group = common::unique("g-admin");
    let protocol = common::group_protocol(&kafka).await;
    let (kind, group_type, other_type, type_name) = match protocol {
        GroupProtocol::Consumer => (
            GroupKind::Consumer,
            GroupType::Consumer,
            GroupType::Classic,
            "consumer",
        ),
        GroupProtocol::Classic => (
            GroupKind::Classic,
            GroupType::Classic,
            GroupType::Consumer,
            "classic",
        ),
    };
    let c = kafka
        .consumer(ConsumerConfig::new(&group).group_protocol(protocol))
        .unwrap();
    c.subscribe(&[&topic], true).await.unwrap();
    let mut stream = Box::pin(c.stream());
    for _ in 0..20 {
        tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }

    let d = &admin.describe_groups(&[&group]).await.unwrap()[0];
    assert_eq!(d.kind, kind);
    assert_eq!(d.members.len(), 1);
    assert_eq!(d.members[0].member_id, c.member_id());
    assert_eq!(d.members[0].assignment.len(), 2, "{d:?}");
    assert_eq!(d.members[0].subscribed_topics, vec![topic.clone()]);
    let listed = admin.list_groups(&[group_type], &[]).await.unwrap();
    assert!(
        listed
            .iter()
            .any(|g| g.group_id == group && g.group_type == type_name),
        "{listed:?}"
    );
    assert!(!admin
        .list_groups(&[other_type], &[])
        .await
        .unwrap()
        .iter()
        .any(|g| g.group_id == group));

    // A group with a live member cannot be deleted.
    assert!(admin.delete_groups(&[&group]).await.is_err());
    drop(stream);
    c.stop().await.unwrap(); // commits what was read

    // Typed state filters: the stopped group is Empty, not Stable.
    let with_state = |states: Vec<GroupState>| {
        let admin = admin.clone();
        let group = group.clone();
        async move {
            admin
                .list_groups(&[group_type], &states)
                .await
                .unwrap()
                .iter()
                .any(|g| g.group_id == group)
        }
    };
    common::eventually(Duration::from_secs(30), "the group is Empty", || {
        with_state(vec![GroupState::Empty])
    })
    .await;
    assert!(!with_state(vec![GroupState::Stable, GroupState::Reconciling]).await);

    let offsets = admin.group_offsets(&group).await.unwrap();
    assert_eq!(
        offsets.iter().map(|o| o.committed).sum::<i64>(),
        20,
        "{offsets:?}"
    );
    assert!(offsets.iter().all(|o| o.lag == 0 && o.end == o.committed));

    let set = admin
        .reset_group_offsets(&group, &topic, OffsetReset::Earliest)
        .await
        .unwrap();
    assert_eq!(
        set,
        vec![
            (TopicPartition::new(&topic, 0), 0),
            (TopicPartition::new(&topic, 1), 0)
        ]
    );
    let offsets = admin.group_offsets(&group).await.unwrap();
    assert_eq!(offsets.iter().map(|o| o.lag).sum::<i64>(), 20);

    admin.delete_groups(&[&group]).await.unwrap();
    assert!(!admin
        .list_groups(&[], &[])
        .await
        .unwrap()
        .iter()
        .any(|g| g.group_id == group));
}
