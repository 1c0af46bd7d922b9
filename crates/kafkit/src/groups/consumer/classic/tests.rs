//! The classic state machine driven by hand: the join handshake, leader work, eager and
//! cooperative rebalances, and the errors that drop the generation.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::protocol::messages::join_group_response::JoinGroupResponseMember;
use crate::protocol::messages::{HeartbeatResponse, JoinGroupResponse, SyncGroupResponse};

use super::assignor::{CooperativeStickyAssigner, MemberAssignment, RoundRobinAssigner};
use super::wire::{encode_assignment, encode_subscription, MemberSubscription};
use super::*;

fn cfg(assigner: Arc<dyn PartitionAssigner>) -> ClassicConfig {
    ClassicConfig {
        group_id: "g".into(),
        instance_id: None,
        rack_id: None,
        session_timeout: Duration::from_secs(10),
        rebalance_timeout: Duration::from_secs(30),
        heartbeat_interval: Duration::from_secs(1),
        assigners: vec![assigner],
    }
}

fn tp(p: i32) -> TopicPartition {
    TopicPartition::new("t", p)
}

fn topics() -> Subscription {
    Subscription::Topics(["t".to_string()].into_iter().collect())
}

fn join_ok(member: &str, leader: &str, generation: i32, members: &[&str]) -> ClassicResponse {
    let mut r = JoinGroupResponse::default();
    r.member_id = member.to_string();
    r.leader = leader.to_string();
    r.generation_id = generation;
    r.protocol_name = Some(String::from("roundrobin"));
    r.members = members
        .iter()
        .map(|m| {
            let mut x = JoinGroupResponseMember::default();
            x.member_id = m.to_string();
            x.metadata = encode_subscription(&MemberSubscription {
                topics: vec!["t".into()],
                ..Default::default()
            });
            x
        })
        .collect();
    ClassicResponse::Join(r)
}

fn sync_ok(parts: &[i32]) -> ClassicResponse {
    let mut r = SyncGroupResponse::default();
    r.assignment = encode_assignment(&MemberAssignment {
        partitions: parts.iter().map(|p| tp(*p)).collect(),
        user_data: None,
    });
    ClassicResponse::Sync(r)
}

fn heartbeat(code: i16) -> ClassicResponse {
    let mut r = HeartbeatResponse::default();
    r.error_code = code;
    ClassicResponse::Heartbeat(r)
}

fn drain(m: &mut ClassicMembership) -> Vec<Action> {
    std::iter::from_fn(|| m.poll_action()).collect()
}

/// Joins as a follower and applies `parts`.
fn joined(assigner: Arc<dyn PartitionAssigner>, parts: &[i32]) -> (ClassicMembership, Instant) {
    let now = Instant::now();
    let mut m = ClassicMembership::new(cfg(assigner));
    m.subscribe(topics(), now);
    assert!(matches!(m.poll_request(now), Some(ClassicRequest::Join(_))));
    m.on_response(join_ok("me", "other", 1, &[]), now);
    assert!(matches!(m.poll_request(now), Some(ClassicRequest::Sync(_))));
    m.on_response(sync_ok(parts), now);
    let acts = drain(&mut m);
    assert!(
        acts.iter().any(|a| matches!(a, Action::Assign(_))),
        "{acts:?}"
    );
    m.on_assigned(now);
    drain(&mut m);
    (m, now)
}

#[test]
fn member_id_required_rejoins_at_once_with_the_given_id() {
    let now = Instant::now();
    let mut m = ClassicMembership::new(cfg(Arc::new(RoundRobinAssigner)));
    m.subscribe(topics(), now);
    let Some(ClassicRequest::Join(first)) = m.poll_request(now) else {
        panic!()
    };
    assert_eq!(first.member_id.as_str(), "");
    let mut r = JoinGroupResponse::default();
    r.error_code = 79; // MEMBER_ID_REQUIRED
    r.member_id = String::from("given");
    m.on_response(ClassicResponse::Join(r), now);
    let Some(ClassicRequest::Join(second)) = m.poll_request(now) else {
        panic!()
    };
    assert_eq!(second.member_id.as_str(), "given");
    assert_eq!(second.protocols[0].name.as_str(), "roundrobin");
}

