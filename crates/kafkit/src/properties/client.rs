//! Client-wide properties: those of [`KafkaConfig`], security included.

use std::path::PathBuf;
use std::sync::OnceLock;

use super::{boolean, list, ms, non_empty, Spec, Table};
use crate::error::{Error, Result};
use crate::net::sasl::Secret;
use crate::security::Security;
use crate::KafkaConfig;

/// A [`KafkaConfig`] being built from properties, with the security properties kept apart
/// until all are read (they only make sense together).
pub(crate) struct ClientSettings {
    config: KafkaConfig,
    security: Security,
    security_given: bool,
    truststore_pem: Option<bool>,
    /// Built from properties alone, so they must name the brokers.
    needs_bootstrap: bool,
}

impl ClientSettings {
    pub(crate) fn new() -> Self {
        ClientSettings {
            needs_bootstrap: true,
            ..Self::from_config(KafkaConfig::new(Vec::<String>::new()))
        }
    }

    pub(crate) fn from_config(config: KafkaConfig) -> Self {
        ClientSettings {
            config,
            security: Security::default(),
            security_given: false,
            truststore_pem: None,
            needs_bootstrap: false,
        }
    }

    /// Sets a client-wide property; `None` when it is not one.
    pub(crate) fn set(&mut self, key: &str, value: &str) -> Option<Result<()>> {
        super::apply(TABLE, self, key, value)
    }

    pub(crate) fn finish(mut self) -> Result<KafkaConfig> {
        if self.truststore_pem == Some(false) && self.security.ca_file.is_some() {
            return Err(Error::config(
                "property 'ssl.truststore.location' names a JKS or PKCS12 store, which kafkit does not read: convert it to PEM and set ssl.truststore.type=PEM",
            ));
        }
        if self.needs_bootstrap && self.config.bootstrap.is_empty() {
            return Err(Error::config(
                "property 'bootstrap.servers' is missing: name at least one broker as host:port (e.g. 127.0.0.1:9092)",
            ));
        }
        if self.security_given {
            self.config = self.security.apply(self.config)?;
        }
        Ok(self.config)
    }
}

