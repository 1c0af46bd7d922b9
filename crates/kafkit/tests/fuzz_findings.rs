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

fn fake_config(fake: &FakeBroker) -> KafkaConfig {
    KafkaConfig::new([fake.addr.clone()])
        .connect_timeout(Duration::from_millis(500))
        .request_timeout(Duration::from_millis(500))
}

/// A subscribe refused for good (the coordinator lookup answers GROUP_AUTHORIZATION_FAILED):
/// a run or stream started anyway gives that error at once. Before, the stream waited for
/// ever (the fuzzer's hang) and a run never returned.
#[tokio::test]
async fn after_a_failed_subscribe_run_and_stream_give_its_error() {
    let fake = FakeBroker::start().await;
    fake.add_topic("t", 1, 0);
    fake.script(|inc| {
        if inc.is(ApiKey::FindCoordinator) {
            let req: kafka_protocol::messages::FindCoordinatorRequest = inc.decode();
            let mut r = kafka_protocol::messages::FindCoordinatorResponse::default();
            if inc.version >= 4 {
                for key in req.coordinator_keys {
                    let mut c =
                        kafka_protocol::messages::find_coordinator_response::Coordinator::default();
                    c.key = key;
                    c.error_code = 30;
                    r.coordinators.push(c);
                }
            } else {
                r.error_code = 30;
            }
            return Act::Send(server::frame::<
                kafka_protocol::messages::FindCoordinatorRequest,
            >(inc.correlation_id, inc.version, &r));
        }
        Act::Answer
    });
    let kafka = Kafka::connect(fake_config(&fake)).await.unwrap();
    let consumer = kafka
        .consumer(ConsumerConfig::new("g").group_protocol(GroupProtocol::Consumer))
        .unwrap();
    let e = consumer.subscribe(&["t"], true).await.unwrap_err();
    assert!(e.to_string().contains("GROUP_AUTHORIZATION_FAILED"), "{e}");
    let run = tokio::time::timeout(
        Duration::from_secs(5),
        consumer.run_each_message(|_m| async { Ok(()) }),
    )
    .await
    .expect("run returns at once");
    assert_eq!(run.unwrap_err(), e);
    let mut s = Box::pin(consumer.stream());
    let first = tokio::time::timeout(Duration::from_secs(5), s.next())
        .await
        .expect("the stream answers at once");
    assert!(matches!(first, Some(Err(ref x)) if *x == e), "{first:?}");
    let end = tokio::time::timeout(Duration::from_secs(5), s.next()).await;
    assert!(matches!(end, Ok(None)), "then it ends: {end:?}");
    // Polled again after its end, it stays ended: the fuzzer found the stream panicking
    // there ("Unfold must not be polled after it returned None").
    assert!(s.next().await.is_none());
}

/// The member is refused for good after it joined (a heartbeat answered
/// GROUP_AUTHORIZATION_FAILED): the consumer stops, and its run returns that error. Before,
/// the run returned Ok(()) as if it had been stopped.
#[tokio::test]
async fn a_consumer_that_stops_on_an_error_returns_it_from_run() {
    let fake = FakeBroker::start().await;
    fake.add_topic("t", 1, 0);
    fake.assign(vec![(fake.topic_id("t"), vec![0])]);
    fake.set_coordinator(0);
    let beats = Arc::new(Mutex::new(0));
    let b = beats.clone();
    fake.script(move |inc| {
        if inc.is(ApiKey::ConsumerGroupHeartbeat) {
            let mut n = b.lock().unwrap();
            *n += 1;
            if *n >= 2 {
                let mut r = kafka_protocol::messages::ConsumerGroupHeartbeatResponse::default();
                r.error_code = 30;
                return Act::Send(server::frame::<
                    kafka_protocol::messages::ConsumerGroupHeartbeatRequest,
                >(inc.correlation_id, inc.version, &r));
            }
        }
        Act::Answer
    });
    let kafka = Kafka::connect(fake_config(&fake)).await.unwrap();
    let mut c = ConsumerConfig::new("g").group_protocol(GroupProtocol::Consumer);
    c.max_wait = Duration::from_millis(50);
    let consumer = kafka.consumer(c).unwrap();
    consumer.subscribe(&["t"], true).await.unwrap();
    let run = tokio::time::timeout(
        Duration::from_secs(10),
        consumer.run_each_message(|_m| async { Ok(()) }),
    )
    .await
    .expect("the run ends when the consumer stops");
    let e = run.unwrap_err();
    assert!(e.to_string().contains("GROUP_AUTHORIZATION_FAILED"), "{e}");
}

/// A share consumer's stream, polled again after it ended (the consumer closed), stays ended.
/// The fuzzer found it panicking there ("Unfold must not be polled after it returned None").
#[tokio::test]
async fn a_share_stream_polled_after_its_end_stays_ended() {
    let fake = FakeBroker::start().await;
    fake.add_topic("t", 1, 0);
    fake.assign(vec![(fake.topic_id("t"), vec![0])]);
    fake.set_coordinator(0);
    let kafka = Kafka::connect(fake_config(&fake)).await.unwrap();
    let consumer = kafka
        .share_consumer(kafkit::share::ShareConsumerConfig::new("s"))
        .unwrap();
    consumer.subscribe(&["t"]).await.unwrap();
    let mut s = Box::pin(consumer.stream());
    consumer.close().await.unwrap();
    for _ in 0..3 {
        let next = tokio::time::timeout(Duration::from_secs(5), s.next())
            .await
            .expect("a closed consumer's stream ends");
        assert!(next.is_none(), "{next:?}");
    }
}
