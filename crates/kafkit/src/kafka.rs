//! The shared client handle and its configuration.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::cluster::{Cluster, CoordinatorType, TopicSelection};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::net::pool::ReconnectBackoff;
use crate::net::sasl::SaslConfig;
use crate::net::security::Security;
use crate::net::tls::TlsConfig;
use crate::net::{BrokerPool, ConnectionConfig};
use crate::retry::RetryPolicy;

/// Settings shared by every client built from one [`Kafka`] handle.
///
/// ```
/// let config = kafkit::KafkaConfig::new(["127.0.0.1:9092"]).client_id("my-app");
/// assert_eq!(config.client_id, "my-app");
/// ```
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// Brokers to bootstrap from, `host:port` each (Java `bootstrap.servers`, KafkaJS `brokers`).
    pub bootstrap: Vec<String>,
    /// Sent with every request (Java `client.id`, KafkaJS `clientId`). Default `kafkit`.
    pub client_id: String,
    /// Time to open a connection (KafkaJS `connectionTimeout`). Default 10 s.
    pub connect_timeout: Duration,
    /// Time to wait for a response (KafkaJS `requestTimeout`, Java `request.timeout.ms`). Default 30 s.
    pub request_timeout: Duration,
    /// Requests in flight per connection. Default 5.
    pub max_in_flight: usize,
    /// Largest response accepted, in bytes, both on the wire and decoded (a response whose
    /// structures would take more memory is refused before they are allocated). A larger one
    /// fails its request with a `TooLarge` error that names this limit (a frame over it also
    /// closes the connection). Default 256 MiB; set with [`KafkaConfig::max_response_size`].
    pub max_response_size: usize,
    /// Retries of retriable errors (KafkaJS `retry`).
    pub retry: RetryPolicy,
    /// Reconnect backoff (Java `reconnect.backoff.ms` 50 ms, `reconnect.backoff.max.ms` 1 s).
    pub reconnect_backoff: ReconnectBackoff,
    /// Period of metadata refreshes (Java `metadata.max.age.ms`). Default 5 min.
    pub metadata_max_age: Duration,
    /// TLS for every connection (SSL and SASL_SSL listeners). Default none.
    pub tls: Option<TlsConfig>,
    /// SASL authentication of every connection (SASL_PLAINTEXT and SASL_SSL). Default none.
    pub sasl: Option<SaslConfig>,
    /// KIP-714 client telemetry (Java `enable.metrics.push`): when the cluster has a
    /// client-metrics subscription matching this client, push the subscribed metrics to it.
    /// Without one the client only asks, once per push interval. Default true.
    pub metrics_push: bool,
    /// Warnings an application should see (a topic that does not exist, a member left
    /// without partitions, records that cannot be read, ...) are written to stderr when
    /// nothing else would show them: no `tracing` subscriber is installed and nobody listens
    /// to [`Kafka::events`]. Default true; with a subscriber or a listener, this changes
    /// nothing. Set with [`KafkaConfig::stderr_warnings`].
    pub stderr_warnings: bool,
}

impl Security {
    /// Sets TLS and SASL on `config` as these settings say; errors name the missing piece.
    ///
    /// ```
    /// use kafkit::security::Security;
    /// let config = Security {
    ///     protocol: Some("SSL".into()),
    ///     ..Security::default()
    /// }
    /// .apply(kafkit::KafkaConfig::new(["localhost:9093"]))
    /// .unwrap();
    /// assert!(config.tls.is_some());
    /// ```
    pub fn apply(self, mut config: KafkaConfig) -> Result<KafkaConfig> {
        let (tls, sasl) = self.resolve()?;
        if let Some(t) = tls {
            config = config.tls(t);
        }
        if let Some(s) = sasl {
            config = config.sasl(s);
        }
        Ok(config)
    }
}

impl KafkaConfig {
    /// Defaults, with these bootstrap brokers.
    pub fn new<S: Into<String>>(bootstrap: impl IntoIterator<Item = S>) -> Self {
        let conn = ConnectionConfig::default();
        KafkaConfig {
            bootstrap: bootstrap.into_iter().map(Into::into).collect(),
            client_id: conn.client_id,
            connect_timeout: conn.connect_timeout,
            request_timeout: conn.request_timeout,
            max_in_flight: conn.max_in_flight,
            max_response_size: conn.max_response_size,
            retry: RetryPolicy::default(),
            reconnect_backoff: ReconnectBackoff::default(),
            metadata_max_age: Duration::from_secs(300),
            tls: None,
            sasl: None,
            metrics_push: true,
            stderr_warnings: true,
        }
    }

