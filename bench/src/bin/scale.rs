//! Scale: PARTITIONS partitions and MEMBERS KIP-848 members in one process reach a complete,
//! disjoint, stable assignment. `scale BOOTSTRAP PARTITIONS MEMBERS`; prints
//! `SCALE <seconds to a complete disjoint assignment>`.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use kafkit::consumer::{ConsumerConfig, GroupProtocol};
use kafkit::{Kafka, KafkaConfig, NewTopic};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
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
