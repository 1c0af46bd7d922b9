//! `kafkit consume`: a group consumer printing records (and, with --events, group events), or,
//! with `--partition`, a reader of partitions without a group.

use std::time::Duration;

use base64::Engine as _;
use clap::Args;
use futures::StreamExt;
use kafkit::consumer::{AutoOffsetReset, Consumer, ConsumerConfig, Message};
use kafkit::{Event, Kafka, TopicPartition};
use serde_json::json;

#[derive(Args)]
pub struct ConsumeArgs {
    /// Consumer group id. Without it, give --partition: the partitions are read with no group.
    #[arg(long, short)]
    group: Option<String>,
    /// Read this partition of the topic (repeatable) instead of joining the group; with
    /// --group, offsets start from and are committed to that group without joining it.
    #[arg(long = "partition", short = 'P')]
    partitions: Vec<i32>,
    /// With --partition: start at this offset.
    #[arg(long, requires = "partitions", conflicts_with_all = ["from_time", "from_beginning"])]
    offset: Option<i64>,
    /// With --partition: start at the first record at or after this time: ms since the epoch,
    /// or ago as -30s, -15m, -2h, -1d.
    #[arg(
        long,
        requires = "partitions",
        allow_hyphen_values = true,
        conflicts_with = "from_beginning"
    )]
    from_time: Option<String>,
    /// Group protocol: consumer (KIP-848) or classic.
    #[arg(long, default_value = "consumer")]
    group_protocol: String,
    /// Topic to subscribe to (repeatable).
    #[arg(long, short)]
    topic: Vec<String>,
    /// Subscribe by regular expression instead (RE2J, whole-name match, evaluated by the broker).
    #[arg(long)]
    pattern: Option<String>,
    /// Start from the earliest offset when the group has no committed offset (with
    /// --partition and no group: from the earliest offset).
    #[arg(long)]
    from_beginning: bool,
    /// Stop after this many records.
    #[arg(long)]
    max_records: Option<u64>,
    /// Stop after this many seconds without a record.
    #[arg(long)]
    idle_timeout_secs: Option<u64>,
    /// Server-side assignor under `consumer` (uniform, range).
    #[arg(long)]
    assignor: Option<String>,
    /// Client-side assignor under `classic` (roundrobin, range, cooperative-sticky); repeat to
    /// offer several, preferred first. Default roundrobin.
    #[arg(long = "partition-assigner")]
    partition_assigners: Vec<String>,
    /// Classic session timeout in ms (default 30000).
    #[arg(long)]
    session_timeout_ms: Option<u64>,
    /// Classic heartbeat interval in ms (default 3000).
    #[arg(long)]
    heartbeat_interval_ms: Option<u64>,
    /// With `--group-protocol consumer`, use classic instead of failing on a broker without
    /// KIP-848.
    #[arg(long)]
    fallback_to_classic: bool,
    /// Print group events (joins, heartbeats with assignment changes, commits).
    #[arg(long)]
    events: bool,
}

fn text(b: &Option<bytes::Bytes>) -> String {
    match b {
        None => "null".into(),
        Some(b) => String::from_utf8_lossy(b).into_owned(),
    }
}

fn print(m: &Message, as_json: bool) {
    if as_json {
        let enc = |b: &Option<bytes::Bytes>| {
            b.as_ref().map(|b| match std::str::from_utf8(b) {
                Ok(s) => json!(s),
                Err(_) => json!({"base64": base64::engine::general_purpose::STANDARD.encode(b)}),
            })
        };
        println!(
            "{}",
            json!({"topic": &*m.topic, "partition": m.partition, "offset": m.offset, "timestamp": m.timestamp,
                   "key": enc(&m.key), "value": enc(&m.value),
                   "headers": m.headers.iter().map(|h| json!([String::from_utf8_lossy(&h.key), h.value.as_ref().map(|v| String::from_utf8_lossy(v).into_owned())])).collect::<Vec<_>>()})
        );
    } else {
        println!(
            "{}-{}@{}\t{}\t{}",
            m.topic,
            m.partition,
            m.offset,
            text(&m.key),
            text(&m.value)
        );
    }
}