    /// Writes warnings to stderr when no `tracing` subscriber is installed and nobody listens
    /// to events (the default), or never (see the field
    /// [`stderr_warnings`](KafkaConfig#structfield.stderr_warnings)).
    ///
    /// ```
    /// let quiet = kafkit::KafkaConfig::new(["127.0.0.1:9092"]).stderr_warnings(false);
    /// assert!(!quiet.stderr_warnings);
    /// ```
    pub fn stderr_warnings(mut self, on: bool) -> Self {
        self.stderr_warnings = on;
        self
    }

    /// Turns KIP-714 client telemetry on or off (see [`KafkaConfig::metrics_push`]).
    pub fn metrics_push(mut self, on: bool) -> Self {
        self.metrics_push = on;
        self
    }

    /// Connects with TLS.
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Authenticates with SASL.
    pub fn sasl(mut self, sasl: SaslConfig) -> Self {
        self.sasl = Some(sasl);
        self
    }

    /// Applies the security settings of the `KAFKIT_SECURITY_PROTOCOL`, `KAFKIT_SASL_*` and
    /// `KAFKIT_TLS_*` environment variables (see [`Security::from_env`]).
    pub fn security_from_env(self) -> Result<Self> {
        Security::from_env().apply(self)
    }

    /// Sets the client id.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = id.into();
        self
    }

    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Sets the request timeout.
    pub fn request_timeout(mut self, t: Duration) -> Self {
        self.request_timeout = t;
        self
    }

    /// Sets the largest response accepted, in bytes (see the field
    /// [`max_response_size`](KafkaConfig#structfield.max_response_size)); at least 1 KiB.
    /// Raise it when a `TooLarge` error names this limit for answers that are large by design,
    /// such as the metadata of a cluster with very many partitions, or fetches of more than
    /// that (a `ConsumerConfig::max_bytes` near the limit). The CLI's flag is
    /// `--max-response-size`.
    ///
    /// ```
    /// let config = kafkit::KafkaConfig::new(["127.0.0.1:9092"]).max_response_size(512 << 20);
    /// assert_eq!(config.max_response_size, 512 * 1024 * 1024);
    /// assert!(config.validate().is_ok());
    /// assert!(kafkit::KafkaConfig::new(["127.0.0.1:9092"])
    ///     .max_response_size(100)
    ///     .validate()
    ///     .is_err());
    /// ```
    pub fn max_response_size(mut self, bytes: usize) -> Self {
        self.max_response_size = bytes;
        self
    }

    /// Sets the requests in flight per connection.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n;
        self
    }

    /// Sets how reconnects back off (Java `reconnect.backoff.ms`, `reconnect.backoff.max.ms`).
    pub fn reconnect_backoff(mut self, b: ReconnectBackoff) -> Self {
        self.reconnect_backoff = b;
        self
    }

    /// Sets the period of metadata refreshes (Java `metadata.max.age.ms`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = kafkit::KafkaConfig::new(["127.0.0.1:9092"]).metadata_max_age(Duration::from_secs(60));
    /// assert_eq!(c.metadata_max_age, Duration::from_secs(60));
    /// ```
    pub fn metadata_max_age(mut self, d: Duration) -> Self {
        self.metadata_max_age = d;
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, r: RetryPolicy) -> Self {
        self.retry = r;
        self
    }

    /// Checks every option; the error names the option and a fix.
    pub fn validate(&self) -> Result<()> {
        if self.bootstrap.is_empty() {
            return Err(Error::config(
                "`bootstrap` is empty: give at least one broker as host:port, e.g. 127.0.0.1:9092",
            ));
        }
        for b in &self.bootstrap {
            let ok = b.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
            });
            if !ok {
                return Err(Error::config(format!(
                    "bootstrap broker '{b}' is not host:port (e.g. 127.0.0.1:9092)"
                )));
            }
        }
        if self.client_id.is_empty() {
            return Err(Error::config(
                "`client_id` is empty; set a name for this application",
            ));
        }
        for (name, d) in [
            ("connect_timeout", self.connect_timeout),
            ("request_timeout", self.request_timeout),
            ("metadata_max_age", self.metadata_max_age),
        ] {
            if d.is_zero() {
                return Err(Error::config(format!(
                    "`{name}` is zero; give it a positive duration"
                )));
            }
        }
        if self.max_in_flight == 0 {
            return Err(Error::config("`max_in_flight` is 0; it must be at least 1"));
        }
        if self.max_response_size < 1024 {
            return Err(Error::config(
                "`max_response_size` is below 1 KiB (1024 bytes); use at least the broker's `message.max.bytes`",
            ));
        }
        Ok(())
    }

    fn connection_config(&self) -> Result<ConnectionConfig> {
        Ok(ConnectionConfig {
            client_id: self.client_id.clone(),
            connect_timeout: self.connect_timeout,
            request_timeout: self.request_timeout,
            max_in_flight: self.max_in_flight,
            max_response_size: self.max_response_size,
            tls: self.tls.as_ref().map(TlsConfig::build).transpose()?,
            sasl: self.sasl.clone(),
        })
    }
}

