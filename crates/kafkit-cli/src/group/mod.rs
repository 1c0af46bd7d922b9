//! `kafkit group list|describe|delete|offsets`.

mod reset;

use clap::Subcommand;
use kafkit::admin::{GroupKind, OffsetSpec};
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
    /// Show a group's committed offsets and lag; or, with --reset-to, --to-datetime,
    /// --by-duration or --shift-by, plan new ones (printed, not applied) and, with --execute,
    /// apply the plan (the group must have no live members).
    Offsets {
        /// Group id.
        group: String,
        /// Move the offsets to earliest, latest, current (no change) or an offset; offsets
        /// outside a partition's range move to its nearest end.
        #[arg(long, conflicts_with_all = ["to_datetime", "by_duration", "shift_by"])]
        reset_to: Option<String>,
        /// Move the offsets to the first record at or after this time:
        /// YYYY-MM-DDTHH:MM:SS[.sss][Z|+HH:MM] (UTC when no offset is given), or ms since the
        /// epoch.
        #[arg(long, conflicts_with_all = ["by_duration", "shift_by"])]
        to_datetime: Option<String>,
        /// Move the offsets to the first record written at most this long ago: PT1H,
        /// P1DT2H30M, or 1h, 30m, 2d.
        #[arg(long, conflicts_with = "shift_by")]
        by_duration: Option<String>,
        /// Move each committed offset by N (negative: back).
        #[arg(long, allow_negative_numbers = true, value_name = "N")]
        shift_by: Option<i64>,
        /// Topic whose offsets to move (repeatable).
        #[arg(long, short)]
        topic: Vec<String>,
        /// Move the offsets of every topic the group has committed offsets for.
        #[arg(long, conflicts_with = "topic")]
        all_topics: bool,
        /// Apply the plan (without it, the plan is only printed: a dry run).
        #[arg(long, conflicts_with = "dry_run")]
        execute: bool,
        /// Only print the plan (the default; for kafka-consumer-groups habits).
        #[arg(long)]
        dry_run: bool,
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
                outln!("{}", terminal::json(&json!(out)));
            } else {
                for g in groups {
                    outln!(
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
                    outln!(
                        "{}",
                        terminal::json(
                            &json!({"group_id": d.group_id, "type": kind, "state": d.state, "group_epoch": d.group_epoch,
                               "assignment_epoch": d.assignment_epoch, "assignor": d.assignor, "members": members})
                        )
                    );
                } else {
                    outln!(
                        "group {} ({kind}) state {} epoch {} assignment epoch {} assignor {}",
                        esc(&d.group_id),
                        esc(&d.state),
                        d.group_epoch,
                        d.assignment_epoch,
                        esc(&d.assignor)
                    );
                    for m in &d.members {
                        outln!(
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
                outln!("{}", terminal::json(&json!({"deleted": groups})));
            } else {
                for g in groups {
                    outln!("deleted group {}", esc(&g));
                }
            }
        }
        GroupCommand::Offsets {
            group,
            reset_to,
            to_datetime,
            by_duration,
            shift_by,
            topic,
            all_topics,
            execute,
            dry_run: _,
        } => {
            let target = match (reset_to, to_datetime, by_duration, shift_by) {
                (Some(to), ..) => Some(reset::reset_to(&to)?),
                (_, Some(t), ..) => Some(reset::Target::Time(reset::datetime(&t)?)),
                (_, _, Some(d), _) => {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as i64);
                    Some(reset::Target::Time(
                        now.saturating_sub(reset::duration(&d)?).max(0),
                    ))
                }
                (_, _, _, Some(n)) => Some(reset::Target::ShiftBy(n)),
                _ => None,
            };
            if let Some(target) = target {
                return reset_offsets(kafka, &group, target, &topic, all_topics, execute, as_json)
                    .await;
            }
            if execute || all_topics || !topic.is_empty() {
                return Err(kafkit::Error::new(
                    kafkit::ErrorKind::Config,
                    "group offsets",
                    "--topic, --all-topics and --execute go with a move: --reset-to, --to-datetime, --by-duration or --shift-by",
                ));
            }
            let offsets = admin.group_offsets(&group).await?;
            if as_json {
                let out: Vec<_> = offsets
                    .iter()
                    .map(|o| json!({"topic": o.partition.topic, "partition": o.partition.partition, "committed": o.committed, "end": o.end, "lag": o.lag}))
                    .collect();
                outln!("{}", terminal::json(&json!(out)));
            } else {
                outln!("PARTITION\tCOMMITTED\tEND\tLAG");
                for o in offsets {
                    outln!(
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

/// Plans the move of `group`'s offsets on `topics` (or, with `all_topics`, every topic it has
/// committed offsets for), prints the plan, and applies it when `execute`.
async fn reset_offsets(
    kafka: &Kafka,
    group: &str,
    target: reset::Target,
    topics: &[String],
    all_topics: bool,
    execute: bool,
    as_json: bool,
) -> kafkit::Result<()> {
    use std::collections::{BTreeMap, BTreeSet};
    let admin = kafka.admin();
    let error = |why: String| kafkit::Error::new(kafkit::ErrorKind::Config, "group offsets", why);
    let committed_list = admin.group_offsets(group).await?;
    let committed: BTreeMap<TopicPartition, i64> = committed_list
        .iter()
        .map(|o| (o.partition.clone(), o.committed))
        .collect();
    let names: BTreeSet<String> = if all_topics {
        committed.keys().map(|tp| tp.topic.clone()).collect()
    } else if topics.is_empty() {
        return Err(error(
            "say which offsets to move: --topic T (repeatable) or --all-topics".to_string(),
        ));
    } else {
        topics.iter().cloned().collect()
    };
    if names.is_empty() {
        return Err(error(format!(
            "group '{group}' has no committed offsets, so --all-topics names no topic; give --topic T"
        )));
    }
    let mut partitions = Vec::new();
    for t in &names {
        partitions.extend(admin.partitions_of(t).await?);
    }
    let listed = |spec| {
        let partitions = &partitions;
        let admin = &admin;
        async move {
            kafkit::Result::Ok(
                admin
                    .list_offsets(partitions, spec, false)
                    .await?
                    .into_iter()
                    .map(|o| (o.partition, o.offset))
                    .collect::<BTreeMap<_, _>>(),
            )
        }
    };
    let earliest = listed(OffsetSpec::Earliest).await?;
    let latest = listed(OffsetSpec::Latest).await?;
    let by_time = match target {
        reset::Target::Time(t) => listed(OffsetSpec::Timestamp(t)).await?,
        _ => BTreeMap::new(),
    };
    let rows = reset::plan(
        target,
        &partitions,
        &committed,
        &earliest,
        &latest,
        &by_time,
    )?;
    let left: Vec<String> = partitions
        .iter()
        .filter(|tp| !rows.iter().any(|r| &r.partition == *tp))
        .map(|tp| esc(tp).to_string())
        .collect();
    if !left.is_empty() {
        eprintln!(
            "kafkit: no committed offset to move on {}: left out of the plan (set one with --reset-to)",
            left.join(", ")
        );
    }
    let members = admin
        .describe_groups(&[group])
        .await?
        .first()
        .map_or(0, |d| d.members.len());
    if execute {
        if members > 0 {
            return Err(error(format!(
                "group '{group}' has {members} live member(s); stop them before moving its offsets"
            )));
        }
        let set: Vec<(TopicPartition, i64)> =
            rows.iter().map(|r| (r.partition.clone(), r.new)).collect();
        admin.set_group_offsets(group, &set).await?;
    }
    if as_json {
        let out: Vec<_> = rows
            .iter()
            .map(|r| json!({"topic": r.partition.topic, "partition": r.partition.partition, "current": r.current, "new": r.new}))
            .collect();
        outln!(
            "{}",
            terminal::json(&json!({"group": group, "executed": execute, "offsets": out}))
        );
    } else {
        outln!("TOPIC\tPARTITION\tCURRENT\tNEW");
        for r in &rows {
            outln!(
                "{}\t{}\t{}\t{}",
                esc(&r.partition.topic),
                r.partition.partition,
                r.current.map_or("-".to_string(), |c| c.to_string()),
                r.new
            );
        }
    }
    if !execute {
        let live = match members {
            0 => String::new(),
            n => format!("; the group has {n} live member(s), stop them first"),
        };
        eprintln!("kafkit: dry run, nothing changed: add --execute to apply this plan{live}");
    }
    Ok(())
}
