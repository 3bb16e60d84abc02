//! The review queue at `/review`: a server-rendered page where a moderation team decides on
//! what the service flagged.
//!
//! When a job ends, the policy ([`policy`]) routes its report to the first queue whose rule
//! matches, or closes it automatically below that queue's threshold; an open item keeps its
//! video until it is decided. "Start reviewing" claims the oldest item with a lease, in one
//! statement, so two reviewers never hold the same item. Every claim, decision and routing is
//! in the append-only audit log; decisions are also kept apart (append-only) for the export.
//!
//! ```text
//! GET  /review                          the queues: counts, oldest item, start reviewing
//! GET  /review/login, POST, /logout     password (argon2id) or API key; session cookie
//! POST /review/queues/{queue}/start     claim the oldest item
//! GET  /review/items/{id}               the video, the evidence, earlier decisions, the audit
//! GET  /review/items/{id}/video         the video (ranges served)
//! POST /review/items/{id}/decide        approve, remove, escalate or a custom action, with a note
//! POST /review/settings                 blur videos until clicked, or not
//! GET  /review/audit?who=               what a reviewer did (leads: anyone's)
//! GET  /review/export?since&until&format decisions as CSV or JSON (leads)
//! ```

pub mod auth;
pub mod pages;
pub mod policy;
pub mod store;

use axum::Router;
use axum::extract::{Form, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use crate::config::ESCALATED_QUEUE;
use crate::db;
use crate::extract::Query;
use crate::state::AppState;
use auth::{LOGIN_COOKIE, Reviewer, SESSION_COOKIE, Session};

/// The review page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/review", get(queues))
        .route("/review/login", get(login_form).post(login))
        .route("/review/logout", post(logout))
        .route("/review/queues/{queue}/start", post(start))
        .route("/review/items/{id}", get(item))
        .route("/review/items/{id}/video", get(video))
        .route("/review/items/{id}/decide", post(decide))
        .route("/review/settings", post(settings))
        .route("/review/audit", get(audit))
        .route("/review/export", get(export))
}

/// A page-level failure: an HTML page with the status (the API's errors are JSON; these are
/// read by people in a browser).
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    message: String,
    session: Option<Box<Session>>,
}

impl PageError {
    fn new(status: StatusCode, message: impl Into<String>, session: Option<&Session>) -> Self {
        PageError {
            status,
            message: message.into(),
            session: session.cloned().map(Box::new),
        }
    }
}

impl From<crate::ServiceError> for PageError {
    fn from(e: crate::ServiceError) -> Self {
        tracing::error!(error = %crate::error_chain(&e), "review page failed");
        PageError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the service failed on this request; its log has the detail",
            None,
        )
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            pages::error_page(self.session.as_deref(), &self.message),
        )
            .into_response();
        no_store(&mut r);
        r
    }
}

type PageResult = Result<Response, PageError>;

/// Pages hold evidence and tokens: never cached, never framed.
fn no_store(r: &mut Response) {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; media-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

fn html(m: maud::Markup) -> Response {
    let mut r = m.into_response();
    no_store(&mut r);
    r
}

/// Refuses a form whose CSRF token is not the session's.
fn check_csrf(s: &Session, sent: &str) -> Result<(), PageError> {
    if auth::same_token(&s.csrf, sent) {
        Ok(())
    } else {
        Err(PageError::new(
            StatusCode::FORBIDDEN,
            "this form's security token is missing or stale: reload the page and try again",
            Some(s),
        ))
    }
}

fn queue_title<'a>(s: &'a AppState, name: &str) -> &'a str {
    if name == ESCALATED_QUEUE {
        return "Escalated";
    }
    s.config()
        .review
        .queues
        .iter()
        .find(|q| q.name == name)
        .map_or("(a queue no longer configured)", |q| q.title.as_str())
}

#[derive(Debug, Default, Deserialize)]
struct QueuesQuery {
    empty: Option<String>,
    done: Option<String>,
}

async fn queues(
    State(s): State<AppState>,
    Reviewer(me): Reviewer,
    Query(q): Query<QueuesQuery>,
) -> PageResult {
    let list = store::queues(s.db(), &s.config().review).await?;
    let flash = match (&q.empty, &q.done) {
        (Some(e), _) => Some(format!(
            "Nothing left to claim in “{}”.",
            queue_title(&s, e)
        )),
        (None, Some(_)) => Some("Decision recorded.".to_string()),
        _ => None,
    };
    Ok(html(pages::queues(&me, &list, flash.as_deref())))
}

