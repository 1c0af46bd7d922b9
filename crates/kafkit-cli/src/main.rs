//! `kafkit`: the command-line face of the kafkit Kafka client.

#[macro_use]
mod out;
mod acl;
mod args;
mod cluster;
mod config;
mod consume;
mod demo;
mod group;
mod produce;
mod records;
mod share;
mod signals;
mod terminal;
mod topic;
mod user;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use kafkit::{Kafka, KafkaConfig};

#[derive(Parser)]
#[command(
    name = "kafkit",
    version,
    about = "A pure-Rust Apache Kafka client (KIP-848 consumer groups, producer, admin)",
    after_help = terminal::HELP
)]
struct Cli {
    /// Brokers to bootstrap from, comma-separated host:port.
    #[arg(
        long,
        short = 'b',
        global = true,
        help_heading = "Connection",
        env = "KAFKIT_BOOTSTRAP",
        default_value = "127.0.0.1:9092"
    )]
    bootstrap: String,
    /// Client id sent to the brokers.
    #[arg(
        long,
        global = true,
        default_value = "kafkit-cli",
        help_heading = "Connection"
    )]
    client_id: String,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true, help_heading = "Output")]
    json: bool,
    /// Connection timeout in milliseconds.
    #[arg(
        long,
        global = true,
        default_value_t = 10_000,
        help_heading = "Connection"
    )]
    connect_timeout_ms: u64,
    /// Largest response accepted from a broker, in bytes, at least 1024 (default: the
    /// library's, 256 MiB). Raise it when an error says a response exceeds max_response_size
    /// (e.g. the metadata of very many partitions).
    #[arg(
        long,
        global = true,
        value_name = "BYTES",
        value_parser = args::max_response_size,
        help_heading = "Connection"
    )]
    max_response_size: Option<usize>,
    /// Serve the client's metrics for Prometheus on HOST:PORT (GET /metrics).
    #[arg(
        long,
        global = true,
        value_name = "HOST:PORT",
        env = "KAFKIT_METRICS_ADDR",
        help_heading = "Output"
    )]
    metrics_addr: Option<std::net::SocketAddr>,
    #[command(flatten)]
    security: SecurityArgs,
    #[command(subcommand)]
    command: Command,
}

/// TLS and SASL; each flag can also come from its environment variable.
#[derive(clap::Args)]
#[command(next_help_heading = "Security")]
struct SecurityArgs {
    /// PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (default: inferred from the other flags).
    #[arg(long, global = true, env = "KAFKIT_SECURITY_PROTOCOL")]
    security_protocol: Option<String>,
    /// SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
    #[arg(long, global = true, env = "KAFKIT_SASL_MECHANISM")]
    sasl_mechanism: Option<String>,
    /// SASL user name.
    #[arg(long, global = true, env = "KAFKIT_SASL_USERNAME")]
    sasl_username: Option<String>,
    /// SASL password (prefer the environment variable: flags show up in `ps`).
    #[arg(
        long,
        global = true,
        env = "KAFKIT_SASL_PASSWORD",
        hide_env_values = true
    )]
    sasl_password: Option<String>,
    /// PEM file of the CA certificates to trust (default: the system's roots).
    #[arg(long, global = true, env = "KAFKIT_TLS_CA_FILE")]
    tls_ca_file: Option<std::path::PathBuf>,
    /// PEM file of the client certificate (mTLS).
    #[arg(long, global = true, env = "KAFKIT_TLS_CERT_FILE")]
    tls_cert_file: Option<std::path::PathBuf>,
    /// PEM file of the client's private key (mTLS).
    #[arg(long, global = true, env = "KAFKIT_TLS_KEY_FILE")]
    tls_key_file: Option<std::path::PathBuf>,
}

