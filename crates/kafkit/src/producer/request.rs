//! The Produce request, framed around the encoded record batches without copying them.
//!
//! kafka-protocol's `ProduceRequest` would copy every batch into one request buffer. Here the
//! frame is a list of pieces: the length prefix, header and fields in small owned buffers, and
//! each batch as the shared `Bytes` the accumulator encoded (the writer hands the pieces to the
//! socket in order). Field layout per version follows Kafka's ProduceRequest.json (v3-v13).

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ProduceRequest, RequestHeader};
use kafka_protocol::protocol::{Encodable, HeaderVersion, Request, StrBytes};
use uuid::Uuid;

use crate::error::{Error, ErrorKind, Result};

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
    pub client_id: &'a StrBytes,
    pub transactional_id: Option<&'a str>,
    pub acks: i16,
    pub timeout_ms: i32,
}

const FIRST_FLEXIBLE: i16 = 9;
const FIRST_WITH_TOPIC_ID: i16 = 13;

fn put_uvarint(buf: &mut BytesMut, mut v: u64) {
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

fn put_len(buf: &mut BytesMut, flexible: bool, len: usize) -> Result<()> {
    if flexible {
        put_uvarint(buf, len as u64 + 1);
    } else {
        buf.put_i32(i32::try_from(len).map_err(|_| too_large(len))?);
    }
    Ok(())
}

fn put_str(buf: &mut BytesMut, flexible: bool, s: Option<&str>) -> Result<()> {
    match s {
        Some(s) => {
            if flexible {
                put_uvarint(buf, s.len() as u64 + 1);
            } else {
                buf.put_i16(i16::try_from(s.len()).map_err(|_| {
                    Error::config(format!("name of {} bytes is longer than 32767", s.len()))
                })?);
            }
            buf.put_slice(s.as_bytes());
        }
        None if flexible => buf.put_u8(0),
        None => buf.put_i16(-1),
    }
    Ok(())
}

fn too_large(size: usize) -> Error {
    Error::new(
        ErrorKind::TooLarge,
        "produce",
        format!("request of {size} bytes exceeds the protocol's 2 GiB frame limit"),
    )
}

/// Frames a Produce request: `[length, header, fields, batch, fields, batch, ..., fields]`.
pub(crate) fn encode(fields: &ProduceFields<'_>, topics: &[TopicData<'_>]) -> Result<Vec<Bytes>> {
    let v = fields.version;
    if !(3..=13).contains(&v) {
        return Err(Error::protocol(
            "produce",
            format!("Produce v{v} cannot be framed (3-13 can)"),
        ));
    }
    let flexible = v >= FIRST_FLEXIBLE;
    let mut header = RequestHeader::default();
    header.request_api_key = ProduceRequest::KEY;
    header.request_api_version = v;
    header.correlation_id = fields.correlation_id;
    header.client_id = Some(fields.client_id.clone());
    let header_version = ProduceRequest::header_version(v);

    let mut cur = BytesMut::with_capacity(256);
    cur.put_i32(0); // length, patched below
    header
        .encode(&mut cur, header_version)
        .map_err(|e| Error::protocol("produce", format!("request header: {e}")))?;
    put_str(&mut cur, flexible, fields.transactional_id)?;
    cur.put_i16(fields.acks);
    cur.put_i32(fields.timeout_ms);
    put_len(&mut cur, flexible, topics.len())?;

    // The first piece stays mutable until the total length is known.
    let mut first: Option<BytesMut> = None;
    let mut pieces: Vec<Bytes> = Vec::with_capacity(1 + 2 * topics.len());
    for t in topics {
        if v < FIRST_WITH_TOPIC_ID {
            put_str(&mut cur, flexible, Some(t.name))?;
        } else {
            cur.put_slice(t.id.as_bytes());
        }
        put_len(&mut cur, flexible, t.partitions.len())?;
        for p in &t.partitions {
            cur.put_i32(p.partition);
            put_len(&mut cur, flexible, p.records.len())?;
            let head = cur.split();
            match first {
                None => first = Some(head),
                Some(_) => pieces.push(head.freeze()),
            }
            pieces.push(p.records.clone());
            if flexible {
                cur.put_u8(0); // partition tagged fields
            }
        }
        if flexible {
            cur.put_u8(0); // topic tagged fields
        }
    }
    if flexible {
        cur.put_u8(0); // request tagged fields
    }
    let mut first = match first {
        Some(f) => {
            pieces.push(cur.freeze());
            f
        }
        None => cur,
    };
    let total = first.len() + pieces.iter().map(Bytes::len).sum::<usize>() - 4;
    let total32 = i32::try_from(total).map_err(|_| too_large(total))?;
    first[..4].copy_from_slice(&total32.to_be_bytes());
    pieces.insert(0, first.freeze());
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::frame::encode_request;
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::{TopicName, TransactionalId};
    use proptest::prelude::*;

    /// The same request through kafka-protocol's generated encoder.
    fn reference(fields: &ProduceFields<'_>, topics: &[TopicData<'_>]) -> Vec<u8> {
        let mut req = ProduceRequest::default();
        req.transactional_id = fields
            .transactional_id
            .map(|t| TransactionalId(StrBytes::from_string(t.to_string())));
        req.acks = fields.acks;
        req.timeout_ms = fields.timeout_ms;
        for t in topics {
            let mut td = TopicProduceData::default();
            if fields.version < FIRST_WITH_TOPIC_ID {
                td.name = TopicName(StrBytes::from_string(t.name.to_string()));
            } else {
                td.topic_id = t.id;
            }
            for p in &t.partitions {
                let mut pd = PartitionProduceData::default();
                pd.index = p.partition;
                pd.records = Some(p.records.clone());
                td.partition_data.push(pd);
            }
            req.topic_data.push(td);
        }
        let mut buf = BytesMut::new();
        encode_request(
            &mut buf,
            &req,
            fields.version,
            fields.correlation_id,
            fields.client_id,
        )
        .unwrap();
        buf.to_vec()
    }

    proptest! {
        #[test]
        fn matches_the_generated_encoder(
            version in 3i16..=13,
            txn in proptest::option::of("[a-z]{1,20}"),
            acks in prop_oneof![Just(-1i16), Just(0), Just(1)],
            shape in proptest::collection::vec(
                ("[a-z.-]{1,30}", proptest::collection::vec((0i32..1000, proptest::collection::vec(any::<u8>(), 0..300)), 1..4)),
                0..4,
            ),
        ) {
            let client_id = StrBytes::from_static_str("kafkit-test");
            let batches: Vec<Vec<(i32, Bytes)>> = shape
                .iter()
                .map(|(_, ps)| ps.iter().map(|(p, b)| (*p, Bytes::from(b.clone()))).collect())
                .collect();
            let topics: Vec<TopicData<'_>> = shape
                .iter()
                .zip(&batches)
                .map(|((name, _), ps)| TopicData {
                    name,
                    id: Uuid::from_u128(name.len() as u128 * 7919),
                    partitions: ps.iter().map(|(p, b)| PartitionData { partition: *p, records: b }).collect(),
                })
                .collect();
            let fields = ProduceFields {
                version,
                correlation_id: 42,
                client_id: &client_id,
                transactional_id: txn.as_deref(),
                acks,
                timeout_ms: 30_000,
            };
            let pieces = encode(&fields, &topics).unwrap();
            let ours: Vec<u8> = pieces.iter().flat_map(|p| p.iter().copied()).collect();
            prop_assert_eq!(ours, reference(&fields, &topics));
        }
    }

    #[test]
    fn batches_are_shared_not_copied() {
        let client_id = StrBytes::from_static_str("c");
        let batch = Bytes::from(vec![7u8; 1000]);
        let topics = [TopicData {
            name: "t",
            id: Uuid::nil(),
            partitions: vec![PartitionData {
                partition: 0,
                records: &batch,
            }],
        }];
        let fields = ProduceFields {
            version: 11,
            correlation_id: 1,
            client_id: &client_id,
            transactional_id: None,
            acks: -1,
            timeout_ms: 1,
        };
        let pieces = encode(&fields, &topics).unwrap();
        assert!(pieces.iter().any(|p| p.as_ptr() == batch.as_ptr()));
    }
}
