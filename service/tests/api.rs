//! Every endpoint and its errors through the router, with `oneshot` and no socket (the webhook
//! receiver is the one socket: a real HTTP server on loopback that checks signatures).

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod app;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::media as common;
use app::*;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::Value;
use verity_service::keys;

#[tokio::test]
async fn health_ready_metrics_and_the_openapi_document() {
    let app = App::new(|_| {}).await;
    let (s, _, b) = app.send(get("/healthz", None)).await;
    assert_eq!((s, b.as_slice()), (StatusCode::OK, b"ok\n".as_slice()));
    let (s, _, _) = app.send(get("/readyz", None)).await;
    assert_eq!(s, StatusCode::OK);
    // An encoded NUL: no resource has one in its name; a query with one is refused. The same
    // on SQLite and Postgres (whose text cannot hold it).
    let (s, v) = app.json(get("/v1/jobs/job_%00", Some(&app.admin))).await;
    assert_eq!((s, error_code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, v) = app.json(get("/v1/jobs?after=a%00", Some(&app.admin))).await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    // Metrics need an admin key.
    let (s, v) = app.json(get("/metrics", None)).await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let (s, _, b) = app.send(get("/metrics", Some(&app.admin))).await;
    assert_eq!(s, StatusCode::OK);
    let text = String::from_utf8(b).unwrap();
    assert!(text.contains("verity_jobs{state=\"queued\"} 0"), "{text}");
    assert!(text.contains("verity_queue_depth 0"), "{text}");
    assert!(text.contains("verity_store_deletes_due 0"), "{text}");
    // The OpenAPI document is 3.1 and names every endpoint.
    let (s, doc) = app.json(get("/v1/openapi.json", None)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for p in [
        "/v1/verify",
        "/v1/jobs",
        "/v1/jobs/{id}",
        "/v1/sign",
        "/v1/matches/byBinding",
        "/v1/matches/byContent",
        "/v1/manifests/{manifestId}",
        "/v1/services/supportedAlgorithms",
        "/.well-known/c2pa-soft-binding-resolution",
        "/v1/services/capabilities",
        "/v1/services/status",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(
            doc["paths"][p].is_object(),
            "{p} missing from the OpenAPI document"
        );
    }
    // An unknown path is a JSON 404.
    let (s, v) = app.json(get("/v2/nothing", None)).await;
    assert_eq!((s, error_code(&v)), (StatusCode::NOT_FOUND, "not_found"));
}

#[tokio::test]
async fn keys_are_checked_scoped_and_revocable() {
    let app = App::new(|_| {}).await;
    let clip = app.clip("c.mp4");
    // A second key of the same name is refused by name, not with the database's words.
    let taken = keys::create(app.state.db(), "admin", keys::Scope::Verify)
        .await
        .unwrap_err()
        .to_string();
    assert!(taken.contains("named `admin` exists already"), "{taken}");
    // No key, a malformed header, an unknown token.
    let (s, v) = app.json(post_file("/v1/verify", None, &clip)).await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let req = Request::post("/v1/verify")
        .header(header::AUTHORIZATION, "Basic Zm9vOmJhcg==")
        .body(Body::empty())
        .unwrap();
    let (s, _) = app.json(req).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = app
        .json(post_file(
            "/v1/verify",
            Some("vty_000000000000_0000"),
            &clip,
        ))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    // A sign key may not verify; a verify key may not sign or use jobs.
    let signer = app.key("signer", keys::Scope::Sign).await;
    let (s, v) = app
        .json(post_file("/v1/verify", Some(&signer), &clip))
        .await;
    assert_eq!((s, error_code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let verifier = app.key("verifier", keys::Scope::Verify).await;
    let (s, _) = app
        .json(post_file("/v1/sign", Some(&verifier), &clip))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.json(get("/v1/jobs", Some(&verifier))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The database (key hashes, webhook secrets) is the owner's alone (a SQLite file here; a
    // Postgres server's files are its own).
    if !app.state.db().is_postgres() {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(app.state.config().db_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Only the hash is stored; a revoked key is refused.
    let stored: Vec<Vec<u8>> = verity_service::with_pool!(app.state.db(), |p| sqlx::query_scalar(
        "SELECT hash FROM api_keys"
    )
    .fetch_all(p)
    .await)
    .unwrap();
    assert!(stored.iter().all(|h| h.len() == 32));
    let n: i64 = verity_service::with_pool!(app.state.db(), |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM api_keys WHERE hash = $1"
    )
    .bind(verifier.as_bytes())
    .fetch_one(p)
    .await)
    .unwrap();
    assert_eq!(n, 0);
    keys::revoke(app.state.db(), "verifier").await.unwrap();
    let (s, v) = app
        .json(post_file("/v1/verify", Some(&verifier), &clip))
        .await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::UNAUTHORIZED, "unauthorized"),
        "{v}"
    );
    // Key operations are in the audit log, and the log refuses edits.
    let actions: Vec<String> = verity_service::with_pool!(app.state.db(), |p| sqlx::query_scalar(
        "SELECT action FROM audit ORDER BY seq"
    )
    .fetch_all(p)
    .await)
    .unwrap();
    assert!(
        actions.contains(&"key.create".to_string()) && actions.contains(&"key.revoke".to_string()),
        "{actions:?}"
    );
    assert!(
        verity_service::with_pool!(app.state.db(), |p| sqlx::query("DELETE FROM audit")
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .is_err()
    );
}

#[tokio::test]
async fn sync_verify_answers_the_cli_report() {
    let app = App::new(|_| {}).await;
    let clip = app.clip("clip.mp4");
    let (s, v) = app
        .json(post_file(
            "/v1/verify?filename=clip.mp4",
            Some(&app.admin),
            &clip,
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The library call the CLI makes, on the same file with the same options.
    let lib = verity_detect::verify(&clip, &app.state.verify_options()).unwrap();
    // Through JSON text, as the CLI prints it (f32 fields read back as they were written).
    let mut lib: Value = serde_json::from_str(&serde_json::to_string(&lib).unwrap()).unwrap();
    let mut svc = v.clone();
    for r in [&mut lib, &mut svc] {
        r.as_object_mut().unwrap().remove("timings_ms");
    }
    assert_eq!(svc, lib);
    assert_eq!(v["file"]["name"], "clip.mp4");
    assert_eq!(v["verdict"]["label"], "no-evidence");
    // A multipart upload gives the same report.
    let bytes = std::fs::read(&clip).unwrap();
    let (s, m) = app
        .json(multipart(
            "/v1/verify",
            &app.admin,
            &[("file", Some("clip.mp4"), bytes)],
            &[],
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(m["file"]["sha256"], v["file"]["sha256"]);
    // Nothing is left in the uploads folder.
    let left: Vec<_> = std::fs::read_dir(app.state.config().uploads_dir())
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn bad_uploads_get_clear_errors() {
    let app = App::new(|c| c.limits.max_upload_bytes = 10_000).await;
    let clip = app.clip("clip.mp4");
    assert!(std::fs::metadata(&clip).unwrap().len() > 10_000);
    // Over the limit by Content-Length …
    let (s, v) = app
        .json(post_file("/v1/verify", Some(&app.admin), &clip))
        .await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        "{v}"
    );
    // … and while streaming, with no length given.
    let bytes = std::fs::read(&clip).unwrap();
    let stream = futures_util::stream::iter(
        bytes
            .chunks(4096)
            .map(|c| Ok::<_, std::io::Error>(bytes::Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    );
    let req = Request::post("/v1/verify")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.admin))
        .body(Body::from_stream(stream))
        .unwrap();
    let (s, v) = app.json(req).await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        "{v}"
    );
    // In a multipart form too.
    let (s, v) = app
        .json(multipart(
            "/v1/jobs",
            &app.admin,
            &[("file", Some("a.mp4"), bytes.clone())],
            &[],
        ))
        .await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        "{v}"
    );
    // Not a video: 422 naming the file as the client named it, never the server's folder.
    let junk = app.dir.join("junk.mp4");
    std::fs::write(&junk, b"this is not a video at all").unwrap();
    let (s, v) = app
        .json(post_file(
            "/v1/verify?filename=junk.mp4",
            Some(&app.admin),
            &junk,
        ))
        .await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unreadable_video"),
        "{v}"
    );
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("junk.mp4") && !msg.contains("uploads"),
        "{msg}"
    );
    // An empty body, and a form without a file.
    let req = Request::post("/v1/verify")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.admin))
        .body(Body::empty())
        .unwrap();
    let (s, v) = app.json(req).await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::BAD_REQUEST, "bad_request"),
        "{v}"
    );
    let (s, v) = app
        .json(multipart(
            "/v1/jobs",
            &app.admin,
            &[("metadata", None, b"{}".to_vec())],
            &[],
        ))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    // Files the API fuzz found answered 500: two bytes named .webp (cut short where C2PA reads
    // it), and a "picture" of 0x0 pixels sent to sign. Both are the input's fault: 422 with
    // the reason, and no server path in it.
    let odd = |name: &str, bytes: &[u8]| {
        Request::post(format!("/v1/{name}?filename=file.webp"))
            .header(header::AUTHORIZATION, format!("Bearer {}", app.admin))
            .body(Body::from(bytes.to_vec()))
            .unwrap()
    };
    for (route, bytes) in [
        ("verify", &b"\xe3\x17"[..]),
        ("sign", &br#"[[], [], {"a": 1}]"#[..]),
    ] {
        let (s, v) = app.json(odd(route, bytes)).await;
        assert_eq!(
            (s, error_code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "unreadable_video"),
            "{route}: {v}"
        );
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(!msg.contains("uploads"), "{route}: {msg}");
    }
    let left: Vec<_> = std::fs::read_dir(app.state.config().uploads_dir())
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn limits_on_size_and_duration_are_checked_before_decoding() {
    let app = App::new(|c| {
        c.limits.max_pixels = 100 * 100;
    })
    .await;
    let clip = app.clip("clip.mp4");
    let (s, v) = app
        .json(post_file("/v1/verify", Some(&app.admin), &clip))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("320x240"),
        "{v}"
    );
    let app = App::new(|c| c.limits.sync_max_duration_s = 0.5).await;
    let clip = app.clip("clip.mp4");
    let (s, v) = app
        .json(post_file("/v1/verify", Some(&app.admin), &clip))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("/v1/jobs"),
        "{v}"
    );
}

#[tokio::test]
async fn jobs_run_once_with_idempotency_paging_and_cancel() {
    let app = App::new(|_| {}).await;
    let token = app.key("jobs", keys::Scope::Jobs).await;
    let clip = std::fs::read(app.clip("clip.mp4")).unwrap();
    let other = std::fs::read(
        common::lavfi(
            &app.dir,
            "other.mp4",
            "testsrc=s=320x240:r=30:d=1",
            None,
            &[],
        )
        .unwrap(),
    )
    .unwrap();
    let meta = br#"{"post": 42}"#.to_vec();
    let form = |c: &Vec<u8>, key: &str| {
        multipart(
            "/v1/jobs",
            &token,
            &[
                ("file", Some("clip.mp4"), c.clone()),
                ("metadata", None, meta.clone()),
            ],
            &[("idempotency-key", key)],
        )
    };
    // Queued (202) while no worker runs.
    let (s, first) = app.json(form(&clip, "k1")).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{first}");
    assert_eq!(first["status"], "queued");
    assert_eq!(first["metadata"]["post"], 42);
    let id = first["id"].as_str().unwrap().to_string();
    // The same key and request: the same job (200). The same key, another file: 422.
    let (s, again) = app.json(form(&clip, "k1")).await;
    assert_eq!(
        (s, again["id"].as_str()),
        (StatusCode::OK, Some(id.as_str()))
    );
    let (s, v) = app.json(form(&other, "k1")).await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
    );
    // Another job, cancelled before it runs: its upload goes at once.
    let (_, second) = app.json(form(&other, "k2")).await;
    let second_id = second["id"].as_str().unwrap().to_string();
    let req = Request::delete(format!("/v1/jobs/{second_id}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let (s, _, _) = app.send(req).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        app.stored_uploads(),
        1,
        "only the first job's upload is left"
    );
    assert_eq!(
        app.scratch_files(),
        0,
        "the replica keeps no copy of a queued upload"
    );
    // Workers run the first job to a result; the cancelled one stays cancelled.
    let stop = app.workers();
    let done = app.wait_job(&token, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 1);
    assert_eq!(done["verdict"], "no-evidence");
    assert_eq!(done["report"]["file"]["name"], "clip.mp4");
    let cancelled = app.wait_job(&token, &second_id).await;
    assert_eq!(cancelled["status"], "cancelled");
    drop(stop);
    // One result, one attempt recorded; the upload is gone.
    let attempts: i64 = verity_service::with_pool!(app.state.db(), |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM job_attempts WHERE job_id = $1"
    )
    .bind(&id)
    .fetch_one(p)
    .await)
    .unwrap();
    assert_eq!(attempts, 1);
    assert_eq!((app.stored_uploads(), app.scratch_files()), (0, 0));
    assert_eq!(
        app.orphan_rows().await,
        0,
        "each removed upload's record went with it; the idempotent replays' copies too"
    );
    // Listing: newest first, paged, filtered.
    let (s, page) = app.json(get("/v1/jobs?limit=1", Some(&token))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page["jobs"][0]["id"], second_id.as_str());
    assert!(page["jobs"][0].get("report").is_none());
    let next = page["next"].as_str().unwrap();
    let (_, page2) = app
        .json(get(&format!("/v1/jobs?limit=1&after={next}"), Some(&token)))
        .await;
    assert_eq!(page2["jobs"][0]["id"], id.as_str());
    assert!(page2["next"].is_null());
    let (_, ok) = app
        .json(get("/v1/jobs?status=succeeded", Some(&token)))
        .await;
    assert_eq!(ok["jobs"].as_array().unwrap().len(), 1);
    let (_, none) = app
        .json(get("/v1/jobs?since=2999-01-01T00:00:00Z", Some(&token)))
        .await;
    assert_eq!(none["jobs"].as_array().unwrap().len(), 0);
    for bad in [
        "/v1/jobs?status=done",
        "/v1/jobs?since=yesterday",
        "/v1/jobs?limit=0",
    ] {
        let (s, v) = app.json(get(bad, Some(&token))).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
    }
    // Another key sees none of these jobs and cannot remove them; an admin key sees them all.
    let other = app.key("other", keys::Scope::Jobs).await;
    let (s, _) = app.json(get(&format!("/v1/jobs/{id}"), Some(&other))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, theirs) = app.json(get("/v1/jobs", Some(&other))).await;
    assert_eq!(theirs["jobs"].as_array().unwrap().len(), 0, "{theirs}");
    let req = Request::delete(format!("/v1/jobs/{id}"))
        .header(header::AUTHORIZATION, format!("Bearer {other}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(req).await.0, StatusCode::NOT_FOUND);
    let (_, all) = app.json(get("/v1/jobs", Some(&app.admin))).await;
    assert_eq!(all["jobs"].as_array().unwrap().len(), 2, "{all}");
    // Deleting a finished job; then it is gone.
    let req = Request::delete(format!("/v1/jobs/{id}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(req).await.0, StatusCode::NO_CONTENT);
    let (s, _) = app.json(get(&format!("/v1/jobs/{id}"), Some(&token))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Every state change is audited.
    let actions: Vec<String> = verity_service::with_pool!(app.state.db(), |p| sqlx::query_scalar(
        "SELECT action FROM audit WHERE subject = $1 ORDER BY seq"
    )
    .bind(&id)
    .fetch_all(p)
    .await)
    .unwrap();
    assert_eq!(
        actions,
        ["job.queued", "job.running", "job.succeeded", "job.deleted"]
    );
}

#[tokio::test]
async fn objects_let_go_of_but_not_deleted_are_swept_and_a_jobs_upload_never_is() {
    use verity_service::orphans;
    let app = App::new(|_| {}).await;
    let token = app.key("jobs", keys::Scope::Jobs).await;
    let (db, store) = (app.state.db(), app.state.storage());
    let clip = app.clip("clip.mp4");
    let now = verity_service::db::now_ms();
    // A job's end committed, then the process stopped before the delete: the row is left, and
    // the next sweep deletes the object, then the row.
    store
        .put_file("uploads/ended/clip.mp4", &clip)
        .await
        .unwrap();
    let mut tx = db.begin().await.unwrap();
    orphans::record_in(&mut tx, "uploads/ended/clip.mp4", now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // An upload stored, its job never made (the process stopped in between): kept for the
    // grace period, then swept.
    orphans::reserve(db, "uploads/unclaimed/clip.mp4")
        .await
        .unwrap();
    store
        .put_file("uploads/unclaimed/clip.mp4", &clip)
        .await
        .unwrap();
    // A job made through the API holds its upload: no sweep, however late, takes it.
    let body = std::fs::read(&clip).unwrap();
    let (s, job) = app
        .json(multipart(
            "/v1/jobs",
            &token,
            &[("file", Some("clip.mp4"), body)],
            &[],
        ))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    assert_eq!(app.stored_uploads(), 3);
    assert_eq!(app.orphan_rows().await, 2);
    // The one due shows in the metrics until it is swept.
    let metric = |b: Vec<u8>| {
        String::from_utf8(b)
            .unwrap()
            .lines()
            .find(|l| l.starts_with("verity_store_deletes_due "))
            .map(str::to_string)
    };
    let (_, _, b) = app.send(get("/metrics", Some(&app.admin))).await;
    assert_eq!(metric(b).as_deref(), Some("verity_store_deletes_due 1"));
    assert_eq!(orphans::sweep(db, store, now).await.unwrap(), 1);
    let (_, _, b) = app.send(get("/metrics", Some(&app.admin))).await;
    assert_eq!(metric(b).as_deref(), Some("verity_store_deletes_due 0"));
    assert_eq!(app.stored_uploads(), 2, "the ended job's upload went");
    assert_eq!(app.orphan_rows().await, 1);
    let after_grace = verity_service::db::now_ms() + orphans::RESERVATION_GRACE.as_millis() as i64;
    assert_eq!(orphans::sweep(db, store, after_grace).await.unwrap(), 1);
    assert_eq!(
        app.stored_uploads(),
        1,
        "only the queued job's upload is left"
    );
    assert_eq!(app.orphan_rows().await, 0);
    assert_eq!(orphans::sweep(db, store, i64::MAX).await.unwrap(), 0);
    // A reservation is taken back once, by the row that holds its object; one a sweep took
    // (its object waited past the grace) cannot be, and no row may then hold it.
    orphans::reserve(db, "uploads/taken/clip.mp4")
        .await
        .unwrap();
    orphans::reserve(db, "uploads/late/clip.mp4").await.unwrap();
    let mut tx = db.begin().await.unwrap();
    assert!(
        orphans::take_in(&mut tx, "uploads/taken/clip.mp4")
            .await
            .unwrap()
    );
    assert!(
        !orphans::take_in(&mut tx, "uploads/taken/clip.mp4")
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    // A sweep took "late" and stopped before its delete (its claim, made here by hand): the row
    // is still there, yet no job may take it back, and the gauge counts it though it is not due.
    verity_service::with_pool!(db, |p| sqlx::query(
        "UPDATE store_orphans SET claims = claims + 1 WHERE key = $1"
    )
    .bind("uploads/late/clip.mp4")
    .execute(p)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    let mut tx = db.begin().await.unwrap();
    assert!(
        !orphans::take_in(&mut tx, "uploads/late/clip.mp4")
            .await
            .unwrap()
    );
    tx.rollback().await.unwrap();
    assert_eq!(app.orphan_rows().await, 1);
    let (_, _, b) = app.send(get("/metrics", Some(&app.admin))).await;
    assert_eq!(metric(b).as_deref(), Some("verity_store_deletes_due 1"));
    assert_eq!(orphans::sweep(db, store, i64::MAX - 1).await.unwrap(), 1);
    assert_eq!(app.orphan_rows().await, 0);
    // And the job still runs on it.
    let stop = app.workers();
    let id = job["id"].as_str().unwrap();
    let done = app.wait_job(&token, id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    drop(stop);
}

#[tokio::test]
async fn a_job_that_keeps_stopping_its_worker_ends_failed_and_a_broken_file_fails_with_its_reason()
{
    let app = App::new(|c| c.jobs.max_attempts = 2).await;
    let clip = std::fs::read(app.clip("clip.mp4")).unwrap();
    let (_, job) = app
        .json(multipart(
            "/v1/jobs",
            &app.admin,
            &[("file", Some("clip.mp4"), clip)],
            &[],
        ))
        .await;
    let id = job["id"].as_str().unwrap().to_string();
    // As if two runs had died mid-verification (the engine re-queues a dead worker's task;
    // the row still says running).
    verity_service::with_pool!(app.state.db(), |p| sqlx::query(
        "UPDATE verify_jobs SET status = 'running', attempts = 2 WHERE id = $1"
    )
    .bind(&id)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    let (_, broken) = app
        .json(multipart(
            "/v1/jobs",
            &app.admin,
            &[(
                "file",
                Some("broken.mp4"),
                b"\0\0\0\x20ftypisom garbage".to_vec(),
            )],
            &[],
        ))
        .await;
    let broken_id = broken["id"].as_str().unwrap().to_string();
    let _stop = app.workers();
    let done = app.wait_job(&app.admin, &id).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(
        done["error"]
            .as_str()
            .unwrap()
            .contains("stopped its worker 2 times"),
        "{done}"
    );
    assert!(done["report"].is_null());
    let b = app.wait_job(&app.admin, &broken_id).await;
    assert_eq!(b["status"], "failed", "{b}");
    assert!(b["error"].as_str().unwrap().contains("broken.mp4"), "{b}");
}

/// The receiver: records each delivery after checking its Standard Webhooks signature.
async fn receiver(secret: String, fail_first: usize) -> (String, Arc<Mutex<Vec<Value>>>) {
    use axum::routing::post;
    let got = Arc::new(Mutex::new(Vec::new()));
    let calls = Arc::new(Mutex::new(0usize));
    let g = got.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let g = g.clone();
            let calls = calls.clone();
            let secret = secret.clone();
            async move {
                let n = {
                    let mut c = calls.lock().unwrap();
                    *c += 1;
                    *c
                };
                if n <= fail_first {
                    return (
                        StatusCode::SERVICE_UNAVAILABLE,
                        [(header::RETRY_AFTER, "0")],
                    )
                        .into_response();
                }
                let h = |k: &str| {
                    headers
                        .get(k)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string()
                };
                let ts: i64 = h("webhook-timestamp").parse().unwrap();
                let want =
                    verity_service::webhooks::sign(&secret, &h("webhook-id"), ts, &body).unwrap();
                if h("webhook-signature") != want {
                    return (StatusCode::UNAUTHORIZED, [(header::RETRY_AFTER, "0")])
                        .into_response();
                }
                let mut v: Value = serde_json::from_str(&body).unwrap();
                v["webhook_id"] = Value::String(h("webhook-id"));
                g.lock().unwrap().push(v);
                (StatusCode::NO_CONTENT, [(header::RETRY_AFTER, "0")]).into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

/// A file server on loopback: `/media/clip.mp4` serves `clip`; `/media/stream.mp4` the same
/// in chunks with no length given; `/media/moved.mp4` redirects to the first; anything else 404.
async fn file_server(clip: Vec<u8>) -> String {
    let streamed = clip.clone();
    let app = Router::new()
        .route(
            "/media/clip.mp4",
            axum::routing::get(move || {
                let c = clip.clone();
                async move { c }
            }),
        )
        .route(
            "/media/stream.mp4",
            axum::routing::get(move || {
                let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = streamed
                    .chunks(256)
                    .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
                    .collect();
                async move { Body::from_stream(futures_util::stream::iter(chunks)) }
            }),
        )
        .route(
            "/media/moved.mp4",
            axum::routing::get(|| async { axum::response::Redirect::temporary("/media/clip.mp4") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

fn post_json(uri: &str, token: &str, body: &Value) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn a_job_by_source_url_is_fetched_by_its_worker_within_the_allow_list_and_limits() {
    let refusing = App::new(|_| {}).await;
    let clip = std::fs::read(refusing.clip("clip.mp4")).unwrap();
    let base = file_server(clip.clone()).await;
    let url = format!("{base}/media/clip.mp4");
    // The default allow-list is empty: refused at once.
    let (s, v) = refusing
        .json(post_json(
            "/v1/jobs",
            &refusing.admin,
            &serde_json::json!({"source_url": url}),
        ))
        .await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "source_url_not_allowed"),
        "{v}"
    );
    // Allowed host, but loopback: the worker refuses to fetch it, and the job says why.
    let private = App::new(|c| c.sources.allow = vec!["127.0.0.1".into()]).await;
    let (s, job) = private
        .json(post_json(
            "/v1/jobs",
            &private.admin,
            &serde_json::json!({"source_url": url}),
        ))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["source_url"], url.as_str());
    let stop = private.workers();
    let done = private
        .wait_job(&private.admin, job["id"].as_str().unwrap())
        .await;
    drop(stop);
    assert_eq!(done["status"], "failed", "{done}");
    assert!(
        done["error"]
            .as_str()
            .unwrap()
            .contains("private or loopback"),
        "{done}"
    );
    // Allowed host, private addresses allowed (as in a test): fetched, verified, cleaned up.
    let app = App::new(|c| {
        c.sources.allow = vec!["127.0.0.1".into()];
        c.sources.allow_private = true;
        c.limits.max_upload_bytes = clip.len() as u64 + 10;
    })
    .await;
    let token = app.key("jobs", keys::Scope::Jobs).await;
    let (s, v) = app
        .json(post_json(
            "/v1/jobs",
            &token,
            &serde_json::json!({"source_url": "http://elsewhere.example/clip.mp4"}),
        ))
        .await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "source_url_not_allowed"),
        "a host off the list: {v}"
    );
    let (s, v) = app
        .json(multipart(
            "/v1/jobs",
            &token,
            &[
                ("file", Some("clip.mp4"), clip.clone()),
                ("source_url", None, url.clone().into_bytes()),
            ],
            &[],
        ))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a file and a URL: {v}");
    let (s, v) = app
        .json(multipart(
            "/v1/jobs",
            &token,
            &[("metadata", None, b"{}".to_vec())],
            &[],
        ))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "no video at all: {v}");
    let (s, good) = app
        .json(post_json(
            "/v1/jobs",
            &token,
            &serde_json::json!({"source_url": url, "metadata": {"post": 7}}),
        ))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{good}");
    assert_eq!(good["file_name"], "clip.mp4");
    // A URL that answers 404, and a file past the size limit: failed, each with its reason.
    let missing = format!("{base}/media/gone.mp4");
    let (_, gone) = app
        .json(post_json(
            "/v1/jobs",
            &token,
            &serde_json::json!({"source_url": missing}),
        ))
        .await;
    let small = App::new(|c| {
        c.sources.allow = vec!["127.0.0.1".into()];
        c.sources.allow_private = true;
        c.limits.max_upload_bytes = 1000;
    })
    .await;
    let (_, big) = small
        .json(post_json(
            "/v1/jobs",
            &small.admin,
            &serde_json::json!({"source_url": url}),
        ))
        .await;
    // The same past the limit with no Content-Length: counted while it streams.
    let (_, streamed) = small
        .json(post_json(
            "/v1/jobs",
            &small.admin,
            &serde_json::json!({"source_url": format!("{base}/media/stream.mp4")}),
        ))
        .await;
    let (_, moved) = app
        .json(post_json(
            "/v1/jobs",
            &token,
            &serde_json::json!({"source_url": format!("{base}/media/moved.mp4")}),
        ))
        .await;
    let stop = app.workers();
    let stop_small = small.workers();
    let done = app.wait_job(&token, good["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["report"]["file"]["name"], "clip.mp4");
    assert_eq!(done["metadata"]["post"], 7);
    let done = app.wait_job(&token, gone["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(done["error"].as_str().unwrap().contains("404"), "{done}");
    let done = small
        .wait_job(&small.admin, big["id"].as_str().unwrap())
        .await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(done["error"].as_str().unwrap().contains("limit"), "{done}");
    let done = small
        .wait_job(&small.admin, streamed["id"].as_str().unwrap())
        .await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(done["error"].as_str().unwrap().contains("limit"), "{done}");
    let done = app.wait_job(&token, moved["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(
        done["error"]
            .as_str()
            .unwrap()
            .contains("redirects are not followed"),
        "{done}"
    );
    drop((stop, stop_small));
    // Nothing fetched is left behind.
    for a in [&app, &small] {
        let left = std::fs::read_dir(a.state.config().uploads_dir())
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(left, 0);
    }
}

#[tokio::test]
async fn webhooks_are_signed_retried_and_logged() {
    let app = App::new(|_| {}).await;
    let clip = std::fs::read(app.clip("clip.mp4")).unwrap();
    // An unregistered callback is refused before anything is queued.
    let (s, v) = app
        .json(multipart(
            "/v1/jobs",
            &app.admin,
            &[
                ("file", Some("c.mp4"), clip.clone()),
                ("callback_url", None, b"http://127.0.0.1:9/x".to_vec()),
            ],
            &[],
        ))
        .await;
    assert_eq!(
        (s, error_code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_callback_url"),
        "{v}"
    );
    // A registered one, whose receiver fails the first attempt.
    let ep_secret;
    let (url, got) = {
        let placeholder = verity_service::webhooks::add_endpoint(
            app.state.db(),
            "http://127.0.0.1:1/placeholder",
        )
        .await
        .unwrap();
        ep_secret = placeholder.secret.clone();
        receiver(ep_secret.clone(), 1).await
    };
    verity_service::with_pool!(app.state.db(), |p| sqlx::query(
        "UPDATE webhook_endpoints SET url = $1 WHERE url = 'http://127.0.0.1:1/placeholder'",
    )
    .bind(&url)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    let (s, job) = app
        .json(multipart(
            "/v1/jobs",
            &app.admin,
            &[
                ("file", Some("c.mp4"), clip),
                ("callback_url", None, url.clone().into_bytes()),
            ],
            &[],
        ))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let _stop = app.workers();
    let done = app.wait_job(&app.admin, &id).await;
    assert_eq!(done["status"], "succeeded");
    // Delivered on the second attempt, signed; the log shows both attempts.
    let mut delivered = None;
    for _ in 0..300 {
        let (_, j) = app
            .json(get(&format!("/v1/jobs/{id}"), Some(&app.admin)))
            .await;
        if j["webhooks"][0]["delivered_at"].is_string() {
            delivered = Some(j);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let j = delivered.expect("the webhook was not delivered");
    assert_eq!(j["webhooks"][0]["attempts"], 2, "{j}");
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["type"], "job.succeeded");
    assert_eq!(got[0]["data"]["job_id"], id.as_str());
    assert_eq!(got[0]["webhook_id"], j["webhooks"][0]["id"]);
    let attempts: i64 = verity_service::with_pool!(app.state.db(), |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM webhook_attempts"
    )
    .fetch_one(p)
    .await)
    .unwrap();
    assert_eq!(attempts, 2);
}

#[tokio::test]
async fn private_webhook_targets_are_refused_by_default() {
    let app = App::new(|c| c.webhooks.allow_private = false).await;
    let (url, got) = receiver("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(), 0).await;
    let ep = verity_service::webhooks::add_endpoint(app.state.db(), &url)
        .await
        .unwrap();
    assert!(ep.secret.starts_with("whsec_"));
    let clip = std::fs::read(app.clip("clip.mp4")).unwrap();
    let (_, job) = app
        .json(multipart(
            "/v1/jobs",
            &app.admin,
            &[
                ("file", Some("c.mp4"), clip),
                ("callback_url", None, url.into_bytes()),
            ],
            &[],
        ))
        .await;
    let id = job["id"].as_str().unwrap().to_string();
    let _stop = app.workers();
    app.wait_job(&app.admin, &id).await;
    let mut last = Value::Null;
    for _ in 0..300 {
        let (_, j) = app
            .json(get(&format!("/v1/jobs/{id}"), Some(&app.admin)))
            .await;
        last = j["webhooks"][0].clone();
        if last["attempts"].as_i64() == Some(3) && last["next_attempt_at"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        last["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("private or loopback"),
        "{last}"
    );
    assert!(last["delivered_at"].is_null());
    assert!(got.lock().unwrap().is_empty());
}

#[tokio::test]
async fn sign_then_resolve_by_binding_content_and_manifest_id() {
    let app = App::new(|_| {}).await;
    let clip = app.clip("clip.mp4");
    let (s, headers, signed) = app
        .send(post_file(
            "/v1/sign?filename=clip.mp4",
            Some(&app.admin),
            &clip,
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&signed));
    assert_eq!(headers[header::CONTENT_TYPE], "video/mp4");
    let payload = headers["x-verity-payload"].to_str().unwrap().to_string();
    let signed_path = app.dir.join("signed.mp4");
    std::fs::write(&signed_path, &signed).unwrap();
    // The signed file verifies as trusted, with the mark.
    let (_, r) = app
        .json(post_file(
            "/v1/verify?filename=signed.mp4",
            Some(&app.admin),
            &signed_path,
        ))
        .await;
    assert_eq!(r["c2pa"]["state"], "trusted", "{r}");
    assert_eq!(r["watermark"]["payload"], payload.as_str());
    // byBinding, GET and POST; the value base64-encoded as the API has it, or plain.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&payload);
    let alg = "org.verity.spectral.3";
    let (s, m) = app
        .json(get(
            &format!(
                "/v1/matches/byBinding?alg={alg}&value={}",
                b64.replace('=', "%3D")
            ),
            Some(&app.admin),
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    let id = m["matches"][0]["manifestId"].as_str().unwrap().to_string();
    // The id is the active manifest's label, as the API has it.
    assert!(id.starts_with("urn:c2pa:"), "{id}");
    assert_eq!(r["c2pa"]["manifest_label"], id.as_str());
    let (_, m2) = app
        .json(get(
            &format!("/v1/matches/byBinding?alg={alg}&value={payload}"),
            Some(&app.admin),
        ))
        .await;
    assert_eq!(m2["matches"][0]["manifestId"], id.as_str());
    let req = Request::post("/v1/matches/byBinding")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.admin))
        .body(Body::from(
            serde_json::json!({"alg": alg, "value": b64}).to_string(),
        ))
        .unwrap();
    let (_, m3) = app.json(req).await;
    assert_eq!(m3["matches"][0]["manifestId"], id.as_str());
    // The manifest, as application/c2pa: the store that the signed file embeds.
    let (s, h, store) = app
        .send(get(
            &format!("/v1/manifests/{id}?returnActiveManifest=true"),
            Some(&app.admin),
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "application/c2pa");
    assert!(store.len() > 1000);
    assert!(
        signed
            .windows(store.len().min(64))
            .any(|w| w == &store[..store.len().min(64)])
    );
    // byContent: a stripped, re-encoded copy finds the same manifest through its mark.
    let stripped = app.dir.join("stripped.mp4");
    common::ffmpeg(&[
        "-i",
        signed_path.to_str().unwrap(),
        "-map_metadata",
        "-1",
        "-c:v",
        "libx264",
        "-crf",
        "23",
        stripped.to_str().unwrap(),
    ])
    .unwrap();
    let (s, c) = app
        .json(post_file(
            "/v1/matches/byContent?filename=stripped.mp4",
            Some(&app.admin),
            &stripped,
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["matches"][0]["manifestId"], id.as_str());
    // An unmarked clip matches nothing; an unknown algorithm and a bad value are 400.
    let (_, none) = app
        .json(post_file("/v1/matches/byContent", Some(&app.admin), &clip))
        .await;
    assert_eq!(none["matches"].as_array().unwrap().len(), 0);
    let (s, _) = app
        .json(post_file(
            "/v1/matches/byContent?alg=com.other",
            Some(&app.admin),
            &stripped,
        ))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, c0) = app
        .json(post_file(
            "/v1/matches/byContent?maxResults=1&hintAlg=x&hintValue=y",
            Some(&app.admin),
            &stripped,
        ))
        .await;
    assert_eq!(c0["matches"][0]["manifestId"], id.as_str());
    let (s, _) = app
        .json(get(
            "/v1/matches/byBinding?alg=com.other&value=AAAA",
            Some(&app.admin),
        ))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = app
        .json(get(
            &format!("/v1/matches/byBinding?alg={alg}&value=!!!"),
            Some(&app.admin),
        ))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = app
        .json(get(
            "/v1/manifests/urn:c2pa:00000000-0000-4000-8000-000000000000",
            Some(&app.admin),
        ))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Reads need a key unless the service makes them public; discovery is always public.
    let (s, _) = app.json(get(&format!("/v1/manifests/{id}"), None)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, algs) = app
        .json(get("/v1/services/supportedAlgorithms", None))
        .await;
    assert_eq!(algs["watermarks"][0]["alg"], alg);
    let (_, wk) = app
        .json(get("/.well-known/c2pa-soft-binding-resolution", None))
        .await;
    assert_eq!(wk["apiEndpoint"], "/v1");
    assert_eq!(wk["c2paSpecificationVersion"], "2.4.0");
    let (_, caps) = app.json(get("/v1/services/capabilities", None)).await;
    assert_eq!(
        caps["supportedCapabilities"],
        serde_json::json!(["queryByContent"])
    );
    let (_, st) = app.json(get("/v1/services/status", None)).await;
    assert_eq!(st["status"], "ok");
    let public = App::new(|c| c.public_resolution = true).await;
    let (s, _) = public
        .json(get(
            &format!("/v1/matches/byBinding?alg={alg}&value={payload}"),
            None,
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn each_key_has_its_own_rate() {
    let app = App::new(|c| {
        c.limits.requests_per_minute = 1;
        c.limits.burst = 2;
    })
    .await;
    let other = app.key("other", keys::Scope::Jobs).await;
    for _ in 0..2 {
        assert_eq!(
            app.json(get("/v1/jobs", Some(&app.admin))).await.0,
            StatusCode::OK
        );
    }
    let (s, headers, body) = app.send(get("/v1/jobs", Some(&app.admin))).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error_code(&v), "rate_limited");
    // Another key is not held back by the first one's rate.
    assert_eq!(
        app.json(get("/v1/jobs", Some(&other))).await.0,
        StatusCode::OK
    );
}

/// A database from before the object store names uploads and review videos by absolute path;
/// at start they move into the store and their rows follow, and a file already gone leaves its
/// job without an upload.
#[tokio::test]
async fn files_kept_by_path_before_the_object_store_move_into_it() {
    let app = App::new(|_| {}).await;
    let db = app.state.db();
    let old = app.dir.join("old-data");
    std::fs::create_dir_all(old.join("uploads/.tmpA")).unwrap();
    std::fs::create_dir_all(old.join("review/item_1")).unwrap();
    let upload = old.join("uploads/.tmpA/clip.mp4");
    let video = old.join("review/item_1/video.mp4");
    std::fs::write(&upload, b"queued upload").unwrap();
    std::fs::write(&video, b"kept video").unwrap();
    for (id, path) in [
        ("job_1", upload.display().to_string()),
        ("job_2", "/nowhere/gone.mp4".to_string()),
    ] {
        verity_service::with_pool!(db, |p| sqlx::query(
            "INSERT INTO verify_jobs (id, status, file_name, upload_path, created_at, updated_at)
             VALUES ($1, 'queued', 'clip.mp4', $2, 0, 0)"
        )
        .bind(id)
        .bind(&path)
        .execute(p)
        .await
        .map(|_| ()))
        .unwrap();
    }
    verity_service::with_pool!(db, |p| sqlx::query(
        "INSERT INTO review_items (id, job_id, queue, status, file_name, verdict, report,
            video_path, created_at) VALUES ('item_1', 'job_9', 'flagged', 'open', 'v.mp4',
            'likely-synthetic', '{}', $1, 0)"
    )
    .bind(video.display().to_string())
    .execute(p)
    .await
    .map(|_| ()))
    .unwrap();
    let n = verity_service::storage::adopt_legacy_files(db, app.state.storage())
        .await
        .unwrap();
    assert_eq!(n, 2);
    let paths: Vec<(String, Option<String>)> = verity_service::with_pool!(db, |p| sqlx::query_as(
        "SELECT id, upload_path FROM verify_jobs ORDER BY id"
    )
    .fetch_all(p)
    .await)
    .unwrap();
    let key = paths[0].1.clone().unwrap();
    assert!(
        key.starts_with("uploads/") && key.ends_with("/clip.mp4"),
        "{key}"
    );
    assert_eq!(paths[1], ("job_2".to_string(), None));
    assert!(!upload.exists() && !video.exists());
    let store = app.state.config().data.join("store");
    assert_eq!(std::fs::read(store.join(&key)).unwrap(), b"queued upload");
    let video_key: Option<String> = verity_service::with_pool!(db, |p| sqlx::query_scalar(
        "SELECT video_path FROM review_items WHERE id = 'item_1'"
    )
    .fetch_one(p)
    .await)
    .unwrap();
    let video_key = video_key.unwrap();
    assert!(
        video_key.starts_with("review/item_1/") && video_key.ends_with("/video.mp4"),
        "{video_key}"
    );
    assert_eq!(
        std::fs::read(store.join(&video_key)).unwrap(),
        b"kept video"
    );
    // Each copy's reservation was taken back by its row: no sweep will take them.
    assert_eq!(app.orphan_rows().await, 0);
    // Once done, nothing more to do.
    assert_eq!(
        verity_service::storage::adopt_legacy_files(db, app.state.storage())
            .await
            .unwrap(),
        0
    );
}
