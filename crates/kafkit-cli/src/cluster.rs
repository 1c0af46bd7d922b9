//! `kafkit cluster describe|features|log-dirs|elect-leaders|reassign|reassignments`.

use clap::Subcommand;
use kafkit::admin::ElectionType;
use kafkit::{Kafka, TopicPartition};
use serde_json::json;

use crate::terminal::{self, esc};

#[derive(Subcommand)]
pub enum ClusterCommand {
    /// Cluster id, controller and brokers (with racks and fenced ones).
    Describe,
    /// Finalized and supported features (metadata.version, group.version, ...).
    Features,
    /// Log directories of the brokers (all, or --broker ones) and the replicas in them.
    LogDirs {
        /// Only this broker (repeatable).
        #[arg(long = "broker")]
        brokers: Vec<i32>,
    },
    /// Elect leaders: preferred (back to the first replica) or unclean.
    ElectLeaders {
        /// preferred or unclean.
        #[arg(long, default_value = "preferred")]
        election: String,
        /// Partitions as topic:partition (repeatable; default every partition).
        partitions: Vec<String>,
    },
    /// Move a partition to new replicas (the first one preferred as leader), or --cancel a move.
    Reassign {
        /// Partition as topic:partition.
        partition: String,
        /// New replicas, comma-separated broker ids (e.g. 2,3,1).
        #[arg(long, required_unless_present = "cancel", value_delimiter = ',')]
        replicas: Vec<i32>,
        /// Cancel the partition's ongoing move instead.
        #[arg(long)]
        cancel: bool,
    },
    /// List the reassignments in progress.
    Reassignments,
}

fn tp(s: &str) -> kafkit::Result<TopicPartition> {
    s.rsplit_once(':')
        .and_then(|(t, p)| Some(TopicPartition::new(t, p.parse().ok()?)))
        .filter(|tp| !tp.topic.is_empty())
        .ok_or_else(|| {
            kafkit::Error::new(
                kafkit::ErrorKind::Config,
                "cluster",
                format!("'{s}' is not topic:partition (e.g. orders:0)"),
            )
        })
}

pub async fn run(kafka: &Kafka, cmd: ClusterCommand, as_json: bool) -> kafkit::Result<()> {
    let admin = kafka.admin();
    match cmd {
        ClusterCommand::Describe => {
            let c = admin.describe_cluster().await?;
            if as_json {
                let brokers: Vec<_> = c
                    .brokers
                    .iter()
                    .map(|b| json!({"node_id": b.node_id, "host": b.host, "port": b.port, "rack": b.rack, "fenced": c.fenced.contains(&b.node_id)}))
                    .collect();
                outln!(
                    "{}",
                    terminal::json(
                        &json!({"cluster_id": c.cluster_id, "controller_id": c.controller_id, "brokers": brokers})
                    )
                );
            } else {
                outln!(
                    "cluster {} (controller {})",
                    esc(c.cluster_id.as_deref().unwrap_or("?")),
                    c.controller_id
                );
                for b in &c.brokers {
                    outln!(
                        "  broker {} at {}{}{}",
                        b.node_id,
                        esc(b.addr()),
                        esc(b
                            .rack
                            .as_ref()
                            .map(|r| format!(" rack {r}"))
                            .unwrap_or_default()),
                        if c.fenced.contains(&b.node_id) {
                            " (fenced)"
                        } else {
                            ""
                        }
                    );
                }
            }
        }
        ClusterCommand::Features => {
            let f = admin.describe_features().await?;
            if as_json {
                let list = |v: &[kafkit::admin::Feature]| {
                    v.iter()
                        .map(|x| json!({"name": x.name, "min": x.min, "max": x.max}))
                        .collect::<Vec<_>>()
                };
                outln!(
                    "{}",
                    terminal::json(
                        &json!({"finalized_epoch": f.finalized_epoch, "finalized": list(&f.finalized), "supported": list(&f.supported)})
                    )
                );
            } else {
                for x in &f.finalized {
                    let sup = f.supported.iter().find(|s| s.name == x.name);
                    outln!(
                        "{}\tlevel {}{}",
                        esc(&x.name),
                        x.max,
                        sup.map(|s| format!("\t(supported {}-{})", s.min, s.max))
                            .unwrap_or_default()
                    );
                }
            }
        }
        ClusterCommand::LogDirs { brokers } => {
            let dirs = admin.describe_log_dirs(&brokers).await?;
            if as_json {
                let out: Vec<_> = dirs
                    .iter()
                    .map(|d| json!({
                        "broker": d.broker, "path": d.path, "error": d.error.as_ref().map(|e| e.to_string()),
                        "total_bytes": d.total_bytes, "usable_bytes": d.usable_bytes,
                        "partitions": d.partitions.iter().map(|p| json!({"topic": p.partition.topic, "partition": p.partition.partition, "size": p.size, "offset_lag": p.offset_lag, "future": p.is_future})).collect::<Vec<_>>(),
                    }))
                    .collect();
                outln!("{}", terminal::json(&json!(out)));
            } else {
                for d in dirs {
                    outln!(
                        "broker {} {}{}: {} replicas, {} bytes",
                        d.broker,
                        esc(&d.path),
                        esc(d.error.map(|e| format!(" ({e})")).unwrap_or_default()),
                        d.partitions.len(),
                        d.partitions.iter().map(|p| p.size).sum::<i64>()
                    );
                }
            }
        }
        ClusterCommand::ElectLeaders {
            election,
            partitions,
        } => {
            let kind: ElectionType = election.parse()?;
            let parts = partitions
                .iter()
                .map(|s| tp(s))
                .collect::<kafkit::Result<Vec<_>>>()?;
            let elected = admin.elect_leaders(kind, &parts).await?;
            if as_json {
                outln!(
                    "{}",
                    terminal::json(
                        &json!({"elected": elected.iter().map(|t| t.to_string()).collect::<Vec<_>>()})
                    )
                );
            } else if elected.is_empty() {
                outln!("no election needed");
            } else {
                for t in elected {
                    outln!("elected a new leader for {}", esc(t));
                }
            }
        }
        ClusterCommand::Reassign {
            partition,
            replicas,
            cancel,
        } => {
            let p = tp(&partition)?;
            let target = (!cancel).then_some(replicas.clone());
            admin
                .alter_partition_reassignments(&[(p.clone(), target)])
                .await?;
            if as_json {
                outln!(
                    "{}",
                    terminal::json(
                        &json!({"partition": p.to_string(), "replicas": replicas, "cancelled": cancel})
                    )
                );
            } else if cancel {
                outln!("cancelled the move of {}", esc(&p));
            } else {
                outln!("moving {} to {replicas:?}", esc(&p));
            }
        }
        ClusterCommand::Reassignments => {
            let list = admin.list_partition_reassignments(&[]).await?;
            if as_json {
                let out: Vec<_> = list
                    .iter()
                    .map(|r| json!({"partition": r.partition.to_string(), "replicas": r.replicas, "adding": r.adding, "removing": r.removing}))
                    .collect();
                outln!("{}", terminal::json(&json!(out)));
            } else {
                for r in list {
                    outln!(
                        "{}\treplicas {:?} adding {:?} removing {:?}",
                        esc(&r.partition),
                        r.replicas,
                        r.adding,
                        r.removing
                    );
                }
            }
        }
    }
    Ok(())
}
