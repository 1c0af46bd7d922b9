//! Describe configs and incremental alter configs, for topics, brokers, groups and client
//! metrics subscriptions.

use std::collections::BTreeMap;

use crate::protocol::messages::describe_configs_request::DescribeConfigsResource;
use crate::protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use crate::protocol::messages::{DescribeConfigsRequest, IncrementalAlterConfigsRequest};

use super::{check, kafka_code, str_bytes, Admin};
use crate::error::{Error, ErrorKind, ResponseError, Result};
use crate::net::Connection;

kafka_code! {
    /// What a config belongs to.
    ///
    /// ```
    /// use kafkit::admin::ConfigResourceType;
    /// assert_eq!("topic".parse::<ConfigResourceType>().unwrap(), ConfigResourceType::Topic);
    /// assert_eq!(ConfigResourceType::Group.code(), 32);
    /// ```
    pub enum ConfigResourceType: i8 {
        /// A topic (name: the topic).
        Topic = 2 => "TOPIC",
        /// A broker (name: its node id; empty for the cluster-wide default).
        Broker = 4 => "BROKER",
        /// A broker's log4j loggers (name: its node id).
        BrokerLogger = 8 => "BROKER_LOGGER",
        /// A client metrics subscription (KIP-714; name: the subscription).
        ClientMetrics = 16 => "CLIENT_METRICS",
        /// A consumer group (KIP-848 group configs, Kafka 4.0+; name: the group id).
        Group = 32 => "GROUP",
    }
}

kafka_code! {
    /// Where a config's value comes from.
    ///
    /// ```
    /// use kafkit::admin::ConfigSource;
    /// assert_eq!(ConfigSource::from_code(1), ConfigSource::DynamicTopic);
    /// assert_eq!(ConfigSource::DynamicTopic.to_string(), "DYNAMIC_TOPIC_CONFIG");
    /// ```
    pub enum ConfigSource: i8 {
        /// Set on the topic.
        DynamicTopic = 1 => "DYNAMIC_TOPIC_CONFIG",
        /// Set dynamically on this broker.
        DynamicBroker = 2 => "DYNAMIC_BROKER_CONFIG",
        /// Set dynamically as the default of every broker.
        DynamicDefaultBroker = 3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        /// The broker's `server.properties`.
        StaticBroker = 4 => "STATIC_BROKER_CONFIG",
        /// Kafka's default.
        Default = 5 => "DEFAULT_CONFIG",
        /// Set dynamically on a broker logger.
        DynamicBrokerLogger = 6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        /// Set on a client metrics subscription.
        ClientMetrics = 7 => "CLIENT_METRICS_CONFIG",
        /// Set on a group.
        Group = 8 => "GROUP_CONFIG",
    }
}

/// A resource whose configs are described or altered.
///
/// ```
/// use kafkit::admin::{ConfigResource, ConfigResourceType};
/// let r = ConfigResource::topic("orders");
/// assert_eq!(r.kind, ConfigResourceType::Topic);
/// assert_eq!(ConfigResource::broker(1).name, "1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConfigResource {
    /// What it is.
    pub kind: ConfigResourceType,
    /// Its name (topic, node id, group id, subscription).
    pub name: String,
}

impl ConfigResource {
    /// A resource of `kind` named `name`.
    ///
    /// ```
    /// use kafkit::admin::{ConfigResource, ConfigResourceType};
    /// let r = ConfigResource::new(ConfigResourceType::ClientMetrics, "all-producers");
    /// assert_eq!(r.name, "all-producers");
    /// ```
    pub fn new(kind: ConfigResourceType, name: impl Into<String>) -> Self {
        ConfigResource {
            kind,
            name: name.into(),
        }
    }

    /// A topic.
    ///
    /// ```
    /// let r = kafkit::admin::ConfigResource::topic("orders");
    /// assert_eq!(r.name, "orders");
    /// ```
    pub fn topic(name: impl Into<String>) -> Self {
        Self::new(ConfigResourceType::Topic, name)
    }

