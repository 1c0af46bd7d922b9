//! The classic group protocol against the real broker: kafkit members with each built-in
//! assignor, a mixed Java + kafkit classic group, live migration to KIP-848 and back (with
//! kafkit and with Java classic members), and the fallback for brokers without KIP-848.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafkit::consumer::{Consumer, ConsumerConfig, GroupProtocol, RebalanceKind};
use kafkit::producer::{ProducerConfig, Record};
use kafkit::{Kafka, TopicPartition};

/// (partition, offset) of every record a member handled.
type Seen = Arc<Mutex<Vec<(i32, i64)>>>;

fn classic(group: &str, assignor: &str) -> ConsumerConfig {
    ConsumerConfig::new(group)
        .group_protocol(GroupProtocol::Classic)
        .partition_assigners([assignor])
        .session_timeout(Duration::from_secs(10))
        .heartbeat_interval(Duration::from_millis(500))
        .rebalance_timeout(Duration::from_secs(20))
        .max_wait(Duration::from_millis(200))
}

fn kip848(group: &str) -> ConsumerConfig {
    ConsumerConfig::new(group)
        .group_protocol(GroupProtocol::Consumer)
        .max_wait(Duration::from_millis(200))
}

async fn start(kafka: &Kafka, config: ConsumerConfig, topic: &str, seen: Seen) -> Consumer {
    let c = kafka.consumer(config).expect("consumer");
    c.subscribe(&[topic], true).await.expect("subscribe");
    let c2 = c.clone();
    tokio::spawn(async move {
        c2.run_each_message(move |m| {
            let s = seen.clone();
            async move {
                s.lock().unwrap().push((m.partition, m.offset));
                Ok(())
            }
        })
        .await
    });
    c
}

async fn owned(c: &Consumer) -> BTreeSet<i32> {
    c.assignment()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|tp| tp.partition)
        .collect()
}

/// Whether the sets are non-empty, disjoint and cover `0..n`.
fn splits(sets: &[BTreeSet<i32>], n: i32) -> bool {
    let mut all = BTreeSet::new();
    for s in sets {
        if s.is_empty() || !s.is_disjoint(&all) {
            return false;
        }
        all.extend(s.iter().copied());
    }
    all == (0..n).collect()
}

async fn kafkit_sets(members: &[Consumer]) -> Vec<BTreeSet<i32>> {
    let mut v = Vec::new();
    for m in members {
        v.push(owned(m).await);
    }
    v
}

fn assert_once(seen: &[&Seen], expected: usize) {
    let mut count: BTreeMap<(i32, i64), usize> = BTreeMap::new();
    for s in seen {
        for r in s.lock().unwrap().iter() {
            *count.entry(*r).or_default() += 1;
        }
    }
    let twice: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    if let Some(((p, o), _)) = twice.first() {
        let who: Vec<usize> = seen
            .iter()
            .enumerate()
            .filter(|(_, s)| s.lock().unwrap().contains(&(*p, *o)))
            .map(|(i, _)| i)
            .collect();
        panic!(
            "{} records processed twice, from {p}-{o} to {:?}, by members {who:?} (in start order)",
            twice.len(),
            twice.last().map(|x| x.0)
        );
    }
    assert_eq!(count.len(), expected, "records processed");
}

/// A Java kafka-clients member (`JavaPeer member`), reporting what it owns and reads.
struct JavaMember {
    child: std::process::Child,
    own: Arc<Mutex<BTreeSet<i32>>>,
    seen: Seen,
    done: Arc<AtomicBool>,
}

impl JavaMember {
    fn start(topic: &str, group: &str, protocol: &str, assignor: &str) -> JavaMember {
        let mut child = common::java_peer(&[
            "member",
            &common::bootstrap(),
            topic,
            group,
            protocol,
            assignor,
        ])
        .env("KAFKIT_PEER_RESET", "earliest")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("java (install a JDK 17+)");
        let stdout = child.stdout.take().unwrap();
        let own: Arc<Mutex<BTreeSet<i32>>> = Arc::default();
        let seen: Seen = Arc::default();
        let done = Arc::new(AtomicBool::new(false));
        let (o, s, d) = (own.clone(), seen.clone(), done.clone());
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(|l| l.ok())
            {
                let mut f = line.split(' ');
                match f.next() {
                    Some("OWN") => {
                        *o.lock().unwrap() = f
                            .next()
                            .unwrap_or("")
                            .split(',')
                            .filter_map(|p| p.parse().ok())
                            .collect()
                    }
                    Some("REC") => {
                        let v: Vec<i64> = f.filter_map(|x| x.parse().ok()).collect();
                        if v.len() == 3 {
                            s.lock().unwrap().push((v[1] as i32, v[2]));
                        }
                    }
                    Some("DONE") => d.store(true, Ordering::SeqCst),
                    _ => {}
                }
            }
        });
        JavaMember {
            child,
            own,
            seen,
            done,
        }
    }

    fn own(&self) -> BTreeSet<i32> {
        self.own.lock().unwrap().clone()
    }

    /// Closes the consumer gracefully (it commits and leaves) and waits for the process.
    fn stop(mut self) -> Seen {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
        assert!(self.done.load(Ordering::SeqCst) || self.child.try_wait().is_ok());
        self.seen.clone()
    }
}

