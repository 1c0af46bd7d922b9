//! What every example shares: where the broker is, the names it uses (each overridable by an
//! environment variable, so the test suite can run the examples on fresh topics), and a
//! Ctrl-C or SIGTERM that stops the consumer cleanly (commits, leaves the group).
#![allow(dead_code)]

use kafkit::consumer::Consumer;

/// `KAFKIT_BOOTSTRAP`, or the document's `localhost:9092`.
pub fn bootstrap() -> String {
    std::env::var("KAFKIT_BOOTSTRAP").unwrap_or_else(|_| "localhost:9092".to_string())
}

/// The group id: `KAFKIT_EXAMPLE_GROUP`, or the document's.
pub fn group(default: &str) -> String {
    std::env::var("KAFKIT_EXAMPLE_GROUP").unwrap_or_else(|_| default.to_string())
}

/// The topics: `KAFKIT_EXAMPLE_TOPICS` (comma-separated), or the document's.
pub fn topics(default: &[&str]) -> Vec<String> {
    match std::env::var("KAFKIT_EXAMPLE_TOPICS") {
        Ok(list) => list.split(',').map(str::to_string).collect(),
        Err(_) => default.iter().map(|t| t.to_string()).collect(),
    }
}

/// On Ctrl-C (SIGINT) or SIGTERM (what `timeout`, docker, systemd and Kubernetes send),
/// stops the consumer: it commits what was processed and leaves the group, and `run` returns.
pub fn stop_on_ctrl_c(consumer: &Consumer) {
    let consumer = consumer.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        if let Err(e) = consumer.disconnect().await {
            eprintln!("disconnect: {e}");
        }
    });
}

/// Waits for SIGINT or (on Unix) SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
