//! String-keyed configuration with the Java client's property names, so a `.properties` file
//! written for the Java client (or librdkafka's Java-named subset) configures kafkit too.
//!
//! Every name kafkit knows is in one of three groups:
//! - **implemented**: the value is parsed and set on the matching config field;
//! - **known but not implemented** (for example `max.poll.records`, `key.deserializer`): an
//!   error of kind [`Config`](crate::ErrorKind::Config) says so and what to do instead, so a
//!   setting is never silently dropped;
//! - anything else is **unknown**: the error names the closest known property (edit distance),
//!   which catches typos such as `fetch.max.byte`.
//!
//! A bad value names the property and the expected form. Client-wide properties
//! (`bootstrap.servers`, `client.id`, `security.protocol`, ...) belong to
//! [`KafkaConfig`]; the others to the consumer, producer or share consumer.
//! [`Properties`] takes a whole file and splits it:
//!
//! ```
//! use kafkit::properties::Properties;
//! let props = Properties::parse(
//!     "bootstrap.servers=127.0.0.1:9092\n\
//!      group.id=orders\n\
//!      fetch.max.bytes=52428800\n\
//!      auto.offset.reset=earliest\n",
//! )?;
//! let (kafka, consumer) = props.consumer()?;
//! assert_eq!(kafka.bootstrap, ["127.0.0.1:9092"]);
//! assert_eq!(consumer.group_id, "orders");
//! assert_eq!(consumer.max_bytes, 52_428_800);
//!
//! let typo = Properties::parse("fetch.max.byte=1")?.consumer().unwrap_err();
//! assert!(typo.to_string().contains("did you mean 'fetch.max.bytes'"), "{typo}");
//! # Ok::<(), kafkit::Error>(())
//! ```

use std::path::Path;
use std::time::Duration;

use crate::consumer::ConsumerConfig;
use crate::error::{Error, Result};
use crate::producer::ProducerConfig;
use crate::share::ShareConsumerConfig;
use crate::KafkaConfig;

mod client;
mod consumer;
mod producer;
mod share;

pub(crate) use client::ClientSettings;

/// What a property name means to one config type.
pub(crate) enum Spec<T> {
    /// Parses the value into the config; `Err` holds the expected form of the value.
    Set(fn(&mut T, &str) -> std::result::Result<(), String>),
    /// A Java property kafkit does not implement, with what to do instead.
    Unsupported(&'static str),
}

const NO_INTERCEPTORS: &str = "kafkit has no interceptors; wrap the send or the handler in your code, or listen to Kafka::events";

/// The properties of one config type, by Java name.
pub(crate) type Table<T> = &'static [(&'static str, Spec<T>)];

/// Sets `key` on `target` if `table` knows it: `None` when it does not.
pub(crate) fn apply<T>(
    table: Table<T>,
    target: &mut T,
    key: &str,
    value: &str,
) -> Option<Result<()>> {
    let (_, spec) = table.iter().find(|(name, _)| *name == key)?;
    Some(match spec {
        Spec::Set(set) => set(target, value.trim()).map_err(|expected| {
            Error::config(format!(
                "property '{key}' has the bad value '{value}': expected {expected}"
            ))
        }),
        Spec::Unsupported(instead) => Err(Error::config(format!(
            "property '{key}' is a Java client property that kafkit does not implement: {instead}; remove it"
        ))),
    })
}

/// Every name of these tables.
fn names<T>(table: Table<T>) -> impl Iterator<Item = &'static str> {
    table.iter().map(|(n, _)| *n)
}

/// The error for a name that none of `scopes` knows: the closest known name, and the config
/// type it belongs to when that is another one.
pub(crate) fn unknown(key: &str, scope: &str, known: &[&'static str]) -> Error {
    let mut msg = format!("unknown {scope} property '{key}'");
    if let Some(other) = owner_elsewhere(key) {
        if scope != other {
            msg = format!("'{key}' is a {other} property, not a {scope} one");
            return Error::config(msg);
        }
    }
    let closest = known
        .iter()
        .map(|n| (strsim::levenshtein(key, n), *n))
        .min();
    if let Some((_, name)) = closest {
        msg.push_str(&format!("; did you mean '{name}'?"));
    }
    Error::config(msg)
}

/// The config type that knows `key`, if any.
fn owner_elsewhere(key: &str) -> Option<&'static str> {
    let known = |t: &[&str]| t.contains(&key);
    if known(&names(client::TABLE).collect::<Vec<_>>()) {
        Some("client-wide (KafkaConfig)")
    } else if known(&names(consumer::TABLE).collect::<Vec<_>>()) {
        Some("consumer")
    } else if known(&names(producer::TABLE).collect::<Vec<_>>()) {
        Some("producer")
    } else if known(&names(share::TABLE).collect::<Vec<_>>()) {
        Some("share consumer")
    } else {
        None
    }
}

