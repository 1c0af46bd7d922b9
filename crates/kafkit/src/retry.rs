//! One retry policy used by every client (KafkaJS's `retry` options).

use std::time::Duration;

/// How retriable failures are retried: exponential backoff with randomization.
///
/// Defaults follow KafkaJS: `max_retry_time` 30 s, `initial_retry_time` 300 ms, `factor` 0.2,
/// `multiplier` 2, `retries` 5.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Upper bound of one backoff (KafkaJS `maxRetryTime`).
    pub max_retry_time: Duration,
    /// First backoff (KafkaJS `initialRetryTime`).
    pub initial_retry_time: Duration,
    /// Randomization: each backoff is scaled by a random value in `[1 - factor, 1 + factor]`.
    pub factor: f64,
    /// Growth of the backoff per attempt.
    pub multiplier: f64,
    /// Retries after the first attempt.
    pub retries: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retry_time: Duration::from_secs(30),
            initial_retry_time: Duration::from_millis(300),
            factor: 0.2,
            multiplier: 2.0,
            retries: 5,
        }
    }
}

impl RetryPolicy {
    /// Sets the upper bound of one backoff (KafkaJS `maxRetryTime`, Java `retry.backoff.max.ms`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let retry = kafkit::RetryPolicy::default()
    ///     .retries(10)
    ///     .initial_retry_time(Duration::from_millis(100))
    ///     .max_retry_time(Duration::from_secs(5))
    ///     .multiplier(1.5)
    ///     .factor(0.1);
    /// assert_eq!(retry.retries, 10);
    /// ```
    pub fn max_retry_time(mut self, d: Duration) -> Self {
        self.max_retry_time = d;
        self
    }

    /// Sets the first backoff (KafkaJS `initialRetryTime`, Java `retry.backoff.ms`).
    pub fn initial_retry_time(mut self, d: Duration) -> Self {
        self.initial_retry_time = d;
        self
    }

