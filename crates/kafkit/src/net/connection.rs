//! One connection to one broker: pipelined requests, matched to responses by correlation id.
//!
//! A writer task owns the socket's write half and a reader task its read half. A caller encodes
//! its request in its own task, registers a reply slot and hands the frame to the writer; the
//! reader routes each response frame back by correlation id, and the caller decodes it. Kafka
//! answers the requests of one connection in order, so pending requests sit in a FIFO and a
//! response whose correlation id is not the oldest one is a protocol violation.
//!
//! Why one file of ~1,150 lines: the caller side, the writer and the reader all own one
//! `Shared` state (the FIFO and the failure), and most of the file is the error text each fault
//! needs. The reader and writer loops can move to a file of their own with the engine split
//! (issue 12); the state they share stays here.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::protocol::messages::{ApiVersionsRequest, ResponseHeader};
use crate::protocol::wire::{Decode, Reader, Request};
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Notify, OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

use super::frame::{encode_request, peek_correlation_id, read_frame, RAISE_MAX_RESPONSE_SIZE};
use super::sasl::{self, SaslConfig};
use super::tls;
use super::versions::ApiVersions;
use crate::error::{Error, ErrorKind, Result};
use crate::events::Event;
use crate::metrics;
use crate::protocol::messages::api_name;

/// Settings of a connection; shared by every connection of a client.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// Sent in every request header (Java `client.id`, KafkaJS `clientId`).
    pub client_id: String,
    /// Time allowed to open the TCP connection and finish ApiVersions (KafkaJS `connectionTimeout`).
    pub connect_timeout: Duration,
    /// Time allowed for a response (Java `request.timeout.ms`, KafkaJS `requestTimeout`).
    pub request_timeout: Duration,
    /// Requests in flight on one connection (Java `max.in.flight.requests.per.connection`).
    pub max_in_flight: usize,
    /// Largest response frame accepted (bytes); a bigger one closes the connection.
    pub max_response_size: usize,
    /// TLS, if the listener is SSL or SASL_SSL.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// SASL, if the listener is SASL_PLAINTEXT or SASL_SSL.
    pub sasl: Option<SaslConfig>,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            client_id: "kafkit".to_string(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_in_flight: 5,
            max_response_size: 256 * 1024 * 1024,
            tls: None,
            sasl: None,
        }
    }
}

type Reply = oneshot::Sender<Result<Bytes>>;

/// How far a connection attempt got.
#[derive(Clone, Copy)]
enum Phase {
    Tcp,
    Tls,
    /// ApiVersions, then SASL.
    Kafka,
}

struct Pending {
    correlation_id: i32,
    /// For errors: a failure is reported with the API of each request it cost.
    api: &'static str,
    reply: Reply,
}

/// State shared by the caller side, the writer and the reader.
struct Shared {
    /// `Some` once the connection is dead: the reason, given to every later request (as
    /// [`request_error`], naming that request's API and the broker).
    failed: Option<Error>,
    /// Requests written (or about to be) whose response has not arrived, oldest first.
    queue: VecDeque<Pending>,
    /// A request went unanswered past its timeout: the broker may be hung (the pool then
    /// asks others first).
    timed_out: bool,
}

struct Outgoing {
    frame: Vec<Bytes>,
    pending: Option<Pending>,
}

struct Inner {
    addr: String,
    /// `addr` as a metrics label value, shared rather than copied per request.
    broker_label: Arc<str>,
    config: ConnectionConfig,
    client_id: String,
    versions: std::sync::OnceLock<ApiVersions>,
    next_correlation: AtomicI32,
    in_flight: Arc<Semaphore>,
    shared: Arc<Mutex<Shared>>,
    drained: Arc<Notify>,
    tx: mpsc::UnboundedSender<Outgoing>,
    events: Option<tokio::sync::broadcast::Sender<Event>>,
}

/// A request on the wire: its in-flight slot and where its response arrives.
struct Waiting {
    /// None for re-authentication, which runs while it holds every slot.
    permit: Option<OwnedSemaphorePermit>,
    rx: oneshot::Receiver<Result<Bytes>>,
}

/// A live connection to a broker. Cheap to clone; clones share the socket.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("addr", &self.inner.addr)
            .finish()
    }
}

impl Drop for Inner {
    /// The last handle is gone: stop the reader and the writer, which would otherwise keep the
    /// socket (and their tasks) alive for as long as the broker keeps it open.
    fn drop(&mut self) {
        fail_all(
            &self.shared,
            Error::new(
                ErrorKind::Closed,
                "close",
                "the connection was dropped by the client",
            ),
        );
        self.drained.notify_waiters();
    }
}

