//! Delete records: moves each partition's log start offset forward (KIP-107).

use crate::protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use crate::protocol::messages::DeleteRecordsRequest;

use super::{topic_name, Admin};
use crate::error::{Error, Result};
use crate::events::TopicPartition;

impl Admin {
    /// Deletes every record before `offset` on each partition (`-1`: up to the high
    /// watermark, i.e. everything). Returns each partition's new low watermark (log start
    /// offset), sorted by partition. An offset past the high watermark fails with
    /// `OFFSET_OUT_OF_RANGE`; a compacted topic with `POLICY_VIOLATION`.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// use kafkit::TopicPartition;
    /// let low = admin.delete_records(&[(TopicPartition::new("orders", 0), 100)]).await?;
    /// assert_eq!(low[0].1, 100);
    /// # Ok(()) }
    /// ```
    pub async fn delete_records(
        &self,
        before: &[(TopicPartition, i64)],
    ) -> Result<Vec<(TopicPartition, i64)>> {
        if let Some((tp, o)) = before.iter().find(|(_, o)| *o < -1) {
            return Err(Error::config(format!(
                "offset {o} for {tp}: give an offset >= 0, or -1 for the high watermark"
            )));
        }
        let partitions: Vec<TopicPartition> = before.iter().map(|(tp, _)| tp.clone()).collect();
        let mut out = Vec::with_capacity(before.len());
        for (leader, topics) in self.leaders(&partitions, "delete_records").await? {
            let conn = self.broker(leader).await?;
            let mut req = DeleteRecordsRequest::default();
            req.timeout_ms = self.timeout_ms();
            req.topics = topics
                .iter()
                .map(|(t, parts)| {
                    let mut dt = DeleteRecordsTopic::default();
                    dt.name = topic_name(t);
                    dt.partitions = parts
                        .iter()
                        .map(|p| {
                            let mut dp = DeleteRecordsPartition::default();
                            dp.partition_index = *p;
                            // The last offset given for a partition wins.
                            dp.offset = before
                                .iter()
                                .rev()
                                .find(|(tp, _)| tp.topic == *t && tp.partition == *p)
                                .map(|(_, o)| *o)
                                .unwrap_or(-1);
                            dp
                        })
                        .collect();
                    dt
                })
                .collect();
            let resp = conn
                .send(&req)
                .await
                .map_err(|e| e.during("delete_records"))?;
            for t in resp.topics {
                for p in t.partitions {
                    let tp = TopicPartition::new(t.name.to_string(), p.partition_index);
                    if let Some(e) =
                        Error::from_code(p.error_code, "delete_records", tp.to_string())
                    {
                        if e.needs_metadata_refresh() {
                            self.kafka.cluster().invalidate();
                        }
                        return Err(e);
                    }
                    out.push((tp, p.low_watermark));
                }
            }
        }
        out.sort();
        Ok(out)
    }
}