struct Inner {
    config: KafkaConfig,
    pool: Arc<BrokerPool>,
    cluster: Arc<Cluster>,
    events: broadcast::Sender<Event>,
    /// KIP-714 telemetry (`None` with `metrics_push` off).
    telemetry: Option<crate::telemetry::Telemetry>,
}

impl crate::telemetry::Host for Inner {
    fn pool(&self) -> &BrokerPool {
        &self.pool
    }
    fn cluster(&self) -> &Cluster {
        &self.cluster
    }
    fn client_id(&self) -> &str {
        &self.config.client_id
    }
    fn events(&self) -> &broadcast::Sender<Event> {
        &self.events
    }
}

/// The client handle: connections, metadata and settings shared by producers, consumers and the
/// admin client built from it. Cheap to clone.
#[derive(Clone)]
pub struct Kafka {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Kafka {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kafka")
            .field("bootstrap", &self.inner.config.bootstrap)
            .finish()
    }
}

impl Kafka {
    /// Validates `config` and connects: reaches a bootstrap broker and loads the cluster's
    /// brokers. Fails with a connection error naming every address tried if none answers
    /// within `connect_timeout`.
    pub async fn connect(config: KafkaConfig) -> Result<Kafka> {
        let (events, _) = broadcast::channel(1024);
        Kafka::connect_on(config, events).await
    }

    /// [`connect`](Self::connect), with a receiver of [`events`](Self::events) subscribed
    /// before the first request: it also holds the events of connecting (the bootstrap
    /// broker's ApiVersions, SASL exchange and first Metadata), which a receiver subscribed
    /// after `connect` cannot see.
    ///
    /// ```no_run
    /// # async fn f() -> kafkit::Result<()> {
    /// use kafkit::{Event, Kafka, KafkaConfig};
    /// let (kafka, mut events) = Kafka::connect_with_events(KafkaConfig::new(["localhost:9092"])).await?;
    /// while let Ok(e) = events.try_recv() {
    ///     if let Event::Request { api, api_version, .. } = e {
    ///         println!("connecting sent {api} v{api_version}");
    ///     }
    /// }
    /// # drop(kafka); Ok(()) }
    /// ```
    pub async fn connect_with_events(
        config: KafkaConfig,
    ) -> Result<(Kafka, broadcast::Receiver<Event>)> {
        let (events, rx) = broadcast::channel(1024);
        Ok((Kafka::connect_on(config, events).await?, rx))
    }

