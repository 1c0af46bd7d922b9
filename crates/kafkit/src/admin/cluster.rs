//! The cluster: its description (DescribeCluster, KIP-700), finalized and supported features,
//! log directories, leader elections (preferred and unclean) and partition reassignments.

use std::collections::BTreeMap;

use crate::protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use crate::protocol::messages::elect_leaders_request::TopicPartitions;
use crate::protocol::messages::list_partition_reassignments_request::ListPartitionReassignmentsTopics;
use crate::protocol::messages::{
    AlterPartitionReassignmentsRequest, ApiVersionsRequest, DescribeClusterRequest,
    DescribeLogDirsRequest, ElectLeadersRequest, ListPartitionReassignmentsRequest,
};

use super::{check, str_bytes, topic_name, Admin};
use crate::cluster::{BrokerInfo, TopicSelection};
use crate::error::{Error, ErrorKind, ResponseError, Result};
use crate::events::TopicPartition;

/// Brokers, controller and cluster id.
///
/// ```no_run
/// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
/// let c = admin.describe_cluster().await?;
/// for b in &c.brokers {
///     println!("{} at {} rack {:?}", b.node_id, b.addr(), b.rack);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClusterDescription {
    /// Cluster id.
    pub cluster_id: Option<String>,
    /// Controller node id as the brokers report it (KRaft brokers name a random broker:
    /// clients never reach the controller quorum directly).
    pub controller_id: i32,
    /// Brokers, sorted by node id, fenced ones included (Kafka 4.0+: older brokers list only
    /// the unfenced ones).
    pub brokers: Vec<BrokerInfo>,
    /// Node ids of the fenced brokers (registered but not serving; always empty before Kafka
    /// 4.0, whose DescribeCluster cannot report them).
    pub fenced: Vec<i32>,
}

/// One feature of the cluster (KIP-584), e.g. `metadata.version`, `group.version`.
///
/// ```no_run
/// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
/// let f = admin.describe_features().await?;
/// println!("group.version {:?}", f.finalized.iter().find(|x| x.name == "group.version"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    /// Name.
    pub name: String,
    /// Lowest level.
    pub min: i16,
    /// Highest level.
    pub max: i16,
}

/// The finalized features (in force in the cluster) and the ones the answering broker supports.
///
/// ```no_run
/// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
/// let f = admin.describe_features().await?;
/// println!("epoch {}: {} finalized", f.finalized_epoch, f.finalized.len());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Features {
    /// Finalized features, by name.
    pub finalized: Vec<Feature>,
    /// The epoch of the finalized set (-1 if unknown).
    pub finalized_epoch: i64,
    /// Features the broker supports, with the levels it can run.
    pub supported: Vec<Feature>,
}

/// A partition's replica in a log directory.
///
/// ```no_run
/// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
/// for dir in admin.describe_log_dirs(&[]).await? {
///     for p in &dir.partitions { println!("{} {} bytes", p.partition, p.size); }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDirPartition {
    /// Partition.
    pub partition: TopicPartition,
    /// Bytes on disk.
    pub size: i64,
    /// How far the replica lags the leader's high watermark (0 on the leader).
    pub offset_lag: i64,
    /// Whether this is a future replica (a move between directories in progress).
    pub is_future: bool,
}

/// One log directory of one broker.
///
/// ```no_run
/// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
/// for d in admin.describe_log_dirs(&[1]).await? {
///     println!("broker {} {}: {:?} of {:?} bytes free", d.broker, d.path, d.usable_bytes, d.total_bytes);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDir {
    /// Node id of the broker.
    pub broker: i32,
    /// Path on the broker.
    pub path: String,
    /// The directory's error (for example `KAFKA_STORAGE_ERROR` when it is offline).
    pub error: Option<Error>,
    /// Size of its volume (DescribeLogDirs v4+).
    pub total_bytes: Option<i64>,
    /// Free space of its volume (DescribeLogDirs v4+).
    pub usable_bytes: Option<i64>,
    /// Replicas it holds, sorted by partition.
    pub partitions: Vec<LogDirPartition>,
}

/// Which leader an election picks.
///
/// ```
/// use kafkit::admin::ElectionType;
/// assert_eq!("unclean".parse::<ElectionType>().unwrap(), ElectionType::Unclean);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionType {
    /// The first replica of the assignment, if it is in sync.
    Preferred,
    /// Any live replica when no in-sync one is left (records may be lost).
    Unclean,
}

impl std::str::FromStr for ElectionType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "preferred" => Ok(ElectionType::Preferred),
            "unclean" => Ok(ElectionType::Unclean),
            _ => Err(Error::config(format!(
                "'{s}' is not an election type; use preferred or unclean"
            ))),
        }
    }
}

