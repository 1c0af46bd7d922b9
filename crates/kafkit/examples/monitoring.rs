//! The reference document's "Monitoring and Observability": the GROUP_JOIN event (member
//! epoch, assignment) and the HEARTBEAT event of every heartbeat (with the assignment changes
//! it brought), printed as they come.
//!
//! ```sh
//! cargo run -p kafkit --example monitoring
//! ```

mod common;

use kafkit::consumer::{ConsumerConfig, GroupProtocol};
use kafkit::{Event, Kafka, KafkaConfig};

#[tokio::main]
async fn main() -> kafkit::Result<()> {
    let kafka = Kafka::connect(KafkaConfig::new([common::bootstrap()]).client_id("my-app")).await?;

    let consumer = kafka.consumer(
        ConsumerConfig::new(common::group("my-group")).group_protocol(GroupProtocol::Consumer),
    )?;

    let mut events = kafka.events();
    tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            match event {
                // Includes member epoch, assignment details
                Event::GroupJoin { .. } => println!("Group join event: {event:?}"),
                // Integrated with assignment reconciliation
                Event::Heartbeat { .. } => println!("Heartbeat event: {event:?}"),
                _ => {}
            }
        }
    });

    let topic = &common::topics(&["my-topic"])[0];
    consumer.subscribe(&[topic], false).await?;
    common::stop_on_ctrl_c(&consumer);
    consumer.run_each_message(|_| async { Ok(()) }).await
}
