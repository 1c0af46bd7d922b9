//! The signals that end a long-running command cleanly: Ctrl-C (SIGINT) and SIGTERM, which
//! `timeout`, docker, systemd and Kubernetes send. Either ends `consume` the way its end of
//! input does: the member leaves its group and commits what was printed, rather than staying
//! in the group until its session times out (records printed since the last commit would be
//! read again, and offset resets refused meanwhile).

/// Listens from creation on: a signal that comes before [`Shutdown::requested`] is awaited is
/// not lost (nor does it kill the process, which SIGTERM's default would).
pub struct Shutdown {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Shutdown {
    pub fn listen() -> Shutdown {
        // Creating the listener is what replaces the default disposition; the Ctrl-C one is
        // installed on first poll, which `requested` does at once in every loop.
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Shutdown {
                term: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Shutdown {}
        }
    }

    /// Resolves on SIGINT or SIGTERM.
    pub async fn requested(&mut self) {
        #[cfg(unix)]
        if let Some(term) = self.term.as_mut() {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
