//! The cluster metadata cache: brokers, topics, partitions, leaders, topic ids.
//!
//! Readers take a cheap snapshot (`Arc<ClusterMetadata>`). Refreshes run on a period and at once
//! when a client reports an error that calls for one (stale leader, unknown topic or id).
//!
//! Over 600 lines with its tests (merge rules, epochs, hints); cache, refresh and merge share
//! the one state, so they stay together.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crate::protocol::messages::metadata_request::MetadataRequestTopic;
use crate::protocol::messages::{MetadataRequest, MetadataResponse};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::error::{Error, ErrorKind, ResponseError, Result};
use crate::net::BrokerPool;

/// A broker as metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    /// Node id.
    pub node_id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
    /// Rack, if configured.
    pub rack: Option<String>,
}

impl BrokerInfo {
    /// `host:port`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// One partition of a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// Partition number.
    pub partition: i32,
    /// Leader node id, -1 if none.
    pub leader: i32,
    /// Leader epoch.
    pub leader_epoch: i32,
    /// Replica node ids.
    pub replicas: Vec<i32>,
    /// In-sync replica node ids.
    pub isr: Vec<i32>,
    /// Kafka error code for this partition (0 = none).
    pub error_code: i16,
}

/// One topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// Name.
    pub name: String,
    /// Topic id (KIP-516).
    pub id: Uuid,
    /// Whether Kafka manages it internally (`__consumer_offsets`, ...).
    pub is_internal: bool,
    /// Partitions, sorted by number.
    pub partitions: Vec<PartitionInfo>,
}

impl TopicInfo {
    /// The partition `p`, if it exists.
    pub fn partition(&self, p: i32) -> Option<&PartitionInfo> {
        self.partitions
            .get(p as usize)
            .filter(|i| i.partition == p)
            .or_else(|| self.partitions.iter().find(|i| i.partition == p))
    }

    /// Whether every partition has a leader.
    pub fn has_leaders(&self) -> bool {
        !self.partitions.is_empty() && self.partitions.iter().all(|p| p.leader >= 0)
    }
}

/// A snapshot of the cluster.
#[derive(Debug, Clone, Default)]
pub struct ClusterMetadata {
    /// Cluster id.
    pub cluster_id: Option<String>,
    /// A controller node id (in KRaft, a broker that forwards to the controller).
    pub controller_id: i32,
    /// Brokers by node id.
    pub brokers: BTreeMap<i32, BrokerInfo>,
    /// Topics by name.
    pub topics: HashMap<String, Arc<TopicInfo>>,
    /// Topic names by id.
    pub topic_names: HashMap<Uuid, String>,
    /// The error code the last answer about a topic gave instead of the topic
    /// (UNKNOWN_TOPIC_OR_PARTITION, TOPIC_AUTHORIZATION_FAILED, ...), by name.
    pub topic_errors: HashMap<String, i16>,
}

impl ClusterMetadata {
    /// A topic by name.
    pub fn topic(&self, name: &str) -> Option<&Arc<TopicInfo>> {
        self.topics.get(name)
    }

    /// A topic by id.
    pub fn topic_by_id(&self, id: &Uuid) -> Option<&Arc<TopicInfo>> {
        self.topic_names.get(id).and_then(|n| self.topics.get(n))
    }
}

/// Which topics a Metadata request asks about.
#[derive(Debug, Clone)]
pub enum TopicSelection {
    /// Every topic in the cluster.
    All,
    /// These names.
    Names(Vec<String>),
    /// These ids.
    Ids(Vec<Uuid>),
}

/// The cluster metadata cache of one client handle.
pub struct Cluster {
    pool: Arc<BrokerPool>,
    state: RwLock<Arc<ClusterMetadata>>,
    /// Topics some client uses; periodic refreshes ask for these.
    tracked: Mutex<BTreeSet<String>>,
    /// Shared with the refresher task, which must not hold the cache while it waits.
    refresh_now: Arc<Notify>,
    refreshed: Notify,
    /// Serializes refreshes so a burst of errors triggers one request, not one each.
    refreshing: tokio::sync::Mutex<()>,
    /// Metadata requests for named topics ask the broker to create missing ones.
    auto_create: AtomicBool,
    /// A topic this client may not describe ends a wait for it at once.
    unauthorized_final: AtomicBool,
}

