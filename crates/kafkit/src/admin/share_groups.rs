//! Share group administration (KIP-932): describe (members, assignments), the start offset of
//! each share-partition (where the group's reading begins), and moving those start offsets
//! for a group without active members. Listing and deleting go through `list_groups(&[GroupType::Share], ..)`
//! and `delete_groups`, as for other groups.

use crate::protocol::messages::alter_share_group_offsets_request::{
    AlterShareGroupOffsetsRequestPartition, AlterShareGroupOffsetsRequestTopic,
};
use crate::protocol::messages::describe_share_group_offsets_request::DescribeShareGroupOffsetsRequestGroup;
use crate::protocol::messages::{
    AlterShareGroupOffsetsRequest, DescribeShareGroupOffsetsRequest, ShareGroupDescribeRequest,
};

use super::Admin;
use crate::error::{Error, ErrorKind, Result};
use crate::events::TopicPartition;
use crate::groups::offsets;

/// A described share group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareGroupDescription {
    /// Group id.
    pub group_id: String,
    /// `Empty`, `Stable`, `Dead`, ...
    pub state: String,
    /// Group epoch.
    pub group_epoch: i32,
    /// Epoch of the current assignment.
    pub assignment_epoch: i32,
    /// The broker's assignor for the group.
    pub assignor: String,
    /// Members.
    pub members: Vec<ShareMemberDescription>,
}

/// One member of a share group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareMemberDescription {
    /// Member id.
    pub member_id: String,
    /// Rack.
    pub rack_id: Option<String>,
    /// Member epoch.
    pub member_epoch: i32,
    /// Client id.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
    /// Subscribed topics.
    pub subscribed_topics: Vec<String>,
    /// Partitions assigned (other members may be assigned the same ones).
    pub assignment: Vec<TopicPartition>,
}

fn group_id(s: &str) -> String {
    s.to_string()
}

