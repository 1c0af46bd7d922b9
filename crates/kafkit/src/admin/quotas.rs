//! Client quotas (KIP-546): describe and alter the byte-rate, request and connection quotas
//! of users, client ids and IPs.

use crate::protocol::messages::{AlterClientQuotasRequest, DescribeClientQuotasRequest};

use super::{check, str_bytes, Admin};
use crate::error::{Error, Result};

/// Who a quota applies to: each part is an entity type (`user`, `client-id`, `ip`) with a
/// name, or `None` for that type's default.
///
/// ```
/// use kafkit::admin::QuotaEntity;
/// let e = QuotaEntity::user("bob").and("client-id", Some("reporting"));
/// assert_eq!(e.parts.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct QuotaEntity {
    /// `(entity type, name)`, name `None` for the default entity of the type.
    pub parts: Vec<(String, Option<String>)>,
}

impl QuotaEntity {
    /// The user `name`.
    ///
    /// ```
    /// let e = kafkit::admin::QuotaEntity::user("bob");
    /// assert_eq!(e.parts[0], ("user".to_string(), Some("bob".to_string())));
    /// ```
    pub fn user(name: impl Into<String>) -> Self {
        QuotaEntity {
            parts: vec![("user".to_string(), Some(name.into()))],
        }
    }

    /// The client id `id`.
    ///
    /// ```
    /// let e = kafkit::admin::QuotaEntity::client_id("reporting");
    /// assert_eq!(e.parts[0].0, "client-id");
    /// ```
    pub fn client_id(id: impl Into<String>) -> Self {
        QuotaEntity {
            parts: vec![("client-id".to_string(), Some(id.into()))],
        }
    }

    /// Adds a part (e.g. a client id under a user).
    ///
    /// ```
    /// let e = kafkit::admin::QuotaEntity::user("bob").and("client-id", None);
    /// assert_eq!(e.parts[1].1, None);
    /// ```
    pub fn and(mut self, entity_type: impl Into<String>, name: Option<&str>) -> Self {
        self.parts
            .push((entity_type.into(), name.map(str::to_string)));
        self
    }
}

impl std::fmt::Display for QuotaEntity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .parts
            .iter()
            .map(|(t, n)| format!("{t}={}", n.as_deref().unwrap_or("<default>")))
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// An entity and its quotas, e.g. `producer_byte_rate = 1048576`.
///
/// ```no_run
/// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
/// use kafkit::admin::QuotaFilter;
/// for e in admin.describe_client_quotas(&[QuotaFilter::Exact("user".into(), "bob".into())], false).await? {
///     println!("{}: {:?}", e.entity, e.quotas);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaEntry {
    /// Who.
    pub entity: QuotaEntity,
    /// `(key, value)`, sorted by key.
    pub quotas: Vec<(String, f64)>,
}

/// One part of a quota filter.
///
/// ```
/// use kafkit::admin::QuotaFilter;
/// let f = [QuotaFilter::Exact("user".into(), "bob".into()), QuotaFilter::Any("client-id".into())];
/// # let _ = f;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaFilter {
    /// The entity of this type with this name.
    Exact(String, String),
    /// The default entity of this type.
    Default(String),
    /// Any named entity of this type.
    Any(String),
}

/// One change of `alter_client_quotas`.
///
/// ```
/// use kafkit::admin::QuotaOp;
/// let ops = [QuotaOp::Set("producer_byte_rate".into(), 1048576.0), QuotaOp::Remove("consumer_byte_rate".into())];
/// # let _ = ops;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum QuotaOp {
    /// Sets the quota `key` (e.g. `producer_byte_rate`, `consumer_byte_rate`,
    /// `request_percentage`, `controller_mutation_rate`, `connection_creation_rate`).
    Set(String, f64),
    /// Removes it.
    Remove(String),
}

