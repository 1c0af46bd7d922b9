//! Deliveries (a batch each) as a stream of records. The rules both consumers' streams keep:
//! the queue is taken on the first poll (one run or stream per consumer); a batch is settled
//! once the caller moves past its last record, when it becomes obsolete, or when the stream
//! drops (the queue is let go first, so the engine can take back what is queued); a consumer
//! that cannot deliver says why once, then the stream ends; and the stream is fused.

use futures::Stream;
use futures::StreamExt;
use tokio::sync::OwnedMutexGuard;

use super::{DeliveryQueue, Queue};
use crate::error::{Error, Result};

/// A delivery opened: the batch as the front tracks it, and its records (`None`: skipped).
pub(crate) type Opened<F> = Option<(<F as Feed>::Open, Vec<<F as Feed>::Record>)>;

/// What a front does with its deliveries: how one opens into records, what taking a record
/// means, and how a batch is settled.
pub(crate) trait Feed: Send + 'static {
    type Delivery: Send + 'static;
    type Record: Send + 'static;
    /// The batch the caller is taking records from, as the front tracks it.
    type Open: Send + 'static;

    /// A delivery as records: `Ok(None)` skips it (dropped while queued), `Err` is an error
    /// item (the stream goes on after it).
    fn open(&mut self, delivery: Self::Delivery) -> Result<Opened<Self>>;
    /// The caller takes `record` from the open batch.
    fn taken(&mut self, _open: &mut Self::Open, _record: &Self::Record) {}
    /// Whether the rest of the open batch is obsolete (a seek or a rebalance took it away):
    /// it is not handed over, and the batch is settled.
    fn obsolete(&self, _open: &Self::Open) -> bool {
        false
    }
    /// The caller has moved past the open batch.
    fn settle(&mut self, open: Self::Open);
    /// The stream dropped while `open` was open, with `rest` never taken.
    fn dropped(&mut self, open: Self::Open, _rest: Vec<Self::Record>) {
        self.settle(open);
    }
    /// Why the consumer cannot deliver any more, if it cannot.
    fn failure(&self) -> Option<Error> {
        None
    }
}

struct State<Q: Queue, F: Feed<Delivery = Q::Item>> {
    feed: F,
    queue: DeliveryQueue<Q>,
    taken: Option<OwnedMutexGuard<Q>>,
    current: std::vec::IntoIter<F::Record>,
    open: Option<F::Open>,
    /// The consumer's failure was given (once; the stream ends after it).
    failure_told: bool,
}

impl<Q: Queue, F: Feed<Delivery = Q::Item>> Drop for State<Q, F> {
    fn drop(&mut self) {
        self.taken.take();
        if let Some(open) = self.open.take() {
            let rest = std::mem::take(&mut self.current).collect();
            self.feed.dropped(open, rest);
        }
    }
}

impl<Q: Queue, F: Feed<Delivery = Q::Item>> State<Q, F> {
    fn settle(&mut self) {
        if let Some(open) = self.open.take() {
            self.feed.settle(open);
        }
    }

    /// The failure to yield now, once.
    fn tell_failure(&mut self) -> Option<Error> {
        let e = self.feed.failure().filter(|_| !self.failure_told)?;
        self.failure_told = true;
        Some(e)
    }

    async fn next(&mut self) -> Option<Result<F::Record>> {
        loop {
            if self.open.as_ref().is_some_and(|o| self.feed.obsolete(o)) {
                self.current = Vec::new().into_iter();
                self.settle();
            }
            if let Some(r) = self.current.next() {
                if let Some(open) = self.open.as_mut() {
                    self.feed.taken(open, &r);
                }
                return Some(Ok(r));
            }
            self.settle();
            if self.taken.is_none() {
                match self.queue.take("stream") {
                    Ok(g) => self.taken = Some(g),
                    Err(e) => return Some(Err(e)),
                }
            }
            if self.feed.failure().is_some() {
                // It cannot deliver: the error once, then the end.
                return self.tell_failure().map(Err);
            }
            let Some(d) = self.taken.as_mut()?.recv().await else {
                // Closed: the consumer stopped; on an error, that error comes first.
                return self.tell_failure().map(Err);
            };
            match self.feed.open(d) {
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
                Ok(Some((open, records))) => {
                    self.open = Some(open);
                    self.current = records.into_iter();
                }
            }
        }
    }
}

