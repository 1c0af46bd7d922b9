//! `kafkit share consume|describe|list|delete|offsets`: share groups (KIP-932).

use std::time::Duration;

use clap::Subcommand;
use futures::StreamExt;
use kafkit::share::{AcknowledgeType, AcknowledgementMode, ShareConsumerConfig};
use kafkit::{Error, Kafka, TopicPartition};
use serde_json::json;

use crate::consume::output::{json_bytes, text};
use crate::signals::Shutdown;
use crate::terminal::{self, esc};

#[derive(Subcommand)]
pub enum ShareCommand {
    /// Read records as a member of a share group and print them (each with its delivery count).
    Consume {
        /// Share group id.
        #[arg(long, short)]
        group: String,
        /// Topic to subscribe to (repeatable).
        #[arg(long, short, required = true)]
        topic: Vec<String>,
        /// What to do with each record: accept (done), release (deliver again) or reject.
        #[arg(long, default_value = "accept")]
        ack: String,
        /// Stop after this many records (at least 1; default: no limit).
        #[arg(long, value_parser = crate::args::at_least_one)]
        max_records: Option<u64>,
        /// Stop after this many seconds without a record (at least 1).
        #[arg(long, value_parser = crate::args::at_least_one)]
        idle_timeout_secs: Option<u64>,
    },
    /// Describe share groups: state, assignor, members and their assignments.
    Describe {
        /// Group ids.
        #[arg(required = true)]
        groups: Vec<String>,
    },
    /// List share groups.
    List,
    /// Delete share groups (they must have no members).
    Delete {
        /// Group ids.
        #[arg(required = true)]
        groups: Vec<String>,
    },
    /// Show a share group's start offsets, or plan a move with --reset-to (printed, not
    /// applied) and, with --execute, apply it (the group must have no active members).
    Offsets {
        /// Share group id.
        group: String,
        /// Plan moving the start offsets of --topic to earliest or latest.
        #[arg(long, requires = "topic")]
        reset_to: Option<String>,
        /// Topic whose start offsets --reset-to moves.
        #[arg(short = 't', long)]
        topic: Option<String>,
        /// Apply the plan of --reset-to (without it, nothing changes: a dry run).
        #[arg(long, requires = "reset_to")]
        execute: bool,
    },
}

fn ack_type(s: &str) -> kafkit::Result<AcknowledgeType> {
    match s {
        "accept" => Ok(AcknowledgeType::Accept),
        "release" => Ok(AcknowledgeType::Release),
        "reject" => Ok(AcknowledgeType::Reject),
        _ => Err(Error::new(
            kafkit::ErrorKind::Config,
            "share consume",
            format!("--ack '{s}' must be accept, release or reject"),
        )),
    }
}

