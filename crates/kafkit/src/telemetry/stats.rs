//! What a handle's [`Event`]s add up to between two telemetry pushes: the numbers behind the
//! KIP-714 standard metrics (see `encode.rs` for their names).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::events::{Event, TopicPartition};

/// Nanoseconds since the Unix epoch (OTLP's clock).
pub(super) fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Durations over one push interval: how many, their sum and the largest.
#[derive(Default, Clone, Copy, Debug, PartialEq)]
pub(super) struct Window {
    pub count: u64,
    pub sum: Duration,
    pub max: Duration,
}

impl Window {
    pub fn add(&mut self, d: Duration) {
        self.count += 1;
        self.sum += d;
        self.max = self.max.max(d);
    }

    pub fn avg_ms(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum.as_secs_f64() * 1000.0 / self.count as f64
        }
    }

    pub fn max_ms(&self) -> f64 {
        self.max.as_secs_f64() * 1000.0
    }
}

/// A monotonic total and its value at the last push (delta temporality sends the difference).
#[derive(Default, Clone, Copy, Debug, PartialEq)]
pub(super) struct Counter {
    pub total: u64,
    pub at_push: u64,
}

impl Counter {
    pub fn add(&mut self, n: u64) {
        self.total = self.total.saturating_add(n);
    }

    pub fn since_push(&self) -> u64 {
        self.total.saturating_sub(self.at_push)
    }
}

/// The running sums; [`Stats::pushed`] starts the next interval.
#[derive(Debug)]
pub(super) struct Stats {
    pub started_ns: u64,
    pub last_push_ns: u64,
    pub producer: bool,
    pub consumer: bool,
    pub connections: Counter,
    pub produce_bytes: Counter,
    pub records_consumed: Counter,
    /// Milliseconds spent in (successful) rebalances.
    pub rebalance_ms: Counter,
    pub node_latency: BTreeMap<String, Window>,
    pub fetch_latency: Window,
    /// Time batches waited in the producer's buffer before their first send.
    pub queue_time: Window,
    /// `count` is Produce answers, `sum` and `max` their throttle times (only throttled answers
    /// are reported, so the average is over every answer).
    pub produce_throttle: Window,
    pub commit_latency: Window,
    pub rebalance_latency: Window,
    /// Time handlers spent on batches in this interval (the rest of it the consumer was idle).
    pub handler_busy: Duration,
    /// Partitions each group's member holds now.
    pub assigned: HashMap<String, BTreeSet<TopicPartition>>,
}

impl Stats {
    pub fn new() -> Self {
        let now = now_ns();
        Stats {
            started_ns: now,
            last_push_ns: now,
            producer: false,
            consumer: false,
            connections: Counter::default(),
            produce_bytes: Counter::default(),
            records_consumed: Counter::default(),
            rebalance_ms: Counter::default(),
            node_latency: BTreeMap::new(),
            fetch_latency: Window::default(),
            queue_time: Window::default(),
            produce_throttle: Window::default(),
            commit_latency: Window::default(),
            rebalance_latency: Window::default(),
            handler_busy: Duration::ZERO,
            assigned: HashMap::new(),
        }
    }

