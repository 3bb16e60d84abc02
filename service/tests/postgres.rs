//! The service on PostgreSQL, as several replicas share it: migrations run by replicas that start
//! at once, jobs submitted to any replica and run once by the workers of all of them, and review
//! claims that never collide under concurrency.
//!
//! These need a server: `scripts/with-postgres.sh` starts one and sets `VERITY_TEST_POSTGRES`.
//! Without it they say so and pass, unless `VERITY_REQUIRE_POSTGRES=1` (CI sets it), which makes
//! them fail. The API and review suites also run whole on Postgres with
//! `VERITY_TEST_BACKEND=postgres` (`make test` does both).

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod app;

use std::collections::HashMap;
use std::time::Duration;

use app::{App, fresh_database, multipart};
use axum::http::StatusCode;
use verity_service::db::Target;
use verity_service::{AppState, Db, ServiceConfig, keys, with_pool};

/// The server's URL, or `None` (the test then passes, saying why) unless Postgres is required.
fn server() -> Option<String> {
    match std::env::var("VERITY_TEST_POSTGRES") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var("VERITY_REQUIRE_POSTGRES").ok().as_deref() != Some("1"),
                "VERITY_REQUIRE_POSTGRES=1 but VERITY_TEST_POSTGRES is not set: run the tests under scripts/with-postgres.sh"
            );
            eprintln!("skipped: no PostgreSQL (run under scripts/with-postgres.sh)");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_that_start_at_once_migrate_once() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server).await;
    let target = Target::Postgres(url.clone());
    let opened = futures_util::future::join_all((0..4).map(|_| Db::connect(&target))).await;
    for o in &opened {
        assert!(o.is_ok(), "{:?}", o.as_ref().err());
    }
    let Ok(db) = &opened[0] else { unreachable!() };
    // Ours ran once each (one version per file), beside the queue engine's own.
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .count() as i64;
    assert!(files >= 3, "{files} migration files");
    let ours: i64 = with_pool!(db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM _sqlx_migrations WHERE version < 1000"
    )
    .fetch_one(p)
    .await)
    .unwrap();
    assert_eq!(ours, files);
    // The audit log is append-only on Postgres too.
    db.audit("test", "t", "s", &serde_json::json!({}))
        .await
        .unwrap();
    let changed = with_pool!(db, |p| sqlx::query("UPDATE audit SET actor = 'x'")
        .execute(p)
        .await
        .map(|r| r.rows_affected()));
    assert!(
        changed
            .as_ref()
            .is_err_and(|e| e.to_string().contains("append-only")),
        "{changed:?}"
    );
    // A password in the URL never shows in the location logs print.
    let shown = Target::Postgres("postgres://u:s3cr3t@h/d".into()).shown();
    assert!(!shown.contains("s3cr3t"), "{shown}");
}

/// Three replicas (three states over one database, as three processes would be), jobs sent to
/// each in turn, workers running on all three: every job ends once, with one attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jobs_sent_to_any_replica_run_once_across_all() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server).await;
    let first =
        App::new(|c| c.database = Some(verity_service::config::SecretUrl(url.clone()))).await;
    let mut replicas = vec![first.state.clone()];
    for _ in 0..2 {
        let config: ServiceConfig = first.state.config().clone();
        let db = Db::connect(&config.db_target().unwrap()).await.unwrap();
        replicas.push(AppState::with_db(config, db).unwrap());
    }
    let token = first.key("jobs", keys::Scope::Jobs).await;
    let clip = std::fs::read(first.clip("clip.mp4")).unwrap();
    let mut ids = Vec::new();
    for i in 0..12 {
        let r = verity_service::router(replicas[i % 3].clone());
        let req = multipart(
            "/v1/jobs",
            &token,
            &[("file", Some("clip.mp4"), clip.clone())],
            &[],
        );
        let resp = tower::ServiceExt::oneshot(r, req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::ACCEPTED);
        let body = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    let (stop_tx, _) = tokio::sync::watch::channel(false);
    for s in &replicas {
        let mut rx = stop_tx.subscribe();
        tokio::spawn(verity_service::jobs::run_workers(
            s.clone(),
            2,
            async move {
                let _ = rx.wait_for(|v| *v).await;
            },
        ));
    }
    for id in &ids {
        let done = first.wait_job(&token, id).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        assert_eq!(done["attempts"], 1, "{done}");
    }
    let _ = stop_tx.send(true);
    let db = first.state.db();
    let per_job: Vec<(String, i64)> = with_pool!(db, |p| sqlx::query_as(
        "SELECT job_id, COUNT(*) FROM job_attempts GROUP BY job_id"
    )
    .fetch_all(p)
    .await)
    .unwrap();
    let per_job: HashMap<_, _> = per_job.into_iter().collect();
    assert_eq!(per_job.len(), ids.len());
    assert!(per_job.values().all(|&n| n == 1), "{per_job:?}");
    let finished: i64 = with_pool!(db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit WHERE action = 'job.succeeded'"
    )
    .fetch_one(p)
    .await)
    .unwrap();
    assert_eq!(finished, ids.len() as i64);
}

/// A claim passes over an item another claim is taking (its row locked) instead of waiting on it
/// and coming back empty; many reviewers asking at once each get their own item.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_review_claims_never_share_an_item() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server).await;
    let db = Db::connect(&Target::Postgres(url)).await.unwrap();
    for i in 0..5 {
        with_pool!(&db, |p| sqlx::query(
            "INSERT INTO review_items (id, job_id, queue, status, file_name, verdict, report,
                created_at) VALUES ($1, $2, 'flagged', 'open', 'f.mp4', 'likely-synthetic', '{}', $3)"
        )
        .bind(format!("item_{i}"))
        .bind(format!("job_{i}"))
        .bind(i64::from(i))
        .execute(p)
        .await
        .map(|_| ()))
        .unwrap();
    }
    let lease = Duration::from_secs(900).as_millis() as i64;
    // A claim in flight: another reviewer's transaction holds the oldest item's row. The next
    // claim passes over it at once, to the next item, instead of waiting on it and then
    // finding it taken.
    let mut holder = db.begin().await.unwrap();
    let held: Option<String> = verity_service::with_tx!(&mut holder, |c| sqlx::query_scalar(
        "UPDATE review_items SET claimed_by = 'reviewer:holder', claim_until = $1
         WHERE id = 'item_0' RETURNING id"
    )
    .bind(i64::MAX)
    .fetch_optional(c)
    .await)
    .unwrap();
    assert_eq!(held.as_deref(), Some("item_0"));
    let next = tokio::time::timeout(
        Duration::from_secs(30),
        verity_service::review::store::claim_next(&db, "flagged", "reviewer:r0", lease),
    )
    .await
    .expect("a claim waited on another's row instead of passing over it")
    .unwrap();
    assert_eq!(next.as_deref(), Some("item_1"));
    holder.commit().await.unwrap();
    // Many at once for the three left: three get one each, none twice.
    let claims = futures_util::future::join_all((1..17).map(|r| {
        let db = db.clone();
        async move {
            verity_service::review::store::claim_next(
                &db,
                "flagged",
                &format!("reviewer:r{r}"),
                lease,
            )
            .await
        }
    }))
    .await;
    let got: Vec<String> = claims.into_iter().flat_map(|c| c.unwrap()).collect();
    let mut unique = got.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(unique, ["item_2", "item_3", "item_4"], "{got:?}");
}
