//! Producer properties.

use super::{boolean, int, ms, non_empty, Spec, Table};
use crate::producer::{Compression, ProducerConfig};

const SERIALIZE: &str =
    "kafkit sends keys and values as bytes (anything `AsRef<[u8]>`); serialize them before Record::new";

fn level(c: &mut ProducerConfig, codec: Compression, v: &str) -> std::result::Result<(), String> {
    let level: i32 = v
        .parse()
        .map_err(|_| "a whole number (the codec's level, e.g. 6)".to_string())?;
    c.compression_levels.set(codec, Some(level));
    Ok(())
}

pub(crate) static TABLE: Table<ProducerConfig> = &[
    ("acks", Spec::Set(|c, v| {
        c.acks = v
            .to_ascii_lowercase()
            .parse()
            .map_err(|_| "all, -1, 1 or 0".to_string())?;
        Ok(())
    })),
    ("compression.type", Spec::Set(|c, v| {
        c.compression = v
            .parse()
            .map_err(|_| "none, gzip, snappy, lz4 or zstd".to_string())?;
        Ok(())
    })),
    ("compression.gzip.level", Spec::Set(|c, v| level(c, Compression::Gzip, v))),
    ("compression.lz4.level", Spec::Set(|c, v| level(c, Compression::Lz4, v))),
    ("compression.zstd.level", Spec::Set(|c, v| level(c, Compression::Zstd, v))),
    ("linger.ms", Spec::Set(|c, v| {
        c.linger = ms(v)?;
        Ok(())
    })),
    ("batch.size", Spec::Set(|c, v| {
        c.batch_size = int(v)?;
        Ok(())
    })),
    ("buffer.memory", Spec::Set(|c, v| {
        c.buffer_memory = int(v)?;
        Ok(())
    })),
    ("max.block.ms", Spec::Set(|c, v| {
        c.max_block = ms(v)?;
        Ok(())
    })),
    ("delivery.timeout.ms", Spec::Set(|c, v| {
        c.delivery_timeout = ms(v)?;
        Ok(())
    })),
    ("request.timeout.ms", Spec::Set(|c, v| {
        c.request_timeout = ms(v)?;
        Ok(())
    })),
    ("max.request.size", Spec::Set(|c, v| {
        c.max_request_size = int(v)?;
        Ok(())
    })),
    ("max.in.flight.requests.per.connection", Spec::Set(|c, v| {
        c.max_in_flight = int(v)?;
        Ok(())
    })),
    ("enable.idempotence", Spec::Set(|c, v| {
        c.idempotence = Some(boolean(v)?);
        Ok(())
    })),
    ("retry.backoff.ms", Spec::Set(|c, v| {
        c.retry_backoff = ms(v)?;
        Ok(())
    })),
    ("transactional.id", Spec::Set(|c, v| {
        c.transactional_id = Some(non_empty(v)?);
        Ok(())
    })),
    ("transaction.timeout.ms", Spec::Set(|c, v| {
        c.transaction_timeout = ms(v)?;
        Ok(())
    })),
    ("key.serializer", Spec::Unsupported(SERIALIZE)),
    ("value.serializer", Spec::Unsupported(SERIALIZE)),
    ("retries", Spec::Unsupported("kafkit retries a batch until delivery.timeout.ms, which is the bound to set")),
    ("partitioner.class", Spec::Unsupported("give your own partitioner with ProducerConfig::partitioner")),
    ("partitioner.ignore.keys", Spec::Unsupported("give your own partitioner with ProducerConfig::partitioner")),
    ("partitioner.adaptive.partitioning.enable", Spec::Unsupported("kafkit's default partitioner is sticky for keyless records, without adaptive weighting")),
    ("partitioner.availability.timeout.ms", Spec::Unsupported("kafkit's default partitioner is sticky for keyless records, without adaptive weighting")),
    ("metadata.max.idle.ms", Spec::Unsupported("kafkit refreshes the metadata of every known topic each metadata.max.age.ms")),
    ("transaction.two.phase.commit.enable", Spec::Unsupported("kafkit has no two-phase commit (KIP-939)")),
    ("interceptor.classes", Spec::Unsupported(super::NO_INTERCEPTORS)),
];
