//! Consumer group administration: list, describe (ConsumerGroupDescribe for `consumer` groups,
//! DescribeGroups for classic ones), delete, and the group's committed offsets (fetch, set,
//! reset).

use std::collections::{BTreeMap, BTreeSet};

use crate::protocol::messages::{
    ConsumerGroupDescribeRequest, DeleteGroupsRequest, DescribeGroupsRequest, ListGroupsRequest,
};

use super::Admin;
use crate::cluster::coordinator::find_coordinator_retrying;
use crate::cluster::CoordinatorType;
use crate::error::{Error, ErrorKind, ResponseError, Result};
use crate::events::TopicPartition;
use crate::groups::offsets::{self, CommitOffset, Committer};
use crate::groups::wire;
use crate::net::{Connection, Lane};

/// A group as `list_groups` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    /// Group id.
    pub group_id: String,
    /// `consumer` (KIP-848), `classic`, `share`, ... (empty from brokers before ListGroups v5).
    pub group_type: String,
    /// State, for example `Stable`, `Empty`, `Reconciling`, `Assigning`.
    pub state: String,
    /// The embedded protocol type of classic groups (`consumer`), empty otherwise.
    pub protocol_type: String,
}

/// A group type, to filter [`Admin::list_groups`] by (Java `GroupType`).
///
/// ```
/// use kafkit::admin::GroupType;
/// assert_eq!("Consumer".parse::<GroupType>()?, GroupType::Consumer);
/// assert_eq!(GroupType::Share.as_str(), "share");
/// assert!("queue".parse::<GroupType>().is_err());
/// # Ok::<(), kafkit::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GroupType {
    /// A classic group (JoinGroup/SyncGroup).
    Classic,
    /// A KIP-848 `consumer` group.
    Consumer,
    /// A KIP-932 share group.
    Share,
    /// A KIP-1071 streams group.
    Streams,
}

impl GroupType {
    /// The name the protocol uses.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupType::Classic => "classic",
            GroupType::Consumer => "consumer",
            GroupType::Share => "share",
            GroupType::Streams => "streams",
        }
    }
}

impl std::str::FromStr for GroupType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        [
            GroupType::Classic,
            GroupType::Consumer,
            GroupType::Share,
            GroupType::Streams,
        ]
        .into_iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(s))
        .ok_or_else(|| {
            Error::config(format!(
                "group type '{s}' is not one of classic, consumer, share, streams"
            ))
        })
    }
}

impl std::fmt::Display for GroupType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A group state, to filter [`Admin::list_groups`] by (Java `GroupState`). Which states a
/// group passes through depends on its type: classic groups rebalance through
/// `PreparingRebalance` and `CompletingRebalance`, `consumer` groups through `Assigning` and
/// `Reconciling`.
///
/// ```
/// use kafkit::admin::GroupState;
/// // The protocol's spelling, Java's enum name, any case.
/// assert_eq!("PreparingRebalance".parse::<GroupState>()?, GroupState::PreparingRebalance);
/// assert_eq!("PREPARING_REBALANCE".parse::<GroupState>()?, GroupState::PreparingRebalance);
/// assert_eq!("stable".parse::<GroupState>()?, GroupState::Stable);
/// # Ok::<(), kafkit::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GroupState {
    /// Members agree on their assignment.
    Stable,
    /// No members (offsets may remain).
    Empty,
    /// Being removed.
    Dead,
    /// Classic: members are (re)joining.
    PreparingRebalance,
    /// Classic: waiting for the leader's assignment.
    CompletingRebalance,
    /// `consumer`: the coordinator is computing a target assignment.
    Assigning,
    /// `consumer`: members are moving to the target assignment.
    Reconciling,
    /// A streams group whose topics are not ready.
    NotReady,
    /// A state the broker did not name.
    Unknown,
}

const GROUP_STATES: [GroupState; 9] = [
    GroupState::Stable,
    GroupState::Empty,
    GroupState::Dead,
    GroupState::PreparingRebalance,
    GroupState::CompletingRebalance,
    GroupState::Assigning,
    GroupState::Reconciling,
    GroupState::NotReady,
    GroupState::Unknown,
];

