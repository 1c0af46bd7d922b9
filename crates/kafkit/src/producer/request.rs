//! The Produce request, built from the accumulator's batches. The generated encoder keeps each
//! large batch as a piece of its own (the socket writer sends the pieces in order), so the
//! batches the accumulator encoded are not copied into a request buffer.

use bytes::Bytes;
use uuid::Uuid;

use crate::error::Result;
use crate::net::frame::encode_request;
use crate::protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use crate::protocol::messages::ProduceRequest;

/// One partition's batch.
pub(crate) struct PartitionData<'a> {
    pub partition: i32,
    pub records: &'a Bytes,
}

/// One topic's partitions.
pub(crate) struct TopicData<'a> {
    pub name: &'a str,
    pub id: Uuid,
    pub partitions: Vec<PartitionData<'a>>,
}

/// The request fields besides the batches.
pub(crate) struct ProduceFields<'a> {
    pub version: i16,
    pub correlation_id: i32,
    pub client_id: &'a str,
    pub transactional_id: Option<&'a str>,
    pub acks: i16,
    pub timeout_ms: i32,
}

/// Produce v13 names topics by id (KIP-516), older versions by name.
const FIRST_WITH_TOPIC_ID: i16 = 13;

/// The request as the generated codec takes it.
fn request(fields: &ProduceFields<'_>, topics: &[TopicData<'_>]) -> ProduceRequest {
    let by_id = fields.version >= FIRST_WITH_TOPIC_ID;
    let mut req = ProduceRequest::default();
    req.transactional_id = fields.transactional_id.map(str::to_string);
    req.acks = fields.acks;
    req.timeout_ms = fields.timeout_ms;
    req.topic_data = topics
        .iter()
        .map(|t| {
            let mut td = TopicProduceData::default();
            if by_id {
                td.topic_id = t.id;
            } else {
                td.name = t.name.to_string();
            }
            td.partition_data = t
                .partitions
                .iter()
                .map(|p| {
                    let mut pd = PartitionProduceData::default();
                    pd.index = p.partition;
                    pd.records = Some(p.records.clone());
                    pd
                })
                .collect();
            td
        })
        .collect();
    req
}

/// Frames a Produce request in pieces: `[length + header + fields, batch, fields, batch, ...]`.
pub(crate) fn encode(fields: &ProduceFields<'_>, topics: &[TopicData<'_>]) -> Result<Vec<Bytes>> {
    encode_request(
        &request(fields, topics),
        fields.version,
        fields.correlation_id,
        fields.client_id,
    )
    .map_err(|e| e.during("produce"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_shared_not_copied() {
        let batch = Bytes::from(vec![7u8; 4096]);
        let topics = [TopicData {
            name: "t",
            id: Uuid::nil(),
            partitions: vec![PartitionData {
                partition: 0,
                records: &batch,
            }],
        }];
        for version in [8, 11, 13] {
            let fields = ProduceFields {
                version,
                correlation_id: 1,
                client_id: "c",
                transactional_id: None,
                acks: -1,
                timeout_ms: 1,
            };
            let pieces = encode(&fields, &topics).unwrap();
            assert!(
                pieces.iter().any(|p| p.as_ptr() == batch.as_ptr()),
                "v{version}"
            );
            let len = i32::from_be_bytes(pieces[0][..4].try_into().unwrap()) as usize;
            assert_eq!(len + 4, pieces.iter().map(Bytes::len).sum::<usize>());
        }
    }
}
