//! A SCRAM exchange: input is server-first, a 0 byte, then server-final (no 0: all of it is
//! server-first and server-final is empty).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (first, fin) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let _ = kafkit::fuzzing::scram(first, fin);
});
