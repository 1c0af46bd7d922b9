//! `kafkit config describe|alter`.

use clap::Subcommand;
use kafkit::admin::{AlterConfigOp, ConfigResource, ConfigResourceType};
use kafkit::Kafka;
use serde_json::json;

use crate::terminal::{self, esc};

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Show the configs of a resource (all, or only --key ones).
    Describe {
        /// topic, broker, broker-logger, group or client-metrics.
        kind: String,
        /// Name: topic, broker node id, group id or subscription name.
        name: String,
        /// Only these configs (repeatable).
        #[arg(long = "key")]
        keys: Vec<String>,
        /// Also show configs left at their defaults.
        #[arg(long)]
        all: bool,
    },
    /// Change configs: name=value sets, -name deletes, name+=value appends, name-=value subtracts.
    Alter {
        /// topic, broker, broker-logger, group or client-metrics.
        kind: String,
        /// Name: topic, broker node id, group id or subscription name.
        name: String,
        /// Changes (at least one).
        #[arg(required = true, allow_hyphen_values = true)]
        changes: Vec<String>,
        /// Let the broker check the change without making it.
        #[arg(long)]
        validate_only: bool,
    },
}

fn resource(kind: &str, name: String) -> kafkit::Result<ConfigResource> {
    Ok(ConfigResource::new(
        kind.parse::<ConfigResourceType>()?,
        name,
    ))
}

pub async fn run(kafka: &Kafka, cmd: ConfigCommand, as_json: bool) -> kafkit::Result<()> {
    let admin = kafka.admin();
    match cmd {
        ConfigCommand::Describe {
            kind,
            name,
            keys,
            all,
        } => {
            let r = resource(&kind, name)?;
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            let d = admin.describe_configs(&[r], &refs).await?.remove(0);
            // Defaults are noise unless asked for (or named).
            let shown: Vec<_> = d
                .entries
                .iter()
                .filter(|e| {
                    all || !keys.is_empty() || e.source != kafkit::admin::ConfigSource::Default
                })
                .collect();
            if as_json {
                let out: Vec<_> = shown
                    .iter()
                    .map(|e| json!({"name": e.name, "value": e.value, "source": e.source.to_string(), "read_only": e.read_only, "sensitive": e.sensitive}))
                    .collect();
                outln!(
                    "{}",
                    terminal::json(&json!({"resource": d.resource.to_string(), "configs": out}))
                );
            } else {
                for e in shown {
                    let value = if e.sensitive {
                        "<sensitive>"
                    } else {
                        e.value.as_deref().unwrap_or("<null>")
                    };
                    outln!("{}={}\t{}", esc(&e.name), esc(value), esc(&e.source));
                }
            }
        }
        ConfigCommand::Alter {
            kind,
            name,
            changes,
            validate_only,
        } => {
            let r = resource(&kind, name)?;
            let ops = changes
                .iter()
                .map(|c| AlterConfigOp::parse(c))
                .collect::<kafkit::Result<Vec<_>>>()?;
            admin
                .incremental_alter_configs(&[(r.clone(), ops)], validate_only)
                .await?;
            let verb = if validate_only {
                "validated"
            } else {
                "altered"
            };
            if as_json {
                outln!(
                    "{}",
                    terminal::json(&json!({verb: r.to_string(), "changes": changes}))
                );
            } else {
                outln!("{verb} {}: {}", esc(&r), esc(changes.join(" ")));
            }
        }
    }
    Ok(())
}
