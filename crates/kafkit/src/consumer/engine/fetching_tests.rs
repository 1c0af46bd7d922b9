//! Unit tests of fetch planning: a metadata snapshot and partitions in, the fetches out.

use std::sync::Arc;

use super::*;
use crate::cluster::{BrokerInfo, PartitionInfo, TopicInfo};
use crate::fetch::source::NO_LEADER_RETRY;

const TOPIC_ID: Uuid = Uuid::from_u128(0x70);

fn tp(p: i32) -> TopicPartition {
    TopicPartition::new("t", p)
}

/// Brokers 1, 2 and 3; topic `t` with one partition per `(leader, leader_epoch)`, each
/// replicated on all three brokers.
fn metadata(leaders: &[(i32, i32)]) -> ClusterMetadata {
    let mut m = ClusterMetadata::default();
    for id in 1..=3 {
        m.brokers.insert(
            id,
            BrokerInfo {
                node_id: id,
                host: "localhost".into(),
                port: 9000 + id,
                rack: None,
            },
        );
    }
    let partitions = leaders
        .iter()
        .enumerate()
        .map(|(p, &(leader, leader_epoch))| PartitionInfo {
            partition: p as i32,
            leader,
            leader_epoch,
            replicas: vec![1, 2, 3],
            isr: vec![1, 2, 3],
            error_code: 0,
        })
        .collect();
    m.topics.insert(
        "t".into(),
        Arc::new(TopicInfo {
            name: "t".into(),
            id: TOPIC_ID,
            is_internal: false,
            partitions,
        }),
    );
    m.topic_names.insert(TOPIC_ID, "t".into());
    m
}

/// Partitions 0..n of `t` at offset 100 + p, the epoch before it unknown.
fn assigned(n: i32) -> Partitions {
    let mut parts = Partitions::default();
    parts.assign((0..n).map(|p| (tp(p), 100 + p as i64, None)));
    parts
}

fn config() -> ConsumerConfig {
    ConsumerConfig::new("g")
}

fn plan(
    f: &mut Fetching,
    m: &ClusterMetadata,
    c: &ConsumerConfig,
    parts: &Partitions,
    revoking: &[TopicPartition],
) -> Plan {
    let revoking: BTreeSet<TopicPartition> = revoking.iter().cloned().collect();
    f.plan(m, c, parts, &revoking, Instant::now())
}

/// Broker → partition numbers asked of it, in plan order.
fn asked(plan: &Plan) -> Vec<(i32, Vec<i32>)> {
    plan.fetches
        .iter()
        .map(|f| {
            let ps = f.targets.iter().map(|t| t.partition.partition).collect();
            (f.node, ps)
        })
        .collect()
}

fn fetch_to(plan: &Plan, node: i32) -> &PlannedFetch {
    plan.fetches
        .iter()
        .find(|f| f.node == node)
        .unwrap_or_else(|| panic!("no fetch to broker {node}"))
}

#[tokio::test(start_paused = true)]
async fn each_partition_is_asked_of_its_leader_with_its_epochs() {
    let m = metadata(&[(1, 5), (2, 7), (1, 5)]);
    let mut parts = assigned(3);
    parts.states.get_mut(&tp(0)).unwrap().last_epoch = Some(4);
    parts.states.get_mut(&tp(2)).unwrap().fetch_max_bytes = Some(5_000_000);
    let mut f = Fetching::default();
    let p = plan(&mut f, &m, &config(), &parts, &[]);
    assert_eq!(asked(&p), vec![(1, vec![0, 2]), (2, vec![1])]);

    let to1 = fetch_to(&p, 1);
    let t0 = &to1.targets[0];
    assert_eq!(t0.topic_id, TOPIC_ID);
    assert_eq!(
        t0.position,
        FetchPosition {
            offset: 100,
            current_leader_epoch: 5,
            last_fetched_epoch: 4,
        }
    );
    assert_eq!(t0.max_bytes, config().max_bytes_per_partition);
    // A batch larger than the per-partition limit is asked for whole.
    assert_eq!(to1.targets[1].max_bytes, 5_000_000);
    // An unknown last epoch goes as -1 (the leader skips the truncation check).
    let t1 = &fetch_to(&p, 2).targets[0];
    assert_eq!(
        (
            t1.position.offset,
            t1.position.current_leader_epoch,
            t1.position.last_fetched_epoch
        ),
        (101, 7, -1)
    );
    // The generations travel with the fetch, so a seek meanwhile drops its answer.
    assert_eq!(
        to1.generations,
        HashMap::from([
            (tp(0), parts.states[&tp(0)].generation),
            (tp(2), parts.states[&tp(2)].generation),
        ])
    );
    assert!(!p.refresh_metadata);
    // Two fetches share the free prefetch space.
    assert_eq!(p.budget.total(), config().max_prefetch_bytes / 2);
}

