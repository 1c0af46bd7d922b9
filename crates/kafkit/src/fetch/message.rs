//! A consumed record and a batch of them.

use std::sync::Arc;

use bytes::Bytes;

/// A header of a consumed record. Keys are kept as bytes (Kafka does not enforce UTF-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageHeader {
    /// Header key.
    pub key: Bytes,
    /// Header value; `None` = null.
    pub value: Option<Bytes>,
}

impl MessageHeader {
    /// A header from owned bytes-like parts, for example to build a [`Message`] in a test.
    ///
    /// ```
    /// let h = kafkit::consumer::MessageHeader::new("trace-id", Some("4bf92f35"));
    /// assert_eq!(h.key_str(), Some("trace-id"));
    /// ```
    pub fn new(key: impl Into<Bytes>, value: Option<impl Into<Bytes>>) -> Self {
        MessageHeader {
            key: key.into(),
            value: value.map(Into::into),
        }
    }

    /// The key as UTF-8, if it is.
    pub fn key_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.key).ok()
    }
}

/// A consumed record. Key, value and header bytes share the fetched response's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Topic.
    pub topic: Arc<str>,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Timestamp, ms since the epoch.
    pub timestamp: i64,
    /// Key.
    pub key: Option<Bytes>,
    /// Value (`None` = tombstone).
    pub value: Option<Bytes>,
    /// Headers, in order, duplicates kept.
    pub headers: Vec<MessageHeader>,
    /// Leader epoch of the batch (for commits).
    pub leader_epoch: i32,
}

/// Records of one partition handed to a batch handler.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Topic.
    pub topic: Arc<str>,
    /// Partition.
    pub partition: i32,
    /// High watermark when fetched.
    pub high_watermark: i64,
    /// The records, in offset order.
    pub messages: Vec<Message>,
    /// Bytes these records keep alive (the buffers they slice and their structs): what the
    /// consumer's prefetch budget counts for the batch.
    pub(crate) retained: usize,
}

#[cfg(test)]
impl Batch {
    /// Records `offsets` of partition `partition` of topic `t` (value `v`, leader epoch 1).
    pub(crate) fn of(partition: i32, offsets: std::ops::Range<i64>) -> Batch {
        let topic: Arc<str> = Arc::from("t");
        Batch {
            retained: 129 * offsets.clone().count(),
            topic: topic.clone(),
            partition,
            high_watermark: 1000,
            messages: offsets
                .map(|offset| Message {
                    topic: topic.clone(),
                    partition,
                    offset,
                    timestamp: 0,
                    key: None,
                    value: Some(bytes::Bytes::from_static(b"v")),
                    headers: Vec::new(),
                    leader_epoch: 1,
                })
                .collect(),
        }
    }
}

impl Batch {
    /// A batch of `messages` of one partition that keep `retained` bytes alive.
    pub(crate) fn new(
        topic: Arc<str>,
        partition: i32,
        high_watermark: i64,
        messages: Vec<Message>,
        retained: usize,
    ) -> Batch {
        Batch {
            topic,
            partition,
            high_watermark,
            messages,
            retained,
        }
    }

    /// Offset of the first record (or -1 if empty).
    pub fn first_offset(&self) -> i64 {
        self.messages.first().map_or(-1, |m| m.offset)
    }

    /// Offset of the last record (or -1 if empty).
    pub fn last_offset(&self) -> i64 {
        self.messages.last().map_or(-1, |m| m.offset)
    }

    /// Records between the last one here and the high watermark.
    pub fn offset_lag(&self) -> i64 {
        (self.high_watermark - 1 - self.last_offset()).max(0)
    }

    /// Whether the batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }
}
