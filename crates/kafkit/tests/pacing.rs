//! Pacing: under an error that persists (a broker answering the same error, or nothing useful,
//! over and over) no request type goes out faster than a small bound, and one bad partition
//! never holds back the others. Each case runs a consumer against the fake broker of the
//! hostile suite (tests/hostile/server.rs) for a few seconds and counts, at the fake, the
//! requests of each API: a count, not a timing. The bounds are those docs/robustness.md states.
//! No Java needed: `cargo test -p kafkit --test pacing`.

#[path = "hostile/server.rs"]
mod server;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::messages::*;
use kafkit::consumer::{ConsumerConfig, GroupProtocol};
use kafkit::security::ReconnectBackoff;
use kafkit::share::ShareConsumerConfig;
use kafkit::{Event, Kafka, KafkaConfig, RetryPolicy};
use server::{frame, Act, FakeBroker, Incoming};
use uuid::Uuid;

/// How long each persistent error is watched.
const WINDOW: Duration = Duration::from_secs(3);

/// The most requests of one type a paced retry may send in [`WINDOW`]: 10 a second (the
/// first retries come 100 ms apart and slow down to one a second), plus a few for the step
/// that starts the window.
const MOST: usize = 3 * 10 + 5;

/// The most group heartbeats (ConsumerGroupHeartbeat, Heartbeat, ShareGroupHeartbeat) under a
/// retriable error in [`WINDOW`]: they back off from 200 ms to 5 s, about 5 in 3 s.
const MOST_HEARTBEATS: usize = 3 * 5 + 5;

fn config(fake: &FakeBroker) -> KafkaConfig {
    let mut c = KafkaConfig::new([fake.addr.clone()])
        .client_id("kafkit-pacing")
        .connect_timeout(Duration::from_millis(1000))
        .request_timeout(Duration::from_millis(1000))
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
        .unwrap_or_else(|e| panic!("connect to the fake {}: {e}", fake.addr))
}

/// The warnings a client emits, kept as they come.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl Warnings {
    fn watch(kafka: &Kafka) -> Warnings {
        let w = Warnings::default();
        let mut events = kafka.events();
        let seen = w.0.clone();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(Event::Warning { message }) => seen.lock().unwrap().push(message),
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        seen.lock().unwrap().push(format!("LAGGED {n}"))
                    }
                    Err(_) => return,
                }
            }
        });
        w
    }

    /// How many warnings contain every one of `needles`.
    fn naming(&self, needles: &[&str]) -> usize {
        let all = self.0.lock().unwrap();
        assert!(
            !all.iter().any(|w| w.starts_with("LAGGED")),
            "events were lost: {all:?}"
        );
        all.iter()
            .filter(|w| needles.iter().all(|n| w.contains(n)))
            .count()
    }

    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A consumer running `run_each_message`, and the `(partition, offset)` of what it read.
struct Running {
    consumer: kafkit::consumer::Consumer,
    read: Arc<Mutex<Vec<(String, i32, i64)>>>,
    task: tokio::task::JoinHandle<kafkit::Result<()>>,
}

impl Running {
    async fn start(kafka: &Kafka, config: ConsumerConfig, topics: &[&str]) -> Running {
        let consumer = kafka.consumer(config).unwrap();
        consumer.subscribe(topics, true).await.unwrap();
        Self::run(consumer)
    }

    fn run(consumer: kafkit::consumer::Consumer) -> Running {
        let read = Arc::new(Mutex::new(Vec::new()));
        let task = {
            let consumer = consumer.clone();
            let read = read.clone();
            tokio::spawn(async move {
                consumer
                    .run_each_message(move |m| {
                        read.lock()
                            .unwrap()
                            .push((m.topic.to_string(), m.partition, m.offset));
                        async { Ok(()) }
                    })
                    .await
            })
        };
        Running {
            consumer,
            read,
            task,
        }
    }

    fn read_from(&self, partition: i32) -> usize {
        self.read
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, p, _)| *p == partition)
            .count()
    }

    async fn wait_read(&self, partition: i32, n: usize, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while self.read_from(partition) < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "read {} of {n} records of partition {partition} within {within:?}",
                self.read_from(partition)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(self) {
        tokio::time::timeout(Duration::from_secs(10), self.consumer.stop())
            .await
            .expect("stop hangs")
            .unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("run does not return after stop")
            .unwrap()
            .unwrap();
    }
}

