//! Connections to every broker, by node id, opened on demand and reopened with backoff.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::time::Instant;

use super::connection::{Connection, ConnectionConfig};
use crate::error::{Error, ErrorKind, Result};
use crate::events::Event;
use crate::retry::{Backoff, RetryPolicy};

/// Which socket to a broker a request travels on.
///
/// A broker answers the requests of one connection in order, so a long-polling Fetch would hold
/// up a heartbeat queued behind it on the same socket (and the member could be fenced for it).
/// Group traffic and fetches therefore get sockets of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// Metadata, produce, admin.
    General,
    /// Group coordination: heartbeats, joins, commits.
    Group,
    /// Fetches (long polls).
    Fetch,
    /// One classic group member's own socket: its JoinGroup is answered only when the whole
    /// group has rejoined, so on a shared socket it would hold up the other members'
    /// heartbeats (and the group could never complete the rebalance).
    Member(u64),
}

impl Lane {
    /// A socket of its own, for one member's requests that must not wait behind others'
    /// (a classic JoinGroup, a share consumer's long-polling ShareFetch).
    pub fn private() -> Lane {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Lane::Member(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Target {
    Node(i32),
    Addr(String),
}

#[derive(Default)]
struct Slot {
    conn: Option<Connection>,
    /// Failed connection attempts in a row, and when the next may go.
    backoff: Backoff,
    /// A refused authentication (or TLS verification), returned as is until the next attempt:
    /// retrying bad credentials at once would only flood the broker.
    refused: Option<Error>,
}

/// A slot, locked while a connection is being opened for it.
type SharedSlot = Arc<tokio::sync::Mutex<Slot>>;

/// Least wait after the broker refused authentication.
const AUTH_RETRY_AFTER: Duration = Duration::from_secs(10);

/// Backoff between reconnect attempts (Java `reconnect.backoff.ms` / `reconnect.backoff.max.ms`).
#[derive(Debug, Clone)]
pub struct ReconnectBackoff {
    /// First wait after a failed attempt.
    pub initial: Duration,
    /// Upper bound of the wait.
    pub max: Duration,
}

impl Default for ReconnectBackoff {
    fn default() -> Self {
        ReconnectBackoff {
            initial: Duration::from_millis(50),
            max: Duration::from_secs(1),
        }
    }
}

impl ReconnectBackoff {
    /// Sets the first wait after a failed attempt (Java `reconnect.backoff.ms`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use kafkit::security::ReconnectBackoff;
    /// let b = ReconnectBackoff::default()
    ///     .initial(Duration::from_millis(100))
    ///     .max(Duration::from_secs(10));
    /// assert_eq!(b.max, Duration::from_secs(10));
    /// ```
    pub fn initial(mut self, d: Duration) -> Self {
        self.initial = d;
        self
    }

    /// Sets the upper bound of the wait (Java `reconnect.backoff.max.ms`).
    pub fn max(mut self, d: Duration) -> Self {
        self.max = d;
        self
    }

    /// As a retry policy: exponential, with ±20% jitter so many clients do not reconnect in
    /// step.
    fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_retry_time: self.max,
            initial_retry_time: self.initial,
            factor: 0.2,
            multiplier: 2.0,
            retries: 0,
        }
    }
}

/// The connection pool of one client handle.
pub struct BrokerPool {
    config: ConnectionConfig,
    backoff: RetryPolicy,
    bootstrap: Vec<String>,
    events: tokio::sync::broadcast::Sender<Event>,
    addrs: RwLock<HashMap<i32, String>>,
    slots: Mutex<HashMap<(Target, Lane), SharedSlot>>,
    /// Brokers that recently timed out or could not be reached, by address, until when: they
    /// are asked last. A hung broker keeps its socket open, so "connected" says nothing.
    suspects: Mutex<HashMap<String, Instant>>,
    /// The brokers the last metadata listed (`None` before the first). Lookups ask only these
    /// before the bootstrap list: a broker the cluster no longer lists (decommissioned, or a
    /// cluster replaced behind the same bootstrap name) is not asked first forever, and when
    /// every listed broker fails the bootstrap list is asked again (KIP-899's rebootstrap).
    live: RwLock<Option<HashSet<i32>>>,
}

/// How long a broker that timed out or failed stays at the back of the line.
const SUSPECT_FOR: Duration = Duration::from_secs(30);

/// The connect timeout for a suspect broker (unless the configured one is shorter).
const SUSPECT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A lookup (metadata, coordinator) that has no answer after this long is also sent to the
/// next broker; the first answer wins. Healthy brokers answer them in milliseconds.
const HEDGE_AFTER: Duration = Duration::from_millis(1000);

/// Whether an error says the broker, rather than the request, is the problem.
fn broker_trouble(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::Connection | ErrorKind::Timeout(_))
}

