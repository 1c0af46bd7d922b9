//! What `produce` prints once its records are acknowledged: how many went to each partition
//! and the last offset there (or, with `--print-offsets`, one line per record as it is
//! acknowledged).

use std::collections::BTreeMap;

use kafkit::producer::RecordMetadata;
use serde_json::json;

use crate::terminal::{self, esc};

/// Acknowledged records per partition: how many, and the highest offset.
#[derive(Debug, Default)]
pub struct Summary {
    topic: String,
    partitions: BTreeMap<i32, (u64, i64)>,
}

impl Summary {
    /// A summary of records sent to `topic`.
    pub fn new(topic: &str) -> Summary {
        Summary {
            topic: topic.to_string(),
            partitions: BTreeMap::new(),
        }
    }

    /// Counts an acknowledged record.
    pub fn add(&mut self, m: &RecordMetadata) {
        let e = self.partitions.entry(m.partition).or_insert((0, -1));
        e.0 += 1;
        e.1 = e.1.max(m.offset);
    }

    /// How many records were acknowledged.
    pub fn records(&self) -> u64 {
        self.partitions.values().map(|(n, _)| n).sum()
    }

    /// The summary as text: a first line with the total, then a line per partition.
    pub fn text(&self) -> String {
        let n = self.records();
        let mut out = format!(
            "sent {n} record{} to {}\n",
            if n == 1 { "" } else { "s" },
            esc(&self.topic)
        );
        for (p, (count, last)) in &self.partitions {
            out.push_str(&format!("  partition {p}: {count}, last offset {last}\n"));
        }
        out
    }

    /// The summary as one JSON object.
    pub fn json(&self) -> String {
        let parts: Vec<_> = self
            .partitions
            .iter()
            .map(|(p, (n, last))| json!({"partition": p, "records": n, "last_offset": last}))
            .collect();
        terminal::json(
            &json!({"topic": self.topic, "records": self.records(), "partitions": parts}),
        )
    }
}

/// One acknowledged record as `--print-offsets` shows it.
pub fn offset_line(m: &RecordMetadata, as_json: bool) -> String {
    if as_json {
        terminal::json(
            &json!({"topic": &*m.topic, "partition": m.partition, "offset": m.offset, "timestamp": m.timestamp}),
        )
    } else {
        format!("{}-{}@{}", esc(&m.topic), m.partition, m.offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(p: i32, o: i64) -> RecordMetadata {
        RecordMetadata {
            topic: "t".into(),
            partition: p,
            offset: o,
            timestamp: 0,
            log_start_offset: 0,
        }
    }

    #[test]
    fn counts_and_last_offsets_per_partition() {
        let mut s = Summary::new("t");
        assert_eq!(s.text(), "sent 0 records to t\n");
        for (p, o) in [(1, 4), (0, 7), (1, 5), (1, 3)] {
            s.add(&meta(p, o));
        }
        assert_eq!(s.records(), 4);
        assert_eq!(
            s.text(),
            "sent 4 records to t\n  partition 0: 1, last offset 7\n  partition 1: 3, last offset 5\n"
        );
        let j: serde_json::Value = serde_json::from_str(&s.json()).unwrap();
        assert_eq!(j["records"], 4);
        assert_eq!(
            j["partitions"][1],
            json!({"partition": 1, "records": 3, "last_offset": 5})
        );
        assert_eq!(offset_line(&meta(1, 5), false), "t-1@5");
    }
}
