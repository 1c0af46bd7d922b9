//! The handle's commands, each handed to the owner of what it changes. A consumer of assigned
//! partitions has no group driver: commands about the membership answer as a member of no
//! group would (no epoch, nothing to leave).

use std::collections::BTreeSet;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{commits, waits, Command, Ctx, Engine};
use crate::error::{Error, Result};
use crate::groups::consumer::Subscription;

/// The member's standing in its group, as [`BatchContext::heartbeat`](crate::consumer::BatchContext::heartbeat) reports it.
///
/// ```no_run
/// # async fn demo(ctx: kafkit::consumer::BatchContext) -> kafkit::Result<()> {
/// let status = ctx.heartbeat().await?;
/// if !status.assigned {
///     return Ok(()); // the partition is moving to another member: stop early
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemberStatus {
    /// Member epoch (KIP-848) or generation (classic); 0 or -1 while not in the group.
    pub member_epoch: i32,
    /// The member's assignment is changing (partitions being revoked or assigned, or a
    /// join under way).
    pub rebalancing: bool,
    /// The batch's partition is still assigned to this member and not being revoked.
    pub assigned: bool,
}

impl Engine {
    pub(super) fn on_command(&mut self, cmd: Command) {
        let now = Instant::now();
        match cmd {
            Command::Subscribe {
                subscription,
                from_beginning,
                reply,
            } => {
                let Some(group) = self.group.as_mut() else {
                    let _ = reply.send(Err(no_group("subscribe")));
                    return;
                };
                self.from_beginning = from_beginning;
                let ctx = Ctx {
                    kafka: &self.kafka,
                    config: &self.config,
                    report: &self.report,
                };
                if let Subscription::Topics(names) = &subscription {
                    waits::check_topics(&ctx, names.iter().cloned().collect());
                }
                group.subscribe(&ctx, subscription, now);
                if group.answered() {
                    let _ = reply.send(Ok(()));
                } else {
                    self.subscribe_reply = Some(reply);
                }
            }
            Command::Assign { partitions, reply } => {
                if self.group.is_some() {
                    let _ = reply.send(Err(Error::config(
                        "assign is for a consumer of assigned partitions (Kafka::assigned_consumer); a group consumer gets its partitions from the group: subscribe",
                    )));
                    return;
                }
                let ctx = Ctx {
                    kafka: &self.kafka,
                    config: &self.config,
                    report: &self.report,
                };
                let wanted: BTreeSet<_> = partitions.into_iter().collect();
                waits::check_topics(&ctx, wanted.iter().map(|t| t.topic.clone()).collect());
                self.commits.sync_progress(&mut self.parts);
                let commit = self.commit_ctx();
                self.manual.assign(&ctx, &mut self.parts, wanted, commit);
                let _ = reply.send(Ok(()));
            }
            Command::Pause(tps, pause) => {
                for tp in tps {
                    if let Some(st) = self.parts.states.get_mut(&tp) {
                        st.paused = pause;
                    }
                }
            }
            Command::Seek(tp, offset) => {
                if !self.parts.seek(&tp, offset) {
                    tracing::warn!(partition = %tp, "seek on a partition not assigned to this consumer is ignored");
                }
            }
            Command::SeekReset(tp, reset) => {
                if self.parts.seek_unresolved(&tp) {
                    self.fetching.look_up(tp, reset);
                } else {
                    tracing::warn!(partition = %tp, "seek on a partition not assigned to this consumer is ignored");
                }
            }
            Command::Position(tps, reply) => {
                self.commits.sync_progress(&mut self.parts);
                let found = tps
                    .into_iter()
                    .map(|tp| {
                        let at = self.parts.states.get(&tp).and_then(|s| s.next_to_process());
                        (tp, at)
                    })
                    .collect();
                let _ = reply.send(found);
            }
            Command::Commit { offsets, reply } => {
                self.commits.sync_progress(&mut self.parts);
                let offsets = match offsets {
                    Some(o) => o.into_iter().map(|(tp, off)| (tp, off, -1)).collect(),
                    None => self.parts.uncommitted(),
                };
                match self.commit_ctx() {
                    Some(ctx) => {
                        commits::spawn_commit(&self.report, ctx, offsets, Some(reply), false)
                    }
                    None => {
                        let _ = reply.send(Err(no_group("commit")));
                    }
                }
            }
            Command::Processed {
                tp,
                generation,
                next,
                done,
            } => {
                self.commits.sync_progress(&mut self.parts);
                if done {
                    self.parts.release_in_hand(&tp);
                }
                if let Some(st) = self.parts.states.get_mut(&tp) {
                    if done {
                        st.progress = None;
                        st.in_process = false;
                        st.in_hand_from = None;
                    }
                    if st.generation == generation {
                        if let Some(n) = next {
                            let from = st.processed.map(|(o, _)| o).or(st.committed);
                            if from.is_none_or(|o| n.0 > o) {
                                st.processed = Some(n);
                                self.commits
                                    .processed(from.map_or(1, |o| (n.0 - o) as usize));
                            }
                        }
                    }
                }
                self.finish_revoke();
            }
            Command::Assignment(reply) => {
                let _ = reply.send(self.parts.states.keys().cloned().collect());
            }
            Command::Heartbeat { tp, reply } => {
                let revoking = self.rebalance.revoking();
                let (member_epoch, rebalancing) = match self.group.as_mut() {
                    Some(s) => {
                        let member = s.membership();
                        (member.member_epoch(), member.is_rebalancing())
                    }
                    None => (-1, false),
                };
                let _ = reply.send(MemberStatus {
                    member_epoch,
                    rebalancing: rebalancing || !revoking.is_empty(),
                    assigned: self.parts.states.contains_key(&tp) && !revoking.contains(&tp),
                });
            }
            Command::CommitIfNecessary(reply) => {
                self.commits.sync_progress(&mut self.parts);
                let may = self.may_commit();
                let due = !self.config.auto_commit
                    || self.commits.auto_commit_due(&self.config, may, now);
                let offsets = self.parts.uncommitted();
                match self.commit_ctx() {
                    Some(ctx) if due && !offsets.is_empty() => {
                        commits::spawn_commit(&self.report, ctx, offsets, Some(reply), false)
                    }
                    _ => {
                        let _ = reply.send(Ok(()));
                    }
                }
            }
            Command::Stale => match self.group.as_mut() {
                Some(s) => {
                    tracing::warn!(group = %self.config.group_id, "handler exceeded max_poll_interval: leaving the group until it returns");
                    s.membership().on_poll_stale(now.into());
                }
                None => {
                    tracing::warn!("handler exceeded max_poll_interval (no group to leave)")
                }
            },
            Command::Rejoin => {
                if let Some(s) = self.group.as_mut() {
                    s.membership().rejoin(now.into());
                }
            }
            Command::Stop(reply) => self.begin_stop(reply),
            Command::Abort => self.exit = true,
            Command::SuspendHeartbeats(until) => {
                if let Some(s) = self.group.as_mut() {
                    s.suspend_heartbeats(until);
                }
            }
        }
    }

    fn begin_stop(&mut self, reply: oneshot::Sender<Result<()>>) {
        match self.group.as_mut() {
            // Never joined: nothing to leave.
            Some(s) if !s.is_subscribed() => {
                let _ = reply.send(Ok(()));
                self.exit = true;
            }
            Some(s) => {
                self.stopping = Some(reply);
                s.membership().leave(Instant::now().into());
            }
            // Ends once the handler is done (see `Manual::stopped`).
            None => self.stopping = Some(reply),
        }
    }

    /// Every handle dropped: stop as `stop` would.
    pub(super) fn on_handles_gone(&mut self) {
        if self.stopping.is_none() {
            let (tx, _) = oneshot::channel();
            self.begin_stop(tx);
        }
    }
}

/// A group-only call on a consumer without a group.
fn no_group(op: &str) -> Error {
    Error::config(format!(
        "{op} needs a consumer group: this consumer reads assigned partitions without one (make it with ConsumerConfig::new(group) to keep offsets in a group)"
    ))
}
