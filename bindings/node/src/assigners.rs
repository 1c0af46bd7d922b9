//! Classic assignors under the protocol names KafkaJS members use, so members of this package
//! share classic groups with KafkaJS members (a group's members must agree on a protocol name,
//! and KafkaJS calls round-robin `RoundRobinAssigner` where Java says `roundrobin`). Only the
//! elected leader assigns, so any correct round-robin assignment interoperates.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use kafkit::consumer::assignor::{
    GroupMember, MemberAssignment, PartitionAssigner, RebalanceProtocol, RoundRobinAssigner,
};
use kafkit::{ErrorKind, TopicPartition};
use napi::bindgen_prelude::{Buffer, Promise};
use napi::threadsafe_function::ThreadsafeFunction;
use napi::Status;
use napi_derive::napi;

use crate::shapes::Tp;

/// KafkaJS's protocol name for round-robin.
pub(crate) const KAFKAJS_ROUND_ROBIN: &str = "RoundRobinAssigner";

#[derive(Debug)]
struct Renamed {
    name: &'static str,
    inner: Arc<dyn PartitionAssigner>,
}

impl PartitionAssigner for Renamed {
    fn name(&self) -> &str {
        self.name
    }

    fn protocol(&self) -> RebalanceProtocol {
        self.inner.protocol()
    }

    fn user_data(&self, owned: &[TopicPartition], generation: i32) -> Option<Bytes> {
        self.inner.user_data(owned, generation)
    }

    fn assign(
        &self,
        members: &[GroupMember],
        partitions: &BTreeMap<String, i32>,
    ) -> kafkit::Result<BTreeMap<String, MemberAssignment>> {
        self.inner.assign(members, partitions)
    }
}

/// The assignor behind KafkaJS's `PartitionAssigners.roundRobin`.
pub(crate) fn kafkajs_round_robin() -> Arc<dyn PartitionAssigner> {
    Arc::new(Renamed {
        name: KAFKAJS_ROUND_ROBIN,
        inner: Arc::new(RoundRobinAssigner),
    })
}

/// A member of the group, as a JavaScript assigner is told it.
#[napi(object, object_from_js = false)]
pub struct AssignMember {
    pub member_id: String,
    pub topics: Vec<String>,
    pub user_data: Option<Buffer>,
}

/// What a JavaScript assigner is asked: the members and each subscribed topic's partition
/// count (`{ topic: count }`).
#[napi(object, object_from_js = false)]
pub struct AssignInput {
    pub members: Vec<AssignMember>,
    pub partitions: BTreeMap<String, i32>,
}

/// A member's partitions (and user data) in a JavaScript assigner's answer.
#[napi(object, object_to_js = false)]
pub struct AssignedMember {
    pub member_id: String,
    pub partitions: Vec<Tp>,
    pub user_data: Option<Buffer>,
}

/// A JavaScript assigner (KafkaJS's `partitionAssigners` factory): the core calls it when this
/// member leads a classic group. `assign` gets the members (id, topics, user data) and the
/// partition counts and answers each member's partitions; `lib/assigners.js` turns both into
/// KafkaJS's `assign({ members, topics })` call and its MemberAssignment buffers.
pub(crate) type AssignFn =
    ThreadsafeFunction<AssignInput, Promise<Vec<AssignedMember>>, AssignInput, Status, false>;

pub(crate) struct JsAssigner {
    name: String,
    user_data: Option<Bytes>,
    call: Arc<AssignFn>,
}

impl std::fmt::Debug for JsAssigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsAssigner")
            .field("name", &self.name)
            .finish()
    }
}

impl JsAssigner {
    pub(crate) fn new(name: String, user_data: Option<Bytes>, call: AssignFn) -> Self {
        JsAssigner {
            name,
            user_data,
            call: Arc::new(call),
        }
    }
}

fn assign_error(m: impl std::fmt::Display) -> kafkit::Error {
    kafkit::Error::new(ErrorKind::Config, "partition_assigner", m.to_string())
}

impl PartitionAssigner for JsAssigner {
    fn name(&self) -> &str {
        &self.name
    }

    fn user_data(&self, _owned: &[TopicPartition], _generation: i32) -> Option<Bytes> {
        self.user_data.clone()
    }

    fn assign(
        &self,
        members: &[GroupMember],
        partitions: &BTreeMap<String, i32>,
    ) -> kafkit::Result<BTreeMap<String, MemberAssignment>> {
        let input = AssignInput {
            members: members
                .iter()
                .map(|m| AssignMember {
                    member_id: m.member_id.clone(),
                    topics: m.topics.clone(),
                    user_data: m.user_data.as_ref().map(|b| Buffer::from(b.to_vec())),
                })
                .collect(),
            partitions: partitions.clone(),
        };
        let call = self.call.clone();
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| assign_error("a JavaScript assigner needs the Node runtime"))?;
        if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
            return Err(assign_error(
                "a JavaScript assigner needs a multi-threaded runtime",
            ));
        }
        // The core asks synchronously; JavaScript answers on its own thread meanwhile.
        let answer = tokio::task::block_in_place(|| {
            handle.block_on(async move {
                match call.call_async(input).await {
                    Ok(p) => p.await,
                    Err(e) => Err(e),
                }
            })
        })
        .map_err(|e| assign_error(format!("assigner '{}' failed: {e}", self.name)))?;
        let mut out: BTreeMap<String, MemberAssignment> = members
            .iter()
            .map(|m| (m.member_id.clone(), MemberAssignment::default()))
            .collect();
        for a in answer {
            let partitions = a
                .partitions
                .into_iter()
                .map(|tp| TopicPartition::new(tp.topic, tp.partition))
                .collect();
            let user_data = a
                .user_data
                .filter(|b| !b.is_empty())
                .map(|b| Bytes::copy_from_slice(&b));
            out.insert(
                a.member_id,
                MemberAssignment {
                    partitions,
                    user_data,
                },
            );
        }
        Ok(out)
    }
}