impl BrokerPool {
    /// A pool that bootstraps from `bootstrap` (`host:port` each).
    pub fn new(
        bootstrap: Vec<String>,
        config: ConnectionConfig,
        backoff: ReconnectBackoff,
        events: tokio::sync::broadcast::Sender<Event>,
    ) -> Self {
        BrokerPool {
            config,
            backoff: backoff.policy(),
            bootstrap,
            events,
            addrs: RwLock::new(HashMap::new()),
            slots: Mutex::new(HashMap::new()),
            suspects: Mutex::new(HashMap::new()),
            live: RwLock::new(None),
        }
    }

    /// The connection settings.
    pub fn config(&self) -> &ConnectionConfig {
        &self.config
    }

    /// Records broker addresses from metadata; a node whose address changed is reconnected.
    pub fn set_brokers(&self, brokers: impl IntoIterator<Item = (i32, String)>) {
        let mut addrs = match self.addrs.write() {
            Ok(a) => a,
            Err(_) => return,
        };
        for (id, addr) in brokers {
            if addrs.get(&id).is_some_and(|old| old != &addr) {
                if let Ok(mut slots) = self.slots.lock() {
                    slots.retain(|(t, _), _| t != &Target::Node(id));
                }
            }
            addrs.insert(id, addr);
        }
    }

    /// The brokers a metadata response listed: the whole live cluster.
    pub(crate) fn set_live_brokers(&self, ids: impl IntoIterator<Item = i32>) {
        if let Ok(mut live) = self.live.write() {
            *live = Some(ids.into_iter().collect());
        }
    }

    /// Forgets which brokers are live: lookups go to the bootstrap list first, as on a fresh
    /// start (the broker answered REBOOTSTRAP_REQUIRED, KIP-1102).
    pub(crate) fn rebootstrap(&self) {
        if let Ok(mut live) = self.live.write() {
            *live = Some(HashSet::new());
        }
    }

    /// The address of a node, if metadata has named it.
    pub fn addr_of(&self, node_id: i32) -> Option<String> {
        self.addrs.read().ok()?.get(&node_id).cloned()
    }

    /// The connection to `node_id` on `lane`, opened if needed.
    pub async fn get(&self, node_id: i32, lane: Lane) -> Result<Connection> {
        let addr = self.addr_of(node_id).ok_or_else(|| {
            Error::new(
                ErrorKind::Connection,
                "connect",
                format!("broker node {node_id} is not in the cluster metadata"),
            )
        })?;
        self.get_target(Target::Node(node_id), addr, lane).await
    }

    /// Marks the broker at `addr` as not answering: lookups ask it last for a while.
    pub(crate) fn mark_suspect(&self, addr: &str) {
        if let Ok(mut s) = self.suspects.lock() {
            s.insert(addr.to_string(), Instant::now() + SUSPECT_FOR);
        }
    }

    fn clear_suspect(&self, addr: &str) {
        if let Ok(mut s) = self.suspects.lock() {
            s.remove(addr);
        }
    }

    /// Whether the broker `node_id` recently timed out or could not be reached.
    pub(crate) fn node_is_suspect(&self, node_id: i32) -> bool {
        self.addr_of(node_id).is_some_and(|a| self.is_suspect(&a))
    }

    fn is_suspect(&self, addr: &str) -> bool {
        let now = Instant::now();
        self.suspects
            .lock()
            .map(|mut s| {
                s.retain(|_, until| *until > now);
                s.contains_key(addr)
            })
            .unwrap_or(false)
    }

