//! Connections to every broker, by node id, opened on demand and reopened with backoff.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::time::Instant;

use super::connection::{Connection, ConnectionConfig};
use crate::error::{Error, ErrorKind, Result};
use crate::events::Event;

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

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Target {
    Node(i32),
    Addr(String),
}

#[derive(Default)]
struct Slot {
    conn: Option<Connection>,
    failures: u32,
    next_attempt: Option<Instant>,
    /// A refused authentication (or TLS verification), returned as is until `next_attempt`:
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
    /// Exponential, with ±20% jitter so many clients do not reconnect in step.
    fn after(&self, failures: u32) -> Duration {
        let base =
            self.initial.as_secs_f64() * 2f64.powi(failures.saturating_sub(1).min(30) as i32);
        let base = base.min(self.max.as_secs_f64());
        Duration::from_secs_f64(base * (0.8 + 0.4 * rand::random::<f64>()))
    }
}

/// The connection pool of one client handle.
pub struct BrokerPool {
    config: ConnectionConfig,
    backoff: ReconnectBackoff,
    bootstrap: Vec<String>,
    events: tokio::sync::broadcast::Sender<Event>,
    addrs: RwLock<HashMap<i32, String>>,
    slots: Mutex<HashMap<(Target, Lane), SharedSlot>>,
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
            backoff,
            bootstrap,
            events,
            addrs: RwLock::new(HashMap::new()),
            slots: Mutex::new(HashMap::new()),
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

    /// A connection to any broker: known brokers first, then the bootstrap list. The error of
    /// the last attempt is returned if none answers.
    pub async fn any(&self) -> Result<Connection> {
        let mut known: Vec<(i32, String)> = self
            .addrs
            .read()
            .map(|a| a.iter().map(|(k, v)| (*k, v.clone())).collect())
            .unwrap_or_default();
        known.sort();
        let mut errors = Vec::new();
        let mut kinds = Vec::new();
        for (id, addr) in known {
            match self
                .get_target(Target::Node(id), addr.clone(), Lane::General)
                .await
            {
                Ok(c) => return Ok(c),
                Err(e) => {
                    errors.push(format!("{addr}: {}", e.message()));
                    kinds.push(e.kind().clone());
                }
            }
        }
        for addr in &self.bootstrap {
            match self
                .get_target(Target::Addr(addr.clone()), addr.clone(), Lane::General)
                .await
            {
                Ok(c) => return Ok(c),
                Err(e) => {
                    errors.push(format!("{addr}: {}", e.message()));
                    kinds.push(e.kind().clone());
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
            slot.conn = None;
        }
        if let Some(at) = slot.next_attempt {
            if let Some(e) = &slot.refused {
                if Instant::now() < at {
                    return Err(e.clone());
                }
            }
            tokio::time::sleep_until(at).await;
        }
        match Connection::connect(&addr, self.config.clone(), Some(self.events.clone())).await {
            Ok(c) => {
                slot.failures = 0;
                slot.next_attempt = None;
                slot.refused = None;
                slot.conn = Some(c.clone());
                Ok(c)
            }
            Err(e) => {
                slot.failures += 1;
                let mut wait = self.backoff.after(slot.failures);
                if e.kind() == &ErrorKind::Auth {
                    wait = wait.max(AUTH_RETRY_AFTER);
                    slot.refused = Some(e.clone());
                } else {
                    slot.refused = None;
                }
                slot.next_attempt = Some(Instant::now() + wait);
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

    /// Closes every connection, letting requests in flight finish for up to `timeout`.
    pub async fn close(&self, timeout: Duration) {
        let slots: Vec<_> = match self.slots.lock() {
            Ok(mut s) => s.drain().map(|(_, v)| v).collect(),
            Err(_) => return,
        };
        let closes = slots.into_iter().map(|slot| async move {
            if let Some(c) = slot.lock().await.conn.take() {
                c.close(timeout).await;
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
        let b = ReconnectBackoff::default();
        let first = b.after(1);
        assert!(first >= Duration::from_millis(40) && first <= Duration::from_millis(60));
        let late = b.after(20);
        assert!(late >= Duration::from_millis(800) && late <= Duration::from_millis(1200));
    }
}
