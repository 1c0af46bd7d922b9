//! `kafkit produce`: records from stdin (split as `input` says) with a summary of where they
//! went, or generated load with progress and a throughput summary.

mod input;
mod summary;

use std::time::{Duration, Instant};

use clap::Args;
use kafkit::producer::{Acks, Compression, Header, ProducerConfig, Record};
use kafkit::Kafka;
use serde_json::json;

use crate::terminal::{self, esc};
use input::{Delim, Splitter};
use summary::Summary;

#[derive(Args)]
pub struct ProduceArgs {
    /// Topic to write to.
    #[arg(long, short)]
    topic: String,
    /// Generate this many records instead of reading stdin (with -H, -p and --timestamp).
    #[arg(
        long,
        conflicts_with_all = ["key_tab", "key_delimiter", "delimiter", "input", "print_offsets", "null_empty"]
    )]
    count: Option<u64>,
    /// Value size of generated records, in bytes (at most the producer's max request size,
    /// 1 MiB).
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Compression: none, gzip, snappy, lz4, zstd.
    #[arg(long, default_value = "none")]
    compression: String,
    /// Level of the --compression codec (KIP-390, Java compression.<codec>.level): gzip 1..=9
    /// (default 6), lz4 1..=17 (default 9), zstd -131072..=22 (default 3); snappy and none take
    /// none. gzip and zstd honour every level; lz4's HC levels (all but 9) need a binary built
    /// with `--features lz4-hc` (C liblz4), without which every lz4 level is LZ4's fast one.
    #[arg(long, allow_hyphen_values = true)]
    compression_level: Option<i32>,
    /// Acks: all, leader, none.
    #[arg(long, default_value = "all")]
    acks: String,
    /// Linger in milliseconds.
    #[arg(long, default_value_t = 5)]
    linger_ms: u64,
    /// Largest batch per partition, in bytes (default: the library's, 1,000,000).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Split each record at the first TAB into key and value (as -K '\t').
    #[arg(long, conflicts_with = "key_delimiter")]
    key_tab: bool,
    /// Split each record at the first DELIM into key and value (kcat -K); a record without
    /// it has no key. Escapes: \n \t \r \0 \\ \xNN.
    #[arg(long, short = 'K', value_name = "DELIM", value_parser = input::delimiter)]
    key_delimiter: Option<Delim>,
    /// Records on stdin end at DELIM (kcat -D; default a newline), same escapes. Input is
    /// read as bytes and each record is sent as soon as it is read.
    #[arg(long, short = 'D', value_name = "DELIM", value_parser = input::delimiter)]
    delimiter: Option<Delim>,
    /// A header KEY=VALUE on every record (repeatable; kcat -H).
    #[arg(long = "header", short = 'H', value_name = "KEY=VALUE", value_parser = input::header)]
    headers: Vec<(String, Vec<u8>)>,
    /// The timestamp of every record, ms since the epoch (default: the time it is sent).
    #[arg(long, value_parser = crate::args::timestamp)]
    timestamp: Option<i64>,
    /// Send an empty key or value as null (kcat -Z): an empty value is then a tombstone.
    #[arg(long, short = 'Z')]
    null_empty: bool,
    /// What stdin holds: lines (records split at --delimiter) or json (one object per line
    /// with key, value, headers, partition and timestamp, as `consume --json` prints them;
    /// non-UTF-8 bytes as {"base64": ...}). Fields of a line win over --partition and
    /// --timestamp.
    #[arg(long, default_value = "lines", value_parser = ["lines", "json"])]
    input: String,
    /// Print each record's topic-partition@offset as it is acknowledged, instead of the
    /// summary at the end.
    #[arg(long)]
    print_offsets: bool,
    /// Partition to write to (default: the partitioner chooses).
    #[arg(long, short = 'p', value_parser = crate::args::partition)]
    partition: Option<i32>,
}

pub async fn run(kafka: &Kafka, args: ProduceArgs, as_json: bool) -> kafkit::Result<()> {
    let codec: Compression = args.compression.parse()?;
    let mut config = ProducerConfig::default()
        .compression(codec)
        .acks(args.acks.parse::<Acks>()?)
        .linger(Duration::from_millis(args.linger_ms));
    if let Some(level) = args.compression_level {
        check_level(codec, level)?;
        config = config.compression_level(codec, level);
    }
    if let Some(b) = args.batch_size {
        config = config.batch_size(b);
    }
    if args.count.is_some() {
        check_size(args.size, config.max_request_size)?;
    }
    let max_request_size = config.max_request_size;
    let producer = kafka.producer(config)?;
    match args.count {
        Some(n) => load(&producer, &args, n, as_json).await?,
        None => stdin(&producer, &args, max_request_size, as_json).await?,
    }
    producer.close().await
}

