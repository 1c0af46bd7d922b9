//! A fake Kafka broker for the hostile-broker tests. It speaks just enough of the protocol to be
//! connected to and used (ApiVersions, Metadata naming itself and its cluster, FindCoordinator,
//! InitProducerId, Produce, CreateTopics, ListGroups, SASL, ConsumerGroupHeartbeat and
//! ShareGroupHeartbeat with a scripted assignment, a classic group of one member, Fetch from
//! in-memory partition logs with a long poll, ListOffsets, OffsetFetch, OffsetCommit, ShareFetch
//! (each record acquired once), ShareAcknowledge), with real responses encoded by the
//! kafka-protocol crate, and misbehaves as the test's script says.
//!
//! It also watches how the client leaves: when the client shuts its side, the fake checks that
//! the socket is really closed (no client task still reading it), see [`FakeBroker::closed`].
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use uuid::Uuid;

/// The api key of an [`Incoming`] whose bytes are not a Kafka request frame (a TLS
/// ClientHello, garbage): its length is out of range, and nothing after it was read.
pub const NOT_KAFKA: i16 = -1;

/// Largest request the fake reads.
const MAX_REQUEST: i32 = 16 << 20;

/// A request as the script sees it.
pub struct Incoming {
    pub api_key: i16,
    pub version: i16,
    pub correlation_id: i32,
    /// The well-behaved answer (the whole frame, length included), if the fake knows the API.
    pub answer: Option<Vec<u8>>,
    /// How long a well-behaved broker holds that answer (a fetch with nothing to return waits
    /// its max_wait); `Act::Answer` waits as long.
    pub hold: Duration,
    /// Requests of this API this fake had already seen.
    pub seen: usize,
    /// The request body (after the header).
    pub body: Bytes,
}

impl Incoming {
    pub fn is(&self, api: ApiKey) -> bool {
        self.api_key == api as i16
    }

    /// The body decoded as `R`.
    pub fn decode<R: Decodable>(&self) -> R {
        R::decode(&mut self.body.clone(), self.version).expect("decode the request")
    }

    /// The good answer; panics for an API the fake does not know.
    pub fn good(&self) -> Vec<u8> {
        self.answer
            .clone()
            .unwrap_or_else(|| panic!("the fake has no answer for api key {}", self.api_key))
    }
}

/// What the fake does with one request.
pub enum Act {
    /// Answers as a broker would (closes the connection for an API it does not know).
    Answer,
    /// Writes these bytes and reads on.
    Send(Vec<u8>),
    /// Writes these bytes and closes the connection.
    SendAndClose(Vec<u8>),
    /// Never answers (reads on).
    Ignore,
    /// Closes the connection without answering.
    Close,
    /// Writes these bytes one at a time, pausing between them, then reads on.
    Dribble(Vec<u8>, Duration),
}

type Script = Arc<dyn Fn(&Incoming) -> Act + Send + Sync>;

/// What a cluster of fakes tells clients in Metadata and FindCoordinator.
#[derive(Default)]
struct ClusterView {
    /// `(node id, port)`, all on 127.0.0.1.
    brokers: Vec<(i32, u16)>,
    topics: Vec<FakeTopic>,
    /// Node answering FindCoordinator; the asked broker itself when unset.
    coordinator: Option<i32>,
    /// What ConsumerGroupHeartbeat and ShareGroupHeartbeat assign a member: topic ids (known
    /// to metadata or not) and their partitions. Empty when unset.
    assignment: Vec<(Uuid, Vec<i32>)>,
    /// The records of each partition (values; offsets count from 0), by topic name.
    logs: HashMap<(String, i32), Vec<Bytes>>,
    /// Committed offsets (one group), by topic name.
    committed: HashMap<(String, i32), i64>,
    /// The next offset a share group has not handed out yet, by topic name (one share group;
    /// records are acquired once and never delivered again).
    share_next: HashMap<(String, i32), i64>,
    /// The classic group (one member at a time is enough for the tests).
    generation: i32,
    /// The leader's SyncGroup assignments of the current generation, by member id.
    sync: HashMap<String, Bytes>,
}

struct FakeTopic {
    name: String,
    id: Uuid,
    /// Leader node of each partition.
    leaders: Vec<i32>,
}

const OPEN: u8 = 0;
/// The client closed its socket (reader and writer gone).
const CLIENT_CLOSED: u8 = 1;
/// The fake closed it (a script's Close).
const SERVER_CLOSED: u8 = 2;
/// The client shut down its sending side but still held the socket a second later: a client
/// task (the reader) outlived the connection.
const HALF_OPEN: u8 = 3;

struct State {
    node_id: i32,
    port: u16,
    cluster: Arc<Mutex<ClusterView>>,
    script: Mutex<Script>,
    seen: Mutex<HashMap<i16, usize>>,
    conns: Mutex<Vec<Arc<AtomicU8>>>,
    next_offset: AtomicI64,
}