/// An ongoing partition reassignment.
///
/// ```no_run
/// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
/// for r in admin.list_partition_reassignments(&[]).await? {
///     println!("{}: {:?} (+{:?} -{:?})", r.partition, r.replicas, r.adding, r.removing);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reassignment {
    /// Partition.
    pub partition: TopicPartition,
    /// Replicas now (old and new during the move).
    pub replicas: Vec<i32>,
    /// Replicas being added.
    pub adding: Vec<i32>,
    /// Replicas being removed.
    pub removing: Vec<i32>,
}

fn by_topic(partitions: &[TopicPartition]) -> BTreeMap<&str, Vec<i32>> {
    let mut m: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in partitions {
        let v = m.entry(tp.topic.as_str()).or_default();
        if !v.contains(&tp.partition) {
            v.push(tp.partition);
        }
    }
    m
}

impl Admin {
    /// Brokers (with racks and fenced ones), controller and cluster id, from DescribeCluster;
    /// from Metadata on brokers without it.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// let c = admin.describe_cluster().await?;
    /// println!("cluster {:?}: {} brokers, {} fenced", c.cluster_id, c.brokers.len(), c.fenced.len());
    /// # Ok(()) }
    /// ```
    pub async fn describe_cluster(&self) -> Result<ClusterDescription> {
        let conn = self.connection().await?;
        if !conn.api_versions().supports(60) {
            let snap = self
                .kafka
                .cluster()
                .refresh(TopicSelection::Names(Vec::new()))
                .await?;
            let mut brokers: Vec<BrokerInfo> = snap.brokers.values().cloned().collect();
            brokers.sort_by_key(|b| b.node_id);
            return Ok(ClusterDescription {
                cluster_id: snap.cluster_id.clone(),
                controller_id: snap.controller_id,
                brokers,
                fenced: Vec::new(),
            });
        }
        let version = conn.version::<DescribeClusterRequest>()?;
        let mut req = DescribeClusterRequest::default();
        req.endpoint_type = 1; // brokers (2 would be the controllers, KIP-919)
                               // v2 (Kafka 4.0) lists fenced brokers; older brokers cannot, and the encoder refuses
                               // a field the version lacks.
        req.include_fenced_brokers = version >= 2;
        let resp = conn
            .send_version(&req, version)
            .await
            .map_err(|e| e.during("describe_cluster"))?;
        check(
            resp.error_code,
            resp.error_message.as_ref(),
            "describe_cluster",
            || "DescribeCluster".to_string(),
        )?;
        let mut brokers: Vec<BrokerInfo> = resp
            .brokers
            .iter()
            .map(|b| BrokerInfo {
                node_id: b.broker_id,
                host: b.host.to_string(),
                port: b.port,
                rack: b.rack.as_ref().map(|r| r.to_string()),
            })
            .collect();
        brokers.sort_by_key(|b| b.node_id);
        let mut fenced: Vec<i32> = resp
            .brokers
            .iter()
            .filter(|b| b.is_fenced)
            .map(|b| b.broker_id)
            .collect();
        fenced.sort();
        Ok(ClusterDescription {
            cluster_id: Some(resp.cluster_id.to_string()).filter(|c| !c.is_empty()),
            controller_id: resp.controller_id,
            brokers,
            fenced,
        })
    }