    /// A broker by node id.
    ///
    /// ```
    /// let r = kafkit::admin::ConfigResource::broker(2);
    /// assert_eq!(r.name, "2");
    /// ```
    pub fn broker(node_id: i32) -> Self {
        Self::new(ConfigResourceType::Broker, node_id.to_string())
    }

    /// A consumer group.
    ///
    /// ```
    /// let r = kafkit::admin::ConfigResource::group("order-processors");
    /// assert_eq!(r.kind, kafkit::admin::ConfigResourceType::Group);
    /// ```
    pub fn group(id: impl Into<String>) -> Self {
        Self::new(ConfigResourceType::Group, id)
    }

    /// A client metrics subscription.
    ///
    /// ```
    /// let r = kafkit::admin::ConfigResource::client_metrics("producers");
    /// assert_eq!(r.kind, kafkit::admin::ConfigResourceType::ClientMetrics);
    /// ```
    pub fn client_metrics(name: impl Into<String>) -> Self {
        Self::new(ConfigResourceType::ClientMetrics, name)
    }

    /// The broker a request about this resource must reach: broker and logger configs live
    /// on that broker; the others anywhere.
    fn node(&self) -> Option<i32> {
        match self.kind {
            ConfigResourceType::Broker | ConfigResourceType::BrokerLogger => self.name.parse().ok(),
            _ => None,
        }
    }
}

impl std::fmt::Display for ConfigResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} '{}'", self.kind, self.name)
    }
}

/// One config of a described resource.
///
/// ```no_run
/// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
/// use kafkit::admin::ConfigResource;
/// let described = admin.describe_configs(&[ConfigResource::topic("orders")], &[]).await?;
/// for e in &described[0].entries {
///     println!("{} = {:?} ({})", e.name, e.value, e.source);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    /// Name, e.g. `retention.ms`.
    pub name: String,
    /// Value; `None` for a sensitive value or one without a value.
    pub value: Option<String>,
    /// Where the value comes from.
    pub source: ConfigSource,
    /// Whether it cannot be altered.
    pub read_only: bool,
    /// Whether the value is a secret (never returned).
    pub sensitive: bool,
    /// The values it overrides, most specific first (with `include_synonyms`; else empty).
    pub synonyms: Vec<(String, Option<String>, ConfigSource)>,
}

/// The configs of one resource.
///
/// ```no_run
/// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
/// use kafkit::admin::ConfigResource;
/// let r = &admin.describe_configs(&[ConfigResource::broker(1)], &["log.retention.hours"]).await?[0];
/// println!("{:?}", r.get("log.retention.hours"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceConfig {
    /// The resource.
    pub resource: ConfigResource,
    /// Its configs, sorted by name.
    pub entries: Vec<ConfigEntry>,
}

impl ResourceConfig {
    /// The entry named `name`.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// # let r = admin.describe_configs(&[kafkit::admin::ConfigResource::topic("t")], &[]).await?.remove(0);
    /// let retention = r.get("retention.ms").and_then(|e| e.value.clone());
    /// # Ok(()) }
    /// ```
    pub fn get(&self, name: &str) -> Option<&ConfigEntry> {
        self.entries.iter().find(|e| e.name == name)
    }
}

/// One change of an incremental alter.
///
/// ```
/// use kafkit::admin::AlterConfigOp;
/// let ops = [
///     AlterConfigOp::set("retention.ms", "3600000"),
///     AlterConfigOp::delete("cleanup.policy"),
/// ];
/// assert_eq!(ops[1].name(), "cleanup.policy");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterConfigOp {
    /// Sets the value.
    Set(String, String),
    /// Removes the value (back to the inherited one).
    Delete(String),
    /// Adds items to a list config.
    Append(String, String),
    /// Removes items from a list config.
    Subtract(String, String),
}

impl AlterConfigOp {
    /// Sets `name` to `value`.
    ///
    /// ```
    /// let op = kafkit::admin::AlterConfigOp::set("retention.ms", "60000");
    /// assert_eq!(op.name(), "retention.ms");
    /// ```
    pub fn set(name: impl Into<String>, value: impl Into<String>) -> Self {
        AlterConfigOp::Set(name.into(), value.into())
    }