    /// Sets the randomization of each backoff (KafkaJS `factor`).
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }

    /// Sets the growth of the backoff per attempt (KafkaJS `multiplier`).
    pub fn multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = multiplier;
        self
    }

    /// Sets the retries after the first attempt (KafkaJS `retries`).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// The wait before retry number `attempt` (0-based), given a uniform random value in `[0, 1)`.
    pub fn backoff_with(&self, attempt: u32, random: f64) -> Duration {
        let base =
            self.initial_retry_time.as_secs_f64() * self.multiplier.powi(attempt.min(64) as i32);
        let jitter = 1.0 - self.factor + 2.0 * self.factor * random.clamp(0.0, 1.0);
        let secs = (base * jitter)
            .min(self.max_retry_time.as_secs_f64())
            .max(0.0);
        Duration::from_secs_f64(secs)
    }

    /// The wait before retry number `attempt` (0-based), randomized.
    pub fn backoff(&self, attempt: u32) -> Duration {
        self.backoff_with(attempt, rand::random::<f64>())
    }

    /// Runs `op` until it succeeds, fails with a non-retriable error, or the retries are used up.
    /// `on_retry` runs before each retry (for example to refresh metadata).
    pub async fn run<T, F, Fut, R, RFut>(&self, mut op: F, mut on_retry: R) -> crate::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = crate::Result<T>>,
        R: FnMut(crate::Error) -> RFut,
        RFut: std::future::Future<Output = ()>,
    {
        let mut attempt = 0;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) if e.is_retriable() && attempt < self.retries => {
                    tracing::debug!(error = %e, attempt, "retrying");
                    let wait = self.backoff(attempt);
                    on_retry(e).await;
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// The pace of a retry that may repeat for as long as an error lasts (a lookup of a topic id
/// metadata does not know, an offset reset that keeps failing, a broker whose fetches fail):
/// 100 ms, doubling, at most 1 s, ±20% (the Java client's `retry.backoff.ms` and
/// `retry.backoff.max.ms`). Whatever the error, such a retry goes out at most 10 times a
/// second, and about once a second once it has lasted a few seconds.
pub(crate) const PACING: RetryPolicy = RetryPolicy {
    max_retry_time: Duration::from_secs(1),
    initial_retry_time: Duration::from_millis(100),
    factor: 0.2,
    multiplier: 2.0,
    retries: 0,
};

/// The least time from one fetch (Fetch, ShareFetch) to a broker to the next when the first
/// one's answer brought nothing: a broker answering at once whatever `max_wait` says gets at
/// most 10 fetches a second. A long poll (`max_wait` at least this) is never held by it.
pub(crate) const IDLE_FETCH_EVERY: Duration = Duration::from_millis(100);

/// The pace of a group member's heartbeats (classic, KIP-848 and share) after failed ones:
/// 200 ms, doubling, at most 5 s, without jitter (the session timeout, not the load on the
/// coordinator, bounds how long a member may wait).
pub(crate) const HEARTBEAT_RETRY: RetryPolicy = RetryPolicy {
    max_retry_time: Duration::from_secs(5),
    initial_retry_time: Duration::from_millis(200),
    factor: 0.0,
    multiplier: 2.0,
    retries: 0,
};

/// The pace of rejoining after a group member was fenced again and again: 100 ms, doubling,
/// at most 5 s, so a coordinator that keeps fencing a known member id causes no hot loop.
pub(crate) const FENCED_REJOIN: RetryPolicy = RetryPolicy {
    max_retry_time: Duration::from_secs(5),
    initial_retry_time: Duration::from_millis(100),
    factor: 0.0,
    multiplier: 2.0,
    retries: 0,
};

/// One retried thing's place in its backoff: how many tries in a row went out without
/// success, and when the next may go. Sans-IO: the caller says what happened and when.
///
/// It is the crate's one backoff: reconnects, coordinator lookups, heartbeats, fetches and
/// metadata lookups each keep one, with the [`RetryPolicy`] that sets their pace.
#[derive(Debug, Clone, Default)]
pub(crate) struct Backoff {
    tries: u32,
    until: Option<tokio::time::Instant>,
}

impl Backoff {
    /// A try failed: counts it, and returns how long to wait before the next one (for a
    /// caller that keeps its own clock).
    pub fn failed(&mut self, policy: &RetryPolicy) -> Duration {
        let wait = policy.backoff(self.tries);
        self.tries = self.tries.saturating_add(1);
        wait
    }

    /// The next try waits until `at` (a wait the caller chose, longer than the policy's).
    pub fn wait_until(&mut self, at: tokio::time::Instant) {
        self.until = Some(at);
    }

    /// How many tries in a row went out without success.
    pub fn failures(&self) -> u32 {
        self.tries
    }

    /// A try goes out now: the next one waits `policy`'s backoff for this many tries in a
    /// row. Returns when the next may go.
    pub fn tried(
        &mut self,
        policy: &RetryPolicy,
        now: tokio::time::Instant,
    ) -> tokio::time::Instant {
        let next = now + policy.backoff(self.tries);
        self.tries = self.tries.saturating_add(1);
        self.until = Some(next);
        next
    }

    /// When the next try may go (`None`: at once).
    pub fn until(&self) -> Option<tokio::time::Instant> {
        self.until
    }

    /// Whether a try may go at `now`.
    pub fn ready(&self, now: tokio::time::Instant) -> bool {
        self.until.is_none_or(|u| u <= now)
    }

    /// It worked: the next try, if any, goes at once.
    pub fn reset(&mut self) {
        *self = Backoff::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_backoff_paces_repeated_tries_to_ten_a_second_then_one() {
        let mut b = Backoff::default();
        let t0 = tokio::time::Instant::now();
        assert!(b.ready(t0), "the first try goes at once");
        // Tries as soon as allowed, for 10 s.
        let mut now = t0;
        let mut tries = 0;
        while now < t0 + Duration::from_secs(10) {
            assert!(b.ready(now));
            let next = b.tried(&PACING, now);
            assert!(next - now >= Duration::from_millis(80), "{:?}", next - now);
            assert!(next - now <= Duration::from_secs(1));
            assert!(!b.ready(now));
            tries += 1;
            tokio::time::advance(next - now).await;
            now = tokio::time::Instant::now();
        }
        // 100, 200, 400, 800 ms, then 1 s each: about 13 in 10 s.
        assert!((11..=16).contains(&tries), "{tries} tries in 10 s");
        b.reset();
        assert!(b.ready(now) && b.until().is_none());
        let next = b.tried(&PACING, now);
        assert!(next - now <= Duration::from_millis(120), "starts over");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff_with(0, 0.5), Duration::from_millis(300));
        assert_eq!(p.backoff_with(1, 0.5), Duration::from_millis(600));
        assert!(p.backoff_with(0, 0.0) >= Duration::from_millis(239));
        assert!(p.backoff_with(0, 0.999) <= Duration::from_millis(361));
        assert_eq!(p.backoff_with(40, 0.5), Duration::from_secs(30));
    }
}
