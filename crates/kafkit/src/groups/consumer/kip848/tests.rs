//! Deterministic tests of the membership state machine: a simulated broker, no I/O.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crate::protocol::messages::consumer_group_heartbeat_response::{Assignment, TopicPartitions};
use crate::protocol::messages::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::error::ErrorKind;
use crate::groups::topic_ids::NAME_LOOKUPS;

const T1: Uuid = Uuid::from_u128(1);
const T2: Uuid = Uuid::from_u128(2);

fn cfg() -> Kip848Config {
    Kip848Config {
        group_id: "g".into(),
        member_id: generate_member_id(),
        instance_id: None,
        rack_id: None,
        rebalance_timeout: Duration::from_secs(60),
        server_assignor: Some("uniform".into()),
    }
}

fn names() -> HashMap<Uuid, String> {
    [(T1, "a".to_string()), (T2, "b".to_string())]
        .into_iter()
        .collect()
}

fn resp(epoch: i32, assignment: Option<&[(Uuid, &[i32])]>) -> ConsumerGroupHeartbeatResponse {
    let mut r = ConsumerGroupHeartbeatResponse::default();
    r.member_epoch = epoch;
    r.heartbeat_interval_ms = 1000;
    r.assignment = assignment.map(|a| {
        let mut asg = Assignment::default();
        asg.topic_partitions = a
            .iter()
            .map(|(id, ps)| {
                let mut t = TopicPartitions::default();
                t.topic_id = *id;
                t.partitions = ps.to_vec();
                t
            })
            .collect();
        asg
    });
    r
}

fn err(code: i16) -> ConsumerGroupHeartbeatResponse {
    let mut r = ConsumerGroupHeartbeatResponse::default();
    r.error_code = code;
    r.member_epoch = -1;
    r
}

fn tp(t: &str, p: i32) -> TopicPartition {
    TopicPartition::new(t, p)
}

fn joined(now: Instant) -> Kip848Membership {
    let mut m = Kip848Membership::new(cfg());
    m.on_topic_names(&[], &names(), Instant::now());
    m.subscribe(Subscription::Topics(["a".to_string()].into()), now);
    let req = m.poll_heartbeat(now).expect("join heartbeat");
    assert_eq!(req.member_epoch, 0);
    m
}

/// The actions other than HEARTBEAT events (those `drain_all` shows).
fn drain(m: &mut Kip848Membership) -> Vec<Action> {
    drain_all(m)
        .into_iter()
        .filter(|a| !matches!(a, Action::HeartbeatEvent { .. }))
        .collect()
}

fn drain_all(m: &mut Kip848Membership) -> Vec<Action> {
    std::iter::from_fn(|| m.poll_action()).collect()
}

fn owned_in(req: &ConsumerGroupHeartbeatRequest) -> Option<BTreeSet<(Uuid, i32)>> {
    req.topic_partitions.as_ref().map(|ts| {
        ts.iter()
            .flat_map(|t| t.partitions.iter().map(move |p| (t.topic_id, *p)))
            .collect()
    })
}

