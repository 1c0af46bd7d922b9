//! A gzip-compressed record batch body, inflated with the client's bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(n) = kafkit::fuzzing::decompress(1, data) {
        assert!(n <= kafkit::fuzzing::MAX_INFLATE);
    }
});