/// A fake broker on 127.0.0.1, stopped (listener and every connection) when dropped.
pub struct FakeBroker {
    /// `127.0.0.1:port`.
    pub addr: String,
    pub node_id: i32,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Drop for FakeBroker {
    fn drop(&mut self) {
        // The accept task owns the connection tasks (a JoinSet): aborting it ends them all.
        self.task.abort();
    }
}

impl FakeBroker {
    /// A fake that is a cluster of its own (node 0).
    pub async fn start() -> FakeBroker {
        Self::start_in(Arc::new(Mutex::new(ClusterView::default())), 0).await
    }

    /// Another node of this fake's cluster (the next node id).
    pub async fn join(&self) -> FakeBroker {
        let cluster = self.state.cluster.clone();
        let id = cluster
            .lock()
            .unwrap()
            .brokers
            .iter()
            .map(|b| b.0)
            .max()
            .unwrap_or(-1)
            + 1;
        Self::start_in(cluster, id).await
    }

    async fn start_in(cluster: Arc<Mutex<ClusterView>>, node_id: i32) -> FakeBroker {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        cluster.lock().unwrap().brokers.push((node_id, port));
        let state = Arc::new(State {
            node_id,
            port,
            cluster,
            script: Mutex::new(Arc::new(|_: &Incoming| Act::Answer)),
            seen: Mutex::new(HashMap::new()),
            conns: Mutex::new(Vec::new()),
            next_offset: AtomicI64::new(0),
        });
        let task = tokio::spawn(accept_loop(listener, state.clone()));
        FakeBroker {
            addr: format!("127.0.0.1:{port}"),
            node_id,
            state,
            task,
        }
    }

    /// Replaces the behaviour (for every connection, from the next request on).
    pub fn script(&self, f: impl Fn(&Incoming) -> Act + Send + Sync + 'static) {
        *self.state.script.lock().unwrap() = Arc::new(f);
    }

    /// Back to a well-behaved broker.
    pub fn behave(&self) {
        self.script(|_| Act::Answer);
    }

    /// Adds a topic to the cluster, every partition led by `leader`.
    pub fn add_topic(&self, name: &str, partitions: usize, leader: i32) {
        add_topic(&self.state.cluster, name, partitions, leader);
    }

    /// The id metadata gives topic `name` (panics if there is none).
    pub fn topic_id(&self, name: &str) -> Uuid {
        let c = self.state.cluster.lock().unwrap();
        c.topics
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.id)
            .unwrap_or_else(|| panic!("no topic {name}"))
    }

    /// Makes `leader` (-1: none) the leader of one partition.
    pub fn set_leader(&self, name: &str, partition: usize, leader: i32) {
        let mut c = self.state.cluster.lock().unwrap();
        let t = c
            .topics
            .iter_mut()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no topic {name}"));
        t.leaders[partition] = leader;
    }

    /// What group heartbeats (KIP-848 and share) assign from now on: `(topic id, partitions)`.
    pub fn assign(&self, assignment: Vec<(Uuid, Vec<i32>)>) {
        self.state.cluster.lock().unwrap().assignment = assignment;
    }

    /// Appends records with these values to a partition's log.
    pub fn append(&self, topic: &str, partition: i32, values: &[&str]) {
        let mut c = self.state.cluster.lock().unwrap();
        c.logs
            .entry((topic.to_string(), partition))
            .or_default()
            .extend(values.iter().map(|v| Bytes::from(v.to_string())));
    }

    /// Makes `node` the answer to FindCoordinator.
    pub fn set_coordinator(&self, node: i32) {
        self.state.cluster.lock().unwrap().coordinator = Some(node);
    }

    /// Requests of `api` this fake has received.
    pub fn seen(&self, api: ApiKey) -> usize {
        self.state
            .seen
            .lock()
            .unwrap()
            .get(&(api as i16))
            .copied()
            .unwrap_or(0)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.state.conns.lock().unwrap().len()
    }

    /// Connections still open.
    pub fn open(&self) -> usize {
        self.statuses().iter().filter(|s| **s == OPEN).count()
    }

