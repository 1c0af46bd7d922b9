//! `record_batch` with every batch's CRC recomputed before decoding: a hostile broker writes
//! valid checksums, and random mutations almost never do, so this is the way for the fuzzer to
//! reach the records, varints and codecs behind the CRC check.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

/// Where the CRC sits, and where the bytes it covers start (record batch v2 header).
const CRC_AT: usize = 17;
const COVERED_FROM: usize = 21;

fuzz_target!(|data: &[u8]| {
    let mut data = data.to_vec();
    let mut at = 0;
    // Walk the batches as the decoder frames them (8-byte offset, 4-byte length of the rest).
    while data.len() >= at + COVERED_FROM {
        let len = i32::from_be_bytes(data[at + 8..at + 12].try_into().unwrap());
        let Ok(len) = usize::try_from(len) else { break };
        let end = at + 12 + len;
        if len < COVERED_FROM - 12 || end > data.len() {
            break;
        }
        let crc = crc32c::crc32c(&data[at + COVERED_FROM..end]);
        data[at + CRC_AT..at + CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
        at = end;
    }
    let _ = kafkit::fuzzing::record_batches(Bytes::from(data));
});