pub fn print_event(e: &Event, as_json: bool) {
    let line = match e {
        Event::GroupJoin {
            group_id,
            member_id,
            member_epoch,
            group_protocol,
            assignment,
            duration,
            leader_id,
            is_leader,
            ..
        } => {
            let mut j = json!({"event": "group_join", "group": group_id, "member_id": member_id,
                   "member_epoch": member_epoch, "group_protocol": group_protocol.to_string(),
                   "duration_ms": duration.as_millis() as u64,
                   "assignment": assignment.iter().map(|t| t.to_string()).collect::<Vec<_>>()});
            if let Some(leader) = leader_id {
                j["leader_id"] = json!(leader);
                j["is_leader"] = json!(is_leader);
            }
            j
        }
        // Every heartbeat in JSON; a person reading along sees those that changed something.
        Event::Heartbeat {
            member_epoch,
            added,
            removed,
            ..
        } if as_json || !added.is_empty() || !removed.is_empty() => {
            json!({"event": "heartbeat", "member_epoch": member_epoch,
                   "added": added.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
                   "removed": removed.iter().map(|t| t.to_string()).collect::<Vec<_>>()})
        }
        Event::CommitOffsets { offsets, .. } => {
            json!({"event": "commit_offsets", "offsets": offsets.iter().map(|(t, o)| json!([t.to_string(), o])).collect::<Vec<_>>()})
        }
        Event::Rebalancing { .. } => json!({"event": "rebalancing"}),
        Event::Crash { error, .. } => json!({"event": "crash", "error": error}),
        Event::Stop { .. } => json!({"event": "stop"}),
        _ => return,
    };
    if as_json {
        eprintln!("{line}");
    } else {
        eprintln!("# {line}");
    }
}

/// Prints a library warning (what a client waits for, options it ignores) on stderr.
pub fn print_warning(message: &str, as_json: bool) {
    if as_json {
        eprintln!("{}", json!({"event": "warning", "message": message}));
    } else {
        eprintln!("kafkit: warning: {message}");
    }
}

