//! The admin client: topics, cluster, consumer and share groups and their offsets, configs, ACLs,
//! records and offsets, leader elections and reassignments, log dirs, features, client
//! quotas, SCRAM credentials, producers and transactions.
//!
//! Each operation is a method of [`Admin`]; its requests and answers are typed (the Kafka
//! codes become enums, with an `Unknown` case for a code this version does not know), and
//! every failure is a [`crate::Error`] that names the resource and, where there is one, the fix.

mod acls;
mod cluster;
mod configs;
mod groups;
mod offsets;
mod quotas;
mod records;
mod scram;
mod share_groups;
mod topics;
mod transactions;

pub use acls::{
    AclBinding, AclBindingFilter, AclOperation, AclPermission, PatternType, ResourceType,
};
pub use cluster::{
    ClusterDescription, ElectionType, Feature, Features, LogDir, LogDirPartition, Reassignment,
};
pub use configs::{
    AlterConfigOp, ConfigEntry, ConfigResource, ConfigResourceType, ConfigSource, ResourceConfig,
};
pub use groups::{
    GroupDescription, GroupKind, GroupListing, GroupOffset, GroupState, GroupType,
    MemberDescription, MemberToRemove, OffsetReset,
};
pub use offsets::{ListedOffset, OffsetSpec};
pub use quotas::{QuotaEntity, QuotaEntry, QuotaFilter, QuotaOp};
pub use scram::{ScramCredential, ScramMechanism, ScramUser};
pub use share_groups::{ShareGroupDescription, ShareMemberDescription};
pub use topics::NewTopic;
pub use transactions::{ProducerState, TransactionDescription, TransactionListing};

use crate::error::{Error, Result};
use crate::net::Connection;
use crate::Kafka;

/// Administrative operations on the cluster. Built by [`Kafka::admin`].
///
/// ```no_run
/// # async fn f(kafka: kafkit::Kafka) -> kafkit::Result<()> {
/// let admin = kafka.admin();
/// println!("{:?}", admin.describe_cluster().await?);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Admin {
    kafka: Kafka,
}

impl Kafka {
    /// The admin client.
    ///
    /// ```no_run
    /// # async fn f(kafka: kafkit::Kafka) -> kafkit::Result<()> {
    /// let topics = kafka.admin().list_topics().await?;
    /// # Ok(()) }
    /// ```
    pub fn admin(&self) -> Admin {
        Admin::new(self.clone())
    }
}

impl Admin {
    pub(crate) fn new(kafka: Kafka) -> Self {
        Admin { kafka }
    }

    /// The handle this client was built from.
    ///
    /// ```no_run
    /// # fn f(kafka: kafkit::Kafka) {
    /// let admin = kafka.admin();
    /// assert_eq!(admin.kafka().config().client_id, kafka.config().client_id);
    /// # }
    /// ```
    pub fn kafka(&self) -> &Kafka {
        &self.kafka
    }

    /// A connection for admin requests: KRaft brokers forward them to the controller.
    async fn connection(&self) -> Result<Connection> {
        self.kafka.pool().any().await
    }

    /// A connection to broker `node`.
    async fn broker(&self, node: i32) -> Result<Connection> {
        if self.kafka.pool().addr_of(node).is_none() {
            self.kafka
                .cluster()
                .refresh(crate::cluster::TopicSelection::Names(Vec::new()))
                .await?;
        }
        self.kafka.pool().get(node, crate::net::Lane::General).await
    }

    /// The broker-side timeout sent with requests that wait (the request timeout).
    fn timeout_ms(&self) -> i32 {
        self.kafka
            .config()
            .request_timeout
            .as_millis()
            .min(i32::MAX as u128) as i32
    }
}

pub(crate) fn str_bytes(s: &str) -> String {
    s.to_string()
}

pub(crate) fn topic_name(s: &str) -> String {
    str_bytes(s)
}

/// `Ok` for code 0; otherwise the error with `detail` and the broker's own message.
pub(crate) fn check(
    code: i16,
    message: Option<&String>,
    operation: &'static str,
    detail: impl FnOnce() -> String,
) -> Result<()> {
    Error::check(code, operation, || match message.map(|m| m.as_str()) {
        Some(m) if !m.is_empty() => format!("{}: {m}", detail()),
        _ => detail(),
    })
}

/// An enum for a Kafka protocol code: named cases, `Unknown(code)` for the rest (answers are
/// untrusted and may carry codes a newer broker added). `Display` and `FromStr` use the
/// names Kafka's tools print (`DESCRIBE_CONFIGS`, `SCRAM-SHA-256`), case- and
/// `-`/`_`-insensitive on input.
macro_rules! kafka_code {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $ty:ty { $($(#[$vmeta:meta])* $variant:ident = $code:literal => $text:literal,)* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A code this version of kafkit does not know.
            Unknown($ty),
        }

        impl $name {
            /// The protocol code.
            pub fn code(self) -> $ty {
                match self {
                    $($name::$variant => $code,)*
                    $name::Unknown(c) => c,
                }
            }

            /// The case of a protocol code (`Unknown` for codes kafkit does not know).
            pub fn from_code(code: $ty) -> Self {
                match code {
                    $($code => $name::$variant,)*
                    c => $name::Unknown(c),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    $($name::$variant => f.write_str($text),)*
                    $name::Unknown(c) => write!(f, "UNKNOWN({c})"),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> crate::Result<Self> {
                let norm = s.trim().to_ascii_uppercase().replace('-', "_");
                $(if norm == $text.replace('-', "_") { return Ok($name::$variant); })*
                Err(crate::Error::config(format!(
                    "'{s}' is not a {}; use one of: {}",
                    stringify!($name),
                    [$($text),*].join(", ")
                )))
            }
        }
    };
}
pub(crate) use kafka_code;