#[test]
fn member_id_is_22_url_safe_chars_and_unique() {
    let a = generate_member_id();
    assert_eq!(a.len(), 22);
    assert!(a
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    assert_ne!(a, generate_member_id());
}

#[test]
fn join_is_a_full_request_with_empty_partitions() {
    let now = Instant::now();
    let mut m = Kip848Membership::new(cfg());
    m.subscribe(Subscription::Topics(["a".to_string()].into()), now);
    let req = m.poll_heartbeat(now).unwrap();
    assert_eq!(req.member_epoch, 0);
    assert!(!req.member_id.is_empty());
    assert_eq!(req.rebalance_timeout_ms, 60_000);
    assert_eq!(req.topic_partitions.as_ref().map(Vec::len), Some(0));
    assert_eq!(req.subscribed_topic_names.as_ref().map(Vec::len), Some(1));
    assert_eq!(req.server_assignor.as_deref(), Some("uniform"));
    // One in flight at most.
    assert!(m.poll_heartbeat(now).is_none());
    assert!(m.next_deadline().is_none());
}

#[test]
fn single_member_gets_everything_then_acks_at_once() {
    let now = Instant::now();
    let mut m = joined(now);
    m.on_heartbeat_response(resp(1, Some(&[(T1, &[0, 1, 2])])), now);
    let actions = drain(&mut m);
    assert!(
        matches!(&actions[0], Action::Joined { epoch: 1, assignment, .. } if assignment.len() == 3)
    );
    let Action::Assign(parts) = &actions[1] else {
        panic!("{actions:?}")
    };
    assert_eq!(parts, &vec![tp("a", 0), tp("a", 1), tp("a", 2)]);
    // No acknowledgement before the driver finished the assignment.
    assert!(m
        .poll_heartbeat(now)
        .and_then(|r| owned_in(&r))
        .is_none_or(|o| o.is_empty()));
    let mut m = joined(now);
    m.on_heartbeat_response(resp(1, Some(&[(T1, &[0, 1, 2])])), now);
    drain(&mut m);
    m.on_assigned(now);
    assert_eq!(m.state(), MemberState::Acknowledging);
    let ack = m.poll_heartbeat(now).expect("ack goes out immediately");
    assert_eq!(ack.member_epoch, 1);
    assert_eq!(owned_in(&ack).unwrap().len(), 3);
    m.on_heartbeat_response(resp(1, None), now);
    assert_eq!(m.state(), MemberState::Stable);
    // Next heartbeat waits for the interval and is incremental.
    assert!(m.poll_heartbeat(now).is_none());
    let later = now + Duration::from_millis(1000);
    let hb = m.poll_heartbeat(later).unwrap();
    assert!(hb.topic_partitions.is_none());
    assert!(hb.subscribed_topic_names.is_none());
    assert_eq!(hb.rebalance_timeout_ms, -1);
    assert!(hb.server_assignor.is_none());
}

#[test]
fn revocation_comes_first_and_is_not_acked_before_the_driver_finishes() {
    let now = Instant::now();
    let mut m = joined(now);
    m.on_heartbeat_response(resp(1, Some(&[(T1, &[0, 1])])), now);
    drain(&mut m);
    m.on_assigned(now);
    let _ack = m.poll_heartbeat(now).unwrap();
    m.on_heartbeat_response(resp(1, None), now);
    // A second member joined: partition 1 moves away, epoch 2.
    let t = now + Duration::from_secs(1);
    let _ = m.poll_heartbeat(t).unwrap();
    m.on_heartbeat_response(resp(2, Some(&[(T1, &[0])])), t);
    let actions = drain(&mut m);
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::Revoke(p) if p == &vec![tp("a", 1)])),
        "{actions:?}"
    );
    // While revoking, keep-alive heartbeats must still carry no reduced set.
    let t2 = t + Duration::from_secs(1);
    if let Some(hb) = m.poll_heartbeat(t2) {
        assert!(hb.topic_partitions.is_none(), "acked a revocation early");
        m.on_heartbeat_response(resp(2, None), t2);
    }
    assert_eq!(
        m.owned_partitions(),
        [tp("a", 0), tp("a", 1)].into_iter().collect(),
        "a commit may still carry the partition being revoked"
    );
    m.on_revoked(t2);
    assert_eq!(m.owned_partitions(), [tp("a", 0)].into_iter().collect());
    let ack = m.poll_heartbeat(t2).expect("ack at once");
    assert_eq!(owned_in(&ack).unwrap(), [(T1, 0)].into_iter().collect());
}

#[test]
fn unknown_topic_ids_wait_and_are_never_revoked() {
    let now = Instant::now();
    let mut m = Kip848Membership::new(cfg());
    m.subscribe(
        Subscription::Topics(["a".to_string(), "b".to_string()].into()),
        now,
    );
    let _ = m.poll_heartbeat(now).unwrap();
    m.on_topic_names(
        &[],
        &[(T1, "a".to_string())].into_iter().collect(),
        Instant::now(),
    );
    m.on_heartbeat_response(resp(1, Some(&[(T1, &[0]), (T2, &[0])])), now);
    let actions = drain(&mut m);
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::ResolveTopicIds(ids, _) if ids == &vec![T2])),
        "{actions:?}"
    );
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::Assign(p) if p == &vec![tp("a", 0)])));
    m.on_assigned(now);
    let ack = m.poll_heartbeat(now).unwrap();
    assert_eq!(owned_in(&ack).unwrap(), [(T1, 0)].into_iter().collect());
    m.on_heartbeat_response(resp(1, None), now);
    m.on_topic_names(&[T2], &names(), Instant::now());
    let actions = drain(&mut m);
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::Assign(p) if p == &vec![tp("b", 0)])),
        "{actions:?}"
    );
    assert!(!actions.iter().any(|a| matches!(a, Action::Revoke(_))));
    m.on_assigned(now);
    let ack = m.poll_heartbeat(now).unwrap();
    assert_eq!(owned_in(&ack).unwrap().len(), 2);
}

