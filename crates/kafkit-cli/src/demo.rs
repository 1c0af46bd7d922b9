//! `kafkit demo`: create a topic, produce a few records, consume them with a KIP-848 group.

use std::time::Duration;

use futures::StreamExt;
use kafkit::consumer::{ConsumerConfig, GroupProtocol};
use kafkit::producer::{ProducerConfig, Record};
use kafkit::{Kafka, NewTopic};

use crate::terminal::{self, esc};

pub async fn run(kafka: &Kafka) -> kafkit::Result<()> {
    let suffix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let topic = format!("kafkit-demo-{suffix}");
    let group = format!("kafkit-demo-group-{suffix}");
    outln!("1. creating topic {topic} with 3 partitions");
    kafka
        .admin()
        .create_topics(&[NewTopic::new(&topic, 3)])
        .await?;

    outln!("2. producing 6 records (idempotent, acks=all)");
    let producer = kafka.producer(ProducerConfig::default())?;
    let lines = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
    let mut acks = Vec::new();
    for (i, v) in lines.iter().enumerate() {
        let key = format!("key-{i}");
        acks.push(
            producer
                .send(Record::new(&topic, v.as_bytes()).key(key.as_bytes()))
                .await?,
        );
    }
    for a in acks {
        let m = a.await?;
        outln!("   wrote {}-{}@{}", esc(&m.topic), m.partition, m.offset);
    }
    producer.close().await?;

    outln!("3. consuming with group {group} (group protocol: consumer / KIP-848)");
    let consumer =
        kafka.consumer(ConsumerConfig::new(&group).group_protocol(GroupProtocol::Consumer))?;
    let mut events = kafka.events();
    tokio::spawn(async move {
        while let Ok(e) = events.recv().await {
            if let kafkit::Event::GroupJoin {
                member_id,
                member_epoch,
                assignment,
                ..
            } = e
            {
                outln!(
                    "   joined as {} at epoch {member_epoch}, {} partitions assigned",
                    esc(&member_id),
                    assignment.len()
                );
            }
        }
    });
    consumer.subscribe(&[&topic], true).await?;
    let mut stream = Box::pin(consumer.stream());
    let mut got = 0;
    while got < lines.len() {
        match tokio::time::timeout(Duration::from_secs(30), stream.next()).await {
            Ok(Some(Ok(m))) => {
                got += 1;
                outln!(
                    "   read {}-{}@{} key={} value={}",
                    esc(&m.topic),
                    m.partition,
                    m.offset,
                    terminal::escape_bytes(m.key.as_deref().unwrap_or_default()),
                    terminal::escape_bytes(m.value.as_deref().unwrap_or_default())
                );
            }
            Ok(Some(Err(e))) => return Err(e),
            Ok(None) => break,
            Err(_) => {
                return Err(kafkit::Error::new(
                    kafkit::ErrorKind::Timeout(Duration::from_secs(30)),
                    "demo",
                    format!("only {got} of {} records arrived", lines.len()),
                ))
            }
        }
    }
    drop(stream);
    consumer.stop().await?;
    outln!("4. left the group; deleting {topic}");
    kafka.admin().delete_topics(&[&topic]).await?;
    outln!("done: {got} records produced and consumed");
    Ok(())
}
