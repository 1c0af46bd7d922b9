//! Consumer properties.

use super::{boolean, int, list, ms, non_empty, Spec, Table};
use crate::consumer::{AutoOffsetReset, ConsumerConfig, IsolationLevel};

const DESERIALIZE: &str =
    "kafkit hands keys and values over as bytes (`Message::key`, `Message::value`); deserialize them in your handler";

/// A Java assignor class (or a kafkit assignor name) as kafkit's name.
fn assignor(v: &str) -> std::result::Result<String, String> {
    let class = v.rsplit('.').next().unwrap_or(v);
    Ok(match class {
        "RangeAssignor" | "range" => "range",
        "RoundRobinAssignor" | "roundrobin" => "roundrobin",
        "CooperativeStickyAssignor" | "cooperative-sticky" => "cooperative-sticky",
        "StickyAssignor" => {
            return Err("range, roundrobin or cooperative-sticky (or their Java class names); kafkit has no eager StickyAssignor: CooperativeStickyAssignor is its successor".into())
        }
        other => other,
    }
    .to_string())
}

pub(crate) static TABLE: Table<ConsumerConfig> = &[
    ("group.id", Spec::Set(|c, v| {
        c.group_id = v.to_string();
        Ok(())
    })),
    ("group.protocol", Spec::Set(|c, v| {
        c.group_protocol = v
            .to_ascii_lowercase()
            .parse()
            .map_err(|_| "classic or consumer".to_string())?;
        Ok(())
    })),
    ("group.remote.assignor", Spec::Set(|c, v| {
        c.remote_assignor = Some(non_empty(v)?);
        Ok(())
    })),
    ("group.instance.id", Spec::Set(|c, v| {
        c.instance_id = Some(non_empty(v)?);
        Ok(())
    })),
    ("client.rack", Spec::Set(|c, v| {
        c.rack_id = Some(non_empty(v)?);
        Ok(())
    })),
    ("session.timeout.ms", Spec::Set(|c, v| {
        c.session_timeout = Some(ms(v)?);
        Ok(())
    })),
    ("heartbeat.interval.ms", Spec::Set(|c, v| {
        c.heartbeat_interval = Some(ms(v)?);
        Ok(())
    })),
    ("partition.assignment.strategy", Spec::Set(|c, v| {
        c.partition_assigners = list(v)
            .iter()
            .map(|a| assignor(a))
            .collect::<std::result::Result<_, _>>()?;
        Ok(())
    })),
    ("max.partition.fetch.bytes", Spec::Set(|c, v| {
        c.max_bytes_per_partition = int(v)?;
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
    ("fetch.max.wait.ms", Spec::Set(|c, v| {
        c.max_wait = ms(v)?;
        Ok(())
    })),
    ("check.crcs", Spec::Set(|c, v| {
        c.check_crcs = boolean(v)?;
        Ok(())
    })),
    ("isolation.level", Spec::Set(|c, v| {
        c.isolation_level = match v.to_ascii_lowercase().as_str() {
            "read_committed" => IsolationLevel::ReadCommitted,
            "read_uncommitted" => IsolationLevel::ReadUncommitted,
            _ => return Err("read_committed or read_uncommitted".into()),
        };
        Ok(())
    })),
    ("auto.offset.reset", Spec::Set(|c, v| {
        c.auto_offset_reset = match v.to_ascii_lowercase().as_str() {
            "earliest" => AutoOffsetReset::Earliest,
            "latest" => AutoOffsetReset::Latest,
            "none" => AutoOffsetReset::None,
            _ => return Err("earliest, latest or none (kafkit has no by_duration; seek to a time with the consumer's offsets_for_times instead)".into()),
        };
        Ok(())
    })),
    ("enable.auto.commit", Spec::Set(|c, v| {
        c.auto_commit = boolean(v)?;
        Ok(())
    })),
    ("auto.commit.interval.ms", Spec::Set(|c, v| {
        c.auto_commit_interval = ms(v)?;
        Ok(())
    })),
    ("max.poll.interval.ms", Spec::Set(|c, v| {
        c.max_poll_interval = ms(v)?;
        Ok(())
    })),
    ("key.deserializer", Spec::Unsupported(DESERIALIZE)),
    ("value.deserializer", Spec::Unsupported(DESERIALIZE)),
    ("max.poll.records", Spec::Unsupported("kafkit hands records to a handler or stream, not in polls; bound their memory with ConsumerConfig::max_prefetch_bytes")),
    ("default.api.timeout.ms", Spec::Unsupported("bound a call with tokio::time::timeout")),
    ("exclude.internal.topics", Spec::Unsupported("kafkit never subscribes to internal topics by pattern")),
    ("allow.auto.create.topics", Spec::Unsupported("a kafkit consumer never creates topics; create them with Admin::create_topics")),
    ("enable.auto.offset.store", Spec::Unsupported("kafkit stores the offset of each record its handler resolves")),
    ("internal.leave.group.on.close", Spec::Unsupported("a kafkit consumer leaves its group when it stops")),
    ("interceptor.classes", Spec::Unsupported(super::NO_INTERCEPTORS)),
];