impl Connection {
    /// Opens a TCP connection to `addr` and negotiates API versions.
    pub async fn connect(
        addr: &str,
        config: ConnectionConfig,
        events: Option<tokio::sync::broadcast::Sender<Event>>,
    ) -> Result<Connection> {
        let deadline = config.connect_timeout;
        // How far the attempt got, for the timeout's message.
        let phase = Mutex::new(Phase::Tcp);
        let set_phase = |p| {
            if let Ok(mut g) = phase.lock() {
                *g = p;
            }
        };
        let attempt = async {
            let stream = TcpStream::connect(addr).await.map_err(|e| {
                Error::new(
                    ErrorKind::Connection,
                    "connect",
                    format!("cannot connect to broker {addr}: {e}; check that the broker is running and that the address is right"),
                )
            })?;
            let _ = stream.set_nodelay(true);
            match config.tls.clone() {
                Some(tls_config) => {
                    set_phase(Phase::Tls);
                    let stream = tls::connect(tls_config, addr, stream).await?;
                    set_phase(Phase::Kafka);
                    let (r, w) = tokio::io::split(stream);
                    Connection::handshake(addr, r, w, config.clone(), events.clone()).await
                }
                None => {
                    set_phase(Phase::Kafka);
                    let (r, w) = stream.into_split();
                    Connection::handshake(addr, r, w, config.clone(), events.clone()).await
                }
            }
        };
        match tokio::time::timeout(deadline, attempt).await {
            Ok(res) => res,
            Err(_) => {
                let reached = phase.lock().map(|p| *p).unwrap_or(Phase::Tcp);
                let message = match reached {
                    Phase::Tcp => format!("no TCP connection to broker {addr} within connect_timeout ({deadline:?}); check the address and the network, or raise `connect_timeout`"),
                    Phase::Tls => format!("broker {addr} accepted the TCP connection but did not complete the TLS handshake within connect_timeout ({deadline:?}); check that this port is a TLS (SSL / SASL_SSL) listener"),
                    Phase::Kafka => format!(
                        "broker {addr} accepted the connection but did not answer ApiVersions{} within connect_timeout ({deadline:?}); check that this port is a Kafka listener with the security protocol configured here",
                        if config.sasl.is_some() { " and SASL authentication" } else { "" }
                    ),
                };
                Err(Error::new(ErrorKind::Timeout(deadline), "connect", message))
            }
        }
    }

