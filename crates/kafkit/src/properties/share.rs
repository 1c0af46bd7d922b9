//! Share consumer properties.

use super::{boolean, int, ms, non_empty, Spec, Table};
use crate::share::{AcknowledgementMode, ShareAcquireMode, ShareConsumerConfig};

pub(crate) static TABLE: Table<ShareConsumerConfig> = &[
    ("group.id", Spec::Set(|c, v| {
        c.group_id = non_empty(v)?;
        Ok(())
    })),
    ("share.acknowledgement.mode", Spec::Set(|c, v| {
        c.acknowledgement_mode = match v.to_ascii_lowercase().as_str() {
            "implicit" => AcknowledgementMode::Implicit,
            "explicit" => AcknowledgementMode::Explicit,
            _ => return Err("implicit or explicit".into()),
        };
        Ok(())
    })),
    ("share.acquire.mode", Spec::Set(|c, v| {
        c.acquire_mode = match v.to_ascii_lowercase().as_str() {
            "batch_optimized" => ShareAcquireMode::BatchOptimized,
            "record_limit" => ShareAcquireMode::RecordLimit,
            _ => return Err("batch_optimized or record_limit".into()),
        };
        Ok(())
    })),
    ("max.poll.records", Spec::Set(|c, v| {
        c.max_records = int(v)?;
        Ok(())
    })),
    ("fetch.max.wait.ms", Spec::Set(|c, v| {
        c.max_wait = ms(v)?;
        Ok(())
    })),
    ("fetch.min.bytes", Spec::Set(|c, v| {
        c.min_bytes = int(v)?;
        Ok(())
    })),
    ("fetch.max.bytes", Spec::Set(|c, v| {
        c.max_bytes = int(v)?;
        Ok(())
    })),
    ("client.rack", Spec::Set(|c, v| {
        c.rack_id = Some(non_empty(v)?);
        Ok(())
    })),
    ("check.crcs", Spec::Set(|c, v| {
        c.check_crcs = boolean(v)?;
        Ok(())
    })),
    ("key.deserializer", Spec::Unsupported("kafkit hands keys over as bytes; deserialize them in your handler")),
    ("value.deserializer", Spec::Unsupported("kafkit hands values over as bytes; deserialize them in your handler")),
    ("max.partition.fetch.bytes", Spec::Unsupported("a share fetch is bounded as a whole by fetch.max.bytes")),
    ("share.acknowledgement.commit.callback", Spec::Unsupported("acknowledgement results come back from ShareConsumer::acknowledge and the handler's result")),
];