#[test]
fn fenced_member_loses_partitions_and_rejoins_with_the_same_id_without_hot_loop() {
    let now = Instant::now();
    let mut m = joined(now);
    let id = m.member_id().to_string();
    m.on_heartbeat_response(resp(3, Some(&[(T1, &[0])])), now);
    drain(&mut m);
    m.on_assigned(now);
    drain(&mut m);
    let _ = m.poll_heartbeat(now).unwrap();
    m.on_heartbeat_response(err(110), now); // FENCED_MEMBER_EPOCH
    let actions = drain(&mut m);
    assert!(
        matches!(&actions[..], [Action::Lost(p)] if p == &vec![tp("a", 0)]),
        "{actions:?}"
    );
    m.on_lost_handled(now);
    let rejoin_at = m.next_deadline().unwrap();
    assert!(rejoin_at > now, "rejoin must back off");
    let req = m.poll_heartbeat(rejoin_at).unwrap();
    assert_eq!(req.member_epoch, 0);
    assert_eq!(req.member_id.as_str(), id);
    assert!(req.subscribed_topic_names.is_some(), "full request");
    // A broker that keeps fencing: the wait grows.
    let mut last = rejoin_at;
    let mut gap = Duration::ZERO;
    for _ in 0..5 {
        m.on_heartbeat_response(err(110), last);
        drain(&mut m);
        let next = m.next_deadline().unwrap();
        assert!(next - last >= gap);
        gap = next - last;
        let _ = m.poll_heartbeat(next).unwrap();
        last = next;
    }
    assert!(gap >= Duration::from_millis(400));
}

/// A coordinator that accepts every join and fences the member at its next heartbeat: the
/// join answer does not start the backoff over, so the rejoins slow down.
#[test]
fn fenced_after_every_join_is_paced() {
    let now = Instant::now();
    let mut m = joined(now);
    let mut t = now;
    let mut heartbeats = 1;
    let mut epoch = 1;
    m.on_heartbeat_response(resp(epoch, Some(&[(T1, &[0])])), t);
    while t < now + Duration::from_secs(10) {
        for a in drain(&mut m) {
            match a {
                Action::Assign(_) => m.on_assigned(t),
                Action::Lost(_) => m.on_lost_handled(t),
                _ => {}
            }
        }
        if let Some(req) = m.poll_heartbeat(t) {
            heartbeats += 1;
            if req.member_epoch == 0 {
                epoch += 1;
                m.on_heartbeat_response(resp(epoch, Some(&[(T1, &[0])])), t);
            } else {
                m.on_heartbeat_response(err(110), t);
            }
        }
        t += Duration::from_millis(5);
    }
    // Join and fenced heartbeat pairs, 100 ms apart at first, then up to 5 s.
    assert!(
        (6..=20).contains(&heartbeats),
        "{heartbeats} heartbeats in 10 s"
    );
}

#[test]
fn every_error_makes_the_next_heartbeat_full() {
    for code in [15i16, 16, 14, 29, 7] {
        let now = Instant::now();
        let mut m = joined(now);
        m.on_heartbeat_response(resp(1, Some(&[])), now);
        drain(&mut m);
        let t = now + Duration::from_secs(1);
        let _ = m.poll_heartbeat(t).unwrap();
        m.on_heartbeat_response(err(code), t);
        drain(&mut m);
        let when = m.next_deadline().unwrap();
        let hb = m
            .poll_heartbeat(when.max(t + Duration::from_secs(2)))
            .unwrap();
        assert!(hb.subscribed_topic_names.is_some(), "code {code}: not full");
        assert!(hb.topic_partitions.is_some(), "code {code}: no owned set");
        assert_ne!(hb.rebalance_timeout_ms, -1);
    }
}