    /// The cluster's features (KIP-584), from an ApiVersions exchange with any broker.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// let f = admin.describe_features().await?;
    /// for x in &f.finalized { println!("{} = {}", x.name, x.max); }
    /// # Ok(()) }
    /// ```
    pub async fn describe_features(&self) -> Result<Features> {
        let conn = self.connection().await?;
        let mut req = ApiVersionsRequest::default();
        req.client_software_name = str_bytes("kafkit");
        req.client_software_version = str_bytes(env!("CARGO_PKG_VERSION"));
        let resp = conn
            .send(&req)
            .await
            .map_err(|e| e.during("describe_features"))?;
        Error::check(resp.error_code, "describe_features", || {
            format!("broker {}", conn.addr())
        })?;
        let mut finalized: Vec<Feature> = resp
            .finalized_features
            .iter()
            .map(|f| Feature {
                name: f.name.to_string(),
                min: f.min_version_level,
                max: f.max_version_level,
            })
            .collect();
        finalized.sort_by(|a, b| a.name.cmp(&b.name));
        let mut supported: Vec<Feature> = resp
            .supported_features
            .iter()
            .map(|f| Feature {
                name: f.name.to_string(),
                min: f.min_version,
                max: f.max_version,
            })
            .collect();
        supported.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Features {
            finalized,
            finalized_epoch: resp.finalized_features_epoch,
            supported,
        })
    }

    /// The log directories of these brokers (every broker when `brokers` is empty), with the
    /// replicas each holds. A broker that cannot be reached fails the call.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// let dirs = admin.describe_log_dirs(&[]).await?;
    /// let bytes: i64 = dirs.iter().flat_map(|d| &d.partitions).map(|p| p.size).sum();
    /// # Ok(()) }
    /// ```
    pub async fn describe_log_dirs(&self, brokers: &[i32]) -> Result<Vec<LogDir>> {
        let nodes: Vec<i32> = if brokers.is_empty() {
            let mut all: Vec<i32> = self
                .describe_cluster()
                .await?
                .brokers
                .iter()
                .map(|b| b.node_id)
                .collect();
            all.sort();
            all
        } else {
            brokers.to_vec()
        };
        let mut out = Vec::new();
        for node in nodes {
            let conn = self.broker(node).await?;
            let mut req = DescribeLogDirsRequest::default();
            req.topics = None; // every topic
            let resp = conn
                .send(&req)
                .await
                .map_err(|e| e.during("describe_log_dirs"))?;
            Error::check(resp.error_code, "describe_log_dirs", || {
                format!("broker {node}")
            })?;
            for r in resp.results {
                let mut partitions: Vec<LogDirPartition> = r
                    .topics
                    .iter()
                    .flat_map(|t| {
                        t.partitions.iter().map(move |p| LogDirPartition {
                            partition: TopicPartition::new(t.name.to_string(), p.partition_index),
                            size: p.partition_size,
                            offset_lag: p.offset_lag,
                            is_future: p.is_future_key,
                        })
                    })
                    .collect();
                partitions.sort_by(|a, b| a.partition.cmp(&b.partition));
                let path = r.log_dir.to_string();
                out.push(LogDir {
                    broker: node,
                    error: Error::from_code(
                        r.error_code,
                        "describe_log_dirs",
                        format!("broker {node} dir {path}"),
                    ),
                    path,
                    // -1 from brokers before v4 (and when the volume cannot be read).
                    total_bytes: Some(r.total_bytes).filter(|b| *b >= 0),
                    usable_bytes: Some(r.usable_bytes).filter(|b| *b >= 0),
                    partitions,
                });
            }
        }
        Ok(out)
    }

    /// Elects leaders: `Preferred` moves each partition's leadership back to its first
    /// replica; `Unclean` lets an out-of-sync replica lead a partition that has none.
    /// `partitions` empty means every partition (preferred elections only make sense for
    /// those not led by their preferred replica). A partition whose leader is already the one
    /// asked for (`ELECTION_NOT_NEEDED`) is not an error; the ones elected are returned.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// use kafkit::{admin::ElectionType, TopicPartition};
    /// admin.elect_leaders(ElectionType::Preferred, &[TopicPartition::new("orders", 0)]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn elect_leaders(
        &self,
        election: ElectionType,
        partitions: &[TopicPartition],
    ) -> Result<Vec<TopicPartition>> {
        let conn = self.connection().await?;
        let version = conn.version::<ElectLeadersRequest>()?;
        if election == ElectionType::Unclean && version < 1 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "elect_leaders",
                "the broker only runs preferred elections (ElectLeaders v0); unclean ones need Kafka 2.4+",
            ));
        }
        let mut req = ElectLeadersRequest::default();
        req.election_type = match election {
            ElectionType::Preferred => 0,
            ElectionType::Unclean => 1,
        };
        req.timeout_ms = self.timeout_ms();
        req.topic_partitions = (!partitions.is_empty()).then(|| {
            by_topic(partitions)
                .into_iter()
                .map(|(t, parts)| {
                    let mut tp = TopicPartitions::default();
                    tp.topic = topic_name(t);
                    tp.partitions = parts;
                    tp
                })
                .collect()
        });
        let resp = conn
            .send_version(&req, version)
            .await
            .map_err(|e| e.during("elect_leaders"))?;
        Error::check(resp.error_code, "elect_leaders", || {
            "the controller refused the election".to_string()
        })?;
        let mut elected = Vec::new();
        for t in &resp.replica_election_results {
            for p in &t.partition_result {
                let tp = TopicPartition::new(t.topic.to_string(), p.partition_id);
                if ResponseError::try_from_code(p.error_code)
                    == Some(ResponseError::ElectionNotNeeded)
                {
                    continue;
                }
                check(
                    p.error_code,
                    p.error_message.as_ref(),
                    "elect_leaders",
                    || tp.to_string(),
                )?;
                elected.push(tp);
            }
        }
        elected.sort();
        let _ = self
            .kafka
            .cluster()
            .refresh(TopicSelection::Names(
                by_topic(&elected).keys().map(|t| t.to_string()).collect(),
            ))
            .await;
        Ok(elected)
    }

    /// Starts moving partitions to new replicas (`Some(brokers)`, the first one preferred as
    /// leader) or cancels an ongoing move (`None`). Returns when the controller has accepted
    /// the change; the data moves afterwards (watch it with
    /// [`list_partition_reassignments`](Self::list_partition_reassignments)).
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// use kafkit::TopicPartition;
    /// admin
    ///     .alter_partition_reassignments(&[(TopicPartition::new("orders", 0), Some(vec![2, 3, 1]))])
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn alter_partition_reassignments(
        &self,
        moves: &[(TopicPartition, Option<Vec<i32>>)],
    ) -> Result<()> {
        if moves.is_empty() {
            return Ok(());
        }
        if let Some((tp, _)) = moves
            .iter()
            .find(|(_, r)| r.as_ref().is_some_and(|r| r.is_empty()))
        {
            return Err(Error::config(format!(
                "no replicas for {tp}: give the new replica list, or None to cancel a move"
            )));
        }
        let mut topics: BTreeMap<&str, Vec<ReassignablePartition>> = BTreeMap::new();
        for (tp, replicas) in moves {
            let mut p = ReassignablePartition::default();
            p.partition_index = tp.partition;
            p.replicas = replicas.as_ref().map(|r| r.to_vec());
            topics.entry(tp.topic.as_str()).or_default().push(p);
        }
        let conn = self.connection().await?;
        let mut req = AlterPartitionReassignmentsRequest::default();
        req.timeout_ms = self.timeout_ms();
        req.allow_replication_factor_change = true;
        req.topics = topics
            .into_iter()
            .map(|(t, partitions)| {
                let mut rt = ReassignableTopic::default();
                rt.name = topic_name(t);
                rt.partitions = partitions;
                rt
            })
            .collect();
        let resp = conn
            .send(&req)
            .await
            .map_err(|e| e.during("alter_partition_reassignments"))?;
        check(
            resp.error_code,
            resp.error_message.as_ref(),
            "alter_partition_reassignments",
            || "the controller refused the reassignment".to_string(),
        )?;
        for t in &resp.responses {
            for p in &t.partitions {
                check(
                    p.error_code,
                    p.error_message.as_ref(),
                    "alter_partition_reassignments",
                    || {
                        let tp = TopicPartition::new(t.name.to_string(), p.partition_index);
                        match ResponseError::try_from_code(p.error_code) {
                            Some(ResponseError::NoReassignmentInProgress) => {
                                format!("{tp}: nothing to cancel")
                            }
                            _ => tp.to_string(),
                        }
                    },
                )?;
            }
        }
        Ok(())
    }

    /// The reassignments in progress, of these partitions (all when empty), sorted.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// let moving = admin.list_partition_reassignments(&[]).await?;
    /// println!("{} partitions moving", moving.len());
    /// # Ok(()) }
    /// ```
    pub async fn list_partition_reassignments(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<Vec<Reassignment>> {
        let conn = self.connection().await?;
        let mut req = ListPartitionReassignmentsRequest::default();
        req.timeout_ms = self.timeout_ms();
        req.topics = (!partitions.is_empty()).then(|| {
            by_topic(partitions)
                .into_iter()
                .map(|(t, parts)| {
                    let mut lt = ListPartitionReassignmentsTopics::default();
                    lt.name = topic_name(t);
                    lt.partition_indexes = parts;
                    lt
                })
                .collect()
        });
        let resp = conn
            .send(&req)
            .await
            .map_err(|e| e.during("list_partition_reassignments"))?;
        check(
            resp.error_code,
            resp.error_message.as_ref(),
            "list_partition_reassignments",
            || "the controller refused the listing".to_string(),
        )?;
        let ids = |v: &[i32]| v.to_vec();
        let mut out: Vec<Reassignment> = resp
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions.iter().map(move |p| Reassignment {
                    partition: TopicPartition::new(t.name.to_string(), p.partition_index),
                    replicas: ids(&p.replicas),
                    adding: ids(&p.adding_replicas),
                    removing: ids(&p.removing_replicas),
                })
            })
            .collect();
        out.sort_by(|a, b| a.partition.cmp(&b.partition));
        Ok(out)
    }
}
