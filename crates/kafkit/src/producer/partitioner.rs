//! Partition choice: murmur2 of the key exactly as the Java client computes it, so kafkit and
//! Java producers put the same key on the same partition.

/// Murmur2 (seed `0x9747b28c`) over `data`, as Java's `Utils.murmur2`.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h: u32 = SEED ^ (len as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    // Java sign-extends nothing here: it masks each tail byte with 0xff.
    if tail.len() >= 3 {
        h ^= (tail[2] as u32) << 16;
    }
    if tail.len() >= 2 {
        h ^= (tail[1] as u32) << 8;
    }
    if !tail.is_empty() {
        h ^= tail[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition the Java default partitioner picks for `key`: `toPositive(murmur2) % n`.
pub fn partition_for_key(key: &[u8], num_partitions: i32) -> i32 {
    if num_partitions <= 0 {
        return 0;
    }
    (murmur2(key) & 0x7fff_ffff) % num_partitions
}

/// Chooses a partition for a record without an explicit one.
pub trait Partitioner: Send + Sync {
    /// The partition for this record, or `None` for the built-in sticky choice (keyless records
    /// stay on one partition until its batch is full, KIP-480/794).
    fn partition(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        num_partitions: i32,
    ) -> Option<i32>;
}

/// murmur2 for keyed records, sticky for keyless ones (the Java client's default).
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultPartitioner;

impl Partitioner for DefaultPartitioner {
    fn partition(
        &self,
        _topic: &str,
        key: Option<&[u8]>,
        _value: Option<&[u8]>,
        n: i32,
    ) -> Option<i32> {
        key.map(|k| partition_for_key(k, n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Vectors computed with the Java client's `Utils.murmur2` / default partitioner
    /// (see `java/JavaPeer.java partition-for`).
    #[test]
    fn matches_java_vectors() {
        // Well-known values of Kafka's murmur2 (also used by other clients' test suites).
        assert_eq!(murmur2(b"21"), -973932308);
        assert_eq!(murmur2(b"foobar"), -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985981536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1486304829);
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
            -58897971
        );
        assert_eq!(murmur2(b"abc"), 479470107);
        assert_eq!(murmur2(b""), 275646681);
    }

    proptest! {
        #[test]
        fn partition_is_in_range(key in proptest::collection::vec(any::<u8>(), 0..64), n in 1i32..500) {
            let p = partition_for_key(&key, n);
            prop_assert!((0..n).contains(&p));
        }
    }
}
