//! OAUTHBEARER (RFC 7628, KIP-255): tokens come from a user-supplied async provider and are
//! reused until most of their lifetime has passed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use futures::future::BoxFuture;

use super::Secret;
use crate::error::Result;

/// An access token and when it expires.
#[derive(Clone, Debug)]
pub struct OAuthToken {
    value: Secret,
    /// When the token stops being valid.
    pub expires_at: SystemTime,
    /// SASL extensions sent with the token (KIP-342), e.g. `logicalCluster` for Confluent Cloud.
    pub extensions: Vec<(String, String)>,
    obtained_at: SystemTime,
}

impl OAuthToken {
    /// A token (the compact JWS the identity provider issued) valid until `expires_at`.
    pub fn new(value: impl Into<Secret>, expires_at: SystemTime) -> Self {
        OAuthToken {
            value: value.into(),
            expires_at,
            extensions: Vec::new(),
            obtained_at: SystemTime::now(),
        }
    }

    /// Adds a SASL extension.
    pub fn extension(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extensions.push((key.into(), value.into()));
        self
    }

    /// An unsigned token (`alg: none`) for `principal`, valid for `lifetime`. Only brokers
    /// that use Kafka's unsecured validator (development setups) accept it.
    pub fn unsecured(principal: &str, lifetime: Duration) -> Self {
        let now = SystemTime::now();
        let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let exp = now + lifetime;
        let header = B64URL.encode(br#"{"alg":"none"}"#);
        let claims = format!(
            r#"{{"sub":{},"iat":{},"exp":{}}}"#,
            json_string(principal),
            secs(now),
            secs(exp)
        );
        let token = format!("{header}.{}.", B64URL.encode(claims));
        OAuthToken::new(token, exp)
    }

    /// Whether less than a fifth of the token's lifetime is left: time to get a new one.
    fn needs_refresh(&self, now: SystemTime) -> bool {
        let total = self
            .expires_at
            .duration_since(self.obtained_at)
            .unwrap_or_default();
        match self.expires_at.duration_since(now) {
            Ok(left) => left < total / 5,
            Err(_) => true,
        }
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Where OAUTHBEARER tokens come from (your identity provider's client).
///
/// Any `Fn() -> impl Future<Output = Result<OAuthToken>>` is a provider:
///
/// ```
/// use std::time::Duration;
/// use kafkit::net::sasl::{OAuthToken, SaslConfig};
/// let sasl = SaslConfig::oauthbearer(|| async {
///     Ok(OAuthToken::unsecured("alice", Duration::from_secs(3600)))
/// });
/// assert_eq!(sasl.mechanism(), "OAUTHBEARER");
/// ```
pub trait TokenProvider: Send + Sync + 'static {
    /// A fresh token.
    fn token(&self) -> BoxFuture<'_, Result<OAuthToken>>;
}

impl<F, Fut> TokenProvider for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<OAuthToken>> + Send + 'static,
{
    fn token(&self) -> BoxFuture<'_, Result<OAuthToken>> {
        Box::pin(self())
    }
}

/// A provider and the token it last gave.
#[derive(Clone)]
pub(crate) struct TokenSource {
    provider: Arc<dyn TokenProvider>,
    cached: Arc<Mutex<Option<OAuthToken>>>,
}

impl TokenSource {
    pub fn new(provider: Arc<dyn TokenProvider>) -> Self {
        TokenSource {
            provider,
            cached: Arc::new(Mutex::new(None)),
        }
    }

    /// The cached token, or a new one when it is near its expiry.
    pub async fn token(&self) -> Result<OAuthToken> {
        let now = SystemTime::now();
        if let Some(t) = self.cached.lock().ok().and_then(|c| c.clone()) {
            if !t.needs_refresh(now) {
                return Ok(t);
            }
        }
        let mut fresh = self.provider.token().await?;
        fresh.obtained_at = now;
        if let Ok(mut c) = self.cached.lock() {
            *c = Some(fresh.clone());
        }
        Ok(fresh)
    }
}

/// The client's first (and only) OAUTHBEARER message (RFC 7628 section 3.1).
pub(crate) fn initial_response(token: &OAuthToken) -> Vec<u8> {
    let mut msg = format!("n,,\x01auth=Bearer {}", token.value.expose());
    for (k, v) in &token.extensions {
        msg.push('\x01');
        msg.push_str(k);
        msg.push('=');
        msg.push_str(v);
    }
    msg.push_str("\x01\x01");
    msg.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_layout_and_unsecured_token() {
        let t = OAuthToken::unsecured("al\"ice", Duration::from_secs(60)).extension("k", "v");
        let msg = String::from_utf8(initial_response(&t)).unwrap();
        assert!(msg.starts_with("n,,\x01auth=Bearer eyJhbGciOiJub25lIn0."));
        assert!(msg.ends_with("\x01k=v\x01\x01"));
        let claims = msg.split('.').nth(1).unwrap();
        let claims = String::from_utf8(B64URL.decode(claims).unwrap()).unwrap();
        assert!(claims.contains(r#""sub":"al\"ice""#), "{claims}");
        assert!(!format!("{t:?}").contains("eyJ"), "Debug shows no token");
    }

    #[test]
    fn refresh_when_four_fifths_have_passed() {
        let now = SystemTime::now();
        let mut t = OAuthToken::new("x", now + Duration::from_secs(100));
        t.obtained_at = now;
        assert!(!t.needs_refresh(now + Duration::from_secs(70)));
        assert!(t.needs_refresh(now + Duration::from_secs(85)));
        assert!(t.needs_refresh(now + Duration::from_secs(200)));
    }
}
