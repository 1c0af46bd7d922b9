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
    /// For a batch without records: the first and last offsets of the records the fetch left
    /// out (control records, aborted transactions), which the position moves past. KafkaJS
    /// reports such a batch (batch events, offset resolved) without calling the handler.
    pub(crate) skipped: Option<(i64, i64)>,
}

#[cfg(test)]
impl Batch {
    /// Records `offsets` of partition `partition` of topic `t` (value `v`, leader epoch 1).
    pub(crate) fn of(partition: i32, offsets: std::ops::Range<i64>) -> Batch {
        let topic: Arc<str> = Arc::from("t");
        Batch {
            skipped: None,
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
            skipped: None,
        }
    }

    /// A batch of no records standing for the records `first..=last` that a fetch left out
    /// (control records, aborted transactions).
    pub(crate) fn skipped(
        topic: Arc<str>,
        partition: i32,
        high_watermark: i64,
        first: i64,
        last: i64,
    ) -> Batch {
        Batch {
            skipped: Some((first, last)),
            ..Batch::new(topic, partition, high_watermark, Vec::new(), 0)
        }
    }

    /// Offset of the first record (for a batch of left-out records, the first of those; -1
    /// if empty).
    pub fn first_offset(&self) -> i64 {
        self.messages
            .first()
            .map(|m| m.offset)
            .or(self.skipped.map(|s| s.0))
            .unwrap_or(-1)
    }

    /// Offset of the last record (for a batch of left-out records, the last of those; -1 if
    /// empty).
    pub fn last_offset(&self) -> i64 {
        self.messages
            .last()
            .map(|m| m.offset)
            .or(self.skipped.map(|s| s.1))
            .unwrap_or(-1)
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
