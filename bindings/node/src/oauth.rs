//! OAUTHBEARER with KafkaJS's `oauthBearerProvider`: the core asks for a token when it
//! authenticates a connection and its cached one nears expiry; the JavaScript function is
//! called on Node's thread and its answer crosses back as JSON.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use kafkit::security::{OAuthToken, SaslConfig};
use kafkit::{Error, ErrorKind};
use napi::bindgen_prelude::Promise;
use napi::threadsafe_function::ThreadsafeFunction;
use napi::Status;
use serde_json::Value;

/// lib/kafka.js's wrapper of the user's provider: resolves `{"value": .., "extensions": ..}`.
/// Weak: the client holds it as long as it lives, and a strong one would keep Node's event
/// loop alive after `disconnect()` (the process never exited). A call made while a request
/// is pending is still served: the pending promise keeps the loop alive.
pub type TokenFn = ThreadsafeFunction<(), Promise<String>, (), Status, false, true>;

/// How long a token without an `exp` claim is kept before the provider is asked again
/// (KafkaJS asks on every authentication; a provider is expected to cache).
const NO_EXPIRY_LIFETIME: Duration = Duration::from_secs(300);

pub(crate) fn sasl(f: TokenFn) -> SaslConfig {
    let f = Arc::new(f);
    SaslConfig::oauthbearer(move || {
        let f = f.clone();
        async move {
            let answer = match f.call_async(()).await {
                Ok(p) => p.await,
                Err(e) => Err(e),
            };
            let json = answer.map_err(|e| failed(e.reason.clone()))?;
            token(&json)
        }
    })
}

fn failed(why: String) -> Error {
    // Keep the JavaScript error's message (lib/kafka.js puts it first).
    Error::new(ErrorKind::Auth, "oauthBearerProvider", why)
}

fn token(json: &str) -> kafkit::Result<OAuthToken> {
    let v: Value = serde_json::from_str(json)
        .map_err(|e| failed(format!("the provider's answer is not an object: {e}")))?;
    let value =
        match v.get("value") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err(failed(
                "oauthBearerProvider must resolve { value: token } with a non-empty string token"
                    .into(),
            )),
        };
    let expires_at = jwt_expiry(&value).unwrap_or_else(|| SystemTime::now() + NO_EXPIRY_LIFETIME);
    let mut t = OAuthToken::new(value, expires_at);
    if let Some(Value::Object(ext)) = v.get("extensions") {
        for (k, v) in ext {
            let Value::String(v) = v else {
                return Err(failed(format!(
                    "oauthBearerProvider: extension '{k}' must be a string"
                )));
            };
            t = t.extension(k.clone(), v.clone());
        }
    }
    Ok(t)
}

/// The `exp` claim of a JWS token (seconds since the epoch), when it has one.
fn jwt_expiry(token: &str) -> Option<SystemTime> {
    let payload = token.split('.').nth(1)?;
    let bytes = B64URL.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    let exp = Duration::try_from_secs_f64(claims.get("exp")?.as_f64()?).ok()?;
    // A claim past what SystemTime holds is no expiry we can keep.
    UNIX_EPOCH.checked_add(exp)
}
