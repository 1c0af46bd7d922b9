//! A connection to a cluster: one per JavaScript producer, consumer or admin client (as in
//! KafkaJS, where each client has its own connections), with the instrumentation events it
//! emits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kafkit::security::{SaslConfig, TlsConfig};
use kafkit::{Kafka, KafkaConfig, RetryPolicy};
use napi_derive::napi;
use tokio::sync::{broadcast, watch, Mutex};

use crate::error::{config, IntoJs, Result};
use crate::events;
use crate::oauth::{self, TokenFn};

/// KafkaJS's `retry` options (milliseconds).
#[napi(object)]
pub struct RetryOptions {
    pub max_retry_time: Option<u32>,
    pub initial_retry_time: Option<u32>,
    pub factor: Option<f64>,
    pub multiplier: Option<f64>,
    pub retries: Option<u32>,
}

/// TLS as `lib/kafka.js` normalizes KafkaJS's `ssl` (PEM strings).
#[napi(object)]
pub struct TlsOptions {
    pub ca: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
}

/// SASL as `lib/kafka.js` normalizes KafkaJS's `sasl`: a username and password for PLAIN
/// and SCRAM, a token provider for OAUTHBEARER.
#[napi(object, object_to_js = false)]
pub struct SaslOptions {
    pub mechanism: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Resolves a JSON `{ "value": token, "extensions": {..} }` (lib/kafka.js wraps the
    /// user's `oauthBearerProvider`, which may or may not be async).
    pub oauth_bearer_provider: Option<TokenFn>,
}

/// The `new Kafka({...})` options the native client uses.
#[napi(object, object_to_js = false)]
pub struct ClientOptions {
    pub brokers: Vec<String>,
    pub client_id: Option<String>,
    pub connection_timeout: Option<u32>,
    pub request_timeout: Option<u32>,
    pub retry: Option<RetryOptions>,
    pub ssl: Option<TlsOptions>,
    pub sasl: Option<SaslOptions>,
    /// KafkaJS's `allowAutoTopicCreation` of the producer, consumer or admin (default true
    /// there): metadata requests let the broker create missing topics.
    pub allow_auto_topic_creation: Option<bool>,
    /// A topic the broker says this client may not describe fails a send or subscribe at once
    /// (KafkaJS's behaviour) instead of being waited for.
    pub unauthorized_topics_final: Option<bool>,
}

pub(crate) fn kafka_config(o: ClientOptions) -> Result<KafkaConfig> {
    let mut c = KafkaConfig::new(o.brokers);
    if let Some(id) = o.client_id {
        c = c.client_id(id);
    }
    if let Some(ms) = o.connection_timeout {
        c = c.connect_timeout(Duration::from_millis(ms.into()));
    }
    if let Some(ms) = o.request_timeout {
        c = c.request_timeout(Duration::from_millis(ms.into()));
    }
    if let Some(r) = o.retry {
        let mut p = RetryPolicy::default();
        if let Some(v) = r.max_retry_time {
            p.max_retry_time = Duration::from_millis(v.into());
        }
        if let Some(v) = r.initial_retry_time {
            p.initial_retry_time = Duration::from_millis(v.into());
        }
        if let Some(v) = r.factor {
            p.factor = v;
        }
        if let Some(v) = r.multiplier {
            p.multiplier = v;
        }
        if let Some(v) = r.retries {
            p.retries = v;
        }
        c = c.retry(p);
    }
    if let Some(t) = o.ssl {
        let mut tls = TlsConfig::new();
        if let Some(ca) = t.ca {
            tls = tls.ca_pem(ca);
        }
        match (t.cert, t.key) {
            (Some(cert), Some(key)) => tls = tls.client_cert_pem(cert, key),
            (None, None) => {}
            _ => {
                return Err(config(
                    "ssl: cert and key go together; give both or neither",
                ))
            }
        }
        c = c.tls(tls);
    }
    if let Some(s) = o.sasl {
        c = c.sasl(match (s.mechanism.as_str(), s.oauth_bearer_provider) {
            ("OAUTHBEARER", Some(f)) => oauth::sasl(f),
            ("OAUTHBEARER", None) => {
                return Err(config(
                    "sasl: oauthbearer needs oauthBearerProvider, an async function returning { value: token }",
                ))
            }
            (m, _) => SaslConfig::from_name(
                m,
                s.username.unwrap_or_default(),
                s.password.unwrap_or_default(),
            )
            .js()?,
        });
    }
    c.validate().js()?;
    Ok(c)
}

/// The shared part of every native client: the cluster connection and its event feed.
pub(crate) struct Link {
    pub(crate) kafka: Kafka,
    events: Mutex<broadcast::Receiver<kafkit::Event>>,
    closed: watch::Sender<bool>,
    /// `REQUEST` events are many; they cross only when JavaScript listens for them.
    want_requests: AtomicBool,
}

impl Link {
    pub(crate) async fn connect(options: ClientOptions) -> Result<Arc<Link>> {
        let auto_create = options.allow_auto_topic_creation.unwrap_or(false);
        let unauthorized_final = options.unauthorized_topics_final.unwrap_or(false);
        // Subscribed before the first request: KafkaJS's `network.request` covers connecting.
        let (kafka, events) = Kafka::connect_with_events(kafka_config(options)?)
            .await
            .js()?;
        kafka.cluster().set_auto_topic_creation(auto_create);
        kafka
            .cluster()
            .set_unauthorized_topics_final(unauthorized_final);
        let events = Mutex::new(events);
        Ok(Arc::new(Link {
            kafka,
            events,
            closed: watch::channel(false).0,
            want_requests: AtomicBool::new(false),
        }))
    }

