//! The `records` bytes of a Fetch response partition: every batch and record walked.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kafkit::fuzzing::record_batches(Bytes::copy_from_slice(data));
});
