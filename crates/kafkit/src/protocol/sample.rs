//! Random messages valid at a version, for the codec's round-trip tests: the generated code
//! implements [`Sample`] for every struct, drawing values from [`SampleGen`].

use bytes::Bytes;
use uuid::Uuid;

/// Random messages valid at a version, for the round-trip tests (generated per struct).
pub(crate) trait Sample {
    fn sample(g: &mut SampleGen, v: i16) -> Self;
}

/// A small deterministic generator (xorshift) with a depth limit on nested arrays.
pub(crate) struct SampleGen {
    state: u64,
    depth: u32,
}

#[allow(dead_code)] // u16/u32: in Kafka's type system, in no message kafkit speaks today
impl SampleGen {
    pub(crate) fn new(seed: u64) -> Self {
        SampleGen {
            state: seed | 1,
            depth: 0,
        }
    }
    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }
    pub(crate) fn bool(&mut self) -> bool {
        self.next() & 1 == 1
    }
    pub(crate) fn null(&mut self) -> bool {
        self.next().is_multiple_of(4)
    }
    pub(crate) fn i8(&mut self) -> i8 {
        self.next() as i8
    }
    pub(crate) fn i16(&mut self) -> i16 {
        self.next() as i16
    }
    pub(crate) fn u16(&mut self) -> u16 {
        self.next() as u16
    }
    pub(crate) fn i32(&mut self) -> i32 {
        self.next() as i32
    }
    pub(crate) fn u32(&mut self) -> u32 {
        self.next() as u32
    }
    pub(crate) fn i64(&mut self) -> i64 {
        self.next() as i64
    }
    pub(crate) fn f64(&mut self) -> f64 {
        (self.next() % 1_000_000) as f64 / 7.0
    }
    pub(crate) fn uuid(&mut self) -> Uuid {
        Uuid::from_u64_pair(self.next(), self.next())
    }
    pub(crate) fn string(&mut self) -> String {
        let n = (self.next() % 12) as usize;
        (0..n)
            .map(|_| ['a', 'Z', '0', '-', 'é', '→'][(self.next() % 6) as usize])
            .collect()
    }
    pub(crate) fn bytes(&mut self) -> Bytes {
        // Now and then past the writer's own-piece size, so both paths are covered.
        let n = if self.next().is_multiple_of(8) {
            1500
        } else {
            (self.next() % 16) as usize
        };
        (0..n)
            .map(|_| self.next() as u8)
            .collect::<Vec<u8>>()
            .into()
    }
    pub(crate) fn vec<T>(&mut self, mut each: impl FnMut(&mut Self) -> T) -> Vec<T> {
        let n = if self.depth >= 3 { 0 } else { self.next() % 3 };
        self.depth += 1;
        let v = (0..n).map(|_| each(self)).collect();
        self.depth -= 1;
        v
    }
}