    /// Starts the I/O tasks on an established byte stream and performs ApiVersions.
    pub async fn handshake<R, W>(
        addr: &str,
        reader: R,
        writer: W,
        config: ConnectionConfig,
        events: Option<tokio::sync::broadcast::Sender<Event>>,
    ) -> Result<Connection>
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let tls = config.tls.is_some();
        let sasl = config.sasl.clone();
        let conn = Connection::start(addr, reader, writer, config, events);
        let versions = conn
            .negotiate_versions()
            .await
            .map_err(|e| explain_first_request(e, tls, sasl.is_some()))?;
        let _ = conn.inner.versions.set(versions);
        if let Some(sasl) = sasl {
            let lifetime = sasl::authenticate(&conn, &sasl).await.inspect_err(|_| {
                conn.fail(Error::new(ErrorKind::Auth, "sasl", "authentication failed"));
            })?;
            if let Some(lifetime) = lifetime {
                conn.schedule_reauth(sasl, lifetime);
            }
        }
        metrics::connection_created(&conn.inner.addr);
        if let Some(tx) = &conn.inner.events {
            let _ = tx.send(Event::Connect {
                broker: conn.inner.addr.clone(),
            });
        }
        Ok(conn)
    }

    fn start<R, W>(
        addr: &str,
        reader: R,
        writer: W,
        config: ConnectionConfig,
        events: Option<tokio::sync::broadcast::Sender<Event>>,
    ) -> Connection
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let shared = Arc::new(Mutex::new(Shared {
            failed: None,
            queue: VecDeque::new(),
            timed_out: false,
        }));
        let drained = Arc::new(Notify::new());
        let (tx, rx) = mpsc::unbounded_channel();
        let max_in_flight = config.max_in_flight.max(1);
        let max_response = config.max_response_size;
        tokio::spawn(write_loop(
            writer,
            rx,
            shared.clone(),
            drained.clone(),
            addr.to_string(),
            events.clone(),
        ));
        tokio::spawn(read_loop(
            reader,
            max_response,
            shared.clone(),
            drained.clone(),
            addr.to_string(),
            events.clone(),
        ));
        Connection {
            inner: Arc::new(Inner {
                addr: addr.to_string(),
                broker_label: Arc::from(addr),
                client_id: config.client_id.clone(),
                config,
                versions: std::sync::OnceLock::new(),
                next_correlation: AtomicI32::new(1),
                in_flight: Arc::new(Semaphore::new(max_in_flight)),
                shared,
                drained,
                tx,
                events,
            }),
        }
    }

    async fn negotiate_versions(&self) -> Result<ApiVersions> {
        let mut req = ApiVersionsRequest::default();
        req.client_software_name = "kafkit".to_string();
        req.client_software_version = env!("CARGO_PKG_VERSION").to_string();
        // v3 is flexible; a broker that does not know v3 answers in v0 format with error 35.
        let (resp, undecodable) = match self.send_version::<ApiVersionsRequest>(&req, 3).await {
            Ok(r) if r.error_code == 35 => (None, None),
            Ok(r) => (Some(r), None),
            Err(e) if e.kind() == &ErrorKind::Protocol => (None, Some(e)),
            Err(e) => return Err(e.during("api_versions")),
        };
        let resp = match resp {
            Some(r) => r,
            None => self
                .send_version::<ApiVersionsRequest>(&ApiVersionsRequest::default(), 0)
                .await
                .map_err(|e| match undecodable {
                    // The v3 answer is the real finding; the v0 retry only confirms it.
                    Some(first) => first
                        .during("api_versions")
                        .context(format!("the v0 retry failed too: {}", e.message())),
                    None => e.during("api_versions"),
                })?,
        };
        Error::check(resp.error_code, "api_versions", || {
            format!("broker {} rejected ApiVersions", self.inner.addr)
        })?;
        Ok(ApiVersions::from_response(&resp))
    }

    /// `host:port` of the broker.
    pub fn addr(&self) -> &str {
        &self.inner.addr
    }

    /// The API versions the broker announced.
    pub fn api_versions(&self) -> &ApiVersions {
        static NONE: std::sync::OnceLock<ApiVersions> = std::sync::OnceLock::new();
        self.inner
            .versions
            .get()
            .unwrap_or_else(|| NONE.get_or_init(ApiVersions::default))
    }

    /// The highest version of `R` both kafkit and the broker support.
    pub(crate) fn version<R: Request>(&self) -> Result<i16> {
        self.api_versions()
            .pick(
                R::KEY,
                R::VERSIONS.0,
                super::versions::newest_handled::<R>(),
            )
            .map_err(|e| e.with_broker(&self.inner.addr))
    }

    /// Whether the connection is dead (a new one must be made).
    pub fn is_closed(&self) -> bool {
        self.inner
            .shared
            .lock()
            .map(|s| s.failed.is_some())
            .unwrap_or(true)
    }

    /// Whether a request on this connection went unanswered past its timeout.
    pub(crate) fn timed_out(&self) -> bool {
        self.inner
            .shared
            .lock()
            .map(|s| s.timed_out)
            .unwrap_or(false)
    }

    /// Sends `req` at the highest common version and waits for the response.
    pub(crate) async fn send<R: Request>(&self, req: &R) -> Result<R::Response> {
        let v = self.version::<R>()?;
        self.send_version(req, v).await
    }

    /// Sends `req` at `version` and waits for the response, within the request timeout.
    pub(crate) async fn send_version<R: Request>(
        &self,
        req: &R,
        version: i16,
    ) -> Result<R::Response> {
        self.send_timeout(req, version, self.inner.config.request_timeout)
            .await
    }

    /// Sends `req` at `version` and waits up to `timeout` for the response (long-polling fetches
    /// pass their max wait plus the request timeout).
    pub(crate) async fn send_timeout<R: Request>(
        &self,
        req: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response> {
        self.enqueue(req, version, timeout).await?.await
    }

    /// Puts `req` on the wire queue (waiting for an in-flight slot) and returns the future of
    /// its response. Requests enqueued one after another by one task reach the broker in that
    /// order, which idempotent produce relies on (sequence numbers per partition).
    pub(crate) async fn enqueue<R: Request>(
        &self,
        req: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<impl std::future::Future<Output = Result<R::Response>> + Send + 'static> {
        let (frame, correlation_id) = self.encode(req, version)?;
        self.enqueue_frame::<R>(frame, correlation_id, version, timeout)
            .await
    }

    /// [`enqueue`](Self::enqueue) for a request the caller framed itself (length prefix,
    /// header with `correlation_id` from [`next_correlation_id`](Self::next_correlation_id),
    /// body), in pieces so large payloads such as record batches are not copied again.
    pub(crate) async fn enqueue_frame<R: Request>(
        &self,
        frame: Vec<Bytes>,
        correlation_id: i32,
        version: i16,
        timeout: Duration,
    ) -> Result<impl std::future::Future<Output = Result<R::Response>> + Send + 'static> {
        let size = frame.iter().map(Bytes::len).sum();
        let started = Instant::now();
        let api = api_name(R::KEY);
        // Disabled spans are `Span::none()`: with no subscriber the fields are never evaluated.
        let span = tracing::debug_span!(
            "kafka.request",
            otel.name = api,
            messaging.system = "kafka",
            rpc.method = api,
            server.address = %self.inner.addr,
            kafka.api_version = version,
            kafka.correlation_id = correlation_id,
            kafka.request.size = size,
        );
        let waiting = self
            .start_roundtrip(frame, correlation_id, api)
            .instrument(span.clone())
            .await?;
        let sent = Instant::now();
        let sent_at = std::time::SystemTime::now();
        let broker = self.inner.broker_label.clone();
        metrics::in_flight(&broker, 1.0);
        let conn = self.clone();
        Ok(async move {
            let answer = conn.finish_roundtrip(waiting, api, timeout).await;
            metrics::in_flight(&broker, -1.0);
            let frame = answer.inspect_err(|e| metrics::request_failed(&broker, api, e))?;
            let received = frame.len();
            let resp = decode_response::<R>(
                frame,
                version,
                &conn.inner.addr,
                conn.inner.config.max_response_size,
            )
            .inspect_err(|e| metrics::request_failed(&broker, api, e))?;
            metrics::request_done(&broker, api, started.elapsed(), size, received);
            conn.emit(|addr| Event::Request {
                broker: addr,
                api,
                api_key: R::KEY,
                api_version: version,
                correlation_id,
                sent_at,
                pending: sent.duration_since(started),
                duration: sent.elapsed(),
                size,
                response_size: received,
            });
            Ok(resp)
        }
        .instrument(span))
    }

    /// Sends a pre-encoded request whose response is wanted (`frame` = the length-prefixed
    /// request in pieces, so large payloads such as record batches are not copied again).
    pub async fn send_raw(
        &self,
        frame: Vec<Bytes>,
        correlation_id: i32,
        api: &'static str,
    ) -> Result<Bytes> {
        self.roundtrip(
            frame,
            correlation_id,
            api,
            self.inner.config.request_timeout,
        )
        .await
    }

    /// Sends a request without taking an in-flight slot: SASL exchanges, which run before any
    /// other request or while re-authentication holds every slot.
    pub(crate) async fn send_unmetered<R: Request>(
        &self,
        req: &R,
        version: i16,
    ) -> Result<R::Response> {
        let (frame, correlation_id) = self.encode(req, version)?;
        let size = frame.iter().map(Bytes::len).sum();
        let api = api_name(R::KEY);
        let waiting = self.queue_frame(frame, correlation_id, api, None).await?;
        let (sent, sent_at) = (Instant::now(), std::time::SystemTime::now());
        let frame = self
            .finish_roundtrip(waiting, api, self.inner.config.request_timeout)
            .await?;
        let response_size = frame.len();
        let resp = decode_response::<R>(
            frame,
            version,
            &self.inner.addr,
            self.inner.config.max_response_size,
        )?;
        // Requests of connecting (SASL) are requests too, for the `Request` event.
        self.emit(|addr| Event::Request {
            broker: addr,
            api,
            api_key: R::KEY,
            api_version: version,
            correlation_id,
            sent_at,
            pending: Duration::ZERO,
            duration: sent.elapsed(),
            size,
            response_size,
        });
        Ok(resp)
    }

    /// Re-authenticates before the broker's session ends (KIP-368): waits until nothing is
    /// in flight (holding every slot, so nothing new starts), then runs the SASL exchange again
    /// on this connection. A failure closes the connection; the pool opens a new one.
    fn schedule_reauth(&self, sasl: SaslConfig, lifetime: Duration) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut lifetime = lifetime;
            loop {
                tokio::time::sleep(sasl::reauth_after(lifetime)).await;
                let Some(inner) = weak.upgrade() else { return };
                let conn = Connection { inner };
                if conn.is_closed() {
                    return;
                }
                let slots = conn.inner.config.max_in_flight.max(1) as u32;
                let all = tokio::time::timeout(
                    conn.inner.config.request_timeout,
                    conn.inner.in_flight.clone().acquire_many_owned(slots),
                )
                .await;
                let Ok(Ok(_all)) = all else {
                    tracing::warn!(broker = %conn.inner.addr, "requests in flight kept re-authentication from starting; closing the connection before the session expires");
                    conn.fail(Error::new(
                        ErrorKind::Connection,
                        "sasl",
                        "session expiring; reconnecting",
                    ));
                    return;
                };
                match sasl::authenticate(&conn, &sasl).await {
                    Ok(Some(next)) => {
                        tracing::debug!(broker = %conn.inner.addr, "re-authenticated");
                        conn.emit(|addr| Event::Reauthenticated { broker: addr });
                        lifetime = next;
                    }
                    Ok(None) => return,
                    Err(e) => {
                        tracing::warn!(broker = %conn.inner.addr, error = %e, "re-authentication failed; closing the connection");
                        conn.fail(e);
                        return;
                    }
                }
            }
        });
    }

    /// Sends a request that gets no response (Produce with acks=0), framed by the caller.
    pub fn send_oneway_frame(&self, frame: Vec<Bytes>) -> Result<()> {
        self.check_open("Produce")?;
        self.inner
            .tx
            .send(Outgoing {
                frame,
                pending: None,
            })
            .map_err(|_| self.closed_error("Produce"))
    }

    /// Encodes `req` as a length-prefixed frame under a fresh correlation id.
    fn encode<R: Request>(&self, req: &R, version: i16) -> Result<(Vec<Bytes>, i32)> {
        let correlation_id = self.next_correlation_id();
        let frame = encode_request(req, version, correlation_id, &self.inner.client_id)?;
        Ok((frame, correlation_id))
    }

    /// A fresh correlation id (for callers that encode requests themselves).
    pub fn next_correlation_id(&self) -> i32 {
        // Wraps around after 2^31 requests; only uniqueness among in-flight requests matters.
        self.inner.next_correlation.fetch_add(1, Ordering::Relaxed) & 0x7fff_ffff
    }

    /// The client id sent in request headers.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    fn check_open(&self, api: &'static str) -> Result<()> {
        let shared = self
            .inner
            .shared
            .lock()
            .map_err(|_| Error::protocol(api, "connection state poisoned"))?;
        match &shared.failed {
            Some(e) => Err(request_error(api, &self.inner.addr, &already_failed(e))),
            None => Ok(()),
        }
    }

    fn closed_error(&self, api: &'static str) -> Error {
        Error::new(
            ErrorKind::Connection,
            api,
            format!(
                "{api} request to broker {}: the connection closed before the response",
                self.inner.addr
            ),
        )
    }

    async fn roundtrip(
        &self,
        frame: Vec<Bytes>,
        correlation_id: i32,
        api: &'static str,
        timeout: Duration,
    ) -> Result<Bytes> {
        let waiting = self.start_roundtrip(frame, correlation_id, api).await?;
        self.finish_roundtrip(waiting, api, timeout).await
    }

    /// Takes an in-flight slot and queues the frame for the writer.
    async fn start_roundtrip(
        &self,
        frame: Vec<Bytes>,
        correlation_id: i32,
        api: &'static str,
    ) -> Result<Waiting> {
        let permit: OwnedSemaphorePermit = self
            .inner
            .in_flight
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::closed("send"))?;
        self.queue_frame(frame, correlation_id, api, Some(permit))
            .await
    }

    /// Queues the frame for the writer and registers where its response goes.
    async fn queue_frame(
        &self,
        frame: Vec<Bytes>,
        correlation_id: i32,
        api: &'static str,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Result<Waiting> {
        self.check_open(api)?;
        let (reply, rx) = oneshot::channel();
        self.inner
            .tx
            .send(Outgoing {
                frame,
                pending: Some(Pending {
                    correlation_id,
                    api,
                    reply,
                }),
            })
            .map_err(|_| self.closed_error(api))?;
        self.emit_queue_size();
        Ok(Waiting { permit, rx })
    }

    /// Waits for the response of a queued request.
    async fn finish_roundtrip(
        &self,
        waiting: Waiting,
        api: &'static str,
        timeout: Duration,
    ) -> Result<Bytes> {
        let Waiting { permit, rx } = waiting;
        let result = tokio::time::timeout(timeout, rx).await;
        drop(permit);
        match result {
            Ok(Ok(res)) => res.map_err(|e| request_error(api, &self.inner.addr, &e)),
            Ok(Err(_)) => Err(self.closed_error(api)),
            Err(_) => {
                // Responses come in order: with one missing, the connection cannot be trusted.
                // A frame still arriving (however slowly) does not count as an answer.
                let err = Error::new(
                    ErrorKind::Timeout(timeout),
                    api,
                    format!(
                        "{api} request to broker {}: no response within the request timeout; the connection is closed and will be reopened",
                        self.inner.addr
                    ),
                );
                if let Ok(mut shared) = self.inner.shared.lock() {
                    shared.timed_out = true;
                }
                self.fail(Error::new(
                    ErrorKind::Connection,
                    api,
                    format!("the connection was closed after a {api} request got no response within {timeout:?}"),
                ));
                self.emit(|addr| Event::RequestTimeout {
                    broker: addr,
                    api,
                    timeout,
                });
                Err(err)
            }
        }
    }

    fn fail(&self, err: Error) {
        fail_all(&self.inner.shared, err);
        // Wakes the reader and the writer too: both stop, and the socket is closed.
        self.inner.drained.notify_waiters();
    }

    /// Fails every request in flight with `err` and closes the socket at once: the broker is
    /// known to be no use (it lost its partitions while silent). The pool opens a new
    /// connection on the next use.
    pub(crate) fn abandon(&self, err: Error) {
        self.fail(err);
    }

    /// Stops accepting requests, waits up to `timeout` for those in flight, then closes.
    pub async fn close(&self, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.drained.notified();
            let empty = self
                .inner
                .shared
                .lock()
                .map(|s| s.queue.is_empty() || s.failed.is_some())
                .unwrap_or(true);
            if empty || tokio::time::timeout_at(deadline, notified).await.is_err() {
                break;
            }
        }
        self.fail(Error::closed("close"));
    }

    fn emit(&self, make: impl FnOnce(String) -> Event) {
        if let Some(tx) = &self.inner.events {
            if tx.receiver_count() > 0 {
                let _ = tx.send(make(self.inner.addr.clone()));
            }
        }
    }

    fn emit_queue_size(&self) {
        if self
            .inner
            .events
            .as_ref()
            .is_some_and(|tx| tx.receiver_count() > 0)
        {
            let queue_size = self.inner.shared.lock().map(|s| s.queue.len()).unwrap_or(0);
            self.emit(|broker| Event::RequestQueueSize { broker, queue_size });
        }
    }
}

