//! SASL authentication of broker connections: PLAIN, SCRAM-SHA-256/512 and OAUTHBEARER, over
//! SaslHandshake v1 + SaslAuthenticate, and re-authentication before the session the broker
//! grants runs out (KIP-368).
//!
//! ```
//! use kafkit::security::SaslConfig;
//! let sasl = SaslConfig::scram_sha512("alice", "alice-secret");
//! assert!(!format!("{sasl:?}").contains("alice-secret"));
//! ```

pub mod oauth;
mod scram;

use std::sync::Arc;
use std::time::Duration;

use crate::protocol::messages::{SaslAuthenticateRequest, SaslHandshakeRequest};
use crate::protocol::wire::Request;

pub use oauth::{OAuthToken, TokenProvider};
#[cfg(feature = "fuzzing")]
pub(crate) use scram::fuzz_exchange as fuzz_scram;
use scram::ScramClient;
pub use scram::ScramHash;

use super::Connection;
use crate::error::{Error, ErrorKind, Result};

/// A secret (password, token, key): Debug shows `<redacted>`, so it never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

#[derive(Clone)]
enum Mechanism {
    Plain {
        username: String,
        password: Secret,
    },
    Scram {
        hash: ScramHash,
        username: String,
        password: Secret,
    },
    OAuthBearer(oauth::TokenSource),
}

/// How connections authenticate (Java `sasl.mechanism` + `sasl.jaas.config`).
#[derive(Clone)]
pub struct SaslConfig {
    mechanism: Mechanism,
}

impl std::fmt::Debug for SaslConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("SaslConfig");
        d.field("mechanism", &self.mechanism());
        if let Some(u) = self.username() {
            d.field("username", &u).field("password", &"<redacted>");
        }
        d.finish()
    }
}

impl SaslConfig {
    /// PLAIN: user name and password sent as they are (use it over TLS only).
    pub fn plain(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        SaslConfig {
            mechanism: Mechanism::Plain {
                username: username.into(),
                password: password.into(),
            },
        }
    }

    /// SCRAM-SHA-256: the password never crosses the wire.
    pub fn scram_sha256(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self::scram(ScramHash::Sha256, username, password)
    }

    /// SCRAM-SHA-512.
    pub fn scram_sha512(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self::scram(ScramHash::Sha512, username, password)
    }

    fn scram(hash: ScramHash, username: impl Into<String>, password: impl Into<Secret>) -> Self {
        SaslConfig {
            mechanism: Mechanism::Scram {
                hash,
                username: username.into(),
                password: password.into(),
            },
        }
    }

    /// OAUTHBEARER with tokens from `provider`, asked again when a token nears its expiry.
    pub fn oauthbearer(provider: impl TokenProvider) -> Self {
        SaslConfig {
            mechanism: Mechanism::OAuthBearer(oauth::TokenSource::new(Arc::new(provider))),
        }
    }

    /// Builds a configuration from a mechanism name (`PLAIN`, `SCRAM-SHA-256`,
    /// `SCRAM-SHA-512`), as the CLI and environment give it.
    pub fn from_name(
        mechanism: &str,
        username: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Result<Self> {
        match mechanism.to_ascii_uppercase().as_str() {
            "PLAIN" => Ok(Self::plain(username, password)),
            "SCRAM-SHA-256" => Ok(Self::scram_sha256(username, password)),
            "SCRAM-SHA-512" => Ok(Self::scram_sha512(username, password)),
            "OAUTHBEARER" => Err(Error::config(
                "OAUTHBEARER needs a token provider: configure it in code with SaslConfig::oauthbearer",
            )),
            other => Err(Error::config(format!(
                "unknown SASL mechanism '{other}'; use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER"
            ))),
        }
    }

    /// The mechanism's SASL name.
    pub fn mechanism(&self) -> &'static str {
        match &self.mechanism {
            Mechanism::Plain { .. } => "PLAIN",
            Mechanism::Scram { hash, .. } => hash.mechanism(),
            Mechanism::OAuthBearer(_) => "OAUTHBEARER",
        }
    }

    fn username(&self) -> Option<&str> {
        match &self.mechanism {
            Mechanism::Plain { username, .. } | Mechanism::Scram { username, .. } => Some(username),
            Mechanism::OAuthBearer(_) => None,
        }
    }

    fn who(&self) -> String {
        match self.username() {
            Some(u) => format!("{} as '{u}'", self.mechanism()),
            None => self.mechanism().to_string(),
        }
    }
}

fn auth_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Auth, "sasl_authenticate", message)
}

