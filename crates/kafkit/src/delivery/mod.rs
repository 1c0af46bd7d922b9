//! The fronts' side of an engine's delivery queue, one rule for both consumers
//! (`consumer/run.rs`, `share/mod.rs`): the engine fills the queue, and one `run` or `stream`
//! at a time drains it ([`DeliveryQueue::take`]); a stream hands the batches over record by
//! record and settles each batch the caller has moved past ([`stream::records`]).

pub(crate) mod stream;

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, Mutex, OwnedMutexGuard};

use crate::error::{Error, ErrorKind, Result};

/// A receiving end an engine delivers through (bounded for the group consumer, whose engine
/// waits on a full queue; unbounded for the share consumer, whose records are already
/// acquired and held by the broker's lock whatever the queue holds).
pub(crate) trait Queue: Send + 'static {
    type Item: Send + 'static;
    fn recv(&mut self) -> impl Future<Output = Option<Self::Item>> + Send;
}

impl<T: Send + 'static> Queue for mpsc::Receiver<T> {
    type Item = T;
    fn recv(&mut self) -> impl Future<Output = Option<T>> + Send {
        mpsc::Receiver::recv(self)
    }
}

impl<T: Send + 'static> Queue for mpsc::UnboundedReceiver<T> {
    type Item = T;
    fn recv(&mut self) -> impl Future<Output = Option<T>> + Send {
        mpsc::UnboundedReceiver::recv(self)
    }
}

/// The queue, shared by the handles of one consumer (and by its engine, which takes back what
/// is queued for a partition it loses).
pub(crate) struct DeliveryQueue<Q> {
    queue: Arc<Mutex<Q>>,
    /// Who drains it, for the error: "consumer", "share consumer".
    consumer: &'static str,
}

impl<Q: Queue> DeliveryQueue<Q> {
    pub(crate) fn new(queue: Q, consumer: &'static str) -> Self {
        DeliveryQueue {
            queue: Arc::new(Mutex::new(queue)),
            consumer,
        }
    }

    /// The queue itself, for the engine.
    pub(crate) fn shared(&self) -> Arc<Mutex<Q>> {
        self.queue.clone()
    }

    /// The queue for one `run` or `stream` (`call` names it in the error), held until the
    /// guard drops. A second run or stream while one holds it is refused: two would split
    /// a partition's records between them and break their order.
    pub(crate) fn take(&self, call: &'static str) -> Result<OwnedMutexGuard<Q>> {
        self.queue.clone().try_lock_owned().map_err(|_| {
            Error::new(
                ErrorKind::Config,
                call,
                format!(
                    "the {} is already running (one run or stream per consumer)",
                    self.consumer
                ),
            )
        })
    }

    /// A handle for a stream, which takes the queue when first polled.
    pub(crate) fn handle(&self) -> DeliveryQueue<Q> {
        DeliveryQueue {
            queue: self.queue.clone(),
            consumer: self.consumer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_taker_at_a_time_and_the_queue_is_free_again_after_it() {
        let (tx, rx) = mpsc::unbounded_channel::<u8>();
        let q = DeliveryQueue::new(rx, "share consumer");
        let mut held = q.take("run").expect("free");
        let e = q.handle().take("stream").expect_err("held by the run");
        assert!(
            e.to_string()
                .contains("the share consumer is already running"),
            "{e}"
        );
        tx.send(7).expect("open");
        assert_eq!(Queue::recv(&mut *held).await, Some(7));
        drop(held);
        assert!(q.take("stream").is_ok());
    }
}