impl GroupState {
    /// The name the protocol uses (`PreparingRebalance`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            GroupState::Stable => "Stable",
            GroupState::Empty => "Empty",
            GroupState::Dead => "Dead",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Assigning => "Assigning",
            GroupState::Reconciling => "Reconciling",
            GroupState::NotReady => "NotReady",
            GroupState::Unknown => "Unknown",
        }
    }
}

impl std::str::FromStr for GroupState {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let plain: String = s.chars().filter(|c| *c != '_' && *c != '-').collect();
        GROUP_STATES
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(&plain))
            .ok_or_else(|| {
                let all: Vec<&str> = GROUP_STATES.iter().map(|t| t.as_str()).collect();
                Error::config(format!(
                    "group state '{s}' is not one of {}",
                    all.join(", ")
                ))
            })
    }
}

impl std::fmt::Display for GroupState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The group protocol a described group uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    /// KIP-848 `consumer` group.
    Consumer,
    /// Classic group.
    Classic,
}

/// One member of a described group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    /// Member id.
    pub member_id: String,
    /// Static membership id.
    pub instance_id: Option<String>,
    /// Client id and host.
    pub client_id: String,
    /// Host the member connects from.
    pub client_host: String,
    /// Rack (consumer groups).
    pub rack_id: Option<String>,
    /// Member epoch (consumer groups; -1 for classic).
    pub member_epoch: i32,
    /// Subscribed topic names.
    pub subscribed_topics: Vec<String>,
    /// Subscribed regular expression (consumer groups).
    pub subscribed_regex: Option<String>,
    /// Partitions the member owns (classic: its assignment of the current generation).
    pub assignment: Vec<TopicPartition>,
    /// Partitions the coordinator wants it to own (consumer groups).
    pub target_assignment: Vec<TopicPartition>,
}

/// A described group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    /// Group id.
    pub group_id: String,
    /// Protocol of the group.
    pub kind: GroupKind,
    /// State.
    pub state: String,
    /// Group epoch (consumer groups; -1 for classic).
    pub group_epoch: i32,
    /// Epoch of the target assignment (consumer groups; -1 for classic).
    pub assignment_epoch: i32,
    /// Server assignor (consumer groups) or the chosen client protocol (classic).
    pub assignor: String,
    /// Members.
    pub members: Vec<MemberDescription>,
}

/// A committed offset of a group, with the partition's end offset and the lag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOffset {
    /// Partition.
    pub partition: TopicPartition,
    /// Committed offset.
    pub committed: i64,
    /// End offset (high watermark) now.
    pub end: i64,
    /// `end - committed`.
    pub lag: i64,
}

/// Where `reset_group_offsets` moves a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    /// To the earliest offset of each partition.
    Earliest,
    /// To the end of each partition.
    Latest,
    /// To this offset on every partition.
    To(i64),
}

/// A member for `remove_group_members` to remove.
///
/// ```
/// use kafkit::admin::MemberToRemove;
/// let m = MemberToRemove::Static("reporting-1".into());
/// # let _ = m;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberToRemove {
    /// A static member, by its `group.instance.id`.
    Static(String),
    /// A member by its member id (as `describe_groups` shows it).
    Id(String),
}

fn group_id(s: &str) -> String {
    s.to_string()
}

fn tps(
    a: &crate::protocol::messages::consumer_group_describe_response::Assignment,
) -> Vec<TopicPartition> {
    let mut out: Vec<TopicPartition> = a
        .topic_partitions
        .iter()
        .flat_map(|t| {
            let name = if t.topic_name.is_empty() {
                t.topic_id.to_string()
            } else {
                t.topic_name.to_string()
            };
            t.partitions
                .iter()
                .map(move |p| TopicPartition::new(name.clone(), *p))
        })
        .collect();
    out.sort();
    out
}

