//! What the share engine's tasks (heartbeats, fetches, acknowledgements, lookups) report to
//! its loop, and what the loop hands to the user.

use std::collections::HashMap;

use uuid::Uuid;

use super::requests::AckSet;
use crate::error::{Error, Result};
use crate::events::TopicPartition;
use crate::fetch::wire::share_fetch::ShareAnswer;
use crate::net::Connection;
use crate::protocol::messages::ShareGroupHeartbeatResponse;
use crate::share::ShareRecord;

/// Records of one partition from one answer, handed to the user.
pub(crate) struct Delivered {
    pub partition: TopicPartition,
    pub records: Vec<ShareRecord>,
}

/// Per-partition outcomes of a commit.
pub(crate) type CommitResult = Vec<(TopicPartition, Result<()>)>;

/// What a task reports to the engine's loop.
pub(super) enum Internal {
    Coordinator(Result<Connection>),
    Heartbeat(Result<ShareGroupHeartbeatResponse>),
    Names(Vec<Uuid>, Result<HashMap<Uuid, String>>),
    Fetched {
        node: i32,
        sent: AckSet,
        result: Result<ShareAnswer>,
    },
    Acked {
        node: i32,
        commit: Option<u64>,
        sent: AckSet,
        result: Result<Vec<(TopicPartition, Option<Error>)>>,
    },
}