pub async fn run(kafka: &Kafka, cmd: ShareCommand, as_json: bool) -> kafkit::Result<()> {
    let admin = kafka.admin();
    match cmd {
        ShareCommand::Consume {
            group,
            topic,
            ack,
            max_records,
            idle_timeout_secs,
        } => {
            let kind = ack_type(&ack)?;
            let mut shutdown = Shutdown::listen();
            let consumer = kafka.share_consumer(
                ShareConsumerConfig::new(&group)
                    .acknowledgement_mode(AcknowledgementMode::Explicit),
            )?;
            let topics: Vec<&str> = topic.iter().map(String::as_str).collect();
            consumer.subscribe(&topics).await?;
            let mut stream = Box::pin(consumer.stream());
            let idle = idle_timeout_secs.map(Duration::from_secs);
            let mut n = 0u64;
            loop {
                if max_records.is_some_and(|m| n >= m) {
                    break;
                }
                let next = tokio::select! {
                    r = stream.next() => r,
                    _ = shutdown.requested() => break,
                    _ = tokio::time::sleep(idle.unwrap_or(Duration::MAX)), if idle.is_some() => break,
                };
                let Some(record) = next else { break };
                let record = record?;
                if as_json {
                    outln!(
                        "{}",
                        terminal::json(
                            &json!({"topic": &*record.topic, "partition": record.partition, "offset": record.offset,
                               "delivery_count": record.delivery_count, "key": json_bytes(record.key.as_deref()),
                               "value": json_bytes(record.value.as_deref())})
                        )
                    );
                } else {
                    outln!(
                        "{}-{}@{}\tdelivery {}\t{}\t{}",
                        esc(&record.topic),
                        record.partition,
                        record.offset,
                        record.delivery_count,
                        text(&record.key),
                        text(&record.value)
                    );
                }
                consumer.acknowledge(&record, kind).await?;
                n += 1;
            }
            drop(stream);
            for (tp, res) in consumer.commit().await? {
                if let Err(e) = res {
                    eprintln!("kafkit: acknowledging {}: {}", esc(&tp), esc(&e));
                }
            }
            consumer.close().await
        }
        ShareCommand::Describe { groups } => {
            let g: Vec<&str> = groups.iter().map(String::as_str).collect();
            for d in admin.describe_share_groups(&g).await? {
                if as_json {
                    outln!(
                        "{}",
                        terminal::json(
                            &json!({"group": d.group_id, "state": d.state, "group_epoch": d.group_epoch,
                               "assignor": d.assignor,
                               "members": d.members.iter().map(|m| json!({"member_id": m.member_id, "member_epoch": m.member_epoch,
                                   "client_id": m.client_id, "client_host": m.client_host, "rack": m.rack_id,
                                   "topics": m.subscribed_topics,
                                   "assignment": m.assignment.iter().map(|t| t.to_string()).collect::<Vec<_>>()})).collect::<Vec<_>>()})
                        )
                    );
                } else {
                    outln!(
                        "share group {} ({}, epoch {}, assignor {}), {} members",
                        esc(&d.group_id),
                        esc(&d.state),
                        d.group_epoch,
                        esc(&d.assignor),
                        d.members.len()
                    );
                    for m in &d.members {
                        outln!(
                            "  {} epoch {} {} {}: {}",
                            esc(&m.member_id),
                            m.member_epoch,
                            esc(&m.client_id),
                            esc(&m.client_host),
                            m.assignment
                                .iter()
                                .map(|t| esc(t).to_string())
                                .collect::<Vec<_>>()
                                .join(",")
                        );
                    }
                }
            }
            Ok(())
        }
        ShareCommand::List => {
            let groups = admin
                .list_groups(&[kafkit::admin::GroupType::Share], &[])
                .await?;
            for g in groups {
                if as_json {
                    outln!(
                        "{}",
                        terminal::json(&json!({"group": g.group_id, "state": g.state}))
                    );
                } else {
                    outln!("{}\t{}", esc(&g.group_id), esc(&g.state));
                }
            }
            Ok(())
        }
        ShareCommand::Delete { groups } => {
            let g: Vec<&str> = groups.iter().map(String::as_str).collect();
            admin.delete_groups(&g).await?;
            if !as_json {
                outln!("deleted {}", esc(groups.join(", ")));
            }
            Ok(())
        }
        ShareCommand::Offsets {
            group,
            reset_to,
            topic,
            execute,
        } => {
            let offsets: Vec<(TopicPartition, i64)> = match (reset_to.as_deref(), topic) {
                (Some(to), Some(topic)) => {
                    let earliest = match to {
                        "earliest" => true,
                        "latest" => false,
                        other => {
                            return Err(Error::new(
                                kafkit::ErrorKind::Config,
                                "share offsets",
                                format!("--reset-to '{other}' must be earliest or latest"),
                            ))
                        }
                    };
                    if execute {
                        admin
                            .reset_share_group_offsets(&group, &topic, earliest)
                            .await?
                    } else {
                        let spec = if earliest {
                            kafkit::admin::OffsetSpec::Earliest
                        } else {
                            kafkit::admin::OffsetSpec::Latest
                        };
                        let parts = admin.partitions_of(&topic).await?;
                        let mut plan: Vec<(TopicPartition, i64)> = admin
                            .list_offsets(&parts, spec, false)
                            .await?
                            .into_iter()
                            .map(|o| (o.partition, o.offset))
                            .collect();
                        plan.sort();
                        eprintln!(
                            "kafkit: dry run, nothing changed: add --execute to move the share group's start offsets to these"
                        );
                        plan
                    }
                }
                _ => admin.share_group_offsets(&group).await?,
            };
            for (tp, o) in offsets {
                if as_json {
                    outln!(
                        "{}",
                        terminal::json(&json!({"partition": tp.to_string(), "start_offset": o}))
                    );
                } else {
                    outln!("{}\t{o}", esc(&tp));
                }
            }
            Ok(())
        }
    }
}
