//! `kafkit metadata` and `kafkit topic ...`.

use clap::Subcommand;
use kafkit::{Kafka, NewTopic};
use serde_json::json;

use crate::terminal::{self, esc};

#[derive(Subcommand)]
pub enum TopicCommand {
    /// Create a topic.
    Create {
        /// Topic name.
        name: String,
        /// Number of partitions (-1 = broker default).
        #[arg(
            long,
            default_value_t = 1,
            allow_negative_numbers = true,
            value_parser = crate::args::partition_count
        )]
        partitions: i32,
        /// Replication factor (-1 = broker default).
        #[arg(
            long,
            short,
            default_value_t = -1,
            allow_negative_numbers = true,
            value_parser = crate::args::replication_factor
        )]
        replication_factor: i16,
        /// Topic config as key=value (repeatable).
        #[arg(long = "config", short = 'c')]
        configs: Vec<String>,
        /// Succeed without change when the topic exists already.
        #[arg(long)]
        if_not_exists: bool,
        /// `-p` is a partition in every kafkit command (as in kcat); here it says so.
        #[arg(short = 'p', hide = true, value_name = "N", allow_hyphen_values = true, value_parser = crate::args::not_a_partition_count)]
        old_p: Option<String>,
    },
    /// Delete topics.
    Delete {
        /// Topic names.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// List topic names.
    List,
}

pub async fn run(kafka: &Kafka, cmd: TopicCommand, as_json: bool) -> kafkit::Result<()> {
    let admin = kafka.admin();
    match cmd {
        TopicCommand::Create {
            name,
            partitions,
            replication_factor,
            configs,
            if_not_exists,
            old_p: _,
        } => {
            let mut topic = NewTopic::new(&name, partitions).replication_factor(replication_factor);
            for c in configs {
                let (k, v) = c.split_once('=').ok_or_else(|| {
                    kafkit::Error::new(
                        kafkit::ErrorKind::Config,
                        "topic create",
                        format!("--config '{c}' is not key=value (e.g. --config cleanup.policy=compact)"),
                    )
                })?;
                topic = topic.config(k, v);
            }
            match admin.create_topics(&[topic]).await {
                // TOPIC_ALREADY_EXISTS
                Err(e) if if_not_exists && e.code() == Some(36) => {
                    if as_json {
                        outln!("{}", terminal::json(&json!({"exists": name})));
                    } else {
                        outln!("topic {} exists already", esc(&name));
                    }
                    return Ok(());
                }
                r => r?,
            }
            if as_json {
                outln!(
                    "{}",
                    terminal::json(&json!({"created": name, "partitions": partitions}))
                );
            } else {
                outln!("created topic {} ({partitions} partitions)", esc(&name));
            }
        }
        TopicCommand::Delete { names } => {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            admin.delete_topics(&refs).await?;
            if as_json {
                outln!("{}", terminal::json(&json!({"deleted": names})));
            } else {
                for n in names {
                    outln!("deleted topic {}", esc(&n));
                }
            }
        }
        TopicCommand::List => {
            let names = admin.list_topics().await?;
            if as_json {
                outln!("{}", terminal::json(&json!(names)));
            } else {
                for n in names {
                    outln!("{}", esc(&n));
                }
            }
        }
    }
    Ok(())
}

pub async fn metadata(kafka: &Kafka, topics: &[String], as_json: bool) -> kafkit::Result<()> {
    let admin = kafka.admin();
    let cluster = admin.describe_cluster().await?;
    let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    let topics = admin.describe_topics(&refs).await?;
    if as_json {
        let out = json!({
            "cluster_id": cluster.cluster_id,
            "controller_id": cluster.controller_id,
            "brokers": cluster.brokers.iter().map(|b| json!({"node_id": b.node_id, "host": b.host, "port": b.port, "rack": b.rack})).collect::<Vec<_>>(),
            "topics": topics.iter().map(|t| json!({
                "name": t.name, "id": t.id.to_string(), "internal": t.is_internal,
                "partitions": t.partitions.iter().map(|p| json!({"partition": p.partition, "leader": p.leader, "leader_epoch": p.leader_epoch, "replicas": p.replicas, "isr": p.isr})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        outln!("{}", terminal::json_pretty(&out));
        return Ok(());
    }
    outln!(
        "cluster {} (controller {})",
        esc(cluster.cluster_id.as_deref().unwrap_or("?")),
        cluster.controller_id
    );
    for b in &cluster.brokers {
        outln!(
            "  broker {} at {}:{}{}",
            b.node_id,
            esc(&b.host),
            b.port,
            esc(b
                .rack
                .as_ref()
                .map(|r| format!(" rack {r}"))
                .unwrap_or_default())
        );
    }
    for t in topics {
        outln!(
            "topic {} id {}{} partitions {}",
            esc(&t.name),
            t.id,
            if t.is_internal { " (internal)" } else { "" },
            t.partitions.len()
        );
        for p in &t.partitions {
            outln!(
                "  partition {} leader {} epoch {} replicas {:?} isr {:?}",
                p.partition,
                p.leader,
                p.leader_epoch,
                p.replicas,
                p.isr
            );
        }
    }
    Ok(())
}
