//! The consumer API's edges, against the fake broker of the hostile suite
//! (tests/hostile/server.rs). No Java needed: `cargo test -p kafkit --test edges`.

#[path = "hostile/server.rs"]
mod server;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::messages::{ApiKey, OffsetCommitRequest};
use kafkit::consumer::ConsumerConfig;
use kafkit::{Kafka, KafkaConfig, TopicPartition};
use server::{Act, FakeBroker, Incoming};

/// `stop()` from inside the handler, after the 7th record: the run ends after that record
/// (none after it handled), with the 7 committed. Before, the call waited for the handler
/// that made it, for ever.
#[tokio::test]
async fn stop_from_inside_the_handler_ends_the_run_after_that_record() {
    let fake = FakeBroker::start().await;
    fake.add_topic("t", 1, 0);
    let values: Vec<String> = (0..20).map(|i| format!("v{i}")).collect();
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    fake.append("t", 0, &values);
    fake.set_coordinator(0);
    let committed = Arc::new(Mutex::new(Vec::new()));
    let c = committed.clone();
    fake.script(move |inc: &Incoming| {
        if inc.is(ApiKey::OffsetCommit) {
            let req: OffsetCommitRequest = inc.decode();
            for p in req.topics.iter().flat_map(|t| t.partitions.iter()) {
                c.lock().unwrap().push(p.committed_offset);
            }
        }
        Act::Answer
    });
    let kafka = Kafka::connect(
        KafkaConfig::new([fake.addr.clone()]).request_timeout(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    let mut config = ConsumerConfig::new("g");
    config.max_wait = Duration::from_millis(50);
    let consumer = kafka.assigned_consumer(config).unwrap();
    let tp = TopicPartition::new("t", 0);
    consumer.assign(std::slice::from_ref(&tp)).await.unwrap();
    consumer.seek(tp, 0).unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let (s, c) = (seen.clone(), consumer.clone());
    let run = consumer.run_each_message(move |_m| {
        let (s, c) = (s.clone(), c.clone());
        async move {
            if s.fetch_add(1, Ordering::SeqCst) + 1 == 7 {
                c.stop().await?;
            }
            Ok(())
        }
    });
    tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("the run ends after the stop")
        .unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 7);
    assert_eq!(committed.lock().unwrap().iter().max(), Some(&7));
}