/// A coordinator that keeps refusing the member id: the first rejoin goes at once (as the
/// Java client's), the next ones back off, so JoinGroup is not sent in a loop.
#[test]
fn a_join_refused_over_and_over_is_paced() {
    let now = Instant::now();
    let mut m = ClassicMembership::new(cfg(Arc::new(RoundRobinAssigner)));
    m.subscribe(topics(), now);
    let mut t = now;
    let mut joins = 0;
    while t < now + Duration::from_secs(10) {
        match m.poll_request(t) {
            Some(ClassicRequest::Join(_)) => {
                joins += 1;
                let mut r = JoinGroupResponse::default();
                r.error_code = 25; // UNKNOWN_MEMBER_ID
                m.on_response(ClassicResponse::Join(r), t);
                if joins == 1 {
                    assert!(
                        matches!(m.poll_request(t), Some(ClassicRequest::Join(_))),
                        "the first rejoin goes at once"
                    );
                    joins += 1;
                    let mut r = JoinGroupResponse::default();
                    r.error_code = 25;
                    m.on_response(ClassicResponse::Join(r), t);
                }
            }
            Some(other) => panic!("{other:?}"),
            None => {}
        }
        t += Duration::from_millis(10);
    }
    // 400 ms, 800 ms, 1.6 s, 3.2 s, then 5 s: a handful in 10 s, not one per answer.
    assert!((4..=8).contains(&joins), "{joins} JoinGroups in 10 s");
    // A join that succeeds starts over: the next refusal is answered at once again.
    m.poll_request(t + Duration::from_secs(5));
    m.on_response(join_ok("a", "b", 4, &["a"]), t);
    let mut r = SyncGroupResponse::default();
    r.error_code = 27; // REBALANCE_IN_PROGRESS
    m.poll_request(t);
    m.on_response(ClassicResponse::Sync(r), t);
    assert!(matches!(m.poll_request(t), Some(ClassicRequest::Join(_))));
}

#[test]
fn the_leader_computes_and_syncs_the_assignment() {
    let now = Instant::now();
    let mut m = ClassicMembership::new(cfg(Arc::new(RoundRobinAssigner)));
    m.subscribe(topics(), now);
    m.poll_request(now);
    m.on_response(join_ok("a", "a", 3, &["a", "b"]), now);
    let job = drain(&mut m)
        .into_iter()
        .find_map(|a| match a {
            Action::ComputeAssignment(j) => Some(j),
            _ => None,
        })
        .expect("leader work");
    assert_eq!(job.members.len(), 2);
    assert!(
        m.poll_request(now).is_none(),
        "no SyncGroup before the assignment"
    );
    let out = job
        .assigner
        .assign(&job.members, &[("t".to_string(), 4)].into_iter().collect())
        .unwrap();
    m.on_assignment_computed(3, Ok(out), now);
    let Some(ClassicRequest::Sync(s)) = m.poll_request(now) else {
        panic!()
    };
    assert_eq!(s.generation_id, 3);
    assert_eq!(s.assignments.len(), 2);
    assert_eq!(s.protocol_name.as_deref(), Some("roundrobin"));
}

#[test]
fn eager_members_revoke_everything_before_rejoining() {
    let (mut m, now) = joined(Arc::new(RoundRobinAssigner), &[0, 1]);
    let Some(ClassicRequest::Heartbeat(_)) = m.poll_request(now + Duration::from_secs(1)) else {
        panic!()
    };
    m.on_response(heartbeat(27), now); // REBALANCE_IN_PROGRESS
    let acts = drain(&mut m);
    assert!(
        matches!(&acts[..], [Action::Revoke(r)] if r.len() == 2),
        "{acts:?}"
    );
    assert!(
        m.poll_request(now).is_none(),
        "JoinGroup waits for the revocation"
    );
    m.on_revoked(now);
    let Some(ClassicRequest::Join(j)) = m.poll_request(now) else {
        panic!()
    };
    assert_eq!(j.member_id.as_str(), "me");
}

#[test]
fn cooperative_members_keep_their_partitions_and_rejoin_after_giving_some_up() {
    let (mut m, now) = joined(Arc::new(CooperativeStickyAssigner), &[0, 1, 2]);
    m.poll_request(now + Duration::from_secs(1));
    m.on_response(heartbeat(27), now);
    assert!(drain(&mut m).is_empty(), "nothing revoked before the join");
    let Some(ClassicRequest::Join(j)) = m.poll_request(now) else {
        panic!()
    };
    let sub = super::wire::decode_subscription(j.protocols[0].metadata.clone()).unwrap();
    let owned: BTreeSet<_> = sub.owned.into_iter().collect();
    assert_eq!(owned, [tp(0), tp(1), tp(2)].into_iter().collect());
    m.on_response(join_ok("me", "other", 2, &[]), now);
    m.poll_request(now);
    m.on_response(sync_ok(&[0, 1]), now);
    let acts = drain(&mut m);
    assert!(
        acts.iter()
            .any(|a| matches!(a, Action::Revoke(r) if r == &vec![tp(2)])),
        "{acts:?}"
    );
    // Generation 2: a commit may carry what the member still owns, the revoked one until done.
    assert_eq!(m.member_epoch(), 2);
    assert_eq!(
        m.owned_partitions(),
        [tp(0), tp(1), tp(2)].into_iter().collect()
    );
    m.on_revoked(now);
    assert_eq!(m.owned_partitions(), [tp(0), tp(1)].into_iter().collect());
    // It gave one up: it rejoins so the partition can move.
    assert!(matches!(m.poll_request(now), Some(ClassicRequest::Join(_))));
}