impl Admin {
    pub(super) async fn coordinator(&self, group: &str) -> Result<Connection> {
        if group.is_empty() {
            return Err(Error::config("the group id is empty"));
        }
        let node = find_coordinator_retrying(
            self.kafka.pool(),
            &self.kafka.config().retry,
            CoordinatorType::Group,
            group,
        )
        .await?;
        self.kafka.pool().get(node, Lane::General).await
    }

    /// Lists the groups of every broker, filtered by type and state (an empty filter lets
    /// every group through). Brokers too old to filter are filtered here.
    ///
    /// ```no_run
    /// # async fn demo(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// use kafkit::admin::{GroupState, GroupType};
    /// let idle = admin
    ///     .list_groups(&[GroupType::Consumer, GroupType::Classic], &[GroupState::Empty])
    ///     .await?;
    /// let every_group = admin.list_groups(&[], &[]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn list_groups(
        &self,
        types: &[GroupType],
        states: &[GroupState],
    ) -> Result<Vec<GroupListing>> {
        let brokers: Vec<i32> = self
            .kafka
            .cluster()
            .snapshot()
            .brokers
            .keys()
            .copied()
            .collect();
        let mut out = BTreeMap::new();
        for node in brokers {
            let conn = self.kafka.pool().get(node, Lane::General).await?;
            let version = conn.version::<ListGroupsRequest>()?;
            let mut req = ListGroupsRequest::default();
            if version >= 4 {
                req.states_filter = states.iter().map(|s| s.as_str().to_string()).collect();
            }
            if version >= 5 {
                req.types_filter = types.iter().map(|t| t.as_str().to_string()).collect();
            }
            let resp = conn
                .send_version(&req, version)
                .await
                .map_err(|e| e.during("list_groups"))?;
            Error::check(resp.error_code, "list_groups", || format!("broker {node}"))?;
            for g in resp.groups {
                let listing = GroupListing {
                    group_id: g.group_id.to_string(),
                    group_type: g.group_type.to_string(),
                    state: g.group_state.to_string(),
                    protocol_type: g.protocol_type.to_string(),
                };
                // Older brokers ignore the filters: apply them here too.
                let type_ok = types.is_empty()
                    || listing.group_type.is_empty()
                    || types
                        .iter()
                        .any(|t| t.as_str().eq_ignore_ascii_case(&listing.group_type));
                let state_ok = states.is_empty()
                    || states
                        .iter()
                        .any(|s| s.as_str().eq_ignore_ascii_case(&listing.state));
                if type_ok && state_ok {
                    out.insert(listing.group_id.clone(), listing);
                }
            }
        }
        Ok(out.into_values().collect())
    }

    /// Describes groups: `consumer` groups with ConsumerGroupDescribe (members, epochs,
    /// assignments and target assignments), classic ones with DescribeGroups.
    pub async fn describe_groups(&self, groups: &[&str]) -> Result<Vec<GroupDescription>> {
        let mut out = Vec::new();
        for g in groups {
            out.push(self.describe_group(g).await?);
        }
        Ok(out)
    }

    async fn describe_group(&self, group: &str) -> Result<GroupDescription> {
        let conn = self.coordinator(group).await?;
        if conn.api_versions().supports(69) {
            let mut req = ConsumerGroupDescribeRequest::default();
            req.group_ids = vec![group_id(group)];
            let resp = conn
                .send(&req)
                .await
                .map_err(|e| e.during("describe_groups"))?;
            let d = resp.groups.into_iter().next().ok_or_else(|| {
                Error::protocol("describe_groups", "empty ConsumerGroupDescribe response")
            })?;
            match ResponseError::try_from_code(d.error_code) {
                None => {
                    return Ok(GroupDescription {
                        group_id: d.group_id.to_string(),
                        kind: GroupKind::Consumer,
                        state: d.group_state.to_string(),
                        group_epoch: d.group_epoch,
                        assignment_epoch: d.assignment_epoch,
                        assignor: d.assignor_name.to_string(),
                        members: d
                            .members
                            .iter()
                            .map(|m| MemberDescription {
                                member_id: m.member_id.to_string(),
                                instance_id: m.instance_id.as_ref().map(|s| s.to_string()),
                                client_id: m.client_id.to_string(),
                                client_host: m.client_host.to_string(),
                                rack_id: m.rack_id.as_ref().map(|s| s.to_string()),
                                member_epoch: m.member_epoch,
                                subscribed_topics: m
                                    .subscribed_topic_names
                                    .iter()
                                    .map(|t| t.to_string())
                                    .collect(),
                                subscribed_regex: m
                                    .subscribed_topic_regex
                                    .as_ref()
                                    .map(|s| s.to_string()),
                                assignment: tps(&m.assignment),
                                target_assignment: tps(&m.target_assignment),
                            })
                            .collect(),
                    })
                }
                // Not a consumer group (a classic one, or none): ask DescribeGroups. Kafka 3.x
                // lists ConsumerGroupDescribe but answers UNSUPPORTED_VERSION when the consumer
                // protocol is off (always so before 4.0): its groups are all classic.
                Some(ResponseError::GroupIdNotFound | ResponseError::UnsupportedVersion) => {}
                Some(_) => {
                    Error::check(d.error_code, "describe_groups", || {
                        format!(
                            "group '{group}'{}",
                            d.error_message
                                .as_deref()
                                .map(|m| format!(": {m}"))
                                .unwrap_or_default()
                        )
                    })?;
                }
            }
        }
        let mut req = DescribeGroupsRequest::default();
        req.groups = vec![group_id(group)];
        let resp = conn
            .send(&req)
            .await
            .map_err(|e| e.during("describe_groups"))?;
        let d =
            resp.groups.into_iter().next().ok_or_else(|| {
                Error::protocol("describe_groups", "empty DescribeGroups response")
            })?;
        Error::check(d.error_code, "describe_groups", || {
            format!("group '{group}'")
        })?;
        Ok(GroupDescription {
            group_id: d.group_id.to_string(),
            kind: GroupKind::Classic,
            state: d.group_state.to_string(),
            group_epoch: -1,
            assignment_epoch: -1,
            assignor: d.protocol_data.to_string(),
            members: d
                .members
                .iter()
                .map(|m| {
                    // Consumer groups embed the Java consumer protocol; anything else (or bytes
                    // that do not parse) leaves these empty.
                    let consumer = d.protocol_type.as_str() == "consumer";
                    let sub = consumer
                        .then(|| wire::decode_subscription(m.member_metadata.clone()).ok())
                        .flatten()
                        .unwrap_or_default();
                    let assigned = consumer
                        .then(|| wire::decode_assignment(m.member_assignment.clone()).ok())
                        .flatten()
                        .unwrap_or_default();
                    MemberDescription {
                        member_id: m.member_id.to_string(),
                        instance_id: m.group_instance_id.as_ref().map(|s| s.to_string()),
                        client_id: m.client_id.to_string(),
                        client_host: m.client_host.to_string(),
                        rack_id: sub.rack_id,
                        member_epoch: -1,
                        subscribed_topics: sub.topics,
                        subscribed_regex: None,
                        assignment: assigned.partitions.clone(),
                        target_assignment: assigned.partitions,
                    }
                })
                .collect(),
        })
    }

    /// Deletes groups (they must be empty: no live members).
    pub async fn delete_groups(&self, groups: &[&str]) -> Result<()> {
        for g in groups {
            let conn = self.coordinator(g).await?;
            let mut req = DeleteGroupsRequest::default();
            req.groups_names = vec![group_id(g)];
            let resp = conn
                .send(&req)
                .await
                .map_err(|e| e.during("delete_groups"))?;
            for r in resp.results {
                // v3+ may say why (GROUP_DELETION_FAILED carries its cause here).
                let why = r
                    .error_message
                    .filter(|m| !m.is_empty())
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                Error::check(
                    r.error_code,
                    "delete_groups",
                    || match ResponseError::try_from_code(r.error_code) {
                        Some(ResponseError::NonEmptyGroup) => {
                            format!("group '{g}' still has members; stop them first{why}")
                        }
                        _ => format!("group '{g}'{why}"),
                    },
                )?;
            }
        }
        Ok(())
    }

    /// The group's committed offsets, with each partition's end offset and lag.
    pub async fn group_offsets(&self, group: &str) -> Result<Vec<GroupOffset>> {
        let conn = self.coordinator(group).await?;
        let who = Committer {
            group_id: group,
            member_id: "",
            epoch: -1,
            instance_id: None,
        };
        let committed: BTreeMap<TopicPartition, i64> =
            offsets::fetch_committed(&conn, &who, &[], false, &self.kafka.cluster().snapshot())
                .await?
                .into_iter()
                .filter_map(|(tp, o)| o.map(|(offset, _)| (tp, offset)))
                .collect();
        let partitions: Vec<TopicPartition> = committed.keys().cloned().collect();
        let topics: BTreeSet<String> = partitions.iter().map(|tp| tp.topic.clone()).collect();
        if !topics.is_empty() {
            self.kafka
                .cluster()
                .refresh(crate::cluster::TopicSelection::Names(
                    topics.into_iter().collect(),
                ))
                .await?;
        }
        let ends = offsets::list_offsets(&self.kafka, &partitions, offsets::LATEST, false).await?;
        Ok(committed
            .into_iter()
            .map(|(tp, c)| {
                let end = ends.get(&tp).copied().unwrap_or(-1);
                GroupOffset {
                    lag: (end - c).max(0),
                    partition: tp,
                    committed: c,
                    end,
                }
            })
            .collect())
    }

    /// Sets the group's committed offsets. The group must have no live members (the broker
    /// refuses commits from outside a live group).
    pub async fn set_group_offsets(
        &self,
        group: &str,
        offsets_to_set: &[(TopicPartition, i64)],
    ) -> Result<()> {
        if let Some((tp, o)) = offsets_to_set.iter().find(|(_, o)| *o < 0) {
            return Err(Error::config(format!("offset {o} for {tp} is negative")));
        }
        self.commit_group_offsets(group, offsets_to_set).await
    }

    /// [`set_group_offsets`](Self::set_group_offsets), where -2 and -1 are committed as they
    /// are, as KafkaJS's `setOffsets` and `resetOffsets` commit their earliest and latest:
    /// kafkit, the Java client and KafkaJS all read a negative committed offset as none, so
    /// each consumer then starts the partition by its own reset policy (kafkit's
    /// `auto_offset_reset`, KafkaJS's `fromBeginning`), and the group's offsets read back as
    /// -2 or -1. Offsets below -2 are refused.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// let tp = kafkit::TopicPartition::new("orders", 0);
    /// admin.set_group_offsets_keeping_sentinels("billing", &[(tp, -2)]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_group_offsets_keeping_sentinels(
        &self,
        group: &str,
        offsets_to_set: &[(TopicPartition, i64)],
    ) -> Result<()> {
        if let Some((tp, o)) = offsets_to_set.iter().find(|(_, o)| *o < -2) {
            return Err(Error::config(format!(
                "offset {o} for {tp} is invalid: give an offset >= 0, -1 (latest) or -2 (earliest)"
            )));
        }
        self.commit_group_offsets(group, offsets_to_set).await
    }

    async fn commit_group_offsets(
        &self,
        group: &str,
        offsets_to_set: &[(TopicPartition, i64)],
    ) -> Result<()> {
        let conn = self.coordinator(group).await?;
        let who = Committer {
            group_id: group,
            member_id: "",
            epoch: -1,
            instance_id: None,
        };
        let list: Vec<CommitOffset> = offsets_to_set
            .iter()
            .map(|(tp, o)| CommitOffset {
                partition: tp.clone(),
                offset: *o,
                leader_epoch: -1,
            })
            .collect();
        offsets::commit(&conn, &who, &list, &self.kafka.cluster().snapshot()).await.map_err(|e| match e.kafka_error() {
            Some(ResponseError::UnknownMemberId | ResponseError::IllegalGeneration | ResponseError::StaleMemberEpoch | ResponseError::RebalanceInProgress) => Error::new(
                e.kind().clone(),
                "set_group_offsets",
                format!("group '{group}' has live members; stop them before changing its offsets ({e})"),
            ),
            _ => e,
        })
    }

    /// Moves the group's offsets on every partition of `topic` to the earliest, the latest, or
    /// a given offset. Returns what was set.
    pub async fn reset_group_offsets(
        &self,
        group: &str,
        topic: &str,
        to: OffsetReset,
    ) -> Result<Vec<(TopicPartition, i64)>> {
        let meta = self
            .kafka
            .cluster()
            .refresh(crate::cluster::TopicSelection::Names(vec![
                topic.to_string()
            ]))
            .await?;
        let t = meta.topic(topic).ok_or_else(|| {
            Error::new(
                ErrorKind::Kafka(ResponseError::UnknownTopicOrPartition),
                "reset_group_offsets",
                format!("topic '{topic}' does not exist"),
            )
        })?;
        let partitions: Vec<TopicPartition> = t
            .partitions
            .iter()
            .map(|p| TopicPartition::new(topic, p.partition))
            .collect();
        let targets: Vec<(TopicPartition, i64)> = match to {
            OffsetReset::To(o) => partitions.into_iter().map(|tp| (tp, o)).collect(),
            OffsetReset::Earliest | OffsetReset::Latest => {
                let ts = if to == OffsetReset::Earliest {
                    offsets::EARLIEST
                } else {
                    offsets::LATEST
                };
                let found = offsets::list_offsets(&self.kafka, &partitions, ts, false).await?;
                partitions
                    .into_iter()
                    .map(|tp| (tp.clone(), found.get(&tp).copied().unwrap_or(0)))
                    .collect()
            }
        };
        self.set_group_offsets(group, &targets).await?;
        Ok(targets)
    }

    /// Removes members from a group, as if each had left: the group rebalances without them,
    /// and a static member's partitions go to the others at once instead of after its
    /// session timeout. `reason` is logged by the broker. Each member must be in the group
    /// (`UNKNOWN_MEMBER_ID` otherwise, naming it).
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// use kafkit::admin::MemberToRemove;
    /// admin
    ///     .remove_group_members("order-processors", &[MemberToRemove::Static("host-7".into())], Some("decommissioned"))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn remove_group_members(
        &self,
        group: &str,
        members: &[MemberToRemove],
        reason: Option<&str>,
    ) -> Result<()> {
        use crate::protocol::messages::leave_group_request::MemberIdentity;
        use crate::protocol::messages::LeaveGroupRequest;
        if members.is_empty() {
            return Ok(());
        }
        let conn = self.coordinator(group).await?;
        let version = conn.version::<LeaveGroupRequest>()?;
        if version < 3 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "remove_group_members",
                "the broker's LeaveGroup is older than v3; removing other members needs Kafka 2.4+",
            ));
        }
        let mut req = LeaveGroupRequest::default();
        req.group_id = group_id(group);
        req.members = members
            .iter()
            .map(|m| {
                let mut id = MemberIdentity::default();
                match m {
                    MemberToRemove::Static(instance) => {
                        // The coordinator finds a static member by instance id; the
                        // member id it checks is then the unknown one.
                        id.member_id = String::from("");
                        id.group_instance_id = Some(instance.clone());
                    }
                    MemberToRemove::Id(member) => {
                        id.member_id = member.clone();
                    }
                }
                id.reason = reason.map(|r| r.to_string());
                id
            })
            .collect();
        let resp = conn
            .send_version(&req, version)
            .await
            .map_err(|e| e.during("remove_group_members"))?;
        Error::check(resp.error_code, "remove_group_members", || {
            format!("group '{group}'")
        })?;
        for m in &resp.members {
            Error::check(m.error_code, "remove_group_members", || {
                let who = m
                    .group_instance_id
                    .as_ref()
                    .map(|i| format!("static member '{i}'"))
                    .unwrap_or_else(|| format!("member '{}'", m.member_id));
                format!("{who} of group '{group}'")
            })?;
        }
        Ok(())
    }
}
