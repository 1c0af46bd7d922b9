//! What a user sends and what comes back.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::FutureExt;
use tokio::sync::watch;

use crate::error::{Error, Result};
pub use crate::protocol::record_batch::Header;

/// A record to send. Borrowed: its bytes are encoded straight into the batch buffer, so sending
/// allocates nothing per record.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Partition; `None` = the partitioner chooses (murmur2 of the key, or sticky for keyless).
    pub partition: Option<i32>,
    /// Key; `None` = null key.
    pub key: Option<&'a [u8]>,
    /// Value; `None` = tombstone.
    pub value: Option<&'a [u8]>,
    /// Headers; duplicate keys are kept, in order.
    pub headers: &'a [Header<'a>],
    /// Timestamp in ms since the epoch; `None` = now.
    pub timestamp: Option<i64>,
}

impl<'a> Record<'a> {
    /// A record with a value and no key. The value is anything that is bytes as a slice:
    /// `&str`, `&String`, `&[u8]`, `&Vec<u8>`, `&[u8; N]`, `&Bytes` (`bytes::Bytes`), ...
    /// It is borrowed, not copied: `send` encodes it straight into the batch.
    ///
    /// ```
    /// use kafkit::producer::Record;
    /// let owned = String::from("from a String");
    /// let bytes = bytes::Bytes::from_static(b"from Bytes");
    /// for record in [
    ///     Record::new("events", "from a &str"),
    ///     Record::new("events", &owned),
    ///     Record::new("events", b"from a byte string"),
    ///     Record::new("events", &vec![1u8, 2, 3]),
    ///     Record::new("events", &bytes).key("user-1"),
    /// ] {
    ///     assert!(record.value.is_some());
    /// }
    /// ```
    pub fn new<V: AsRef<[u8]> + ?Sized>(topic: &'a str, value: &'a V) -> Self {
        Record {
            topic,
            partition: None,
            key: None,
            value: Some(value.as_ref()),
            headers: &[],
            timestamp: None,
        }
    }

    /// A tombstone (null value) for `key` (anything bytes-like, as for [`new`](Self::new)).
    pub fn tombstone<K: AsRef<[u8]> + ?Sized>(topic: &'a str, key: &'a K) -> Self {
        Record {
            topic,
            partition: None,
            key: Some(key.as_ref()),
            value: None,
            headers: &[],
            timestamp: None,
        }
    }

    /// Sets the key (anything bytes-like, as for [`new`](Self::new)).
    pub fn key<K: AsRef<[u8]> + ?Sized>(mut self, key: &'a K) -> Self {
        self.key = Some(key.as_ref());
        self
    }

    /// Sets the partition.
    pub fn partition(mut self, p: i32) -> Self {
        self.partition = Some(p);
        self
    }

    /// Sets the headers.
    ///
    /// ```
    /// use kafkit::producer::{Header, Record};
    /// let headers = [Header::new("trace-id", "4bf92f35"), Header::null("retry")];
    /// let record = Record::new("events", "payload").headers(&headers);
    /// assert_eq!(record.headers[0].key, b"trace-id");
    /// ```
    pub fn headers(mut self, h: &'a [Header<'a>]) -> Self {
        self.headers = h;
        self
    }

    /// Sets the timestamp (ms since the epoch).
    pub fn timestamp(mut self, ts: i64) -> Self {
        self.timestamp = Some(ts);
        self
    }
}

/// Where a record landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    /// Topic.
    pub topic: Arc<str>,
    /// Partition.
    pub partition: i32,
    /// Offset; -1 when unknown (acks=none).
    pub offset: i64,
    /// The record's timestamp (the broker's, for topics with `LogAppendTime`).
    pub timestamp: i64,
    /// The partition's log start offset when the broker wrote the record (its first offset
    /// still kept); -1 when unknown (acks=none, or a retry found the record already written).
    pub log_start_offset: i64,
}

/// A batch's outcome, shared by the futures of its records.
#[derive(Debug, Clone)]
pub(crate) struct BatchOutcome {
    pub base_offset: i64,
    /// -1 unless the topic uses LogAppendTime.
    pub log_append_time: i64,
    /// The partition's log start offset in the answer (-1: unknown).
    pub log_start_offset: i64,
}

pub(crate) type BatchResult = Option<std::result::Result<BatchOutcome, Error>>;

/// Resolves when the broker acknowledges the record (or its delivery fails).
///
/// Dropping it does not cancel the send; a future that is never polled costs no allocation.
pub struct DeliveryFuture {
    pub(crate) topic: Arc<str>,
    pub(crate) partition: i32,
    pub(crate) index: i64,
    pub(crate) timestamp: i64,
    rx: Option<watch::Receiver<BatchResult>>,
    waiting: Option<Pin<Box<dyn Future<Output = Result<BatchOutcome>> + Send>>>,
}

impl std::fmt::Debug for DeliveryFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryFuture")
            .field("topic", &self.topic)
            .field("partition", &self.partition)
            .finish_non_exhaustive()
    }
}

fn read_outcome(r: &BatchResult) -> Option<Result<BatchOutcome>> {
    match r {
        Some(Ok(o)) => Some(Ok(o.clone())),
        Some(Err(e)) => Some(Err(e.clone())),
        None => None,
    }
}

impl DeliveryFuture {
    pub(crate) fn new(
        topic: Arc<str>,
        partition: i32,
        index: i64,
        timestamp: i64,
        rx: watch::Receiver<BatchResult>,
    ) -> Self {
        DeliveryFuture {
            topic,
            partition,
            index,
            timestamp,
            rx: Some(rx),
            waiting: None,
        }
    }

    /// Topic the record goes to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Partition the record goes to.
    pub fn partition(&self) -> i32 {
        self.partition
    }

    fn metadata(&self, o: BatchOutcome) -> RecordMetadata {
        RecordMetadata {
            topic: self.topic.clone(),
            partition: self.partition,
            offset: if o.base_offset < 0 {
                -1
            } else {
                o.base_offset + self.index
            },
            timestamp: if o.log_append_time >= 0 {
                o.log_append_time
            } else {
                self.timestamp
            },
            log_start_offset: o.log_start_offset,
        }
    }
}

impl Future for DeliveryFuture {
    type Output = Result<RecordMetadata>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(rx) = self.rx.take() {
            // Fast path: already acknowledged, no allocation.
            if let Some(o) = read_outcome(&rx.borrow()) {
                return Poll::Ready(o.map(|o| self.metadata(o)));
            }
            let mut rx = rx;
            self.waiting = Some(Box::pin(async move {
                match rx.wait_for(|r| r.is_some()).await {
                    Ok(r) => read_outcome(&r).unwrap_or_else(|| Err(Error::closed("produce"))),
                    Err(_) => Err(Error::closed("produce")),
                }
            }));
        }
        let Some(waiting) = self.waiting.as_mut() else {
            return Poll::Ready(Err(Error::closed("produce")));
        };
        match waiting.poll_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(o) => {
                self.waiting = None;
                Poll::Ready(o.map(|o| self.metadata(o)))
            }
        }
    }
}
