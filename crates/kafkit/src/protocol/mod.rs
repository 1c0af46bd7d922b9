//! Wire-level pieces the `kafka-protocol` crate does not cover: the record batch format (the
//! hot path of both producer and consumer) and its compression codecs.

pub mod compression;
#[rustfmt::skip]
pub(crate) mod error_codes;
pub(crate) mod messages;
pub mod record_batch;
pub(crate) mod schema;
pub(crate) mod wire;

#[cfg(test)]
mod codec_tests;

/// Calls `$m!` with the request type of every API kafkit sends, so the lists that must cover
/// them all (the fuzz entry points, the pre-decoder's tests) are one list.
#[allow(unused_macros)] // used by the fuzzing feature and by tests
macro_rules! with_client_apis {
    ($m:ident) => {
        $m!(
            ApiVersionsRequest,
            MetadataRequest,
            ProduceRequest,
            FetchRequest,
            ListOffsetsRequest,
            FindCoordinatorRequest,
            OffsetCommitRequest,
            OffsetFetchRequest,
            TxnOffsetCommitRequest,
            ConsumerGroupHeartbeatRequest,
            ConsumerGroupDescribeRequest,
            JoinGroupRequest,
            SyncGroupRequest,
            HeartbeatRequest,
            LeaveGroupRequest,
            ListGroupsRequest,
            DescribeGroupsRequest,
            DeleteGroupsRequest,
            CreateTopicsRequest,
            DeleteTopicsRequest,
            CreatePartitionsRequest,
            InitProducerIdRequest,
            AddPartitionsToTxnRequest,
            AddOffsetsToTxnRequest,
            EndTxnRequest,
            SaslHandshakeRequest,
            SaslAuthenticateRequest,
            DescribeClusterRequest,
            DescribeConfigsRequest,
            IncrementalAlterConfigsRequest,
            CreateAclsRequest,
            DescribeAclsRequest,
            DeleteAclsRequest,
            DeleteRecordsRequest,
            ElectLeadersRequest,
            AlterPartitionReassignmentsRequest,
            ListPartitionReassignmentsRequest,
            DescribeLogDirsRequest,
            DescribeClientQuotasRequest,
            AlterClientQuotasRequest,
            DescribeUserScramCredentialsRequest,
            AlterUserScramCredentialsRequest,
            DescribeProducersRequest,
            DescribeTransactionsRequest,
            ListTransactionsRequest,
            ShareGroupHeartbeatRequest,
            ShareGroupDescribeRequest,
            ShareFetchRequest,
            ShareAcknowledgeRequest,
            DescribeShareGroupOffsetsRequest,
            AlterShareGroupOffsetsRequest,
            GetTelemetrySubscriptionsRequest,
            PushTelemetryRequest,
        );
    };
}
#[allow(unused_imports)]
pub(crate) use with_client_apis;
