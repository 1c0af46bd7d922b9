//! Builders of [`ShareConsumerConfig`] for the options `share/mod.rs` has none for, so every
//! option can be set without touching a field.

use super::ShareConsumerConfig;

impl ShareConsumerConfig {
    /// Sets the share group (replacing the one given to [`new`](Self::new)).
    pub fn group_id(mut self, id: impl Into<String>) -> Self {
        self.group_id = id.into();
        self
    }

    /// Sets the records one fetch acquires at most (Java `max.poll.records`).
    ///
    /// ```
    /// let c = kafkit::share::ShareConsumerConfig::new("q").max_records(50);
    /// assert_eq!(c.max_records, 50);
    /// ```
    pub fn max_records(mut self, n: i32) -> Self {
        self.max_records = n;
        self
    }

    /// Sets the bytes a fetch waits for (Java `fetch.min.bytes`).
    pub fn min_bytes(mut self, bytes: i32) -> Self {
        self.min_bytes = bytes;
        self
    }

    /// Sets the bytes per fetch response (Java `fetch.max.bytes`).
    pub fn max_bytes(mut self, bytes: i32) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Sets the rack of this client (Java `client.rack`).
    pub fn rack_id(mut self, rack: impl Into<String>) -> Self {
        self.rack_id = Some(rack.into());
        self
    }

    /// Checks record batch CRCs or not (Java `check.crcs`; on by default).
    pub fn check_crcs(mut self, on: bool) -> Self {
        self.check_crcs = on;
        self
    }
}
