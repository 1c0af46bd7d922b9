//! What the stateful fuzzer (fuzz/fuzz_targets/consumer_stateful.rs) found, each kept as a
//! test against the fake broker of the hostile suite. No Java needed:
//! `cargo test -p kafkit --test fuzz_findings`.

#[path = "hostile/server.rs"]
mod server;
use futures::StreamExt;
use kafka_protocol::messages::ApiKey;
use kafkit::consumer::{AutoOffsetReset, ConsumerConfig, GroupProtocol};
use kafkit::{Kafka, KafkaConfig, RetryPolicy};
use server::{Act, FakeBroker};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The handshake of the coordinator's connection went unanswered while the consumer
/// subscribed: the subscribe failed with the timeout and the consumer never started, so its
/// stream waited for ever. A coordinator not reachable yet must be looked for again in the
/// background, as one lost later is.
#[tokio::test]
async fn an_unanswered_coordinator_handshake_at_subscribe_is_retried_in_the_background() {
    let fake = FakeBroker::start().await;
    fake.add_topic("t", 3, 0);
    for p in 0..3 {
        fake.append("t", p, &["a", "b"]);
    }
    fake.assign(vec![(fake.topic_id("t"), vec![0, 1, 2])]);
    fake.set_coordinator(0);
    let n = Arc::new(Mutex::new(0));
    let n2 = n.clone();
    fake.script(move |inc| {
        if inc.is(ApiKey::ApiVersions) {
            let mut n = n2.lock().unwrap();
            *n += 1;
            if *n == 3 {
                return Act::Ignore;
            }
        }
        Act::Answer
    });
    let mut kc = KafkaConfig::new([fake.addr.clone()])
        .connect_timeout(Duration::from_millis(300))
        .request_timeout(Duration::from_millis(300))
        .retry(RetryPolicy {
            retries: 2,
            initial_retry_time: Duration::from_millis(20),
            max_retry_time: Duration::from_millis(100),
            ..RetryPolicy::default()
        });
    kc.reconnect_backoff.initial = Duration::from_millis(10);
    kc.reconnect_backoff.max = Duration::from_millis(100);
    let kafka = Kafka::connect(kc).await.unwrap();
    let mut c = ConsumerConfig::new("g").group_protocol(GroupProtocol::Consumer);
    c.max_wait = Duration::from_millis(50);
    c.auto_offset_reset = AutoOffsetReset::Earliest;
    let consumer = kafka.consumer(c).unwrap();
    tokio::time::timeout(Duration::from_secs(3), consumer.subscribe(&["t"], true))
        .await
        .expect("subscribe returns")
        .expect("not reachable yet is not a failure");
    let mut s = Box::pin(consumer.stream());
    let mut got = 0;
    while got < 6 {
        let m = tokio::time::timeout(Duration::from_secs(10), s.next())
            .await
            .expect("the records, once the coordinator answers");
        assert!(matches!(m, Some(Ok(_))), "{m:?}");
        got += 1;
    }
}