    async fn connect_on(config: KafkaConfig, events: broadcast::Sender<Event>) -> Result<Kafka> {
        config.validate()?;
        let pool = Arc::new(BrokerPool::new(
            config.bootstrap.clone(),
            config.connection_config()?,
            config.reconnect_backoff.clone(),
            events.clone(),
        ));
        let cluster = Arc::new(Cluster::new(pool.clone()));
        cluster.refresh(TopicSelection::Names(Vec::new())).await?;
        cluster.spawn_refresher(config.metadata_max_age);
        let (telemetry, closes) = if config.metrics_push {
            let (t, c) = crate::telemetry::Telemetry::new();
            (Some(t), Some(c))
        } else {
            (None, None)
        };
        let kafka = Kafka {
            inner: Arc::new(Inner {
                config,
                pool,
                cluster,
                events,
                telemetry,
            }),
        };
        if let Some(closes) = closes {
            let host: Arc<dyn crate::telemetry::Host> = kafka.inner.clone();
            crate::telemetry::spawn(Arc::downgrade(&host), closes);
        }
        Ok(kafka)
    }

    /// The configuration.
    pub fn config(&self) -> &KafkaConfig {
        &self.inner.config
    }

    /// The connection pool.
    pub(crate) fn pool(&self) -> &Arc<BrokerPool> {
        &self.inner.pool
    }

    /// The metadata cache.
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.inner.cluster
    }

    /// Subscribes to instrumentation events from every client of this handle.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    /// Whether anyone listens to events (build costly ones only then).
    pub(crate) fn has_listeners(&self) -> bool {
        self.inner.events.receiver_count() > 0
    }

    pub(crate) fn emit(&self, event: Event) {
        if self.inner.events.receiver_count() > 0 {
            let _ = self.inner.events.send(event);
        } else if let Event::Warning { message } = &event {
            if self.inner.config.stderr_warnings && !tracing::dispatcher::has_been_set() {
                // Nobody would see it otherwise: the site's `tracing::warn!` goes nowhere
                // without a subscriber, and no one listens to events.
                eprintln!("kafkit warning: {message}");
            }
        }
    }

    /// The node id of the coordinator of a group or a transactional id, as the cluster names
    /// it now (the address is known to the client afterwards).
    ///
    /// ```no_run
    /// # async fn f(kafka: kafkit::Kafka) -> kafkit::Result<()> {
    /// use kafkit::cluster::CoordinatorType;
    /// let node = kafka.find_coordinator(CoordinatorType::Group, "orders").await?;
    /// # Ok(()) }
    /// ```
    pub async fn find_coordinator(&self, kind: CoordinatorType, key: &str) -> Result<i32> {
        crate::cluster::coordinator::find_coordinator(self.pool(), kind, key).await
    }

    /// Closes every connection, letting requests in flight finish for up to `timeout`. With a
    /// KIP-714 client-metrics subscription, the last metrics go first, in a push marked
    /// terminating (within the same `timeout`).
    ///
    /// ```no_run
    /// # async fn demo(kafka: kafkit::Kafka) {
    /// kafka.close(std::time::Duration::from_secs(5)).await;
    /// # }
    /// ```
    pub async fn close(&self, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        if let Some(t) = &self.inner.telemetry {
            t.terminate(timeout).await;
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        self.inner.pool.close(left).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_has_a_builder() {
        let c = KafkaConfig::new(["h:1"])
            .max_in_flight(2)
            .reconnect_backoff(ReconnectBackoff::default().initial(Duration::from_millis(10)))
            .metadata_max_age(Duration::from_secs(30))
            .stderr_warnings(false);
        assert_eq!(c.max_in_flight, 2);
        assert_eq!(c.reconnect_backoff.initial, Duration::from_millis(10));
        assert_eq!(c.metadata_max_age, Duration::from_secs(30));
        assert!(!c.stderr_warnings);
        c.validate().unwrap();
        assert!(KafkaConfig::new(["h:1"])
            .max_in_flight(0)
            .validate()
            .is_err());
    }

    #[test]
    fn bad_config_names_the_option() {
        let e = KafkaConfig::new(Vec::<String>::new())
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("bootstrap"), "{e}");
        let e = KafkaConfig::new(["localhost"]).validate().unwrap_err();
        assert!(e.to_string().contains("host:port"), "{e}");
        let e = KafkaConfig::new(["h:0"]).validate().unwrap_err();
        assert!(e.to_string().contains("host:port"), "{e}");
        let e = KafkaConfig::new(["h:1"])
            .request_timeout(Duration::ZERO)
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("request_timeout"), "{e}");
        assert!(KafkaConfig::new(["[::1]:9092", "h:1"]).validate().is_ok());
    }
}