async fn login_form(jar: CookieJar, State(s): State<AppState>) -> PageResult {
    let csrf = crate::keys::random_secret(16)?;
    let jar = jar.add(auth::cookie(
        LOGIN_COOKIE,
        csrf.clone(),
        s.config().review.secure_cookies,
    ));
    let mut r = (jar, pages::login(&csrf, None)).into_response();
    no_store(&mut r);
    Ok(r)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    token: String,
}

async fn login(
    jar: CookieJar,
    State(s): State<AppState>,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> PageResult {
    let Ok(Form(f)) = form else {
        return Err(PageError::new(
            StatusCode::BAD_REQUEST,
            "the sign-in form could not be read",
            None,
        ));
    };
    let expected = jar
        .get(LOGIN_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if !auth::same_token(&expected, &f.csrf) {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "this form's security token is missing or stale: open the sign-in page again",
            None,
        ));
    }
    let tried = if f.token.trim().is_empty() {
        format!("reviewer:{}", f.name)
    } else {
        // The key's public prefix (`vty_<id>`), not the secret.
        format!("key:{}", f.token.trim().get(..16).unwrap_or_default())
    };
    if let Err(wait) = s.charge_sign_in(&tried) {
        let mut r = (
            StatusCode::TOO_MANY_REQUESTS,
            pages::login(
                &f.csrf,
                Some(&format!("Too many attempts: try again in {wait} s.")),
            ),
        )
            .into_response();
        no_store(&mut r);
        if let Ok(v) = HeaderValue::from_str(&wait.max(1).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(r);
    }
    let who = if !f.token.trim().is_empty() {
        auth::check_key(s.db(), f.token.trim()).await?
    } else if f.name.contains('\0') {
        // No name holds one (Postgres text cannot); it is a wrong name like any other.
        None
    } else {
        auth::check_password(s.db(), &f.name, &f.password).await?
    };
    let Some(p) = who else {
        s.db()
            .audit(
                "anonymous",
                "review.sign_in_failed",
                &format!("reviewer:{}", f.name),
                &serde_json::json!({"with": if f.token.is_empty() { "password" } else { "key" }}),
            )
            .await?;
        let mut r = (
            StatusCode::UNAUTHORIZED,
            pages::login(&f.csrf, Some("Wrong name, password or key.")),
        )
            .into_response();
        no_store(&mut r);
        return Ok(r);
    };
    let token = auth::open_session(s.db(), &p, s.config().review.session_ttl).await?;
    let secure = s.config().review.secure_cookies;
    let jar = jar
        .remove(auth::cookie(LOGIN_COOKIE, String::new(), secure))
        .add(auth::cookie(SESSION_COOKIE, token, secure));
    Ok((jar, Redirect::to("/review")).into_response())
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    jar: CookieJar,
    State(s): State<AppState>,
    Reviewer(me): Reviewer,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&me, &f.csrf)?;
    if let Some(c) = jar.get(SESSION_COOKIE) {
        auth::close_session(s.db(), c.value()).await?;
    }
    s.db()
        .audit(&me.who, "review.sign_out", &me.who, &serde_json::json!({}))
        .await?;
    let jar = jar.remove(auth::cookie(
        SESSION_COOKIE,
        String::new(),
        s.config().review.secure_cookies,
    ));
    Ok((jar, Redirect::to("/review/login")).into_response())
}

fn lease_ms(s: &AppState) -> i64 {
    i64::try_from(s.config().review.claim_lease.as_millis()).unwrap_or(i64::MAX)
}

/// Claims the next item of `queue` for `me` and sends the browser to it.
async fn claim_and_go(s: &AppState, me: &Session, queue: &str) -> PageResult {
    let known =
        queue == ESCALATED_QUEUE || s.config().review.queues.iter().any(|q| q.name == queue);
    if !known {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            format!("no queue `{queue}`"),
            Some(me),
        ));
    }
    if queue == ESCALATED_QUEUE && !me.role.leads() {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "escalated items are for leads and admins",
            Some(me),
        ));
    }
    match store::claim_next(s.db(), queue, &me.who, lease_ms(s)).await? {
        Some(id) => Ok(Redirect::to(&format!("/review/items/{id}")).into_response()),
        None => Ok(Redirect::to(&format!("/review?empty={queue}")).into_response()),
    }
}

