//! TLS for broker connections (rustls): the broker's certificate is verified against a CA
//! file or the system's roots and against the host name connected to; a client certificate
//! can be presented (mTLS).
//!
//! ```
//! use kafkit::security::TlsConfig;
//! let tls = TlsConfig::new().ca_file("/etc/kafka/ca.pem");
//! assert!(format!("{tls:?}").contains("ca.pem"));
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::sasl::Secret;
use crate::error::{Error, ErrorKind, Result};

#[derive(Clone, Debug)]
enum Pem {
    File(PathBuf),
    Text(String),
}

#[derive(Clone, Debug)]
enum KeyPem {
    File(PathBuf),
    Text(Secret),
}

/// TLS settings (Java `ssl.truststore.*`, `ssl.keystore.*`; librdkafka `ssl.ca.location`,
/// `ssl.certificate.location`, `ssl.key.location`).
#[derive(Clone, Debug, Default)]
pub struct TlsConfig {
    ca: Option<Pem>,
    client: Option<(Pem, KeyPem)>,
}

impl TlsConfig {
    /// Trusts the system's root certificates.
    pub fn new() -> Self {
        TlsConfig::default()
    }

    /// Trusts the CA certificates in this PEM file instead of the system roots.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca = Some(Pem::File(path.into()));
        self
    }

    /// Trusts these PEM-encoded CA certificates instead of the system roots.
    pub fn ca_pem(mut self, pem: impl Into<String>) -> Self {
        self.ca = Some(Pem::Text(pem.into()));
        self
    }

    /// Presents this client certificate chain and private key (PEM files) for mTLS.
    pub fn client_cert_files(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client = Some((Pem::File(cert.into()), KeyPem::File(key.into())));
        self
    }

    /// Presents this client certificate chain and private key (PEM text) for mTLS.
    pub fn client_cert_pem(mut self, cert: impl Into<String>, key: impl Into<Secret>) -> Self {
        self.client = Some((Pem::Text(cert.into()), KeyPem::Text(key.into())));
        self
    }

    /// Whether a client certificate is configured.
    pub fn has_client_cert(&self) -> bool {
        self.client.is_some()
    }

    /// Reads the files and builds the rustls configuration; errors name the file and the fix.
    pub fn build(&self) -> Result<Arc<ClientConfig>> {
        let mut roots = RootCertStore::empty();
        match &self.ca {
            Some(pem) => {
                let certs = certs(pem, "CA")?;
                for c in certs {
                    roots.add(c).map_err(|e| {
                        Error::config(format!(
                            "{} holds an unusable CA certificate: {e}",
                            describe(pem)
                        ))
                    })?;
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                let (added, _) = roots.add_parsable_certificates(found.certs);
                if added == 0 {
                    return Err(Error::config(
                        "no system root certificates found (install ca-certificates) and no CA file set; set TlsConfig::ca_file (CLI --tls-ca-file, env KAFKIT_TLS_CA_FILE)",
                    ));
                }
            }
        }
        let provider = crypto_provider();
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::config(format!("TLS setup failed: {e}")))?
            .with_root_certificates(roots);
        let config = match &self.client {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let chain = certs(cert, "client certificate")?;
                let key = private_key(key)?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    Error::config(format!(
                        "the client certificate and key do not fit together: {e}; check that the key belongs to the certificate"
                    ))
                })?
            }
        };
        Ok(Arc::new(config))
    }
}

/// The application's process-wide crypto provider when it installed one (for example
/// aws-lc-rs, for post-quantum key exchange), else *ring*'s: pure Rust and assembly, no C
/// toolchain to build. rustls 0.23.48 deprecates `ring::default_provider` because *ring* has
/// no post-quantum key exchange; that is the trade-off kafkit makes by default, so the call is
/// allowed here (once, instead of a warning in every build).
fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    if let Some(installed) = rustls::crypto::CryptoProvider::get_default() {
        return installed.clone();
    }
    #[allow(deprecated)]
    let ring = rustls::crypto::ring::default_provider();
    Arc::new(ring)
}

fn describe(pem: &Pem) -> String {
    match pem {
        Pem::File(p) => format!("file {}", p.display()),
        Pem::Text(_) => "the PEM text given".to_string(),
    }
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Error::config(format!(
            "cannot read the {what} file {}: {e}; check the path and its permissions",
            path.display()
        ))
    })
}

