//! The service's test harness: an app over a temporary home (keys made, an admin token), its
//! router driven with `oneshot`, and request builders.

#![allow(dead_code)] // each test file uses its own part of it

#[path = "../../../crates/media/tests/common/mod.rs"]
pub mod media;

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use verity_service::{AppState, Db, ServiceConfig, keys, router};

pub struct App {
    _dir: tempfile::TempDir,
    pub dir: PathBuf,
    pub state: AppState,
    pub admin: String,
}

impl App {
    pub async fn new(tweak: impl FnOnce(&mut ServiceConfig)) -> App {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        verity_provenance::Home::new(&home)
            .init_keys(&verity_signing::InitOptions {
                org: "Service Test".into(),
                alg: verity_signing::KeyAlg::Es256,
                force: false,
            })
            .unwrap();
        let mut config = ServiceConfig::new(home);
        config.jobs.poll_interval = Duration::from_millis(50);
        config.webhooks.allow_private = true;
        config.webhooks.retry_delays = vec![Duration::from_millis(200), Duration::from_millis(200)];
        if let Some(url) = postgres_database().await {
            config.database = Some(verity_service::config::SecretUrl(url));
        }
        tweak(&mut config);
        let db = Db::connect(&config.db_target().unwrap()).await.unwrap();
        let admin = keys::create(&db, "admin", keys::Scope::Admin)
            .await
            .unwrap()
            .token;
        let state = AppState::with_db(config, db).unwrap();
        App {
            dir: dir.path().to_path_buf(),
            _dir: dir,
            state,
            admin,
        }
    }

    pub fn router(&self) -> Router {
        router(self.state.clone())
    }

    pub async fn key(&self, name: &str, scope: keys::Scope) -> String {
        keys::create(self.state.db(), name, scope)
            .await
            .unwrap()
            .token
    }

    pub async fn send(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let resp = self.router().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        (status, headers, body)
    }

    pub async fn json(&self, req: Request<Body>) -> (StatusCode, Value) {
        let (s, _, b) = self.send(req).await;
        let v = serde_json::from_slice(&b)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&b).into()));
        (s, v)
    }

    pub fn clip(&self, name: &str) -> PathBuf {
        media::short_clip(&self.dir, name).unwrap()
    }

    /// Runs the workers until the returned sender is dropped or sent to.
    pub fn workers(&self) -> tokio::sync::oneshot::Sender<()> {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let s = self.state.clone();
        let (tx2, rx2) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let _ = rx.await;
            let _ = tx2.send(true);
        });
        let stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|v| *v).await;
        };
        tokio::spawn(verity_service::jobs::run_workers(
            s.clone(),
            2,
            stop(rx2.clone()),
        ));
        tokio::spawn(verity_service::webhooks::run_deliveries(s, stop(rx2)));
        tx
    }

    /// Uploads in the (local) object store: one folder each.
    pub fn stored_uploads(&self) -> usize {
        std::fs::read_dir(self.state.config().data.join("store").join("uploads"))
            .map_or(0, |d| d.count())
    }

    /// Rows of `store_orphans`: stored objects let go of but not yet deleted.
    pub async fn orphan_rows(&self) -> i64 {
        verity_service::with_pool!(self.state.db(), |p| sqlx::query_scalar(
            "SELECT COUNT(*) FROM store_orphans"
        )
        .fetch_one(p)
        .await)
        .unwrap()
    }

    /// Files in this replica's scratch folder for uploads.
    pub fn scratch_files(&self) -> usize {
        std::fs::read_dir(self.state.config().uploads_dir()).map_or(0, |d| d.count())
    }

    /// Polls a job until it is final (bounded: the test fails after 600 polls).
    pub async fn wait_job(&self, token: &str, id: &str) -> Value {
        for _ in 0..600 {
            let (s, v) = self.json(get(&format!("/v1/jobs/{id}"), Some(token))).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            if matches!(
                v["status"].as_str(),
                Some("succeeded" | "failed" | "cancelled")
            ) {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("job {id} did not finish");
    }
}

/// With `VERITY_TEST_BACKEND=postgres`, a new, empty database on the server at
/// `VERITY_TEST_POSTGRES` (a URL whose user may create databases), for one app: the same tests
/// then run on Postgres. Otherwise `None` (SQLite under the app's folder).
pub async fn postgres_database() -> Option<String> {
    if std::env::var("VERITY_TEST_BACKEND").ok().as_deref() != Some("postgres") {
        return None;
    }
    let server = std::env::var("VERITY_TEST_POSTGRES")
        .expect("VERITY_TEST_BACKEND=postgres needs VERITY_TEST_POSTGRES (scripts/with-postgres.sh sets it)");
    Some(fresh_database(&server).await)
}

/// Makes a database with a random name on the server at `server` and returns its URL.
pub async fn fresh_database(server: &str) -> String {
    use sqlx::Connection;
    let mut r = [0u8; 8];
    verity_service::keys::fill_random(&mut r).unwrap();
    let hex: String = r.iter().map(|b| format!("{b:02x}")).collect();
    let name = format!("verity_test_{hex}");
    let mut c = sqlx::PgConnection::connect(server).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut c)
        .await
        .unwrap();
    let (base, _) = server.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

pub fn get(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut b = Request::get(uri);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(Body::empty()).unwrap()
}

pub fn post_file(uri: &str, token: Option<&str>, file: &Path) -> Request<Body> {
    let bytes = std::fs::read(file).unwrap();
    let mut b = Request::post(uri).header(header::CONTENT_TYPE, "application/octet-stream");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(Body::from(bytes)).unwrap()
}

/// A multipart form: (name, filename, content).
pub fn multipart(
    uri: &str,
    token: &str,
    parts: &[(&str, Option<&str>, Vec<u8>)],
    extra: &[(&str, &str)],
) -> Request<Body> {
    let boundary = "XverityBoundaryX";
    let mut body = Vec::new();
    for (name, filename, content) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let mut b = Request::post(uri)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    for (k, v) in extra {
        b = b.header(*k, *v);
    }
    b.body(Body::from(body)).unwrap()
}

pub fn error_code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}
