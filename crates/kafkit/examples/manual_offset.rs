//! The reference document's "Consumer with Manual Offset Control": auto-commit off, and each
//! record's offset + 1 committed by hand once it is processed. A record whose processing fails
//! is reported and not committed.
//!
//! ```sh
//! cargo run -p kafkit --example manual_offset
//! ```

mod common;

use std::time::Duration;

use kafkit::consumer::{ConsumerConfig, GroupProtocol, Message};
use kafkit::{Kafka, KafkaConfig, TopicPartition};

/// Your processing; here it prints the record.
async fn process_message(message: &Message) -> kafkit::Result<()> {
    let value = message.value.as_deref().unwrap_or_default();
    println!(
        "processed {}: {}",
        message.offset,
        String::from_utf8_lossy(value)
    );
    Ok(())
}

#[tokio::main]
async fn main() -> kafkit::Result<()> {
    let kafka = Kafka::connect(KafkaConfig::new([common::bootstrap()]).client_id("my-app")).await?;

    let consumer = kafka.consumer(
        ConsumerConfig::new(common::group("manual-offset-group"))
            .group_protocol(GroupProtocol::Consumer)
            .rebalance_timeout(Duration::from_millis(120000))
            .auto_commit(false),
    )?;

    consumer.connect().await?;
    let topic = &common::topics(&["critical-events"])[0];
    consumer.subscribe(&[topic], false).await?;
    common::stop_on_ctrl_c(&consumer);

    let committer = consumer.clone();
    consumer
        .run_each_message(move |message| {
            let consumer = committer.clone();
            async move {
                let done = async {
                    process_message(&message).await?;
                    let tp = TopicPartition::new(message.topic.to_string(), message.partition);
                    consumer.commit_offsets(&[(tp, message.offset + 1)]).await
                };
                if let Err(error) = done.await {
                    eprintln!("Processing failed: {error}");
                }
                Ok(())
            }
        })
        .await
}
