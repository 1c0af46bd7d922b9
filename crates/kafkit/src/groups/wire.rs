//! The embedded consumer protocol of classic groups: the subscription a member puts in
//! JoinGroup and the assignment the leader hands out through SyncGroup. Both are the Java
//! client's format (a 2-byte version, then the versioned struct), so kafkit and Java members
//! can share a group.

use std::collections::BTreeMap;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::{Error, ErrorKind, Result};
use crate::events::TopicPartition;
use crate::protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedTopic;
use crate::protocol::messages::consumer_protocol_subscription::TopicPartition as OwnedTopic;
use crate::protocol::messages::{ConsumerProtocolAssignment, ConsumerProtocolSubscription};
use crate::protocol::wire::{encode_to_bytes, Decode, Encode, Reader};

/// Highest version written (Kafka 3.x/4.x clients write 3: rack id).
const VERSION: i16 = 3;

/// A member's subscription as the group sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberSubscription {
    /// Topics by name.
    pub topics: Vec<String>,
    /// Assignor-specific data.
    pub user_data: Option<Bytes>,
    /// Partitions the member owns now (cooperative protocols).
    pub owned: Vec<TopicPartition>,
    /// The generation the owned partitions come from (-1 unknown).
    pub generation: i32,
    /// Rack of the member.
    pub rack_id: Option<String>,
}

/// What the leader gives one member.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberAssignment {
    /// Partitions by topic.
    pub partitions: Vec<TopicPartition>,
    /// Assignor-specific data.
    pub user_data: Option<Bytes>,
}

fn group_by_topic(tps: &[TopicPartition]) -> BTreeMap<&str, Vec<i32>> {
    let mut by: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in tps {
        by.entry(tp.topic.as_str()).or_default().push(tp.partition);
    }
    for ps in by.values_mut() {
        ps.sort_unstable();
        ps.dedup();
    }
    by
}

fn name(s: &str) -> String {
    s.to_string()
}

fn malformed(what: &str, detail: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Protocol,
        "join_group",
        format!("malformed consumer-protocol {what} from the group ({detail}); a member of the group writes bytes kafkit cannot read"),
    )
}

/// The 2-byte version in front of both structs (newer ones are read as version 3, which their
/// layout extends).
fn read_version(bytes: &mut Bytes, what: &str) -> Result<i16> {
    if bytes.remaining() < 2 {
        return Err(malformed(what, "shorter than its version"));
    }
    match bytes.get_i16() {
        v if v < 0 => Err(malformed(what, format!("version {v}"))),
        v => Ok(v),
    }
}

/// Decodes a blob of `version`; a version newer than kafkit's is read as kafkit's, whose layout
/// it extends, so its extra bytes are allowed (as the Java client reads them).
fn decode_blob<M: Decode>(bytes: Bytes, version: i16, what: &str) -> Result<M> {
    let mut r = Reader::new(bytes);
    let m = M::decode(&mut r, version.min(VERSION)).map_err(|e| malformed(what, e))?;
    if version <= VERSION && r.remaining() != 0 {
        return Err(malformed(
            what,
            format!("{} bytes left over", r.remaining()),
        ));
    }
    Ok(m)
}

/// The 2-byte version, then the struct.
fn encode_blob<M: Encode>(m: &M) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(VERSION);
    // Every field of a blob kafkit builds exists at VERSION, so encoding cannot fail.
    if let Ok(body) = encode_to_bytes(m, VERSION) {
        buf.extend_from_slice(&body);
    }
    buf.freeze()
}

/// Topic-grouped partitions (either struct's list) as a flat list.
fn flatten<'a>(topics: impl Iterator<Item = (&'a String, &'a Vec<i32>)>) -> Vec<TopicPartition> {
    topics
        .flat_map(|(t, ps)| {
            ps.iter()
                .map(move |p| TopicPartition::new(t.to_string(), *p))
        })
        .collect()
}

/// Encodes a subscription (version 3).
pub fn encode_subscription(s: &MemberSubscription) -> Bytes {
    let mut m = ConsumerProtocolSubscription::default();
    m.topics = s.topics.to_vec();
    m.user_data = s.user_data.clone();
    m.owned_partitions = group_by_topic(&s.owned)
        .into_iter()
        .map(|(t, ps)| {
            let mut o = OwnedTopic::default();
            o.topic = name(t);
            o.partitions = ps;
            o
        })
        .collect();
    m.generation_id = s.generation;
    m.rack_id = s.rack_id.clone();
    encode_blob(&m)
}

