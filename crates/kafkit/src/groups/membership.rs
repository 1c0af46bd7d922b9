//! What every group member's state machine answers to, whatever its protocol (classic,
//! KIP-848, share). Each is sans-IO: the engine that owns it feeds it clock readings and the
//! coordinator's answers, sends what it asks, and carries out its actions.

use std::time::Instant;

/// A member of a group, as the engine that drives it sees it.
pub(crate) trait Membership {
    /// What the member asks its engine to do (rebalance steps, lookups, events).
    type Action;

    /// The member id (a KIP-848 or share member names itself; a classic one is named by the
    /// coordinator, empty until then).
    fn member_id(&self) -> &str;

    /// The member epoch (the generation under the classic protocol); 0 or less outside the
    /// group.
    fn member_epoch(&self) -> i32;

    /// Whether the member has left the group (or never joined).
    fn has_left(&self) -> bool;

    /// Leave the group: the next request is the leave, then `Left` comes out as an action.
    fn leave(&mut self, now: Instant);

    /// The next thing the engine must do, if any.
    fn poll_action(&mut self) -> Option<Self::Action>;

    /// When the member next has a request to send (none while one is in flight).
    fn next_deadline(&self) -> Option<Instant>;
}
