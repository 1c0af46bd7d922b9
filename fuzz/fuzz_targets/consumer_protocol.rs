//! A classic group member's subscription or assignment (Java consumer-protocol bytes), as
//! JoinGroup, SyncGroup and DescribeGroups hand them over.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kafkit::fuzzing::consumer_protocol(Bytes::copy_from_slice(data));
});
