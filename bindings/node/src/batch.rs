//! A batch handed to JavaScript: the records of one partition packed into one buffer, a layout
//! and the offsets and timestamps (`lib/decode.js` turns them into KafkaJS messages whose
//! keys, values and headers are views of that buffer), plus the `eachBatch` controls.

use std::sync::{Arc, Mutex};

use kafkit::consumer::{Batch, BatchContext, Message};
use napi::bindgen_prelude::{Buffer, Float64Array, Int32Array};
use napi_derive::napi;

use crate::error::{config, IntoJs, Result};

/// The packed records: `data` holds key, value, then each header's key and value, message
/// after message; `layout` per message is `[keyLen, valueLen, headerCount, (hkLen, hvLen)*]`
/// with -1 for null; `numbers` per message is `[offset, timestamp]` (exact below 2^53).
#[napi(object)]
pub struct PackedRecords {
    pub data: Buffer,
    pub layout: Int32Array,
    pub numbers: Float64Array,
}

fn len_of(b: &Option<bytes::Bytes>) -> i32 {
    b.as_ref().map_or(-1, |b| b.len() as i32)
}

/// Data, layout and numbers of a packed batch.
type Packed = (Vec<u8>, Vec<i32>, Vec<f64>);

pub(crate) fn pack(batch: &Batch) -> Packed {
    pack_messages(batch.messages.iter())
}

/// Packs any records (the share consumer's too).
pub(crate) fn pack_messages<'a, I>(messages: I) -> Packed
where
    I: ExactSizeIterator<Item = &'a Message> + Clone,
{
    let size: usize = messages
        .clone()
        .map(|m| {
            m.key.as_ref().map_or(0, |k| k.len())
                + m.value.as_ref().map_or(0, |v| v.len())
                + m.headers
                    .iter()
                    .map(|h| h.key.len() + h.value.as_ref().map_or(0, |v| v.len()))
                    .sum::<usize>()
        })
        .sum();
    let mut data = Vec::with_capacity(size);
    let mut layout = Vec::with_capacity(messages.len() * 3);
    let mut numbers = Vec::with_capacity(messages.len() * 2);
    for m in messages {
        layout.push(len_of(&m.key));
        layout.push(len_of(&m.value));
        layout.push(m.headers.len() as i32);
        for b in [&m.key, &m.value].into_iter().flatten() {
            data.extend_from_slice(b);
        }
        for h in &m.headers {
            layout.push(h.key.len() as i32);
            layout.push(len_of(&h.value));
            data.extend_from_slice(&h.key);
            if let Some(v) = &h.value {
                data.extend_from_slice(v);
            }
        }
        numbers.push(m.offset as f64);
        numbers.push(m.timestamp as f64);
    }
    (data, layout, numbers)
}

/// The handler's view of the batch. It lets go of the batch's context when the handler's
/// promise settles: a control used after that fails with a clear error instead of acting on
/// a batch the consumer has moved past.
#[napi]
pub struct NativeBatch {
    ctx: Arc<Mutex<Option<Arc<BatchContext>>>>,
    packed: Mutex<Option<Packed>>,
    topic: String,
    partition: i32,
    high_watermark: i64,
}

impl NativeBatch {
    pub(crate) fn new(
        ctx: Arc<BatchContext>,
    ) -> (NativeBatch, Arc<Mutex<Option<Arc<BatchContext>>>>) {
        let packed = pack(&ctx.batch);
        let batch = NativeBatch {
            topic: ctx.batch.topic.to_string(),
            partition: ctx.batch.partition,
            high_watermark: ctx.batch.high_watermark,
            ctx: Arc::new(Mutex::new(Some(ctx))),
            packed: Mutex::new(Some(packed)),
        };
        let handle = batch.ctx.clone();
        (batch, handle)
    }

    fn ctx(&self) -> Result<Arc<BatchContext>> {
        self.ctx
            .lock()
            .ok()
            .and_then(|c| c.clone())
            .ok_or_else(|| {
                config("this batch's handler already returned: its controls (resolveOffset, heartbeat, ...) work only while it runs")
            })
    }
}

#[napi]
impl NativeBatch {
    #[napi(getter)]
    pub fn topic(&self) -> String {
        self.topic.clone()
    }

    #[napi(getter)]
    pub fn partition(&self) -> i32 {
        self.partition
    }

    #[napi(getter)]
    pub fn high_watermark(&self) -> String {
        self.high_watermark.to_string()
    }

    /// The records, once (JavaScript keeps the decoded messages).
    #[napi]
    pub fn take(&self) -> Option<PackedRecords> {
        let (data, layout, numbers) = self.packed.lock().ok()?.take()?;
        Some(PackedRecords {
            data: data.into(),
            layout: layout.into(),
            numbers: numbers.into(),
        })
    }

    #[napi]
    pub fn resolve_offset(&self, offset: f64) -> Result<()> {
        if !offset.is_finite() || offset < 0.0 {
            return Err(config(format!(
                "resolveOffset({offset}): give the offset of a message of this batch"
            )));
        }
        self.ctx()?.resolve_offset(offset as i64);
        Ok(())
    }

    /// `resolveOffset(offset)` then whether to go on (the run goes on and the batch is not
    /// stale): the eachMessage loop's one call per record.
    #[napi]
    pub fn advance(&self, offset: f64) -> Result<bool> {
        let ctx = self.ctx()?;
        ctx.resolve_offset(offset as i64);
        Ok(ctx.is_running() && !ctx.is_stale())
    }

    #[napi]
    pub fn is_stale(&self) -> bool {
        self.ctx().map(|c| c.is_stale()).unwrap_or(true)
    }

    #[napi]
    pub fn is_running(&self) -> bool {
        self.ctx().map(|c| c.is_running()).unwrap_or(false)
    }

    #[napi]
    pub fn pause(&self) -> Result<()> {
        self.ctx()?.pause().js()
    }

    /// The next offset to commit for this partition, if one was resolved.
    #[napi]
    pub fn uncommitted_offset(&self) -> Option<String> {
        self.ctx()
            .ok()?
            .uncommitted_offsets()
            .map(|(_, o)| o.to_string())
    }

    #[napi]
    pub async fn heartbeat(&self) -> Result<()> {
        self.ctx()?.heartbeat().await.js().map(|_| ())
    }

    #[napi]
    pub async fn commit_offsets_if_necessary(&self) -> Result<()> {
        self.ctx()?.commit_offsets_if_necessary().await.js()
    }
}