fn certs(pem: &Pem, what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let bytes = match pem {
        Pem::File(p) => read(p, what)?,
        Pem::Text(t) => t.clone().into_bytes(),
    };
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::config(format!("{} is not valid PEM: {e}", describe(pem))))?;
    if certs.is_empty() {
        return Err(Error::config(format!(
            "{} holds no certificate (expected -----BEGIN CERTIFICATE-----)",
            describe(pem)
        )));
    }
    Ok(certs)
}

fn private_key(key: &KeyPem) -> Result<PrivateKeyDer<'static>> {
    let (bytes, what) = match key {
        KeyPem::File(p) => (read(p, "client key")?, format!("file {}", p.display())),
        KeyPem::Text(s) => (s.expose().as_bytes().to_vec(), "the key PEM given".into()),
    };
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|_| {
        Error::config(format!(
            "{what} holds no unencrypted private key (PKCS#8, PKCS#1 or SEC1 PEM); decrypt it first, e.g. openssl pkcs8 -topk8 -nocrypt"
        ))
    })
}

/// The host part of `host:port` (IPv6 literals in brackets).
pub(crate) fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Performs the TLS handshake on a connected socket.
pub(crate) async fn connect(
    config: Arc<ClientConfig>,
    addr: &str,
    tcp: TcpStream,
) -> Result<TlsStream<TcpStream>> {
    let host = host_of(addr);
    let name = ServerName::try_from(host.to_string()).map_err(|_| {
        Error::config(format!(
            "'{host}' is neither a DNS name nor an IP address, so the broker's certificate cannot be checked against it"
        ))
    })?;
    TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| handshake_error(addr, host, e))
}

/// A handshake failure, explained.
fn handshake_error(addr: &str, host: &str, e: std::io::Error) -> Error {
    let rustls_error = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    let message = match rustls_error {
        Some(rustls::Error::InvalidCertificate(c)) => match c {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => format!(
                "the certificate of broker {addr} is not trusted: it is not signed by a CA kafkit trusts; set the CA that signed it with TlsConfig::ca_file (CLI --tls-ca-file, env KAFKIT_TLS_CA_FILE)"
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => format!(
                "the certificate of broker {addr} is not valid for the host name '{host}' (wrong host name); connect with a name listed in its subjectAltName, or reissue the broker's certificate for '{host}'"
            ),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => format!(
                "the certificate of broker {addr} has expired; renew the broker's certificate"
            ),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => format!(
                "the certificate of broker {addr} is not valid yet; check the clocks of this machine and the broker"
            ),
            other => format!("the certificate of broker {addr} was rejected: {other:?}"),
        },
        Some(rustls::Error::AlertReceived(alert)) => format!(
            "broker {addr} ended the TLS handshake ({alert:?}); if it requires client certificates (ssl.client.auth=required), set TlsConfig::client_cert_files"
        ),
        Some(rustls::Error::InvalidMessage(_)) | Some(rustls::Error::InappropriateMessage { .. }) => format!(
            "broker {addr} did not answer with TLS; is this a PLAINTEXT or SASL_PLAINTEXT listener? Turn TLS off for it, or use its SSL port"
        ),
        Some(other) => format!("TLS handshake with broker {addr} failed: {other}"),
        None => format!(
            "TLS handshake with broker {addr} failed: {e}; check that this port is a TLS (SSL / SASL_SSL) listener"
        ),
    };
    let kind = match rustls_error {
        // Not TLS at all: a protocol mismatch, not a refused identity.
        Some(rustls::Error::InvalidMessage(_))
        | Some(rustls::Error::InappropriateMessage { .. }) => ErrorKind::Protocol,
        Some(_) => ErrorKind::Auth,
        None => ErrorKind::Connection,
    };
    Error::new(kind, "tls_handshake", message).with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_from_addresses() {
        assert_eq!(host_of("broker-1.example.com:9093"), "broker-1.example.com");
        assert_eq!(host_of("127.0.0.1:9095"), "127.0.0.1");
        assert_eq!(host_of("[::1]:9095"), "::1");
    }

    #[test]
    fn missing_and_empty_files_are_clear_errors() {
        let e = TlsConfig::new()
            .ca_file("/nonexistent/ca.pem")
            .build()
            .unwrap_err();
        assert!(e.message().contains("/nonexistent/ca.pem"), "{e}");
        let e = TlsConfig::new().ca_pem("not a pem").build().unwrap_err();
        assert!(e.message().contains("no certificate"), "{e}");
    }

    #[test]
    fn debug_hides_key_text() {
        let t = TlsConfig::new().client_cert_pem("CERT", "-----BEGIN PRIVATE KEY-----SECRETKEY");
        assert!(!format!("{t:?}").contains("SECRETKEY"));
    }
}
