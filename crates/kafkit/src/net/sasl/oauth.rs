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
/// use kafkit::security::{OAuthToken, SaslConfig};
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

/// Error challenges larger than this are not parsed: RFC 7628's are a few hundred bytes, and a
/// peer must not make the client parse (or echo) megabytes.
const MAX_CHALLENGE: usize = 64 * 1024;
/// Characters of one peer-supplied field echoed into an error message.
const MAX_ECHO: usize = 200;

/// The peer's text as it may appear in an error message: control characters dropped (no
/// terminal escapes or forged log lines), cut at `MAX_ECHO` characters.
fn echo(s: &str) -> String {
    let mut out: String = s
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_ECHO)
        .collect();
    if s.chars()
        .filter(|c| !c.is_control())
        .nth(MAX_ECHO)
        .is_some()
    {
        out.push('…');
    }
    out
}

/// Explains an OAUTHBEARER error challenge (RFC 7628 section 3.2.2), a JSON object such as
/// `{"status":"invalid_token","scope":"kafka","openid-configuration":"https://..."}`: what the
/// broker said and what to fix. Anything else (not JSON, too large) is described, never
/// trusted.
pub(crate) fn describe_error_challenge(bytes: &[u8]) -> String {
    if bytes.len() > MAX_CHALLENGE {
        return format!(
            "the broker sent an error challenge of {} bytes, too large to be RFC 7628's (not parsed)",
            bytes.len()
        );
    }
    // serde_json bounds its recursion (128 levels), so deep nesting is an error, not a
    // stack overflow.
    let value: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(_) => {
            return format!(
                "the broker sent an error challenge that is not RFC 7628 JSON: '{}'",
                echo(&String::from_utf8_lossy(
                    &bytes[..bytes.len().min(4 * MAX_ECHO)]
                ))
            )
        }
    };
    let field = |name: &str| value.get(name).and_then(|v| v.as_str()).map(echo);
    let Some(status) = field("status") else {
        return format!(
            "the broker sent an error challenge without a status: '{}'",
            echo(&String::from_utf8_lossy(
                &bytes[..bytes.len().min(4 * MAX_ECHO)]
            ))
        );
    };
    let scope = field("scope");
    let mut out = format!("status {status}");
    if let Some(scope) = &scope {
        out.push_str(&format!(", scope '{scope}'"));
    }
    if let Some(conf) = field("openid-configuration") {
        out.push_str(&format!(", openid-configuration {conf}"));
    }
    // Status values are HTTP Bearer error codes (RFC 6750 section 3.1); Kafka's validator
    // sends invalid_token for expired, unsigned or wrongly signed tokens.
    let hint = match status.as_str() {
        "invalid_token" => "the token is expired, malformed or not signed by a key the broker trusts; check the token provider (its issuer, audience and expiry)".to_string(),
        "insufficient_scope" => match &scope {
            Some(scope) => format!("the token lacks the scope the broker requires; request scope '{scope}' from the identity provider"),
            None => "the token lacks the scope the broker requires; request it from the identity provider".to_string(),
        },
        "invalid_request" => "the broker could not read the token or its extensions; check the token provider's output".to_string(),
        _ => "check the token provider and the broker's OAUTHBEARER settings".to_string(),
    };
    format!("{out}: {hint}")
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

    #[test]
    fn error_challenge_names_status_scope_and_fix() {
        let d = describe_error_challenge(
            br#"{"status":"invalid_token","scope":"kafka","openid-configuration":"https://idp/.well-known/openid-configuration"}"#,
        );
        assert!(
            d.starts_with("status invalid_token, scope 'kafka', openid-configuration https://idp/"),
            "{d}"
        );
        assert!(d.contains("check the token provider"), "{d}");
        let d =
            describe_error_challenge(br#"{"status":"insufficient_scope","scope":"kafka.write"}"#);
        assert!(d.contains("request scope 'kafka.write'"), "{d}");
        let d = describe_error_challenge(br#"{"status":"insufficient_scope"}"#);
        assert!(d.contains("lacks the scope"), "{d}");
        let d = describe_error_challenge(br#"{"status":"teapot"}"#);
        assert!(d.starts_with("status teapot: "), "{d}");
    }

    #[test]
    fn error_challenge_garbage_is_described_not_trusted() {
        for bad in [
            &b""[..],
            b"\xff\xfe{",
            b"[1,2]",
            br#"{"status":7}"#,
            b"null",
        ] {
            let d = describe_error_challenge(bad);
            assert!(d.starts_with("the broker sent an error challenge"), "{d}");
        }
        // Control characters never reach the message (no forged log lines).
        let d = describe_error_challenge(b"{\"status\":\"x\\n\\u001b[31mforged\"}");
        assert!(!d.chars().any(char::is_control), "{d:?}");
    }

    #[test]
    fn error_challenge_is_bounded() {
        let huge = vec![b'a'; MAX_CHALLENGE + 1];
        let d = describe_error_challenge(&huge);
        assert!(d.contains("too large") && d.len() < 200, "{d}");
        // A long field is cut when echoed.
        let long = format!(
            r#"{{"status":"invalid_token","scope":"{}"}}"#,
            "s".repeat(10_000)
        );
        let d = describe_error_challenge(long.as_bytes());
        assert!(d.len() < 1000 && d.contains('…'), "{}", d.len());
        let garbage = "x".repeat(MAX_CHALLENGE);
        assert!(describe_error_challenge(garbage.as_bytes()).len() < 1000);
    }

    #[test]
    fn error_challenge_deep_nesting_is_an_error_not_a_stack_overflow() {
        let mut deep = String::from(r#"{"status":"invalid_token","x":"#);
        deep.push_str(&"[".repeat(30_000));
        deep.push_str(&"]".repeat(30_000));
        deep.push('}');
        let d = describe_error_challenge(deep.as_bytes());
        assert!(
            d.starts_with("the broker sent an error challenge that is not RFC 7628 JSON"),
            "{d}"
        );
    }
}