/// Requests of each API the fakes receive during [`WINDOW`].
async fn count(fakes: &[&FakeBroker], apis: &[ApiKey]) -> Vec<usize> {
    let total = |api: ApiKey| fakes.iter().map(|f| f.seen(api)).sum::<usize>();
    let before: Vec<usize> = apis.iter().map(|a| total(*a)).collect();
    tokio::time::sleep(WINDOW).await;
    apis.iter()
        .zip(before)
        .map(|(a, b)| total(*a) - b)
        .collect()
}

/// Fails when `n` requests are more than `most`. With `KAFKIT_PACING_REPORT` set it only
/// prints the count (to measure a build without pacing).
#[track_caller]
fn assert_paced(api: ApiKey, n: usize, most: usize) {
    eprintln!("{api:?}: {n} requests in {WINDOW:?}");
    if std::env::var_os("KAFKIT_PACING_REPORT").is_some() {
        return;
    }
    assert!(
        n <= most,
        "{n} {api:?} requests in {WINDOW:?}: more than {most} (not paced)"
    );
}

fn kip848(group: &str) -> ConsumerConfig {
    ConsumerConfig::new(group).group_protocol(GroupProtocol::Consumer)
}

fn classic(group: &str) -> ConsumerConfig {
    ConsumerConfig::new(group).group_protocol(GroupProtocol::Classic)
}

// ---- answers with an error ----------------------------------------------------------------

/// A Fetch answer giving `code` for every partition asked (no records).
fn fetch_error(r: &Incoming, code: i16) -> Act {
    let req: FetchRequest = r.decode();
    let mut resp = FetchResponse::default();
    resp.responses = req
        .topics
        .iter()
        .map(|t| {
            let mut tr = fetch_response::FetchableTopicResponse::default();
            tr.topic = t.topic.clone();
            tr.topic_id = t.topic_id;
            tr.partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let mut pd = fetch_response::PartitionData::default();
                    pd.partition_index = p.partition;
                    pd.error_code = code;
                    pd.high_watermark = -1;
                    pd.last_stable_offset = -1;
                    pd.preferred_read_replica = BrokerId(-1);
                    pd
                })
                .collect();
            tr
        })
        .collect();
    Act::Send(frame::<FetchRequest>(r.correlation_id, r.version, &resp))
}

/// A ListOffsets answer giving `code` for every partition asked.
fn list_offsets_error(r: &Incoming, code: i16) -> Act {
    let req: ListOffsetsRequest = r.decode();
    let mut resp = ListOffsetsResponse::default();
    resp.topics = req
        .topics
        .iter()
        .map(|t| {
            let mut tr = list_offsets_response::ListOffsetsTopicResponse::default();
            tr.name = t.name.clone();
            tr.partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let mut pr = list_offsets_response::ListOffsetsPartitionResponse::default();
                    pr.partition_index = p.partition_index;
                    pr.error_code = code;
                    pr
                })
                .collect();
            tr
        })
        .collect();
    Act::Send(frame::<ListOffsetsRequest>(
        r.correlation_id,
        r.version,
        &resp,
    ))
}

fn heartbeat_error(r: &Incoming, code: i16) -> Act {
    let mut resp = ConsumerGroupHeartbeatResponse::default();
    resp.error_code = code;
    Act::Send(frame::<ConsumerGroupHeartbeatRequest>(
        r.correlation_id,
        r.version,
        &resp,
    ))
}

fn share_heartbeat_error(r: &Incoming, code: i16) -> Act {
    let mut resp = ShareGroupHeartbeatResponse::default();
    resp.error_code = code;
    Act::Send(frame::<ShareGroupHeartbeatRequest>(
        r.correlation_id,
        r.version,
        &resp,
    ))
}

fn find_coordinator_error(r: &Incoming, code: i16) -> Act {
    let req: FindCoordinatorRequest = r.decode();
    let mut resp = FindCoordinatorResponse::default();
    if r.version >= 4 {
        resp.coordinators = req
            .coordinator_keys
            .iter()
            .map(|k| {
                let mut c = find_coordinator_response::Coordinator::default();
                c.key = k.clone();
                c.error_code = code;
                c.node_id = BrokerId(-1);
                c
            })
            .collect();
    } else {
        resp.error_code = code;
        resp.node_id = BrokerId(-1);
    }
    Act::Send(frame::<FindCoordinatorRequest>(
        r.correlation_id,
        r.version,
        &resp,
    ))
}