fn jaas_options(v: &str) -> std::result::Result<(String, Option<String>, Option<String>), String> {
    static OPTION: OnceLock<regex::Regex> = OnceLock::new();
    let option = OPTION.get_or_init(|| {
        regex::Regex::new(r#"(\w+)\s*=\s*"((?:[^"\\]|\\.)*)""#).expect("a valid regex")
    });
    let module = v
        .split_whitespace()
        .next()
        .ok_or("a JAAS line such as `org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"p\";`")?;
    let (mut user, mut password) = (None, None);
    for c in option.captures_iter(v) {
        match &c[1] {
            "username" => user = Some(c[2].to_string()),
            "password" => password = Some(c[2].to_string()),
            _ => {}
        }
    }
    Ok((module.to_string(), user, password))
}

fn security(c: &mut ClientSettings) -> &mut Security {
    c.security_given = true;
    &mut c.security
}

const NO_GSSAPI: &str = "kafkit has no Kerberos (GSSAPI); use SASL PLAIN, SCRAM or OAUTHBEARER";
const USE_TLS_CONFIG: &str =
    "kafkit reads PEM files: give the client certificate and key with TlsConfig::client_cert_files";
const NO_SOCKET_TUNING: &str = "kafkit leaves socket buffers and idle connections to the OS";
const NO_JAVA_METRICS: &str =
    "kafkit records metrics through the `metrics` crate (see docs/metrics.md), not Java reporters";

pub(crate) static TABLE: Table<ClientSettings> = &[
    (
        "bootstrap.servers",
        Spec::Set(|c, v| {
            c.config.bootstrap = list(v);
            Ok(())
        }),
    ),
    (
        "client.id",
        Spec::Set(|c, v| {
            c.config.client_id = non_empty(v)?;
            Ok(())
        }),
    ),
    (
        "request.timeout.ms",
        Spec::Set(|c, v| {
            c.config.request_timeout = ms(v)?;
            Ok(())
        }),
    ),
    (
        "socket.connection.setup.timeout.ms",
        Spec::Set(|c, v| {
            c.config.connect_timeout = ms(v)?;
            Ok(())
        }),
    ),
    (
        "metadata.max.age.ms",
        Spec::Set(|c, v| {
            c.config.metadata_max_age = ms(v)?;
            Ok(())
        }),
    ),
    (
        "reconnect.backoff.ms",
        Spec::Set(|c, v| {
            c.config.reconnect_backoff.initial = ms(v)?;
            Ok(())
        }),
    ),
    (
        "reconnect.backoff.max.ms",
        Spec::Set(|c, v| {
            c.config.reconnect_backoff.max = ms(v)?;
            Ok(())
        }),
    ),
    (
        "retry.backoff.ms",
        Spec::Set(|c, v| {
            c.config.retry.initial_retry_time = ms(v)?;
            Ok(())
        }),
    ),
    (
        "retry.backoff.max.ms",
        Spec::Set(|c, v| {
            c.config.retry.max_retry_time = ms(v)?;
            Ok(())
        }),
    ),
    (
        "enable.metrics.push",
        Spec::Set(|c, v| {
            c.config.metrics_push = boolean(v)?;
            Ok(())
        }),
    ),
    (
        "security.protocol",
        Spec::Set(|c, v| {
            let p = v.to_ascii_uppercase();
            if !["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"].contains(&p.as_str()) {
                return Err("PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL".into());
            }
            security(c).protocol = Some(p);
            Ok(())
        }),
    ),
    (
        "sasl.mechanism",
        Spec::Set(|c, v| {
            let m = v.to_ascii_uppercase();
            match m.as_str() {
            "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512" => {
                security(c).mechanism = Some(m);
                Ok(())
            }
            "OAUTHBEARER" => Err("PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (for OAUTHBEARER, give a token provider with SaslConfig::oauthbearer)".into()),
            _ => Err("PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512".into()),
        }
        }),
    ),
    (
        "sasl.jaas.config",
        Spec::Set(|c, v| {
            let (module, user, password) = jaas_options(v)?;
            if !module.ends_with("PlainLoginModule") && !module.ends_with("ScramLoginModule") {
                return Err(format!(
                "the PlainLoginModule or ScramLoginModule with username and password (kafkit has no {module})"
            ));
            }
            let (Some(user), Some(password)) = (user, password) else {
                return Err(
                    "a login module line with username=\"...\" and password=\"...\"".into(),
                );
            };
            let s = security(c);
            s.username = Some(user);
            s.password = Some(Secret::new(password));
            Ok(())
        }),
    ),
    (
        "ssl.truststore.location",
        Spec::Set(|c, v| {
            security(c).ca_file = Some(PathBuf::from(v));
            Ok(())
        }),
    ),
    (
        "ssl.truststore.type",
        Spec::Set(|c, v| {
            c.truststore_pem = Some(v.eq_ignore_ascii_case("PEM"));
            Ok(())
        }),
    ),
    ("ssl.keystore.location", Spec::Unsupported(USE_TLS_CONFIG)),
    ("ssl.keystore.type", Spec::Unsupported(USE_TLS_CONFIG)),
    ("ssl.keystore.password", Spec::Unsupported(USE_TLS_CONFIG)),
    ("ssl.key.password", Spec::Unsupported(USE_TLS_CONFIG)),
    (
        "ssl.keystore.certificate.chain",
        Spec::Unsupported(USE_TLS_CONFIG),
    ),
    ("ssl.keystore.key", Spec::Unsupported(USE_TLS_CONFIG)),
    (
        "ssl.truststore.password",
        Spec::Unsupported("kafkit reads a PEM truststore, which has no password"),
    ),
    (
        "ssl.truststore.certificates",
        Spec::Unsupported("give a PEM file with ssl.truststore.location"),
    ),
    (
        "ssl.endpoint.identification.algorithm",
        Spec::Unsupported("kafkit always verifies the broker's host name"),
    ),
    (
        "ssl.protocol",
        Spec::Unsupported("kafkit negotiates TLS 1.2 or 1.3 with rustls"),
    ),
    (
        "ssl.enabled.protocols",
        Spec::Unsupported("kafkit negotiates TLS 1.2 or 1.3 with rustls"),
    ),
    (
        "ssl.cipher.suites",
        Spec::Unsupported("kafkit uses rustls's safe default cipher suites"),
    ),
    ("sasl.kerberos.service.name", Spec::Unsupported(NO_GSSAPI)),
    (
        "sasl.login.callback.handler.class",
        Spec::Unsupported("give a token provider with SaslConfig::oauthbearer"),
    ),
    (
        "sasl.client.callback.handler.class",
        Spec::Unsupported("give a token provider with SaslConfig::oauthbearer"),
    ),
    (
        "sasl.oauthbearer.token.endpoint.url",
        Spec::Unsupported("give a token provider with SaslConfig::oauthbearer"),
    ),
    (
        "security.providers",
        Spec::Unsupported("kafkit's TLS is rustls"),
    ),
    (
        "client.dns.lookup",
        Spec::Unsupported("kafkit connects to every address a name resolves to, in order"),
    ),
    (
        "socket.connection.setup.timeout.max.ms",
        Spec::Unsupported("kafkit has one connect timeout: socket.connection.setup.timeout.ms"),
    ),
    (
        "connections.max.idle.ms",
        Spec::Unsupported(NO_SOCKET_TUNING),
    ),
    ("send.buffer.bytes", Spec::Unsupported(NO_SOCKET_TUNING)),
    ("receive.buffer.bytes", Spec::Unsupported(NO_SOCKET_TUNING)),
    ("metric.reporters", Spec::Unsupported(NO_JAVA_METRICS)),
    ("metrics.num.samples", Spec::Unsupported(NO_JAVA_METRICS)),
    (
        "metrics.sample.window.ms",
        Spec::Unsupported(NO_JAVA_METRICS),
    ),
    (
        "metrics.recording.level",
        Spec::Unsupported(NO_JAVA_METRICS),
    ),
    (
        "auto.include.jmx.reporter",
        Spec::Unsupported(NO_JAVA_METRICS),
    ),
];
