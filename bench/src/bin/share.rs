//! Share groups (KIP-932): CONSUMERS kafkit share consumers in one process (one `Kafka` handle)
//! accept every record of TOPIC, which holds RECORDS records, from a group started at the
//! earliest offset. `share BOOTSTRAP TOPIC GROUP RECORDS CONSUMERS`; prints
//! `SHARE <records> <seconds> <min per member> <max per member> <redelivered>` once RECORDS
//! distinct records were accepted (timed from the first subscribe).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafkit::share::ShareConsumerConfig;
use kafkit::{Kafka, KafkaConfig};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bootstrap = args[1].clone();
    let topic = args[2].clone();
    let group = args[3].clone();
    let records: u64 = args[4].parse().unwrap();
    let consumers: usize = args[5].parse().unwrap();
    let kafka = Kafka::connect(KafkaConfig::new([bootstrap])).await.unwrap();
    kafka
        .admin()
        .reset_share_group_offsets(&group, &topic, true)
        .await
        .unwrap();
    let total = Arc::new(AtomicU64::new(0));
    let redelivered = Arc::new(AtomicU64::new(0));
    let per_member: Vec<Arc<AtomicU64>> = (0..consumers).map(|_| Arc::default()).collect();
    let start = Instant::now();
    let mut members = Vec::new();
    for count in &per_member {
        let c = kafka.share_consumer(ShareConsumerConfig::new(&group)).unwrap();
        c.subscribe(&[&topic]).await.unwrap();
        let (c2, count, total, again) = (c.clone(), count.clone(), total.clone(), redelivered.clone());
        tokio::spawn(async move {
            c2.run_each_message(move |r| {
                count.fetch_add(1, Ordering::Relaxed);
                total.fetch_add(1, Ordering::Relaxed);
                if r.delivery_count > 1 {
                    again.fetch_add(1, Ordering::Relaxed);
                }
                async { Ok(()) }
            })
            .await
        });
        members.push(c);
    }
    // Distinct records accepted: every delivery but the repeated ones.
    while total.load(Ordering::Relaxed) - redelivered.load(Ordering::Relaxed) < records {
        if start.elapsed() > Duration::from_secs(600) {
            panic!("only {} of {records} after 600 s", total.load(Ordering::Relaxed));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    let counts: Vec<u64> = per_member.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    println!(
        "SHARE {records} {secs:.3} {} {} {}",
        counts.iter().min().unwrap(),
        counts.iter().max().unwrap(),
        redelivered.load(Ordering::Relaxed)
    );
    for c in &members {
        let _ = c.close().await;
    }
}
