//! One client process of the failover benchmark (`bench/failover.py`), or a metadata probe.
//!
//!   failover kafkit|rdkafka produce BOOTSTRAP TOPIC RATE SECONDS
//!   failover kafkit|rdkafka consume BOOTSTRAP TOPIC GROUP SKIP
//!   failover meta BOOTSTRAP TOPIC...      `P topic partition leader isr_size` per partition
//!   failover coordinator BOOTSTRAP GROUP  `C node` (the group coordinator)
//!   failover watch BOOTSTRAP TOPIC        `L <ms> partition leader` whenever the metadata
//!                                         (asked every 200 ms) names a new leader
//!
//! The producer sends RATE records/s for SECONDS (acks=all, idempotent, key `k<seq % 1000>`;
//! value `<seq> <scheduled ms> ` padded to 100 bytes with `x`). Pacing follows a fixed schedule:
//! a producer that was blocked sends what is due at once, and the value carries the time the
//! record was due, so blocking counts as latency. Once every acknowledgement is in it prints
//! `A <10 ms bucket> <partition> <acks> <min scheduled ms> <max scheduled ms>` lines, `SENT n`,
//! `FAILED n`, `FAILEDSEQ ranges` and `ERR first error`.
//!
//! The consumer (KIP-848 group, reading from the start, the client's own auto-commit) prints
//! `S <ms> <deliveries> <distinct>` every second. On `STOP N` on stdin it prints
//! `C <10 ms bucket> <partition> <deliveries> <min scheduled ms>` lines, `LAT p50 p99 max` (ms, first
//! deliveries of seqs from SKIP on: the first are warm-up), `DELIVERIES n`, `DISTINCT n` and `MISSING ranges` (seqs of 0..N never read).
//! java/FailoverPeer.java speaks the same lines for the Java client.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use tokio::io::AsyncBufReadExt;

const SIZE: usize = 100;

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

fn value(seq: u64, sched: u64) -> Vec<u8> {
    let mut v = format!("{seq} {sched} ").into_bytes();
    v.resize(SIZE, b'x');
    v
}

