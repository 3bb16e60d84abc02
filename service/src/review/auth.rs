//! Who may review: reviewers with a password (argon2id), or the service's API keys; sessions in
//! an `HttpOnly`, `SameSite=Strict` cookie (and `Secure` when configured), each with its own
//! CSRF token that every form carries.

use std::fmt;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Serialize;

use crate::db::{self, Db, with_pool};
use crate::error::{Result, ServiceError};
use crate::keys::{self, Scope};
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "verity_review";
/// The sign-in form's CSRF cookie (double submit: the form's hidden field must equal it).
pub const LOGIN_COOKIE: &str = "verity_review_login";

/// A reviewer's role: reviewers decide in the policy's queues; leads also take escalated items,
/// read any reviewer's audit log and export decisions; admins are leads who may do anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Reviewer,
    Lead,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reviewer => "reviewer",
            Role::Lead => "lead",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "reviewer" => Role::Reviewer,
            "lead" => Role::Lead,
            "admin" => Role::Admin,
            _ => return None,
        })
    }

    /// Leads and admins.
    pub fn leads(self) -> bool {
        self >= Role::Lead
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reviewer as listed (never the password's hash).
#[derive(Clone, Debug, Serialize)]
pub struct ReviewerInfo {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_at: String,
    pub disabled_at: Option<String>,
}

fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::encode_b64(keys::random_secret(16)?.as_bytes())
        .map_err(|e| ServiceError::Queue(format!("a password salt: {e}")))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Queue(format!("hashing a password: {e}")))
}

/// Adds a reviewer. Passwords have at least 12 characters.
pub async fn add_reviewer(
    dbh: &Db,
    name: &str,
    role: Role,
    password: &str,
) -> Result<ReviewerInfo> {
    if name.is_empty() || name.len() > 64 || name.chars().any(|c| c.is_control()) {
        return Err(ServiceError::Review(
            "a reviewer's name is 1 to 64 printable characters".into(),
        ));
    }
    if password.chars().count() < 12 {
        return Err(ServiceError::Review(
            "a reviewer's password has at least 12 characters".into(),
        ));
    }
    let id = format!("rev_{}", keys::random_secret(8)?);
    let hash = hash_password(password)?;
    let now = db::now_ms();
    let inserted = with_pool!(dbh, |p| {
        sqlx::query(
        "INSERT INTO reviewers (id, name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(&id)
    .bind(name)
    .bind(role.as_str())
    .bind(&hash)
    .bind(now)
    .execute(p).await.map(|r| r.rows_affected())
    })?;
    if inserted == 0 {
        return Err(ServiceError::Review(format!(
            "a reviewer named `{name}` exists already"
        )));
    }
    dbh.audit(
        "cli",
        "reviewer.add",
        &id,
        &serde_json::json!({"name": name, "role": role}),
    )
    .await?;
    Ok(ReviewerInfo {
        id,
        name: name.into(),
        role,
        created_at: db::rfc3339(now),
        disabled_at: None,
    })
}

pub async fn list_reviewers(dbh: &Db) -> Result<Vec<ReviewerInfo>> {
    let rows: Vec<(String, String, String, i64, Option<i64>)> =
        with_pool!(dbh, |p| sqlx::query_as(
            "SELECT id, name, role, created_at, disabled_at FROM reviewers ORDER BY name",
        )
        .fetch_all(p)
        .await)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, role, created, disabled)| ReviewerInfo {
            id,
            name,
            role: Role::parse(&role).unwrap_or(Role::Reviewer),
            created_at: db::rfc3339(created),
            disabled_at: disabled.map(db::rfc3339),
        })
        .collect())
}

