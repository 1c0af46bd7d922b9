//! The core's retry backoff, for the JavaScript side: KafkaJS's `retry` options
//! (`initialRetryTime`, `maxRetryTime`, `factor`, `multiplier`) are kafkit's `RetryPolicy`, so a
//! handler retried in JavaScript waits exactly as a request retried in the core does.

use std::time::Duration;

use napi_derive::napi;

/// KafkaJS's `retry` options (the ones that shape the wait; `retries` is counted in JS).
#[napi(object)]
pub struct RetryOptions {
    pub initial_retry_time: Option<f64>,
    pub max_retry_time: Option<f64>,
    pub factor: Option<f64>,
    pub multiplier: Option<f64>,
}

/// The wait in ms before retry number `attempt` (0-based), randomized as the core's.
#[napi]
pub fn retry_backoff(options: RetryOptions, attempt: u32) -> f64 {
    let defaults = kafkit::RetryPolicy::default();
    let ms = |v: Option<f64>, d: Duration| {
        v.filter(|v| v.is_finite() && *v >= 0.0)
            .map_or(d, |v| Duration::from_secs_f64(v / 1000.0))
    };
    let policy = kafkit::RetryPolicy {
        initial_retry_time: ms(options.initial_retry_time, defaults.initial_retry_time),
        max_retry_time: ms(options.max_retry_time, defaults.max_retry_time),
        factor: options
            .factor
            .filter(|f| f.is_finite() && (0.0..=1.0).contains(f))
            .unwrap_or(defaults.factor),
        multiplier: options
            .multiplier
            .filter(|m| m.is_finite() && *m >= 1.0)
            .unwrap_or(defaults.multiplier),
        retries: 0,
    };
    (policy.backoff(attempt).as_secs_f64() * 1000.0).round()
}
