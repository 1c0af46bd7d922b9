//! A Fetch response decoded and then handled as the consumer handles it (topic ids, partition
//! errors, aborted transactions, every batch and record). Input: byte 0 picks the version
//! within the client's range, bit 0 of byte 1 the isolation level, the rest is the frame.
#![no_main]

use bytes::Bytes;
use kafkit::fuzzing::{fetch_response, APIS};
use libfuzzer_sys::fuzz_target;

/// Fetch's API key.
const FETCH: i16 = 1;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (_, min, max) = *APIS.iter().find(|a| a.0 == FETCH).unwrap();
    let version = min + (data[0] as i16) % (max - min + 1);
    let _ = fetch_response(
        version,
        Bytes::copy_from_slice(&data[2..]),
        data[1] & 1 == 1,
    );
});