/// Disables a reviewer by name or id, and ends their sessions.
pub async fn disable_reviewer(dbh: &Db, who: &str) -> Result<ReviewerInfo> {
    let now = db::now_ms();
    let row: Option<(String, String)> = with_pool!(dbh, |p| {
        sqlx::query_as(
        "UPDATE reviewers SET disabled_at = COALESCE(disabled_at, $1) WHERE id = $2 OR name = $2
         RETURNING id, name",
    )
    .bind(now)
    .bind(who)
    .fetch_optional(p).await
    })?;
    let Some((id, _)) = row else {
        return Err(ServiceError::Review(format!("no reviewer `{who}`")));
    };
    with_pool!(dbh, |p| sqlx::query(
        "DELETE FROM review_sessions WHERE reviewer_id = $1"
    )
    .bind(&id)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    dbh.audit("cli", "reviewer.disable", &id, &serde_json::json!({}))
        .await?;
    list_reviewers(dbh)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ServiceError::Review(format!("no reviewer `{who}`")))
}

/// Who signed in.
#[derive(Clone, Debug)]
pub struct Principal {
    /// `reviewer:<name>` or `key:<name>`: what the audit log says.
    pub who: String,
    pub name: String,
    pub role: Role,
    pub reviewer_id: Option<String>,
    pub key_id: Option<String>,
}

/// A hash that no password matches, verified against when the name is unknown, so that an
/// unknown name costs one verification as a known one does.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::encode_b64(b"verity-no-reviewer").ok();
        salt.and_then(|s| {
            argon2::Argon2::default()
                .hash_password(b"no reviewer has this password", &s)
                .ok()
                .map(|h| h.to_string())
        })
        .unwrap_or_default()
    })
}

/// Checks a reviewer's name and password: one argon2 verification, on a blocking thread,
/// whether the name exists or not.
pub async fn check_password(dbh: &Db, name: &str, password: &str) -> Result<Option<Principal>> {
    let row: Option<(String, String, String)> = with_pool!(dbh, |p| sqlx::query_as(
        "SELECT id, role, password_hash FROM reviewers WHERE name = $1 AND disabled_at IS NULL",
    )
    .bind(name)
    .fetch_optional(p)
    .await)?;
    let stored = row.as_ref().map(|(_, _, h)| h.clone());
    let password = password.to_string();
    let ok = tokio::task::spawn_blocking(move || {
        let hash: &str = match &stored {
            Some(h) => h,
            None => dummy_hash(),
        };
        let matches = PasswordHash::new(hash).is_ok_and(|parsed| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        });
        matches && stored.is_some()
    })
    .await
    .unwrap_or(false);
    Ok(match row {
        Some((id, role, _)) if ok => Some(Principal {
            who: format!("reviewer:{name}"),
            name: name.to_string(),
            role: Role::parse(&role).unwrap_or(Role::Reviewer),
            reviewer_id: Some(id),
            key_id: None,
        }),
        _ => None,
    })
}

/// Signs in with one of the service's admin API keys, as an admin. Other keys (an
/// integration's verify or jobs key) do not sign in: a reviewer sees every key's jobs.
pub async fn check_key(dbh: &Db, token: &str) -> Result<Option<Principal>> {
    let Some(caller) = keys::authenticate(dbh, token)
        .await?
        .filter(|c| c.scope == Scope::Admin)
    else {
        return Ok(None);
    };
    let name: String = with_pool!(dbh, |p| sqlx::query_scalar(
        "SELECT name FROM api_keys WHERE id = $1"
    )
    .bind(&caller.key_id)
    .fetch_one(p)
    .await)?;
    Ok(Some(Principal {
        who: format!("key:{name}"),
        name,
        role: Role::Admin,
        reviewer_id: None,
        key_id: Some(caller.key_id),
    }))
}

