//! Security settings as strings, the way the CLI flags and environment variables give them,
//! turned into [`TlsConfig`] and [`SaslConfig`].

use std::path::PathBuf;

use super::sasl::{SaslConfig, Secret};
use super::tls::TlsConfig;
use crate::error::{Error, Result};

/// Security settings by name (Java `security.protocol`, `sasl.mechanism`, ...).
#[derive(Debug, Clone, Default)]
pub struct Security {
    /// `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`; when unset, inferred from what else
    /// is set (a mechanism means SASL, a CA or certificate means TLS).
    pub protocol: Option<String>,
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub mechanism: Option<String>,
    /// SASL user name.
    pub username: Option<String>,
    /// SASL password.
    pub password: Option<Secret>,
    /// PEM file of the CA certificates to trust (default: the system roots).
    pub ca_file: Option<PathBuf>,
    /// PEM file of the client certificate (mTLS).
    pub cert_file: Option<PathBuf>,
    /// PEM file of the client key (mTLS).
    pub key_file: Option<PathBuf>,
}

impl Security {
    /// Reads `KAFKIT_SECURITY_PROTOCOL`, `KAFKIT_SASL_MECHANISM`, `KAFKIT_SASL_USERNAME`,
    /// `KAFKIT_SASL_PASSWORD`, `KAFKIT_TLS_CA_FILE`, `KAFKIT_TLS_CERT_FILE` and
    /// `KAFKIT_TLS_KEY_FILE`.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Security {
            protocol: var("KAFKIT_SECURITY_PROTOCOL"),
            mechanism: var("KAFKIT_SASL_MECHANISM"),
            username: var("KAFKIT_SASL_USERNAME"),
            password: var("KAFKIT_SASL_PASSWORD").map(Secret::new),
            ca_file: var("KAFKIT_TLS_CA_FILE").map(PathBuf::from),
            cert_file: var("KAFKIT_TLS_CERT_FILE").map(PathBuf::from),
            key_file: var("KAFKIT_TLS_KEY_FILE").map(PathBuf::from),
        }
    }

    /// The TLS and SASL settings these name; errors name the missing piece. (`apply`, in
    /// `kafka.rs`, sets them on a `KafkaConfig`.)
    pub fn resolve(self) -> Result<(Option<TlsConfig>, Option<SaslConfig>)> {
        let mut out: (Option<TlsConfig>, Option<SaslConfig>) = (None, None);
        let tls_given = self.ca_file.is_some() || self.cert_file.is_some();
        let protocol = match &self.protocol {
            Some(p) => p.to_ascii_uppercase(),
            None => match (self.mechanism.is_some(), tls_given) {
                (true, true) => "SASL_SSL".into(),
                (true, false) => "SASL_PLAINTEXT".into(),
                (false, true) => "SSL".into(),
                (false, false) => "PLAINTEXT".into(),
            },
        };
        let (tls, sasl) = match protocol.as_str() {
            "PLAINTEXT" => (false, false),
            "SSL" => (true, false),
            "SASL_PLAINTEXT" => (false, true),
            "SASL_SSL" => (true, true),
            other => {
                return Err(Error::config(format!(
                    "unknown security protocol '{other}'; use PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
                )))
            }
        };
        if tls {
            let mut t = TlsConfig::new();
            if let Some(ca) = self.ca_file {
                t = t.ca_file(ca);
            }
            match (self.cert_file, self.key_file) {
                (Some(c), Some(k)) => t = t.client_cert_files(c, k),
                (None, None) => {}
                _ => {
                    return Err(Error::config(
                        "a client certificate needs both its certificate and its key file (--tls-cert-file and --tls-key-file)",
                    ))
                }
            }
            out.0 = Some(t);
        } else if tls_given {
            return Err(Error::config(format!(
                "TLS files are set but the security protocol is {protocol}; use SSL or SASL_SSL"
            )));
        }
        if sasl {
            let mechanism = self.mechanism.ok_or_else(|| {
                Error::config(format!(
                    "{protocol} needs a SASL mechanism (--sasl-mechanism, KAFKIT_SASL_MECHANISM): PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
                ))
            })?;
            let username = self.username.ok_or_else(|| {
                Error::config("SASL needs a user name (--sasl-username, KAFKIT_SASL_USERNAME)")
            })?;
            let password = self.password.ok_or_else(|| {
                Error::config("SASL needs a password (--sasl-password, KAFKIT_SASL_PASSWORD)")
            })?;
            out.1 = Some(SaslConfig::from_name(&mechanism, username, password)?);
        } else if self.mechanism.is_some() {
            return Err(Error::config(format!(
                "a SASL mechanism is set but the security protocol is {protocol}; use SASL_PLAINTEXT or SASL_SSL"
            )));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Applied {
        tls: Option<TlsConfig>,
        sasl: Option<SaslConfig>,
    }

    fn apply(s: Security) -> Result<Applied> {
        s.resolve().map(|(tls, sasl)| Applied { tls, sasl })
    }

    #[test]
    fn protocol_is_inferred_and_checked() {
        let c = apply(Security {
            mechanism: Some("SCRAM-SHA-512".into()),
            username: Some("u".into()),
            password: Some("p".into()),
            ca_file: Some("/ca.pem".into()),
            ..Default::default()
        })
        .unwrap();
        assert!(c.tls.is_some() && c.sasl.is_some());
        let e = apply(Security {
            protocol: Some("SASL_SSL".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.message().contains("SASL mechanism"), "{e}");
        let e = apply(Security {
            protocol: Some("TLS".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.message().contains("unknown security protocol"), "{e}");
        let e = apply(Security {
            mechanism: Some("PLAIN".into()),
            username: Some("u".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.message().contains("password"), "{e}");
        assert!(apply(Security::default()).unwrap().tls.is_none());
    }
}
