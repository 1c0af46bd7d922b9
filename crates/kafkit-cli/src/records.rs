//! `kafkit offsets` and `kafkit records delete`.

use clap::{Args, Subcommand};
use kafkit::admin::OffsetSpec;
use kafkit::{Kafka, TopicPartition};
use serde_json::json;

#[derive(Args)]
pub struct OffsetsArgs {
    /// Topic.
    topic: String,
    /// earliest, latest or max-timestamp.
    #[arg(default_value = "latest", conflicts_with = "time")]
    spec: String,
    /// The first offset at or after this timestamp (ms since the epoch).
    #[arg(long)]
    time: Option<i64>,
    /// Only this partition (repeatable; default: all).
    #[arg(long = "partition", short)]
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
        #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
        before: i64,
        /// Only this partition (repeatable; default: all).
        #[arg(long = "partition", short)]
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
        let out: Vec<_> = found
            .iter()
            .map(|o| json!({"topic": o.partition.topic, "partition": o.partition.partition, "offset": o.offset, "timestamp": o.timestamp, "leader_epoch": o.leader_epoch}))
            .collect();
        println!("{}", json!(out));
    } else {
        for o in found {
            if o.timestamp >= 0 {
                println!("{}\t{}\t{}", o.partition, o.offset, o.timestamp);
            } else {
                println!("{}\t{}", o.partition, o.offset);
            }
        }
    }
    Ok(())
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
                println!("{}", json!(out));
            } else {
                for (tp, l) in low {
                    println!("{tp}\tstarts at {l}");
                }
            }
        }
    }
    Ok(())
}
