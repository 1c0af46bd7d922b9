//! Work the engine hands to tasks (requests, hooks, lookups) and what they report back: the
//! loop never waits on the network or the user's code, so heartbeats never queue behind them.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::super::config::AutoOffsetReset;
use crate::cluster::TopicWait;
use crate::error::{Error, Result};
use crate::events::TopicPartition;
use crate::fetch::FetchedPartition;
use crate::groups::consumer::classic::leader::{Assignments, TopicCounts};
use crate::groups::consumer::classic::ClassicKind;
use crate::groups::consumer::GroupResponse;
use crate::net::Connection;

/// What a task reports to the engine's loop.
pub(super) enum Internal {
    /// An answer from the coordinator (`kind` is set for classic requests).
    Group(Option<ClassicKind>, Result<GroupResponse>),
    /// The leader's assignment for a generation.
    AssignmentComputed(i32, Result<(Assignments, TopicCounts)>),
    /// Leader: the partition-count check ended; `Some(generation)` if the counts changed.
    CountsChecked(Option<i32>),
    /// A classic pattern subscription resolved to these topics.
    PatternTopics(String, Result<BTreeSet<String>>),
    Coordinator(Result<(i32, Connection)>),
    /// The names found for these topic ids.
    TopicNames(Vec<Uuid>, Result<HashMap<Uuid, String>>),
    Fetched(FetchAnswer),
    Revoked(u64),
    Assigned(u64, Result<Prepared>),
    Lost(u64),
    /// Where assigned partitions (no group driver) start; `committed`: the group's committed
    /// offsets, else the reset policy's.
    Started {
        positions: Vec<(TopicPartition, i64, Option<i32>)>,
        committed: bool,
    },
    /// What metadata says of topics the consumer waits for (see `waits.rs`).
    TopicsChecked(Result<Vec<(String, TopicWait)>>),
    /// Positions found by an offset reset (OFFSET_OUT_OF_RANGE), or the partitions whose
    /// lookup failed and the policy to try again with.
    Reset(ResetResult),
    /// A commit ended: `offsets` were committed; `auto`: it was an auto-commit.
    Committed {
        offsets: Vec<(TopicPartition, i64)>,
        result: Result<()>,
        reply: Option<oneshot::Sender<Result<()>>>,
        auto: bool,
    },
    /// A commit about to be (re)sent asks for the member's standing now.
    Standing(oneshot::Sender<Option<Standing>>),
}

/// The member as its commits see it now (read from the engine at each attempt).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Standing {
    /// Member epoch (KIP-848) or generation (classic); 0 or less outside the group.
    pub epoch: i32,
    /// The partitions the member owns at that epoch: assigned or being assigned, and those
    /// being revoked until the revocation is acknowledged.
    pub owned: BTreeSet<TopicPartition>,
}

/// Partitions whose start position could not be looked up, by the policy that gives it,
/// each with why.
pub(super) type Waiting = Vec<(AutoOffsetReset, Vec<(TopicPartition, Error)>)>;

/// What preparing an assignment found.
pub(super) struct Prepared {
    /// Where each partition starts, with the leader epoch its committed offset recorded.
    pub positions: Vec<(TopicPartition, i64, Option<i32>)>,
    /// Partitions whose start could not be looked up (no leader known, its leader failed):
    /// they do not hold back the others.
    pub waiting: Waiting,
}

/// A fetch's answer from one broker, with the generations of the partitions it asked for.
pub(super) struct FetchAnswer {
    pub node: i32,
    /// The partitions, and the fetch session id the broker answered with (0: none).
    pub result: Result<(Vec<FetchedPartition>, i32)>,
    pub generations: HashMap<TopicPartition, u64>,
}

/// What an offset lookup (a reset, or a start position that could not be found at
/// assignment) found: positions, and the partitions whose lookup failed, with why, to be tried
/// again with the same policy.
pub(super) struct ResetResult {
    pub found: Vec<(TopicPartition, i64)>,
    pub failed: Vec<(TopicPartition, crate::error::Error)>,
    pub reset: AutoOffsetReset,
}

/// Starts tasks whose result comes back to the engine's loop.
#[derive(Clone)]
pub(super) struct Reporter(mpsc::UnboundedSender<Internal>, Arc<Mutex<Option<Serial>>>);

/// Resolves when the last task started with [`Reporter::spawn_serial`] has finished.
type Serial = oneshot::Receiver<()>;

/// A task's place in the serial order (see [`Reporter::serial_turn`]).
pub(super) struct SerialTurn {
    previous: Option<Serial>,
    /// Dropped when the task is done: the next one goes.
    _done: oneshot::Sender<()>,
}

impl SerialTurn {
    /// Waits for the tasks started before this one.
    pub async fn wait(&mut self) {
        if let Some(p) = self.previous.take() {
            let _ = p.await; // a dropped predecessor (panic, shutdown) counts as finished
        }
    }
}

impl Reporter {
    pub fn new() -> (Self, mpsc::UnboundedReceiver<Internal>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Reporter(tx, Arc::new(Mutex::new(None))), rx)
    }

    /// Like [`spawn`](Self::spawn), but each task waits for the previous one started this way:
    /// they run one at a time, in the order they were started. Offset commits go this way —
    /// two commits in flight at once can reach the coordinator in either order, and the older
    /// offset would then overwrite the newer one.
    pub fn spawn_serial(&self, work: impl Future<Output = Internal> + Send + 'static) {
        let mut turn = self.serial_turn();
        let tx = self.0.clone();
        tokio::spawn(async move {
            turn.wait().await;
            let _ = tx.send(work.await);
            drop(turn);
        });
    }

    /// A place in the order of [`spawn_serial`](Self::spawn_serial), for a task that does more
    /// than commit (a revocation commits, then runs its hook): it waits for the tasks before
    /// it, and the next one waits until the turn is dropped.
    pub fn serial_turn(&self) -> SerialTurn {
        let (done, next) = oneshot::channel();
        let previous = self
            .1
            .lock()
            .map(|mut last| last.replace(next))
            .unwrap_or(None);
        SerialTurn {
            previous,
            _done: done,
        }
    }

    /// The member's standing now, as the engine knows it (`None` once the engine has ended,
    /// or without a group driver).
    pub async fn standing(&self) -> Option<Standing> {
        let (tx, rx) = oneshot::channel();
        self.0.send(Internal::Standing(tx)).ok()?;
        rx.await.ok().flatten()
    }

    /// Whether the loop has ended (a task that retries stops then).
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }

    /// Reports at once (from a task that reports more than once).
    pub fn send(&self, msg: Internal) {
        let _ = self.0.send(msg);
    }

    /// Runs `work` in a task of its own and reports what it returns. A loop that has ended
    /// drops the report.
    pub fn spawn(&self, work: impl Future<Output = Internal> + Send + 'static) {
        let tx = self.0.clone();
        tokio::spawn(async move {
            let _ = tx.send(work.await);
        });
    }
}
