//! The memory a fetch answer's records may take once decoded.

use super::message::MessageHeader;

/// What a decoded message takes besides the bytes it slices (the struct, its topic handle),
/// and each of its headers: counted against the [`Budget`].
pub(crate) const MESSAGE_COST: usize = 128;
pub(crate) const HEADER_COST: usize = std::mem::size_of::<MessageHeader>();

/// The memory one Fetch response's records may take once decoded: a share of the consumer's
/// free prefetch space. It counts what a kept record holds alive, not only its key and value:
/// the whole inflated buffer of a compressed batch (its records are slices of it), the bytes of
/// an uncompressed batch, and each message's and header's struct. A compressed batch inflates
/// within what is left and never past it. A response whose records take more is cut at the
/// record that crosses it (at least one record is decoded, so reading always progresses); the
/// rest is fetched again later.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub(super) total: usize,
    pub(super) left: usize,
    pub(super) spent: bool,
    /// The fetch holds the consumer's whole prefetch space: a batch that inflates past it can
    /// never be read (an error for the application, not a retry).
    pub(super) whole: bool,
    pub(super) check_crcs: bool,
}

impl Budget {
    /// A share of `bytes` of the prefetch space.
    pub fn new(bytes: usize) -> Self {
        Budget {
            total: bytes,
            left: bytes,
            spent: false,
            whole: false,
            check_crcs: true,
        }
    }

    /// The whole prefetch space, `bytes`.
    pub fn whole(bytes: usize) -> Self {
        Budget {
            whole: true,
            ..Budget::new(bytes)
        }
    }

    /// Whether batch CRCs are checked (default true).
    pub fn check_crcs(mut self, on: bool) -> Self {
        self.check_crcs = on;
        self
    }

    /// The bytes it started with.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Whether decoding must stop before the next batch.
    pub(crate) fn exhausted(&self) -> bool {
        self.spent && self.left == 0
    }

    pub(crate) fn spend(&mut self, bytes: usize) {
        self.left = self.left.saturating_sub(bytes);
        self.spent = true;
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    #[test]
    fn a_message_costs_at_least_its_struct() {
        // The decoder reserves room for a batch's messages up to what the budget could take,
        // so the budget must count at least what each slot takes.
        assert!(
            MESSAGE_COST >= std::mem::size_of::<super::super::message::Message>(),
            "{}",
            std::mem::size_of::<super::super::message::Message>()
        );
    }
}
