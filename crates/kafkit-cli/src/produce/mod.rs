//! `kafkit produce`: records from stdin, or generated load with progress and a summary.

use std::time::{Duration, Instant};

use clap::Args;
use kafkit::producer::{Acks, Compression, ProducerConfig, Record};
use kafkit::Kafka;
use serde_json::json;

use crate::terminal::{self, esc};

#[derive(Args)]
pub struct ProduceArgs {
    /// Topic to write to.
    #[arg(long, short)]
    topic: String,
    /// Generate this many records instead of reading stdin.
    #[arg(long)]
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
    /// none. gzip and zstd honour every level; lz4 accepts its range but its pure-Rust codec
    /// compresses at one level (LZ4's fast one).
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
    /// Split stdin lines at the first TAB into key and value. Lines are read as bytes and
    /// each is sent as soon as it is read.
    #[arg(long)]
    key_tab: bool,
    /// Partition to write to (default: the partitioner chooses).
    #[arg(long, value_parser = crate::args::partition)]
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
    let producer = kafka.producer(config)?;
    match args.count {
        Some(n) => load(&producer, &args, n, as_json).await?,
        None => stdin(&producer, &args, as_json).await?,
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

/// Records from stdin, one per line, each sent as it arrives (a `tail -f` pipe or typed lines
/// go out at once, and a large file is never held whole). Lines are bytes: one that is not
/// UTF-8 is sent as it is, not taken as the end of input. Acknowledgements are printed in
/// order as they come, by a task of their own so reading never waits for them.
async fn stdin(
    producer: &kafkit::producer::Producer,
    args: &ProduceArgs,
    as_json: bool,
) -> kafkit::Result<()> {
    use tokio::io::AsyncBufReadExt;
    // Acknowledgements waiting to be printed, at most this many (then reading waits).
    const PENDING: usize = 10_000;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<kafkit::producer::DeliveryFuture>(PENDING);
    let printer = tokio::spawn(async move {
        while let Some(ack) = rx.recv().await {
            let m = ack.await?;
            if as_json {
                println!(
                    "{}",
                    terminal::json(
                        &json!({"topic": &*m.topic, "partition": m.partition, "offset": m.offset, "timestamp": m.timestamp})
                    )
                );
            } else {
                println!("{}-{}@{}", esc(&m.topic), m.partition, m.offset);
            }
        }
        Ok::<(), kafkit::Error>(())
    });
    let mut input = tokio::io::BufReader::new(tokio::io::stdin());
    let mut line = Vec::new();
    let sent = async {
        loop {
            line.clear();
            let n = input.read_until(b'\n', &mut line).await.map_err(|e| {
                kafkit::Error::new(
                    kafkit::ErrorKind::Config,
                    "produce",
                    format!("reading stdin: {e}"),
                )
            })?;
            if n == 0 {
                return Ok(());
            }
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            let (key, value) = match line.iter().position(|b| *b == b'\t') {
                Some(tab) if args.key_tab => (Some(&line[..tab]), &line[tab + 1..]),
                _ => (None, &line[..]),
            };
            let mut r = Record::new(&args.topic, value);
            r.key = key;
            r.partition = args.partition;
            let ack = producer.send(r).await?;
            if tx.send(ack).await.is_err() {
                // The printer stopped at a failed record: its error is the one to report.
                return Ok(());
            }
        }
    };
    let sent: kafkit::Result<()> = sent.await;
    drop(tx);
    producer.flush().await?;
    let printed = printer.await.map_err(|e| {
        kafkit::Error::new(
            kafkit::ErrorKind::Handler,
            "produce",
            format!("the acknowledgement printer failed: {e}"),
        )
    })?;
    printed.and(sent)
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
    for i in 0..n {
        let mut r = Record::new(&args.topic, &value);
        r.partition = args.partition;
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
        println!(
            "{}",
            terminal::json(
                &json!({"records": n, "seconds": secs, "records_per_sec": rps, "mb_per_sec": mbps, "p50_ms": pct(0.5), "p99_ms": pct(0.99), "failures": failures})
            )
        );
    } else {
        eprintln!();
        println!("{n} records in {secs:.2}s: {rps:.0} records/s, {mbps:.1} MB/s, ack latency p50 {:.1} ms p99 {:.1} ms, {failures} failures", pct(0.5), pct(0.99));
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
