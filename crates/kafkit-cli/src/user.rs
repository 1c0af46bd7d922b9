//! `kafkit user list|upsert|delete` (SCRAM credentials).

use clap::Subcommand;
use kafkit::admin::ScramMechanism;
use kafkit::Kafka;
use serde_json::json;

use crate::terminal::{self, esc};

#[derive(Subcommand)]
pub enum UserCommand {
    /// List users with SCRAM credentials (all, or these).
    List {
        /// User names.
        users: Vec<String>,
    },
    /// Create or change a user's SCRAM credential.
    Upsert {
        /// User name.
        user: String,
        /// SCRAM-SHA-256 or SCRAM-SHA-512.
        #[arg(long, default_value = "SCRAM-SHA-512")]
        mechanism: String,
        /// The password (prefer the environment variable: flags show up in `ps`).
        #[arg(long, env = "KAFKIT_USER_PASSWORD", hide_env_values = true)]
        password: String,
        /// PBKDF2 iterations (4096-16384).
        #[arg(long)]
        iterations: Option<i32>,
    },
    /// Delete a user's SCRAM credential.
    Delete {
        /// User name.
        user: String,
        /// SCRAM-SHA-256 or SCRAM-SHA-512.
        #[arg(long, default_value = "SCRAM-SHA-512")]
        mechanism: String,
    },
}

pub async fn run(kafka: &Kafka, cmd: UserCommand, as_json: bool) -> kafkit::Result<()> {
    let admin = kafka.admin();
    match cmd {
        UserCommand::List { users } => {
            let refs: Vec<&str> = users.iter().map(String::as_str).collect();
            let found = admin.describe_user_scram_credentials(&refs).await?;
            if as_json {
                let out: Vec<_> = found
                    .iter()
                    .map(|u| json!({"user": u.user, "credentials": u.credentials.iter().map(|c| json!({"mechanism": c.mechanism.to_string(), "iterations": c.iterations})).collect::<Vec<_>>()}))
                    .collect();
                outln!("{}", terminal::json(&json!(out)));
            } else {
                for u in found {
                    let creds: Vec<String> = u
                        .credentials
                        .iter()
                        .map(|c| format!("{} ({} iterations)", c.mechanism, c.iterations))
                        .collect();
                    outln!("{}\t{}", esc(&u.user), esc(creds.join(", ")));
                }
            }
        }
        UserCommand::Upsert {
            user,
            mechanism,
            password,
            iterations,
        } => {
            let m: ScramMechanism = mechanism.parse()?;
            admin
                .upsert_user_scram_credential(&user, m, &password, iterations)
                .await?;
            if as_json {
                outln!(
                    "{}",
                    terminal::json(&json!({"upserted": user, "mechanism": m.to_string()}))
                );
            } else {
                outln!("set {m} credential of {}", esc(&user));
            }
        }
        UserCommand::Delete { user, mechanism } => {
            let m: ScramMechanism = mechanism.parse()?;
            admin.delete_user_scram_credential(&user, m).await?;
            if as_json {
                outln!(
                    "{}",
                    terminal::json(&json!({"deleted": user, "mechanism": m.to_string()}))
                );
            } else {
                outln!("deleted {m} credential of {}", esc(&user));
            }
        }
    }
    Ok(())
}
