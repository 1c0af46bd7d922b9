//! kafkit errors as JavaScript errors. The reason is a JSON object (prefixed so the JS side
//! can tell it from napi's own errors) carrying what `lib/errors.js` needs to build the
//! matching KafkaJS error class: the kind, the Kafka error name and code, retriability.

use kafkit::{Error, ErrorKind};
use serde_json::json;

/// Marks a reason that `lib/errors.js` decodes.
pub(crate) const PREFIX: &str = "KAFKIT_ERROR:";

pub(crate) fn to_js(e: Error) -> napi::Error {
    let kind = match e.kind() {
        ErrorKind::Kafka(_) => "kafka",
        ErrorKind::Connection => "connection",
        ErrorKind::Timeout(_) => "timeout",
        ErrorKind::Config => "config",
        ErrorKind::Protocol => "protocol",
        ErrorKind::Unsupported => "unsupported",
        ErrorKind::TooLarge => "too_large",
        ErrorKind::Closed => "closed",
        ErrorKind::Handler => "handler",
        ErrorKind::Auth => "auth",
        ErrorKind::Fatal => "fatal",
        ErrorKind::CorruptRecord => "corrupt_record",
        _ => "other",
    };
    let at = e.partition_offset();
    let reason = json!({
        "kind": kind,
        "type": e.kafka_error().map(kafkit::error::kafka_error_name),
        "code": e.code(),
        "retriable": e.is_retriable(),
        "operation": e.operation(),
        "message": e.to_string(),
        "topic": at.map(|(tp, _)| tp.topic.clone()),
        "partition": at.map(|(tp, _)| tp.partition),
        "offset": at.map(|(_, o)| o.to_string()),
    });
    napi::Error::from_reason(format!("{PREFIX}{reason}"))
}

/// A configuration error raised by the binding itself (an option JavaScript passed that
/// kafkit cannot take).
pub(crate) fn config(message: impl Into<String>) -> napi::Error {
    to_js(Error::new(ErrorKind::Config, "config", message.into()))
}

pub(crate) type Result<T> = std::result::Result<T, napi::Error>;

pub(crate) trait IntoJs<T> {
    fn js(self) -> Result<T>;
}

impl<T> IntoJs<T> for kafkit::Result<T> {
    fn js(self) -> Result<T> {
        self.map_err(to_js)
    }
}
