//! The reference document's "Batch Processing with KIP-848": a batch handler that stops early
//! once the batch is obsolete (a seek, a revocation) or the consumer is stopping, resolves each
//! record it processed and reports its liveness.
//!
//! ```sh
//! cargo run -p kafkit --example batch_processing
//! ```

mod common;

use kafkit::consumer::{ConsumerConfig, GroupProtocol, Message};
use kafkit::{Kafka, KafkaConfig};

/// Your processing; here it prints the record.
async fn process_batch_message(message: &Message) {
    println!(
        "batch record {}[{}]@{}",
        message.topic, message.partition, message.offset
    );
}

#[tokio::main]
async fn main() -> kafkit::Result<()> {
    let kafka = Kafka::connect(KafkaConfig::new([common::bootstrap()]).client_id("my-app")).await?;

    let mut config = ConsumerConfig::new(common::group("batch-processor"))
        .group_protocol(GroupProtocol::Consumer);
    config.max_bytes_per_partition = 2 * 1024 * 1024; // 2MB per partition
    let consumer = kafka.consumer(config)?;

    consumer.connect().await?;
    let topic = &common::topics(&["analytics-events"])[0];
    consumer.subscribe(&[topic], false).await?;
    common::stop_on_ctrl_c(&consumer);

    consumer
        .run_each_batch(|ctx| async move {
            for message in &ctx.batch.messages {
                if !ctx.is_running() || ctx.is_stale() {
                    break;
                }

                process_batch_message(message).await;
                ctx.resolve_offset(message.offset);
                ctx.heartbeat().await?;
            }
            Ok(())
        })
        .await
}