#[tokio::test(start_paused = true)]
async fn paused_held_revoking_backing_off_and_unpositioned_partitions_are_left_out() {
    let m = metadata(&[(1, 1); 7]);
    let mut parts = assigned(7);
    parts.states.get_mut(&tp(1)).unwrap().paused = true;
    parts
        .states
        .get_mut(&tp(2))
        .unwrap()
        .buffered
        .push_back(Batch::of(2, 100..101));
    parts.states.get_mut(&tp(3)).unwrap().in_process = true;
    // 4 is being revoked (below).
    parts.states.get_mut(&tp(5)).unwrap().backoff_until =
        Some(Instant::now() + FETCH_ERROR_BACKOFF);
    parts.states.get_mut(&tp(6)).unwrap().position = None;
    let mut f = Fetching::default();
    let p = plan(&mut f, &m, &config(), &parts, &[tp(4)]);
    assert_eq!(asked(&p), vec![(1, vec![0])]);

    // Once its backoff has passed, 5 is fetched again.
    f.settle(1, Some(0));
    tokio::time::advance(FETCH_ERROR_BACKOFF).await;
    let p = plan(&mut f, &m, &config(), &parts, &[tp(4)]);
    assert_eq!(asked(&p), vec![(1, vec![0, 5])]);
}

