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

#[cfg(test)]
mod tests {
    use super::*;

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
