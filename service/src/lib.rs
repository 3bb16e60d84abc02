//! verity-service: `verity serve`, the detection service for moderation teams.
//!
//! Every handler is a thin call into the libraries the CLI uses: `POST /v1/verify` calls
//! `verity_detect::verify` as `verity verify` does, `POST /v1/sign` the stamping core as
//! `verity sign` does. Around them: a persistent job queue (apalis on SQLite, or on Postgres shared
//! by many replicas) with leases and
//! bounded attempts, Standard Webhooks, API keys stored hashed, the C2PA Soft Binding
//! Resolution API over the service's manifest store, health, metrics, and an OpenAPI 3.1
//! document generated from the handlers.
//!
//! ```text
//! router(state)                 the axum Router: tested with `oneshot`, no socket
//! run(config, stop, on_listen)  opens the database, runs the workers and the listener until `stop`
//! ```

pub mod auth;
pub mod config;
pub mod db;
mod error;
pub mod extract;
pub mod jobs;
pub mod keys;
pub mod manifests;
pub mod metrics;
pub mod net;
mod openapi;
pub mod orphans;
pub mod resolver;
pub mod review;
pub mod routes;
pub mod source;
pub mod state;
pub mod storage;
pub mod upload;
pub mod verify;
pub mod webhooks;

use std::future::Future;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use config::ServiceConfig;
pub use db::Db;
pub use error::{ApiError, ErrorBody, Result, ServiceError};
pub use openapi::ApiDoc;
pub use state::AppState;

/// An error and its causes on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !line.contains(&t) {
            line.push_str(": ");
            line.push_str(&t);
        }
        cur = c.source();
    }
    line
}

/// The service's routes over `state`.
pub fn router(state: AppState) -> Router {
    let uploads = Router::new()
        .route("/v1/verify", post(routes::verify::verify))
        .route(
            "/v1/jobs",
            post(routes::jobs::create).get(routes::jobs::list),
        )
        .route("/v1/sign", post(routes::sign::sign))
        .route(
            "/v1/matches/byContent",
            post(routes::resolution::by_content),
        )
        // Uploads are counted against the configured limit as they stream to disk.
        .layer(DefaultBodyLimit::disable());
    let x_request_id = axum::http::HeaderName::from_static("x-request-id");
    Router::new()
        .merge(uploads)
        .route(
            "/v1/jobs/{id}",
            get(routes::jobs::get).delete(routes::jobs::delete),
        )
        .route(
            "/v1/matches/byBinding",
            get(routes::resolution::by_binding_get).post(routes::resolution::by_binding_post),
        )
        .route("/v1/manifests/{manifest_id}", get(routes::resolution::manifest))
        .route(
            "/v1/services/supportedAlgorithms",
            get(routes::resolution::supported),
        )
        .route(
            "/v1/services/capabilities",
            get(routes::resolution::capabilities),
        )
        .route("/v1/services/status", get(routes::resolution::status))
        .route(
            "/.well-known/c2pa-soft-binding-resolution",
            get(routes::resolution::well_known),
        )
        .route("/v1/openapi.json", get(openapi::document))
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz))
        .route("/metrics", get(routes::health::metrics))
        .merge(review::routes())
        .fallback(|| async { ApiError::not_found("no such endpoint; see /v1/openapi.json") })
        .with_state(state)
        .layer(axum::middleware::from_fn(refuse_nul))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(
            |req: &axum::http::Request<axum::body::Body>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                // The path only: a query may carry a binding value, never a secret, but
                // headers (the token) are never logged.
                tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
            },
        ))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
}

/// Answers a URL with an encoded NUL (`%00`) before any handler: in the path, 404 (no id or name
/// holds one); in the query, 400. Postgres's text cannot hold one, and SQLite's answers must be
/// the same.
async fn refuse_nul(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let has = |s: &str| s.as_bytes().windows(3).any(|w| w == b"%00");
    if has(req.uri().path()) {
        // No resource is named with one.
        return ApiError::not_found("no such resource (its name holds a NUL character)")
            .into_response();
    }
    if req.uri().query().is_some_and(has) {
        return ApiError::bad_request("the query holds a NUL character (%00)").into_response();
    }
    next.run(req).await
}

/// Runs the service until `shutdown` resolves: the workers (unless there are none) and the
/// HTTP listener (unless `worker_only`). `on_listen` is told the bound address.
pub async fn run(
    config: ServiceConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_listen: impl FnOnce(std::net::SocketAddr),
) -> Result<()> {
    config
        .review
        .check()
        .map_err(|e| ServiceError::Review(format!("the configuration's review policy: {e}")))?;
    std::fs::create_dir_all(config.uploads_dir())
        .map_err(|e| ServiceError::io(&config.uploads_dir(), e))?;
    // What a killed process of this folder left behind: older than any live run can be.
    let stale = config.limits.verify_timeout + std::time::Duration::from_secs(3600);
    let scratch = config.uploads_dir();
    let swept = tokio::task::spawn_blocking(move || upload::sweep_scratch(&scratch, stale))
        .await
        .unwrap_or(0);
    if swept > 0 {
        tracing::info!(swept, "removed old scratch left by a stopped process");
    }
    let state = AppState::open(config.clone()).await?;
    // What a stopped process let go of but did not delete, before taking new work.
    orphans::startup_sweep(state.db(), state.storage()).await;
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|v| *v).await;
    };
    let mut tasks = tokio::task::JoinSet::new();
    if config.workers > 0 {
        tasks.spawn(jobs::run_workers(
            state.clone(),
            config.workers,
            stopped(rx.clone()),
        ));
        tasks.spawn(webhooks::run_deliveries(state.clone(), stopped(rx.clone())));
    }
    tasks.spawn(orphans::run_sweeps(
        state.db().clone(),
        state.storage().clone(),
        stopped(rx.clone()),
    ));
    if config.worker_only {
        tracing::info!(workers = config.workers, "running workers only");
        stopped(rx.clone()).await;
    } else {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| ServiceError::io(std::path::Path::new(&config.listen.to_string()), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| ServiceError::io(std::path::Path::new(&config.listen.to_string()), e))?;
        tracing::info!(%addr, workers = config.workers, "listening");
        on_listen(addr);
        axum::serve(listener, router(state.clone()))
            .with_graceful_shutdown(stopped(rx.clone()))
            .await
            .map_err(|e| ServiceError::io(std::path::Path::new(&addr.to_string()), e))?;
    }
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Err(e)) => {
                tracing::error!(error = %error_chain(&e), "a worker stopped with an error")
            }
            Err(e) => tracing::error!(error = %e, "a worker task failed"),
            Ok(Ok(())) => {}
        }
    }
    state.db().close().await;
    Ok(())
}
