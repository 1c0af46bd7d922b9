//! `kafkit consume`: a group consumer printing records (and, with --events, group events), or,
//! with `--partition`, a reader of partitions without a group.

use std::time::Duration;

use base64::Engine as _;
use clap::Args;
use futures::StreamExt;
use kafkit::consumer::{AutoOffsetReset, Consumer, ConsumerConfig, Message};
use kafkit::{Event, Kafka, TopicPartition};
use serde_json::json;

use crate::signals::Shutdown;
use crate::terminal::{self, esc};

#[derive(Args)]
pub struct ConsumeArgs {
    /// Consumer group id. Without it, give --partition: the partitions are read with no group.
    #[arg(long, short)]
    group: Option<String>,
    /// Read this partition of the topic (repeatable) instead of joining the group; with
    /// --group, offsets start from and are committed to that group without joining it.
    #[arg(long = "partition", short = 'P', value_parser = crate::args::partition)]
    partitions: Vec<i32>,
    /// With --partition: start at this offset.
    #[arg(
        long,
        requires = "partitions",
        conflicts_with_all = ["from_time", "from_beginning"],
        value_parser = crate::args::offset
    )]
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
    /// Stop after this many records (at least 1; default: no limit).
    #[arg(long, value_parser = crate::args::at_least_one)]
    max_records: Option<u64>,
    /// Stop after this many seconds without a record (at least 1).
    #[arg(long, value_parser = crate::args::at_least_one)]
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

/// A key or value as text output shows it: escaped (see `terminal`), `null` when absent.
pub fn text(b: &Option<bytes::Bytes>) -> std::borrow::Cow<'_, str> {
    match b {
        None => "null".into(),
        Some(b) => terminal::escape_bytes(b),
    }
}

/// A key, value or header value for `--json`: a string when it is UTF-8, else
/// `{"base64": ...}`; `null` when absent. Exact either way.
pub fn json_bytes(b: Option<&[u8]>) -> serde_json::Value {
    match b {
        None => serde_json::Value::Null,
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => json!(s),
            Err(_) => json!({"base64": base64::engine::general_purpose::STANDARD.encode(b)}),
        },
    }
}