/// `--compression-level` against the codec's range, named as the flag (the library's own error
/// names Java's option).
fn check_level(codec: Compression, level: i32) -> kafkit::Result<()> {
    let Some(range) = codec.level_range() else {
        return Err(kafkit::Error::new(
            kafkit::ErrorKind::Config,
            "produce",
            format!("--compression-level {level}: --compression {codec} has no levels; drop --compression-level, or use --compression gzip, lz4 or zstd"),
        ));
    };
    codec.check_level(level).map_err(|_| {
        kafkit::Error::new(
            kafkit::ErrorKind::Config,
            "produce",
            format!(
            "--compression-level {level} is out of range for --compression {codec}: give {}..={} (default {})",
            range.start(),
            range.end(),
            // gzip's default is -1, which zlib takes as 6.
            match codec {
                Compression::Gzip => 6,
                c => c.default_level().unwrap_or_default(),
            },
            ),
        )
    })
}

/// `--size` against the producer's request limit, before a value of that size is allocated
/// (a huge one aborted the process: an allocation failure cannot be caught).
fn check_size(size: usize, max_request_size: usize) -> kafkit::Result<()> {
    if size > max_request_size {
        return Err(kafkit::Error::new(
            kafkit::ErrorKind::TooLarge,
            "produce",
            format!(
                "--size {size} is larger than the producer's max request size ({max_request_size} bytes): a record must fit in one request; give at most {max_request_size}"
            ),
        ));
    }
    Ok(())
}

/// `b`, or null when it is empty and `-Z` asks so.
fn null_empty(b: Option<&[u8]>, on: bool) -> Option<&[u8]> {
    b.filter(|b| !(on && b.is_empty()))
}

fn input_error(why: String) -> kafkit::Error {
    kafkit::Error::new(kafkit::ErrorKind::Config, "produce", why)
}

/// Records from stdin, split at the record delimiter, each sent as it arrives (a `tail -f`
/// pipe or typed lines go out at once, and a large file is never held whole). Records are
/// bytes: one that is not UTF-8 is sent as it is. Acknowledgements are counted (or printed, with
/// --print-offsets) in order as they come, by a task of their own so reading never waits for
/// them.
async fn stdin(
    producer: &kafkit::producer::Producer,
    args: &ProduceArgs,
    max_request_size: usize,
    as_json: bool,
) -> kafkit::Result<()> {
    // Acknowledgements waiting to be counted, at most this many (then reading waits).
    const PENDING: usize = 10_000;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<kafkit::producer::DeliveryFuture>(PENDING);
    let print_offsets = args.print_offsets;
    let topic = args.topic.clone();
    let printer = tokio::spawn(async move {
        let mut summary = Summary::new(&topic);
        let mut stdout_open = true;
        while let Some(ack) = rx.recv().await {
            let m = ack.await?;
            if print_offsets && stdout_open {
                // A closed stdout stops the lines, not the acknowledgements.
                stdout_open = crate::out::line(&summary::offset_line(&m, as_json))?;
            }
            summary.add(&m);
        }
        Ok::<Summary, kafkit::Error>(summary)
    });
    let key_delim: Option<Vec<u8>> = match (&args.key_delimiter, args.key_tab) {
        (Some(d), _) => Some(d.0.clone()),
        (None, true) => Some(b"\t".to_vec()),
        (None, false) => None,
    };
    let splitter = Splitter::new(
        args.delimiter
            .as_ref()
            .map_or(b"\n".to_vec(), |d| d.0.clone()),
        max_request_size,
    );
    let fixed_headers: Vec<Header> = args
        .headers
        .iter()
        .map(|(k, v)| Header {
            key: k.as_bytes(),
            value: Some(v),
        })
        .collect();
    let json_input = args.input == "json";
    if json_input && key_delim.is_some() {
        return Err(input_error(
            "--input json takes keys from each line's \"key\"; drop -K/--key-tab".to_string(),
        ));
    }
    let mut input = tokio::io::BufReader::new(tokio::io::stdin());
    let mut rec = Vec::new();
    let mut n = 0u64;
    let sent = async {
        while splitter
            .next(&mut input, &mut rec)
            .await
            .map_err(input_error)?
        {
            n += 1;
            let ack = if json_input {
                let j = input::json_record(&rec)
                    .map_err(|e| input_error(format!("record {n} of stdin (--input json): {e}")))?;
                let mut headers = fixed_headers.clone();
                headers.extend(j.headers.iter().map(|(k, v)| Header {
                    key: k.as_bytes(),
                    value: v.as_deref(),
                }));
                let mut r = Record::new(&args.topic, b"");
                r.key = null_empty(j.key.as_deref(), args.null_empty);
                r.value = null_empty(j.value.as_deref(), args.null_empty);
                r.headers = &headers;
                r.partition = j.partition.or(args.partition);
                r.timestamp = j.timestamp.or(args.timestamp);
                producer.send(r).await?
            } else {
                let (key, value) = match &key_delim {
                    Some(d) => input::split_key(&rec, d),
                    None => (None, &rec[..]),
                };
                let mut r = Record::new(&args.topic, value);
                r.key = null_empty(key, args.null_empty);
                r.value = null_empty(Some(value), args.null_empty);
                r.headers = &fixed_headers;
                r.partition = args.partition;
                r.timestamp = args.timestamp;
                producer.send(r).await?
            };
            if tx.send(ack).await.is_err() {
                // The printer stopped at a failed record: its error is the one to report.
                return Ok(());
            }
        }
        Ok(())
    };
    let sent: kafkit::Result<()> = sent.await;
    drop(tx);
    producer.flush().await?;
    let summary = printer.await.map_err(|e| {
        kafkit::Error::new(
            kafkit::ErrorKind::Handler,
            "produce",
            format!("the acknowledgement printer failed: {e}"),
        )
    })??;
    sent?;
    if !print_offsets {
        let text = match as_json {
            true => summary.json() + "\n",
            false => summary.text(),
        };
        crate::out::write(text.as_bytes())?;
    }
    Ok(())
}

