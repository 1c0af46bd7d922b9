//! One benchmark client run: `kafkit-bench CLIENT SCENARIO BOOTSTRAP TOPIC COUNT SIZE CODEC`.
//! CLIENT: kafkit | rdkafka | krafka | confluent (crates.io `confluent-kafka`). SCENARIO: produce (acks=all, idempotent) | consume (a group
//! consumer reading COUNT records from the start). Prints `RESULT <records> <seconds>`; the
//! driver (`bench/run`) measures CPU and peak RSS of the whole process.

use std::time::{Duration, Instant};

mod confluent_peer;
mod krafka_peer;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 8 {
        eprintln!("usage: kafkit-bench kafkit|rdkafka|krafka|confluent produce|consume BOOTSTRAP TOPIC COUNT SIZE CODEC");
        std::process::exit(2);
    }
    let (client, scenario, bootstrap, topic) = (&args[1], &args[2], &args[3], &args[4]);
    let count: usize = args[5].parse().expect("COUNT");
    let size: usize = args[6].parse().expect("SIZE");
    let codec = &args[7];
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let secs = rt.block_on(async {
        match (client.as_str(), scenario.as_str()) {
            ("kafkit", "produce") => kafkit_produce(bootstrap, topic, count, size, codec).await,
            ("kafkit", "consume") => kafkit_consume(bootstrap, topic, count).await,
            ("rdkafka", "produce") => rd::produce(bootstrap, topic, count, size, codec).await,
            ("rdkafka", "consume") => rd::consume(bootstrap, topic, count).await,
            ("krafka", "produce") => krafka_peer::produce(bootstrap, topic, count, size, codec).await,
            ("krafka", "consume") => krafka_peer::consume(bootstrap, topic, count).await,
            ("confluent", "produce") => confluent_peer::produce(bootstrap, topic, count, size, codec).await,
            ("confluent", "consume") => confluent_peer::consume(bootstrap, topic, count).await,
            _ => panic!("unknown client/scenario {client} {scenario}"),
        }
    });
    println!("RESULT {count} {secs:.3}");
}

async fn kafkit_produce(bootstrap: &str, topic: &str, count: usize, size: usize, codec: &str) -> f64 {
    use kafkit::producer::{ProducerConfig, Record};
    let kafka = kafkit::Kafka::connect(kafkit::KafkaConfig::new(bootstrap.split(','))).await.unwrap();
    let producer = kafka.producer(ProducerConfig::default().compression(codec.parse().unwrap())).unwrap();
    let value = vec![b'x'; size];
    let start = Instant::now();
    let mut pending = std::collections::VecDeque::new();
    for _ in 0..count {
        pending.push_back(producer.send(Record::new(topic, &value)).await.unwrap());
        // Keep the number of outstanding futures bounded, as an application would.
        if pending.len() > 100_000 {
            pending.pop_front().unwrap().await.unwrap();
        }
    }
    for f in pending {
        f.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    producer.close().await.unwrap();
    secs
}

async fn kafkit_consume(bootstrap: &str, topic: &str, count: usize) -> f64 {
    use kafkit::consumer::{ConsumerConfig, GroupProtocol};
    let kafka = kafkit::Kafka::connect(kafkit::KafkaConfig::new(bootstrap.split(','))).await.unwrap();
    let group = format!("bench-kafkit-{}", std::process::id());
    let consumer = kafka.consumer(ConsumerConfig::new(group).group_protocol(GroupProtocol::Consumer)).unwrap();
    let start = Instant::now();
    consumer.subscribe(&[topic], true).await.unwrap();
    // The stream is dropped at the end of `take_all`: what was taken counts as processed.
    take_all(Box::pin(consumer.stream()), count, "kafkit").await;
    let secs = start.elapsed().as_secs_f64();
    consumer.stop().await.unwrap();
    secs
}

/// Takes `count` records from `stream`, failing when none comes for 60 s. The watchdog is
/// re-armed every 10,000 records, not per record: a timeout per record (a clock read and a
/// timer entry each) cost as much CPU as the client spends on the record, and it would be
/// counted as the client's. The krafka and confluent peers poll batches, and have no such cost.
async fn take_all<S, T, E>(mut stream: S, count: usize, who: &str)
where
    S: futures::Stream<Item = Result<T, E>> + Unpin,
    E: std::fmt::Debug,
{
    use futures::StreamExt;
    const IDLE: Duration = Duration::from_secs(60);
    let idle = tokio::time::sleep(IDLE);
    tokio::pin!(idle);
    let mut n = 0;
    while n < count {
        tokio::select! {
            biased;
            item = stream.next() => match item {
                Some(Ok(_)) => {
                    n += 1;
                    if n % 10_000 == 0 {
                        idle.as_mut().reset(tokio::time::Instant::now() + IDLE);
                    }
                }
                Some(Err(e)) => panic!("{who} consume failed after {n}: {e:?}"),
                None => panic!("{who} consume stream ended after {n}"),
            },
            _ = &mut idle => panic!("{who} consume stopped after {n}: nothing for 60 s"),
        }
    }
}

mod rd {
    use std::time::{Duration, Instant};

    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

    pub async fn produce(bootstrap: &str, topic: &str, count: usize, size: usize, codec: &str) -> f64 {
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("compression.codec", codec)
            .set("linger.ms", "5")
            .set("queue.buffering.max.messages", "1000000")
            .create()
            .unwrap();
        let value = vec![b'x'; size];
        let start = Instant::now();
        let mut pending = std::collections::VecDeque::new();
        for _ in 0..count {
            loop {
                match producer.send_result(FutureRecord::<(), [u8]>::to(topic).payload(&value)) {
                    Ok(f) => {
                        pending.push_back(f);
                        break;
                    }
                    Err((_, _)) => {
                        // Queue full: wait for the oldest delivery.
                        if let Some(f) = pending.pop_front() {
                            f.await.unwrap().unwrap();
                        } else {
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                    }
                }
            }
            if pending.len() > 100_000 {
                pending.pop_front().unwrap().await.unwrap().unwrap();
            }
        }
        for f in pending {
            f.await.unwrap().unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        producer.flush(Duration::from_secs(30)).unwrap();
        secs
    }

    pub async fn consume(bootstrap: &str, topic: &str, count: usize) -> f64 {
        let group = format!("bench-rdkafka-{}", std::process::id());
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", &group)
            .set("group.protocol", "consumer")
            .set("auto.offset.reset", "earliest")
            .create()
            .unwrap();
        let start = Instant::now();
        consumer.subscribe(&[topic]).unwrap();
        super::take_all(consumer.stream(), count, "rdkafka").await;
        start.elapsed().as_secs_f64()
    }
}