/// Sets each property on a client-level config of type `T` (consumer, producer, share
/// consumer) and, when `client` is given, client-wide ones on it. A name both know (such as
/// the producer's `request.timeout.ms`) sets both.
fn load<T>(
    table: Table<T>,
    scope: &str,
    mut target: T,
    mut client: Option<&mut ClientSettings>,
    props: impl IntoIterator<Item = (String, String)>,
) -> Result<T> {
    for (key, value) in props {
        let key = key.trim();
        let mut known = false;
        if let Some(c) = client.as_deref_mut() {
            if let Some(r) = c.set(key, &value) {
                r?;
                known = true;
            }
        }
        if let Some(r) = apply(table, &mut target, key, &value) {
            r?;
            known = true;
        }
        if !known {
            let mut all: Vec<&str> = names(table).collect();
            if client.is_some() {
                all.extend(names(client::TABLE));
            }
            return Err(unknown(key, scope, &all));
        }
    }
    Ok(target)
}

fn pairs<I, K, V>(props: I) -> impl Iterator<Item = (String, String)>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    props
        .into_iter()
        .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string()))
}

/// A set of properties, in the order given (a later one wins), to split into a
/// [`KafkaConfig`] and a consumer, producer or share consumer config.
///
/// ```no_run
/// # async fn demo() -> kafkit::Result<()> {
/// let (config, producer) = kafkit::properties::Properties::load("producer.properties")?.producer()?;
/// let kafka = kafkit::Kafka::connect(config).await?;
/// let producer = kafka.producer(producer)?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    entries: Vec<(String, String)>,
}

impl Properties {
    /// No properties.
    pub fn new() -> Self {
        Properties::default()
    }

    /// Reads text in the Java `.properties` syntax (`key=value`, `key: value` or `key value`
    /// lines, `#` and `!` comments, `\` line continuations and escapes).
    ///
    /// ```
    /// let p = kafkit::properties::Properties::parse("# consumer\nclient.id = reporting\n")?;
    /// assert_eq!(p.get("client.id"), Some("reporting"));
    /// # Ok::<(), kafkit::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        let mut entries = Vec::new();
        java_properties::PropertiesIter::new(text.as_bytes())
            .read_into(|k, v| entries.push((k, v)))
            .map_err(|e| Error::config(format!("properties are not in the Java syntax: {e}")))?;
        Ok(Properties { entries })
    }

    /// Reads a `.properties` file (as [`parse`](Self::parse)); the error names the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(format!(
                "cannot read properties file {}: {e}",
                path.display()
            ))
        })?;
        Properties::parse(&text)
            .map_err(|e| Error::config(format!("{}: {}", path.display(), e.message())))
    }

    /// Sets a property (replacing an earlier value of the same name).
    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        self.entries.retain(|(k, _)| *k != key);
        self.entries.push((key, value.into()));
        self
    }

    /// Removes a property, for example one kafkit does not implement, before converting.
    pub fn remove(mut self, key: &str) -> Self {
        self.entries.retain(|(k, _)| k != key);
        self
    }

    /// The value of a property.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The properties, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A client config from client-wide properties only (for an admin client).
    pub fn kafka(&self) -> Result<KafkaConfig> {
        KafkaConfig::from_properties(self.iter())
    }

    /// The client and consumer configs; `group.id` is optional (without it, the consumer is
    /// [`ConsumerConfig::without_group`]).
    pub fn consumer(&self) -> Result<(KafkaConfig, ConsumerConfig)> {
        let mut client = ClientSettings::new();
        let c = load(
            consumer::TABLE,
            "consumer",
            ConsumerConfig::without_group(),
            Some(&mut client),
            self.entries.iter().cloned(),
        )?;
        Ok((client.finish()?, c))
    }

    /// The client and producer configs.
    pub fn producer(&self) -> Result<(KafkaConfig, ProducerConfig)> {
        let mut client = ClientSettings::new();
        let p = load(
            producer::TABLE,
            "producer",
            ProducerConfig::default(),
            Some(&mut client),
            self.entries.iter().cloned(),
        )?;
        Ok((client.finish()?, p))
    }

    /// The client and share consumer configs; `group.id` is required.
    pub fn share_consumer(&self) -> Result<(KafkaConfig, ShareConsumerConfig)> {
        let mut client = ClientSettings::new();
        let s = load(
            share::TABLE,
            "share consumer",
            ShareConsumerConfig::new(""),
            Some(&mut client),
            self.entries.iter().cloned(),
        )?;
        if s.group_id.trim().is_empty() {
            return Err(Error::config(
                "property 'group.id' is missing: a share consumer needs its share group",
            ));
        }
        Ok((client.finish()?, s))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Properties {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        iter.into_iter()
            .fold(Properties::new(), |p, (k, v)| p.set(k, v))
    }
}