    pub(crate) fn want_requests(&self, on: bool) {
        self.want_requests.store(on, Ordering::Release);
    }

    /// The events since the last call, waiting for at least one; `None` once
    /// the client closed (the JavaScript pump then ends, letting Node exit).
    pub(crate) async fn next_events(&self) -> Option<Vec<events::NativeEvent>> {
        let mut closed = self.closed.subscribe();
        let mut rx = self.events.lock().await;
        let mut out = Vec::new();
        loop {
            if *closed.borrow() {
                return None;
            }
            let first = tokio::select! {
                e = rx.recv() => e,
                _ = closed.wait_for(|c| *c) => return None,
            };
            let want = self.want_requests.load(Ordering::Acquire);
            match first {
                Ok(e) => events::push(&mut out, &e, want),
                Err(broadcast::error::RecvError::Lagged(n)) => events::push_lagged(&mut out, n),
                Err(broadcast::error::RecvError::Closed) => return None,
            }
            drain(&mut rx, &mut out, want);
            if !out.is_empty() {
                return Some(out);
            }
        }
    }

    /// The events already received, without waiting: JavaScript dispatches those of
    /// connecting before its CONNECT event, as KafkaJS's requests come before it.
    pub(crate) fn take_events(&self) -> Vec<events::NativeEvent> {
        let mut out = Vec::new();
        if let Ok(mut rx) = self.events.try_lock() {
            drain(
                &mut rx,
                &mut out,
                self.want_requests.load(Ordering::Acquire),
            );
        }
        out
    }

    pub(crate) async fn close(&self) {
        if self.closed.send_replace(true) {
            return;
        }
        self.kafka.close(Duration::from_secs(5)).await;
    }
}

/// Moves the events waiting in `rx` to `out`, up to a thousand per call.
fn drain(
    rx: &mut broadcast::Receiver<kafkit::Event>,
    out: &mut Vec<events::NativeEvent>,
    want: bool,
) {
    while out.len() < 1000 {
        match rx.try_recv() {
            Ok(e) => events::push(out, &e, want),
            Err(broadcast::error::TryRecvError::Lagged(n)) => events::push_lagged(out, n),
            Err(_) => break,
        }
    }
}
