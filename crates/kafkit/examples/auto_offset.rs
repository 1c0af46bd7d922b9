//! The reference document's "Consumer with Auto-Offset Management": two topics, offsets
//! committed automatically (every 5 s, and on stop) for what the handler processed.
//!
//! ```sh
//! cargo run -p kafkit --example auto_offset
//! ```

mod common;

use kafkit::consumer::{ConsumerConfig, GroupProtocol};
use kafkit::{Kafka, KafkaConfig};

#[tokio::main]
async fn main() -> kafkit::Result<()> {
    let kafka = Kafka::connect(KafkaConfig::new([common::bootstrap()]).client_id("my-app")).await?;

    let consumer = kafka.consumer(
        ConsumerConfig::new(common::group("auto-offset-group"))
            .group_protocol(GroupProtocol::Consumer)
            .auto_commit(true),
    )?;

    consumer.connect().await?;
    let topics = common::topics(&["orders", "payments"]);
    let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics, false).await?;
    common::stop_on_ctrl_c(&consumer);

    consumer
        .run_each_message(|message| async move {
            let value = message.value.as_deref().unwrap_or_default();
            println!(
                "Processing {}[{}]: {}",
                message.topic,
                message.partition,
                String::from_utf8_lossy(value)
            );
            Ok(())
        })
        .await
}