/// The error a request gets from a failed connection: `cause` with that request's API and the
/// broker's address, so a failure shared by several requests tells each what it cost.
fn request_error(api: &'static str, addr: &str, cause: &Error) -> Error {
    cause.clone().restate(
        cause.kind().clone(),
        api,
        format!("{api} request to broker {addr}: {}", cause.message()),
    )
}

/// The cause given to a request that was not on the wire when the connection failed: whatever
/// broke it (garbage, a timeout, ...), this request only needs another connection, which the
/// pool opens (a holder of the connection, such as a group coordinator, must let go of it).
fn already_failed(cause: &Error) -> Error {
    if cause.kind() == &ErrorKind::Closed {
        return cause.clone();
    }
    cause.clone().restate(
        ErrorKind::Connection,
        cause.operation(),
        format!("the connection had failed already ({})", cause.message()),
    )
}

fn fail_all(shared: &Mutex<Shared>, err: Error) {
    let pending: Vec<Pending> = match shared.lock() {
        Ok(mut s) => {
            if s.failed.is_none() {
                s.failed = Some(err.clone());
            }
            s.queue.drain(..).collect()
        }
        Err(_) => Vec::new(),
    };
    for p in pending {
        let _ = p.reply.send(Err(err.clone()));
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    writer: W,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    shared: Arc<Mutex<Shared>>,
    drained: Arc<Notify>,
    addr: String,
    events: Option<tokio::sync::broadcast::Sender<Event>>,
) {
    let mut writer = BufWriter::with_capacity(64 * 1024, writer);
    let work = async {
        while let Some(first) = rx.recv().await {
            let mut next = Some(first);
            // Coalesce whatever is queued into one flush.
            while let Some(out) = next.take() {
                if let Some(p) = out.pending {
                    let mut s = match shared.lock() {
                        Ok(s) => s,
                        Err(_) => return false,
                    };
                    if let Some(e) = &s.failed {
                        let _ = p.reply.send(Err(already_failed(e)));
                        continue;
                    }
                    s.queue.push_back(p);
                }
                for piece in &out.frame {
                    if let Err(e) = writer.write_all(piece).await {
                        on_io_error(&shared, &drained, &addr, &events, write_error(e));
                        return false;
                    }
                }
                next = rx.try_recv().ok();
            }
            if let Err(e) = writer.flush().await {
                on_io_error(&shared, &drained, &addr, &events, write_error(e));
                return false;
            }
            if shared.lock().map(|s| s.failed.is_some()).unwrap_or(true) {
                return false;
            }
        }
        true
    };
    // A failure found elsewhere (the reader, a timeout, close) stops the writer too, even in
    // the middle of a write to a broker that does not read: the socket must not outlive it.
    let clean = tokio::select! {
        clean = work => clean,
        _ = wait_failed(&shared, &drained) => false,
    };
    if clean {
        let _ = writer.shutdown().await;
    }
    rx.close();
    let cause = shared
        .lock()
        .ok()
        .and_then(|s| s.failed.as_ref().map(already_failed));
    while let Ok(out) = rx.try_recv() {
        if let (Some(p), Some(e)) = (out.pending, &cause) {
            let _ = p.reply.send(Err(e.clone()));
        }
    }
}

fn write_error(e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Connection,
        "write",
        format!("the connection broke while sending: {e}"),
    )
    .with_source(e)
}