#[test]
fn fatal_errors_surface_with_a_fix() {
    for (code, needle) in [
        (112i16, "group.consumer.assignors"),
        (30, "grant READ"),
        (128, "RE2J"),
        (81, "max.size"),
        (111, "instance id"),
        (35, "classic"),
    ] {
        let now = Instant::now();
        let mut m = joined(now);
        m.on_heartbeat_response(err(code), now);
        let actions = drain(&mut m);
        let Some(Action::Fatal(e)) = actions.first() else {
            panic!("{code}: {actions:?}")
        };
        assert!(e.to_string().contains(needle), "{code}: {e}");
        assert_eq!(m.state(), MemberState::Fatal);
        assert!(m.poll_heartbeat(now + Duration::from_secs(10)).is_none());
    }
}

#[test]
fn topic_authorization_failure_warns_and_stays() {
    let now = Instant::now();
    let mut m = joined(now);
    m.on_heartbeat_response(err(29), now);
    assert!(matches!(drain(&mut m)[..], [Action::Warn(_)]));
    assert_ne!(m.state(), MemberState::Fatal);
    assert!(m.next_deadline().is_some());
}

#[test]
fn assignment_arriving_mid_reconciliation_is_applied_after() {
    let now = Instant::now();
    let mut m = joined(now);
    m.on_heartbeat_response(resp(1, Some(&[(T1, &[0, 1])])), now);
    drain(&mut m);
    // While assigning, a newer target arrives.
    let t = now + Duration::from_secs(1);
    let _ = m.poll_heartbeat(t).unwrap();
    m.on_heartbeat_response(resp(2, Some(&[(T1, &[1])])), t);
    assert!(drain(&mut m)
        .iter()
        .all(|a| !matches!(a, Action::Revoke(_) | Action::Assign(_))));
    m.on_assigned(t);
    let actions = drain(&mut m);
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::Revoke(p) if p == &vec![tp("a", 0)])),
        "{actions:?}"
    );
}

#[test]
fn epoch_bump_without_assignment_is_adopted() {
    let now = Instant::now();
    let mut m = joined(now);
    m.on_heartbeat_response(resp(1, Some(&[])), now);
    let t = now + Duration::from_secs(1);
    let _ = m.poll_heartbeat(t).unwrap();
    m.on_heartbeat_response(resp(5, None), t);
    assert_eq!(m.member_epoch(), 5);
}

#[test]
fn negative_epoch_echo_is_ignored_and_duplicates_sanitized() {
    let now = Instant::now();
    let mut m = joined(now);
    m.on_heartbeat_response(resp(1, Some(&[(T1, &[0, 0, -1, 2])])), now);
    let actions = drain(&mut m);
    let Some(Action::Assign(p)) = actions.iter().find(|a| matches!(a, Action::Assign(_))) else {
        panic!()
    };
    assert_eq!(p, &vec![tp("a", 0), tp("a", 2)]);
    m.on_assigned(now);
    let _ = m.poll_heartbeat(now).unwrap();
    m.on_heartbeat_response(resp(-1, None), now);
    assert_eq!(m.member_epoch(), 1);
}

#[test]
fn zero_interval_from_a_broken_broker_does_not_spin() {
    let now = Instant::now();
    let mut m = joined(now);
    let mut r = resp(1, Some(&[]));
    r.heartbeat_interval_ms = 0;
    m.on_heartbeat_response(r, now);
    drain(&mut m);
    let next = m.next_deadline();
    assert!(next.is_none_or(|n| n > now), "would busy-loop");
}

#[test]
fn leave_revokes_first_then_sends_epoch_minus_one_or_minus_two_static() {
    for static_member in [false, true] {
        let now = Instant::now();
        let mut c = cfg();
        if static_member {
            c.instance_id = Some("i-1".into());
        }
        let mut m = Kip848Membership::new(c);
        m.on_topic_names(&[], &names(), Instant::now());
        m.subscribe(Subscription::Topics(["a".to_string()].into()), now);
        let _ = m.poll_heartbeat(now).unwrap();
        m.on_heartbeat_response(resp(1, Some(&[(T1, &[0])])), now);
        drain(&mut m);
        m.on_assigned(now);
        drain(&mut m);
        let _ = m.poll_heartbeat(now).unwrap();
        m.on_heartbeat_response(resp(1, None), now);
        m.leave(now);
        let actions = drain(&mut m);
        assert!(
            matches!(&actions[..], [Action::Revoke(p)] if p == &vec![tp("a", 0)]),
            "{actions:?}"
        );
        assert!(
            m.poll_heartbeat(now).is_none(),
            "no leave before the revocation is done"
        );
        m.on_revoked(now);
        let req = m.poll_heartbeat(now).unwrap();
        assert_eq!(req.member_epoch, if static_member { -2 } else { -1 });
        // UNKNOWN_MEMBER_ID on a leave counts as left.
        m.on_heartbeat_response(err(25), now);
        assert!(m.has_left());
        assert!(matches!(drain(&mut m)[..], [Action::Left]));
    }
}

