//! ACLs: create, describe by filter, delete by filter. The brokers need an authorizer
//! (`authorizer.class.name`); without one every call fails with `SECURITY_DISABLED`.

use crate::protocol::messages::create_acls_request::AclCreation;
use crate::protocol::messages::delete_acls_request::DeleteAclsFilter;
use crate::protocol::messages::{CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest};

use super::{check, kafka_code, str_bytes, Admin};
use crate::error::{Error, ResponseError, Result};

kafka_code! {
    /// The kind of resource an ACL is about.
    ///
    /// ```
    /// use kafkit::admin::ResourceType;
    /// assert_eq!("transactional-id".parse::<ResourceType>().unwrap(), ResourceType::TransactionalId);
    /// ```
    pub enum ResourceType: i8 {
        /// Any kind (filters only).
        Any = 1 => "ANY",
        /// A topic.
        Topic = 2 => "TOPIC",
        /// A consumer group.
        Group = 3 => "GROUP",
        /// The cluster (name `kafka-cluster`).
        Cluster = 4 => "CLUSTER",
        /// A transactional id.
        TransactionalId = 5 => "TRANSACTIONAL_ID",
        /// A delegation token.
        DelegationToken = 6 => "DELEGATION_TOKEN",
        /// A user (delegation tokens for others).
        User = 7 => "USER",
    }
}

kafka_code! {
    /// How an ACL's resource name matches.
    ///
    /// ```
    /// use kafkit::admin::PatternType;
    /// assert_eq!(PatternType::Prefixed.code(), 4);
    /// ```
    pub enum PatternType: i8 {
        /// Any pattern (filters only).
        Any = 1 => "ANY",
        /// Every ACL that applies to the name, literal, wildcard or prefixed (filters only).
        Match = 2 => "MATCH",
        /// The name exactly (`*` is the wildcard).
        Literal = 3 => "LITERAL",
        /// Every name starting with it.
        Prefixed = 4 => "PREFIXED",
    }
}

kafka_code! {
    /// An operation an ACL allows or denies.
    ///
    /// ```
    /// use kafkit::admin::AclOperation;
    /// assert_eq!("describe_configs".parse::<AclOperation>().unwrap(), AclOperation::DescribeConfigs);
    /// ```
    pub enum AclOperation: i8 {
        /// Any operation (filters only).
        Any = 1 => "ANY",
        /// Every operation.
        All = 2 => "ALL",
        /// Read.
        Read = 3 => "READ",
        /// Write.
        Write = 4 => "WRITE",
        /// Create.
        Create = 5 => "CREATE",
        /// Delete.
        Delete = 6 => "DELETE",
        /// Alter.
        Alter = 7 => "ALTER",
        /// Describe.
        Describe = 8 => "DESCRIBE",
        /// Cluster actions (brokers among themselves).
        ClusterAction = 9 => "CLUSTER_ACTION",
        /// Describe configs.
        DescribeConfigs = 10 => "DESCRIBE_CONFIGS",
        /// Alter configs.
        AlterConfigs = 11 => "ALTER_CONFIGS",
        /// Idempotent produce.
        IdempotentWrite = 12 => "IDEMPOTENT_WRITE",
        /// Create delegation tokens.
        CreateTokens = 13 => "CREATE_TOKENS",
        /// Describe delegation tokens.
        DescribeTokens = 14 => "DESCRIBE_TOKENS",
        /// Two-phase commit (KIP-939).
        TwoPhaseCommit = 15 => "TWO_PHASE_COMMIT",
    }
}

kafka_code! {
    /// Whether an ACL allows or denies.
    ///
    /// ```
    /// use kafkit::admin::AclPermission;
    /// assert_eq!("allow".parse::<AclPermission>().unwrap(), AclPermission::Allow);
    /// ```
    pub enum AclPermission: i8 {
        /// Either (filters only).
        Any = 1 => "ANY",
        /// Denies (wins over any allow).
        Deny = 2 => "DENY",
        /// Allows.
        Allow = 3 => "ALLOW",
    }
}

/// An ACL: `principal` from `host` may (or may not) do `operation` on the resource.
///
/// ```
/// use kafkit::admin::{AclBinding, AclOperation, ResourceType};
/// let acl = AclBinding::allow(ResourceType::Topic, "orders", "User:bob", AclOperation::Read);
/// assert_eq!(acl.host, "*");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AclBinding {
    /// The kind of resource.
    pub resource_type: ResourceType,
    /// The resource name (`kafka-cluster` for the cluster; `*` for every one).
    pub resource_name: String,
    /// How the name matches.
    pub pattern_type: PatternType,
    /// `User:name` (or another principal type of the broker's principal builder).
    pub principal: String,
    /// The client's host, `*` for any.
    pub host: String,
    /// The operation.
    pub operation: AclOperation,
    /// Allow or deny.
    pub permission: AclPermission,
}