    pub fn observe(&mut self, ev: &Event) {
        match ev {
            Event::Connect { .. } => self.connections.add(1),
            Event::Request {
                broker,
                api,
                duration,
                size,
                ..
            } => {
                match *api {
                    "GetTelemetrySubscriptions" | "PushTelemetry" => return,
                    "Produce" => {
                        self.producer = true;
                        self.produce_bytes.add(*size as u64);
                        self.produce_throttle.count += 1;
                    }
                    "OffsetCommit" => {
                        self.consumer = true;
                        self.commit_latency.add(*duration);
                    }
                    "Fetch" | "ConsumerGroupHeartbeat" | "JoinGroup" | "Heartbeat" => {
                        self.consumer = true
                    }
                    _ => {}
                }
                self.node_latency
                    .entry(broker.clone())
                    .or_default()
                    .add(*duration);
            }
            Event::Throttle {
                api: "Produce",
                throttle,
                ..
            } => {
                self.produce_throttle.sum += *throttle;
                self.produce_throttle.max = self.produce_throttle.max.max(*throttle);
            }
            Event::BatchSend { queue_time, .. } => {
                self.producer = true;
                self.queue_time.add(*queue_time);
            }
            Event::Fetch {
                records, duration, ..
            } => {
                self.consumer = true;
                self.records_consumed.add(*records as u64);
                self.fetch_latency.add(*duration);
            }
            Event::EndBatchProcess { duration, .. } => {
                self.consumer = true;
                self.handler_busy += *duration;
            }
            Event::GroupJoin {
                group_id,
                assignment,
                duration,
                ..
            } => {
                self.consumer = true;
                self.rebalance_latency.add(*duration);
                self.rebalance_ms
                    .add(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX));
                self.assigned
                    .insert(group_id.clone(), assignment.iter().cloned().collect());
            }
            Event::Heartbeat {
                group_id,
                added,
                removed,
                ..
            } => {
                let held = self.assigned.entry(group_id.clone()).or_default();
                held.extend(added.iter().cloned());
                for tp in removed {
                    held.remove(tp);
                }
            }
            Event::Stop { group_id } | Event::Crash { group_id, .. } => {
                self.assigned.remove(group_id);
            }
            _ => {}
        }
    }

    /// Partitions held by every group member of the handle.
    pub fn assigned_partitions(&self) -> usize {
        self.assigned.values().map(BTreeSet::len).sum()
    }

    /// Seconds since the last push (at least a millisecond: rates divide by it).
    pub fn interval_secs(&self, now_ns: u64) -> f64 {
        (now_ns.saturating_sub(self.last_push_ns) as f64 / 1e9).max(0.001)
    }

    /// The share of this interval the consumer spent waiting for records rather than in
    /// handlers (Java `poll-idle-ratio-avg`), in 0..=1.
    pub fn idle_ratio(&self, now_ns: u64) -> f64 {
        (1.0 - self.handler_busy.as_secs_f64() / self.interval_secs(now_ns)).clamp(0.0, 1.0)
    }

    /// A push was made at `now_ns`: the next interval starts.
    pub fn pushed(&mut self, now_ns: u64) {
        self.last_push_ns = now_ns;
        for c in [
            &mut self.connections,
            &mut self.produce_bytes,
            &mut self.records_consumed,
            &mut self.rebalance_ms,
        ] {
            c.at_push = c.total;
        }
        self.node_latency
            .values_mut()
            .for_each(|w| *w = Window::default());
        for w in [
            &mut self.fetch_latency,
            &mut self.queue_time,
            &mut self.produce_throttle,
            &mut self.commit_latency,
            &mut self.rebalance_latency,
        ] {
            *w = Window::default();
        }
        self.handler_busy = Duration::ZERO;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::GroupProtocol;

    fn request(api: &'static str, ms: u64) -> Event {
        Event::Request {
            broker: "b:1".into(),
            api,
            api_key: 0,
            api_version: 0,
            correlation_id: 1,
            sent_at: std::time::SystemTime::now(),
            pending: Duration::ZERO,
            duration: Duration::from_millis(ms),
            size: 100,
            response_size: 0,
        }
    }

    fn tp(p: i32) -> TopicPartition {
        TopicPartition::new("t", p)
    }

    #[test]
    fn producer_numbers() {
        let mut s = Stats::new();
        s.observe(&request("Produce", 4));
        s.observe(&request("Produce", 8));
        s.observe(&Event::Throttle {
            broker: "b:1".into(),
            api: "Produce",
            throttle: Duration::from_millis(10),
        });
        for ms in [2, 6] {
            s.observe(&Event::BatchSend {
                topic: "t".into(),
                partition: 0,
                records: 3,
                queue_time: Duration::from_millis(ms),
            });
        }
        assert!(s.producer && !s.consumer);
        assert_eq!(s.produce_bytes.total, 200);
        assert_eq!(s.produce_throttle.avg_ms(), 5.0);
        assert_eq!(s.produce_throttle.max_ms(), 10.0);
        assert_eq!(s.queue_time.avg_ms(), 4.0);
        assert_eq!(s.queue_time.max_ms(), 6.0);
        assert_eq!(s.node_latency["b:1"].avg_ms(), 6.0);
        // Telemetry's own requests are not the client's latency.
        s.observe(&request("PushTelemetry", 1000));
        assert_eq!(s.node_latency["b:1"].count, 2);
    }

    #[test]
    fn consumer_numbers() {
        let mut s = Stats::new();
        s.observe(&Event::GroupJoin {
            group_id: "g".into(),
            member_id: "m".into(),
            member_epoch: 1,
            group_protocol: GroupProtocol::Consumer,
            assignment: vec![tp(0), tp(1)],
            duration: Duration::from_millis(30),
            leader_id: None,
            is_leader: false,
        });
        s.observe(&Event::Heartbeat {
            group_id: "g".into(),
            member_id: "m".into(),
            member_epoch: 2,
            group_protocol: GroupProtocol::Consumer,
            added: vec![tp(2)],
            removed: vec![tp(0)],
        });
        assert_eq!(s.assigned_partitions(), 2);
        s.observe(&request("OffsetCommit", 12));
        assert_eq!(s.commit_latency.max_ms(), 12.0);
        assert_eq!(s.rebalance_latency.avg_ms(), 30.0);
        assert_eq!(s.rebalance_ms.total, 30);
        s.observe(&Event::Stop {
            group_id: "g".into(),
        });
        assert_eq!(s.assigned_partitions(), 0);
        assert!(s.consumer);
    }

    #[test]
    fn idle_ratio_is_the_time_outside_handlers() {
        let mut s = Stats::new();
        let start = s.last_push_ns;
        s.observe(&Event::EndBatchProcess {
            partition: tp(0),
            first_offset: 0,
            last_offset: 0,
            batch_size: 1,
            offset_lag: 0,
            high_watermark: 1,
            duration: Duration::from_millis(250),
        });
        let one_second_later = start + 1_000_000_000;
        assert!((s.idle_ratio(one_second_later) - 0.75).abs() < 1e-9);
        // Concurrent handlers can be busier than the interval is long: never below zero.
        s.handler_busy = Duration::from_secs(5);
        assert_eq!(s.idle_ratio(one_second_later), 0.0);
    }

    #[test]
    fn a_push_starts_the_next_interval() {
        let mut s = Stats::new();
        s.observe(&Event::Connect {
            broker: "b:1".into(),
        });
        s.observe(&request("Produce", 4));
        s.pushed(now_ns());
        assert_eq!(s.connections.since_push(), 0);
        assert_eq!(s.connections.total, 1);
        assert_eq!(s.produce_throttle, Window::default());
        assert_eq!(s.node_latency["b:1"].count, 0);
        s.observe(&Event::Connect {
            broker: "b:1".into(),
        });
        assert_eq!(s.connections.since_push(), 1);
    }
}
