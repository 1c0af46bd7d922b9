//! Group coordination, one home for every kind of group, below the producer, the consumers
//! and the admin client: the members' state machines (`consumer`: classic and KIP-848
//! consumer groups; `share`: KIP-932 share groups), what they share (the `Membership`
//! interface, one reconciliation rule, coordinator lookup), a member's group metadata (for
//! transactional offset commits), offset commits and lookups, and the Java consumer-protocol
//! codec of classic groups' subscriptions and assignments.

pub(crate) mod consumer;
pub(crate) mod coordinator;
pub(crate) mod membership;
pub(crate) mod offsets;
pub(crate) mod reconcile;
pub(crate) mod share;
pub(crate) mod topic_ids;
pub(crate) mod wire;

use crate::error::{Error, ErrorKind, ResponseError};
pub use crate::events::GroupProtocol;

/// A new member id for a KIP-848 or share group member (which name themselves): 16 random
/// bytes, URL-safe base64 without padding, as the Java client.
pub(crate) fn generate_member_id() -> String {
    use base64::Engine as _;
    let bytes: [u8; 16] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A group coordinator's refusal as the user sees it: what failed for which group, the fix,
/// and the broker's own words when it gave any (heartbeats of every group type use it).
pub(crate) fn coordinator_error(
    e: ResponseError,
    operation: &'static str,
    group: &str,
    fix: &str,
    broker_message: &str,
) -> Error {
    let broker = if broker_message.is_empty() {
        String::new()
    } else {
        format!(" (broker says: {broker_message})")
    };
    Error::new(
        ErrorKind::Kafka(e),
        operation,
        format!("{group}: {fix}{broker}"),
    )
}

/// A consumer's group membership as a transactional producer needs it (Java
/// `ConsumerGroupMetadata`). Under the consumer protocol the generation is the member epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupMetadata {
    /// The group id.
    pub group_id: String,
    /// Member epoch (consumer protocol) or generation (classic); -1 when unknown.
    pub generation_id: i32,
    /// The member id.
    pub member_id: String,
    /// The static member's instance id, if any.
    pub group_instance_id: Option<String>,
}

impl ConsumerGroupMetadata {
    /// Metadata for a group without a member (offsets are committed without membership checks).
    pub fn new(group_id: impl Into<String>) -> Self {
        ConsumerGroupMetadata {
            group_id: group_id.into(),
            generation_id: -1,
            member_id: String::new(),
            group_instance_id: None,
        }
    }
}