/// The records of `queue`'s deliveries, opened and settled by `feed`.
pub(crate) fn records<Q, F>(
    queue: DeliveryQueue<Q>,
    feed: F,
) -> impl Stream<Item = Result<F::Record>> + Send + 'static
where
    Q: Queue,
    F: Feed<Delivery = Q::Item>,
    F::Record: Send,
{
    let state = State {
        feed,
        queue,
        taken: None,
        current: Vec::new().into_iter(),
        open: None,
        failure_told: false,
    };
    futures::stream::unfold(state, |mut st| async move {
        let item = st.next().await?;
        Some((item, st))
    })
    // Fused: polled again after its end it stays ended (an unfused unfold panics).
    .fuse()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::sync::mpsc;

    use super::*;

    /// A feed that logs what the stream asks of it.
    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<String>>>);

    impl Log {
        fn say(&self, s: String) {
            self.0.lock().expect("log").push(s);
        }
        fn said(&self) -> Vec<String> {
            self.0.lock().expect("log").clone()
        }
    }

    impl Feed for Log {
        type Delivery = Vec<u32>;
        type Record = u32;
        type Open = (u32, u32);
        fn open(&mut self, d: Vec<u32>) -> Result<Opened<Self>> {
            match d.first() {
                None => Ok(None),
                Some(0) => Err(Error::config("a bad batch")),
                Some(&first) => Ok(Some(((first, first), d))),
            }
        }
        fn taken(&mut self, open: &mut (u32, u32), r: &u32) {
            open.1 = *r;
        }
        fn settle(&mut self, open: (u32, u32)) {
            self.say(format!("settled {}..={}", open.0, open.1));
        }
        fn dropped(&mut self, open: (u32, u32), rest: Vec<u32>) {
            self.say(format!("dropped at {} with {rest:?} left", open.1));
        }
    }

    #[tokio::test]
    async fn batches_are_settled_as_the_caller_moves_past_them() {
        let (tx, rx) = mpsc::unbounded_channel();
        let log = Log::default();
        let q = DeliveryQueue::new(rx, "consumer");
        let mut s = Box::pin(records(q.handle(), log.clone()));
        for d in [vec![1, 2], vec![], vec![0], vec![5, 6, 7]] {
            tx.send(d).expect("open");
        }
        assert_eq!(s.next().await.map(|r| r.ok()), Some(Some(1)));
        assert_eq!(s.next().await.map(|r| r.ok()), Some(Some(2)));
        // The empty delivery is skipped; the bad one is an error item and the stream goes on.
        assert!(s.next().await.is_some_and(|r| r.is_err()));
        assert_eq!(log.said(), ["settled 1..=2"]);
        // A second stream is refused while this one holds the queue.
        let mut other = Box::pin(records(q.handle(), Log::default()));
        let e = other.next().await.and_then(|r| r.err()).expect("refused");
        assert!(e.to_string().contains("already running"), "{e}");
        assert_eq!(s.next().await.map(|r| r.ok()), Some(Some(5)));
        drop(s);
        assert_eq!(
            log.said(),
            ["settled 1..=2", "dropped at 5 with [6, 7] left"]
        );
        // Dropped, it let the queue go.
        assert!(q.take("run").is_ok());
    }

    #[tokio::test]
    async fn a_closed_queue_ends_the_stream_and_it_stays_ended() {
        let (tx, rx) = mpsc::unbounded_channel::<Vec<u32>>();
        drop(tx);
        let mut s = Box::pin(records(DeliveryQueue::new(rx, "consumer"), Log::default()));
        assert!(s.next().await.is_none());
        assert!(s.next().await.is_none());
    }
}
