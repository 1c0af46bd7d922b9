//! `kafkit acl create|list|delete`.

use clap::{Args, Subcommand};
use kafkit::admin::{
    AclBinding, AclBindingFilter, AclOperation, AclPermission, PatternType, ResourceType,
};
use kafkit::Kafka;
use serde_json::json;

use crate::terminal::{self, esc};

#[derive(Subcommand)]
pub enum AclCommand {
    /// Create an ACL.
    Create(AclArgs),
    /// List the ACLs that match (every option narrows; none lists all).
    List(AclArgs),
    /// Delete the ACLs that match (at least one option).
    Delete(AclArgs),
}

#[derive(Args)]
pub struct AclArgs {
    /// topic, group, cluster, transactional-id, delegation-token, user.
    #[arg(long = "resource-type")]
    resource_type: Option<String>,
    /// Resource name (kafka-cluster for the cluster, * for all).
    #[arg(long = "resource")]
    resource_name: Option<String>,
    /// literal (default on create), prefixed; on list/delete also any, match.
    #[arg(long)]
    pattern: Option<String>,
    /// Principal, e.g. User:bob.
    #[arg(long)]
    principal: Option<String>,
    /// Host (default * on create).
    #[arg(long)]
    host: Option<String>,
    /// read, write, create, delete, alter, describe, describe-configs, alter-configs, all, ...
    #[arg(long)]
    operation: Option<String>,
    /// allow (default on create) or deny.
    #[arg(long)]
    permission: Option<String>,
}

fn parse<T: std::str::FromStr<Err = kafkit::Error>>(
    v: &Option<String>,
    default: T,
) -> kafkit::Result<T> {
    v.as_deref()
        .map(str::parse)
        .transpose()
        .map(|o| o.unwrap_or(default))
}

impl AclArgs {
    fn binding(&self) -> kafkit::Result<AclBinding> {
        let need = |v: &Option<String>, flag: &str| {
            v.clone().ok_or_else(|| {
                kafkit::Error::new(
                    kafkit::ErrorKind::Config,
                    "acl create",
                    format!("--{flag} is required to create an ACL"),
                )
            })
        };
        Ok(AclBinding {
            resource_type: need(&self.resource_type, "resource-type")?.parse()?,
            resource_name: need(&self.resource_name, "resource")?,
            pattern_type: parse(&self.pattern, PatternType::Literal)?,
            principal: need(&self.principal, "principal")?,
            host: self.host.clone().unwrap_or_else(|| "*".into()),
            operation: need(&self.operation, "operation")?.parse()?,
            permission: parse(&self.permission, AclPermission::Allow)?,
        })
    }

    fn filter(&self) -> kafkit::Result<AclBindingFilter> {
        Ok(AclBindingFilter {
            resource_type: parse(&self.resource_type, ResourceType::Any)?,
            resource_name: self.resource_name.clone(),
            pattern_type: parse(&self.pattern, PatternType::Any)?,
            principal: self.principal.clone(),
            host: self.host.clone(),
            operation: parse(&self.operation, AclOperation::Any)?,
            permission: parse(&self.permission, AclPermission::Any)?,
        })
    }
}

fn to_json(a: &AclBinding) -> serde_json::Value {
    json!({
        "resource_type": a.resource_type.to_string(), "resource": a.resource_name,
        "pattern": a.pattern_type.to_string(), "principal": a.principal, "host": a.host,
        "operation": a.operation.to_string(), "permission": a.permission.to_string(),
    })
}

fn print(acls: &[AclBinding], verb: &str, as_json: bool) {
    if as_json {
        outln!(
            "{}",
            terminal::json(&json!({verb: acls.iter().map(to_json).collect::<Vec<_>>()}))
        );
    } else {
        for a in acls {
            outln!("{}", esc(a));
        }
    }
}

pub async fn run(kafka: &Kafka, cmd: AclCommand, as_json: bool) -> kafkit::Result<()> {
    let admin = kafka.admin();
    match cmd {
        AclCommand::Create(args) => {
            let acl = args.binding()?;
            admin.create_acls(std::slice::from_ref(&acl)).await?;
            print(&[acl], "created", as_json);
        }
        AclCommand::List(args) => {
            let acls = admin.describe_acls(&args.filter()?).await?;
            print(&acls, "acls", as_json);
        }
        AclCommand::Delete(args) => {
            let filter = args.filter()?;
            if filter == AclBindingFilter::any() {
                return Err(kafkit::Error::new(
                    kafkit::ErrorKind::Config,
                    "acl delete",
                    "no filter given: name at least one of --resource-type, --resource, --principal, --operation (deleting every ACL is not a default)",
                ));
            }
            let acls = admin.delete_acls(&[filter]).await?;
            print(&acls, "deleted", as_json);
        }
    }
    Ok(())
}