async fn start(
    State(s): State<AppState>,
    Reviewer(me): Reviewer,
    Path(queue): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&me, &f.csrf)?;
    claim_and_go(&s, &me, &queue).await
}

async fn load(s: &AppState, me: &Session, id: &str) -> Result<store::Item, PageError> {
    store::item(s.db(), id)
        .await?
        .ok_or_else(|| PageError::new(StatusCode::NOT_FOUND, format!("no item `{id}`"), Some(me)))
}

/// An item this reviewer may see: any, but escalated ones only for leads and admins.
async fn visible(s: &AppState, me: &Session, id: &str) -> Result<store::Item, PageError> {
    let it = load(s, me, id).await?;
    if it.queue == ESCALATED_QUEUE && !me.role.leads() {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "escalated items are for leads and admins",
            Some(me),
        ));
    }
    Ok(it)
}

async fn item_page(s: &AppState, me: &Session, id: &str, error: Option<&str>) -> PageResult {
    let it = visible(s, me, id).await?;
    let history = store::history(s.db(), &it).await?;
    let audit = store::audit_for_item(s.db(), &it).await?;
    let view = pages::ItemView {
        session: me,
        item: &it,
        held: store::holds(&it, &me.who),
        history: &history,
        audit: &audit,
        actions: &s.config().review.actions,
        queue_title: queue_title(s, &it.queue),
        error,
    };
    let mut r = html(pages::item(&view));
    if error.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

async fn item(
    State(s): State<AppState>,
    Reviewer(me): Reviewer,
    Path(id): Path<String>,
) -> PageResult {
    item_page(&s, &me, &id, None).await
}

async fn video(
    State(s): State<AppState>,
    Reviewer(me): Reviewer,
    Path(id): Path<String>,
    req: Request,
) -> PageResult {
    let it = visible(&s, &me, &id).await?;
    let Some(key) = it.video.filter(|k| k.starts_with(store::VIDEO_PREFIX)) else {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            "this item's video is not kept",
            Some(&me),
        ));
    };
    // The type comes from the kept name (`video.<known container>`), never from the client,
    // and the browser is told not to guess another or run anything it finds.
    let kind = store::video_type(std::path::Path::new(&key));
    // A range this server does not serve (another unit, several ranges) is ignored, as RFC
    // 9110 allows: the whole video is sent.
    let wanted = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_range);
    // The size first, to resolve an open or suffix range against it.
    let size = s.storage().size(&key).await.map_err(|e| {
        tracing::warn!(key = %key, error = %crate::error_chain(&e), "a kept video could not be read");
        PageError::new(StatusCode::NOT_FOUND, "this item's video could not be read", Some(&me))
    })?;
    let range = match wanted.map(|w| w.resolve(size)) {
        None => None,
        Some(Some(r)) => Some(r),
        Some(None) => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(protect_video(r));
        }
    };
    let (body, served) = if size == 0 {
        (axum::body::Body::empty(), 0..0)
    } else {
        let (stream, _, served) = s
            .storage()
            .get_range(&key, Some(range.clone().unwrap_or(0..size)))
            .await
            .map_err(|e| {
                tracing::warn!(key = %key, error = %crate::error_chain(&e), "a kept video could not be read");
                PageError::new(StatusCode::NOT_FOUND, "this item's video could not be read", Some(&me))
            })?;
        (axum::body::Body::from_stream(stream), served)
    };
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&(served.end - served.start).to_string()) {
        h.insert(header::CONTENT_LENGTH, v);
    }
    if range.is_some() {
        *r.status_mut() = StatusCode::PARTIAL_CONTENT;
        let cr = format!(
            "bytes {}-{}/{size}",
            served.start,
            served.end.saturating_sub(1)
        );
        if let Ok(v) = HeaderValue::from_str(&cr) {
            r.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(protect_video(r))
}

/// A kept video's answer is never cached, sniffed or run.
fn protect_video(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    r
}

/// One byte range as a `Range` header asks it (`bytes=a-b`, `bytes=a-` or `bytes=-n`); a list
/// of ranges, or anything else, is `None` (the header is then ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ByteRange {
    From(u64, Option<u64>),
    Last(u64),
}

