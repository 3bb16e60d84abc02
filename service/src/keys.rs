//! API keys: `Authorization: Bearer vty_…`. A token is shown once, when it is made; only its
//! SHA-256 is stored. Each key has one scope; `admin` may do everything.

use std::fmt;
use std::str::FromStr;

use ring::rand::SecureRandom;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::{Db, with_pool};
use crate::error::{Result, ServiceError};

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// `POST /v1/verify` and `POST /v1/matches/byContent`.
    Verify,
    /// The jobs API (and what `verify` may).
    Jobs,
    /// `POST /v1/sign`.
    Sign,
    /// Everything, `/metrics` included.
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Verify => "verify",
            Scope::Jobs => "jobs",
            Scope::Sign => "sign",
            Scope::Admin => "admin",
        }
    }

    /// Whether a key of this scope may do what `needed` names.
    pub fn allows(self, needed: Scope) -> bool {
        self == needed || self == Scope::Admin || (self == Scope::Jobs && needed == Scope::Verify)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = ServiceError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "verify" => Ok(Scope::Verify),
            "jobs" => Ok(Scope::Jobs),
            "sign" => Ok(Scope::Sign),
            "admin" => Ok(Scope::Admin),
            other => Err(ServiceError::Scope(other.to_string())),
        }
    }
}

/// A key as listed: never its token.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct KeyInfo {
    pub id: String,
    pub name: String,
    pub scope: Scope,
    /// The token's first characters, to tell keys apart (`vty_ab12cd34…`).
    pub prefix: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// A key just made: the token is in here and nowhere else.
pub struct NewKey {
    pub info: KeyInfo,
    pub token: String,
}

impl fmt::Debug for NewKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewKey")
            .field("info", &self.info)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// The key that made a request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub key_id: String,
    pub scope: Scope,
}

impl Caller {
    /// Whose jobs this caller sees: its own key's, or everyone's for an admin key.
    pub fn owner(&self) -> Option<&str> {
        if self.scope == Scope::Admin {
            None
        } else {
            Some(&self.key_id)
        }
    }
}

const TOKEN_PREFIX: &str = "vty_";

/// The stored form of a token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn random_token() -> Result<(String, String)> {
    let mut id = [0u8; 6];
    let mut secret = [0u8; 24];
    fill_random(&mut id)?;
    fill_random(&mut secret)?;
    let id = hex(&id);
    Ok((id.clone(), format!("{TOKEN_PREFIX}{id}_{}", hex(&secret))))
}

/// `bytes` random bytes from the system's source, as hex.
pub fn random_secret(bytes: usize) -> Result<String> {
    let mut b = vec![0u8; bytes];
    fill_random(&mut b)?;
    Ok(hex(&b))
}

/// Fills `buf` from the system's random source: what tokens, secrets and ids are made of.
pub fn fill_random(buf: &mut [u8]) -> Result<()> {
    ring::rand::SystemRandom::new()
        .fill(buf)
        .map_err(|_| ServiceError::Queue("the system's random source failed".into()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Makes a key: its id, name and scope are stored with the token's hash.
pub async fn create(db: &Db, name: &str, scope: Scope) -> Result<NewKey> {
    let (id, token) = random_token()?;
    let now = crate::db::now_ms();
    let inserted = with_pool!(db, |p| sqlx::query(
        "INSERT INTO api_keys (id, name, scope, hash, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(&id)
    .bind(name)
    .bind(scope.as_str())
    .bind(token_hash(&token))
    .bind(now)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    if inserted == 0 {
        return Err(ServiceError::KeyNameTaken(name.to_string()));
    }
    db.audit(
        "cli",
        "key.create",
        &id,
        &serde_json::json!({"name": name, "scope": scope}),
    )
    .await?;
    Ok(NewKey {
        info: KeyInfo {
            prefix: format!("{TOKEN_PREFIX}{id}"),
            id,
            name: name.to_string(),
            scope,
            created_at: crate::db::rfc3339(now),
            revoked_at: None,
        },
        token,
    })
}

/// Every key, newest first.
pub async fn list(db: &Db) -> Result<Vec<KeyInfo>> {
    let rows: Vec<(String, String, String, i64, Option<i64>)> = with_pool!(db, |p| {
        sqlx::query_as(
        "SELECT id, name, scope, created_at, revoked_at FROM api_keys ORDER BY created_at DESC, id",
    )
    .fetch_all(p).await
    })?;
    rows.into_iter()
        .map(|(id, name, scope, created, revoked)| {
            Ok(KeyInfo {
                prefix: format!("{TOKEN_PREFIX}{id}"),
                id,
                name,
                scope: scope.parse()?,
                created_at: crate::db::rfc3339(created),
                revoked_at: revoked.map(crate::db::rfc3339),
            })
        })
        .collect()
}

/// Revokes the key with this id or name. Revoking twice is not an error.
pub async fn revoke(db: &Db, id_or_name: &str) -> Result<KeyInfo> {
    let now = crate::db::now_ms();
    let done = with_pool!(db, |p| sqlx::query(
        "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 OR name = $3",
    )
    .bind(now)
    .bind(id_or_name)
    .bind(id_or_name)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    if done == 0 {
        return Err(ServiceError::NoSuchKey(id_or_name.to_string()));
    }
    db.audit("cli", "key.revoke", id_or_name, &serde_json::json!({}))
        .await?;
    list(db)
        .await?
        .into_iter()
        .find(|k| k.id == id_or_name || k.name == id_or_name)
        .ok_or_else(|| ServiceError::NoSuchKey(id_or_name.to_string()))
}

/// The live key whose token this is, if any.
pub async fn authenticate(db: &Db, token: &str) -> Result<Option<Caller>> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
        return Ok(None);
    }
    let row: Option<(String, String)> = with_pool!(db, |p| sqlx::query_as(
        "SELECT id, scope FROM api_keys WHERE hash = $1 AND revoked_at IS NULL"
    )
    .bind(token_hash(token))
    .fetch_optional(p)
    .await)?;
    match row {
        Some((key_id, scope)) => Ok(Some(Caller {
            key_id,
            scope: scope.parse()?,
        })),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert!(Scope::Admin.allows(Scope::Sign));
        assert!(Scope::Jobs.allows(Scope::Verify));
        assert!(!Scope::Verify.allows(Scope::Jobs));
        assert!(!Scope::Sign.allows(Scope::Verify));
        assert!("root".parse::<Scope>().is_err());
    }

    #[test]
    fn tokens_are_random_and_prefixed() -> Result<()> {
        let (a_id, a) = random_token()?;
        let (_, b) = random_token()?;
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("vty_{a_id}_")));
        assert_eq!(a.len(), 4 + 12 + 1 + 48);
        assert_eq!(token_hash(&a).len(), 32);
        Ok(())
    }
}
