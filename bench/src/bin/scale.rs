//! Scale: PARTITIONS partitions and MEMBERS KIP-848 members in one process reach a complete,
//! disjoint, stable assignment. `scale BOOTSTRAP PARTITIONS MEMBERS`; prints
//! `SCALE <seconds to a complete disjoint assignment>`.
//!
//! `scale consume BOOTSTRAP PARTITIONS RECORDS [ROUNDS]`: one KIP-848 member reads RECORDS
//! x 100 B spread evenly over PARTITIONS partitions, with fetch sessions (KIP-227) on and off
//! in turn (a new group each time), then stays caught up for a few seconds; prints a
//! `FETCH ...` line per run with records/s and the fetch requests it sent.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use kafkit::consumer::{ConsumerConfig, GroupProtocol};
use kafkit::{Kafka, KafkaConfig, NewTopic};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("consume") {
        return consume_mode(&args[2..]).await;
    }
    let bootstrap = args.get(1).cloned().unwrap_or_else(|| "127.0.0.1:9092".into());
    let partitions: i32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let members: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(100);
    let kafka = Kafka::connect(KafkaConfig::new([bootstrap])).await.unwrap();
    let topic = format!("bench-scale-{}", std::process::id());
    kafka.admin().create_topics(&[NewTopic::new(&topic, partitions)]).await.unwrap();
    let group = format!("bench-scale-{}", std::process::id());
    let start = Instant::now();
    let mut consumers = Vec::new();
    for _ in 0..members {
        let c = kafka.consumer(ConsumerConfig::new(&group).group_protocol(GroupProtocol::Consumer)).unwrap();
        c.subscribe(&[&topic], true).await.unwrap();
        consumers.push(c);
    }
    let subscribed = start.elapsed();
    loop {
        let mut all = BTreeSet::new();
        let mut ok = true;
        let mut owned = 0;
        for c in &consumers {
            let a = c.assignment().await.unwrap();
            if a.is_empty() {
                ok = false;
            }
            owned += a.len();
            for tp in a {
                ok &= all.insert(tp.partition);
            }
        }
        if ok && all.len() == partitions as usize {
            break;
        }
        if start.elapsed() > Duration::from_secs(300) {
            panic!("no complete assignment after 300 s: {owned} owned, {} distinct", all.len());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    println!("subscribed {members} members in {:.2}s", subscribed.as_secs_f64());
    println!("SCALE {secs:.2}");
    for c in &consumers {
        c.stop().await.unwrap();
    }
    let _ = kafka.admin().delete_topics(&[&topic]).await;
}

/// How long a member stays caught up after the last record, its fetches counted apart.
const IDLE: Duration = Duration::from_secs(5);

/// Fetch requests and the bytes they carried, as the client's events report them.
#[derive(Default, Clone, Copy)]
struct Sent {
    requests: u64,
    bytes: u64,
}

async fn consume_mode(args: &[String]) {
    use futures::StreamExt;
    use kafkit::producer::{ProducerConfig, Record};
    use kafkit::Event;

    let bootstrap = args.first().cloned().unwrap_or_else(|| "127.0.0.1:9092".into());
    let partitions: i32 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let records: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let rounds: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(2);
    let topic = format!("bench-fetch-{}", std::process::id());
    {
        let kafka = Kafka::connect(KafkaConfig::new([bootstrap.clone()])).await.unwrap();
        kafka.admin().create_topics(&[NewTopic::new(&topic, partitions)]).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let producer = kafka.producer(ProducerConfig::default()).unwrap();
        let value = vec![b'x'; 100];
        let mut pending = std::collections::VecDeque::new();
        // Explicit partitions: the sticky partitioner would fill a few partitions only.
        for i in 0..records {
            let r = Record::new(&topic, &value).partition(i as i32 % partitions);
            pending.push_back(producer.send(r).await.unwrap());
            if pending.len() > 100_000 {
                pending.pop_front().unwrap().await.unwrap();
            }
        }
        for f in pending {
            f.await.unwrap();
        }
        producer.close().await.unwrap();
    }
    // On, off, then off, on: neither setting always runs first on a warmer broker.
    for round in 0..rounds {
        let order = if round % 2 == 0 { [true, false] } else { [false, true] };
        for sessions in order {
            // A client of its own per run: its connections and events are this run's only.
            let kafka = Kafka::connect(KafkaConfig::new([bootstrap.clone()])).await.unwrap();
            let sent = std::sync::Arc::new(std::sync::Mutex::new(Sent::default()));
            let mut events = kafka.events();
            let counter = sent.clone();
            let listener = tokio::spawn(async move {
                loop {
                    match events.recv().await {
                        Ok(Event::Request { api: "Fetch", size, .. }) => {
                            let mut s = counter.lock().unwrap();
                            s.requests += 1;
                            s.bytes += size as u64;
                        }
                        Ok(_) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            eprintln!("events lagged: {n} missed");
                        }
                        Err(_) => break,
                    }
                }
            });
            let group = format!("bench-fetch-{}-{round}-{sessions}", std::process::id());
            let config = ConsumerConfig::new(&group)
                .group_protocol(GroupProtocol::Consumer)
                .fetch_sessions(sessions);
            let consumer = kafka.consumer(config).unwrap();
            let cpu0 = cpu_seconds();
            let start = Instant::now();
            consumer.subscribe(&[&topic], true).await.unwrap();
            let mut stream = Box::pin(consumer.stream());
            let mut n = 0;
            let mut first = None;
            while n < records {
                match tokio::time::timeout(Duration::from_secs(60), stream.next()).await {
                    Ok(Some(Ok(_))) => n += 1,
                    other => panic!("consume stopped after {n}: {:?}", other.map(|o| o.map(|r| r.err()))),
                }
                first.get_or_insert_with(|| start.elapsed());
            }
            let secs = start.elapsed().as_secs_f64();
            let cpu = cpu_seconds() - cpu0;
            let reading = *sent.lock().unwrap();
            // Caught up: whatever the member fetches now is long polls.
            let extra = tokio::time::timeout(IDLE, stream.next()).await;
            assert!(extra.is_err(), "a record past the last one");
            let idle_total = *sent.lock().unwrap();
            let idle = Sent {
                requests: idle_total.requests - reading.requests,
                bytes: idle_total.bytes - reading.bytes,
            };
            drop(stream);
            consumer.stop().await.unwrap();
            listener.abort();
            let first = first.unwrap().as_secs_f64();
            println!(
                "FETCH sessions={} records={n} secs={secs:.2} records_per_s={:.0} first_record_after={first:.2} \
                 first_to_last_records_per_s={:.0} cpu_s={cpu:.2} fetches={} fetches_per_s={:.1} bytes_per_fetch={:.0} \
                 idle_fetches_per_s={:.1} idle_bytes_per_fetch={:.0}",
                if sessions { "on" } else { "off" },
                n as f64 / secs,
                n as f64 / (secs - first).max(1e-3),
                reading.requests,
                reading.requests as f64 / secs,
                reading.bytes as f64 / reading.requests.max(1) as f64,
                idle.requests as f64 / IDLE.as_secs_f64(),
                idle.bytes as f64 / idle.requests.max(1) as f64,
            );
        }
    }
    let kafka = Kafka::connect(KafkaConfig::new([bootstrap])).await.unwrap();
    let _ = kafka.admin().delete_topics(&[&topic]).await;
}

/// User+sys CPU seconds of this process so far (Linux, from /proc; 100 ticks a second).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime: fields 14 and 15 of the line, indexes 11 and 12 after the name.
    (ticks(11) + ticks(12)) / 100.0
}
