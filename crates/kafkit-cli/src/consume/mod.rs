//! `kafkit consume`: a group consumer printing records (and, with --events, group events on
//! stderr), or a reader of a topic's partitions without a group (all of them, or those of
//! `--partition`), placed by `--offset` and stopping at their end with `--exit-at-end`.

mod ends;
pub mod output;
pub mod start;

use std::io::IsTerminal as _;
use std::time::Duration;

use clap::Args;
use futures::{FutureExt as _, StreamExt};
use kafkit::consumer::{AutoOffsetReset, Consumer, ConsumerConfig};
use kafkit::{Event, Kafka, TopicPartition};
use serde_json::json;

use crate::signals::Shutdown;
use crate::terminal::{self, esc};
use ends::Ends;
use output::{Format, Output};
use start::{parse_time, StartSpec};

#[derive(Args)]
pub struct ConsumeArgs {
    /// Consumer group id. Without it, the topic's partitions are read with no group: all of
    /// them, or those of --partition.
    #[arg(long, short)]
    group: Option<String>,
    /// Read only this partition (repeatable; default: all of the topic's). With --group,
    /// offsets start from and are committed to that group without joining it.
    #[arg(
        long = "partition",
        short = 'p',
        short_alias = 'P',
        value_parser = crate::args::partition
    )]
    partitions: Vec<i32>,
    /// Where each partition starts when read without joining a group: beginning, end, N (an
    /// offset), -N (the last N records of each partition) or @MS (the first record at or after
    /// MS, ms since the epoch). Default: end without a group (as kcat), else the group's
    /// committed offset.
    #[arg(
        long,
        short = 'o',
        allow_hyphen_values = true,
        conflicts_with_all = ["from_time", "from_beginning"],
        value_parser = start::parse
    )]
    offset: Option<StartSpec>,
    /// Start at the first record at or after this time when reading without joining a group:
    /// ms since the epoch, or ago as -30s, -15m, -2h, -1d.
    #[arg(long, allow_hyphen_values = true, conflicts_with = "from_beginning")]
    from_time: Option<String>,
    /// Exit once every partition read has reached the end it had when reading started
    /// (kcat -e); a group member, once every partition assigned to it has.
    #[arg(long = "exit-at-end", short = 'e')]
    exit_at_end: bool,
    /// Print each record with this format (kcat -f): %t topic, %p partition, %o offset, %T
    /// timestamp (ms), %k key, %s value, %K / %S key / value length (-1 for null), %h headers
    /// (k=v,...), %% a percent sign; \n \t \r \0 \\ escapes. Bytes are written as they are
    /// to a file or pipe, escaped on a terminal.
    #[arg(long, short = 'f', value_parser = Format::parse, conflicts_with = "value_only")]
    format: Option<Format>,
    /// Print only each record's value, one per line (as --format '%s\n').
    #[arg(long)]
    value_only: bool,
    /// With --format or --value-only: print a null key, value or header value as NULL (kcat
    /// -Z); without, as nothing. --json always shows null.
    #[arg(long, short = 'Z')]
    print_null: bool,
    /// Group protocol: consumer (KIP-848) or classic.
    #[arg(long, default_value = "consumer")]
    group_protocol: String,
    /// Topic to read (repeatable).
    #[arg(long, short)]
    topic: Vec<String>,
    /// Subscribe by regular expression instead (RE2J, whole-name match, evaluated by the
    /// broker; needs --group).
    #[arg(long)]
    pattern: Option<String>,
    /// Start from the earliest offset when the group has no committed offset (without a
    /// group: the same as --offset beginning).
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
    /// Print group events (joins, heartbeats with assignment changes, commits) on stderr.
    #[arg(long)]
    events: bool,
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