/// `seq` and scheduled time from a value.
fn parse(v: &[u8]) -> Option<(u64, u64)> {
    let s = std::str::from_utf8(v.get(..v.len().min(40))?).ok()?;
    let mut it = s.split(' ');
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// "a-b,c" for sorted numbers; "-" for none.
fn ranges(xs: impl IntoIterator<Item = u64>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut cur: Option<(u64, u64)> = None;
    for x in xs {
        cur = match cur {
            Some((a, b)) if x == b + 1 => Some((a, x)),
            Some((a, b)) => {
                out.push(if a == b { a.to_string() } else { format!("{a}-{b}") });
                Some((x, x))
            }
            None => Some((x, x)),
        };
    }
    if let Some((a, b)) = cur {
        out.push(if a == b { a.to_string() } else { format!("{a}-{b}") });
    }
    if out.is_empty() {
        "-".into()
    } else {
        out.join(",")
    }
}

#[derive(Default)]
struct Acks {
    buckets: BTreeMap<(u64, i32), (u64, u64, u64)>,
    failed: Vec<u64>,
    first_err: Option<String>,
}

impl Acks {
    fn ok(&mut self, partition: i32, sched: u64) {
        let b = self.buckets.entry((now_ms() / 10 * 10, partition)).or_insert((0, u64::MAX, 0));
        b.0 += 1;
        b.1 = b.1.min(sched);
        b.2 = b.2.max(sched);
    }
    fn fail(&mut self, seq: u64, e: String) {
        self.failed.push(seq);
        self.first_err.get_or_insert(e);
    }
    fn print(&mut self, sent: u64) {
        let mut out = std::io::BufWriter::new(std::io::stdout());
        for ((t, p), (n, lo, hi)) in &self.buckets {
            writeln!(out, "A {t} {p} {n} {lo} {hi}").unwrap();
        }
        self.failed.sort_unstable();
        writeln!(out, "SENT {sent}").unwrap();
        writeln!(out, "FAILED {}", self.failed.len()).unwrap();
        writeln!(out, "FAILEDSEQ {}", ranges(self.failed.iter().copied())).unwrap();
        if let Some(e) = &self.first_err {
            writeln!(out, "ERR {}", e.replace('\n', " ")).unwrap();
        }
        out.flush().unwrap();
    }
}

/// RATE records a second for SECONDS, on a fixed schedule: `next` waits until the next record
/// is due and gives its seq and scheduled time (at once if it is overdue).
struct Pacer {
    rate: u64,
    total: u64,
    seq: u64,
    start: Instant,
    start_ms: u64,
}

impl Pacer {
    fn new(rate: u64, secs: u64) -> Self {
        Pacer { rate, total: rate * secs, seq: 0, start: Instant::now(), start_ms: now_ms() }
    }
    async fn next(&mut self) -> Option<(u64, u64)> {
        if self.seq >= self.total {
            return None;
        }
        while (self.start.elapsed().as_micros() as u64) * self.rate / 1_000_000 < self.seq {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        self.seq += 1;
        Some((self.seq - 1, self.start_ms + (self.seq - 1) * 1000 / self.rate))
    }
}

#[derive(Default)]
struct Seen {
    skip: u64,
    bits: Vec<u64>,
    deliveries: u64,
    distinct: u64,
    hist: Vec<u64>,
    buckets: BTreeMap<(u64, i32), (u64, u64)>,
}

impl Seen {
    fn record(&mut self, partition: i32, v: Option<&[u8]>) {
        let Some((seq, sched)) = v.and_then(parse) else {
            return;
        };
        let now = now_ms();
        self.deliveries += 1;
        let b = self.buckets.entry((now / 10 * 10, partition)).or_insert((0, u64::MAX));
        b.0 += 1;
        b.1 = b.1.min(sched);
        let (w, bit) = ((seq / 64) as usize, 1u64 << (seq % 64));
        if self.bits.len() <= w {
            self.bits.resize(w + 1, 0);
        }
        if self.bits[w] & bit == 0 {
            self.bits[w] |= bit;
            self.distinct += 1;
            if seq < self.skip {
                return;
            }
            let lat = now.saturating_sub(sched) as usize;
            if self.hist.len() <= lat {
                self.hist.resize(lat + 1, 0);
            }
            self.hist[lat] += 1;
        }
    }
    fn has(&self, seq: u64) -> bool {
        self.bits.get((seq / 64) as usize).is_some_and(|w| w & (1 << (seq % 64)) != 0)
    }
    fn quantile(&self, q: f64) -> usize {
        let n: u64 = self.hist.iter().sum();
        let want = ((n as f64) * q).ceil() as u64;
        let mut acc = 0;
        for (ms, c) in self.hist.iter().enumerate() {
            acc += c;
            if acc >= want.max(1) {
                return ms;
            }
        }
        0
    }
    fn print(&self, n: u64) {
        let mut out = std::io::BufWriter::new(std::io::stdout());
        for ((t, p), (c, lo)) in &self.buckets {
            writeln!(out, "C {t} {p} {c} {lo}").unwrap();
        }
        let max = self.hist.len().saturating_sub(1);
        writeln!(out, "LAT {} {} {max}", self.quantile(0.5), self.quantile(0.99)).unwrap();
        writeln!(out, "DELIVERIES {}", self.deliveries).unwrap();
        writeln!(out, "DISTINCT {}", self.distinct).unwrap();
        writeln!(out, "MISSING {}", ranges((0..n).filter(|&s| !self.has(s)))).unwrap();
        out.flush().unwrap();
    }
}

/// Prints progress every second until `STOP N` arrives on stdin; then the summary, and exits.
async fn report(seen: Arc<Mutex<Seen>>) -> ! {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(1);
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(l)) = lines.next_line().await {
            if let Some(n) = l.strip_prefix("STOP ") {
                let _ = tx.send(n.trim().parse().unwrap()).await;
            }
        }
    });
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            n = rx.recv() => {
                seen.lock().unwrap().print(n.unwrap_or(0));
                std::process::exit(0);
            }
            _ = tick.tick() => {
                let (d, n) = { let s = seen.lock().unwrap(); (s.deliveries, s.distinct) };
                println!("S {} {d} {n}", now_ms());
            }
        }
    }
}