#[test]
fn a_lost_generation_drops_partitions_without_commit_then_rejoins() {
    let (mut m, now) = joined(Arc::new(RoundRobinAssigner), &[0]);
    m.poll_request(now + Duration::from_secs(1));
    m.on_response(heartbeat(25), now); // UNKNOWN_MEMBER_ID
    let acts = drain(&mut m);
    assert!(
        matches!(&acts[..], [Action::Lost(l)] if l == &vec![tp(0)]),
        "{acts:?}"
    );
    assert_eq!(m.member_epoch(), -1);
    assert!(
        m.owned_partitions().is_empty(),
        "no commit goes for lost partitions"
    );
    m.on_lost_handled(now);
    let Some(ClassicRequest::Join(j)) = m.poll_request(now) else {
        panic!()
    };
    assert_eq!(
        j.member_id.as_str(),
        "",
        "UNKNOWN_MEMBER_ID forgets the member id"
    );
}

#[test]
fn fenced_instance_ids_are_fatal_with_the_fix() {
    let (mut m, now) = joined(Arc::new(RoundRobinAssigner), &[0]);
    m.poll_request(now + Duration::from_secs(1));
    m.on_response(heartbeat(82), now); // FENCED_INSTANCE_ID
    let acts = drain(&mut m);
    let Some(Action::Fatal(e)) = acts.last() else {
        panic!("{acts:?}")
    };
    assert!(e.to_string().contains("own instance id"), "{e}");
}

#[test]
fn leaving_revokes_then_sends_leave_group() {
    let (mut m, now) = joined(Arc::new(RoundRobinAssigner), &[0, 1]);
    m.leave(now);
    assert!(matches!(&drain(&mut m)[..], [Action::Revoke(_)]));
    assert!(
        m.poll_request(now).is_none(),
        "LeaveGroup waits for the commit"
    );
    m.on_revoked(now);
    let Some(ClassicRequest::Leave(l)) = m.poll_request(now) else {
        panic!()
    };
    assert_eq!(l.members[0].member_id.as_str(), "me");
    m.on_response(ClassicResponse::Leave(Default::default()), now);
    assert!(m.has_left());
}

#[test]
fn a_malformed_assignment_is_a_warning_and_a_rejoin_not_a_panic() {
    let now = Instant::now();
    let mut m = ClassicMembership::new(cfg(Arc::new(RoundRobinAssigner)));
    m.subscribe(topics(), now);
    m.poll_request(now);
    m.on_response(join_ok("me", "other", 1, &[]), now);
    m.poll_request(now);
    let mut r = SyncGroupResponse::default();
    r.assignment = bytes::Bytes::from_static(b"\x00\x03\xff\xff\xff\x7f");
    m.on_response(ClassicResponse::Sync(r), now);
    assert!(matches!(&drain(&mut m)[..], [Action::Warn(_)]));
    assert!(matches!(
        m.poll_request(now + MAX_BACKOFF),
        Some(ClassicRequest::Join(_))
    ));
}

#[test]
fn a_subscription_changed_during_a_join_is_joined_again_after_it() {
    let now = Instant::now();
    let mut m = ClassicMembership::new(cfg(Arc::new(RoundRobinAssigner)));
    m.subscribe(topics(), now);
    m.poll_request(now); // JoinGroup with ["t"] in flight
    m.subscribe(
        Subscription::Topics(["t".to_string(), "u".to_string()].into_iter().collect()),
        now,
    );
    m.on_response(join_ok("me", "other", 1, &[]), now);
    m.poll_request(now);
    m.on_response(sync_ok(&[0]), now);
    drain(&mut m);
    m.on_assigned(now);
    // Eager: everything is revoked before the second join.
    assert!(matches!(&drain(&mut m)[..], [.., Action::Revoke(_)]));
    m.on_revoked(now);
    let Some(ClassicRequest::Join(j)) = m.poll_request(now) else {
        panic!("a second join for the new topics")
    };
    let sub = super::wire::decode_subscription(j.protocols[0].metadata.clone()).unwrap();
    assert_eq!(sub.topics, vec!["t".to_string(), "u".to_string()]);
}

#[test]
fn a_heartbeat_to_a_silent_coordinator_is_given_up_inside_the_session() {
    let member = |session: u64, interval: u64| {
        let mut c = cfg(Arc::new(RoundRobinAssigner));
        c.session_timeout = Duration::from_secs(session);
        c.heartbeat_interval = Duration::from_secs(interval);
        let m: Box<dyn ConsumerMembership> = Box::new(ClassicMembership::new(c));
        m
    };
    let request_timeout = Duration::from_secs(30);
    // Three intervals when the session allows it (the Java default: 3 s and 45 s).
    assert_eq!(
        member(45, 3).request_timeout(None, request_timeout),
        Duration::from_secs(9)
    );
    // Never more than half the session, so the new coordinator can be found before it ends;
    // never more than the request timeout.
    assert_eq!(
        member(10, 4).request_timeout(None, request_timeout),
        Duration::from_secs(5)
    );
    assert_eq!(
        member(300, 20).request_timeout(None, request_timeout),
        request_timeout
    );
    // SyncGroup waits for the leader: half the session; JoinGroup for every member: the
    // rebalance timeout on top.
    let m = member(10, 1);
    assert_eq!(
        m.request_timeout(Some(ClassicKind::Sync), request_timeout),
        Duration::from_secs(5)
    );
    assert_eq!(
        m.request_timeout(Some(ClassicKind::Join), request_timeout),
        Duration::from_secs(60)
    );
}