#[tokio::test(start_paused = true)]
async fn one_fetch_in_flight_per_broker() {
    let m = metadata(&[(1, 1), (2, 1), (1, 1)]);
    let parts = assigned(3);
    let mut f = Fetching::default();
    assert_eq!(
        asked(&plan(&mut f, &m, &config(), &parts, &[])),
        vec![(1, vec![0, 2]), (2, vec![1])]
    );
    // Both still in flight: nothing more.
    assert!(plan(&mut f, &m, &config(), &parts, &[]).fetches.is_empty());
    // Broker 1 answered (or failed): only it is asked again.
    f.settle(1, None);
    assert_eq!(
        asked(&plan(&mut f, &m, &config(), &parts, &[])),
        vec![(1, vec![0, 2])]
    );
    assert!(plan(&mut f, &m, &config(), &parts, &[]).fetches.is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_read_replica_is_asked_while_it_lasts_then_the_leader() {
    let mut m = metadata(&[(1, 3), (1, 3)]);
    let mut parts = assigned(2);
    let until = Instant::now() + READ_REPLICA_FOR;
    parts.states.get_mut(&tp(0)).unwrap().read_replica = Some((2, until));
    let mut f = Fetching::default();
    let p = plan(&mut f, &m, &config(), &parts, &[]);
    assert_eq!(asked(&p), vec![(1, vec![1]), (2, vec![0])]);
    // The replica is sent the leader's epoch: it checks it like the leader would.
    assert_eq!(fetch_to(&p, 2).targets[0].position.current_leader_epoch, 3);

    // A replica gone from the broker list is not asked.
    m.brokers.remove(&2);
    let mut f = Fetching::default();
    assert_eq!(
        asked(&plan(&mut f, &m, &config(), &parts, &[])),
        vec![(1, vec![0, 1])]
    );

    // Nor one that is no longer among the partition's replicas.
    let mut m = metadata(&[(1, 3), (1, 3)]);
    Arc::make_mut(m.topics.get_mut("t").unwrap()).partitions[0].replicas = vec![1, 3];
    let mut f = Fetching::default();
    assert_eq!(
        asked(&plan(&mut f, &m, &config(), &parts, &[])),
        vec![(1, vec![0, 1])]
    );

    // Nor after it expired: back to the leader, which may name it again.
    let m = metadata(&[(1, 3), (1, 3)]);
    tokio::time::advance(READ_REPLICA_FOR).await;
    let mut f = Fetching::default();
    assert_eq!(
        asked(&plan(&mut f, &m, &config(), &parts, &[])),
        vec![(1, vec![0, 1])]
    );
}

#[tokio::test(start_paused = true)]
async fn a_broker_with_records_at_the_handler_gets_no_long_poll_of_caught_up_partitions() {
    // 0 (broker 1) has records with the handler, 1 (broker 1) and 2 (broker 2) are caught up.
    let m = metadata(&[(1, 1), (1, 1), (2, 1)]);
    let mut parts = assigned(3);
    parts.states.get_mut(&tp(0)).unwrap().in_process = true;
    parts.states.get_mut(&tp(1)).unwrap().caught_up = true;
    parts.states.get_mut(&tp(2)).unwrap().caught_up = true;
    let mut f = Fetching::default();
    let p = plan(&mut f, &m, &config(), &parts, &[]);
    assert_eq!(asked(&p), vec![(2, vec![2])]);
    assert!(
        f.sources.ready(1, Instant::now()),
        "a broker left out is free to fetch"
    );

    // 1 may have records again: broker 1 is fetched, its caught-up partitions with it.
    let mut parts = assigned(4);
    let m = metadata(&[(1, 1), (1, 1), (2, 1), (1, 1)]);
    parts.states.get_mut(&tp(0)).unwrap().in_process = true;
    parts.states.get_mut(&tp(1)).unwrap().caught_up = true;
    let mut f = Fetching::default();
    assert_eq!(
        asked(&plan(&mut f, &m, &config(), &parts, &[])),
        vec![(1, vec![1, 3]), (2, vec![2])]
    );

    // A paused partition's records do not keep its broker from a long poll.
    let m = metadata(&[(1, 1), (1, 1)]);
    let mut parts = assigned(2);
    let st = parts.states.get_mut(&tp(0)).unwrap();
    st.paused = true;
    st.buffered.push_back(Batch::of(0, 100..101));
    parts.states.get_mut(&tp(1)).unwrap().caught_up = true;
    let mut f = Fetching::default();
    assert_eq!(
        asked(&plan(&mut f, &m, &config(), &parts, &[])),
        vec![(1, vec![1])]
    );
}

#[tokio::test(start_paused = true)]
async fn a_partition_without_a_leader_asks_for_metadata_at_most_every_200_ms() {
    let m = metadata(&[(-1, 1), (2, 1)]);
    let mut parts = assigned(2);
    // A topic the metadata does not know yet counts the same.
    parts.assign([(TopicPartition::new("unknown", 0), 0, None)]);
    let mut f = Fetching::default();
    let p = plan(&mut f, &m, &config(), &parts, &[]);
    assert_eq!(asked(&p), vec![(2, vec![1])]);
    assert!(p.refresh_metadata);
    assert_eq!(
        f.next_deadline(&parts),
        Some(Instant::now() + NO_LEADER_RETRY)
    );
    f.settle(2, Some(0));
    assert!(!plan(&mut f, &m, &config(), &parts, &[]).refresh_metadata);
    tokio::time::advance(NO_LEADER_RETRY).await;
    assert!(plan(&mut f, &m, &config(), &parts, &[]).refresh_metadata);
}

#[tokio::test(start_paused = true)]
async fn a_full_prefetch_buffer_starts_no_fetch() {
    let m = metadata(&[(1, 1)]);
    let mut parts = assigned(1);
    let c = config();
    parts.buffered_bytes = c.max_prefetch_bytes;
    let mut f = Fetching::default();
    assert!(plan(&mut f, &m, &c, &parts, &[]).fetches.is_empty());
    assert!(!f.sources.any_in_flight());
    // Room again: one fetch gets all of what is free.
    parts.buffered_bytes = c.max_prefetch_bytes - 1000;
    let p = plan(&mut f, &m, &c, &parts, &[]);
    assert_eq!(asked(&p), vec![(1, vec![0])]);
    assert_eq!(p.budget.total(), 1000);
}

#[tokio::test(start_paused = true)]
async fn the_second_fetch_of_a_session_sends_only_what_changed() {
    let m = metadata(&[(1, 1), (1, 1), (1, 1)]);
    let mut parts = assigned(3);
    let mut f = Fetching::default();
    let first = plan(&mut f, &m, &config(), &parts, &[]);
    let s = fetch_to(&first, 1)
        .session
        .as_ref()
        .expect("sessions are on");
    // Full, and asks the broker to open a session.
    assert_eq!((s.session_id, s.epoch), (0, 0));
    assert_eq!(s.send, fetch_to(&first, 1).targets);
    f.settle(1, Some(42));

    // Partition 0 read records (its position and epoch moved), 1 is unchanged and 2 is
    // paused; the leader of 1 moved to a new epoch on the same broker.
    let m = metadata(&[(1, 1), (1, 2), (1, 1)]);
    let st = parts.states.get_mut(&tp(0)).unwrap();
    st.position = Some(150);
    st.last_epoch = Some(1);
    parts.states.get_mut(&tp(2)).unwrap().paused = true;
    let second = plan(&mut f, &m, &config(), &parts, &[]);
    let fetch = fetch_to(&second, 1);
    assert_eq!(asked(&second), vec![(1, vec![0, 1])]);
    let s = fetch.session.as_ref().unwrap();
    assert_eq!((s.session_id, s.epoch), (42, 1));
    let sent: Vec<(i32, FetchPosition)> = s
        .send
        .iter()
        .map(|t| (t.partition.partition, t.position))
        .collect();
    assert_eq!(
        sent,
        vec![
            (
                0,
                FetchPosition {
                    offset: 150,
                    current_leader_epoch: 1,
                    last_fetched_epoch: 1
                }
            ),
            (
                1,
                FetchPosition {
                    offset: 101,
                    current_leader_epoch: 2,
                    last_fetched_epoch: -1
                }
            ),
        ]
    );
    assert_eq!(s.forget, vec![(tp(2), TOPIC_ID)]);
    f.settle(1, Some(42));

    // Nothing changed: an empty incremental fetch; after a failure, a full one that
    // replaces the session.
    let s = plan(&mut f, &m, &config(), &parts, &[]).fetches[0]
        .session
        .clone()
        .unwrap();
    assert!(s.send.is_empty() && s.forget.is_empty());
    assert_eq!(s.epoch, 2);
    f.settle(1, None);
    let s = plan(&mut f, &m, &config(), &parts, &[]).fetches[0]
        .session
        .clone()
        .unwrap();
    assert_eq!((s.session_id, s.epoch), (42, 0));
    assert_eq!(s.send.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn without_fetch_sessions_every_fetch_is_sessionless() {
    let m = metadata(&[(1, 1), (2, 1)]);
    let parts = assigned(2);
    let c = config().fetch_sessions(false);
    let mut f = Fetching::default();
    for _ in 0..2 {
        let p = plan(&mut f, &m, &c, &parts, &[]);
        assert_eq!(p.fetches.len(), 2);
        assert!(p.fetches.iter().all(|f| f.session.is_none()));
        f.settle(1, Some(0));
        f.settle(2, Some(0));
    }
    assert!(f.sources.iter().all(|(_, s)| s.session.id() == 0));
}

#[tokio::test(start_paused = true)]
async fn a_fetch_in_flight_keeps_its_share_of_the_prefetch_space() {
    let m = metadata(&[(1, 1), (2, 1)]);
    let parts = assigned(2);
    let c = config();
    let mut f = Fetching::default();
    let p = plan(&mut f, &m, &c, &parts, &[]);
    assert_eq!(p.budget.total(), c.max_prefetch_bytes / 2);
    // Broker 1 answered; broker 2's fetch still holds its half: broker 1 gets the other half,
    // not all of it.
    f.settle(1, Some(0));
    let p = plan(&mut f, &m, &c, &parts, &[]);
    assert_eq!(asked(&p), vec![(1, vec![0])]);
    assert_eq!(p.budget.total(), c.max_prefetch_bytes / 2);
}

#[tokio::test(start_paused = true)]
async fn a_batch_too_large_for_a_share_is_fetched_alone_with_all_the_space() {
    let m = metadata(&[(1, 1), (2, 1), (-1, 1)]);
    let mut parts = assigned(3);
    let c = config();
    parts.states.get_mut(&tp(0)).unwrap().needs_whole_budget = true;
    // Something is still held: nothing starts, so the space frees up.
    parts.buffered_bytes = 10;
    let mut f = Fetching::default();
    assert!(plan(&mut f, &m, &c, &parts, &[]).fetches.is_empty());
    // Nothing held: partition 0 alone, with all the space.
    parts.buffered_bytes = 0;
    let p = plan(&mut f, &m, &c, &parts, &[]);
    assert_eq!(asked(&p), vec![(1, vec![0])]);
    assert_eq!(p.budget.total(), c.max_prefetch_bytes);
    f.settle(1, Some(0));
    // It cannot be fetched now (no leader): it holds nobody back.
    parts.states.get_mut(&tp(0)).unwrap().needs_whole_budget = false;
    parts.states.get_mut(&tp(2)).unwrap().needs_whole_budget = true;
    let p = plan(&mut f, &m, &c, &parts, &[]);
    assert_eq!(asked(&p), vec![(1, vec![0]), (2, vec![1])]);
}

#[test]
fn an_out_of_range_reset_says_what_it_skipped_or_reads_again() {
    let skipped = reset_warning(&tp(0), 5, 120, AutoOffsetReset::Earliest).unwrap();
    assert!(skipped.contains("offset 5 of t-0"), "{skipped}");
    assert!(
        skipped.contains("moved reading to 120: 115 records were skipped"),
        "{skipped}"
    );
    let again = reset_warning(&tp(1), 300, 100, AutoOffsetReset::Earliest).unwrap();
    assert!(
        again.contains("offset 300 of t-1 is past the log's end")
            && again.contains("moved reading back to 100"),
        "{again}"
    );
    assert_eq!(reset_warning(&tp(0), 7, 7, AutoOffsetReset::Latest), None);
}

#[test]
fn an_out_of_range_fetch_keeps_its_offset_for_the_warning_or_names_it_in_the_error() {
    let mut parts = assigned(2);
    let mut pacing = Pacing::default();
    let resets = vec![(tp(0), 42)];
    assert!(reset_offsets(
        &mut parts,
        &mut pacing,
        resets.clone(),
        AutoOffsetReset::Earliest
    )
    .is_none());
    assert_eq!(parts.states[&tp(0)].position, None);
    assert_eq!(parts.states[&tp(0)].out_of_range_at, Some(42));
    assert_eq!(parts.reset_to(&tp(0), 50), Some(42));
    let e = reset_offsets(&mut parts, &mut pacing, resets, AutoOffsetReset::None).unwrap();
    assert!(e.to_string().contains("t-0 at offset 42"), "{e}");
}