/// Decodes a subscription of any version (newer ones are read as version 3, which their
/// layout extends).
pub fn decode_subscription(mut bytes: Bytes) -> Result<MemberSubscription> {
    let version = read_version(&mut bytes, "subscription")?;
    let m: ConsumerProtocolSubscription = decode_blob(bytes, version, "subscription")?;
    Ok(MemberSubscription {
        topics: m.topics.iter().map(|t| t.to_string()).collect(),
        user_data: m.user_data,
        owned: flatten(m.owned_partitions.iter().map(|t| (&t.topic, &t.partitions))),
        generation: if version >= 2 { m.generation_id } else { -1 },
        rack_id: m.rack_id.map(|r| r.to_string()),
    })
}

/// Encodes an assignment (version 3).
pub fn encode_assignment(a: &MemberAssignment) -> Bytes {
    let mut m = ConsumerProtocolAssignment::default();
    m.assigned_partitions = group_by_topic(&a.partitions)
        .into_iter()
        .map(|(t, ps)| {
            let mut o = AssignedTopic::default();
            o.topic = name(t);
            o.partitions = ps;
            o
        })
        .collect();
    m.user_data = a.user_data.clone();
    encode_blob(&m)
}

/// Decodes an assignment; empty bytes are an empty assignment (the broker sends none to a
/// member the leader left out).
pub fn decode_assignment(mut bytes: Bytes) -> Result<MemberAssignment> {
    if bytes.is_empty() {
        return Ok(MemberAssignment::default());
    }
    let version = read_version(&mut bytes, "assignment")?;
    let m: ConsumerProtocolAssignment = decode_blob(bytes, version, "assignment")?;
    Ok(MemberAssignment {
        partitions: flatten(
            m.assigned_partitions
                .iter()
                .map(|t| (&t.topic, &t.partitions)),
        ),
        user_data: m.user_data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_java_version_1_subscription_decodes() {
        // Java 2.4's layout: version 1, topics ["t"], null user data, owned [t: 0, 2].
        let mut b = BytesMut::new();
        b.put_i16(1);
        b.put_i32(1);
        b.put_i16(1);
        b.put_slice(b"t");
        b.put_i32(-1);
        b.put_i32(1);
        b.put_i16(1);
        b.put_slice(b"t");
        b.put_i32(2);
        b.put_i32(0);
        b.put_i32(2);
        let s = decode_subscription(b.freeze()).unwrap();
        assert_eq!(s.topics, vec!["t"]);
        assert_eq!(s.user_data, None);
        assert_eq!(
            s.owned,
            vec![TopicPartition::new("t", 0), TopicPartition::new("t", 2)]
        );
        assert_eq!(s.generation, -1);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [&b"\x00"[..], b"\x00\x03\xff\xff\xff\x7f", b"\xff\xff"] {
            assert!(decode_subscription(Bytes::copy_from_slice(bytes)).is_err());
            assert!(decode_assignment(Bytes::copy_from_slice(bytes)).is_err());
        }
        assert_eq!(
            decode_assignment(Bytes::new()).unwrap(),
            MemberAssignment::default()
        );
    }

    fn tps() -> impl Strategy<Value = Vec<TopicPartition>> {
        proptest::collection::btree_set(("[a-c]{1,3}", 0..50i32), 0..20).prop_map(|s| {
            s.into_iter()
                .map(|(t, p)| TopicPartition::new(t, p))
                .collect()
        })
    }

    proptest! {
        #[test]
        fn subscriptions_round_trip(topics in proptest::collection::vec("[a-z.]{1,10}", 0..5),
                                    owned in tps(), generation in -1..1000i32,
                                    user in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..16)),
                                    rack in proptest::option::of("[a-z]{1,4}")) {
            let s = MemberSubscription { topics, user_data: user.map(Bytes::from), owned, generation, rack_id: rack };
            let mut back = decode_subscription(encode_subscription(&s)).unwrap();
            back.owned.sort();
            let mut want = s.clone();
            want.owned.sort();
            prop_assert_eq!(back, want);
        }

        #[test]
        fn assignments_round_trip(parts in tps(), user in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..16))) {
            let a = MemberAssignment { partitions: parts, user_data: user.map(Bytes::from) };
            let mut back = decode_assignment(encode_assignment(&a)).unwrap();
            back.partitions.sort();
            let mut want = a.clone();
            want.partitions.sort();
            prop_assert_eq!(back, want);
        }
    }
}
