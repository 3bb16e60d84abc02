//! The review queue through the router (no socket): routing when jobs end, sign-in with its
//! CSRF cookie, claims that two reviewers never share (and that pass on when the lease runs
//! out), decisions with a required note, escalation, roles, the audit log, the export, the
//! kept video, and escaping of whatever a report holds.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod app;

use std::collections::BTreeMap;

use app::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use verity_service::config::QueuePolicy;
use verity_service::keys;
use verity_service::review::auth::{self, Role};

/// A browser's cookie jar over the router.
struct Browser<'a> {
    app: &'a App,
    cookies: BTreeMap<String, String>,
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    set_cookies: Vec<String>,
    body: String,
    /// The body's length in bytes.
    len: usize,
}

impl<'a> Browser<'a> {
    fn new(app: &'a App) -> Self {
        Browser {
            app,
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, mut req: Request<Body>) -> Page {
        if !self.cookies.is_empty() {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req.headers_mut()
                .insert(header::COOKIE, c.join("; ").parse().unwrap());
        }
        let (status, headers, body) = self.app.send(req).await;
        let set_cookies: Vec<String> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() || c.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        Page {
            status,
            location: headers
                .get(header::LOCATION)
                .map(|v| v.to_str().unwrap().to_string()),
            set_cookies,
            len: body.len(),
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn get(&mut self, uri: &str) -> Page {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    async fn post(&mut self, uri: &str, form: &[(&str, &str)]) -> Page {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect();
        self.send(
            Request::post(uri)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body.join("&")))
                .unwrap(),
        )
        .await
    }

    async fn sign_in(&mut self, name: &str, password: &str) -> Page {
        let form = self.get("/review/login").await;
        let csrf = csrf_of(&form.body);
        self.post(
            "/review/login",
            &[("csrf", &csrf), ("name", name), ("password", password)],
        )
        .await
    }

    /// The CSRF token of the page at `uri`.
    async fn csrf(&mut self, uri: &str) -> String {
        let p = self.get(uri).await;
        assert_eq!(p.status, StatusCode::OK, "{uri}: {}", p.body);
        csrf_of(&p.body)
    }
}

fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn csrf_of(html: &str) -> String {
    let at = html
        .find(r#"name="csrf" value=""#)
        .unwrap_or_else(|| panic!("no csrf field in {html}"));
    let rest = &html[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

const PASSWORD: &str = "correct horse battery";

async fn reviewers(app: &App) {
    for (name, role) in [
        ("ann", Role::Reviewer),
        ("bob", Role::Reviewer),
        ("lea", Role::Lead),
    ] {
        auth::add_reviewer(app.state.db(), name, role, PASSWORD)
            .await
            .unwrap();
    }
}

fn policy(c: &mut verity_service::ServiceConfig) {
    c.review.queues = vec![
        QueuePolicy {
            name: "signed".into(),
            title: "Signed clips".into(),
            verdicts: vec!["signed-other-origin".into()],
            c2pa_states: vec![],
            recovered_via_watermark: None,
            min_score: None,
            auto_close_below: None,
        },
        QueuePolicy {
            name: "quiet".into(),
            title: "Nothing found".into(),
            verdicts: vec!["no-evidence".into()],
            c2pa_states: vec![],
            recovered_via_watermark: None,
            min_score: None,
            auto_close_below: Some(1.0),
        },
    ];
}

/// Signs a clip through the service, then submits it as jobs named `names`, and runs them.
async fn signed_jobs(app: &App, names: &[&str]) -> Vec<String> {
    let clip = std::fs::read(app.clip("clip.mp4")).unwrap();
    let (s, _, signed) = app
        .send(
            Request::post("/v1/sign?filename=clip.mp4")
                .header(header::AUTHORIZATION, format!("Bearer {}", app.admin))
                .body(Body::from(clip.clone()))
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut ids = Vec::new();
    for name in names {
        let (s, v) = app
            .json(multipart(
                "/v1/jobs",
                &app.admin,
                &[("file", Some(name), signed.clone())],
                &[],
            ))
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    // And one unsigned clip, which the policy closes by itself.
    let (_, v) = app
        .json(multipart(
            "/v1/jobs",
            &app.admin,
            &[("file", Some("plain.mp4"), clip)],
            &[],
        ))
        .await;
    ids.push(v["id"].as_str().unwrap().to_string());
    let stop = app.workers();
    for id in &ids {
        let done = app.wait_job(&app.admin, id).await;
        assert_eq!(done["status"], "succeeded", "{done}");
    }
    drop(stop);
    ids
}

#[tokio::test]
async fn sign_in_needs_the_form_token_and_a_right_password_and_sets_a_strict_cookie() {
    let app = App::new(policy).await;
    reviewers(&app).await;
    let mut b = Browser::new(&app);
    let p = b.get("/review").await;
    assert_eq!(
        (p.status, p.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/review/login"))
    );
    // A form posted without its token is refused, even with the right password.
    let p = b
        .post("/review/login", &[("name", "ann"), ("password", PASSWORD)])
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.body);
    let p = b.sign_in("ann", "wrong password!").await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    assert!(p.body.contains("Wrong name, password or key."));
    let p = b.sign_in("nobody", PASSWORD).await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    let p = b.sign_in("ann", PASSWORD).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let session = p
        .set_cookies
        .iter()
        .find(|c| c.starts_with(&format!("{}=", auth::SESSION_COOKIE)))
        .unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/review"] {
        assert!(session.contains(attr), "{session}");
    }
    assert!(!session.contains("Secure"), "not over TLS here: {session}");
    let p = b.get("/review").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("ann (reviewer)"));
    // An admin API key signs in too, as an admin, until it is revoked; an integration's key
    // (which would see every key's jobs here) does not.
    let jobs_key = app.key("integration", keys::Scope::Jobs).await;
    let mut k = Browser::new(&app);
    let form = k.get("/review/login").await;
    let csrf = csrf_of(&form.body);
    let p = k
        .post("/review/login", &[("csrf", &csrf), ("token", &jobs_key)])
        .await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    let p = k
        .post("/review/login", &[("csrf", &csrf), ("token", &app.admin)])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(k.get("/review").await.body.contains("admin (admin)"));
    keys::revoke(app.state.db(), "admin").await.unwrap();
    assert_eq!(k.get("/review").await.status, StatusCode::SEE_OTHER);
    // Signing out needs the token too; then the session is gone.
    let p = b.post("/review/logout", &[]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let csrf = b.csrf("/review").await;
    let p = b.post("/review/logout", &[("csrf", &csrf)]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/review").await.status, StatusCode::SEE_OTHER);
    // Secure cookies when configured.
    let tls = App::new(|c| c.review.secure_cookies = true).await;
    let mut t = Browser::new(&tls);
    let form = t.get("/review/login").await;
    assert!(form.set_cookies.iter().all(|c| c.contains("Secure")));
}

#[tokio::test]
async fn guessing_a_password_is_bounded_per_name() {
    let app = App::new(|c| c.review.sign_ins_per_minute = 2).await;
    reviewers(&app).await;
    let mut b = Browser::new(&app);
    for _ in 0..2 {
        assert_eq!(
            b.sign_in("ann", "guess").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // The third try in the minute is refused before the password is looked at, the right
    // one included; another name is not held up.
    let p = b.sign_in("ann", PASSWORD).await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS, "{}", p.body);
    assert!(p.body.contains("Too many attempts"));
    assert_eq!(
        b.sign_in("bob", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn routed_items_are_claimed_once_decided_with_a_note_escalated_and_audited() {
    let app = App::new(policy).await;
    reviewers(&app).await;
    signed_jobs(&app, &["first.mp4", "second.mp4"]).await;
    let mut ann = Browser::new(&app);
    let mut bob = Browser::new(&app);
    let mut lea = Browser::new(&app);
    ann.sign_in("ann", PASSWORD).await;
    bob.sign_in("bob", PASSWORD).await;
    lea.sign_in("lea", PASSWORD).await;
    // The queue page: two signed clips open; the unsigned one was closed by the policy.
    let page = ann.get("/review").await;
    assert!(page.body.contains(r#"data-queue="signed""#));
    let row = &page.body[page.body.find(r#"data-queue="signed""#).unwrap()..];
    assert!(row.contains(r#"<td class="count">2</td>"#), "{row}");
    let auto: (String, Option<String>) =
        verity_service::with_pool!(app.state.db(), |p| sqlx::query_as(
            "SELECT status, decision FROM review_items WHERE queue = 'quiet'"
        )
        .fetch_one(p)
        .await)
        .unwrap();
    assert_eq!(auto, ("closed".into(), Some("auto-closed".into())));
    // Claims: each reviewer gets their own item; asking again gives the same one back; a
    // third finds nothing to claim while both claims run.
    let csrf = ann.csrf("/review").await;
    assert_eq!(
        ann.post("/review/queues/signed/start", &[]).await.status,
        StatusCode::FORBIDDEN,
        "no token"
    );
    let a = ann
        .post("/review/queues/signed/start", &[("csrf", &csrf)])
        .await
        .location
        .unwrap();
    let bob_csrf = bob.csrf("/review").await;
    let b = bob
        .post("/review/queues/signed/start", &[("csrf", &bob_csrf)])
        .await
        .location
        .unwrap();
    assert!(a.starts_with("/review/items/") && b.starts_with("/review/items/"));
    assert_ne!(a, b, "two reviewers never hold the same item");
    let again = bob
        .post("/review/queues/signed/start", &[("csrf", &bob_csrf)])
        .await
        .location
        .unwrap();
    assert_eq!(again, b);
    let lea_csrf = lea.csrf("/review").await;
    let none = lea
        .post("/review/queues/signed/start", &[("csrf", &lea_csrf)])
        .await;
    assert_eq!(none.location.as_deref(), Some("/review?empty=signed"));
    // The item page: the video (blurred until clicked), the evidence, the decision form.
    let page = ann.get(&a).await;
    assert_eq!(page.status, StatusCode::OK);
    for part in [
        r#"<video id="video""#,
        r#"class="player blur""#,
        "Verdict: signed-other-origin",
        "Service Test",
        r#"name="note""#,
        "Decide and next",
    ] {
        assert!(page.body.contains(part), "{part} in {}", page.body);
    }
    let video = format!("{a}/video");
    let v = ann
        .send(
            Request::get(&video)
                .header(header::RANGE, "bytes=0-99")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(v.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(v.len, 100);
    // Past the end: 416 with the size; a range of another unit is ignored (the whole video).
    let past = ann
        .send(
            Request::get(&video)
                .header(header::RANGE, "bytes=999999999-")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(past.status, StatusCode::RANGE_NOT_SATISFIABLE);
    let whole = ann
        .send(
            Request::get(&video)
                .header(header::RANGE, "items=0-1")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(whole.status, StatusCode::OK);
    assert!(whole.len > 100, "{}", whole.len);
    // Kept under a name of the service's choosing, served with its type and no sniffing.
    let kept: String = verity_service::with_pool!(app.state.db(), |p| sqlx::query_scalar(
        "SELECT video_path FROM review_items WHERE id = $1"
    )
    .bind(a.trim_start_matches("/review/items/"))
    .fetch_one(p)
    .await)
    .unwrap();
    assert!(kept.ends_with("/video.mp4"), "{kept}");
    let stored = app.state.config().data.join("store").join(&kept);
    assert!(stored.is_file(), "{}", stored.display());
    let (_, headers, _) = app
        .send(
            Request::get(&video)
                .header(header::COOKIE, ann.cookie_header())
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(headers[header::CONTENT_TYPE], "video/mp4");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    // Decisions: a token, a known action and a note are required; only the holder decides.
    let decide = format!("{a}/decide");
    let csrf = csrf_of(&page.body);
    let p = ann
        .post(&decide, &[("action", "approve"), ("note", "fine")])
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = ann
        .post(
            &decide,
            &[("csrf", &csrf), ("action", "approve"), ("note", "  ")],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("A decision needs a note."));
    let p = ann
        .post(
            &decide,
            &[("csrf", &csrf), ("action", "delete-all"), ("note", "x")],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    let p = bob
        .post(
            &decide,
            &[
                ("csrf", &bob_csrf),
                ("action", "remove"),
                ("note", "mine now"),
            ],
        )
        .await;
    assert!(p.body.contains("You do not hold this item"), "{}", p.body);
    let p = ann
        .post(
            &decide,
            &[
                ("csrf", &csrf),
                ("action", "approve"),
                ("note", "signed by us; fine"),
            ],
        )
        .await;
    assert_eq!(p.location.as_deref(), Some("/review?done=1"));
    // Closed: the kept video is gone, its folder too, and nothing is left to sweep.
    assert_eq!(ann.get(&video).await.status, StatusCode::NOT_FOUND);
    assert!(!stored.parent().unwrap().exists(), "{}", stored.display());
    assert_eq!(app.orphan_rows().await, 0);
    // The other item is the same file: its page shows ann's decision.
    let page = bob.get(&b).await;
    assert!(page.body.contains("signed by us; fine"), "{}", page.body);
    // Bob escalates; a reviewer cannot take escalated items, a lead can.
    let p = bob
        .post(
            &format!("{b}/decide"),
            &[
                ("csrf", &bob_csrf),
                ("action", "escalate"),
                ("note", "not sure"),
                ("next", "1"),
            ],
        )
        .await;
    assert_eq!(p.location.as_deref(), Some("/review?empty=signed"));
    let p = ann
        .post("/review/queues/escalated/start", &[("csrf", &csrf)])
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(
        ann.get(&b).await.status,
        StatusCode::FORBIDDEN,
        "escalated: leads only"
    );
    let p = lea
        .post("/review/queues/escalated/start", &[("csrf", &lea_csrf)])
        .await;
    assert_eq!(p.location.as_deref(), Some(b.as_str()));
    // Another lead (an admin key's session) finds nothing while Lea's claim runs; once its
    // lease has run out (set in the past here rather than waited for), the item passes on.
    let mut admin = Browser::new(&app);
    let form = admin.get("/review/login").await;
    let t = csrf_of(&form.body);
    admin
        .post("/review/login", &[("csrf", &t), ("token", &app.admin)])
        .await;
    let admin_csrf = admin.csrf("/review").await;
    let p = admin
        .post("/review/queues/escalated/start", &[("csrf", &admin_csrf)])
        .await;
    assert_eq!(p.location.as_deref(), Some("/review?empty=escalated"));
    verity_service::with_pool!(app.state.db(), |p| sqlx::query(
        "UPDATE review_items SET claim_until = 0 WHERE queue = 'escalated'"
    )
    .execute(p)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    let p = admin
        .post("/review/queues/escalated/start", &[("csrf", &admin_csrf)])
        .await;
    assert_eq!(p.location.as_deref(), Some(b.as_str()));
    let p = lea
        .post(
            &format!("{b}/decide"),
            &[
                ("csrf", &lea_csrf),
                ("action", "remove"),
                ("note", "too late"),
            ],
        )
        .await;
    assert!(
        p.body.contains("You do not hold this item"),
        "lea's claim ran out"
    );
    // The audit log: per item and per reviewer; only leads read another's.
    let page = lea.get(&b).await;
    for part in [
        "review.routed",
        "review.claimed",
        "review.decided",
        "reviewer:bob",
        "not sure",
    ] {
        assert!(page.body.contains(part), "{part}");
    }
    let mine = ann.get("/review/audit").await;
    assert!(mine.body.contains("review.decided") && mine.body.contains("signed by us; fine"));
    assert_eq!(
        ann.get("/review/audit?who=reviewer:bob").await.status,
        StatusCode::FORBIDDEN
    );
    let bobs = lea.get("/review/audit?who=reviewer:bob").await;
    assert!(bobs.body.contains("escalate"), "{}", bobs.body);
    // The export: leads only; CSV and JSON, the policy's automatic closing included.
    assert_eq!(
        ann.get("/review/export").await.status,
        StatusCode::FORBIDDEN
    );
    let csv = lea.get("/review/export?format=csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert!(lines[0].starts_with("at,item_id,job_id,file_name"));
    assert_eq!(
        lines.len(),
        4,
        "auto-closed, approve, escalate: {}",
        csv.body
    );
    let json = lea
        .get("/review/export?format=json&since=2000-01-01T00:00:00Z")
        .await;
    let rows: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    let actions: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["auto-closed", "approve", "escalate"]);
    let p = lea.get("/review/export?since=yesterday").await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn whatever_a_report_holds_is_shown_as_text() {
    let app = App::new(policy).await;
    reviewers(&app).await;
    let hostile = "<script>alert(1)</script>";
    let report = serde_json::json!({
        "verdict": {"label": "tampered", "summary": format!("<b>{hostile}</b>"), "evidence": [hostile]},
        "c2pa": {"state": "invalid", "title": hostile, "claim_generator": "<img src=x onerror=alert(2)>",
                 "signer": {"common_name": "\"><svg onload=alert(3)>", "issuer": "x"},
                 "actions": [{"action": hostile}], "ingredients": [{"title": hostile, "relationship": "parentOf"}]},
        "watermark": {"found": true, "payload": "</code><script>alert(4)</script>"},
        "classifier": {"status": "scored", "synthetic_probability": 0.9, "model": hostile,
                       "segments": [{"start_s": 0.0, "end_s": 2.0, "score": 0.9}],
                       "operating_point": {"threshold": 0.8}}
    });
    verity_service::with_pool!(app.state.db(), |p| sqlx::query(
        "INSERT INTO review_items (id, job_id, queue, status, file_name, verdict, report, created_at,
            claimed_by, claim_until)
         VALUES ('item_x', 'job_x', 'signed', 'open', $1, 'tampered', $2, 0, 'reviewer:ann', $3)",
    )
    .bind(format!("{hostile}.mp4"))
    .bind(report.to_string())
    .bind(i64::MAX)
    .execute(p).await.map(|r| r.rows_affected()))
    .unwrap();
    let mut ann = Browser::new(&app);
    ann.sign_in("ann", PASSWORD).await;
    let page = ann.get("/review/items/item_x").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(!page.body.contains("<img src=x"));
    assert!(!page.body.contains("<svg onload"));
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // And the page says so to the browser: no script may run on it at all.
    let (_, headers, _) = app
        .send(
            Request::get("/review/items/item_x")
                .header(
                    header::COOKIE,
                    ann.cookies
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join("; "),
                )
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let csp = headers
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
}

#[tokio::test]
async fn a_bad_policy_is_refused_at_start() {
    let mut c = verity_service::config::ReviewSettings::default();
    c.queues[1].name = c.queues[0].name.clone();
    assert!(c.check().unwrap_err().contains("named twice"));
    let mut c = verity_service::config::ReviewSettings::default();
    c.queues[0].auto_close_below = Some(1.5);
    assert!(c.check().is_err());
    let mut c = verity_service::config::ReviewSettings {
        actions: vec!["approve".into()],
        ..Default::default()
    };
    assert!(c.check().is_err());
    c.actions = vec!["label-ai".into()];
    assert!(c.check().is_ok());
}
