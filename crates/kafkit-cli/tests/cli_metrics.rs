//! `kafkit --metrics-addr`: a running consume serves the client's metrics to a Prometheus
//! scrape.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bootstrap() -> String {
    std::env::var("KAFKIT_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".to_string())
}

fn kafkit(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_kafkit"))
        .args(["--bootstrap", &bootstrap()])
        .args(args)
        .output()
        .expect("kafkit runs");
    assert!(
        out.status.success(),
        "kafkit {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn scrape(addr: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

/// Kills the consumer when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_running_consume_serves_its_metrics_to_prometheus() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let topic = format!("cli-metrics-{nanos:x}");
    kafkit(&["topic", "create", &topic, "--partitions", "1"]);
    kafkit(&["produce", "--topic", &topic, "--count", "10"]);
    // A free port: bind, read it, let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let _child = Child(
        Command::new(env!("CARGO_BIN_EXE_kafkit"))
            .args(["--bootstrap", &bootstrap(), "--metrics-addr", &addr])
            .args([
                "consume",
                "--group",
                &format!("g-{topic}"),
                "--group-protocol",
                common::group_protocol(),
                "--topic",
                &topic,
            ])
            .arg("--from-beginning")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("kafkit consume starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let wanted = [
        "kafka_consumer_records_consumed_total{topic=\"".to_string() + &topic + "\"} 10",
        "kafka_client_request_latency_seconds".to_string(),
        "kafka_consumer_records_lag{topic=\"".to_string() + &topic + "\",partition=\"0\"} 0",
        "# HELP kafka_client_request_total requests answered".to_string(),
    ];
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Some(body) = scrape(&addr) {
            if wanted.iter().all(|w| body.contains(w.as_str())) {
                return;
            }
            last = body;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("the scrape never showed {wanted:?}; last scrape:\n{last}");
}
