//! The reference document's "Server-Side Assignor Configuration": the broker assigns the
//! partitions with the assignor the consumer names (`uniform`, the default, or `range`; set
//! `KAFKIT_EXAMPLE_ASSIGNOR` to choose). Prints the assignment at each join and each change.
//!
//! ```sh
//! cargo run -p kafkit --example remote_assignor
//! ```

mod common;

use kafkit::consumer::{ConsumerConfig, GroupProtocol};
use kafkit::{Event, Kafka, KafkaConfig};

#[tokio::main]
async fn main() -> kafkit::Result<()> {
    let kafka = Kafka::connect(KafkaConfig::new([common::bootstrap()]).client_id("my-app")).await?;
    let assignor = std::env::var("KAFKIT_EXAMPLE_ASSIGNOR").unwrap_or_else(|_| "uniform".into());

    let consumer = kafka.consumer(
        ConsumerConfig::new(common::group("my-group"))
            .group_protocol(GroupProtocol::Consumer)
            .remote_assignor(&assignor), // or "range"
    )?;

    let mut events = kafka.events();
    tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            let names = |tps: &[kafkit::TopicPartition]| {
                tps.iter()
                    .map(|tp| tp.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            match event {
                Event::GroupJoin { assignment, .. } => {
                    println!("joined with assignor {assignor}: {}", names(&assignment))
                }
                // A topic created just now may reach the assignor a heartbeat later.
                Event::Heartbeat { added, .. } if !added.is_empty() => {
                    println!("assigned by {assignor}: {}", names(&added))
                }
                _ => {}
            }
        }
    });

    let topics = common::topics(&["my-topic"]);
    let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics, false).await?;
    common::stop_on_ctrl_c(&consumer);
    consumer
        .run_each_message(|message| async move {
            println!(
                "{}[{}]@{}",
                message.topic, message.partition, message.offset
            );
            Ok(())
        })
        .await
}