#[test]
fn subscription_change_sends_only_that_field_and_regex_clears_with_empty_string() {
    let now = Instant::now();
    let mut m = joined(now);
    m.on_heartbeat_response(resp(1, Some(&[])), now);
    drain(&mut m);
    m.subscribe(Subscription::Pattern("a.*".into()), now);
    let hb = m.poll_heartbeat(now).unwrap();
    assert_eq!(hb.subscribed_topic_regex.as_deref(), Some("a.*"));
    assert!(hb.rebalance_timeout_ms == -1 && hb.server_assignor.is_none());
    m.on_heartbeat_response(resp(1, None), now);
    m.subscribe(Subscription::Topics(["b".to_string()].into()), now);
    let hb = m.poll_heartbeat(now).unwrap();
    assert_eq!(hb.subscribed_topic_regex.as_deref(), Some(""));
    assert_eq!(hb.subscribed_topic_names.as_ref().map(Vec::len), Some(1));
}

#[test]
fn stale_member_loses_partitions_leaves_and_rejoins_on_request() {
    let now = Instant::now();
    let mut m = joined(now);
    m.on_heartbeat_response(resp(1, Some(&[(T1, &[0])])), now);
    drain(&mut m);
    m.on_assigned(now);
    drain(&mut m);
    let _ = m.poll_heartbeat(now).unwrap();
    m.on_heartbeat_response(resp(1, None), now);
    m.on_poll_stale(now);
    assert!(matches!(&drain(&mut m)[..], [Action::Lost(_)]));
    m.on_lost_handled(now);
    let leave = m.poll_heartbeat(now).unwrap();
    assert_eq!(leave.member_epoch, -1);
    m.on_heartbeat_response(resp(-1, None), now);
    assert_eq!(m.state(), MemberState::Stale);
    assert!(m.poll_heartbeat(now + Duration::from_secs(30)).is_none());
    m.rejoin(now);
    let join = m.poll_heartbeat(now).unwrap();
    assert_eq!(join.member_epoch, 0);
}

// ---- property test: a random broker never breaks the invariants -------------------------

#[derive(Debug, Clone)]
enum Ev {
    Ok(i32, Option<Vec<(u8, i32)>>),
    Err(i16),
    Fail,
    Finish,
    Tick(u16),
}

fn ev() -> impl Strategy<Value = Ev> {
    prop_oneof![
        (
            1i32..20,
            proptest::option::of(proptest::collection::vec((0u8..3, -1i32..4), 0..6))
        )
            .prop_map(|(e, a)| Ev::Ok(e, a)),
        prop_oneof![
            Just(110i16),
            Just(25),
            Just(16),
            Just(15),
            Just(14),
            Just(29)
        ]
        .prop_map(Ev::Err),
        Just(Ev::Fail),
        Just(Ev::Finish),
        (0u16..3000).prop_map(Ev::Tick),
    ]
}