impl Admin {
    /// The quotas of the entities that match every part of `filter` (an empty filter
    /// matches all). With `strict`, entities with parts the filter does not name are left out.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// let all = admin.describe_client_quotas(&[], false).await?;
    /// println!("{} entities have quotas", all.len());
    /// # Ok(()) }
    /// ```
    pub async fn describe_client_quotas(
        &self,
        filter: &[QuotaFilter],
        strict: bool,
    ) -> Result<Vec<QuotaEntry>> {
        use crate::protocol::messages::describe_client_quotas_request::ComponentData;
        let conn = self.connection().await?;
        let mut req = DescribeClientQuotasRequest::default();
        req.strict = strict;
        req.components = filter
            .iter()
            .map(|f| {
                let mut c = ComponentData::default();
                let (t, match_type, name) = match f {
                    QuotaFilter::Exact(t, n) => (t, 0, Some(n)),
                    QuotaFilter::Default(t) => (t, 1, None),
                    QuotaFilter::Any(t) => (t, 2, None),
                };
                c.entity_type = str_bytes(t);
                c.match_type = match_type;
                c.r#match = name.map(|n| str_bytes(n));
                c
            })
            .collect();
        let resp = conn
            .send(&req)
            .await
            .map_err(|e| e.during("describe_client_quotas"))?;
        check(
            resp.error_code,
            resp.error_message.as_ref(),
            "describe_client_quotas",
            || "quota filter".to_string(),
        )?;
        let mut out: Vec<QuotaEntry> = resp
            .entries
            .unwrap_or_default()
            .into_iter()
            .map(|e| {
                let mut parts: Vec<(String, Option<String>)> = e
                    .entity
                    .iter()
                    .map(|d| {
                        (
                            d.entity_type.to_string(),
                            d.entity_name.as_ref().map(|n| n.to_string()),
                        )
                    })
                    .collect();
                parts.sort();
                let mut quotas: Vec<(String, f64)> = e
                    .values
                    .iter()
                    .map(|v| (v.key.to_string(), v.value))
                    .collect();
                quotas.sort_by(|a, b| a.0.cmp(&b.0));
                QuotaEntry {
                    entity: QuotaEntity { parts },
                    quotas,
                }
            })
            .collect();
        out.sort_by(|a, b| a.entity.cmp(&b.entity));
        Ok(out)
    }

    /// Sets and removes quotas of entities. With `validate_only` the broker only checks them.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// use kafkit::admin::{QuotaEntity, QuotaOp};
    /// admin
    ///     .alter_client_quotas(
    ///         &[(QuotaEntity::user("bob"), vec![QuotaOp::Set("producer_byte_rate".into(), 1048576.0)])],
    ///         false,
    ///     )
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn alter_client_quotas(
        &self,
        changes: &[(QuotaEntity, Vec<QuotaOp>)],
        validate_only: bool,
    ) -> Result<()> {
        use crate::protocol::messages::alter_client_quotas_request::{
            EntityData, EntryData, OpData,
        };
        if let Some((e, _)) = changes
            .iter()
            .find(|(e, ops)| e.parts.is_empty() || ops.is_empty())
        {
            return Err(Error::config(format!(
                "quota change for '{e}': give an entity (e.g. user=bob) and at least one op"
            )));
        }
        if changes.is_empty() {
            return Ok(());
        }
        let conn = self.connection().await?;
        let mut req = AlterClientQuotasRequest::default();
        req.validate_only = validate_only;
        req.entries = changes
            .iter()
            .map(|(entity, ops)| {
                let mut e = EntryData::default();
                e.entity = entity
                    .parts
                    .iter()
                    .map(|(t, n)| {
                        let mut d = EntityData::default();
                        d.entity_type = str_bytes(t);
                        d.entity_name = n.as_deref().map(str_bytes);
                        d
                    })
                    .collect();
                e.ops = ops
                    .iter()
                    .map(|op| {
                        let mut o = OpData::default();
                        match op {
                            QuotaOp::Set(k, v) => {
                                o.key = str_bytes(k);
                                o.value = *v;
                            }
                            QuotaOp::Remove(k) => {
                                o.key = str_bytes(k);
                                o.remove = true;
                            }
                        }
                        o
                    })
                    .collect();
                e
            })
            .collect();
        let resp = conn
            .send(&req)
            .await
            .map_err(|e| e.during("alter_client_quotas"))?;
        for e in &resp.entries {
            check(
                e.error_code,
                e.error_message.as_ref(),
                "alter_client_quotas",
                || {
                    let parts = e
                        .entity
                        .iter()
                        .map(|d| {
                            (
                                d.entity_type.to_string(),
                                d.entity_name.as_ref().map(|n| n.to_string()),
                            )
                        })
                        .collect();
                    format!("quotas of '{}'", QuotaEntity { parts })
                },
            )?;
        }
        Ok(())
    }
}