    /// Deletes `name`.
    ///
    /// ```
    /// let op = kafkit::admin::AlterConfigOp::delete("retention.ms");
    /// assert_eq!(op.name(), "retention.ms");
    /// ```
    pub fn delete(name: impl Into<String>) -> Self {
        AlterConfigOp::Delete(name.into())
    }

    /// The config this op changes.
    ///
    /// ```
    /// let op = kafkit::admin::AlterConfigOp::Append("metrics".into(), "org.apache.kafka.producer.".into());
    /// assert_eq!(op.name(), "metrics");
    /// ```
    pub fn name(&self) -> &str {
        match self {
            AlterConfigOp::Set(n, _)
            | AlterConfigOp::Delete(n)
            | AlterConfigOp::Append(n, _)
            | AlterConfigOp::Subtract(n, _) => n,
        }
    }

    /// Parses `name=value` (set), `name-` or `-name` (delete), `name+=value` (append) and
    /// `name-=value` (subtract), the forms the CLI takes.
    ///
    /// ```
    /// use kafkit::admin::AlterConfigOp;
    /// assert_eq!(AlterConfigOp::parse("retention.ms=1000").unwrap(), AlterConfigOp::set("retention.ms", "1000"));
    /// assert_eq!(AlterConfigOp::parse("-retention.ms").unwrap(), AlterConfigOp::delete("retention.ms"));
    /// assert!(AlterConfigOp::parse("retention.ms").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || {
            Error::config(format!(
                "'{s}' is not a config change; write name=value to set, -name to delete, name+=value to append, name-=value to subtract"
            ))
        };
        if let Some(name) = s.strip_prefix('-').or_else(|| s.strip_suffix('-')) {
            if name.is_empty() || name.contains('=') {
                return Err(bad());
            }
            return Ok(AlterConfigOp::delete(name));
        }
        let (name, value) = s.split_once('=').ok_or_else(bad)?;
        let op = if let Some(n) = name.strip_suffix('+') {
            AlterConfigOp::Append(n.to_string(), value.to_string())
        } else if let Some(n) = name.strip_suffix('-') {
            AlterConfigOp::Subtract(n.to_string(), value.to_string())
        } else {
            AlterConfigOp::set(name, value)
        };
        if op.name().is_empty() {
            return Err(bad());
        }
        Ok(op)
    }

    fn encode(&self) -> AlterableConfig {
        let (op, value) = match self {
            AlterConfigOp::Set(_, v) => (0, Some(v)),
            AlterConfigOp::Delete(_) => (1, None),
            AlterConfigOp::Append(_, v) => (2, Some(v)),
            AlterConfigOp::Subtract(_, v) => (3, Some(v)),
        };
        let mut c = AlterableConfig::default();
        c.name = str_bytes(self.name());
        c.config_operation = op;
        c.value = value.map(|v| str_bytes(v));
        c
    }
}

impl Admin {
    /// Kafka 3.x does not know the GROUP resource type (group configs came with KIP-848 in
    /// 4.0) and answers INVALID_REQUEST: say what is missing instead.
    fn check_result(
        conn: &Connection,
        r: &ConfigResource,
        code: i16,
        message: Option<&String>,
        operation: &'static str,
    ) -> Result<()> {
        if r.kind == ConfigResourceType::Group
            && ResponseError::try_from_code(code) == Some(ResponseError::InvalidRequest)
        {
            return Err(Error::new(
                ErrorKind::Unsupported,
                operation,
                format!(
                    "{r}: the broker at {} has no group configs (KIP-848); use Apache Kafka 4.0+",
                    conn.addr()
                ),
            ));
        }
        check(code, message, operation, || format!("{r}"))
    }

    async fn config_connection(&self, r: &ConfigResource) -> Result<Connection> {
        match r.node() {
            Some(node) => self.broker(node).await,
            None => self.connection().await,
        }
    }