impl AclBinding {
    /// An ACL allowing `principal` `operation` on the literal resource, from any host.
    ///
    /// ```
    /// use kafkit::admin::{AclBinding, AclOperation, AclPermission, ResourceType};
    /// let acl = AclBinding::allow(ResourceType::Group, "g1", "User:bob", AclOperation::Read);
    /// assert_eq!(acl.permission, AclPermission::Allow);
    /// ```
    pub fn allow(
        resource_type: ResourceType,
        resource_name: impl Into<String>,
        principal: impl Into<String>,
        operation: AclOperation,
    ) -> Self {
        AclBinding {
            resource_type,
            resource_name: resource_name.into(),
            pattern_type: PatternType::Literal,
            principal: principal.into(),
            host: "*".to_string(),
            operation,
            permission: AclPermission::Allow,
        }
    }

    /// The same ACL, denying instead.
    ///
    /// ```
    /// use kafkit::admin::{AclBinding, AclOperation, AclPermission, ResourceType};
    /// let acl = AclBinding::allow(ResourceType::Topic, "t", "User:eve", AclOperation::Write).deny();
    /// assert_eq!(acl.permission, AclPermission::Deny);
    /// ```
    pub fn deny(mut self) -> Self {
        self.permission = AclPermission::Deny;
        self
    }

    /// The same ACL with another pattern type (e.g. prefixed).
    ///
    /// ```
    /// use kafkit::admin::{AclBinding, AclOperation, PatternType, ResourceType};
    /// let acl = AclBinding::allow(ResourceType::Topic, "orders-", "User:bob", AclOperation::Read)
    ///     .pattern(PatternType::Prefixed);
    /// assert_eq!(acl.pattern_type, PatternType::Prefixed);
    /// ```
    pub fn pattern(mut self, pattern_type: PatternType) -> Self {
        self.pattern_type = pattern_type;
        self
    }

    /// A filter that matches exactly this ACL.
    ///
    /// ```
    /// use kafkit::admin::{AclBinding, AclOperation, ResourceType};
    /// let acl = AclBinding::allow(ResourceType::Topic, "t", "User:bob", AclOperation::Read);
    /// assert!(acl.to_filter().matches(&acl));
    /// ```
    pub fn to_filter(&self) -> AclBindingFilter {
        AclBindingFilter {
            resource_type: self.resource_type,
            resource_name: Some(self.resource_name.clone()),
            pattern_type: self.pattern_type,
            principal: Some(self.principal.clone()),
            host: Some(self.host.clone()),
            operation: self.operation,
            permission: self.permission,
        }
    }
}

impl std::fmt::Display for AclBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} on {} {} '{}' from {}",
            self.principal,
            self.permission,
            self.operation,
            self.pattern_type,
            self.resource_type,
            self.resource_name,
            self.host
        )
    }
}

/// Which ACLs to describe or delete: `None` and the `Any` cases match everything.
///
/// ```
/// use kafkit::admin::{AclBindingFilter, ResourceType};
/// let bobs = AclBindingFilter::any().principal("User:bob");
/// let on_orders = AclBindingFilter::any().resource(ResourceType::Topic, "orders");
/// # let _ = (bobs, on_orders);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclBindingFilter {
    /// Kind of resource (`Any` for all).
    pub resource_type: ResourceType,
    /// Resource name, or any.
    pub resource_name: Option<String>,
    /// Pattern type (`Any` for all, `Match` for every ACL that applies to the name).
    pub pattern_type: PatternType,
    /// Principal, or any.
    pub principal: Option<String>,
    /// Host, or any.
    pub host: Option<String>,
    /// Operation (`Any` for all).
    pub operation: AclOperation,
    /// Permission (`Any` for both).
    pub permission: AclPermission,
}

impl AclBindingFilter {
    /// Matches every ACL.
    ///
    /// ```
    /// let all = kafkit::admin::AclBindingFilter::any();
    /// assert!(all.resource_name.is_none());
    /// ```
    pub fn any() -> Self {
        AclBindingFilter {
            resource_type: ResourceType::Any,
            resource_name: None,
            pattern_type: PatternType::Any,
            principal: None,
            host: None,
            operation: AclOperation::Any,
            permission: AclPermission::Any,
        }
    }

