//! The reference document's "Basic Configuration": a KIP-848 consumer printing each record's
//! value. Ctrl-C stops it.
//!
//! ```sh
//! cargo run -p kafkit --example basic
//! ```

mod common;

use kafkit::consumer::{ConsumerConfig, GroupProtocol};
use kafkit::{Kafka, KafkaConfig};

#[tokio::main]
async fn main() -> kafkit::Result<()> {
    let kafka = Kafka::connect(KafkaConfig::new([common::bootstrap()]).client_id("my-app")).await?;

    let consumer = kafka.consumer(
        ConsumerConfig::new(common::group("my-group")).group_protocol(GroupProtocol::Consumer), // Enable KIP-848 protocol
    )?;

    consumer.connect().await?;
    let topic = &common::topics(&["my-topic"])[0];
    consumer.subscribe(&[topic], false).await?;
    common::stop_on_ctrl_c(&consumer);

    consumer
        .run_each_message(|message| async move {
            let value = message.value.as_deref().unwrap_or_default();
            println!("{{ value: '{}' }}", String::from_utf8_lossy(value));
            Ok(())
        })
        .await
}
