//! `kafkit offsets` and `kafkit records delete`.

use clap::{Args, Subcommand};
use kafkit::admin::{ListedOffset, OffsetSpec};
use kafkit::{Kafka, TopicPartition};
use serde_json::json;

use crate::terminal::{self, esc};

#[derive(Args)]
pub struct OffsetsArgs {
    /// Topic.
    topic: String,
    /// earliest, latest or max-timestamp.
    #[arg(default_value = "latest", conflicts_with = "time")]
    spec: String,
    /// The first record at or after this timestamp (ms since the epoch): its offset and
    /// timestamp, or "none".
    #[arg(long, value_parser = crate::args::timestamp)]
    time: Option<i64>,
    /// Only this partition (repeatable; default: all).
    #[arg(long = "partition", short, value_parser = crate::args::partition)]
    partitions: Vec<i32>,
    /// Latest = last stable offset (before open transactions).
    #[arg(long)]
    read_committed: bool,
}

#[derive(Subcommand)]
pub enum RecordsCommand {
    /// Delete the records before an offset (the log start offset moves there).
    Delete {
        /// Topic.
        topic: String,
        /// Delete before this offset; -1 (default) deletes everything written so far.
        #[arg(
            long,
            default_value_t = -1,
            allow_hyphen_values = true,
            value_parser = crate::args::before_offset
        )]
        before: i64,
        /// Only this partition (repeatable; default: all).
        #[arg(long = "partition", short, value_parser = crate::args::partition)]
        partitions: Vec<i32>,
    },
}

async fn partitions(
    kafka: &Kafka,
    topic: &str,
    only: &[i32],
) -> kafkit::Result<Vec<TopicPartition>> {
    if only.is_empty() {
        kafka.admin().partitions_of(topic).await
    } else {
        Ok(only
            .iter()
            .map(|p| TopicPartition::new(topic, *p))
            .collect())
    }
}

pub async fn offsets(kafka: &Kafka, args: OffsetsArgs, as_json: bool) -> kafkit::Result<()> {
    let spec = match args.time {
        Some(t) => OffsetSpec::Timestamp(t),
        None => args.spec.parse()?,
    };
    let parts = partitions(kafka, &args.topic, &args.partitions).await?;
    let found = kafka
        .admin()
        .list_offsets(&parts, spec, args.read_committed)
        .await?;
    if as_json {
        let out: Vec<_> = found.iter().map(|o| offset_json(o, args.time)).collect();
        outln!("{}", terminal::json(&json!(out)));
    } else {
        for o in &found {
            outln!("{}", offset_line(o, args.time));
        }
    }
    Ok(())
}

/// One partition's answer as text: `topic-partition  offset`, and for a timestamp lookup the
/// found record's timestamp, or that there is none.
fn offset_line(o: &ListedOffset, time: Option<i64>) -> String {
    match time {
        Some(t) if o.offset < 0 => {
            format!("{}\tnone\tno record at or after {t}", esc(&o.partition))
        }
        Some(_) => format!("{}\t{}\t{}", esc(&o.partition), o.offset, o.timestamp),
        None if o.timestamp >= 0 => {
            format!("{}\t{}\t{}", esc(&o.partition), o.offset, o.timestamp)
        }
        None => format!("{}\t{}", esc(&o.partition), o.offset),
    }
}

/// As [`offset_line`], for `--json`: a timestamp lookup that found nothing has null offset
/// and timestamp.
fn offset_json(o: &ListedOffset, time: Option<i64>) -> serde_json::Value {
    let found = o.offset >= 0 || time.is_none();
    json!({
        "topic": o.partition.topic,
        "partition": o.partition.partition,
        "offset": found.then_some(o.offset),
        "timestamp": (found && o.timestamp >= 0).then_some(o.timestamp),
        "leader_epoch": o.leader_epoch,
    })
}

pub async fn run(kafka: &Kafka, cmd: RecordsCommand, as_json: bool) -> kafkit::Result<()> {
    match cmd {
        RecordsCommand::Delete {
            topic,
            before,
            partitions: only,
        } => {
            let parts = partitions(kafka, &topic, &only).await?;
            let list: Vec<(TopicPartition, i64)> =
                parts.into_iter().map(|tp| (tp, before)).collect();
            let low = kafka.admin().delete_records(&list).await?;
            if as_json {
                let out: Vec<_> = low
                    .iter()
                    .map(|(tp, l)| json!({"topic": tp.topic, "partition": tp.partition, "low_watermark": l}))
                    .collect();
                outln!("{}", terminal::json(&json!(out)));
            } else {
                for (tp, l) in low {
                    outln!("{}\tstarts at {l}", esc(&tp));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(offset: i64, timestamp: i64) -> ListedOffset {
        ListedOffset {
            partition: TopicPartition::new("orders", 0),
            offset,
            timestamp,
            leader_epoch: 0,
        }
    }

    #[test]
    fn time_lookups_show_the_record_found_or_none() {
        assert_eq!(
            offset_line(&listed(4, 1_700_000_000_500), Some(1_700_000_000_000)),
            "orders-0\t4\t1700000000500"
        );
        assert_eq!(
            offset_line(&listed(-1, -1), Some(1_700_000_000_000)),
            "orders-0\tnone\tno record at or after 1700000000000"
        );
        assert_eq!(offset_line(&listed(9, -1), None), "orders-0\t9");
        let j = offset_json(&listed(-1, -1), Some(5));
        assert!(j["offset"].is_null() && j["timestamp"].is_null(), "{j}");
        let j = offset_json(&listed(4, 77), Some(5));
        assert_eq!(
            (j["offset"].as_i64(), j["timestamp"].as_i64()),
            (Some(4), Some(77))
        );
        let j = offset_json(&listed(9, -1), None);
        assert_eq!(j["offset"], 9);
        assert!(j["timestamp"].is_null(), "{j}");
    }
}