    /// Only ACLs on this resource (literal or prefixed, as stored).
    ///
    /// ```
    /// use kafkit::admin::{AclBindingFilter, ResourceType};
    /// let f = AclBindingFilter::any().resource(ResourceType::Group, "g1");
    /// assert_eq!(f.resource_name.as_deref(), Some("g1"));
    /// ```
    pub fn resource(mut self, resource_type: ResourceType, name: impl Into<String>) -> Self {
        self.resource_type = resource_type;
        self.resource_name = Some(name.into());
        self
    }

    /// Only ACLs of this principal.
    ///
    /// ```
    /// let f = kafkit::admin::AclBindingFilter::any().principal("User:bob");
    /// assert_eq!(f.principal.as_deref(), Some("User:bob"));
    /// ```
    pub fn principal(mut self, principal: impl Into<String>) -> Self {
        self.principal = Some(principal.into());
        self
    }

    /// Only ACLs of this operation.
    ///
    /// ```
    /// use kafkit::admin::{AclBindingFilter, AclOperation};
    /// let f = AclBindingFilter::any().operation(AclOperation::Write);
    /// assert_eq!(f.operation, AclOperation::Write);
    /// ```
    pub fn operation(mut self, operation: AclOperation) -> Self {
        self.operation = operation;
        self
    }

    /// Whether `acl` passes this filter, as the broker judges it for literal and prefixed
    /// patterns (`Match` is approximated as "any pattern").
    ///
    /// ```
    /// use kafkit::admin::{AclBinding, AclBindingFilter, AclOperation, ResourceType};
    /// let acl = AclBinding::allow(ResourceType::Topic, "t", "User:bob", AclOperation::Read);
    /// assert!(AclBindingFilter::any().principal("User:bob").matches(&acl));
    /// assert!(!AclBindingFilter::any().principal("User:eve").matches(&acl));
    /// ```
    pub fn matches(&self, acl: &AclBinding) -> bool {
        fn opt(f: &Option<String>, v: &str) -> bool {
            f.as_deref().is_none_or(|f| f == v)
        }
        (self.resource_type == ResourceType::Any || self.resource_type == acl.resource_type)
            && (matches!(self.pattern_type, PatternType::Any | PatternType::Match)
                || self.pattern_type == acl.pattern_type)
            && opt(&self.resource_name, &acl.resource_name)
            && opt(&self.principal, &acl.principal)
            && opt(&self.host, &acl.host)
            && (self.operation == AclOperation::Any || self.operation == acl.operation)
            && (self.permission == AclPermission::Any || self.permission == acl.permission)
    }
}

fn opt_str(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str_bytes)
}

fn acl_error(
    code: i16,
    message: Option<&String>,
    operation: &'static str,
    what: String,
) -> Result<()> {
    check(code, message, operation, || {
        match ResponseError::try_from_code(code) {
            Some(ResponseError::SecurityDisabled) => format!(
                "{what}: the brokers have no authorizer; set authorizer.class.name (e.g. org.apache.kafka.metadata.authorizer.StandardAuthorizer)"
            ),
            Some(ResponseError::ClusterAuthorizationFailed) => format!(
                "{what}: this principal may not manage ACLs; it needs ALTER (create, delete) or DESCRIBE (list) on the cluster, or to be a super user"
            ),
            _ => what,
        }
    })
}

impl Admin {
    /// Creates ACLs. An ACL that exists already is not an error. Every failure is reported
    /// (the first one as the error, naming its ACL); the others are created.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// use kafkit::admin::{AclBinding, AclOperation, ResourceType};
    /// admin
    ///     .create_acls(&[AclBinding::allow(ResourceType::Topic, "orders", "User:bob", AclOperation::Read)])
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_acls(&self, acls: &[AclBinding]) -> Result<()> {
        if acls.is_empty() {
            return Ok(());
        }
        for a in acls {
            let filter_only =
                matches!(
                    a.resource_type,
                    ResourceType::Any | ResourceType::Unknown(_)
                ) || matches!(
                    a.pattern_type,
                    PatternType::Any | PatternType::Match | PatternType::Unknown(_)
                ) || matches!(a.operation, AclOperation::Any | AclOperation::Unknown(_))
                    || matches!(a.permission, AclPermission::Any | AclPermission::Unknown(_));
            if filter_only || a.principal.is_empty() || a.host.is_empty() {
                return Err(Error::config(format!(
                    "ACL '{a}' cannot be created: ANY and MATCH are for filters; give a resource type, LITERAL or PREFIXED, an operation, ALLOW or DENY, a principal (User:name) and a host (* for any)"
                )));
            }
        }
        let conn = self.connection().await?;
        let mut req = CreateAclsRequest::default();
        req.creations = acls
            .iter()
            .map(|a| {
                let mut c = AclCreation::default();
                c.resource_type = a.resource_type.code();
                c.resource_name = str_bytes(&a.resource_name);
                c.resource_pattern_type = a.pattern_type.code();
                c.principal = str_bytes(&a.principal);
                c.host = str_bytes(&a.host);
                c.operation = a.operation.code();
                c.permission_type = a.permission.code();
                c
            })
            .collect();
        let resp = conn.send(&req).await.map_err(|e| e.during("create_acls"))?;
        if resp.results.len() != acls.len() {
            return Err(Error::protocol(
                "create_acls",
                format!("{} results for {} ACLs", resp.results.len(), acls.len()),
            ));
        }
        for (r, a) in resp.results.iter().zip(acls) {
            acl_error(
                r.error_code,
                r.error_message.as_ref(),
                "create_acls",
                format!("ACL '{a}'"),
            )?;
        }
        Ok(())
    }