#[tokio::main]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    let arg = |i: usize| a.get(i).map(String::as_str).unwrap_or_else(|| panic!("usage: see the file header"));
    match (arg(1), arg(2)) {
        ("meta", boot) => meta(boot, &a[3..]).await,
        ("watch", boot) => watch(boot, arg(3)).await,
        ("coordinator", boot) => {
            let kafka = kafkit::Kafka::connect(kafkit::KafkaConfig::new(boot.split(','))).await.unwrap();
            let c = kafka.find_coordinator(kafkit::cluster::CoordinatorType::Group, arg(3))
                .await
                .unwrap();
            println!("C {c}");
        }
        (client, "produce") => {
            let (boot, topic) = (arg(3), arg(4));
            let (rate, secs) = (arg(5).parse().unwrap(), arg(6).parse().unwrap());
            let acks = Arc::new(Mutex::new(Acks::default()));
            let sent = match client {
                "kafkit" => kafkit_produce(boot, topic, rate, secs, &acks).await,
                "rdkafka" => rd_produce(boot, topic, rate, secs, &acks).await,
                _ => panic!("client {client}"),
            };
            acks.lock().unwrap().print(sent);
            std::process::exit(0);
        }
        (client, "consume") => {
            let (boot, topic, group) = (arg(3), arg(4), arg(5));
            let seen = Arc::new(Mutex::new(Seen { skip: arg(6).parse().unwrap(), ..Seen::default() }));
            tokio::spawn(report(seen.clone()));
            match client {
                "kafkit" => kafkit_consume(boot, topic, group, seen).await,
                "rdkafka" => rd_consume(boot, topic, group, seen).await,
                _ => panic!("client {client}"),
            }
            // The stream ended: wait for the driver's STOP (the report task exits).
            std::future::pending::<()>().await;
        }
        _ => panic!("usage: see the file header"),
    }
}

async fn meta(boot: &str, topics: &[String]) {
    let kafka = kafkit::Kafka::connect(kafkit::KafkaConfig::new(boot.split(','))).await.unwrap();
    for topic in topics {
        kafka.cluster().invalidate();
        let t = kafka.cluster().wait_for_topic(topic, Duration::from_secs(10)).await.unwrap();
        for p in 0.. {
            let Some(p) = t.partition(p) else { break };
            println!("P {topic} {} {} {}", p.partition, p.leader, p.isr.len());
        }
    }
}