/// Fails the connection for an I/O or framing fault seen by the reader or the writer.
fn on_io_error(
    shared: &Mutex<Shared>,
    drained: &Notify,
    addr: &str,
    events: &Option<tokio::sync::broadcast::Sender<Event>>,
    err: Error,
) {
    tracing::debug!(broker = addr, error = %err, "connection failed");
    fail_all(shared, err.clone());
    // Stops the other I/O task: the socket closes once both have let go of it.
    drained.notify_waiters();
    if let Some(tx) = events {
        let _ = tx.send(Event::Disconnect {
            broker: addr.to_string(),
            reason: Some(format!("broker {addr}: {}", err.message())),
        });
    }
}

async fn read_loop<R: AsyncRead + Unpin>(
    mut reader: R,
    max_response: usize,
    shared: Arc<Mutex<Shared>>,
    drained: Arc<Notify>,
    addr: String,
    events: Option<tokio::sync::broadcast::Sender<Event>>,
) {
    loop {
        let frame = tokio::select! {
            f = read_frame(&mut reader, max_response) => f,
            _ = wait_failed(&shared, &drained) => return,
        };
        let frame = match frame {
            Ok(Some(f)) => f,
            Ok(None) => {
                let err = Error::new(
                    ErrorKind::Connection,
                    "read",
                    "the broker closed the connection",
                );
                on_io_error(&shared, &drained, &addr, &events, err);
                return;
            }
            Err(e) => {
                // The frame's own verdict (too large, not Kafka, cut short) is the cause.
                on_io_error(&shared, &drained, &addr, &events, e);
                return;
            }
        };
        let routed = peek_correlation_id(&frame).and_then(|cid| {
            let mut s = shared
                .lock()
                .map_err(|_| Error::protocol("read", "connection state poisoned"))?;
            match s.queue.front() {
                Some(p) if p.correlation_id == cid => Ok(s.queue.pop_front()),
                Some(p) => Err(Error::protocol(
                    "read",
                    format!(
                        "the broker answered correlation id {cid} while the {} request with correlation id {} was waiting (responses out of order, or meant for another connection); the connection is closed",
                        p.api, p.correlation_id
                    ),
                )),
                None => Err(Error::protocol(
                    "read",
                    format!(
                        "the broker sent a response (correlation id {cid}) with no request waiting; the connection is closed"
                    ),
                )),
            }
        });
        match routed {
            Ok(Some(p)) => {
                let _ = p.reply.send(Ok(frame));
                drained.notify_waiters();
            }
            Ok(None) => {}
            Err(e) => {
                on_io_error(&shared, &drained, &addr, &events, e);
                return;
            }
        }
    }
}