/// Authenticates `conn` (new, or re-authenticating with nothing else in flight). Returns the
/// session lifetime the broker granted, if it set one.
pub(crate) async fn authenticate(conn: &Connection, sasl: &SaslConfig) -> Result<Option<Duration>> {
    let addr = conn.addr().to_string();
    let mechanism = sasl.mechanism();
    // v1: the token exchange travels in SaslAuthenticate requests (KIP-152).
    let handshake_version = conn
        .api_versions()
        .pick(SaslHandshakeRequest::KEY, 1, 1)
        .map_err(|_| {
            Error::new(
                ErrorKind::Unsupported,
                "sasl_handshake",
                format!("broker {addr} does not support SaslHandshake v1 (Kafka 1.0+ does)"),
            )
        })?;
    let mut req = SaslHandshakeRequest::default();
    req.mechanism = String::from(mechanism);
    let resp = conn.send_unmetered(&req, handshake_version).await?;
    match resp.error_code {
        0 => {}
        33 => {
            let offered: Vec<&str> = resp.mechanisms.iter().map(|m| m.as_str()).collect();
            return Err(auth_error(format!(
                "broker {addr} does not enable SASL mechanism {mechanism} on this listener (it offers {}); use one of those, or add {mechanism} to the broker's sasl.enabled.mechanisms",
                if offered.is_empty() { "none".to_string() } else { offered.join(", ") }
            )));
        }
        code => {
            return Err(Error::from_code(
                code,
                "sasl_handshake",
                format!("broker {addr} refused the SASL handshake for {mechanism}"),
            )
            .unwrap_or_else(|| auth_error("SASL handshake failed")));
        }
    }
    let version = conn
        .api_versions()
        .pick(SaslAuthenticateRequest::KEY, 0, 2)?;
    let step = |bytes: Vec<u8>| {
        let conn = conn.clone();
        let who = sasl.who();
        let addr = addr.clone();
        async move {
            let mut req = SaslAuthenticateRequest::default();
            req.auth_bytes = bytes.into();
            let resp = conn.send_unmetered(&req, version).await?;
            if resp.error_code != 0 {
                let broker_says = resp.error_message.as_deref().unwrap_or("").to_string();
                return Err(auth_error(format!(
                    "{who} was refused by broker {addr}: {}; check the credentials (and that the user exists for this mechanism); not retried",
                    if broker_says.is_empty() { "authentication failed" } else { &broker_says }
                )));
            }
            Ok(resp)
        }
    };
    let last = match &sasl.mechanism {
        Mechanism::Plain { username, password } => {
            let msg = format!("\0{username}\0{}", password.expose()).into_bytes();
            step(msg).await?
        }
        Mechanism::Scram {
            hash,
            username,
            password,
        } => {
            // The exchange's own verdicts do not know the broker: name it.
            let from_broker = |e: Error| {
                let message = format!("{} with broker {addr}: {}", hash.mechanism(), e.message());
                e.restate(ErrorKind::Auth, "sasl_authenticate", message)
            };
            let mut client = ScramClient::new(*hash, username, password.expose());
            let first = step(client.client_first()).await?;
            let fin = client
                .client_final(&first.auth_bytes)
                .map_err(from_broker)?;
            let last = step(fin).await?;
            client
                .verify_server(&last.auth_bytes)
                .map_err(from_broker)?;
            last
        }
        Mechanism::OAuthBearer(source) => {
            let token = source
                .token()
                .await
                .map_err(|e| auth_error(format!("the OAUTHBEARER token provider failed: {e}")))?;
            let resp = step(oauth::initial_response(&token)).await?;
            if !resp.auth_bytes.is_empty() {
                // An error challenge (RFC 7628 3.2.2): acknowledge it; the broker then fails
                // the exchange. Report what it said, and what to fix, either way.
                let detail = oauth::describe_error_challenge(&resp.auth_bytes);
                let _ = step(b"\x01".to_vec()).await;
                return Err(auth_error(format!(
                    "broker {addr} refused the OAUTHBEARER token: {detail}"
                )));
            }
            resp
        }
    };
    tracing::debug!(broker = %addr, mechanism, session_ms = last.session_lifetime_ms, "authenticated");
    Ok((last.session_lifetime_ms > 0)
        .then(|| Duration::from_millis(last.session_lifetime_ms as u64)))
}

/// When to re-authenticate a session of `lifetime`: at 85-95% of it (jittered so many
/// connections do not re-authenticate at once), as the Java client does.
pub(crate) fn reauth_after(lifetime: Duration) -> Duration {
    lifetime.mul_f64(0.85 + 0.10 * rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_stay_out_of_debug() {
        for c in [
            SaslConfig::plain("alice", "s3cret-pw"),
            SaslConfig::scram_sha256("alice", "s3cret-pw"),
            SaslConfig::from_name("scram-sha-512", "alice", "s3cret-pw").unwrap(),
        ] {
            let d = format!("{c:?}");
            assert!(!d.contains("s3cret"), "{d}");
            assert!(d.contains("alice"), "{d}");
        }
        assert!(SaslConfig::from_name("GSSAPI", "a", "b")
            .unwrap_err()
            .message()
            .contains("unknown SASL mechanism"));
    }

    #[test]
    fn reauth_happens_before_expiry() {
        for _ in 0..100 {
            let d = reauth_after(Duration::from_secs(10));
            assert!(d >= Duration::from_millis(8500) && d <= Duration::from_millis(9500));
        }
    }
}