    /// The ACLs that pass `filter`, sorted.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// use kafkit::admin::AclBindingFilter;
    /// for acl in admin.describe_acls(&AclBindingFilter::any().principal("User:bob")).await? {
    ///     println!("{acl}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn describe_acls(&self, filter: &AclBindingFilter) -> Result<Vec<AclBinding>> {
        let conn = self.connection().await?;
        let mut req = DescribeAclsRequest::default();
        req.resource_type_filter = filter.resource_type.code();
        req.resource_name_filter = opt_str(&filter.resource_name);
        req.pattern_type_filter = filter.pattern_type.code();
        req.principal_filter = opt_str(&filter.principal);
        req.host_filter = opt_str(&filter.host);
        req.operation = filter.operation.code();
        req.permission_type = filter.permission.code();
        let resp = conn
            .send(&req)
            .await
            .map_err(|e| e.during("describe_acls"))?;
        acl_error(
            resp.error_code,
            resp.error_message.as_ref(),
            "describe_acls",
            "ACL filter".into(),
        )?;
        let mut out: Vec<AclBinding> = resp
            .resources
            .iter()
            .flat_map(|r| {
                r.acls.iter().map(move |a| AclBinding {
                    resource_type: ResourceType::from_code(r.resource_type),
                    resource_name: r.resource_name.to_string(),
                    pattern_type: PatternType::from_code(r.pattern_type),
                    principal: a.principal.to_string(),
                    host: a.host.to_string(),
                    operation: AclOperation::from_code(a.operation),
                    permission: AclPermission::from_code(a.permission_type),
                })
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// Deletes the ACLs that pass any of `filters`; returns the ones deleted, sorted.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// use kafkit::admin::AclBindingFilter;
    /// let gone = admin.delete_acls(&[AclBindingFilter::any().principal("User:bob")]).await?;
    /// println!("deleted {} ACLs", gone.len());
    /// # Ok(()) }
    /// ```
    pub async fn delete_acls(&self, filters: &[AclBindingFilter]) -> Result<Vec<AclBinding>> {
        if filters.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self.connection().await?;
        let mut req = DeleteAclsRequest::default();
        req.filters = filters
            .iter()
            .map(|f| {
                let mut d = DeleteAclsFilter::default();
                d.resource_type_filter = f.resource_type.code();
                d.resource_name_filter = opt_str(&f.resource_name);
                d.pattern_type_filter = f.pattern_type.code();
                d.principal_filter = opt_str(&f.principal);
                d.host_filter = opt_str(&f.host);
                d.operation = f.operation.code();
                d.permission_type = f.permission.code();
                d
            })
            .collect();
        let resp = conn.send(&req).await.map_err(|e| e.during("delete_acls"))?;
        let mut out = Vec::new();
        for r in &resp.filter_results {
            acl_error(
                r.error_code,
                r.error_message.as_ref(),
                "delete_acls",
                "ACL filter".into(),
            )?;
            for m in &r.matching_acls {
                let acl = AclBinding {
                    resource_type: ResourceType::from_code(m.resource_type),
                    resource_name: m.resource_name.to_string(),
                    pattern_type: PatternType::from_code(m.pattern_type),
                    principal: m.principal.to_string(),
                    host: m.host.to_string(),
                    operation: AclOperation::from_code(m.operation),
                    permission: AclPermission::from_code(m.permission_type),
                };
                acl_error(
                    m.error_code,
                    m.error_message.as_ref(),
                    "delete_acls",
                    format!("ACL '{acl}'"),
                )?;
                out.push(acl);
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}