fn join_group_error(r: &Incoming, code: i16) -> Act {
    let mut resp = JoinGroupResponse::default();
    resp.error_code = code;
    resp.generation_id = -1;
    Act::Send(frame::<JoinGroupRequest>(
        r.correlation_id,
        r.version,
        &resp,
    ))
}

fn offset_commit_error(r: &Incoming, code: i16) -> Act {
    let req: OffsetCommitRequest = r.decode();
    let mut resp = OffsetCommitResponse::default();
    resp.topics = req
        .topics
        .iter()
        .map(|t| {
            let mut tr = offset_commit_response::OffsetCommitResponseTopic::default();
            tr.name = t.name.clone();
            tr.topic_id = t.topic_id;
            tr.partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let mut pr = offset_commit_response::OffsetCommitResponsePartition::default();
                    pr.partition_index = p.partition_index;
                    pr.error_code = code;
                    pr
                })
                .collect();
            tr
        })
        .collect();
    Act::Send(frame::<OffsetCommitRequest>(
        r.correlation_id,
        r.version,
        &resp,
    ))
}

fn share_fetch_error(r: &Incoming, code: i16) -> Act {
    let mut resp = ShareFetchResponse::default();
    resp.error_code = code;
    Act::Send(frame::<ShareFetchRequest>(
        r.correlation_id,
        r.version,
        &resp,
    ))
}

const OFFSET_OUT_OF_RANGE: i16 = 1;
const NOT_LEADER_OR_FOLLOWER: i16 = 6;
const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
const COORDINATOR_NOT_AVAILABLE: i16 = 15;
const NOT_COORDINATOR: i16 = 16;
const UNKNOWN_MEMBER_ID: i16 = 25;
const FENCED_MEMBER_EPOCH: i16 = 110;
const UNKNOWN_SERVER_ERROR: i16 = -1;

// ---- one bad partition never holds back the others ------------------------------------------

/// A KIP-848 assignment names a topic id metadata does not know (yet) next to a valid
/// partition: the valid one is read at once, the unknown id is looked up again at a paced
/// rate, and the user is warned once, naming it.
#[tokio::test]
async fn an_unknown_topic_id_in_the_assignment_holds_back_nothing_and_is_paced() {
    let fake = FakeBroker::start().await;
    fake.add_topic("orders", 1, fake.node_id);
    fake.append("orders", 0, &["a", "b", "c"]);
    let unknown = Uuid::from_u128(0xdd1d);
    fake.assign(vec![(fake.topic_id("orders"), vec![0]), (unknown, vec![0])]);
    let kafka = connect(&fake).await;
    let warnings = Warnings::watch(&kafka);
    let run = Running::start(&kafka, kip848("unknown-id"), &["orders"]).await;
    run.wait_read(0, 3, Duration::from_secs(10)).await;
    let [metadata] = count(&[&fake], &[ApiKey::Metadata]).await[..] else {
        unreachable!()
    };
    run.stop().await;
    assert_paced(ApiKey::Metadata, metadata, MOST);
    let id = unknown.to_string();
    assert_eq!(
        warnings.naming(&[&id]),
        1,
        "one warning naming the unknown topic id: {:?}",
        warnings.all()
    );
}