/// A signed-in reviewer, from the session cookie.
#[derive(Clone)]
pub struct Session {
    pub who: String,
    pub name: String,
    pub role: Role,
    pub reviewer_id: Option<String>,
    /// The token every form of this session carries.
    pub csrf: String,
    /// Videos blurred until clicked (a reviewer's setting; key sessions always blur).
    pub blur: bool,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("who", &self.who)
            .field("role", &self.role)
            .field("csrf", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Opens a session; answers the cookie's token.
pub async fn open_session(dbh: &Db, p: &Principal, ttl: std::time::Duration) -> Result<String> {
    let token = keys::random_secret(32)?;
    let csrf = keys::random_secret(16)?;
    let now = db::now_ms();
    let until = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
    with_pool!(dbh, |p| sqlx::query(
        "DELETE FROM review_sessions WHERE expires_at < $1"
    )
    .bind(now)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    with_pool!(dbh, |pool| sqlx::query(
        "INSERT INTO review_sessions (token_hash, who, name, role, reviewer_id, key_id, csrf,
            created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(keys::token_hash(&token))
    .bind(&p.who)
    .bind(&p.name)
    .bind(p.role.as_str())
    .bind(&p.reviewer_id)
    .bind(&p.key_id)
    .bind(&csrf)
    .bind(now)
    .bind(until)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    dbh.audit(&p.who, "review.sign_in", &p.who, &serde_json::json!({}))
        .await?;
    Ok(token)
}

pub async fn session(dbh: &Db, token: &str) -> Result<Option<Session>> {
    type SessionRow = (String, String, String, Option<String>, String, Option<i64>);
    let row: Option<SessionRow> = with_pool!(dbh, |p| sqlx::query_as(
        "SELECT s.who, s.name, s.role, s.reviewer_id, s.csrf, r.blur FROM review_sessions s
         LEFT JOIN reviewers r ON r.id = s.reviewer_id
         LEFT JOIN api_keys k ON k.id = s.key_id
         WHERE s.token_hash = $1 AND s.expires_at > $2
           AND (s.reviewer_id IS NULL OR r.disabled_at IS NULL)
           AND (s.key_id IS NULL OR k.revoked_at IS NULL)",
    )
    .bind(keys::token_hash(token))
    .bind(db::now_ms())
    .fetch_optional(p)
    .await)?;
    Ok(
        row.map(|(who, name, role, reviewer_id, csrf, blur)| Session {
            who,
            name,
            role: Role::parse(&role).unwrap_or(Role::Reviewer),
            reviewer_id,
            csrf,
            blur: blur.is_none_or(|b| b != 0),
        }),
    )
}

pub async fn close_session(dbh: &Db, token: &str) -> Result<()> {
    with_pool!(dbh, |p| sqlx::query(
        "DELETE FROM review_sessions WHERE token_hash = $1"
    )
    .bind(keys::token_hash(token))
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn set_blur(dbh: &Db, reviewer_id: &str, blur: bool) -> Result<()> {
    with_pool!(dbh, |p| sqlx::query(
        "UPDATE reviewers SET blur = $1 WHERE id = $2"
    )
    .bind(i64::from(blur))
    .bind(reviewer_id)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A cookie as the review page sets them: `HttpOnly`, `SameSite=Strict`, under `/review`,
/// `Secure` when configured.
pub fn cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path("/review")
        .build()
}

/// Compares two tokens in constant time.
pub fn same_token(a: &str, b: &str) -> bool {
    use sha2::{Digest, Sha256};
    // Equal-length digests, compared without an early exit.
    let (x, y) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
        && !a.is_empty()
}

/// The extractor for pages that need a signed-in reviewer: without a valid session, a GET is
/// sent to the sign-in page and anything else is refused.
#[derive(Debug)]
pub struct Reviewer(pub Session);

/// Why a request has no session.
#[derive(Debug)]
pub enum NoSession {
    SignIn,
    Failed(crate::error::ApiError),
}

impl IntoResponse for NoSession {
    fn into_response(self) -> Response {
        match self {
            NoSession::SignIn => Redirect::to("/review/login").into_response(),
            NoSession::Failed(e) => e.into_response(),
        }
    }
}

impl FromRequestParts<AppState> for Reviewer {
    type Rejection = NoSession;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, NoSession> {
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) else {
            return Err(NoSession::SignIn);
        };
        match session(s.db(), &token).await {
            Ok(Some(sess)) => Ok(Reviewer(sess)),
            Ok(None) => Err(NoSession::SignIn),
            Err(e) => Err(NoSession::Failed(e.into())),
        }
    }
}