impl Cluster {
    /// An empty cache over `pool`.
    pub fn new(pool: Arc<BrokerPool>) -> Self {
        Cluster {
            pool,
            state: RwLock::new(Arc::new(ClusterMetadata::default())),
            tracked: Mutex::new(BTreeSet::new()),
            refresh_now: Arc::new(Notify::new()),
            refreshed: Notify::new(),
            refreshing: tokio::sync::Mutex::new(()),
            auto_create: AtomicBool::new(false),
            unauthorized_final: AtomicBool::new(false),
        }
    }

    /// Whether waiting for a topic ([`wait_for_topic`](Self::wait_for_topic)) gives up at
    /// once, with TOPIC_AUTHORIZATION_FAILED, when the broker says this client may not
    /// describe it. Off by default: the wait goes on until its timeout, in case the
    /// permission is granted meanwhile. KafkaJS fails at once; its Node API sets this.
    ///
    /// ```no_run
    /// # fn demo(kafka: kafkit::Kafka) {
    /// kafka.cluster().set_unauthorized_topics_final(true);
    /// # }
    /// ```
    pub fn set_unauthorized_topics_final(&self, on: bool) {
        self.unauthorized_final.store(on, Ordering::Relaxed);
    }

    pub(crate) fn unauthorized_topics_final(&self) -> bool {
        self.unauthorized_final.load(Ordering::Relaxed)
    }