proptest! {
    #[test]
    fn random_broker_never_breaks_invariants(events in proptest::collection::vec(ev(), 1..80)) {
        let ids = [Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3)];
        let mut now = Instant::now();
        let mut m = Kip848Membership::new(cfg());
        m.on_topic_names(&[], &[(ids[0], "a".into()), (ids[1], "b".into())].into_iter().collect(), Instant::now());
        m.subscribe(Subscription::Topics(["a".to_string(), "b".to_string()].into()), now);
        let mut in_flight = false;
        // What the driver has been told to apply, by name.
        let mut pending: Option<Action> = None;
        let mut driver_owned: BTreeSet<TopicPartition> = BTreeSet::new();
        for e in events {
            if !in_flight
                && m.poll_heartbeat(now).is_some() {
                    in_flight = true;
                    prop_assert!(m.poll_heartbeat(now).is_none(), "two heartbeats in flight");
                }
            match e {
                Ev::Ok(epoch, a) if in_flight => {
                    in_flight = false;
                    let assignment: Option<Vec<(Uuid, Vec<i32>)>> = a.map(|v| v.into_iter().map(|(t, p)| (ids[t as usize], vec![p])).collect());
                    let slices: Option<Vec<(Uuid, &[i32])>> = assignment.as_ref().map(|v| v.iter().map(|(t, p)| (*t, p.as_slice())).collect());
                    m.on_heartbeat_response(resp(epoch, slices.as_deref()), now);
                }
                Ev::Err(code) if in_flight => { in_flight = false; m.on_heartbeat_response(err(code), now); }
                Ev::Fail if in_flight => { in_flight = false; m.on_heartbeat_failed(&Error::new(ErrorKind::Connection, "hb", "x"), now); }
                Ev::Finish => match pending.take() {
                    Some(Action::Revoke(ps)) => { for p in ps { driver_owned.remove(&p); } m.on_revoked(now); }
                    Some(Action::Assign(ps)) => { driver_owned.extend(ps); m.on_assigned(now); }
                    Some(Action::Lost(ps)) => { for p in ps { driver_owned.remove(&p); } m.on_lost_handled(now); }
                    _ => {}
                },
                Ev::Tick(ms) => now += Duration::from_millis(ms as u64),
                _ => {}
            }
            while let Some(a) = m.poll_action() {
                match a {
                    Action::Revoke(_) | Action::Assign(_) | Action::Lost(_) => {
                        // A lost set supersedes a step in progress (the reconciliation aborted).
                        if matches!(a, Action::Lost(_)) { pending = None; }
                        prop_assert!(pending.is_none(), "two reconciliation steps at once");
                        pending = Some(a);
                    }
                    _ => {}
                }
            }
            // The member never owns what the driver did not apply.
            let owned: BTreeSet<TopicPartition> = m.owned().into_iter().collect();
            prop_assert!(owned.is_subset(&driver_owned) || matches!(pending, Some(Action::Lost(_))),
                "owned {owned:?} not applied {driver_owned:?}");
            if let Some(d) = m.next_deadline() {
                prop_assert!(d >= now || d + Duration::from_secs(10) > now);
            }
        }
    }
}

#[test]
fn the_join_event_waits_for_topic_names_and_says_how_long_the_join_took() {
    let t0 = Instant::now();
    let mut m = Kip848Membership::new(cfg());
    m.subscribe(Subscription::Topics(["a".to_string()].into()), t0);
    let _ = m.poll_heartbeat(t0).unwrap();
    let t1 = t0 + Duration::from_millis(40);
    m.on_heartbeat_response(resp(1, Some(&[(T1, &[0, 1])])), t1);
    let actions = drain_all(&mut m);
    assert!(
        !actions.iter().any(|a| matches!(a, Action::Joined { .. })),
        "no GROUP_JOIN while a topic is only an id: {actions:?}"
    );
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::ResolveTopicIds(ids, _) if ids == &vec![T1])));
    m.on_topic_names(&[T1], &names(), Instant::now());
    let actions = drain_all(&mut m);
    let Some(Action::Joined {
        epoch,
        assignment,
        duration,
        leader_id,
        ..
    }) = actions.iter().find(|a| matches!(a, Action::Joined { .. }))
    else {
        panic!("{actions:?}")
    };
    assert_eq!(*epoch, 1);
    assert_eq!(assignment, &vec![tp("a", 0), tp("a", 1)]);
    assert_eq!(*duration, Duration::from_millis(40));
    assert_eq!(leader_id, &None);
}