/// The partitions of `topic` to read: `wanted`, checked against the topic, or all of its
/// partitions when `wanted` is empty. A partition the topic does not have, or a topic that does
/// not exist, would otherwise wait for ever (or, with --idle-timeout-secs, end as if it were
/// empty). A topic or partitions created a moment ago may not be in every broker's metadata
/// yet: the answer is asked again for up to 2 s before it is an error. With `wanted`, other
/// metadata errors (a topic not authorized for this client) are left to the consumer, which
/// warns about them as it waits.
async fn partitions_to_read(
    kafka: &Kafka,
    topic: &str,
    wanted: &[i32],
) -> kafkit::Result<Vec<TopicPartition>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    let chosen = |ps: Vec<i32>| {
        ps.into_iter()
            .map(|p| TopicPartition::new(topic, p))
            .collect()
    };
    loop {
        let problem = match kafka.admin().describe_topics(&[topic]).await {
            Ok(meta) => match meta.first() {
                Some(t) if wanted.is_empty() && !t.partitions.is_empty() => {
                    return Ok(chosen(t.partitions.iter().map(|p| p.partition).collect()))
                }
                Some(_) if wanted.is_empty() => kafkit::Error::new(
                    kafkit::ErrorKind::Config,
                    "consume",
                    format!("topic '{topic}' has no partitions in the metadata yet"),
                ),
                Some(t) => match missing_partitions(topic, wanted, t) {
                    None => return Ok(chosen(wanted.to_vec())),
                    Some(e) => e,
                },
                None => return Ok(chosen(wanted.to_vec())),
            },
            Err(e) if e.code() == Some(3) => kafkit::Error::new(
                e.kind().clone(),
                "consume",
                format!(
                    "topic '{topic}' does not exist (create it with `kafkit topic create {topic}`)"
                ),
            ),
            Err(e) if wanted.is_empty() => return Err(e),
            Err(_) => return Ok(chosen(wanted.to_vec())),
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(problem);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
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

fn config_error(why: impl Into<String>) -> kafkit::Error {
    kafkit::Error::new(kafkit::ErrorKind::Config, "consume", why.into())
}

/// A reader of the topics' partitions (all, or `--partition`s) without joining a group, placed
/// where `--offset` / `--from-time` / `--from-beginning` say. Returns it with what it reads.
async fn assigned(
    kafka: &Kafka,
    args: &ConsumeArgs,
) -> kafkit::Result<(Consumer, Vec<TopicPartition>)> {
    if args.pattern.is_some() {
        return Err(config_error(
            "--pattern needs --group (the broker matches it for the group's members); without a group, name the topic with --topic",
        ));
    }
    if args.topic.is_empty() {
        return Err(config_error("give the topic to read with --topic T"));
    }
    if !args.partitions.is_empty() && args.topic.len() != 1 {
        return Err(config_error(
            "--partition reads partitions of one --topic; give exactly one, or drop --partition to read every partition of each topic",
        ));
    }
    let mut config = match &args.group {
        Some(g) => ConsumerConfig::new(g),
        None => ConsumerConfig::without_group(),
    };
    if args.from_beginning {
        config = config.auto_offset_reset(AutoOffsetReset::Earliest);
    }
    let mut tps = Vec::new();
    for topic in &args.topic {
        tps.extend(partitions_to_read(kafka, topic, &args.partitions).await?);
    }
    // A topic or partition given twice is read once.
    tps.sort();
    tps.dedup();
    let consumer = kafka.assigned_consumer(config)?;
    consumer.assign(&tps).await?;
    let spec = match (args.offset, &args.group) {
        (Some(spec), _) => Some(spec),
        (None, None) if args.from_beginning => Some(StartSpec::Beginning),
        _ => None,
    };
    match spec {
        None => {}
        Some(StartSpec::Beginning) => consumer.seek_to_beginning(&tps).await?,
        Some(StartSpec::End) => consumer.seek_to_end(&tps).await?,
        Some(StartSpec::Time(t)) => consumer.seek_to_timestamp(&tps, t).await?,
        Some(spec) => {
            let (firsts, ends) = match spec {
                StartSpec::FromEnd(_) => (
                    consumer.beginning_offsets(&tps).await?,
                    consumer.end_offsets(&tps).await?,
                ),
                _ => Default::default(),
            };
            for tp in &tps {
                let first = firsts.get(tp).copied().unwrap_or(0);
                let end = ends.get(tp).copied().unwrap_or(0);
                if let Some(o) = start::resolve(spec, first, end) {
                    consumer.seek(tp.clone(), o)?;
                }
            }
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
    Ok((consumer, tps))
}

/// A member of `--group`, subscribed to `--topic`s or `--pattern`.
async fn member(kafka: &Kafka, args: &ConsumeArgs, group: &str) -> kafkit::Result<Consumer> {
    if args.offset.is_some() || args.from_time.is_some() {
        return Err(config_error(
            "--offset and --from-time place partitions read without joining the group; add --partition to read some with the group's offsets, or move the group's offsets with `kafkit group offsets GROUP --reset-to ... --execute`",
        ));
    }
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
            return Err(config_error(
                "give --topic T (repeatable) or --pattern REGEX",
            ))
        }
    }
    Ok(consumer)
}

/// How records are printed, from the output flags.
fn output(args: &ConsumeArgs, as_json: bool) -> kafkit::Result<Output> {
    let format = match (&args.format, args.value_only) {
        (Some(f), _) => Some(f.clone()),
        (None, true) => Some(Format::value_only()),
        (None, false) => None,
    };
    Ok(match format {
        Some(_) if as_json => {
            return Err(config_error(
                "--json and --format / --value-only are two ways to print records; pick one",
            ))
        }
        Some(format) => Output::Format {
            format,
            raw: !std::io::stdout().is_terminal(),
            null: if args.print_null { b"NULL" } else { b"" },
        },
        None if as_json => Output::Json,
        None => Output::Line,
    })
}

pub async fn run(kafka: &Kafka, args: ConsumeArgs, as_json: bool) -> kafkit::Result<()> {
    let output = output(&args, as_json)?;
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
    let (consumer, mut ends) = match (&args.group, args.partitions.is_empty()) {
        (Some(group), true) => (
            member(kafka, &args, group).await?,
            args.exit_at_end.then(Ends::following_assignment),
        ),
        _ => {
            let (consumer, tps) = assigned(kafka, &args).await?;
            let ends = match args.exit_at_end {
                true => Some(Ends::fixed(&consumer, &tps).await?),
                false => None,
            };
            (consumer, ends)
        }
    };
    let mut stream = Box::pin(consumer.stream());
    let mut seen = 0u64;
    let idle = args.idle_timeout_secs.map(Duration::from_secs);
    let mut idle_until = tokio::time::Instant::now() + idle.unwrap_or_default();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    // Records rendered but not yet written: written when no record is ready at once (so a
    // lone record is printed without delay), else in bursts of up to BURST records or
    // BURST_BYTES, so a backlog costs one write per burst, not one per record.
    const BURST: u32 = 1024;
    const BURST_BYTES: usize = 256 * 1024;
    let mut buf = Vec::with_capacity(BURST_BYTES);
    let mut burst = 0;
    let result = loop {
        let at_end = ends.as_ref().is_some_and(Ends::all_reached);
        let ready = match burst < BURST && buf.len() < BURST_BYTES {
            true => stream.next().now_or_never(),
            false => None,
        };
        let next = match ready {
            Some(n) => {
                burst += 1;
                n
            }
            None => {
                burst = 0;
                match crate::out::write(&buf) {
                    Ok(true) => buf.clear(),
                    Ok(false) => break Ok(()),
                    Err(e) => break Err(e),
                }
                if at_end {
                    // Every partition is at its end, and what was here is printed.
                    break Ok(());
                }
                tokio::select! {
                    n = stream.next() => n,
                    _ = shutdown.requested() => break Ok(()),
                    _ = tokio::time::sleep_until(idle_until), if idle.is_some() => break Ok(()),
                    _ = tick.tick(), if ends.is_some() => {
                        if let Some(e) = ends.as_mut() {
                            if let Err(e) = e.check(&consumer).await {
                                break Err(e);
                            }
                        }
                        continue;
                    }
                }
            }
        };
        match next {
            Some(Ok(m)) => {
                idle_until = tokio::time::Instant::now() + idle.unwrap_or_default();
                if let Some(e) = ends.as_mut() {
                    e.printed(&TopicPartition::new(&*m.topic, m.partition), m.offset);
                }
                output.render(&m, &mut buf);
                seen += 1;
                if args.max_records.is_some_and(|max| seen >= max) {
                    break Ok(());
                }
            }
            Some(Err(e)) => break Err(e),
            None => break Ok(()),
        }
    };
    // What was rendered before the loop ended is printed (a closed stdout is no error).
    let result = result.and(crate::out::write(&buf).map(drop));
    drop(stream);
    let stopped = consumer.stop().await;
    result.and(stopped)
}