    /// Every broker to try for a lookup, best first: the live brokers that answer, in id
    /// order, then the bootstrap addresses they do not cover, then suspects.
    fn candidates(&self) -> Vec<(Target, String)> {
        let live = self.live.read().ok().and_then(|l| l.clone());
        let mut known: Vec<(i32, String)> = self
            .addrs
            .read()
            .map(|a| {
                a.iter()
                    .filter(|(k, _)| live.as_ref().is_none_or(|l| l.contains(k)))
                    .map(|(k, v)| (*k, v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        known.sort();
        let mut all: Vec<(Target, String)> = Vec::new();
        for (id, addr) in &known {
            all.push((Target::Node(*id), addr.clone()));
        }
        for addr in &self.bootstrap {
            if !known.iter().any(|(_, a)| a == addr) {
                all.push((Target::Addr(addr.clone()), addr.clone()));
            }
        }
        // A stable sort keeps the order within each group.
        all.sort_by_key(|(_, addr)| self.is_suspect(addr));
        all
    }

    /// A connection to any broker: known brokers that answer first, then the bootstrap list,
    /// then brokers that recently timed out. The errors of every attempt are returned if none
    /// answers.
    pub async fn any(&self) -> Result<Connection> {
        self.first_answer(|c| async move { Ok(c) }).await
    }

    /// Runs `op` (a lookup: metadata, FindCoordinator) on some broker and returns the first
    /// success. Brokers are tried best first; when one has not answered within
    /// [`HEDGE_AFTER`], the next is asked too, so a hung broker (process frozen, socket open)
    /// costs a second, not a request timeout. A broker that times out or cannot be reached is
    /// suspect for a while and asked last.
    pub(crate) async fn first_answer<T, F, Fut>(&self, op: F) -> Result<T>
    where
        F: Fn(Connection) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        use futures::stream::{FuturesUnordered, StreamExt};
        let mut todo = self.candidates().into_iter();
        let mut running = FuturesUnordered::new();
        let attempt = |(target, addr): (Target, String)| {
            let op = &op;
            async move {
                let result = match self.get_target(target, addr.clone(), Lane::General).await {
                    Ok(c) => op(c).await,
                    Err(e) => Err(e),
                };
                (addr, result)
            }
        };
        let mut errors = Vec::new();
        let mut kinds = Vec::new();
        // Brokers asked and not yet answered.
        let mut waiting: Vec<String> = Vec::new();
        macro_rules! start {
            ($c:expr) => {{
                let c: (Target, String) = $c;
                waiting.push(c.1.clone());
                running.push(attempt(c));
            }};
        }
        if let Some(c) = todo.next() {
            start!(c);
        }
        while !running.is_empty() {
            let next = tokio::time::timeout(HEDGE_AFTER, running.next()).await;
            if let Ok(Some((addr, _))) = &next {
                waiting.retain(|a| a != addr);
            }
            match next {
                Ok(Some((addr, Ok(v)))) => {
                    self.clear_suspect(&addr);
                    // Those still silent lost to a broker that answered: ask them last.
                    for a in &waiting {
                        self.mark_suspect(a);
                    }
                    return Ok(v);
                }
                Ok(Some((addr, Err(e)))) => {
                    if broker_trouble(&e) {
                        self.mark_suspect(&addr);
                    }
                    errors.push(format!("{addr}: {}", e.message()));
                    kinds.push(e.kind().clone());
                    if let Some(c) = todo.next() {
                        start!(c);
                    }
                }
                Ok(None) => break,
                // No answer yet: ask the next broker as well.
                Err(_) => {
                    if let Some(c) = todo.next() {
                        start!(c);
                    }
                }
            }
        }
        // The same failure everywhere (refused credentials, no answer, garbage answers): keep
        // its kind, so callers can tell a misconfiguration from an unreachable cluster.
        if let Some(first) = kinds.first() {
            if first != &ErrorKind::Connection && kinds.iter().all(|k| k == first) {
                return Err(Error::new(first.clone(), "connect", errors.join("; ")));
            }
        }
        Err(Error::new(
            ErrorKind::Connection,
            "connect",
            format!(
                "no broker reachable ({}); check that Kafka is running and that `bootstrap` lists its host:port",
                errors.join("; ")
            ),
        ))
    }

    async fn get_target(&self, target: Target, addr: String, lane: Lane) -> Result<Connection> {
        let slot = {
            let mut slots = self
                .slots
                .lock()
                .map_err(|_| Error::protocol("connect", "pool state poisoned"))?;
            slots.entry((target, lane)).or_default().clone()
        };
        let mut slot = slot.lock().await;
        if let Some(c) = &slot.conn {
            if !c.is_closed() {
                return Ok(c.clone());
            }
            if c.timed_out() {
                self.mark_suspect(&addr);
            }
            slot.conn = None;
        }
        if let Some(at) = slot.backoff.until() {
            if let Some(e) = &slot.refused {
                if Instant::now() < at {
                    return Err(e.clone());
                }
            }
            tokio::time::sleep_until(at).await;
        }
        // A broker that just timed out may be frozen: the kernel still accepts connections for
        // it, and only the handshake's silence tells. Do not wait the full connect timeout for
        // that again while it is suspect.
        let mut config = self.config.clone();
        if self.is_suspect(&addr) {
            config.connect_timeout = config.connect_timeout.min(SUSPECT_CONNECT_TIMEOUT);
        }
        match Connection::connect(&addr, config, Some(self.events.clone())).await {
            Ok(c) => {
                slot.backoff.reset();
                slot.refused = None;
                slot.conn = Some(c.clone());
                Ok(c)
            }
            Err(e) => {
                let mut wait = slot.backoff.failed(&self.backoff);
                if e.kind() == &ErrorKind::Auth {
                    wait = wait.max(AUTH_RETRY_AFTER);
                    slot.refused = Some(e.clone());
                } else {
                    slot.refused = None;
                }
                slot.backoff.wait_until(Instant::now() + wait);
                Err(e)
            }
        }
    }

    /// Closes and forgets the connections of one lane (a classic member's own socket when
    /// the member ends), so a process that makes many consumers does not keep them all.
    pub async fn close_lane(&self, lane: Lane, timeout: Duration) {
        let slots: Vec<_> = match self.slots.lock() {
            Ok(mut s) => {
                let keys: Vec<_> = s.keys().filter(|(_, l)| *l == lane).cloned().collect();
                keys.into_iter().filter_map(|k| s.remove(&k)).collect()
            }
            Err(_) => return,
        };
        for slot in slots {
            if let Some(c) = slot.lock().await.conn.take() {
                c.close(timeout).await;
            }
        }
    }

    /// Closes every connection, letting requests in flight finish for up to `timeout`. Fetches
    /// are not waited for: a long poll changes nothing on the broker and its records have no
    /// reader once the client closes (waiting would hold `close` for up to the fetch max wait).
    pub async fn close(&self, timeout: Duration) {
        let slots: Vec<_> = match self.slots.lock() {
            Ok(mut s) => s.drain().collect(),
            Err(_) => return,
        };
        let closes = slots.into_iter().map(|((_, lane), slot)| async move {
            if let Some(c) = slot.lock().await.conn.take() {
                let wait = if lane == Lane::Fetch {
                    Duration::ZERO
                } else {
                    timeout
                };
                c.close(wait).await;
            }
        });
        futures::future::join_all(closes).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_the_cap_with_jitter() {
        let p = ReconnectBackoff::default().policy();
        let mut b = Backoff::default();
        let first = b.failed(&p);
        assert!(first >= Duration::from_millis(40) && first <= Duration::from_millis(60));
        let late = (0..20).map(|_| b.failed(&p)).last().unwrap();
        assert!(late >= Duration::from_millis(800) && late <= Duration::from_millis(1200));
    }

    fn pool(bootstrap: &[&str]) -> BrokerPool {
        BrokerPool::new(
            bootstrap.iter().map(|b| b.to_string()).collect(),
            ConnectionConfig::default(),
            ReconnectBackoff::default(),
            tokio::sync::broadcast::channel(1).0,
        )
    }

    fn addrs(c: Vec<(Target, String)>) -> Vec<String> {
        c.into_iter().map(|(_, a)| a).collect()
    }

    #[test]
    fn lookups_ask_live_brokers_then_bootstrap_then_suspects() {
        let p = pool(&["a:1", "c:1"]);
        assert_eq!(addrs(p.candidates()), ["a:1", "c:1"], "before any metadata");
        p.set_brokers([(1, "a:1".to_string()), (2, "b:1".to_string())]);
        p.set_live_brokers([1, 2]);
        assert_eq!(addrs(p.candidates()), ["a:1", "b:1", "c:1"]);
        // Broker 2 left the cluster: it is no longer asked at all.
        p.set_live_brokers([1]);
        assert_eq!(addrs(p.candidates()), ["a:1", "c:1"]);
        p.mark_suspect("a:1");
        assert_eq!(addrs(p.candidates()), ["c:1", "a:1"]);
        // REBOOTSTRAP_REQUIRED: only the bootstrap list, as on a fresh start.
        p.rebootstrap();
        let c = p.candidates();
        assert!(c.iter().all(|(t, _)| matches!(t, Target::Addr(_))));
        assert_eq!(addrs(c), ["c:1", "a:1"]);
    }
}