    /// Whether metadata requests for named topics let the broker create the missing ones
    /// (`allow_auto_topic_creation`; the broker does so only with `auto.create.topics.enable`).
    /// Off by default; KafkaJS's `allowAutoTopicCreation` (default on) sets it.
    ///
    /// ```no_run
    /// # fn demo(kafka: kafkit::Kafka) {
    /// kafka.cluster().set_auto_topic_creation(true);
    /// # }
    /// ```
    pub fn set_auto_topic_creation(&self, on: bool) {
        self.auto_create.store(on, Ordering::Relaxed);
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<ClusterMetadata> {
        self.state.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// Adds topics to those kept fresh by periodic refreshes.
    pub fn track(&self, topics: impl IntoIterator<Item = String>) {
        if let Ok(mut t) = self.tracked.lock() {
            t.extend(topics);
        }
    }

    /// Asks the background task for a refresh as soon as possible (after an error that calls for it).
    pub fn invalidate(&self) {
        self.refresh_now.notify_one();
    }

    /// Waits until the next refresh completes (or `timeout` passes).
    pub async fn wait_refreshed(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.refreshed.notified()).await;
    }

    /// Fetches metadata for `selection` and merges it into the cache.
    pub async fn refresh(&self, selection: TopicSelection) -> Result<Arc<ClusterMetadata>> {
        let _guard = self.refreshing.lock().await;
        // Any broker can answer; a hung one must not hold the refresh (see first_answer).
        let ask = || {
            self.pool.first_answer(|conn| {
                let selection = &selection;
                let auto_create = self.auto_create.load(Ordering::Relaxed);
                async move {
                    let version = conn.version::<MetadataRequest>()?;
                    let mut req = build_request(selection, version)?;
                    req.allow_auto_topic_creation =
                        auto_create && matches!(selection, TopicSelection::Names(_));
                    conn.send_version(&req, version).await
                }
            })
        };
        let mut resp = ask().await.map_err(|e| e.during("metadata"))?;
        if resp.error_code == ResponseError::RebootstrapRequired.code() {
            // KIP-1102: the broker says this client's view of the cluster is stale beyond
            // repair; start over from the bootstrap list, once.
            tracing::warn!("a broker answered REBOOTSTRAP_REQUIRED: asking the bootstrap servers for the cluster again");
            self.pool.rebootstrap();
            resp = ask().await.map_err(|e| e.during("metadata"))?;
        }
        let snapshot = self.merge(&selection, resp)?;
        self.refreshed.notify_waiters();
        Ok(snapshot)
    }

    /// Refreshes the tracked topics.
    pub async fn refresh_tracked(&self) -> Result<Arc<ClusterMetadata>> {
        let names: Vec<String> = self
            .tracked
            .lock()
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default();
        self.refresh(TopicSelection::Names(names)).await
    }

    /// Topic names for ids, asking the cluster for ids not in the cache.
    pub async fn resolve_topic_ids(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, String>> {
        let snap = self.snapshot();
        let missing: Vec<Uuid> = ids
            .iter()
            .filter(|id| !snap.topic_names.contains_key(id))
            .copied()
            .collect();
        let snap = if missing.is_empty() {
            snap
        } else {
            self.refresh(TopicSelection::Ids(missing)).await?
        };
        Ok(ids
            .iter()
            .filter_map(|id| snap.topic_names.get(id).map(|n| (*id, n.clone())))
            .collect())
    }

    /// Runs periodic refreshes (every `max_age`) and on-demand ones until the handle is dropped.
    pub(crate) fn spawn_refresher(self: &Arc<Self>, max_age: Duration) {
        let weak = Arc::downgrade(self);
        let refresh_now = self.refresh_now.clone();
        tokio::spawn(async move {
            loop {
                // Waits without a strong reference: dropping the last handle drops the cache,
                // the pool and its connections at once, not after the next refresh.
                let notified = refresh_now.notified();
                let woke = tokio::time::timeout(max_age, notified).await.is_ok();
                let Some(cluster) = weak.upgrade() else {
                    return;
                };
                if let Err(e) = cluster.refresh_tracked().await {
                    tracing::debug!(error = %e, "metadata refresh failed");
                }
                drop(cluster);
                if woke {
                    // Debounce: a burst of errors asks once.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        });
    }

    fn merge(
        &self,
        selection: &TopicSelection,
        resp: MetadataResponse,
    ) -> Result<Arc<ClusterMetadata>> {
        let parsed = parse_response(resp)?;
        self.pool
            .set_brokers(parsed.brokers.values().map(|b| (b.node_id, b.addr())));
        self.pool.set_live_brokers(parsed.brokers.keys().copied());
        let mut state = self
            .state
            .write()
            .map_err(|_| Error::protocol("metadata", "metadata cache poisoned"))?;
        let mut next = (**state).clone();
        next.cluster_id = parsed.cluster_id;
        next.controller_id = parsed.controller_id;
        next.brokers = parsed.brokers;
        if matches!(selection, TopicSelection::All) {
            next.topics.clear();
            next.topic_names.clear();
        }
        for name in &parsed.missing {
            if let Some(old) = next.topics.remove(name) {
                next.topic_names.remove(&old.id);
            }
        }
        for t in &parsed.topics {
            next.topic_errors.remove(&t.name);
        }
        next.topic_errors.extend(parsed.errors);
        for mut t in parsed.topics {
            if let Some(old) = next.topics.get(&t.name) {
                // Deleted and recreated under the same name: forget the old id.
                if old.id != t.id {
                    next.topic_names.remove(&old.id);
                } else {
                    keep_newer_epochs(old, &mut t);
                }
            }
            next.topic_names.insert(t.id, t.name.clone());
            next.topics.insert(t.name.clone(), Arc::new(t));
        }
        let snapshot = Arc::new(next);
        *state = snapshot.clone();
        Ok(snapshot)
    }
}

/// `node id -> host:port` of the node endpoints a Produce or Fetch response lists with its
/// leader hints (KIP-951); entries without a usable address are dropped.
pub(crate) fn hinted_endpoints<'a>(
    endpoints: impl IntoIterator<Item = (i32, &'a str, i32)>,
) -> HashMap<i32, String> {
    endpoints
        .into_iter()
        .filter(|(_, host, port)| !host.is_empty() && (1..=65535).contains(port))
        .map(|(id, host, port)| (id, format!("{host}:{port}")))
        .collect()
}

/// Metadata never goes backwards (KIP-320): a broker that has not yet heard of a leader change
/// answers with an older leader epoch; the partition then keeps what the cache knows.
fn keep_newer_epochs(old: &TopicInfo, new: &mut TopicInfo) {
    for p in &mut new.partitions {
        if let Some(known) = old.partition(p.partition) {
            if p.leader_epoch >= 0 && known.leader_epoch > p.leader_epoch {
                *p = known.clone();
            }
        }
    }
}

impl Cluster {
    /// A leader named by a broker in an error answer (KIP-951: NOT_LEADER_OR_FOLLOWER and
    /// FENCED_LEADER_EPOCH carry the new leader in Produce v10+ and Fetch v16+): used at once,
    /// without a metadata round trip, if its epoch is newer than the cache's. `endpoint` is
    /// the new leader's address when the response gave it.
    pub(crate) fn apply_leader_hint(
        &self,
        topic: &str,
        partition: i32,
        leader: i32,
        epoch: i32,
        endpoint: Option<String>,
    ) -> bool {
        if leader < 0 || epoch < 0 {
            return false;
        }
        if let Some(addr) = endpoint {
            self.pool.set_brokers([(leader, addr)]);
        }
        if self.pool.addr_of(leader).is_none() {
            return false; // a leader kafkit cannot reach yet: the refresh will name it
        }
        let Ok(mut state) = self.state.write() else {
            return false;
        };
        let Some(t) = state.topics.get(topic) else {
            return false;
        };
        let Some(idx) = t.partitions.iter().position(|p| p.partition == partition) else {
            return false;
        };
        if t.partitions[idx].leader_epoch >= epoch {
            return false;
        }
        let mut t = (**t).clone();
        t.partitions[idx].leader = leader;
        t.partitions[idx].leader_epoch = epoch;
        let mut next = (**state).clone();
        next.topics.insert(topic.to_string(), Arc::new(t));
        *state = Arc::new(next);
        tracing::debug!(
            topic,
            partition,
            leader,
            epoch,
            "new leader from a broker's hint"
        );
        true
    }
}

impl Drop for Cluster {
    /// Wakes the refresher, which then finds the cache gone and ends.
    fn drop(&mut self) {
        self.refresh_now.notify_one();
    }
}

fn build_request(selection: &TopicSelection, version: i16) -> Result<MetadataRequest> {
    let mut req = MetadataRequest::default();
    req.allow_auto_topic_creation = false;
    req.topics = match selection {
        TopicSelection::All => None,
        TopicSelection::Names(names) => Some(
            names
                .iter()
                .map(|n| {
                    let mut t = MetadataRequestTopic::default();
                    t.name = Some(n.clone());
                    t
                })
                .collect(),
        ),
        TopicSelection::Ids(ids) => {
            if version < 12 {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "metadata",
                    "looking topics up by id needs Metadata v12 (Kafka 3.1+); upgrade the broker",
                ));
            }
            Some(
                ids.iter()
                    .map(|id| {
                        let mut t = MetadataRequestTopic::default();
                        t.topic_id = *id;
                        t.name = None;
                        t
                    })
                    .collect(),
            )
        }
    };
    Ok(req)
}

struct Parsed {
    cluster_id: Option<String>,
    controller_id: i32,
    brokers: BTreeMap<i32, BrokerInfo>,
    topics: Vec<TopicInfo>,
    /// Names the broker said do not exist.
    missing: Vec<String>,
    /// Names the broker answered with an error, and the error.
    errors: Vec<(String, i16)>,
}

fn parse_response(resp: MetadataResponse) -> Result<Parsed> {
    Error::check(resp.error_code, "metadata", || {
        "the broker rejected the Metadata request".into()
    })?;
    let brokers: BTreeMap<i32, BrokerInfo> = resp
        .brokers
        .into_iter()
        .filter(|b| b.port > 0 && b.port <= u16::MAX as i32 && !b.host.is_empty())
        .map(|b| {
            (
                b.node_id,
                BrokerInfo {
                    node_id: b.node_id,
                    host: b.host.to_string(),
                    port: b.port,
                    rack: b.rack.map(|r| r.to_string()),
                },
            )
        })
        .collect();
    let mut topics = Vec::new();
    let mut missing = Vec::new();
    let mut errors = Vec::new();
    for t in resp.topics {
        let name = t.name.map(|n| n.to_string());
        match (t.error_code, name) {
            (0, Some(name)) => {
                let mut partitions: Vec<PartitionInfo> = t
                    .partitions
                    .into_iter()
                    .filter(|p| p.partition_index >= 0)
                    .map(|p| PartitionInfo {
                        partition: p.partition_index,
                        leader: p.leader_id,
                        leader_epoch: p.leader_epoch,
                        replicas: p.replica_nodes.into_iter().collect(),
                        isr: p.isr_nodes.into_iter().collect(),
                        error_code: p.error_code,
                    })
                    .collect();
                partitions.sort_by_key(|p| p.partition);
                partitions.dedup_by_key(|p| p.partition);
                topics.push(TopicInfo {
                    name,
                    id: t.topic_id,
                    is_internal: t.is_internal,
                    partitions,
                });
            }
            // UNKNOWN_TOPIC_OR_PARTITION / UNKNOWN_TOPIC_ID: the topic is gone (or never was).
            (code @ (3 | 100), Some(name)) => {
                errors.push((name.clone(), code));
                missing.push(name);
            }
            (code, name) => {
                tracing::debug!(code, topic = ?name, id = %t.topic_id, "metadata error for topic");
                if let Some(name) = name {
                    errors.push((name, code));
                }
            }
        }
    }
    Ok(Parsed {
        cluster_id: resp.cluster_id.map(|c| c.to_string()),
        controller_id: resp.controller_id,
        brokers,
        topics,
        missing,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic_with(leader: i32, epoch: i32) -> TopicInfo {
        TopicInfo {
            name: "t".into(),
            id: Uuid::from_u128(1),
            is_internal: false,
            partitions: vec![PartitionInfo {
                partition: 0,
                leader,
                leader_epoch: epoch,
                replicas: vec![1, 2, 3],
                isr: vec![1, 2, 3],
                error_code: 0,
            }],
        }
    }

    #[test]
    fn a_leader_hint_with_a_newer_epoch_is_used_at_once() {
        let (events, _) = tokio::sync::broadcast::channel(4);
        let pool = Arc::new(BrokerPool::new(
            vec!["127.0.0.1:1".into()],
            Default::default(),
            Default::default(),
            events,
        ));
        pool.set_brokers([
            (1, "127.0.0.1:1".to_string()),
            (2, "127.0.0.1:2".to_string()),
        ]);
        let cluster = Cluster::new(pool);
        {
            let mut state = cluster.state.write().unwrap();
            let mut next = (**state).clone();
            next.topics.insert("t".into(), Arc::new(topic_with(1, 5)));
            *state = Arc::new(next);
        }
        let leader = |c: &Cluster| c.snapshot().topic("t").unwrap().partitions[0].leader;
        assert!(cluster.apply_leader_hint("t", 0, 2, 6, None));
        assert_eq!(leader(&cluster), 2);
        assert!(
            !cluster.apply_leader_hint("t", 0, 1, 4, None),
            "older epoch"
        );
        assert_eq!(leader(&cluster), 2);
        assert!(
            !cluster.apply_leader_hint("t", 0, 3, 7, None),
            "no address for node 3"
        );
        assert!(cluster.apply_leader_hint("t", 0, 3, 7, Some("127.0.0.1:3".into())));
        assert_eq!(leader(&cluster), 3);
        assert!(!cluster.apply_leader_hint("nope", 0, 3, 9, None));
    }

    #[test]
    fn metadata_with_an_older_leader_epoch_does_not_replace_newer() {
        let cached = topic_with(2, 7);
        let mut stale = topic_with(1, 6);
        keep_newer_epochs(&cached, &mut stale);
        assert_eq!(stale.partitions[0].leader, 2, "the stale answer is ignored");
        let mut fresh = topic_with(3, 8);
        keep_newer_epochs(&cached, &mut fresh);
        assert_eq!(fresh.partitions[0].leader, 3);
    }
    use crate::protocol::messages::metadata_response::{
        MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };

    fn response() -> MetadataResponse {
        let mut r = MetadataResponse::default();
        let mut b = MetadataResponseBroker::default();
        b.node_id = 1;
        b.host = String::from("127.0.0.1");
        b.port = 9092;
        r.brokers.push(b);
        let mut bad = MetadataResponseBroker::default();
        bad.node_id = 2;
        bad.host = String::from("x");
        bad.port = -5;
        r.brokers.push(bad);
        let mut t = MetadataResponseTopic::default();
        t.name = Some(String::from("t"));
        t.topic_id = Uuid::from_u128(7);
        for i in [1, 0, 1, -3] {
            let mut p = MetadataResponsePartition::default();
            p.partition_index = i;
            p.leader_id = 1;
            t.partitions.push(p);
        }
        r.topics.push(t);
        let mut gone = MetadataResponseTopic::default();
        gone.name = Some(String::from("gone"));
        gone.error_code = 3;
        r.topics.push(gone);
        r
    }

    #[test]
    fn parses_and_sanitizes_untrusted_metadata() {
        let p = parse_response(response()).unwrap();
        assert_eq!(p.brokers.len(), 1, "broker with an invalid port is dropped");
        assert_eq!(p.topics.len(), 1);
        let parts: Vec<i32> = p.topics[0].partitions.iter().map(|p| p.partition).collect();
        assert_eq!(
            parts,
            vec![0, 1],
            "negative and duplicate partitions dropped, sorted"
        );
        assert_eq!(p.missing, vec!["gone".to_string()]);
    }

    #[test]
    fn request_by_id_needs_v12() {
        assert!(build_request(&TopicSelection::Ids(vec![Uuid::nil()]), 11).is_err());
        let r = build_request(&TopicSelection::Ids(vec![Uuid::from_u128(1)]), 12).unwrap();
        assert!(r.topics.unwrap()[0].name.is_none());
        assert!(build_request(&TopicSelection::All, 12)
            .unwrap()
            .topics
            .is_none());
    }
}
