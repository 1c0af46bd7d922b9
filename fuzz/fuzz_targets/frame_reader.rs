//! The byte stream of a broker connection cut into frames. Input: 2 bytes of frame size
//! bound (so the fuzzer reaches the limit check), then the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    // At most 64 KiB: the bound, not the machine, must be what refuses a huge length.
    let max = u16::from_be_bytes([data[0], data[1]]) as usize;
    let _ = kafkit::fuzzing::frames(&data[2..], max);
});