    fn statuses(&self) -> Vec<u8> {
        self.state
            .conns
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.load(Ordering::Acquire))
            .collect()
    }

    /// Waits until every connection is closed; an error says how many are still open and how
    /// many the client only half closed (a client task kept reading the socket).
    pub async fn closed(&self, within: Duration) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let s = self.statuses();
            let open = s.iter().filter(|s| **s == OPEN).count();
            let half = s.iter().filter(|s| **s == HALF_OPEN).count();
            if half > 0 {
                return Err(format!(
                    "{}: {half} of {} connections were only half closed by the client (a task still reads them)",
                    self.addr,
                    s.len()
                ));
            }
            if open == 0 {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "{}: {open} of {} connections still open after {within:?}",
                    self.addr,
                    s.len()
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

static NEXT_TOPIC_ID: AtomicU64 = AtomicU64::new(1);

fn add_topic(cluster: &Mutex<ClusterView>, name: &str, partitions: usize, leader: i32) {
    let mut c = cluster.lock().unwrap();
    c.topics.retain(|t| t.name != name);
    c.topics.push(FakeTopic {
        name: name.to_string(),
        id: Uuid::from_u64_pair(
            0x6b61_666b_6974,
            NEXT_TOPIC_ID.fetch_add(1, Ordering::Relaxed),
        ),
        leaders: vec![leader; partitions.max(1)],
    });
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let status = Arc::new(AtomicU8::new(OPEN));
                state.conns.lock().unwrap().push(status.clone());
                conns.spawn(serve(stream, state.clone(), status));
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

enum Flow {
    Go,
    ServerClosed,
    WriteFailed,
}

async fn serve(stream: TcpStream, state: Arc<State>, status: Arc<AtomicU8>) {
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let end = loop {
        let (api_key, version, correlation_id, body) = match read_request(&mut rd).await {
            Ok(Some(r)) => r,
            Ok(None) => break probe(&mut wr).await,
            // Reset: the client closed with bytes unread.
            Err(_) => break CLIENT_CLOSED,
        };
        let seen = {
            let mut s = state.seen.lock().unwrap();
            let n = s.entry(api_key).or_default();
            *n += 1;
            *n - 1
        };
        let (answer, hold) = if api_key == NOT_KAFKA {
            (None, Duration::ZERO)
        } else {
            match answer(&state, api_key, version, correlation_id, body.clone()) {
                Some((a, hold)) => (Some(a), hold),
                None => (None, Duration::ZERO),
            }
        };
        let incoming = Incoming {
            api_key,
            version,
            correlation_id,
            answer,
            hold,
            seen,
            body,
        };
        let script = state.script.lock().unwrap().clone();
        let flow = match script(&incoming) {
            Act::Answer => match &incoming.answer {
                Some(a) => {
                    if !incoming.hold.is_zero() {
                        tokio::time::sleep(incoming.hold).await;
                    }
                    write(&mut wr, a).await
                }
                None => Flow::ServerClosed,
            },
            Act::Send(bytes) => write(&mut wr, &bytes).await,
            Act::SendAndClose(bytes) => match write(&mut wr, &bytes).await {
                Flow::Go => Flow::ServerClosed,
                other => other,
            },
            Act::Ignore => Flow::Go,
            Act::Close => Flow::ServerClosed,
            Act::Dribble(bytes, pause) => {
                let mut flow = Flow::Go;
                for b in bytes {
                    if let f @ Flow::WriteFailed = write(&mut wr, &[b]).await {
                        flow = f;
                        break;
                    }
                    tokio::time::sleep(pause).await;
                }
                flow
            }
        };
        match flow {
            Flow::Go => {}
            Flow::ServerClosed => break SERVER_CLOSED,
            Flow::WriteFailed => break CLIENT_CLOSED,
        }
    };
    status.store(end, Ordering::Release);
}

async fn write(wr: &mut OwnedWriteHalf, bytes: &[u8]) -> Flow {
    match wr.write_all(bytes).await {
        Ok(()) => Flow::Go,
        Err(_) => Flow::WriteFailed,
    }
}

/// The client shut down its side. Writing tells whether it also let go of the socket: a
/// closed socket answers the first write with a reset, which fails the next one. The bytes
/// start a frame that is never finished, so a client still reading would only wait.
async fn probe(wr: &mut OwnedWriteHalf) -> u8 {
    if wr.write_all(&[0, 0, 0, 100]).await.is_err() {
        return CLIENT_CLOSED;
    }
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if wr.write_all(&[0]).await.is_err() {
            return CLIENT_CLOSED;
        }
    }
    HALF_OPEN
}

/// `(api key, version, correlation id, body after the header)`; `None` at end of stream.
async fn read_request(
    rd: &mut tokio::net::tcp::OwnedReadHalf,
) -> std::io::Result<Option<(i16, i16, i32, Bytes)>> {
    let mut len = [0u8; 4];
    match rd.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = i32::from_be_bytes(len);
    if !(8..=MAX_REQUEST).contains(&len) {
        return Ok(Some((NOT_KAFKA, 0, 0, Bytes::new())));
    }
    let mut frame = vec![0u8; len as usize];
    match rd.read_exact(&mut frame).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let api_key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let mut body = Bytes::from(frame);
    let Ok(api) = ApiKey::try_from(api_key) else {
        return Ok(Some((NOT_KAFKA, 0, 0, Bytes::new())));
    };
    let header = RequestHeader::decode(&mut body, api.request_header_version(version))
        .expect("the client's request header decodes");
    Ok(Some((api_key, version, header.correlation_id, body)))
}

/// A response frame: length, header, body.
pub fn frame<R: Request>(correlation_id: i32, version: i16, resp: &R::Response) -> Vec<u8> {
    let mut header = ResponseHeader::default();
    header.correlation_id = correlation_id;
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    header
        .encode(
            &mut buf,
            <R::Response as HeaderVersion>::header_version(version),
        )
        .expect("encode header");
    resp.encode(&mut buf, version).expect("encode response");
    let len = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    buf.to_vec()
}

/// `frame` with another correlation id.
pub fn with_correlation(frame: &[u8], correlation_id: i32) -> Vec<u8> {
    let mut f = frame.to_vec();
    f[4..8].copy_from_slice(&correlation_id.to_be_bytes());
    f
}

/// `frame` with `extra` bytes after its body (inside the frame).
pub fn with_trailing(frame: &[u8], extra: &[u8]) -> Vec<u8> {
    let mut f = frame.to_vec();
    f.extend_from_slice(extra);
    let len = (f.len() - 4) as i32;
    f[..4].copy_from_slice(&len.to_be_bytes());
    f
}

/// A frame carrying the right correlation id, then `body` as it is.
pub fn raw_frame(correlation_id: i32, body: &[u8]) -> Vec<u8> {
    let mut f = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    f.extend_from_slice(&correlation_id.to_be_bytes());
    f.extend_from_slice(body);
    f
}

/// Bytes that decode as no Kafka response: a string length far beyond the frame, then noise.
pub const GARBAGE: &[u8] = &[0x7f, 0xff, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01];

/// Every API but client telemetry (KIP-714), which the fake does not answer: a client asks
/// for a subscription only where the broker lists the API.
fn all_api_versions() -> Vec<api_versions_response::ApiVersion> {
    (0..200i16)
        .filter_map(|k| ApiKey::try_from(k).ok())
        .filter(|api| {
            !matches!(
                api,
                ApiKey::GetTelemetrySubscriptions | ApiKey::PushTelemetry
            )
        })
        .map(|api| {
            let range = api.valid_versions();
            let mut v = api_versions_response::ApiVersion::default();
            v.api_key = api as i16;
            v.min_version = range.min;
            v.max_version = range.max.min(decodable_max(api));
            v
        })
        .collect()
}

/// The newest version the fake's codec (kafka-protocol) decodes for the APIs it answers: its
/// `ApiKey::valid_versions` can name a version its message types do not know (OffsetFetch
/// v10), and the client speaks every version Kafka 4.4 defines.
fn decodable_max(api: ApiKey) -> i16 {
    use kafka_protocol::protocol::Message;
    macro_rules! max {
        ($($k:ident),* $(,)?) => {
            match api {
                $(ApiKey::$k => paste_request!($k),)*
                _ => i16::MAX,
            }
        };
    }
    macro_rules! paste_request {
        (ApiVersions) => {
            <ApiVersionsRequest as Message>::VERSIONS.max
        };
        (ConsumerGroupHeartbeat) => {
            <ConsumerGroupHeartbeatRequest as Message>::VERSIONS.max
        };
        (CreateTopics) => {
            <CreateTopicsRequest as Message>::VERSIONS.max
        };
        (DescribeCluster) => {
            <DescribeClusterRequest as Message>::VERSIONS.max
        };
        (Fetch) => {
            <FetchRequest as Message>::VERSIONS.max
        };
        (FindCoordinator) => {
            <FindCoordinatorRequest as Message>::VERSIONS.max
        };
        (Heartbeat) => {
            <HeartbeatRequest as Message>::VERSIONS.max
        };
        (InitProducerId) => {
            <InitProducerIdRequest as Message>::VERSIONS.max
        };
        (JoinGroup) => {
            <JoinGroupRequest as Message>::VERSIONS.max
        };
        (LeaveGroup) => {
            <LeaveGroupRequest as Message>::VERSIONS.max
        };
        (ListGroups) => {
            <ListGroupsRequest as Message>::VERSIONS.max
        };
        (ListOffsets) => {
            <ListOffsetsRequest as Message>::VERSIONS.max
        };
        (Metadata) => {
            <MetadataRequest as Message>::VERSIONS.max
        };
        (OffsetCommit) => {
            <OffsetCommitRequest as Message>::VERSIONS.max
        };
        (OffsetFetch) => {
            <OffsetFetchRequest as Message>::VERSIONS.max
        };
        (Produce) => {
            <ProduceRequest as Message>::VERSIONS.max
        };
        (SaslAuthenticate) => {
            <SaslAuthenticateRequest as Message>::VERSIONS.max
        };
        (SaslHandshake) => {
            <SaslHandshakeRequest as Message>::VERSIONS.max
        };
        (ShareAcknowledge) => {
            <ShareAcknowledgeRequest as Message>::VERSIONS.max
        };
        (ShareFetch) => {
            <ShareFetchRequest as Message>::VERSIONS.max
        };
        (ShareGroupHeartbeat) => {
            <ShareGroupHeartbeatRequest as Message>::VERSIONS.max
        };
        (SyncGroup) => {
            <SyncGroupRequest as Message>::VERSIONS.max
        };
    }
    max!(
        ApiVersions,
        ConsumerGroupHeartbeat,
        CreateTopics,
        DescribeCluster,
        Fetch,
        FindCoordinator,
        Heartbeat,
        InitProducerId,
        JoinGroup,
        LeaveGroup,
        ListGroups,
        ListOffsets,
        Metadata,
        OffsetCommit,
        OffsetFetch,
        Produce,
        SaslAuthenticate,
        SaslHandshake,
        ShareAcknowledge,
        ShareFetch,
        ShareGroupHeartbeat,
        SyncGroup,
    )
}

fn str(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// A record batch (magic 2, uncompressed) of `values` starting at offset `base`.
pub fn records(base: i64, values: &[Bytes]) -> Bytes {
    use kafka_protocol::records::{
        Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    };
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional: false,
            control: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: base + i as i64,
            sequence: -1,
            timestamp: 0,
            key: None,
            value: Some(v.clone()),
            headers: Default::default(),
            delete_horizon: false,
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode records");
    buf.freeze()
}

/// The well-behaved answer to one request and how long a broker would hold it, or `None` for
/// an API the fake does not know.
fn answer(
    state: &State,
    api_key: i16,
    version: i16,
    cid: i32,
    body: Bytes,
) -> Option<(Vec<u8>, Duration)> {
    let api = ApiKey::try_from(api_key).ok()?;
    if let Some(a) = consumer_answer(state, api, version, cid, body.clone()) {
        return Some(a);
    }
    basic_answer(state, api, version, cid, body).map(|a| (a, Duration::ZERO))
}

fn basic_answer(
    state: &State,
    api: ApiKey,
    version: i16,
    cid: i32,
    mut body: Bytes,
) -> Option<Vec<u8>> {
    macro_rules! decode {
        ($t:ty) => {
            <$t>::decode(&mut body, version).expect(concat!("decode ", stringify!($t)))
        };
    }
    Some(match api {
        ApiKey::ApiVersions => {
            let mut r = ApiVersionsResponse::default();
            r.api_keys = all_api_versions();
            frame::<ApiVersionsRequest>(cid, version, &r)
        }
        ApiKey::DescribeCluster => {
            let c = state.cluster.lock().unwrap();
            let mut r = DescribeClusterResponse::default();
            r.endpoint_type = 1;
            r.cluster_id = str("hostile-fake");
            r.controller_id = BrokerId(c.brokers.first().map_or(0, |b| b.0));
            r.brokers = c
                .brokers
                .iter()
                .map(|(id, port)| {
                    let mut b = describe_cluster_response::DescribeClusterBroker::default();
                    b.broker_id = BrokerId(*id);
                    b.host = str("127.0.0.1");
                    b.port = *port as i32;
                    b
                })
                .collect();
            frame::<DescribeClusterRequest>(cid, version, &r)
        }
        ApiKey::Metadata => {
            let req = decode!(MetadataRequest);
            let c = state.cluster.lock().unwrap();
            let mut r = MetadataResponse::default();
            r.cluster_id = Some(str("hostile-fake"));
            r.controller_id = BrokerId(c.brokers.first().map_or(0, |b| b.0));
            r.brokers = c
                .brokers
                .iter()
                .map(|(id, port)| {
                    let mut b = metadata_response::MetadataResponseBroker::default();
                    b.node_id = BrokerId(*id);
                    b.host = str("127.0.0.1");
                    b.port = *port as i32;
                    b
                })
                .collect();
            let describe = |t: &FakeTopic| {
                let mut mt = metadata_response::MetadataResponseTopic::default();
                mt.name = Some(TopicName(str(&t.name)));
                mt.topic_id = t.id;
                mt.partitions = t
                    .leaders
                    .iter()
                    .enumerate()
                    .map(|(i, leader)| {
                        let mut p = metadata_response::MetadataResponsePartition::default();
                        p.partition_index = i as i32;
                        p.leader_id = BrokerId(*leader);
                        if *leader < 0 {
                            p.error_code = 5; // LEADER_NOT_AVAILABLE
                        } else {
                            p.replica_nodes = vec![BrokerId(*leader)];
                            p.isr_nodes = vec![BrokerId(*leader)];
                        }
                        p
                    })
                    .collect();
                mt
            };
            r.topics = match &req.topics {
                None => c.topics.iter().map(describe).collect(),
                Some(wanted) => wanted
                    .iter()
                    .map(|w| {
                        let found = c.topics.iter().find(|t| match &w.name {
                            Some(n) => n.0.as_str() == t.name,
                            None => w.topic_id == t.id,
                        });
                        match found {
                            Some(t) => describe(t),
                            None => {
                                let mut mt = metadata_response::MetadataResponseTopic::default();
                                mt.error_code = 3; // UNKNOWN_TOPIC_OR_PARTITION
                                mt.name = w.name.clone();
                                mt.topic_id = w.topic_id;
                                mt
                            }
                        }
                    })
                    .collect(),
            };
            frame::<MetadataRequest>(cid, version, &r)
        }
        ApiKey::FindCoordinator => {
            let req = decode!(FindCoordinatorRequest);
            let c = state.cluster.lock().unwrap();
            let node = c.coordinator.unwrap_or(state.node_id);
            let port = c.brokers.iter().find(|b| b.0 == node).map_or(0, |b| b.1) as i32;
            let mut r = FindCoordinatorResponse::default();
            if version >= 4 {
                r.coordinators = req
                    .coordinator_keys
                    .iter()
                    .map(|k| {
                        let mut co = find_coordinator_response::Coordinator::default();
                        co.key = k.clone();
                        co.node_id = BrokerId(node);
                        co.host = str("127.0.0.1");
                        co.port = port;
                        co
                    })
                    .collect();
            } else {
                r.node_id = BrokerId(node);
                r.host = str("127.0.0.1");
                r.port = port;
            }
            frame::<FindCoordinatorRequest>(cid, version, &r)
        }
        ApiKey::InitProducerId => {
            let mut r = InitProducerIdResponse::default();
            r.producer_id = ProducerId(4242);
            r.producer_epoch = 0;
            frame::<InitProducerIdRequest>(cid, version, &r)
        }
        ApiKey::Produce => {
            let req = decode!(ProduceRequest);
            let mut r = ProduceResponse::default();
            r.responses = req
                .topic_data
                .iter()
                .map(|t| {
                    let mut tr = produce_response::TopicProduceResponse::default();
                    tr.name = t.name.clone();
                    tr.topic_id = t.topic_id;
                    tr.partition_responses = t
                        .partition_data
                        .iter()
                        .map(|p| {
                            let mut pr = produce_response::PartitionProduceResponse::default();
                            pr.index = p.index;
                            pr.base_offset = state.next_offset.fetch_add(1, Ordering::Relaxed);
                            pr.log_append_time_ms = -1;
                            pr
                        })
                        .collect();
                    tr
                })
                .collect();
            frame::<ProduceRequest>(cid, version, &r)
        }
        ApiKey::CreateTopics => {
            let req = decode!(CreateTopicsRequest);
            let mut r = CreateTopicsResponse::default();
            r.topics = req
                .topics
                .iter()
                .map(|t| {
                    let partitions = if t.num_partitions > 0 {
                        t.num_partitions
                    } else {
                        1
                    };
                    add_topic(
                        &state.cluster,
                        &t.name.0,
                        partitions as usize,
                        state.node_id,
                    );
                    let mut tr = create_topics_response::CreatableTopicResult::default();
                    tr.name = t.name.clone();
                    tr.num_partitions = partitions;
                    tr.replication_factor = 1;
                    tr
                })
                .collect();
            frame::<CreateTopicsRequest>(cid, version, &r)
        }
        ApiKey::ListGroups => {
            let mut g = list_groups_response::ListedGroup::default();
            g.group_id = GroupId(str("fake-group"));
            g.protocol_type = str("consumer");
            g.group_state = str("Stable");
            g.group_type = str("consumer");
            let mut r = ListGroupsResponse::default();
            r.groups = vec![g];
            frame::<ListGroupsRequest>(cid, version, &r)
        }
        ApiKey::SaslHandshake => {
            let mut r = SaslHandshakeResponse::default();
            r.mechanisms = vec![str("PLAIN"), str("SCRAM-SHA-256"), str("SCRAM-SHA-512")];
            frame::<SaslHandshakeRequest>(cid, version, &r)
        }
        ApiKey::SaslAuthenticate => {
            // Accepts anyone (PLAIN); a SCRAM client would find this answer wanting.
            frame::<SaslAuthenticateRequest>(cid, version, &SaslAuthenticateResponse::default())
        }
        _ => return None,
    })
}

/// Answers to what consumers (group, classic, share) send.
fn consumer_answer(
    state: &State,
    api: ApiKey,
    version: i16,
    cid: i32,
    mut body: Bytes,
) -> Option<(Vec<u8>, Duration)> {
    macro_rules! decode {
        ($t:ty) => {
            <$t>::decode(&mut body, version).expect(concat!("decode ", stringify!($t)))
        };
    }
    let mut hold = Duration::ZERO;
    let mut c = state.cluster.lock().unwrap();
    let bytes = match api {
        ApiKey::ConsumerGroupHeartbeat => {
            let req = decode!(ConsumerGroupHeartbeatRequest);
            let mut r = ConsumerGroupHeartbeatResponse::default();
            r.member_id = Some(req.member_id.clone());
            r.member_epoch = req.member_epoch.max(0) + 1;
            r.heartbeat_interval_ms = 1000;
            let mut a = consumer_group_heartbeat_response::Assignment::default();
            a.topic_partitions = c
                .assignment
                .iter()
                .map(|(id, ps)| {
                    let mut t = consumer_group_heartbeat_response::TopicPartitions::default();
                    t.topic_id = *id;
                    t.partitions = ps.clone();
                    t
                })
                .collect();
            r.assignment = Some(a);
            frame::<ConsumerGroupHeartbeatRequest>(cid, version, &r)
        }
        ApiKey::ShareGroupHeartbeat => {
            let req = decode!(ShareGroupHeartbeatRequest);
            let mut r = ShareGroupHeartbeatResponse::default();
            r.member_id = Some(req.member_id.clone());
            r.member_epoch = req.member_epoch.max(0) + 1;
            r.heartbeat_interval_ms = 1000;
            let mut a = share_group_heartbeat_response::Assignment::default();
            a.topic_partitions = c
                .assignment
                .iter()
                .map(|(id, ps)| {
                    let mut t = share_group_heartbeat_response::TopicPartitions::default();
                    t.topic_id = *id;
                    t.partitions = ps.clone();
                    t
                })
                .collect();
            r.assignment = Some(a);
            frame::<ShareGroupHeartbeatRequest>(cid, version, &r)
        }
        ApiKey::Fetch => {
            let req = decode!(FetchRequest);
            let mut r = FetchResponse::default();
            let mut any = false;
            r.responses = req
                .topics
                .iter()
                .map(|t| {
                    let name = if version >= 13 {
                        c.topics
                            .iter()
                            .find(|x| x.id == t.topic_id)
                            .map(|x| x.name.clone())
                    } else {
                        Some(t.topic.0.to_string())
                    };
                    let mut tr = fetch_response::FetchableTopicResponse::default();
                    tr.topic = t.topic.clone();
                    tr.topic_id = t.topic_id;
                    tr.partitions = t
                        .partitions
                        .iter()
                        .map(|p| {
                            let mut pd = fetch_response::PartitionData::default();
                            pd.partition_index = p.partition;
                            pd.preferred_read_replica = BrokerId(-1);
                            pd.aborted_transactions = Some(Vec::new());
                            let Some(name) = &name else {
                                pd.error_code = 100; // UNKNOWN_TOPIC_ID
                                return pd;
                            };
                            let log = c.logs.get(&(name.clone(), p.partition));
                            let end = log.map_or(0, |l| l.len() as i64);
                            pd.high_watermark = end;
                            pd.last_stable_offset = end;
                            pd.log_start_offset = 0;
                            if p.fetch_offset < 0 || p.fetch_offset > end {
                                pd.error_code = 1; // OFFSET_OUT_OF_RANGE
                            } else if p.fetch_offset < end {
                                let log = log.expect("a log with records");
                                pd.records =
                                    Some(records(p.fetch_offset, &log[p.fetch_offset as usize..]));
                                any = true;
                            }
                            pd
                        })
                        .collect();
                    tr
                })
                .collect();
            if !any {
                // Nothing to return: a broker holds the answer for max_wait.
                hold = Duration::from_millis(req.max_wait_ms.max(0) as u64);
            }
            frame::<FetchRequest>(cid, version, &r)
        }
        ApiKey::ListOffsets => {
            let req = decode!(ListOffsetsRequest);
            let mut r = ListOffsetsResponse::default();
            r.topics = req
                .topics
                .iter()
                .map(|t| {
                    let mut tr = list_offsets_response::ListOffsetsTopicResponse::default();
                    tr.name = t.name.clone();
                    let known = c.topics.iter().any(|x| x.name == t.name.0.as_str());
                    tr.partitions = t
                        .partitions
                        .iter()
                        .map(|p| {
                            let mut pr =
                                list_offsets_response::ListOffsetsPartitionResponse::default();
                            pr.partition_index = p.partition_index;
                            pr.timestamp = -1;
                            pr.leader_epoch = 0;
                            if !known {
                                pr.error_code = 3;
                                return pr;
                            }
                            let end = c
                                .logs
                                .get(&(t.name.0.to_string(), p.partition_index))
                                .map_or(0, |l| l.len() as i64);
                            pr.offset = if p.timestamp == -1 { end } else { 0 };
                            pr
                        })
                        .collect();
                    tr
                })
                .collect();
            frame::<ListOffsetsRequest>(cid, version, &r)
        }
        ApiKey::OffsetFetch => {
            let req = decode!(OffsetFetchRequest);
            let committed = |name: &str, p: i32| {
                c.committed
                    .get(&(name.to_string(), p))
                    .copied()
                    .unwrap_or(-1)
            };
            let mut r = OffsetFetchResponse::default();
            if version >= 8 {
                r.groups = req
                    .groups
                    .iter()
                    .map(|g| {
                        let mut gr = offset_fetch_response::OffsetFetchResponseGroup::default();
                        gr.group_id = g.group_id.clone();
                        gr.topics = g
                            .topics
                            .iter()
                            .flatten()
                            .map(|t| {
                                let mut tr =
                                    offset_fetch_response::OffsetFetchResponseTopics::default();
                                tr.name = t.name.clone();
                                tr.partitions = t
                                    .partition_indexes
                                    .iter()
                                    .map(|p| {
                                        let mut pr = offset_fetch_response::OffsetFetchResponsePartitions::default();
                                        pr.partition_index = *p;
                                        pr.committed_offset = committed(&t.name.0, *p);
                                        pr.committed_leader_epoch = -1;
                                        pr
                                    })
                                    .collect();
                                tr
                            })
                            .collect();
                        gr
                    })
                    .collect();
            } else {
                r.topics = req
                    .topics
                    .iter()
                    .flatten()
                    .map(|t| {
                        let mut tr = offset_fetch_response::OffsetFetchResponseTopic::default();
                        tr.name = t.name.clone();
                        tr.partitions = t
                            .partition_indexes
                            .iter()
                            .map(|p| {
                                let mut pr =
                                    offset_fetch_response::OffsetFetchResponsePartition::default();
                                pr.partition_index = *p;
                                pr.committed_offset = committed(&t.name.0, *p);
                                pr.committed_leader_epoch = -1;
                                pr
                            })
                            .collect();
                        tr
                    })
                    .collect();
            }
            frame::<OffsetFetchRequest>(cid, version, &r)
        }
        ApiKey::OffsetCommit => {
            let req = decode!(OffsetCommitRequest);
            let mut r = OffsetCommitResponse::default();
            r.topics = req
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
                            c.committed.insert(
                                (t.name.0.to_string(), p.partition_index),
                                p.committed_offset,
                            );
                            let mut pr =
                                offset_commit_response::OffsetCommitResponsePartition::default();
                            pr.partition_index = p.partition_index;
                            pr
                        })
                        .collect();
                    tr
                })
                .collect();
            frame::<OffsetCommitRequest>(cid, version, &r)
        }
        ApiKey::JoinGroup => {
            // A group of one: every JoinGroup starts a generation this member leads.
            let req = decode!(JoinGroupRequest);
            c.generation += 1;
            c.sync.clear();
            let member_id = if req.member_id.is_empty() {
                str(&format!("fake-member-{}", c.generation))
            } else {
                req.member_id.clone()
            };
            let protocol = req.protocols.first().expect("a protocol");
            let mut m = join_group_response::JoinGroupResponseMember::default();
            m.member_id = member_id.clone();
            m.group_instance_id = req.group_instance_id.clone();
            m.metadata = protocol.metadata.clone();
            let mut r = JoinGroupResponse::default();
            r.generation_id = c.generation;
            r.protocol_type = Some(str("consumer"));
            r.protocol_name = Some(protocol.name.clone());
            r.leader = member_id.clone();
            r.member_id = member_id;
            r.members = vec![m];
            frame::<JoinGroupRequest>(cid, version, &r)
        }
        ApiKey::SyncGroup => {
            let req = decode!(SyncGroupRequest);
            for a in &req.assignments {
                c.sync.insert(a.member_id.to_string(), a.assignment.clone());
            }
            let mut r = SyncGroupResponse::default();
            r.protocol_type = req.protocol_type.clone();
            r.protocol_name = req.protocol_name.clone();
            r.assignment = c
                .sync
                .get(req.member_id.as_str())
                .cloned()
                .unwrap_or_default();
            frame::<SyncGroupRequest>(cid, version, &r)
        }
        ApiKey::Heartbeat => frame::<HeartbeatRequest>(cid, version, &HeartbeatResponse::default()),
        ApiKey::LeaveGroup => {
            let req = decode!(LeaveGroupRequest);
            let mut r = LeaveGroupResponse::default();
            r.members = req
                .members
                .iter()
                .map(|m| {
                    let mut mr = leave_group_response::MemberResponse::default();
                    mr.member_id = m.member_id.clone();
                    mr.group_instance_id = m.group_instance_id.clone();
                    mr
                })
                .collect();
            frame::<LeaveGroupRequest>(cid, version, &r)
        }
        ApiKey::ShareFetch => {
            // The records of the partition's log not handed out yet, acquired once each (up
            // to max_records); with none, held for max_wait as a broker with nothing would.
            let req = decode!(ShareFetchRequest);
            let mut r = ShareFetchResponse::default();
            r.acquisition_lock_timeout_ms = 30_000;
            let mut budget = req.max_records.max(1) as usize;
            let mut any = false;
            let ClusterView {
                topics,
                logs,
                share_next,
                ..
            } = &mut *c;
            r.responses = req
                .topics
                .iter()
                .map(|t| {
                    let mut tr = share_fetch_response::ShareFetchableTopicResponse::default();
                    tr.topic_id = t.topic_id;
                    let name = topics
                        .iter()
                        .find(|x| x.id == t.topic_id)
                        .map(|x| x.name.clone());
                    tr.partitions = t
                        .partitions
                        .iter()
                        .map(|p| {
                            let mut pd = share_fetch_response::PartitionData::default();
                            pd.partition_index = p.partition_index;
                            let Some(name) = &name else {
                                pd.error_code = 100; // UNKNOWN_TOPIC_ID
                                return pd;
                            };
                            let key = (name.clone(), p.partition_index);
                            let log = logs.get(&key).cloned().unwrap_or_default();
                            let next = share_next.entry(key).or_default();
                            let start = *next as usize;
                            let end = log.len().min(start + budget);
                            if start < end {
                                pd.records = Some(records(*next, &log[start..end]));
                                let mut a = share_fetch_response::AcquiredRecords::default();
                                a.first_offset = *next;
                                a.last_offset = end as i64 - 1;
                                a.delivery_count = 1;
                                pd.acquired_records = vec![a];
                                budget -= end - start;
                                *next = end as i64;
                                any = true;
                            }
                            pd
                        })
                        .collect();
                    tr
                })
                .collect();
            if !any {
                hold = Duration::from_millis(req.max_wait_ms.max(0) as u64);
            }
            frame::<ShareFetchRequest>(cid, version, &r)
        }
        ApiKey::ShareAcknowledge => {
            let req = decode!(ShareAcknowledgeRequest);
            let mut r = ShareAcknowledgeResponse::default();
            r.responses = req
                .topics
                .iter()
                .map(|t| {
                    let mut tr =
                        share_acknowledge_response::ShareAcknowledgeTopicResponse::default();
                    tr.topic_id = t.topic_id;
                    tr.partitions = t
                        .partitions
                        .iter()
                        .map(|p| {
                            let mut pd = share_acknowledge_response::PartitionData::default();
                            pd.partition_index = p.partition_index;
                            pd
                        })
                        .collect();
                    tr
                })
                .collect();
            frame::<ShareAcknowledgeRequest>(cid, version, &r)
        }
        _ => return None,
    };
    Some((bytes, hold))
}
