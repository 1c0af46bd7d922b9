//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`, not part of the API).
//!
//! Each function feeds untrusted bytes to one decoding surface exactly as the client does and
//! returns the client's verdict. The fuzzers check only that nothing panics, aborts, hangs or
//! allocates beyond a bound; an `Err` is the right answer for garbage.

use crate::protocol::messages::*;
use crate::protocol::wire::{Message, Request};
use bytes::Bytes;

use crate::error::Result;
use crate::protocol::compression::decompress as inflate;
use crate::protocol::record_batch::BatchIter;

/// The Java consumer-protocol assignment codec, for its seeds.
pub use crate::groups::wire::{encode_assignment, MemberAssignment};
/// For the seed generator (`fuzz/examples/gen_seeds.rs`): batches and codecs as the producer
/// writes them.
pub use crate::protocol::compression::{compress, Compression};
pub use crate::protocol::record_batch::{BatchParams, Header, RecordBatchBuilder};

/// Inflation bound used by the record and codec targets (the consumer's default is larger;
/// a smaller one lets the fuzzer reach the limit checks).
pub const MAX_INFLATE: usize = 1 << 20;

macro_rules! apis {
    ($($req:ty),* $(,)?) => {
        /// `(api key, lowest, highest version)` of every response the client decodes.
        pub const APIS: &[(i16, i16, i16)] = &[
            $((<$req as Request>::KEY, <$req as Message>::VERSIONS.0, <$req as Message>::VERSIONS.1)),*
        ];

        /// Decodes `frame` (response header + body, no length prefix) as the response of
        /// `api_key` at `version`, as the connection does.
        pub fn response(api_key: i16, version: i16, frame: Bytes) -> Result<()> {
            $(
                if api_key == <$req as Request>::KEY {
                    return crate::net::connection::decode_response::<$req>(frame, version, "fuzz", MAX_INFLATE * 64)
                        .map(drop);
                }
            )*
            Ok(())
        }
    };
}

crate::protocol::messages::with_apis!(apis);

/// Walks every batch and record of a Fetch response's `records` bytes.
pub fn record_batches(data: Bytes) -> Result<usize> {
    let mut n = 0;
    for batch in BatchIter::new(data, MAX_INFLATE) {
        let batch = batch?;
        let _ = (batch.compression(), batch.last_offset(), batch.is_control());
        for record in batch.records()? {
            let record = record?;
            let _ = crate::protocol::record_batch::control_record(&record);
            n += 1;
        }
    }
    Ok(n)
}

/// Inflates `data` with codec `code` (record batch attribute bits 0-2).
pub fn decompress(code: u8, data: &[u8]) -> Result<usize> {
    let codec = Compression::from_code(code % 5)?;
    inflate(codec, data, MAX_INFLATE).map(|b| b.len())
}

/// Decodes `data` as a Java consumer-protocol subscription and as an assignment (classic
/// groups: JoinGroup metadata, SyncGroup and DescribeGroups assignments).
pub fn consumer_protocol(data: Bytes) -> (Result<()>, Result<()>) {
    use crate::groups::wire;
    (
        wire::decode_subscription(data.clone()).map(drop),
        wire::decode_assignment(data).map(drop),
    )
}

/// Runs a SCRAM exchange against the given server-first and server-final messages.
pub fn scram(server_first: &[u8], server_final: &[u8]) -> Result<()> {
    crate::net::sasl::fuzz_scram(server_first, server_final)
}

/// Describes `data` as the OAUTHBEARER error challenge of a refused token (the text that goes
/// into the authentication error).
pub fn oauth_error(data: &[u8]) -> String {
    crate::net::sasl::oauth::describe_error_challenge(data)
}

/// Reads frames from `data` as the connection's reader does, until the input ends or a frame
/// is refused. Returns the number of frames read.
pub fn frames(data: &[u8], max_size: usize) -> Result<usize> {
    let mut reader = data;
    let mut n = 0;
    futures::executor::block_on(async {
        while let Some(f) = crate::net::frame::read_frame(&mut reader, max_size).await? {
            let _ = crate::net::frame::peek_correlation_id(&f);
            n += 1;
        }
        Ok(n)
    })
}

/// Decodes `frame` as a Fetch response at `version` and hands it to the consumer's fetch
/// handling (topic ids, error codes, aborted transactions, batches and records), as if the
/// fetch had asked for every partition the response names, from offset 0. Returns the number
/// of messages decoded.
pub fn fetch_response(version: i16, frame: Bytes, read_committed: bool) -> Result<usize> {
    use std::collections::HashMap;

    use crate::events::TopicPartition;
    use crate::fetch::wire::fetch::parse_response;
    use crate::fetch::Budget;
    use crate::fetch::IsolationLevel;

    let frame_len = frame.len();
    let resp = crate::net::connection::decode_response::<FetchRequest>(
        frame,
        version,
        "fuzz",
        MAX_INFLATE * 64,
    )?;
    // The request's view: v13+ names topics by id, older versions by name.
    let mut names = HashMap::new();
    let mut offsets = HashMap::new();
    for (i, t) in resp.responses.iter().enumerate() {
        let name = if t.topic.is_empty() {
            let n = format!("topic-{i}");
            names.insert(t.topic_id, n.clone());
            n
        } else {
            t.topic.to_string()
        };
        for p in &t.partitions {
            offsets.insert(TopicPartition::new(name.clone(), p.partition_index), 0);
        }
    }
    let isolation = if read_committed {
        IsolationLevel::ReadCommitted
    } else {
        IsolationLevel::ReadUncommitted
    };
    let budget = MAX_INFLATE * 4;
    let parts = parse_response(
        resp,
        &names,
        &offsets,
        isolation,
        &mut Budget::whole(budget),
    )?;
    // What the decoded records keep alive stays within the budget, give or take the last
    // record's own cost (its headers and buffer, each bounded by what was left) and the
    // uncompressed bytes that came (already in memory as the frame).
    let retained: usize = parts.iter().map(|p| p.retained).sum();
    assert!(
        retained <= 3 * budget + frame_len + 128,
        "decoded records keep {retained} bytes alive, past a budget of {budget}"
    );
    Ok(parts.iter().map(|p| p.messages.len()).sum())
}