/// An assignment names a partition without a leader next to one with a leader (no committed
/// offsets: both start where the reset policy says, which needs the leader): the one with a
/// leader is read at once, the other waits on its own, paced, with one warning naming it.
async fn a_leaderless_partition_holds_back_nothing(config: ConsumerConfig) {
    let fake = FakeBroker::start().await;
    fake.add_topic("orders", 2, fake.node_id);
    fake.set_leader("orders", 1, -1);
    fake.append("orders", 0, &["a", "b", "c"]);
    fake.assign(vec![(fake.topic_id("orders"), vec![0, 1])]);
    let kafka = connect(&fake).await;
    let warnings = Warnings::watch(&kafka);
    let run = Running::start(&kafka, config, &["orders"]).await;
    run.wait_read(0, 3, Duration::from_secs(10)).await;
    let counts = count(
        &[&fake],
        &[ApiKey::Metadata, ApiKey::ListOffsets, ApiKey::OffsetFetch],
    )
    .await;
    // The leader comes back: the partition is read from where the policy says.
    fake.append("orders", 1, &["x"]);
    fake.set_leader("orders", 1, fake.node_id);
    run.wait_read(1, 1, Duration::from_secs(10)).await;
    run.stop().await;
    assert_paced(ApiKey::Metadata, counts[0], MOST);
    assert_paced(ApiKey::ListOffsets, counts[1], MOST);
    assert_paced(ApiKey::OffsetFetch, counts[2], MOST);
    assert_eq!(
        warnings.naming(&["orders-1"]),
        1,
        "one warning naming the partition: {:?}",
        warnings.all()
    );
}

#[tokio::test]
async fn a_leaderless_partition_holds_back_nothing_kip848() {
    a_leaderless_partition_holds_back_nothing(kip848("leaderless-848")).await;
}

#[tokio::test]
async fn a_leaderless_partition_holds_back_nothing_classic() {
    a_leaderless_partition_holds_back_nothing(classic("leaderless-classic")).await;
}

// ---- every retry path is paced --------------------------------------------------------------