/// `--from-time`: ms since the epoch, or a time ago (`-30s`, `-15m`, `-2h`, `-1d`), as ms since
/// the epoch given the time now.
fn parse_time(s: &str, now_ms: i64) -> kafkit::Result<i64> {
    let bad = || {
        kafkit::Error::new(
            kafkit::ErrorKind::Config,
            "consume",
            format!("--from-time '{s}' must be ms since the epoch or a time ago such as -30s, -15m, -2h, -1d"),
        )
    };
    if let Some(ago) = s.strip_prefix('-') {
        let (n, unit) = ago.split_at(ago.len().saturating_sub(1));
        let n: i64 = n.parse().map_err(|_| bad())?;
        let ms = match unit {
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        return Ok(now_ms - n * ms);
    }
    s.parse::<i64>().ok().filter(|t| *t >= 0).ok_or_else(bad)
}

/// A reader of `--partition`s, placed where `--offset` / `--from-time` / `--from-beginning` say.
async fn assigned(kafka: &Kafka, args: &ConsumeArgs) -> kafkit::Result<Consumer> {
    let [topic] = args.topic.as_slice() else {
        return Err(kafkit::Error::new(
            kafkit::ErrorKind::Config,
            "consume",
            "--partition needs exactly one --topic (and no --pattern)",
        ));
    };
    if args.pattern.is_some() {
        return Err(kafkit::Error::new(
            kafkit::ErrorKind::Config,
            "consume",
            "--partition reads one --topic; drop --pattern",
        ));
    }
    let mut config = match &args.group {
        Some(g) => ConsumerConfig::new(g),
        None => ConsumerConfig::without_group(),
    };
    if args.from_beginning {
        config = config.auto_offset_reset(AutoOffsetReset::Earliest);
    }
    let consumer = kafka.assigned_consumer(config)?;
    let tps: Vec<TopicPartition> = args
        .partitions
        .iter()
        .map(|p| TopicPartition::new(topic, *p))
        .collect();
    consumer.assign(&tps).await?;
    if let Some(offset) = args.offset {
        for tp in &tps {
            consumer.seek(tp.clone(), offset)?;
        }
    }
    if let Some(t) = &args.from_time {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        consumer
            .seek_to_timestamp(&tps, parse_time(t, now)?)
            .await?;
    }
    Ok(consumer)
}

/// A member of `--group`, subscribed to `--topic`s or `--pattern`.
async fn member(kafka: &Kafka, args: &ConsumeArgs) -> kafkit::Result<Consumer> {
    let Some(group) = &args.group else {
        return Err(kafkit::Error::new(
            kafkit::ErrorKind::Config,
            "consume",
            "give --group G to consume with a group, or --partition P to read partitions without one",
        ));
    };
    let mut config = ConsumerConfig::new(group).group_protocol_str(&args.group_protocol)?;
    config.remote_assignor = args.assignor.clone();
    config.partition_assigners = args.partition_assigners.clone();
    config.session_timeout = args.session_timeout_ms.map(Duration::from_millis);
    config.heartbeat_interval = args.heartbeat_interval_ms.map(Duration::from_millis);
    config.fallback_to_classic = args.fallback_to_classic;
    let consumer = kafka.consumer(config)?;
    match (&args.pattern, args.topic.is_empty()) {
        (Some(p), _) => consumer.subscribe_pattern(p, args.from_beginning).await?,
        (None, false) => {
            let topics: Vec<&str> = args.topic.iter().map(String::as_str).collect();
            consumer.subscribe(&topics, args.from_beginning).await?
        }
        (None, true) => {
            return Err(kafkit::Error::new(
                kafkit::ErrorKind::Config,
                "consume",
                "give --topic T (repeatable) or --pattern REGEX",
            ))
        }
    }
    Ok(consumer)
}

pub async fn run(kafka: &Kafka, args: ConsumeArgs, as_json: bool) -> kafkit::Result<()> {
    if args.events {
        let mut rx = kafka.events();
        tokio::spawn(async move {
            while let Ok(e) = rx.recv().await {
                print_event(&e, as_json);
            }
        });
    }
    let consumer = if args.partitions.is_empty() {
        member(kafka, &args).await?
    } else {
        assigned(kafka, &args).await?
    };
    let mut stream = Box::pin(consumer.stream());
    let mut seen = 0u64;
    let idle = args.idle_timeout_secs.map(Duration::from_secs);
    let result = loop {
        let next = match idle {
            Some(d) => match tokio::time::timeout(d, stream.next()).await {
                Ok(n) => n,
                Err(_) => break Ok(()),
            },
            None => tokio::select! {
                n = stream.next() => n,
                _ = tokio::signal::ctrl_c() => break Ok(()),
            },
        };
        match next {
            Some(Ok(m)) => {
                print(&m, as_json);
                seen += 1;
                if args.max_records.is_some_and(|max| seen >= max) {
                    break Ok(());
                }
            }
            Some(Err(e)) => break Err(e),
            None => break Ok(()),
        }
    };
    drop(stream);
    let stopped = consumer.stop().await;
    result.and(stopped)
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn from_time_is_ms_since_the_epoch_or_a_time_ago() {
        let now = 10_000_000_000;
        assert_eq!(parse_time("1700000000000", now).unwrap(), 1_700_000_000_000);
        assert_eq!(parse_time("-30s", now).unwrap(), now - 30_000);
        assert_eq!(parse_time("-15m", now).unwrap(), now - 900_000);
        assert_eq!(parse_time("-2h", now).unwrap(), now - 7_200_000);
        assert_eq!(parse_time("-1d", now).unwrap(), now - 86_400_000);
        for bad in ["", "-", "-5w", "soon", "-xh", "-1"] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
    }
}