/// Resolves once the connection has failed (so the reader stops even while the socket is idle).
async fn wait_failed(shared: &Mutex<Shared>, drained: &Notify) {
    loop {
        let notified = drained.notified();
        if shared.lock().map(|s| s.failed.is_some()).unwrap_or(true) {
            return;
        }
        notified.await;
    }
}

/// The first request failed: say what a security mismatch would look like.
fn explain_first_request(e: Error, tls: bool, sasl: bool) -> Error {
    if !matches!(e.kind(), ErrorKind::Connection | ErrorKind::Protocol) {
        return e;
    }
    let text = e.message().to_string();
    let hint = if tls && text.contains("CertificateRequired") {
        "the broker requires a client certificate (mTLS): set TlsConfig::client_cert_files (CLI --tls-cert-file/--tls-key-file)"
    } else if tls {
        "the broker closed the connection after the TLS handshake; if it requires client certificates (mTLS), set TlsConfig::client_cert_files"
    } else if sasl {
        "the broker closed the connection before authentication; if this listener uses TLS (SASL_SSL), enable TLS too"
    } else {
        "the broker closed the connection at once; if this listener needs TLS (SSL) or SASL, configure them (KafkaConfig::tls / ::sasl)"
    };
    // A TLS alert right after the handshake is the broker refusing this client (mTLS).
    let kind = if tls && text.contains("fatal alert") {
        ErrorKind::Auth
    } else {
        e.kind().clone()
    };
    Error::new(kind, e.operation(), format!("{text}; {hint}"))
}