fn parse_range(v: &str) -> Option<ByteRange> {
    let spec = v.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        return b.parse().ok().filter(|&n| n > 0).map(ByteRange::Last);
    }
    let start = a.parse().ok()?;
    let end = if b.is_empty() {
        None
    } else {
        Some(b.parse().ok()?)
    };
    if end.is_some_and(|e| e < start) {
        return None;
    }
    Some(ByteRange::From(start, end))
}

impl ByteRange {
    /// The half-open range it names in an object of `size` bytes; `None` when it is past the end.
    fn resolve(self, size: u64) -> Option<std::ops::Range<u64>> {
        match self {
            ByteRange::From(start, _) if start >= size => None,
            ByteRange::From(start, end) => {
                Some(start..end.map_or(size, |e| e.saturating_add(1).min(size)))
            }
            ByteRange::Last(_) if size == 0 => None,
            ByteRange::Last(n) => Some(size.saturating_sub(n)..size),
        }
    }
}

#[derive(Deserialize)]
struct DecideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    next: String,
}

async fn decide(
    State(s): State<AppState>,
    Reviewer(me): Reviewer,
    Path(id): Path<String>,
    Form(f): Form<DecideForm>,
) -> PageResult {
    check_csrf(&me, &f.csrf)?;
    let allowed = ["approve", "remove", "escalate"].contains(&f.action.as_str())
        || s.config().review.actions.contains(&f.action);
    if !allowed {
        return item_page(&s, &me, &id, Some("Choose one of the decisions.")).await;
    }
    let note = db::text(f.note.trim()).into_owned();
    let note = note.as_str();
    if note.is_empty() {
        return item_page(&s, &me, &id, Some("A decision needs a note.")).await;
    }
    if note.chars().count() > 4000 {
        return item_page(&s, &me, &id, Some("A note has at most 4,000 characters.")).await;
    }
    let it = load(&s, &me, &id).await?;
    match store::decide(s.db(), &id, &me.who, &f.action, note).await? {
        store::Decided::NotHeld => {
            return item_page(
                &s,
                &me,
                &id,
                Some("You do not hold this item (your claim ran out, or it was decided): start reviewing again."),
            )
            .await;
        }
        store::Decided::Closed { video } => {
            if let Some(key) = video {
                crate::orphans::remove(s.db(), s.storage(), &key).await;
            }
        }
        store::Decided::Escalated => {}
    }
    if f.next == "1" {
        claim_and_go(&s, &me, &it.queue).await
    } else {
        Ok(Redirect::to("/review?done=1").into_response())
    }
}

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    blur: String,
}

async fn settings(
    State(s): State<AppState>,
    Reviewer(me): Reviewer,
    Form(f): Form<SettingsForm>,
) -> PageResult {
    check_csrf(&me, &f.csrf)?;
    let Some(id) = &me.reviewer_id else {
        return Err(PageError::new(
            StatusCode::BAD_REQUEST,
            "a session opened with an API key has no settings",
            Some(&me),
        ));
    };
    auth::set_blur(s.db(), id, f.blur == "1").await?;
    Ok(Redirect::to("/review").into_response())
}

#[derive(Debug, Default, Deserialize)]
struct AuditQuery {
    who: Option<String>,
}

async fn audit(
    State(s): State<AppState>,
    Reviewer(me): Reviewer,
    Query(q): Query<AuditQuery>,
) -> PageResult {
    let who = match q.who {
        Some(w) if w != me.who && !me.role.leads() => {
            return Err(PageError::new(
                StatusCode::FORBIDDEN,
                "only leads and admins read another reviewer's log",
                Some(&me),
            ));
        }
        Some(w) => w,
        None => me.who.clone(),
    };
    let entries = store::audit_for_actor(s.db(), &who).await?;
    let actors = if me.role.leads() {
        store::actors(s.db()).await?
    } else {
        Vec::new()
    };
    Ok(html(pages::audit(&me, &who, &actors, &entries)))
}

#[derive(Debug, Default, Deserialize)]
struct ExportQuery {
    since: Option<String>,
    until: Option<String>,
    format: Option<String>,
}

