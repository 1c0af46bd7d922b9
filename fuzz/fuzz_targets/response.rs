//! A response frame (header + body) from a broker, decoded as the client decodes it.
//! Input: byte 0 picks the API (an entry of `APIS`), byte 1 the version within its range,
//! the rest is the frame.
#![no_main]

use bytes::Bytes;
use kafkit::fuzzing::{response, APIS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (key, min, max) = APIS[data[0] as usize % APIS.len()];
    let version = min + (data[1] as i16) % (max - min + 1);
    let _ = response(key, version, Bytes::copy_from_slice(&data[2..]));
});