/// Every fetch of the partition answers OFFSET_OUT_OF_RANGE, and the reset finds an offset
/// that is out of range again: fetch and reset alternate, paced.
#[tokio::test]
async fn an_offset_out_of_range_that_resets_out_of_range_again_is_paced() {
    let fake = FakeBroker::start().await;
    fake.add_topic("orders", 1, fake.node_id);
    fake.append("orders", 0, &["a", "b", "c"]);
    fake.assign(vec![(fake.topic_id("orders"), vec![0])]);
    fake.script(|r| {
        if r.is(ApiKey::Fetch) {
            fetch_error(r, OFFSET_OUT_OF_RANGE)
        } else {
            Act::Answer
        }
    });
    let kafka = connect(&fake).await;
    let run = Running::start(&kafka, kip848("oor-again"), &["orders"]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let counts = count(&[&fake], &[ApiKey::Fetch, ApiKey::ListOffsets]).await;
    fake.behave();
    run.wait_read(0, 3, Duration::from_secs(10)).await;
    run.stop().await;
    assert_paced(ApiKey::Fetch, counts[0], MOST);
    assert_paced(ApiKey::ListOffsets, counts[1], MOST);
}

/// Every fetch answers OFFSET_OUT_OF_RANGE and every reset fails.
#[tokio::test]
async fn an_offset_out_of_range_whose_reset_keeps_failing_is_paced() {
    let fake = FakeBroker::start().await;
    fake.add_topic("orders", 1, fake.node_id);
    fake.append("orders", 0, &["a", "b", "c"]);
    fake.assign(vec![(fake.topic_id("orders"), vec![0])]);
    let kafka = connect(&fake).await;
    let run = Running::start(&kafka, kip848("oor-failing"), &["orders"]).await;
    run.wait_read(0, 3, Duration::from_secs(10)).await;
    fake.script(|r| {
        if r.is(ApiKey::Fetch) {
            fetch_error(r, OFFSET_OUT_OF_RANGE)
        } else if r.is(ApiKey::ListOffsets) {
            list_offsets_error(r, NOT_LEADER_OR_FOLLOWER)
        } else {
            Act::Answer
        }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let counts = count(
        &[&fake],
        &[ApiKey::Fetch, ApiKey::ListOffsets, ApiKey::Metadata],
    )
    .await;
    fake.behave();
    run.stop().await;
    assert_paced(ApiKey::Fetch, counts[0], MOST);
    assert_paced(ApiKey::ListOffsets, counts[1], MOST);
    assert_paced(ApiKey::Metadata, counts[2], MOST);
}

/// A broker that answers every fetch at once with nothing (no records, no error), whatever
/// max_wait says: successive fetches to it are paced.
#[tokio::test]
async fn fetch_answers_that_move_nothing_are_paced() {
    let fake = FakeBroker::start().await;
    fake.add_topic("orders", 1, fake.node_id);
    fake.append("orders", 0, &["a", "b", "c"]);
    fake.assign(vec![(fake.topic_id("orders"), vec![0])]);
    let kafka = connect(&fake).await;
    let run = Running::start(&kafka, kip848("empty-fetch"), &["orders"]).await;
    run.wait_read(0, 3, Duration::from_secs(10)).await;
    // Caught up: the good answer is empty, and sent without the long poll's wait.
    fake.script(|r| {
        if r.is(ApiKey::Fetch) {
            Act::Send(r.good())
        } else {
            Act::Answer
        }
    });
    let [fetches] = count(&[&fake], &[ApiKey::Fetch]).await[..] else {
        unreachable!()
    };
    fake.behave();
    // Still reads what comes.
    fake.append("orders", 0, &["d"]);
    run.wait_read(0, 4, Duration::from_secs(10)).await;
    run.stop().await;
    assert_paced(ApiKey::Fetch, fetches, MOST);
}

/// A well-behaved broker's long poll is not slowed down: a caught-up consumer with max_wait
/// 200 ms sends about five fetches a second, not fewer.
#[tokio::test]
async fn a_long_poll_is_not_paced() {
    let fake = FakeBroker::start().await;
    fake.add_topic("orders", 1, fake.node_id);
    fake.assign(vec![(fake.topic_id("orders"), vec![0])]);
    let kafka = connect(&fake).await;
    let config = kip848("long-poll").max_wait(Duration::from_millis(200));
    let run = Running::start(&kafka, config, &["orders"]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let [fetches] = count(&[&fake], &[ApiKey::Fetch]).await[..] else {
        unreachable!()
    };
    fake.append("orders", 0, &["a"]);
    run.wait_read(0, 1, Duration::from_secs(5)).await;
    run.stop().await;
    eprintln!("Fetch: {fetches} long polls in {WINDOW:?}");
    assert!(
        (10..=16).contains(&fetches),
        "{fetches} long polls of 200 ms in {WINDOW:?}"
    );
}

/// The coordinator fences the member after every join, answers every ConsumerGroupHeartbeat
/// with a retriable error, or says it is not the coordinator (then FindCoordinator goes out
/// too), or FindCoordinator itself fails.
#[tokio::test]
async fn kip848_coordinator_errors_are_paced() {
    let fake = FakeBroker::start().await;
    fake.add_topic("orders", 1, fake.node_id);
    let kafka = connect(&fake).await;
    fake.assign(vec![(fake.topic_id("orders"), vec![0])]);
    let consumer = kafka.consumer(kip848("coordinator-errors")).unwrap();
    consumer.subscribe(&["orders"], true).await.unwrap();
    let run = Running::run(consumer);
    // Fenced after every join: each join is answered, each heartbeat after it fenced.
    fake.script(|r| {
        if r.is(ApiKey::ConsumerGroupHeartbeat)
            && r.decode::<ConsumerGroupHeartbeatRequest>().member_epoch > 0
        {
            heartbeat_error(r, FENCED_MEMBER_EPOCH)
        } else {
            Act::Answer
        }
    });
    let [fenced] = count(&[&fake], &[ApiKey::ConsumerGroupHeartbeat]).await[..] else {
        unreachable!()
    };
    assert_paced(ApiKey::ConsumerGroupHeartbeat, fenced, MOST_HEARTBEATS);
    for code in [COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR] {
        fake.script(move |r| {
            if r.is(ApiKey::ConsumerGroupHeartbeat) {
                heartbeat_error(r, code)
            } else {
                Act::Answer
            }
        });
        let counts = count(
            &[&fake],
            &[ApiKey::ConsumerGroupHeartbeat, ApiKey::FindCoordinator],
        )
        .await;
        eprintln!("heartbeat error {code}");
        assert_paced(ApiKey::ConsumerGroupHeartbeat, counts[0], MOST_HEARTBEATS);
        assert_paced(ApiKey::FindCoordinator, counts[1], MOST);
    }
    fake.script(|r| {
        if r.is(ApiKey::ConsumerGroupHeartbeat) {
            heartbeat_error(r, NOT_COORDINATOR)
        } else if r.is(ApiKey::FindCoordinator) {
            find_coordinator_error(r, COORDINATOR_NOT_AVAILABLE)
        } else {
            Act::Answer
        }
    });
    let [finds] = count(&[&fake], &[ApiKey::FindCoordinator]).await[..] else {
        unreachable!()
    };
    fake.behave();
    run.stop().await;
    assert_paced(ApiKey::FindCoordinator, finds, MOST);
}

/// Classic: every JoinGroup answered UNKNOWN_MEMBER_ID (the member rejoins without an id, and
/// is refused again), then every heartbeat answered with a retriable error (the heartbeat
/// interval is 100 ms: without a backoff, 30 would go out).
#[tokio::test]
async fn classic_coordinator_errors_are_paced() {
    let fake = FakeBroker::start().await;
    fake.add_topic("orders", 1, fake.node_id);
    let kafka = connect(&fake).await;
    fake.script(|r| {
        if r.is(ApiKey::JoinGroup) {
            join_group_error(r, UNKNOWN_MEMBER_ID)
        } else {
            Act::Answer
        }
    });
    let config = classic("classic-errors").heartbeat_interval(Duration::from_millis(100));
    let consumer = kafka.consumer(config).unwrap();
    let subscribe = {
        let consumer = consumer.clone();
        tokio::spawn(async move { consumer.subscribe(&["orders"], true).await })
    };
    let [joins] = count(&[&fake], &[ApiKey::JoinGroup]).await[..] else {
        unreachable!()
    };
    assert_paced(ApiKey::JoinGroup, joins, MOST);
    fake.behave();
    subscribe.await.unwrap().unwrap();
    let run = Running::run(consumer);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while run.consumer.group_metadata().generation_id < 1 {
        assert!(tokio::time::Instant::now() < deadline, "never joined");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    fake.script(|r| {
        if r.is(ApiKey::Heartbeat) {
            let mut resp = HeartbeatResponse::default();
            resp.error_code = COORDINATOR_LOAD_IN_PROGRESS;
            Act::Send(frame::<HeartbeatRequest>(
                r.correlation_id,
                r.version,
                &resp,
            ))
        } else {
            Act::Answer
        }
    });
    let [heartbeats] = count(&[&fake], &[ApiKey::Heartbeat]).await[..] else {
        unreachable!()
    };
    fake.behave();
    run.stop().await;
    assert_paced(ApiKey::Heartbeat, heartbeats, MOST_HEARTBEATS);
}

/// Every OffsetCommit answered with a retriable error while auto-commit is due every 50 ms.
#[tokio::test]
async fn offset_commit_errors_are_paced() {
    let fake = FakeBroker::start().await;
    fake.add_topic("orders", 1, fake.node_id);
    fake.assign(vec![(fake.topic_id("orders"), vec![0])]);
    let kafka = connect(&fake).await;
    let mut config = kip848("commit-errors");
    config.auto_commit_interval = Duration::from_millis(50);
    let run = Running::start(&kafka, config, &["orders"]).await;
    fake.script(|r| {
        if r.is(ApiKey::OffsetCommit) {
            offset_commit_error(r, COORDINATOR_LOAD_IN_PROGRESS)
        } else {
            Act::Answer
        }
    });
    // Records keep coming, so there is always something to commit.
    let before = fake.seen(ApiKey::OffsetCommit);
    let started = tokio::time::Instant::now();
    while started.elapsed() < WINDOW {
        fake.append("orders", 0, &["r"]);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let commits = fake.seen(ApiKey::OffsetCommit) - before;
    fake.behave();
    run.stop().await;
    assert_paced(ApiKey::OffsetCommit, commits, MOST);
}

// ---- the share consumer ---------------------------------------------------------------------

async fn share_running(
    kafka: &Kafka,
    group: &str,
) -> (
    kafkit::share::ShareConsumer,
    tokio::task::JoinHandle<kafkit::Result<()>>,
) {
    let consumer = kafka
        .share_consumer(ShareConsumerConfig::new(group))
        .unwrap();
    let subscribe = {
        let consumer = consumer.clone();
        tokio::spawn(async move { consumer.subscribe(&["orders"]).await })
    };
    let task = {
        let consumer = consumer.clone();
        tokio::spawn(async move {
            let _ = subscribe.await;
            consumer.run_each_message(|_| async { Ok(()) }).await
        })
    };
    (consumer, task)
}

async fn share_stop(
    consumer: kafkit::share::ShareConsumer,
    task: tokio::task::JoinHandle<kafkit::Result<()>>,
) {
    tokio::time::timeout(Duration::from_secs(10), consumer.close())
        .await
        .expect("close hangs")
        .unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("run does not return after close");
}

/// ShareGroupHeartbeat fenced after every join, then answered with a retriable error, then
/// every ShareFetch failing as a whole, then every ShareFetch answered at once with nothing, then an assignment naming a
/// topic id metadata does not know.
#[tokio::test]
async fn share_consumer_retries_are_paced() {
    let fake = FakeBroker::start().await;
    fake.add_topic("orders", 1, fake.node_id);
    fake.assign(vec![(fake.topic_id("orders"), vec![0])]);
    let kafka = connect(&fake).await;
    let (consumer, task) = share_running(&kafka, "share-pacing").await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Fenced after every join.
    fake.script(|r| {
        if r.is(ApiKey::ShareGroupHeartbeat)
            && r.decode::<ShareGroupHeartbeatRequest>().member_epoch > 0
        {
            share_heartbeat_error(r, FENCED_MEMBER_EPOCH)
        } else {
            Act::Answer
        }
    });
    let [fenced] = count(&[&fake], &[ApiKey::ShareGroupHeartbeat]).await[..] else {
        unreachable!()
    };
    assert_paced(ApiKey::ShareGroupHeartbeat, fenced, MOST_HEARTBEATS);

    fake.script(|r| {
        if r.is(ApiKey::ShareGroupHeartbeat) {
            share_heartbeat_error(r, COORDINATOR_LOAD_IN_PROGRESS)
        } else {
            Act::Answer
        }
    });
    let [heartbeats] = count(&[&fake], &[ApiKey::ShareGroupHeartbeat]).await[..] else {
        unreachable!()
    };
    assert_paced(ApiKey::ShareGroupHeartbeat, heartbeats, MOST_HEARTBEATS);

    fake.script(|r| {
        if r.is(ApiKey::ShareFetch) {
            share_fetch_error(r, UNKNOWN_SERVER_ERROR)
        } else {
            Act::Answer
        }
    });
    let [failed] = count(&[&fake], &[ApiKey::ShareFetch]).await[..] else {
        unreachable!()
    };
    assert_paced(ApiKey::ShareFetch, failed, MOST);

    fake.script(|r| {
        if r.is(ApiKey::ShareFetch) {
            Act::Send(r.good())
        } else {
            Act::Answer
        }
    });
    let [empty] = count(&[&fake], &[ApiKey::ShareFetch]).await[..] else {
        unreachable!()
    };
    assert_paced(ApiKey::ShareFetch, empty, MOST);

    fake.behave();
    fake.assign(vec![
        (fake.topic_id("orders"), vec![0]),
        (Uuid::from_u128(0x5ba4), vec![0]),
    ]);
    let [metadata] = count(&[&fake], &[ApiKey::Metadata]).await[..] else {
        unreachable!()
    };
    assert_paced(ApiKey::Metadata, metadata, MOST);
    share_stop(consumer, task).await;
}

/// A share assignment names a topic id metadata does not know next to a valid partition: the
/// valid one is taken (and fetched) at once, the id is looked up at a paced rate, and the
/// user is warned once.
#[tokio::test]
async fn an_unknown_topic_id_holds_back_nothing_in_a_share_group() {
    let fake = FakeBroker::start().await;
    fake.add_topic("orders", 1, fake.node_id);
    let unknown = Uuid::from_u128(0x5ba5);
    fake.assign(vec![(fake.topic_id("orders"), vec![0]), (unknown, vec![0])]);
    let kafka = connect(&fake).await;
    let warnings = Warnings::watch(&kafka);
    let (consumer, task) = share_running(&kafka, "share-unknown-id").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let assigned = consumer.assignment().await.unwrap();
        if assigned == vec![kafkit::TopicPartition::new("orders", 0)] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the valid partition was not taken: {assigned:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let counts = count(&[&fake], &[ApiKey::Metadata, ApiKey::ShareFetch]).await;
    share_stop(consumer, task).await;
    assert_paced(ApiKey::Metadata, counts[0], MOST);
    assert!(counts[1] > 0, "the valid partition is fetched");
    assert_eq!(
        warnings.naming(&[&unknown.to_string()]),
        1,
        "one warning naming the unknown topic id: {:?}",
        warnings.all()
    );
}