impl KafkaConfig {
    /// A client config from client-wide Java properties (`bootstrap.servers`, `client.id`,
    /// `request.timeout.ms`, `security.protocol`, `sasl.jaas.config`, ...); see
    /// [`properties`](crate::properties) for how names and values are checked.
    ///
    /// ```
    /// let config = kafkit::KafkaConfig::from_properties([
    ///     ("bootstrap.servers", "b1:9092,b2:9092"),
    ///     ("client.id", "billing"),
    /// ])?;
    /// assert_eq!(config.bootstrap.len(), 2);
    /// # Ok::<(), kafkit::Error>(())
    /// ```
    pub fn from_properties<I, K, V>(props: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut client = ClientSettings::new();
        for (k, v) in pairs(props) {
            match client.set(k.trim(), &v) {
                Some(r) => r?,
                None => {
                    return Err(unknown(
                        k.trim(),
                        "client-wide (KafkaConfig)",
                        &names(client::TABLE).collect::<Vec<_>>(),
                    ))
                }
            }
        }
        client.finish()
    }

    /// Sets one client-wide property by its Java name (security properties, which only make
    /// sense together, go through [`from_properties`](Self::from_properties)).
    ///
    /// ```
    /// let config = kafkit::KafkaConfig::new(["h:9092"]).set("metadata.max.age.ms", "60000")?;
    /// assert_eq!(config.metadata_max_age.as_secs(), 60);
    /// # Ok::<(), kafkit::Error>(())
    /// ```
    pub fn set(self, key: &str, value: &str) -> Result<Self> {
        let mut client = ClientSettings::from_config(self);
        match client.set(key, value) {
            Some(r) => r?,
            None => {
                return Err(unknown(
                    key,
                    "client-wide (KafkaConfig)",
                    &names(client::TABLE).collect::<Vec<_>>(),
                ))
            }
        }
        client.finish()
    }
}

macro_rules! string_keyed {
    ($ty:ty, $table:expr, $scope:literal, $base:expr, $example:literal) => {
        impl $ty {
            #[doc = concat!("A ", $scope, " config from Java ", $scope, " properties (client-wide ones such as `bootstrap.servers` are refused: load a whole file with [`Properties`]). See [`properties`](crate::properties) for how names and values are checked.")]
            ///
            /// ```
            #[doc = $example]
            /// # Ok::<(), kafkit::Error>(())
            /// ```
            pub fn from_properties<I, K, V>(props: I) -> Result<Self>
            where
                I: IntoIterator<Item = (K, V)>,
                K: AsRef<str>,
                V: AsRef<str>,
            {
                load($table, $scope, $base, None, pairs(props))
            }

            /// Sets one property by its Java name; an unknown name, a bad value or a property
            /// kafkit does not implement is an error that says which.
            pub fn set(self, key: &str, value: &str) -> Result<Self> {
                load($table, $scope, self, None, [(key.to_string(), value.to_string())])
            }
        }
    };
}

string_keyed!(
    ConsumerConfig,
    consumer::TABLE,
    "consumer",
    ConsumerConfig::without_group(),
    "let c = kafkit::consumer::ConsumerConfig::from_properties([(\"group.id\", \"orders\"), (\"fetch.max.bytes\", \"52428800\")])?;\nassert_eq!(c.max_bytes, 52_428_800);"
);
string_keyed!(
    ProducerConfig,
    producer::TABLE,
    "producer",
    ProducerConfig::default(),
    "let p = kafkit::producer::ProducerConfig::from_properties([(\"linger.ms\", \"20\"), (\"compression.type\", \"zstd\")])?;\nassert_eq!(p.linger.as_millis(), 20);"
);
string_keyed!(
    ShareConsumerConfig,
    share::TABLE,
    "share consumer",
    ShareConsumerConfig::new(""),
    "let s = kafkit::share::ShareConsumerConfig::from_properties([(\"group.id\", \"jobs\"), (\"max.poll.records\", \"50\")])?;\nassert_eq!(s.max_records, 50);"
);

// Value parsers: `Err` is the expected form, for the message.

pub(crate) fn ms(v: &str) -> std::result::Result<Duration, String> {
    v.parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| "a whole number of milliseconds, e.g. 500".into())
}

pub(crate) fn int<T: std::str::FromStr>(v: &str) -> std::result::Result<T, String> {
    v.parse::<T>().map_err(|_| {
        format!(
            "a whole number that fits {}, e.g. 1048576",
            std::any::type_name::<T>()
        )
    })
}

pub(crate) fn boolean(v: &str) -> std::result::Result<bool, String> {
    if v.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err("true or false".into())
    }
}

pub(crate) fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

pub(crate) fn non_empty(v: &str) -> std::result::Result<String, String> {
    if v.is_empty() {
        Err("a non-empty name".into())
    } else {
        Ok(v.to_string())
    }
}

#[cfg(test)]
mod tests;
