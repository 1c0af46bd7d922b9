//! Acknowledgements: what a share consumer tells the broker about each record it was given
//! (accept, release for redelivery, reject), as the offset ranges ShareFetch and
//! ShareAcknowledge carry.

use std::collections::BTreeMap;

/// What becomes of a delivered record (KIP-932).
///
/// ```
/// use kafkit::share::AcknowledgeType;
/// assert_ne!(AcknowledgeType::Accept, AcknowledgeType::Release);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AcknowledgeType {
    /// Processed: the record is done for this share group.
    Accept,
    /// Not processed: the broker delivers it again (to any member), counting a delivery more.
    Release,
    /// Unprocessable: the broker never delivers it again (it is archived).
    Reject,
}

impl AcknowledgeType {
    /// The wire code (0 is a gap: an offset with no record).
    pub(crate) fn code(self) -> i8 {
        match self {
            AcknowledgeType::Accept => 1,
            AcknowledgeType::Release => 2,
            AcknowledgeType::Reject => 3,
        }
    }
}

/// The wire code of an acquired offset no record came for (a control record, or one compacted
/// away): it is acknowledged so the broker does not hand it out again.
pub(crate) const GAP: i8 = 0;

/// The wire code that renews a record's acquisition lock instead of deciding it (KIP-1222).
pub(crate) const RENEW: i8 = 4;

/// One acknowledgement batch: offsets `first..=last`, one type for all of them or one per
/// offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AckRange {
    pub first: i64,
    pub last: i64,
    pub types: Vec<i8>,
}

/// Runs of consecutive offsets, each a batch; a run whose offsets all share a type carries it
/// once.
pub(crate) fn ranges(acks: &BTreeMap<i64, i8>) -> Vec<AckRange> {
    let mut out: Vec<AckRange> = Vec::new();
    for (&offset, &code) in acks {
        match out.last_mut() {
            Some(r) if r.last.checked_add(1) == Some(offset) => {
                r.last = offset;
                r.types.push(code);
            }
            _ => out.push(AckRange {
                first: offset,
                last: offset,
                types: vec![code],
            }),
        }
    }
    for r in &mut out {
        if r.types.windows(2).all(|w| w[0] == w[1]) {
            r.types.truncate(1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_offsets_of_one_type_are_one_range_with_one_type() {
        let acks: BTreeMap<i64, i8> = (10..20).map(|o| (o, 1)).collect();
        assert_eq!(
            ranges(&acks),
            vec![AckRange {
                first: 10,
                last: 19,
                types: vec![1]
            }]
        );
    }

    #[test]
    fn mixed_types_list_one_per_offset_and_holes_split_ranges() {
        let acks: BTreeMap<i64, i8> = [(1, 1), (2, 2), (3, 3), (7, GAP)].into_iter().collect();
        assert_eq!(
            ranges(&acks),
            vec![
                AckRange {
                    first: 1,
                    last: 3,
                    types: vec![1, 2, 3]
                },
                AckRange {
                    first: 7,
                    last: 7,
                    types: vec![0]
                },
            ]
        );
    }

    #[test]
    fn the_largest_offset_does_not_overflow() {
        let acks: BTreeMap<i64, i8> = [(i64::MAX - 1, 1), (i64::MAX, 1)].into_iter().collect();
        assert_eq!(ranges(&acks).len(), 1);
    }
}
