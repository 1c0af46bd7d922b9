//! ACLs against the `acl` broker profile (scripts/kafka: StandardAuthorizer, SASL PLAIN,
//! super user `admin`, ordinary user `bob`; `KAFKIT_ACL_BOOTSTRAP`, default 127.0.0.1:9192):
//! an ACL created for bob takes effect, and bob is refused again once it is deleted.

mod common;

use std::time::Duration;

use kafkit::admin::{
    AclBinding, AclBindingFilter, AclOperation, ConfigResource, PatternType, ResourceType,
};
use kafkit::error::ResponseError;
use kafkit::security::SaslConfig;
use kafkit::{Admin, Kafka, KafkaConfig, NewTopic};

fn acl_bootstrap() -> String {
    std::env::var("KAFKIT_ACL_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9192".to_string())
}

async fn as_user(user: &str, password: &str) -> Kafka {
    let config = KafkaConfig::new([acl_bootstrap()])
        .client_id("kafkit-tests")
        .sasl(SaslConfig::plain(user, password.to_string()));
    Kafka::connect(config).await.unwrap_or_else(|e| {
        panic!(
            "cannot reach the acl broker at {} as {user}: {e}\nstart it with `scripts/kafka up --profile acl` (scripts/test does)",
            acl_bootstrap()
        )
    })
}

/// Whether bob may describe the topic's configs: Ok(true) allowed, Ok(false) refused.
async fn bob_may_describe(bob: &Admin, topic: &str) -> bool {
    match bob
        .describe_configs(&[ConfigResource::topic(topic)], &["retention.ms"])
        .await
    {
        Ok(_) => true,
        Err(e) => {
            assert_eq!(
                e.kafka_error(),
                Some(ResponseError::TopicAuthorizationFailed),
                "{e}"
            );
            false
        }
    }
}

#[tokio::test]
async fn an_acl_lets_bob_in_and_deleting_it_shuts_him_out() {
    common::init_tracing();
    let admin_client = as_user("admin", "admin-secret").await;
    let admin = admin_client.admin();
    let bob_client = as_user("bob", "bob-secret").await;
    let bob = bob_client.admin();
    let topic = common::unique("acl-topic");
    admin
        .create_topics(&[NewTopic::new(&topic, 1)])
        .await
        .unwrap();

    assert!(!bob_may_describe(&bob, &topic).await);
    // The topic's metadata is refused as unauthorized, not reported missing.
    let e = bob.describe_topics(&[&topic]).await.unwrap_err();
    assert_eq!(
        e.kafka_error(),
        Some(ResponseError::TopicAuthorizationFailed),
        "{e}"
    );
    assert!(e.to_string().contains("grant DESCRIBE"), "{e}");
    // Bob may not manage ACLs either, and the error says what he lacks.
    let acl = AclBinding::allow(
        ResourceType::Topic,
        &topic,
        "User:bob",
        AclOperation::DescribeConfigs,
    );
    let e = bob
        .create_acls(std::slice::from_ref(&acl))
        .await
        .unwrap_err();
    assert_eq!(
        e.kafka_error(),
        Some(ResponseError::ClusterAuthorizationFailed),
        "{e}"
    );
    assert!(e.to_string().contains("super user"), "{e}");

    admin.create_acls(std::slice::from_ref(&acl)).await.unwrap();
    // A second, prefixed ACL that the filter below must tell apart.
    let prefixed = AclBinding::allow(
        ResourceType::Group,
        format!("{topic}-g"),
        "User:bob",
        AclOperation::Read,
    )
    .pattern(PatternType::Prefixed);
    admin
        .create_acls(std::slice::from_ref(&prefixed))
        .await
        .unwrap();
    let bobs = AclBindingFilter::any().principal("User:bob");
    let listed = admin.describe_acls(&bobs).await.unwrap();
    assert!(listed.contains(&acl), "{listed:?}");
    assert!(listed.contains(&prefixed), "{listed:?}");
    let on_topic = admin
        .describe_acls(&AclBindingFilter::any().resource(ResourceType::Topic, &topic))
        .await
        .unwrap();
    assert_eq!(on_topic, vec![acl.clone()]);

    // The authorizer learns of the ACL from the metadata log: soon, not at once.
    let (b, t) = (bob.clone(), topic.clone());
    common::eventually(Duration::from_secs(30), "bob is allowed", move || {
        let (b, t) = (b.clone(), t.clone());
        async move { bob_may_describe(&b, &t).await }
    })
    .await;

    let deleted = admin.delete_acls(&[acl.to_filter()]).await.unwrap();
    assert_eq!(deleted, vec![acl.clone()]);
    let (b, t) = (bob.clone(), topic.clone());
    common::eventually(Duration::from_secs(30), "bob is refused again", move || {
        let (b, t) = (b.clone(), t.clone());
        async move { !bob_may_describe(&b, &t).await }
    })
    .await;
    assert_eq!(
        admin
            .delete_acls(std::slice::from_ref(&bobs))
            .await
            .unwrap(),
        vec![prefixed]
    );
    assert!(admin.describe_acls(&bobs).await.unwrap().is_empty());
    admin.delete_topics(&[&topic]).await.unwrap();
}

#[tokio::test]
async fn acls_on_a_broker_without_an_authorizer_name_the_setting() {
    common::init_tracing();
    let kafka = common::connect().await;
    let e = kafka
        .admin()
        .describe_acls(&AclBindingFilter::any())
        .await
        .unwrap_err();
    assert_eq!(
        e.kafka_error(),
        Some(ResponseError::SecurityDisabled),
        "{e}"
    );
    assert!(e.to_string().contains("authorizer.class.name"), "{e}");
    // Filter-only values cannot make an ACL; nothing is sent.
    let bad = AclBinding::allow(ResourceType::Any, "t", "User:bob", AclOperation::Read);
    let e = kafka.admin().create_acls(&[bad]).await.unwrap_err();
    assert_eq!(e.kind(), &kafkit::ErrorKind::Config, "{e}");
}