#[test]
fn every_heartbeat_answer_is_an_event_with_the_changes_it_brought() {
    let now = Instant::now();
    let mut m = joined(now);
    m.on_heartbeat_response(resp(1, Some(&[(T1, &[0, 1])])), now);
    drain_all(&mut m);
    m.on_assigned(now);
    let _ = m.poll_heartbeat(now).unwrap();
    // An answer without an assignment: an event with no changes.
    m.on_heartbeat_response(resp(1, None), now);
    let events: Vec<Action> = drain_all(&mut m)
        .into_iter()
        .filter(|a| matches!(a, Action::HeartbeatEvent { .. }))
        .collect();
    assert!(
        matches!(&events[..], [Action::HeartbeatEvent { epoch: 1, added, removed }] if added.is_empty() && removed.is_empty()),
        "{events:?}"
    );
    // A new target: partition 1 moves away, topic c's 0 arrives.
    let t3 = Uuid::from_u128(3);
    let _ = m.poll_heartbeat(now + Duration::from_secs(1)).unwrap();
    m.on_heartbeat_response(resp(2, Some(&[(T1, &[0]), (t3, &[0])])), now);
    let actions = drain_all(&mut m);
    let events: Vec<&Action> = actions
        .iter()
        .filter(|a| matches!(a, Action::HeartbeatEvent { .. }))
        .collect();
    assert!(
        events.is_empty(),
        "topic c has no name yet: the event waits ({actions:?})"
    );
    m.on_topic_names(
        &[t3],
        &[(t3, "c".to_string())].into_iter().collect(),
        Instant::now(),
    );
    let events: Vec<Action> = drain_all(&mut m)
        .into_iter()
        .filter(|a| matches!(a, Action::HeartbeatEvent { .. }))
        .collect();
    assert!(
        matches!(&events[..], [Action::HeartbeatEvent { epoch: 2, added, removed }]
            if added == &vec![tp("c", 0)] && removed == &vec![tp("a", 1)]),
        "{events:?}"
    );
}

#[test]
fn a_topic_id_that_cannot_be_named_is_left_out_of_events_after_a_few_lookups() {
    let now = Instant::now();
    let mut m = joined(now);
    m.on_heartbeat_response(resp(1, Some(&[(T1, &[0]), (T2, &[0])])), now);
    let gone = Uuid::from_u128(9);
    // T2 is named, the deleted topic `gone` never is.
    let _ = m.poll_heartbeat(now + Duration::from_secs(1));
    m.on_heartbeat_response(resp(2, Some(&[(T1, &[0]), (gone, &[3])])), now);
    drain_all(&mut m);
    for _ in 0..NAME_LOOKUPS {
        m.on_topic_names(&[gone], &names(), Instant::now());
    }
    let events: Vec<Action> = drain_all(&mut m)
        .into_iter()
        .filter(|a| matches!(a, Action::HeartbeatEvent { .. }))
        .collect();
    let Some(Action::HeartbeatEvent { added, .. }) = events.last() else {
        panic!("{events:?}")
    };
    assert!(
        added.iter().all(|t| Uuid::parse_str(&t.topic).is_err()),
        "never an id: {added:?}"
    );
}

/// A topic id metadata does not know holds back nothing: the named partition is assigned at
/// once, the id is asked for again after every miss (the driver paces those lookups), and the
/// user is warned once, naming the id and its partitions.
#[test]
fn an_unknown_topic_id_holds_back_nothing_and_is_warned_about_once() {
    let now = Instant::now();
    let mut m = joined(now);
    let unknown = Uuid::from_u128(7);
    m.on_heartbeat_response(resp(1, Some(&[(T1, &[0]), (unknown, &[2, 5])])), now);
    let actions = drain(&mut m);
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::Assign(tps) if tps == &vec![tp("a", 0)])),
        "the named partition is assigned at once: {actions:?}"
    );
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::ResolveTopicIds(ids, _) if ids == &vec![unknown])));
    m.on_assigned(now);
    let mut warnings = Vec::new();
    for _ in 0..10 {
        m.on_topic_names(&[unknown], &HashMap::new(), Instant::now());
        let actions = drain(&mut m);
        assert!(
            actions
                .iter()
                .any(|a| matches!(a, Action::ResolveTopicIds(ids, _) if ids == &vec![unknown])),
            "asked again: {actions:?}"
        );
        warnings.extend(actions.into_iter().filter_map(|a| match a {
            Action::Warn(e) => Some(e.to_string()),
            _ => None,
        }));
    }
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains(&unknown.to_string()) && warnings[0].contains("[2, 5]"),
        "{}",
        warnings[0]
    );
    assert_eq!(m.owned(), vec![tp("a", 0)]);
}

#[test]
fn the_heartbeat_pace_is_the_one_the_broker_sets() {
    let now = Instant::now();
    let mut m = joined(now);
    let mut r = resp(1, Some(&[]));
    r.heartbeat_interval_ms = 2500;
    m.on_heartbeat_response(r, now);
    drain_all(&mut m);
    assert_eq!(m.heartbeat_interval(), Duration::from_millis(2500));
    assert!(m
        .poll_heartbeat(now + Duration::from_millis(2400))
        .is_none());
    assert!(m
        .poll_heartbeat(now + Duration::from_millis(2500))
        .is_some());
}