impl Admin {
    /// Describes share groups: state, assignor and each member with its assignment.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// for m in &admin.describe_share_groups(&["work-queue"]).await?[0].members {
    ///     println!("{} reads {:?}", m.member_id, m.assignment);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn describe_share_groups(
        &self,
        groups: &[&str],
    ) -> Result<Vec<ShareGroupDescription>> {
        let mut out = Vec::new();
        for g in groups {
            let conn = self.coordinator(g).await?;
            if !conn.api_versions().supports(77) {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "describe_share_groups",
                    format!(
                        "the broker at {} has no share groups (KIP-932); use Apache Kafka 4.2+",
                        conn.addr()
                    ),
                ));
            }
            let mut req = ShareGroupDescribeRequest::default();
            req.group_ids = vec![group_id(g)];
            let resp = conn
                .send(&req)
                .await
                .map_err(|e| e.during("describe_share_groups"))?;
            let d = resp.groups.into_iter().next().ok_or_else(|| {
                Error::protocol("describe_share_groups", "empty ShareGroupDescribe response")
            })?;
            Error::check(d.error_code, "describe_share_groups", || {
                format!(
                    "share group '{g}'{}",
                    d.error_message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                )
            })?;
            out.push(ShareGroupDescription {
                group_id: d.group_id.to_string(),
                state: d.group_state.to_string(),
                group_epoch: d.group_epoch,
                assignment_epoch: d.assignment_epoch,
                assignor: d.assignor_name.to_string(),
                members: d
                    .members
                    .iter()
                    .map(|m| {
                        let mut assignment: Vec<TopicPartition> = m
                            .assignment
                            .topic_partitions
                            .iter()
                            .flat_map(|t| {
                                let name = t.topic_name.to_string();
                                t.partitions
                                    .iter()
                                    .map(move |p| TopicPartition::new(name.clone(), *p))
                            })
                            .collect();
                        assignment.sort();
                        ShareMemberDescription {
                            member_id: m.member_id.to_string(),
                            rack_id: m.rack_id.as_ref().map(|s| s.to_string()),
                            member_epoch: m.member_epoch,
                            client_id: m.client_id.to_string(),
                            client_host: m.client_host.to_string(),
                            subscribed_topics: m
                                .subscribed_topic_names
                                .iter()
                                .map(|t| t.to_string())
                                .collect(),
                            assignment,
                        }
                    })
                    .collect(),
            });
        }
        Ok(out)
    }

    /// The start offset of each of the group's share-partitions (records before it are done
    /// for the group); partitions the group has not read yet are left out.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// for (tp, start) in admin.share_group_offsets("work-queue").await? {
    ///     println!("{tp} starts at {start}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn share_group_offsets(&self, group: &str) -> Result<Vec<(TopicPartition, i64)>> {
        let conn = self.coordinator(group).await?;
        let mut g = DescribeShareGroupOffsetsRequestGroup::default();
        g.group_id = group_id(group);
        g.topics = None; // every topic the group has state for
        let mut req = DescribeShareGroupOffsetsRequest::default();
        req.groups = vec![g];
        let resp = conn
            .send(&req)
            .await
            .map_err(|e| e.during("share_group_offsets"))?;
        let mut out = Vec::new();
        for g in resp.groups {
            Error::check(g.error_code, "share_group_offsets", || {
                format!("share group '{group}'")
            })?;
            for t in g.topics {
                for p in t.partitions {
                    if p.error_code == 0 && p.start_offset >= 0 {
                        out.push((
                            TopicPartition::new(t.topic_name.to_string(), p.partition_index),
                            p.start_offset,
                        ));
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Moves the group's start offsets (the group must have no active members: stop them
    /// first). Records before a start offset are skipped by the group; after it, read again.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// use kafkit::TopicPartition;
    /// admin.alter_share_group_offsets("work-queue", &[(TopicPartition::new("jobs", 0), 0)]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn alter_share_group_offsets(
        &self,
        group: &str,
        offsets: &[(TopicPartition, i64)],
    ) -> Result<()> {
        let conn = self.coordinator(group).await?;
        let mut by_topic: std::collections::BTreeMap<&str, Vec<(i32, i64)>> = Default::default();
        for (tp, o) in offsets {
            by_topic
                .entry(&tp.topic)
                .or_default()
                .push((tp.partition, *o));
        }
        let mut req = AlterShareGroupOffsetsRequest::default();
        req.group_id = group_id(group);
        req.topics = by_topic
            .into_iter()
            .map(|(t, ps)| {
                let mut topic = AlterShareGroupOffsetsRequestTopic::default();
                topic.topic_name = t.to_string();
                topic.partitions = ps
                    .into_iter()
                    .map(|(p, o)| {
                        let mut part = AlterShareGroupOffsetsRequestPartition::default();
                        part.partition_index = p;
                        part.start_offset = o;
                        part
                    })
                    .collect();
                topic
            })
            .collect();
        let resp = conn
            .send(&req)
            .await
            .map_err(|e| e.during("alter_share_group_offsets"))?;
        Error::check(resp.error_code, "alter_share_group_offsets", || {
            format!(
                "share group '{group}'{}; a group with active members cannot be moved: stop them first",
                resp.error_message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
            )
        })?;
        for t in resp.responses {
            for p in t.partitions {
                Error::check(p.error_code, "alter_share_group_offsets", || {
                    format!(
                        "{}-{}{}",
                        t.topic_name,
                        p.partition_index,
                        p.error_message
                            .as_deref()
                            .map(|m| format!(": {m}"))
                            .unwrap_or_default()
                    )
                })?;
            }
        }
        Ok(())
    }

    /// Moves every partition of `topic` in the share group to its earliest (`earliest`) or
    /// latest offset; returns the offsets set.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// admin.reset_share_group_offsets("work-queue", "jobs", true).await?;
    /// # Ok(()) }
    /// ```
    pub async fn reset_share_group_offsets(
        &self,
        group: &str,
        topic: &str,
        earliest: bool,
    ) -> Result<Vec<(TopicPartition, i64)>> {
        let info = self.describe_topics(&[topic]).await?;
        let tps: Vec<TopicPartition> = info[0]
            .partitions
            .iter()
            .map(|p| TopicPartition::new(topic, p.partition))
            .collect();
        let ts = if earliest {
            offsets::EARLIEST
        } else {
            offsets::LATEST
        };
        let mut found: Vec<(TopicPartition, i64)> =
            offsets::list_offsets(&self.kafka, &tps, ts, false)
                .await?
                .into_iter()
                .collect();
        found.sort();
        self.alter_share_group_offsets(group, &found).await?;
        Ok(found)
    }
}