    /// The configs of each resource, in the order given: all of them, or only `keys` when
    /// it is not empty. A resource that does not exist fails with the broker's error (for
    /// example `UNKNOWN_TOPIC_OR_PARTITION`); a client metrics subscription or group that
    /// was never configured has no entries.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// use kafkit::admin::ConfigResource;
    /// let topic = &admin.describe_configs(&[ConfigResource::topic("orders")], &["retention.ms"]).await?[0];
    /// println!("{:?}", topic.get("retention.ms").and_then(|e| e.value.as_deref()));
    /// # Ok(()) }
    /// ```
    pub async fn describe_configs(
        &self,
        resources: &[ConfigResource],
        keys: &[&str],
    ) -> Result<Vec<ResourceConfig>> {
        let mut out = Vec::with_capacity(resources.len());
        for r in resources {
            let conn = self.config_connection(r).await?;
            let mut res = DescribeConfigsResource::default();
            res.resource_type = r.kind.code();
            res.resource_name = str_bytes(&r.name);
            res.configuration_keys =
                (!keys.is_empty()).then(|| keys.iter().map(|k| str_bytes(k)).collect());
            let mut req = DescribeConfigsRequest::default();
            req.resources = vec![res];
            req.include_synonyms = true;
            let resp = conn
                .send(&req)
                .await
                .map_err(|e| e.during("describe_configs"))?;
            let result =
                resp.results.into_iter().next().ok_or_else(|| {
                    Error::protocol("describe_configs", format!("no result for {r}"))
                })?;
            Self::check_result(
                &conn,
                r,
                result.error_code,
                result.error_message.as_ref(),
                "describe_configs",
            )?;
            let mut entries: BTreeMap<String, ConfigEntry> = BTreeMap::new();
            for c in result.configs {
                let name = c.name.to_string();
                entries.insert(
                    name.clone(),
                    ConfigEntry {
                        name,
                        value: c.value.map(|v| v.to_string()),
                        source: ConfigSource::from_code(c.config_source),
                        read_only: c.read_only,
                        sensitive: c.is_sensitive,
                        synonyms: c
                            .synonyms
                            .into_iter()
                            .map(|s| {
                                (
                                    s.name.to_string(),
                                    s.value.map(|v| v.to_string()),
                                    ConfigSource::from_code(s.source),
                                )
                            })
                            .collect(),
                    },
                );
            }
            out.push(ResourceConfig {
                resource: r.clone(),
                entries: entries.into_values().collect(),
            });
        }
        Ok(out)
    }

    /// Changes configs, each op on its own (configs not named keep their values). With
    /// `validate_only` the broker checks the change without making it. The first resource the
    /// broker refuses fails the call with its reason (for example `INVALID_CONFIG`,
    /// `POLICY_VIOLATION`); the ones before it are changed.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// use kafkit::admin::{AlterConfigOp, ConfigResource};
    /// admin
    ///     .incremental_alter_configs(
    ///         &[(ConfigResource::topic("orders"), vec![AlterConfigOp::set("retention.ms", "3600000")])],
    ///         false,
    ///     )
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn incremental_alter_configs(
        &self,
        changes: &[(ConfigResource, Vec<AlterConfigOp>)],
        validate_only: bool,
    ) -> Result<()> {
        for (r, ops) in changes {
            if ops.is_empty() {
                return Err(Error::config(format!(
                    "no changes for {r}: give at least one config op"
                )));
            }
            let conn = self.config_connection(r).await?;
            let mut res = AlterConfigsResource::default();
            res.resource_type = r.kind.code();
            res.resource_name = str_bytes(&r.name);
            res.configs = ops.iter().map(AlterConfigOp::encode).collect();
            let mut req = IncrementalAlterConfigsRequest::default();
            req.resources = vec![res];
            req.validate_only = validate_only;
            let resp = conn
                .send(&req)
                .await
                .map_err(|e| e.during("incremental_alter_configs"))?;
            let result = resp.responses.into_iter().next().ok_or_else(|| {
                Error::protocol("incremental_alter_configs", format!("no result for {r}"))
            })?;
            Self::check_result(
                &conn,
                r,
                result.error_code,
                result.error_message.as_ref(),
                "incremental_alter_configs",
            )?;
        }
        Ok(())
    }
}