/// Decodes a response frame (header included). Never panics: a malformed frame from a
/// broker is a protocol error naming the field and the byte. The generated decoders are
/// bounded by the frame (at most the connection's `max_response_size`): a length past the
/// bytes left is refused before anything is reserved. `max_decoded` bounds the memory the
/// decoded response may take (the connection passes its `max_response_size`).
pub(crate) fn decode_response<R: Request>(
    frame: Bytes,
    version: i16,
    addr: &str,
    max_decoded: usize,
) -> Result<R::Response> {
    let mut r = Reader::with_budget(frame, max_decoded);
    let decoded = ResponseHeader::decode(&mut r, R::response_header_version(version))
        .map_err(|e| e.within("ResponseHeader"))
        .and_then(|_| R::Response::decode(&mut r, version));
    let leftover = r.remaining();
    match decoded {
        Ok(resp) if leftover == 0 => Ok(resp),
        Ok(_) => Err(Error::protocol(
            "decode_response",
            format!(
                "malformed {} v{version} response from broker {addr}: trailing bytes ({leftover} left over after the response); the peer and kafkit disagree on its layout (is this a Kafka broker?)",
                api_name(R::KEY)
            ),
        )),
        Err(e) if e.too_large => Err(Error::new(
            ErrorKind::TooLarge,
            "decode_response",
            format!(
                "{} v{version} response from broker {addr} is too large: {e} ({max_decoded} bytes); {RAISE_MAX_RESPONSE_SIZE}",
                api_name(R::KEY)
            ),
        )
        .with_source(e)),
        Err(e) => Err(Error::protocol(
            "decode_response",
            format!(
                "malformed {} v{version} response from broker {addr}: {e}; the peer is not a Kafka broker or is broken (is this a Kafka listener, with the right security protocol?)",
                api_name(R::KEY)
            ),
        )
        .with_source(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::messages::ListGroupsRequest;

    /// A well-formed ListGroups v5 response (flexible) of `n` groups with empty fields.
    fn list_groups_frame(n: usize) -> Bytes {
        let mut f = vec![0, 0, 0, 1, 0]; // correlation id, header tags
        f.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // throttle, error code
        let mut len = n as u32 + 1; // compact array length as an unsigned varint
        while len >= 0x80 {
            f.push((len as u8 & 0x7f) | 0x80);
            len >>= 7;
        }
        f.push(len as u8);
        for _ in 0..n {
            f.extend_from_slice(&[1, 1, 1, 1, 0]); // four empty strings, no tags
        }
        f.push(0);
        Bytes::from(f)
    }

    #[test]
    fn a_response_too_large_to_decode_names_the_limit_not_a_broken_broker() {
        let frame = list_groups_frame(1000);
        decode_response::<ListGroupsRequest>(frame.clone(), 5, "b:9092", 1 << 20).unwrap();
        let e = decode_response::<ListGroupsRequest>(frame, 5, "b:9092", 50_000).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::TooLarge, "{e}");
        let text = e.to_string();
        for part in [
            "ListGroups v5",
            "b:9092",
            "50000",
            "KafkaConfig::max_response_size",
            "--max-response-size",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
        assert!(
            !text.contains("malformed") && !text.contains("not a Kafka broker"),
            "{text}"
        );
    }

    #[test]
    fn a_broken_response_is_still_malformed() {
        let mut frame = list_groups_frame(3).to_vec();
        frame.push(9); // a trailing byte
        let e = decode_response::<ListGroupsRequest>(Bytes::from(frame), 5, "b:9092", 1 << 20)
            .unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Protocol, "{e}");
        assert!(e.to_string().contains("malformed"), "{e}");
    }
}