impl Drop for JavaMember {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn classic_members_split_the_partitions_and_hand_over_without_duplicates() {
    common::init_tracing();
    let kafka = common::connect().await;
    for assignor in ["roundrobin", "range", "cooperative-sticky"] {
        let topic = common::topic(&kafka, "cl-split", 6).await;
        let group = common::unique("g-cl-split");
        let seen: Vec<Seen> = (0..3).map(|_| Seen::default()).collect();
        let mut members = Vec::new();
        for s in &seen {
            members.push(start(&kafka, classic(&group, assignor), &topic, s.clone()).await);
        }
        common::eventually(
            Duration::from_secs(40),
            "three members split 6 partitions",
            || {
                let m = members.clone();
                async move { splits(&kafkit_sets(&m).await, 6) }
            },
        )
        .await;
        let md = members[0].group_metadata();
        assert!(md.generation_id > 0, "{assignor}: generation {md:?}");
        assert!(
            !md.member_id.is_empty(),
            "{assignor}: the coordinator's member id"
        );
        common::produce(&kafka, &topic, 300).await;
        common::eventually(Duration::from_secs(30), "300 records consumed", || {
            let n: usize = seen.iter().map(|s| s.lock().unwrap().len()).sum();
            async move { n >= 300 }
        })
        .await;
        members.remove(0).stop().await.unwrap();
        common::produce(&kafka, &topic, 300).await;
        common::eventually(Duration::from_secs(40), "600 records consumed", || {
            let n: usize = seen.iter().map(|s| s.lock().unwrap().len()).sum();
            async move { n >= 600 }
        })
        .await;
        common::eventually(
            Duration::from_secs(30),
            "two members split 6 partitions",
            || {
                let m = members.clone();
                async move { splits(&kafkit_sets(&m).await, 6) }
            },
        )
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_once(&seen.iter().collect::<Vec<_>>(), 600);
        for m in members {
            m.stop().await.unwrap();
        }
    }
}

#[tokio::test]
async fn cooperative_sticky_revokes_only_the_partitions_that_move() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cl-coop", 6).await;
    let group = common::unique("g-cl-coop");
    let revoked: Arc<Mutex<Vec<Vec<TopicPartition>>>> = Arc::default();
    let mut members = Vec::new();
    for _ in 0..2 {
        let c = kafka
            .consumer(classic(&group, "cooperative-sticky"))
            .unwrap();
        let r = revoked.clone();
        c.on_partitions_revoked(Arc::new(move |kind, tps| {
            let r = r.clone();
            Box::pin(async move {
                assert_eq!(kind, RebalanceKind::Revoked);
                r.lock().unwrap().push(tps);
                Ok(())
            })
        }));
        c.subscribe(&[&topic], true).await.unwrap();
        let c2 = c.clone();
        tokio::spawn(async move { c2.run_each_message(|_| async { Ok(()) }).await });
        members.push(c);
    }
    common::eventually(Duration::from_secs(40), "two members split", || {
        let m = members.clone();
        async move { splits(&kafkit_sets(&m).await, 6) }
    })
    .await;
    let before = kafkit_sets(&members).await;
    revoked.lock().unwrap().clear();
    let third = start(
        &kafka,
        classic(&group, "cooperative-sticky"),
        &topic,
        Seen::default(),
    )
    .await;
    members.push(third);
    common::eventually(Duration::from_secs(40), "three members split", || {
        let m = members.clone();
        async move { splits(&kafkit_sets(&m).await, 6) }
    })
    .await;
    let after = kafkit_sets(&members).await;
    // Each of the first two kept two of its three partitions and gave up exactly one.
    for i in 0..2 {
        assert_eq!(after[i].len(), 2, "{after:?}");
        assert!(after[i].is_subset(&before[i]), "{before:?} -> {after:?}");
    }
    let revoked: Vec<TopicPartition> = revoked.lock().unwrap().concat();
    assert_eq!(
        revoked.len(),
        2,
        "only the moved partitions were revoked: {revoked:?}"
    );
    for m in members {
        m.stop().await.unwrap();
    }
}

