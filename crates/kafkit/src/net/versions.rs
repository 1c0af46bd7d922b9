//! The API versions a broker announced, and the choice of version per request.

use std::collections::HashMap;

use crate::error::{Error, ErrorKind, Result};
use crate::protocol::messages::api_name;
use crate::protocol::messages::ApiVersionsResponse;
use crate::protocol::wire::Request;

/// Per API key, the `(min, max)` versions a broker supports.
#[derive(Debug, Clone, Default)]
pub struct ApiVersions {
    ranges: HashMap<i16, (i16, i16)>,
    /// Finalized features (e.g. `group.version`), name -> max level.
    features: HashMap<String, i16>,
}

impl ApiVersions {
    /// From a broker's ApiVersions response.
    pub fn from_response(resp: &ApiVersionsResponse) -> Self {
        ApiVersions {
            ranges: resp
                .api_keys
                .iter()
                .map(|k| (k.api_key, (k.min_version, k.max_version)))
                .collect(),
            features: resp
                .finalized_features
                .iter()
                .map(|f| (f.name.clone(), f.max_version_level))
                .collect(),
        }
    }

    /// The broker's range for `key`, if it supports the API at all.
    pub fn range(&self, key: i16) -> Option<(i16, i16)> {
        self.ranges.get(&key).copied()
    }

    /// Whether the broker supports `key` at all.
    pub fn supports(&self, key: i16) -> bool {
        self.ranges.contains_key(&key)
    }

    /// The finalized level of a cluster feature (for example `group.version`).
    pub fn feature(&self, name: &str) -> Option<i16> {
        self.features.get(name).copied()
    }

    /// The highest version in both `[our_min, our_max]` and the broker's range.
    pub fn pick(&self, key: i16, our_min: i16, our_max: i16) -> Result<i16> {
        let name = api_name(key);
        let (min, max) = self.range(key).ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                "version_negotiation",
                format!("the broker does not support the {name} API (key {key}); upgrade the broker (kafkit targets Apache Kafka 4.0+)"),
            )
        })?;
        let v = max.min(our_max);
        if v < min || v < our_min {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "version_negotiation",
                format!("the broker supports {name} v{min}-v{max} but kafkit needs v{our_min}-v{our_max}; use a broker version that supports both (Apache Kafka 4.0+)"),
            ));
        }
        Ok(v)
    }
}

/// The newest version of `R` kafkit sends: the newest stable version Kafka defines (versions
/// a broker offers only with `unstable.api.versions.enable` are left out). Every API is spoken
/// at its newest version today; when Kafka adds one whose handling kafkit has not caught up
/// with, the cap goes here, with why, so raising it is one reviewed change with its tests.
pub(crate) fn newest_handled<R: Request>() -> i16 {
    R::STABLE_MAX
}

impl Error {
    /// Adds the broker address to a version-negotiation error.
    pub(crate) fn with_broker(self, addr: &str) -> Self {
        let msg = format!("broker {addr}: {}", self.message());
        Error::new(self.kind().clone(), self.operation(), msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::messages::api_versions_response::ApiVersion;

    fn versions(entries: &[(i16, i16, i16)]) -> ApiVersions {
        let mut resp = ApiVersionsResponse::default();
        for &(k, min, max) in entries {
            let mut v = ApiVersion::default();
            v.api_key = k;
            v.min_version = min;
            v.max_version = max;
            resp.api_keys.push(v);
        }
        ApiVersions::from_response(&resp)
    }

    #[test]
    fn picks_highest_common_version() {
        let v = versions(&[(0, 3, 12), (68, 0, 1)]);
        assert_eq!(v.pick(0, 0, 11).unwrap(), 11);
        assert_eq!(v.pick(0, 0, 13).unwrap(), 12);
        assert_eq!(v.pick(68, 1, 1).unwrap(), 1);
    }

    #[test]
    fn missing_or_disjoint_api_is_unsupported_with_a_fix() {
        let v = versions(&[(0, 3, 12), (68, 0, 0)]);
        let e = v.pick(68, 1, 1).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Unsupported);
        assert!(e.message().contains("ConsumerGroupHeartbeat v0-v0"), "{e}");
        let e = v.pick(1, 4, 17).unwrap_err();
        assert!(
            e.message().contains("does not support the Fetch API"),
            "{e}"
        );
        assert!(e.message().contains("upgrade"), "{e}");
    }
}