impl SecurityArgs {
    fn apply(self, config: KafkaConfig) -> kafkit::Result<KafkaConfig> {
        kafkit::security::Security {
            protocol: self.security_protocol,
            mechanism: self.sasl_mechanism,
            username: self.sasl_username,
            password: self.sasl_password.map(Into::into),
            ca_file: self.tls_ca_file,
            cert_file: self.tls_cert_file,
            key_file: self.tls_key_file,
        }
        .apply(config)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Show brokers, controller, and topics with their partitions and leaders.
    Metadata {
        /// Only these topics.
        topics: Vec<String>,
    },
    /// Create, delete or list topics (`kafkit metadata TOPIC` describes one).
    #[command(subcommand)]
    Topic(topic::TopicCommand),
    /// Produce records from stdin (one per line, or split at -D; keys at -K; --input json), or
    /// generated load with --count.
    Produce(produce::ProduceArgs),
    /// Print a topic's records: without --group, read its partitions from --offset (and stop
    /// at their end with -e); with --group, as a member of the consumer group.
    Consume(consume::ConsumeArgs),
    /// List, describe and delete consumer groups; show their offsets and lag, plan moves and
    /// apply them with --execute.
    #[command(subcommand)]
    Group(group::GroupCommand),
    /// Describe or alter the configs of topics, brokers, groups and client metrics.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Create, list and delete ACLs.
    #[command(subcommand)]
    Acl(acl::AclCommand),
    /// List offsets of a topic's partitions: earliest, latest, max-timestamp or --time T.
    Offsets(records::OffsetsArgs),
    /// Delete records before an offset.
    #[command(subcommand)]
    Records(records::RecordsCommand),
    /// List, create or change, and delete SCRAM users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// The cluster: describe, features, log dirs, leader elections, reassignments.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Share groups (KIP-932): consume as a member, describe, list, delete, start offsets.
    #[command(subcommand)]
    Share(share::ShareCommand),
    /// Create a topic, produce a few records and consume them with a KIP-848 group.
    Demo,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KAFKIT_LOG")
                // The library's warnings reach the user as events (`Warnings`); its log
                // would repeat them. KAFKIT_LOG=warn shows the log.
                .unwrap_or_else(|_| "error".into()),
        )
        // Log fields carry broker text: written escaped, and so without colors of its own.
        .with_ansi(false)
        .with_writer(|| terminal::LogWriter)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Once, on one line (the message may carry broker text, escaped).
            eprintln!("{}", terminal::error_line(&e, terminal::stderr_colour()));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> kafkit::Result<()> {
    if let Some(addr) = cli.metrics_addr {
        serve_metrics(addr)?;
    }
    let config = KafkaConfig::new(cli.bootstrap.split(',').map(|s| s.trim().to_string()))
        .client_id(cli.client_id.clone())
        .connect_timeout(Duration::from_millis(cli.connect_timeout_ms));
    let config = match cli.max_response_size {
        Some(bytes) => config.max_response_size(bytes),
        None => config,
    };
    let config = cli.security.apply(config)?;
    let kafka = Kafka::connect(config).await?;
    let warnings = Warnings::print(&kafka, cli.json);
    let result = match cli.command {
        Command::Metadata { topics } => topic::metadata(&kafka, &topics, cli.json).await,
        Command::Topic(cmd) => topic::run(&kafka, cmd, cli.json).await,
        Command::Produce(args) => produce::run(&kafka, args, cli.json).await,
        Command::Consume(args) => consume::run(&kafka, args, cli.json).await,
        Command::Group(cmd) => group::run(&kafka, cmd, cli.json).await,
        Command::Config(cmd) => config::run(&kafka, cmd, cli.json).await,
        Command::Acl(cmd) => acl::run(&kafka, cmd, cli.json).await,
        Command::Offsets(args) => records::offsets(&kafka, args, cli.json).await,
        Command::Records(cmd) => records::run(&kafka, cmd, cli.json).await,
        Command::User(cmd) => user::run(&kafka, cmd, cli.json).await,
        Command::Cluster(cmd) => cluster::run(&kafka, cmd, cli.json).await,
        Command::Share(cmd) => share::run(&kafka, cmd, cli.json).await,
        Command::Demo => demo::run(&kafka).await,
    };
    warnings.finish().await;
    kafka.close(Duration::from_secs(5)).await;
    result
}

/// Prints the library's warnings (what a client waits for and until when) as they come, and
/// those still queued when the command ends.
struct Warnings {
    events: std::sync::Arc<tokio::sync::Mutex<tokio::sync::broadcast::Receiver<kafkit::Event>>>,
    task: tokio::task::JoinHandle<()>,
    json: bool,
}

impl Warnings {
    fn print(kafka: &Kafka, json: bool) -> Self {
        let events = std::sync::Arc::new(tokio::sync::Mutex::new(kafka.events()));
        let rx = events.clone();
        let task = tokio::spawn(async move {
            loop {
                // Cancel-safe: `finish` may abort it while it waits.
                let next = rx.lock().await.recv().await;
                match next {
                    Ok(e) => Self::show(&e, json),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => return,
                }
            }
        });
        Warnings { events, task, json }
    }

    fn show(e: &kafkit::Event, json: bool) {
        if let kafkit::Event::Warning { message } = e {
            consume::print_warning(message, json);
        }
    }

    async fn finish(self) {
        self.task.abort();
        let _ = self.task.await;
        let mut rx = self.events.lock().await;
        while let Ok(e) = rx.try_recv() {
            Self::show(&e, self.json);
        }
    }
}

/// Installs a Prometheus recorder with its own HTTP listener (scraped at any path).
fn serve_metrics(addr: std::net::SocketAddr) -> kafkit::Result<()> {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .install()
        .map_err(|e| {
            kafkit::Error::new(
                kafkit::ErrorKind::Config,
                "metrics",
                format!("--metrics-addr {addr}: cannot serve metrics there: {e}"),
            )
        })?;
    kafkit::metrics::describe();
    eprintln!("kafkit: metrics on http://{addr}/metrics");
    Ok(())
}
