//! The reference document's "Live Migration (Rolling Upgrade)": the old configuration (classic
//! protocol, client-side round-robin) and the new one (KIP-848). Run one instance with
//! `classic`, then restart it with `consumer`: the coordinator moves the group over while both
//! kinds of member are in it.
//!
//! ```sh
//! cargo run -p kafkit --example migration -- classic
//! cargo run -p kafkit --example migration -- consumer
//! ```

mod common;

use std::time::Duration;

use kafkit::consumer::{ConsumerConfig, GroupProtocol};
use kafkit::{Kafka, KafkaConfig};

#[tokio::main]
async fn main() -> kafkit::Result<()> {
    let kafka = Kafka::connect(KafkaConfig::new([common::bootstrap()]).client_id("my-app")).await?;
    let group = common::group("my-group");

    let config = match std::env::args().nth(1).as_deref() {
        // Old configuration (classic protocol)
        Some("classic") => ConsumerConfig::new(&group)
            .group_protocol(GroupProtocol::Classic)
            .session_timeout(Duration::from_millis(30000))
            .heartbeat_interval(Duration::from_millis(3000))
            .partition_assigners(["roundrobin"]),
        // New configuration (KIP-848 protocol)
        _ => ConsumerConfig::new(&group)
            .group_protocol(GroupProtocol::Consumer)
            .remote_assignor("uniform") // Optional, defaults to "uniform"
            .rebalance_timeout(Duration::from_millis(60000)),
    };
    let protocol = config.group_protocol;
    let consumer = kafka.consumer(config)?;

    let topic = &common::topics(&["my-topic"])[0];
    consumer.subscribe(&[topic], false).await?;
    common::stop_on_ctrl_c(&consumer);
    consumer
        .run_each_message(move |message| async move {
            let value = message.value.as_deref().unwrap_or_default();
            println!("{protocol}: {}", String::from_utf8_lossy(value));
            Ok(())
        })
        .await
}