#[tokio::test]
async fn java_and_kafkit_classic_members_share_a_group() {
    common::init_tracing();
    let kafka = common::connect().await;
    for assignor in ["range", "cooperative-sticky", "roundrobin"] {
        let topic = common::topic(&kafka, "cl-java", 6).await;
        let group = common::unique("g-cl-java");
        let java = JavaMember::start(&topic, &group, "classic", assignor);
        let k = start(&kafka, classic(&group, assignor), &topic, Seen::default()).await;
        common::eventually(
            Duration::from_secs(60),
            &format!("{assignor}: Java and kafkit split the partitions"),
            || {
                let j = java.own();
                let k = k.clone();
                async move { splits(&[j, owned(&k).await], 6) }
            },
        )
        .await;
        common::produce(&kafka, &topic, 200).await;
        k.stop().await.unwrap();
        common::eventually(Duration::from_secs(40), "Java takes all", || {
            let j = java.own();
            async move { j.len() == 6 }
        })
        .await;
        java.stop();
    }
}

/// Produces a record every few milliseconds until told to stop; returns how many.
fn spawn_producer(
    kafka: &Kafka,
    topic: &str,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<usize> {
    let producer = kafka.producer(ProducerConfig::default()).expect("producer");
    let topic = topic.to_string();
    tokio::spawn(async move {
        let mut n = 0usize;
        while !stop.load(Ordering::SeqCst) {
            let mut acks = Vec::new();
            for _ in 0..10 {
                acks.push(
                    producer
                        .send(Record::new(&topic, format!("r{n}").as_bytes()))
                        .await
                        .expect("send"),
                );
                n += 1;
            }
            for a in acks {
                a.await.expect("ack");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        producer.close().await.expect("close");
        n
    })
}

async fn group_type(kafka: &Kafka, group: &str) -> String {
    kafka
        .admin()
        .list_groups(&[], &[])
        .await
        .unwrap_or_default()
        .into_iter()
        .find(|g| g.group_id == group)
        .map(|g| g.group_type)
        .unwrap_or_default()
}

#[tokio::test]
async fn a_kafkit_group_rolls_from_classic_to_consumer_and_back_with_every_record_once() {
    if common::needs_kafka4("KIP-848 consumer groups, to migrate to").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cl-roll", 6).await;
    let group = common::unique("g-cl-roll");
    let stop = Arc::new(AtomicBool::new(false));
    let producer = spawn_producer(&kafka, &topic, stop.clone());
    let mut seen: Vec<Seen> = Vec::new();
    let mut members = Vec::new();
    for _ in 0..3 {
        let s = Seen::default();
        members.push(
            start(
                &kafka,
                classic(&group, "cooperative-sticky"),
                &topic,
                s.clone(),
            )
            .await,
        );
        seen.push(s);
    }
    common::eventually(Duration::from_secs(40), "classic members split", || {
        let m = members.clone();
        async move { splits(&kafkit_sets(&m).await, 6) }
    })
    .await;
    assert_eq!(group_type(&kafka, &group).await, "classic");
    // Upgrade, one member at a time; then downgrade the same way.
    for (phase, to) in [
        ("upgrade", GroupProtocol::Consumer),
        ("downgrade", GroupProtocol::Classic),
    ] {
        for i in 0..3 {
            members[i].stop().await.unwrap();
            let s = Seen::default();
            let config = match to {
                GroupProtocol::Consumer => kip848(&group),
                GroupProtocol::Classic => classic(&group, "cooperative-sticky"),
            };
            members[i] = start(&kafka, config, &topic, s.clone()).await;
            seen.push(s);
            common::eventually(
                Duration::from_secs(60),
                &format!("{phase} {i}: the group splits again"),
                || {
                    let m = members.clone();
                    async move { splits(&kafkit_sets(&m).await, 6) }
                },
            )
            .await;
        }
        let want = if phase == "upgrade" {
            "consumer"
        } else {
            "classic"
        };
        common::eventually(
            Duration::from_secs(30),
            &format!("the group is a {want} group"),
            || {
                let (k, g) = (kafka.clone(), group.clone());
                async move { group_type(&k, &g).await == want }
            },
        )
        .await;
    }
    stop.store(true, Ordering::SeqCst);
    let produced = producer.await.unwrap();
    common::eventually(Duration::from_secs(60), "every record consumed", || {
        let mut all = BTreeSet::new();
        for s in &seen {
            all.extend(s.lock().unwrap().iter().copied());
        }
        async move { all.len() >= produced }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_once(&seen.iter().collect::<Vec<_>>(), produced);
    for m in members {
        m.stop().await.unwrap();
    }
}

#[tokio::test]
async fn java_classic_members_stay_while_kafkit_members_migrate_and_back() {
    if common::needs_kafka4("KIP-848 consumer groups, to migrate to").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    for assignor in ["range", "cooperative-sticky"] {
        let topic = common::topic(&kafka, "cl-mixroll", 6).await;
        let group = common::unique("g-cl-mixroll");
        let stop = Arc::new(AtomicBool::new(false));
        let producer = spawn_producer(&kafka, &topic, stop.clone());
        let java = JavaMember::start(&topic, &group, "classic", assignor);
        let mut seen: Vec<Seen> = Vec::new();
        let mut members = Vec::new();
        for _ in 0..2 {
            let s = Seen::default();
            members.push(start(&kafka, classic(&group, assignor), &topic, s.clone()).await);
            seen.push(s);
        }
        let all_split = |members: Vec<Consumer>, j: BTreeSet<i32>| async move {
            let mut sets = kafkit_sets(&members).await;
            sets.push(j);
            splits(&sets, 6)
        };
        common::eventually(
            Duration::from_secs(60),
            &format!("{assignor}: the mixed classic group splits"),
            || all_split(members.clone(), java.own()),
        )
        .await;
        for i in 0..2 {
            members[i].stop().await.unwrap();
            let s = Seen::default();
            members[i] = start(&kafka, kip848(&group), &topic, s.clone()).await;
            seen.push(s);
            common::eventually(
                Duration::from_secs(60),
                &format!("{assignor}: member {i} upgraded, the group splits"),
                || all_split(members.clone(), java.own()),
            )
            .await;
        }
        assert_eq!(group_type(&kafka, &group).await, "consumer");
        // The upgrade: every record once, across Java and kafkit members.
        stop.store(true, Ordering::SeqCst);
        let produced = producer.await.unwrap();
        let jseen = java.seen.clone();
        let everyone = |seen: &Vec<Seen>| -> Vec<Seen> {
            seen.iter()
                .cloned()
                .chain(std::iter::once(jseen.clone()))
                .collect()
        };
        wait_consumed(&everyone(&seen), produced).await;
        assert_once(&everyone(&seen).iter().collect::<Vec<_>>(), produced);

        // And back: once the last KIP-848 member leaves, the broker converts the group back.
        for s in everyone(&seen) {
            s.lock().unwrap().clear();
        }
        let stop = Arc::new(AtomicBool::new(false));
        let producer = spawn_producer(&kafka, &topic, stop.clone());
        for i in 0..2 {
            members[i].stop().await.unwrap();
            let s = Seen::default();
            members[i] = start(&kafka, classic(&group, assignor), &topic, s.clone()).await;
            seen.push(s);
            common::eventually(
                Duration::from_secs(60),
                &format!("{assignor}: member {i} downgraded, the group splits"),
                || all_split(members.clone(), java.own()),
            )
            .await;
        }
        common::eventually(Duration::from_secs(30), "a classic group again", || {
            let (k, g) = (kafka.clone(), group.clone());
            async move { group_type(&k, &g).await == "classic" }
        })
        .await;
        stop.store(true, Ordering::SeqCst);
        let more = producer.await.unwrap();
        // Nothing lost. The conversion back fences the Java classic member's generation: Java
        // drops its partitions as lost and the next owner reads on from Java's last
        // auto-commit (at least once, the Java client's behaviour). kafkit's members still
        // process nothing twice among themselves.
        wait_consumed(&everyone(&seen), more).await;
        for m in members {
            m.stop().await.unwrap();
        }
        java.stop();
        assert_once(&seen.iter().collect::<Vec<_>>(), count_distinct(&seen));
    }
}

/// Waits until the members together have seen `n` distinct records.
async fn wait_consumed(seen: &[Seen], n: usize) {
    common::eventually(Duration::from_secs(60), "every record consumed", || {
        let d = count_distinct(seen);
        async move { d >= n }
    })
    .await;
}

fn count_distinct(seen: &[Seen]) -> usize {
    let mut all = BTreeSet::new();
    for s in seen {
        all.extend(s.lock().unwrap().iter().copied());
    }
    all.len()
}

#[tokio::test]
async fn the_leader_rebalances_when_partitions_are_added() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cl-grow", 2).await;
    let group = common::unique("g-cl-grow");
    let a = start(&kafka, classic(&group, "range"), &topic, Seen::default()).await;
    let b = start(&kafka, classic(&group, "range"), &topic, Seen::default()).await;
    common::eventually(Duration::from_secs(40), "two partitions split", || {
        let m = vec![a.clone(), b.clone()];
        async move { splits(&kafkit_sets(&m).await, 2) }
    })
    .await;
    kafka.admin().create_partitions(&topic, 4).await.unwrap();
    common::eventually(Duration::from_secs(40), "four partitions split", || {
        let m = vec![a.clone(), b.clone()];
        async move { splits(&kafkit_sets(&m).await, 4) }
    })
    .await;
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn fallback_to_classic_on_a_broker_without_kip848_is_opt_in() {
    common::init_tracing();
    let bootstrap =
        std::env::var("KAFKIT_CLASSIC_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:19092".into());
    let kafka = Kafka::connect(kafkit::KafkaConfig::new([bootstrap]))
        .await
        .expect("start the classic-only broker with `scripts/kafka up --profile classic`");
    let topic = common::topic(&kafka, "cl-fallback", 3).await;
    let group = common::unique("g-cl-fallback");
    // Without the option: the clear error.
    let strict = kafka.consumer(kip848(&group)).unwrap();
    let e = strict
        .subscribe(&[&topic], true)
        .await
        .expect_err("no KIP-848 here");
    assert!(e.to_string().contains("classic"), "{e}");
    // With it: a warning, then a working classic member.
    let mut events = kafka.events();
    let seen = Seen::default();
    let c = start(
        &kafka,
        kip848(&group).fallback_to_classic(true),
        &topic,
        seen.clone(),
    )
    .await;
    common::produce(&kafka, &topic, 30).await;
    common::eventually(
        Duration::from_secs(40),
        "30 records consumed after the fallback",
        || {
            let n = seen.lock().unwrap().len();
            async move { n >= 30 }
        },
    )
    .await;
    let mut warned = false;
    while let Ok(ev) = events.try_recv() {
        if let kafkit::Event::Warning { message } = ev {
            warned |= message.contains("falling back to the classic group protocol");
        }
    }
    assert!(warned, "a warning says the consumer fell back");
    assert_eq!(owned(&c).await, (0..3).collect());
    c.stop().await.unwrap();
    let _ = std::io::stdout().flush();
}

/// Gives every partition to the first member (by id) whose subscription carries its user data.
#[derive(Debug)]
struct TakeAll;

impl kafkit::consumer::assignor::PartitionAssigner for TakeAll {
    fn name(&self) -> &str {
        "take-all"
    }

    fn user_data(&self, _owned: &[TopicPartition], _generation: i32) -> Option<bytes::Bytes> {
        Some(bytes::Bytes::from_static(b"take-all"))
    }

    fn assign(
        &self,
        members: &[kafkit::consumer::assignor::GroupMember],
        partitions: &BTreeMap<String, i32>,
    ) -> kafkit::Result<BTreeMap<String, kafkit::consumer::assignor::MemberAssignment>> {
        let mut ids: Vec<&str> = members
            .iter()
            .filter(|m| m.user_data.as_deref() == Some(&b"take-all"[..]))
            .map(|m| m.member_id.as_str())
            .collect();
        ids.sort();
        let mut out: BTreeMap<String, kafkit::consumer::assignor::MemberAssignment> = members
            .iter()
            .map(|m| (m.member_id.clone(), Default::default()))
            .collect();
        let first = out.get_mut(ids[0]).expect("a member");
        for (t, n) in partitions {
            first
                .partitions
                .extend((0..*n).map(|p| TopicPartition::new(t.clone(), p)));
        }
        Ok(out)
    }
}

#[tokio::test]
async fn a_custom_assigner_decides_the_split() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cl-custom", 4).await;
    let group = common::unique("g-cl-custom");
    let cfg = || classic(&group, "take-all").partition_assigner(Arc::new(TakeAll));
    let a = start(&kafka, cfg(), &topic, Seen::default()).await;
    let b = start(&kafka, cfg(), &topic, Seen::default()).await;
    common::eventually(Duration::from_secs(40), "one member holds all four", || {
        let (a, b) = (a.clone(), b.clone());
        async move {
            let (x, y) = (owned(&a).await, owned(&b).await);
            (x.len() == 4 && y.is_empty()) || (y.len() == 4 && x.is_empty())
        }
    })
    .await;
    // The admin view decodes the classic members' subscriptions and assignments.
    common::eventually(Duration::from_secs(30), "a stable group of two", || {
        let (k, g) = (kafka.clone(), group.clone());
        async move {
            k.admin()
                .describe_groups(&[&g])
                .await
                .is_ok_and(|d| d[0].state == "Stable" && d[0].members.len() == 2)
        }
    })
    .await;
    let d = kafka.admin().describe_groups(&[&group]).await.unwrap();
    let mut sizes: Vec<usize> = d[0].members.iter().map(|m| m.assignment.len()).collect();
    sizes.sort();
    assert_eq!(
        sizes,
        vec![0, 4],
        "the custom assigner gave one member everything"
    );
    assert_eq!(d[0].kind, kafkit::admin::GroupKind::Classic);
    assert_eq!(d[0].assignor, "take-all");
    assert_eq!(d[0].members.len(), 2);
    let assigned: usize = d[0].members.iter().map(|m| m.assignment.len()).sum();
    assert_eq!(assigned, 4, "{:?}", d[0].members);
    assert!(d[0]
        .members
        .iter()
        .all(|m| m.subscribed_topics == vec![topic.clone()]));
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn a_static_member_that_comes_back_in_time_keeps_its_partitions() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cl-static", 4).await;
    let group = common::unique("g-cl-static");
    let cfg = |id: &str| classic(&group, "range").instance_id(id);
    let a = start(&kafka, cfg("static-a"), &topic, Seen::default()).await;
    let b = start(&kafka, cfg("static-b"), &topic, Seen::default()).await;
    common::eventually(Duration::from_secs(40), "two static members split", || {
        let m = vec![a.clone(), b.clone()];
        async move { splits(&kafkit_sets(&m).await, 4) }
    })
    .await;
    let before = owned(&a).await;
    let b_before = owned(&b).await;
    // A static member does not send LeaveGroup: its place waits for it (session 10 s).
    a.stop().await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(owned(&b).await, b_before, "no rebalance while a is away");
    let a2 = start(&kafka, cfg("static-a"), &topic, Seen::default()).await;
    common::eventually(
        Duration::from_secs(20),
        "a is back with its partitions",
        || {
            let (a2, before) = (a2.clone(), before.clone());
            async move { owned(&a2).await == before }
        },
    )
    .await;
    assert_eq!(
        owned(&b).await,
        b_before,
        "b kept its partitions throughout"
    );
    a2.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn a_slow_handler_does_not_cost_the_member_its_place() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cl-slow", 2).await;
    let group = common::unique("g-cl-slow");
    let c = kafka
        .consumer(
            classic(&group, "range")
                .session_timeout(Duration::from_secs(3))
                .heartbeat_interval(Duration::from_millis(300)),
        )
        .unwrap();
    let lost = Arc::new(AtomicBool::new(false));
    let l = lost.clone();
    c.on_partitions_lost(Arc::new(move |_, _| {
        l.store(true, Ordering::SeqCst);
        Box::pin(async { Ok(()) })
    }));
    c.subscribe(&[&topic], true).await.unwrap();
    let slow_done = Arc::new(AtomicBool::new(false));
    let (c2, d2) = (c.clone(), slow_done.clone());
    tokio::spawn(async move {
        c2.run_each_message(move |_| {
            let d = d2.clone();
            async move {
                if !d.swap(true, Ordering::SeqCst) {
                    // Three session timeouts long: only heartbeats keep the member in.
                    tokio::time::sleep(Duration::from_secs(9)).await;
                }
                Ok(())
            }
        })
        .await
    });
    common::eventually(Duration::from_secs(30), "both partitions", || async {
        owned(&c).await.len() == 2
    })
    .await;
    let generation = c.group_metadata().generation_id;
    common::produce(&kafka, &topic, 5).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(
        !lost.load(Ordering::SeqCst),
        "the member lost its partitions"
    );
    assert_eq!(c.group_metadata().generation_id, generation, "no rebalance");
    assert_eq!(owned(&c).await.len(), 2);
    c.stop().await.unwrap();
}