fn print(m: &Message, as_json: bool) {
    if as_json {
        let headers: Vec<_> = m
            .headers
            .iter()
            .map(|h| json!([json_bytes(Some(&h.key)), json_bytes(h.value.as_deref())]))
            .collect();
        println!(
            "{}",
            terminal::json(
                &json!({"topic": &*m.topic, "partition": m.partition, "offset": m.offset,
                   "timestamp": m.timestamp, "key": json_bytes(m.key.as_deref()),
                   "value": json_bytes(m.value.as_deref()), "headers": headers})
            )
        );
    } else {
        println!(
            "{}-{}@{}\t{}\t{}",
            esc(&m.topic),
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
    let line = terminal::json(&line);
    if as_json {
        eprintln!("{line}");
    } else {
        eprintln!("# {line}");
    }
}

/// Prints a library warning (what a client waits for, options it ignores) on stderr.
pub fn print_warning(message: &str, as_json: bool) {
    if as_json {
        eprintln!(
            "{}",
            terminal::json(&json!({"event": "warning", "message": message}))
        );
    } else {
        eprintln!("kafkit: warning: {}", esc(message));
    }
}

/// `--from-time`: ms since the epoch, or a time ago (`-30s`, `-15m`, `-2h`, `-1d`), as ms since
/// the epoch given the time now. A time ago is computed without overflow: one too far back
/// (before 1970, or beyond what an i64 of ms holds) is an error, never a wrapped time.
fn parse_time(s: &str, now_ms: i64) -> kafkit::Result<i64> {
    let error = |why: String| kafkit::Error::new(kafkit::ErrorKind::Config, "consume", why);
    let bad = || {
        error(format!(
            "--from-time '{s}' must be ms since the epoch or a time ago such as -30s, -15m, -2h, -1d"
        ))
    };
    if let Some(ago) = s.strip_prefix('-') {
        let (n, unit) = ago.split_at(ago.len().saturating_sub(1));
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let ms: i64 = match unit {
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        let before_epoch = || {
            error(format!(
                "--from-time '{s}' is before 1970 (the epoch); use --from-beginning to read from the start"
            ))
        };
        let n: i64 = n.parse().map_err(|_| before_epoch())?;
        let back = n.checked_mul(ms).ok_or_else(before_epoch)?;
        return now_ms
            .checked_sub(back)
            .filter(|t| *t >= 0)
            .ok_or_else(before_epoch);
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) || s.is_empty() {
        return Err(bad());
    }
    s.parse::<i64>().map_err(|_| {
        error(format!(
            "--from-time '{s}' is beyond the largest time Kafka holds ({} ms since the epoch)",
            i64::MAX
        ))
    })
}

/// Checks `--partition`s against the topic before reading: a partition the topic does not
/// have, or a topic that does not exist, would otherwise wait for ever (or, with
/// --idle-timeout-secs, end as if it were empty). Other metadata errors (a topic not
/// authorized for this client) are left to the consumer, which warns about them as it waits.
/// A topic or partitions created a moment ago may not be in every broker's metadata yet: the
/// answer is asked again for up to 2 s before it is an error.
async fn check_partitions(kafka: &Kafka, topic: &str, partitions: &[i32]) -> kafkit::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let missing = match kafka.admin().describe_topics(&[topic]).await {
            Ok(meta) => match meta.first() {
                Some(t) => missing_partitions(topic, partitions, t),
                None => return Ok(()),
            },
            Err(e) if e.code() == Some(3) => Some(kafkit::Error::new(
                e.kind().clone(),
                "consume",
                format!(
                    "topic '{topic}' does not exist (create it with `kafkit topic create {topic}`)"
                ),
            )),
            Err(_) => return Ok(()),
        };
        match missing {
            None => return Ok(()),
            Some(e) if tokio::time::Instant::now() >= deadline => return Err(e),
            Some(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// The error naming the `partitions` that `t` (the metadata of `topic`) lacks, if any.
fn missing_partitions(
    topic: &str,
    partitions: &[i32],
    t: &kafkit::cluster::TopicInfo,
) -> Option<kafkit::Error> {
    let missing: Vec<String> = partitions
        .iter()
        .filter(|p| t.partition(**p).is_none())
        .map(|p| p.to_string())
        .collect();
    if missing.is_empty() {
        return None;
    }
    let has = match t.partitions.len() {
        0 => "no partitions".to_string(),
        1 => "1 partition (0)".to_string(),
        n => format!("{n} partitions (0-{})", n - 1),
    };
    Some(kafkit::Error::new(
        kafkit::ErrorKind::Config,
        "consume",
        format!(
            "--partition {}: topic '{topic}' has no such partition; it has {has}",
            missing.join(", ")
        ),
    ))
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
    check_partitions(kafka, topic, &args.partitions).await?;
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
    // Listening before the group is joined: a SIGTERM meanwhile is not lost.
    let mut shutdown = Shutdown::listen();
    let consumer = if args.partitions.is_empty() {
        member(kafka, &args).await?
    } else {
        assigned(kafka, &args).await?
    };
    let mut stream = Box::pin(consumer.stream());
    let mut seen = 0u64;
    let idle = args.idle_timeout_secs.map(Duration::from_secs);
    let result = loop {
        let next = tokio::select! {
            n = stream.next() => n,
            _ = shutdown.requested() => break Ok(()),
            _ = tokio::time::sleep(idle.unwrap_or(Duration::MAX)), if idle.is_some() => break Ok(()),
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
        for bad in [
            "", "-", "-s", "-5w", "soon", "-xh", "-1", "--5s", "-+5s", "+5", "-5 s",
        ] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_time_ago_too_far_back_is_an_error_not_a_wrapped_time() {
        let now = 1_700_000_000_000;
        // Overflows i64 when multiplied (the old code wrapped, or panicked in a debug build).
        for huge in [
            "-999999999999d",
            "-9223372036854775807s",
            "-99999999999999999999999h",
        ] {
            let e = parse_time(huge, now).unwrap_err();
            assert!(e.to_string().contains("before 1970"), "{huge}: {e}");
            assert!(e.to_string().contains(huge), "{e}");
        }
        // No overflow, but before the epoch: a negative time would mean latest (-1) or
        // earliest (-2) to the broker.
        assert!(parse_time("-20000d", now).is_err());
        assert_eq!(parse_time("-0s", now).unwrap(), now);
        let e = parse_time("99999999999999999999", now).unwrap_err();
        assert!(e.to_string().contains("largest time"), "{e}");
    }
}
