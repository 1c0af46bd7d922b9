//! OAUTHBEARER with KafkaJS's `oauthBearerProvider`: the core asks for a token when it
//! authenticates a connection and its cached one nears expiry; the JavaScript function is
//! called on Node's thread and its answer crosses back as a typed object.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use kafkit::security::{OAuthToken, SaslConfig};
use kafkit::{Error, ErrorKind};
use napi::bindgen_prelude::Promise;
use napi::threadsafe_function::ThreadsafeFunction;
use napi::Status;
use napi_derive::napi;
use serde_json::Value;

/// A token as KafkaJS's `oauthBearerProvider` resolves it (lib/kafka.js has checked that the
/// value is a non-empty string and every extension a string).
#[napi(object, object_to_js = false)]
pub struct OAuthAnswer {
    pub value: String,
    pub extensions: Option<HashMap<String, String>>,
}

/// lib/kafka.js's wrapper of the user's provider: resolves an [`OAuthAnswer`].
/// Weak: the client holds it as long as it lives, and a strong one would keep Node's event
/// loop alive after `disconnect()` (the process never exited). A call made while a request
/// is pending is still served: the pending promise keeps the loop alive.
pub type TokenFn = ThreadsafeFunction<(), Promise<OAuthAnswer>, (), Status, false, true>;

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
            token(answer.map_err(|e| failed(e.reason.clone()))?)
        }
    })
}

fn failed(why: String) -> Error {
    // Keep the JavaScript error's message (lib/kafka.js puts it first).
    Error::new(ErrorKind::Auth, "oauthBearerProvider", why)
}

fn token(answer: OAuthAnswer) -> kafkit::Result<OAuthToken> {
    if answer.value.is_empty() {
        return Err(failed(
            "oauthBearerProvider must resolve { value: token } with a non-empty string token"
                .into(),
        ));
    }
    let expires_at =
        jwt_expiry(&answer.value).unwrap_or_else(|| SystemTime::now() + NO_EXPIRY_LIFETIME);
    let mut t = OAuthToken::new(answer.value, expires_at);
    // Sorted, so that the token's extensions do not depend on a hash order.
    let mut extensions: Vec<_> = answer.extensions.unwrap_or_default().into_iter().collect();
    extensions.sort();
    for (k, v) in extensions {
        t = t.extension(k, v);
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
