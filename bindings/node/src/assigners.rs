//! Classic assignors under the protocol names KafkaJS members use, so members of this package
//! share classic groups with KafkaJS members (a group's members must agree on a protocol name,
//! and KafkaJS calls round-robin `RoundRobinAssigner` where Java says `roundrobin`). Only the
//! elected leader assigns, so any correct round-robin assignment interoperates.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use bytes::Bytes;
use kafkit::consumer::assignor::{
    GroupMember, MemberAssignment, PartitionAssigner, RebalanceProtocol, RoundRobinAssigner,
};
use kafkit::{ErrorKind, TopicPartition};
use napi::bindgen_prelude::Promise;
use napi::threadsafe_function::ThreadsafeFunction;
use napi::Status;
use serde_json::json;

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

/// A JavaScript assigner (KafkaJS's `partitionAssigners` factory): the core calls it when this
/// member leads a classic group. `assign` gets the members (id, topics, user data) and the
/// partition counts as JSON and answers each member's partitions as JSON; `lib/consumer.js`
/// turns both into KafkaJS's `assign({ members, topics })` call and its MemberAssignment
/// buffers.
pub(crate) type AssignFn = ThreadsafeFunction<String, Promise<String>, String, Status, false>;

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
        let input = json!({
            "members": members.iter().map(|m| json!({
                "memberId": m.member_id,
                "topics": m.topics,
                "userData": m.user_data.as_ref().map(|b| B64.encode(b)),
            })).collect::<Vec<_>>(),
            "partitions": partitions,
        })
        .to_string();
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
        let bad =
            |what: String| assign_error(format!("assigner '{}' answered badly: {what}", self.name));
        let list: serde_json::Value =
            serde_json::from_str(&answer).map_err(|e| bad(e.to_string()))?;
        let mut out: BTreeMap<String, MemberAssignment> = members
            .iter()
            .map(|m| (m.member_id.clone(), MemberAssignment::default()))
            .collect();
        for a in list.as_array().ok_or_else(|| bad("not an array".into()))? {
            let member_id = a["memberId"]
                .as_str()
                .ok_or_else(|| bad("a memberId is missing".into()))?;
            let mut tps = Vec::new();
            for tp in a["partitions"].as_array().into_iter().flatten() {
                let (Some(t), Some(p)) = (tp[0].as_str(), tp[1].as_i64()) else {
                    return Err(bad(format!("bad partition {tp}")));
                };
                tps.push(TopicPartition::new(t.to_string(), p as i32));
            }
            let user_data = match a["userData"].as_str() {
                Some(s) if !s.is_empty() => Some(Bytes::from(
                    B64.decode(s).map_err(|e| bad(format!("userData: {e}")))?,
                )),
                _ => None,
            };
            out.insert(
                member_id.to_string(),
                MemberAssignment {
                    partitions: tps,
                    user_data,
                },
            );
        }
        Ok(out)
    }
}
