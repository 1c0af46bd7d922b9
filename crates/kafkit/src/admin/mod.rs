//! The admin client: topics, cluster description, consumer and share groups and their offsets.

mod groups;
mod share_groups;
mod topics;

pub use groups::{
    GroupDescription, GroupKind, GroupListing, GroupOffset, MemberDescription, OffsetReset,
};
pub use share_groups::{ShareGroupDescription, ShareMemberDescription};
pub use topics::{ClusterDescription, NewTopic};

use crate::error::Result;
use crate::net::Connection;
use crate::Kafka;

/// Administrative operations on the cluster. Built by [`Kafka::admin`].
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
    pub fn kafka(&self) -> &Kafka {
        &self.kafka
    }

    /// A connection for admin requests: KRaft brokers forward them to the controller.
    async fn connection(&self) -> Result<Connection> {
        self.kafka.pool().any().await
    }
}
