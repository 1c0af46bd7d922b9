//! Reconciliation, the rule the classic and KIP-848 members share: a member moves its
//! partitions toward the coordinator's target one step at a time, revoking what it must give
//! up before it takes anything new, and each step is the driver's (stop fetching, commit, run
//! the hook) until the driver says it is done. Sans-IO; keyed by whatever the protocol names a
//! partition with (a name under the classic protocol, a topic id under KIP-848).

use std::collections::BTreeSet;

/// The step the driver is carrying out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step<K> {
    /// These are being revoked: still owned until the driver is done.
    Revoking(BTreeSet<K>),
    /// These are being assigned: owned once the driver is done.
    Assigning(BTreeSet<K>),
}

/// What a member owns, and the step under way.
#[derive(Debug, Clone)]
pub(crate) struct Reconciliation<K> {
    owned: BTreeSet<K>,
    step: Option<Step<K>>,
}

impl<K> Default for Reconciliation<K> {
    fn default() -> Self {
        Reconciliation {
            owned: BTreeSet::new(),
            step: None,
        }
    }
}

impl<K: Ord + Clone> Reconciliation<K> {
    /// The partitions applied (those being revoked included until the revocation is done).
    pub fn owned(&self) -> &BTreeSet<K> {
        &self.owned
    }

    /// A step is with the driver.
    pub fn busy(&self) -> bool {
        self.step.is_some()
    }

    /// The partitions of the assignment step under way, if one is.
    pub fn assigning(&self) -> Option<&BTreeSet<K>> {
        match &self.step {
            Some(Step::Assigning(s)) => Some(s),
            _ => None,
        }
    }

    /// Owned and being assigned: what a commit at the current epoch may carry.
    pub fn held(&self) -> BTreeSet<K> {
        let mut held = self.owned.clone();
        if let Some(s) = self.assigning() {
            held.extend(s.iter().cloned());
        }
        held
    }

    /// The next step toward keeping `target`: revoke what is owned outside it, else assign what
    /// it has that is not owned yet. `None`: nothing to do, or a step is already under way.
    pub fn step_toward(&mut self, target: &BTreeSet<K>) -> Option<Step<K>> {
        let revoke = self.owned.difference(target).cloned().collect();
        let assign = target.difference(&self.owned).cloned().collect();
        self.step(revoke, assign)
    }

    /// Starts the next step: revoking `revoke` if it is not empty, else assigning `assign` if
    /// that is not. Revocations always come first: a partition is never owned by two members.
    pub fn step(&mut self, revoke: BTreeSet<K>, assign: BTreeSet<K>) -> Option<Step<K>> {
        if self.step.is_some() {
            return None;
        }
        let step = if !revoke.is_empty() {
            Step::Revoking(revoke)
        } else if !assign.is_empty() {
            Step::Assigning(assign)
        } else {
            return None;
        };
        self.step = Some(step.clone());
        Some(step)
    }

    /// Revokes everything owned (an eager rebalance, a leave), dropping any step under way.
    /// Returns what is revoked, or `None` when nothing is owned.
    pub fn revoke_all(&mut self) -> Option<BTreeSet<K>> {
        self.step = None;
        if self.owned.is_empty() {
            return None;
        }
        let all = self.owned.clone();
        self.step = Some(Step::Revoking(all.clone()));
        Some(all)
    }

    /// The member lost its partitions (fenced, out of the generation, stalled): everything
    /// owned or being assigned is dropped without commit. Returns it (maybe empty).
    pub fn take_lost(&mut self) -> BTreeSet<K> {
        if let Some(Step::Assigning(set)) = self.step.take() {
            self.owned.extend(set);
        }
        self.step = None;
        std::mem::take(&mut self.owned)
    }

    /// The driver finished the step under way; returns false when it was not a revocation
    /// (the step is dropped all the same: its answer came too late).
    pub fn revoked(&mut self) -> bool {
        let Some(Step::Revoking(set)) = self.step.take() else {
            return false;
        };
        for k in &set {
            self.owned.remove(k);
        }
        true
    }

    /// The driver finished the step under way; returns false when it was not an assignment.
    pub fn assigned(&mut self) -> bool {
        let Some(Step::Assigning(set)) = self.step.take() else {
            return false;
        };
        self.owned.extend(set);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(v: &[i32]) -> BTreeSet<i32> {
        v.iter().copied().collect()
    }

    #[test]
    fn revocations_come_before_assignments_and_one_step_at_a_time() {
        let mut r = Reconciliation::default();
        assert_eq!(
            r.step_toward(&set(&[1, 2])),
            Some(Step::Assigning(set(&[1, 2])))
        );
        assert_eq!(r.step_toward(&set(&[3])), None, "one step at a time");
        assert!(r.held() == set(&[1, 2]) && r.owned().is_empty());
        assert!(!r.revoked(), "not a revocation");
        assert!(!r.busy(), "a late answer drops the step");
        r.step_toward(&set(&[1, 2]));
        assert!(r.assigned());
        assert_eq!(r.owned(), &set(&[1, 2]));
        assert_eq!(
            r.step_toward(&set(&[2, 3])),
            Some(Step::Revoking(set(&[1])))
        );
        assert_eq!(
            r.held(),
            set(&[1, 2]),
            "revoking ones stay owned until done"
        );
        assert!(r.revoked());
        assert_eq!(
            r.step_toward(&set(&[2, 3])),
            Some(Step::Assigning(set(&[3])))
        );
        assert_eq!(
            r.take_lost(),
            set(&[2, 3]),
            "lost takes the assigning ones too"
        );
        assert!(!r.busy() && r.owned().is_empty());
        assert_eq!(r.revoke_all(), None);
    }

    proptest! {
        /// Whatever the targets and however the driver's answers interleave, the member
        /// reaches the last target, and never owns (or is assigned) a partition the current
        /// target leaves out while it still owns one to revoke.
        #[test]
        fn the_member_reaches_its_target(
            targets in prop::collection::vec(prop::collection::btree_set(0..8i32, 0..6), 1..6),
        ) {
            let mut r = Reconciliation::default();
            for target in &targets {
                while let Some(step) = r.step_toward(target) {
                    match step {
                        Step::Revoking(s) => {
                            prop_assert!(s.is_disjoint(target));
                            prop_assert!(r.revoked());
                        }
                        Step::Assigning(s) => {
                            prop_assert!(r.owned().is_subset(target), "assigns only once revoked");
                            prop_assert!(s.is_subset(target));
                            prop_assert!(r.assigned());
                        }
                    }
                }
                prop_assert_eq!(r.owned(), target);
            }
        }
    }
}