async fn watch(boot: &str, topic: &str) {
    let kafka = kafkit::Kafka::connect(kafkit::KafkaConfig::new(boot.split(','))).await.unwrap();
    let mut last = std::collections::HashMap::new();
    loop {
        kafka.cluster().invalidate();
        let t = kafka.cluster().wait_for_topic(topic, Duration::from_secs(2));
        if let Ok(Ok(t)) = tokio::time::timeout(Duration::from_secs(3), t).await {
            for p in 0.. {
                let Some(p) = t.partition(p) else { break };
                if last.insert(p.partition, p.leader) != Some(p.leader) {
                    println!("L {} {} {}", now_ms(), p.partition, p.leader);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// kafkit with its defaults: acks=all, idempotent, request timeout 30 s, delivery timeout 120 s,
/// linger 5 ms, 32 MiB buffer.
async fn kafkit_produce(boot: &str, topic: &str, rate: u64, secs: u64, acks: &Arc<Mutex<Acks>>) -> u64 {
    use kafkit::producer::{ProducerConfig, Record};
    let kafka = kafkit::Kafka::connect(kafkit::KafkaConfig::new(boot.split(','))).await.unwrap();
    let producer = kafka.producer(ProducerConfig::default()).unwrap();
    let mut tasks = Vec::new();
    let mut pacer = Pacer::new(rate, secs);
    while let Some((seq, sched)) = pacer.next().await {
        let (v, k) = (value(seq, sched), format!("k{}", seq % 1000));
        let acks = acks.clone();
        match producer.send(Record::new(topic, &v).key(k.as_bytes())).await {
            Ok(f) => tasks.push(tokio::spawn(async move {
                match f.await {
                    Ok(m) => acks.lock().unwrap().ok(m.partition, sched),
                    Err(e) => acks.lock().unwrap().fail(seq, e.to_string()),
                }
            })),
            Err(e) => acks.lock().unwrap().fail(seq, e.to_string()),
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let _ = tokio::time::timeout(Duration::from_secs(30), producer.close()).await;
    pacer.total
}

async fn kafkit_consume(boot: &str, topic: &str, group: &str, seen: Arc<Mutex<Seen>>) {
    use kafkit::consumer::{ConsumerConfig, GroupProtocol};
    let kafka = kafkit::Kafka::connect(kafkit::KafkaConfig::new(boot.split(','))).await.unwrap();
    let consumer = kafka.consumer(ConsumerConfig::new(group).group_protocol(GroupProtocol::Consumer)).unwrap();
    consumer.subscribe(&[topic], true).await.unwrap();
    let mut stream = Box::pin(consumer.stream());
    while let Some(m) = stream.next().await {
        match m {
            Ok(m) => seen.lock().unwrap().record(m.partition, m.value.as_deref()),
            Err(e) => eprintln!("kafkit consume error: {e}"),
        }
    }
}

/// librdkafka set like the others: acks=all, idempotent, request timeout 30 s (broker side and
/// client side: `socket.timeout.ms`), delivery
/// (message) timeout 120 s, linger 5 ms, 32 MiB queue, the Java client's murmur2 partitioner.
async fn rd_produce(boot: &str, topic: &str, rate: u64, secs: u64, acks: &Arc<Mutex<Acks>>) -> u64 {
    use rdkafka::config::ClientConfig;
    use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", boot)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("request.timeout.ms", "30000")
        // librdkafka's own wait for an answer (default 60 s); request.timeout.ms is the broker's.
        .set("socket.timeout.ms", "30000")
        .set("message.timeout.ms", "120000")
        .set("linger.ms", "5")
        .set("queue.buffering.max.kbytes", "32768")
        .set("queue.buffering.max.messages", "1000000")
        .set("partitioner", "murmur2_random")
        .create()
        .unwrap();
    let mut tasks = Vec::new();
    let mut pacer = Pacer::new(rate, secs);
    while let Some((seq, sched)) = pacer.next().await {
        let (v, k) = (value(seq, sched), format!("k{}", seq % 1000));
        loop {
            match producer.send_result(FutureRecord::to(topic).payload(&v).key(k.as_bytes())) {
                Ok(f) => {
                    let acks = acks.clone();
                    tasks.push(tokio::spawn(async move {
                        match f.await {
                            Ok(Ok(d)) => acks.lock().unwrap().ok(d.partition, sched),
                            Ok(Err((e, _))) => acks.lock().unwrap().fail(seq, e.to_string()),
                            Err(_) => acks.lock().unwrap().fail(seq, "canceled".into()),
                        }
                    }));
                    break;
                }
                // Queue full: wait, like a blocked send in the other clients.
                Err((e, _)) if e.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::QueueFull) => {
                    tokio::time::sleep(Duration::from_millis(1)).await
                }
                Err((e, _)) => {
                    acks.lock().unwrap().fail(seq, e.to_string());
                    break;
                }
            }
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let _ = producer.flush(Duration::from_secs(30));
    pacer.total
}

async fn rd_consume(boot: &str, topic: &str, group: &str, seen: Arc<Mutex<Seen>>) {
    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::Message;
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", boot)
        .set("group.id", group)
        .set("group.protocol", "consumer")
        .set("auto.offset.reset", "earliest")
        .set("socket.timeout.ms", "30000")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let mut stream = consumer.stream();
    while let Some(m) = stream.next().await {
        match m {
            Ok(m) => seen.lock().unwrap().record(m.partition(), m.payload()),
            Err(e) => eprintln!("rdkafka consume error: {e}"),
        }
    }
}