async fn load(
    producer: &kafkit::producer::Producer,
    args: &ProduceArgs,
    n: u64,
    as_json: bool,
) -> kafkit::Result<()> {
    let value = vec![b'x'; args.size];
    let started = Instant::now();
    let (lat_tx, mut lat_rx) = tokio::sync::mpsc::unbounded_channel::<Duration>();
    let collector = tokio::spawn(async move {
        let mut v = Vec::new();
        while let Some(d) = lat_rx.recv().await {
            v.push(d);
        }
        v
    });
    let mut last_print = Instant::now();
    let mut failures = 0u64;
    let (err_tx, mut err_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let headers: Vec<Header> = args
        .headers
        .iter()
        .map(|(k, v)| Header {
            key: k.as_bytes(),
            value: Some(v),
        })
        .collect();
    for i in 0..n {
        let mut r = Record::new(&args.topic, &value);
        r.partition = args.partition;
        r.headers = &headers;
        r.timestamp = args.timestamp;
        let sent_at = Instant::now();
        let ack = producer.send(r).await?;
        // Sample latency on every 100th record to keep the bookkeeping off the hot path.
        if i % 100 == 0 {
            let tx = lat_tx.clone();
            let etx = err_tx.clone();
            tokio::spawn(async move {
                match ack.await {
                    Ok(_) => {
                        let _ = tx.send(sent_at.elapsed());
                    }
                    Err(e) => {
                        let _ = etx.send(e.to_string());
                    }
                }
            });
        }
        if !as_json && last_print.elapsed() > Duration::from_secs(1) {
            last_print = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            eprint!(
                "\rsent {i}/{n} records ({:.0} records/s)   ",
                i as f64 / secs
            );
        }
    }
    producer.flush().await?;
    drop(lat_tx);
    drop(err_tx);
    while let Some(e) = err_rx.recv().await {
        failures += 1;
        if failures == 1 {
            eprintln!("\nfirst failure: {}", esc(&e));
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let mut lat = collector.await.unwrap_or_default();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p) as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let rps = n as f64 / secs;
    let mbps = rps * args.size as f64 / 1e6;
    if as_json {
        outln!(
            "{}",
            terminal::json(
                &json!({"records": n, "seconds": secs, "records_per_sec": rps, "mb_per_sec": mbps, "p50_ms": pct(0.5), "p99_ms": pct(0.99), "failures": failures})
            )
        );
    } else {
        eprintln!();
        outln!("{n} records in {secs:.2}s: {rps:.0} records/s, {mbps:.1} MB/s, ack latency p50 {:.1} ms p99 {:.1} ms, {failures} failures", pct(0.5), pct(0.99));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{check_level, check_size};
    use kafkit::producer::Compression;

    #[test]
    fn compression_levels_are_checked_against_the_codec() {
        check_level(Compression::Gzip, 9).unwrap();
        check_level(Compression::Gzip, -1).unwrap();
        check_level(Compression::Zstd, -131_072).unwrap();
        check_level(Compression::Lz4, 17).unwrap();
        let e = check_level(Compression::Zstd, 23).unwrap_err();
        assert_eq!(e.kind(), &kafkit::ErrorKind::Config);
        let text = e.to_string();
        assert!(
            text.contains("--compression-level 23 is out of range for --compression zstd: give -131072..=22 (default 3)"),
            "{text}"
        );
        let text = check_level(Compression::None, 1).unwrap_err().to_string();
        assert!(text.contains("--compression none has no levels"), "{text}");
    }

    #[test]
    fn a_size_over_the_request_limit_is_refused_before_it_is_allocated() {
        assert!(check_size(100, 1 << 20).is_ok());
        assert!(check_size(1 << 20, 1 << 20).is_ok());
        let e = check_size(100_000_000_000_000, 1 << 20).unwrap_err();
        assert_eq!(e.kind(), &kafkit::ErrorKind::TooLarge);
        let text = e.to_string();
        assert!(
            text.contains("--size 100000000000000") && text.contains("1048576 bytes"),
            "{text}"
        );
    }
}
