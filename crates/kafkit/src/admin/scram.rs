//! SCRAM credentials (KIP-554): list, create or change, delete. The password never leaves the
//! client: kafkit sends the salted password (PBKDF2 with a random salt), as Kafka's tools do.

use crate::protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use crate::protocol::messages::describe_user_scram_credentials_request::UserName;
use crate::protocol::messages::{
    AlterUserScramCredentialsRequest, DescribeUserScramCredentialsRequest,
};
use bytes::Bytes;
use rand::RngCore;

use super::{check, kafka_code, str_bytes, Admin};
use crate::error::{Error, ResponseError, Result};
use crate::net::sasl::ScramHash;

kafka_code! {
    /// A SCRAM mechanism.
    ///
    /// ```
    /// use kafkit::admin::ScramMechanism;
    /// assert_eq!("SCRAM-SHA-512".parse::<ScramMechanism>().unwrap(), ScramMechanism::ScramSha512);
    /// ```
    pub enum ScramMechanism: i8 {
        /// SCRAM-SHA-256.
        ScramSha256 = 1 => "SCRAM-SHA-256",
        /// SCRAM-SHA-512.
        ScramSha512 = 2 => "SCRAM-SHA-512",
    }
}

impl ScramMechanism {
    fn hash(self) -> Option<ScramHash> {
        match self {
            ScramMechanism::ScramSha256 => Some(ScramHash::Sha256),
            ScramMechanism::ScramSha512 => Some(ScramHash::Sha512),
            ScramMechanism::Unknown(_) => None,
        }
    }
}

/// One credential of a user: its mechanism and iteration count (never the secret).
///
/// ```no_run
/// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
/// for u in admin.describe_user_scram_credentials(&[]).await? {
///     for c in &u.credentials { println!("{} {} x{}", u.user, c.mechanism, c.iterations); }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScramCredential {
    /// Mechanism.
    pub mechanism: ScramMechanism,
    /// PBKDF2 iterations.
    pub iterations: i32,
}

/// A user and its SCRAM credentials.
///
/// ```no_run
/// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
/// let users = admin.describe_user_scram_credentials(&["alice"]).await?;
/// assert_eq!(users[0].user, "alice");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramUser {
    /// User name.
    pub user: String,
    /// Credentials, by mechanism.
    pub credentials: Vec<ScramCredential>,
}

/// Kafka's default, and the minimum its brokers accept.
const DEFAULT_ITERATIONS: i32 = 4096;

impl Admin {
    /// The SCRAM users and their mechanisms: these users (every user with a credential when
    /// `users` is empty), sorted. A named user without credentials fails with
    /// `RESOURCE_NOT_FOUND`.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// for u in admin.describe_user_scram_credentials(&[]).await? {
    ///     println!("{}", u.user);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn describe_user_scram_credentials(&self, users: &[&str]) -> Result<Vec<ScramUser>> {
        let conn = self.connection().await?;
        let mut req = DescribeUserScramCredentialsRequest::default();
        req.users = (!users.is_empty()).then(|| {
            users
                .iter()
                .map(|u| {
                    let mut n = UserName::default();
                    n.name = str_bytes(u);
                    n
                })
                .collect()
        });
        let resp = conn
            .send(&req)
            .await
            .map_err(|e| e.during("describe_user_scram_credentials"))?;
        check(
            resp.error_code,
            resp.error_message.as_ref(),
            "describe_user_scram_credentials",
            || "SCRAM users".to_string(),
        )?;
        let mut out = Vec::with_capacity(resp.results.len());
        for r in resp.results {
            let user = r.user.to_string();
            check(
                r.error_code,
                r.error_message.as_ref(),
                "describe_user_scram_credentials",
                || match ResponseError::try_from_code(r.error_code) {
                    Some(ResponseError::ResourceNotFound) => {
                        format!("user '{user}' has no SCRAM credentials")
                    }
                    _ => format!("user '{user}'"),
                },
            )?;
            let mut credentials: Vec<ScramCredential> = r
                .credential_infos
                .iter()
                .map(|c| ScramCredential {
                    mechanism: ScramMechanism::from_code(c.mechanism),
                    iterations: c.iterations,
                })
                .collect();
            credentials.sort_by_key(|c| c.mechanism);
            out.push(ScramUser { user, credentials });
        }
        out.sort_by(|a, b| a.user.cmp(&b.user));
        Ok(out)
    }

    /// Creates or replaces `user`'s credential of `mechanism` with `password`, salted with
    /// 4096 iterations (or `iterations`, at least 4096). The user can log in with it once the
    /// brokers have applied the change (a moment after this returns).
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// use kafkit::admin::ScramMechanism;
    /// admin.upsert_user_scram_credential("carol", ScramMechanism::ScramSha256, "carol-secret", None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn upsert_user_scram_credential(
        &self,
        user: &str,
        mechanism: ScramMechanism,
        password: &str,
        iterations: Option<i32>,
    ) -> Result<()> {
        let iterations = iterations.unwrap_or(DEFAULT_ITERATIONS);
        let hash = mechanism.hash().ok_or_else(|| {
            Error::config(format!(
                "mechanism {mechanism}: use SCRAM-SHA-256 or SCRAM-SHA-512"
            ))
        })?;
        if user.is_empty() || password.is_empty() {
            return Err(Error::config(
                "a SCRAM credential needs a user name and a non-empty password",
            ));
        }
        if !(DEFAULT_ITERATIONS..=16384).contains(&iterations) {
            return Err(Error::config(format!(
                "{iterations} iterations: Kafka accepts 4096 to 16384"
            )));
        }
        let mut salt = vec![0u8; 32];
        rand::rng().fill_bytes(&mut salt);
        let salted = hash.salted_password(password.as_bytes(), &salt, iterations as u32);
        let mut u = ScramCredentialUpsertion::default();
        u.name = str_bytes(user);
        u.mechanism = mechanism.code();
        u.iterations = iterations;
        u.salt = Bytes::from(salt);
        u.salted_password = Bytes::from(salted);
        let mut req = AlterUserScramCredentialsRequest::default();
        req.upsertions = vec![u];
        self.alter_scram(req, user).await
    }

    /// Deletes `user`'s credential of `mechanism`; the user can no longer log in with it.
    /// A credential that does not exist fails with `RESOURCE_NOT_FOUND`.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// use kafkit::admin::ScramMechanism;
    /// admin.delete_user_scram_credential("carol", ScramMechanism::ScramSha256).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_user_scram_credential(
        &self,
        user: &str,
        mechanism: ScramMechanism,
    ) -> Result<()> {
        let mut d = ScramCredentialDeletion::default();
        d.name = str_bytes(user);
        d.mechanism = mechanism.code();
        let mut req = AlterUserScramCredentialsRequest::default();
        req.deletions = vec![d];
        self.alter_scram(req, user).await
    }

    async fn alter_scram(&self, req: AlterUserScramCredentialsRequest, user: &str) -> Result<()> {
        let conn = self.connection().await?;
        let resp = conn
            .send(&req)
            .await
            .map_err(|e| e.during("alter_user_scram_credentials"))?;
        for r in &resp.results {
            check(
                r.error_code,
                r.error_message.as_ref(),
                "alter_user_scram_credentials",
                || format!("user '{user}'"),
            )?;
        }
        Ok(())
    }
}
