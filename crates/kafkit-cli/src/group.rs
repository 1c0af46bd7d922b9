//! `kafkit group list|describe|delete|offsets`.

use clap::Subcommand;
use kafkit::admin::{GroupKind, OffsetReset};
use kafkit::{Kafka, TopicPartition};
use serde_json::json;

use crate::terminal::{self, esc};

#[derive(Subcommand)]
pub enum GroupCommand {
    /// List groups.
    List {
        /// Only groups of this type: consumer (KIP-848) or classic (repeatable).
        #[arg(long = "type")]
        types: Vec<String>,
        /// Only groups in this state, e.g. Stable, Empty (repeatable).
        #[arg(long = "state")]
        states: Vec<String>,
    },
    /// Describe groups: members, epochs, assignments (and target assignments for consumer groups).
    Describe {
        /// Group ids.
        #[arg(required = true)]
        groups: Vec<String>,
    },
    /// Delete groups (they must have no live members).
    Delete {
        /// Group ids.
        #[arg(required = true)]
        groups: Vec<String>,
    },
    /// Show a group's committed offsets and lag, or change them with --reset-to.
    Offsets {
        /// Group id.
        group: String,
        /// Reset the offsets of --topic to earliest, latest or an offset (the group must be empty).
        #[arg(long, requires = "topic")]
        reset_to: Option<String>,
        /// Topic whose offsets --reset-to changes.
        #[arg(long)]
        topic: Option<String>,
    },
}

/// Partitions as text output shows them (topic names escaped).
fn tp_list(tps: &[TopicPartition]) -> String {
    tps.iter()
        .map(|tp| esc(tp).to_string())
        .collect::<Vec<_>>()
        .join(",")
}

pub async fn run(kafka: &Kafka, cmd: GroupCommand, as_json: bool) -> kafkit::Result<()> {
    let admin = kafka.admin();
    match cmd {
        GroupCommand::List { types, states } => {
            let t = types
                .iter()
                .map(|t| t.parse())
                .collect::<kafkit::Result<Vec<kafkit::admin::GroupType>>>()?;
            let s = states
                .iter()
                .map(|s| s.parse())
                .collect::<kafkit::Result<Vec<kafkit::admin::GroupState>>>()?;
            let groups = admin.list_groups(&t, &s).await?;
            if as_json {
                let out: Vec<_> = groups
                    .iter()
                    .map(|g| json!({"group_id": g.group_id, "type": g.group_type, "state": g.state, "protocol_type": g.protocol_type}))
                    .collect();
                println!("{}", terminal::json(&json!(out)));
            } else {
                for g in groups {
                    println!(
                        "{}\t{}\t{}",
                        esc(&g.group_id),
                        esc(&g.group_type),
                        esc(&g.state)
                    );
                }
            }
        }
        GroupCommand::Describe { groups } => {
            let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
            for d in admin.describe_groups(&refs).await? {
                let kind = if d.kind == GroupKind::Consumer {
                    "consumer"
                } else {
                    "classic"
                };
                if as_json {
                    let members: Vec<_> = d
                        .members
                        .iter()
                        .map(|m| {
                            json!({"member_id": m.member_id, "instance_id": m.instance_id, "client_id": m.client_id,
                                   "client_host": m.client_host, "rack_id": m.rack_id, "member_epoch": m.member_epoch,
                                   "subscribed_topics": m.subscribed_topics, "subscribed_regex": m.subscribed_regex,
                                   "assignment": m.assignment.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
                                   "target_assignment": m.target_assignment.iter().map(|t| t.to_string()).collect::<Vec<_>>()})
                        })
                        .collect();
                    println!(
                        "{}",
                        terminal::json(
                            &json!({"group_id": d.group_id, "type": kind, "state": d.state, "group_epoch": d.group_epoch,
                               "assignment_epoch": d.assignment_epoch, "assignor": d.assignor, "members": members})
                        )
                    );
                } else {
                    println!(
                        "group {} ({kind}) state {} epoch {} assignment epoch {} assignor {}",
                        esc(&d.group_id),
                        esc(&d.state),
                        d.group_epoch,
                        d.assignment_epoch,
                        esc(&d.assignor)
                    );
                    for m in &d.members {
                        println!(
                            "  member {} epoch {} client {} {}{}\n    assigned [{}]\n    target   [{}]",
                            esc(&m.member_id),
                            m.member_epoch,
                            esc(&m.client_id),
                            esc(&m.client_host),
                            esc(m.instance_id.as_ref().map(|i| format!(" instance {i}")).unwrap_or_default()),
                            tp_list(&m.assignment),
                            tp_list(&m.target_assignment)
                        );
                    }
                }
            }
        }
        GroupCommand::Delete { groups } => {
            let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
            admin.delete_groups(&refs).await?;
            if as_json {
                println!("{}", terminal::json(&json!({"deleted": groups})));
            } else {
                for g in groups {
                    println!("deleted group {}", esc(&g));
                }
            }
        }
        GroupCommand::Offsets {
            group,
            reset_to,
            topic,
        } => {
            if let (Some(to), Some(topic)) = (reset_to, topic) {
                let target = match to.as_str() {
                    "earliest" => OffsetReset::Earliest,
                    "latest" => OffsetReset::Latest,
                    n => OffsetReset::To(n.parse().ok().filter(|o: &i64| *o >= 0).ok_or_else(
                        || {
                            kafkit::Error::new(
                                kafkit::ErrorKind::Config,
                                "group offsets",
                                format!(
                                    "--reset-to '{n}' is not earliest, latest or an offset (0 or more)"
                                ),
                            )
                        },
                    )?),
                };
                let set = admin.reset_group_offsets(&group, &topic, target).await?;
                for (tp, o) in set {
                    if as_json {
                        println!(
                            "{}",
                            terminal::json(&json!({"partition": tp.to_string(), "offset": o}))
                        );
                    } else {
                        println!("{}\t{o}", esc(&tp));
                    }
                }
                return Ok(());
            }
            let offsets = admin.group_offsets(&group).await?;
            if as_json {
                let out: Vec<_> = offsets
                    .iter()
                    .map(|o| json!({"topic": o.partition.topic, "partition": o.partition.partition, "committed": o.committed, "end": o.end, "lag": o.lag}))
                    .collect();
                println!("{}", terminal::json(&json!(out)));
            } else {
                println!("PARTITION\tCOMMITTED\tEND\tLAG");
                for o in offsets {
                    println!(
                        "{}\t{}\t{}\t{}",
                        esc(&o.partition),
                        o.committed,
                        o.end,
                        o.lag
                    );
                }
            }
        }
    }
    Ok(())
}