async fn export(
    State(s): State<AppState>,
    Reviewer(me): Reviewer,
    Query(q): Query<ExportQuery>,
) -> PageResult {
    if !me.role.leads() {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "only leads and admins export decisions",
            Some(&me),
        ));
    }
    let time = |v: &Option<String>, default: i64| -> Result<i64, PageError> {
        match v.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(default),
            Some(t) => crate::db::parse_rfc3339(t).ok_or_else(|| {
                PageError::new(
                    StatusCode::BAD_REQUEST,
                    format!("`{t}` is not an RFC 3339 time (such as 2026-12-01T00:00:00Z)"),
                    Some(&me),
                )
            }),
        }
    };
    let since = time(&q.since, 0)?;
    let until = time(&q.until, i64::MAX)?;
    let rows = store::decisions_between(s.db(), since, until, 100_000).await?;
    s.db()
        .audit(
            &me.who,
            "review.export",
            "decisions",
            &serde_json::json!({"since": since, "until": until, "rows": rows.len()}),
        )
        .await?;
    let (body, kind, ext) = match q.format.as_deref().unwrap_or("csv") {
        "json" => (
            serde_json::to_string_pretty(&rows).unwrap_or_default(),
            "application/json",
            "json",
        ),
        "csv" => (csv(&rows), "text/csv; charset=utf-8", "csv"),
        other => {
            return Err(PageError::new(
                StatusCode::BAD_REQUEST,
                format!("format `{other}`: expected csv or json"),
                Some(&me),
            ));
        }
    };
    let mut r = (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"verity-decisions.{ext}\""),
            ),
        ],
        body,
    )
        .into_response();
    no_store(&mut r);
    Ok(r)
}

/// RFC 4180 CSV; a field that a spreadsheet would run as a formula is prefixed with `'`.
fn csv(rows: &[store::Decision]) -> String {
    fn cell(v: &str) -> String {
        let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{v}")
        } else {
            v.to_string()
        };
        if v.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", v.replace('"', "\"\""))
        } else {
            v
        }
    }
    let mut out = String::from(
        "at,item_id,job_id,file_name,file_sha256,payload,verdict,queue,who,action,note\r\n",
    );
    for d in rows {
        let fields = [
            d.at.as_str(),
            &d.item_id,
            &d.job_id,
            &d.file_name,
            d.file_sha256.as_deref().unwrap_or(""),
            d.payload.as_deref().unwrap_or(""),
            &d.verdict,
            &d.queue,
            &d.who,
            &d.action,
            &d.note,
        ];
        out.push_str(&fields.map(cell).join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_resolve_or_are_refused() {
        assert_eq!(
            parse_range("bytes=0-99"),
            Some(ByteRange::From(0, Some(99)))
        );
        assert_eq!(parse_range("bytes=100-"), Some(ByteRange::From(100, None)));
        assert_eq!(parse_range("bytes=-500"), Some(ByteRange::Last(500)));
        for bad in [
            "bytes=5-1",
            "bytes=0-1,4-5",
            "items=0-1",
            "bytes=x-",
            "bytes=-0",
            "bytes=-",
        ] {
            assert_eq!(parse_range(bad), None, "{bad}");
        }
        assert_eq!(ByteRange::From(0, Some(99)).resolve(50), Some(0..50));
        assert_eq!(ByteRange::From(10, None).resolve(50), Some(10..50));
        assert_eq!(ByteRange::From(50, None).resolve(50), None);
        assert_eq!(ByteRange::Last(500).resolve(50), Some(0..50));
        assert_eq!(ByteRange::Last(5).resolve(50), Some(45..50));
        assert_eq!(ByteRange::Last(5).resolve(0), None);
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let d = store::Decision {
            item_id: "item_1".into(),
            job_id: "job_1".into(),
            file_name: "a,b.mp4".into(),
            file_sha256: None,
            payload: None,
            verdict: "no-evidence".into(),
            queue: "q".into(),
            who: "reviewer:ann".into(),
            action: "remove".into(),
            note: "=HYPERLINK(\"x\")\nsecond line".into(),
            at: "2026-12-04T00:00:00Z".into(),
        };
        let out = csv(&[d]);
        let line = out.lines().nth(1).unwrap_or_default();
        assert!(line.contains("\"a,b.mp4\""), "{out}");
        assert!(
            out.contains("\"'=HYPERLINK(\"\"x\"\")\nsecond line\""),
            "{out}"
        );
    }
}
