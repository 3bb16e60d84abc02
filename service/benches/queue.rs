//! The job queue's own cost per job, with no-op jobs, on SQLite and on Postgres: N tasks pushed
//! one per transaction (as `POST /v1/jobs` does), then one worker with the service's queue
//! settings takes and completes them with a handler that does nothing. Rounds alternate the two
//! engines. Postgres comes from `VERITY_TEST_POSTGRES` (`scripts/with-postgres.sh` sets it).
//!
//!   scripts/with-postgres.sh cargo bench -p verity-service --bench queue [-- JOBS ROUNDS]
//!
//! It prints per engine the median over rounds of the push time per job and of the claim +
//! complete time per job (from the worker's start to the last completion, divided by N).

#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark: a failure stops it, with the reason

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use apalis::prelude::*;
use serde::{Deserialize, Serialize};
use verity_service::db::{Db, Target, Tx};
use verity_service::jobs::QueueSettings;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Noop {
    n: usize,
}

const QUEUE: &str = "verity.bench";

#[derive(Clone)]
struct Done {
    count: Arc<AtomicUsize>,
    all: usize,
    tx: Arc<tokio::sync::watch::Sender<bool>>,
}

async fn noop(_task: Noop, done: Data<Done>) -> Result<(), BoxDynError> {
    if done.count.fetch_add(1, Ordering::SeqCst) + 1 == done.all {
        let _ = done.tx.send(true);
    }
    Ok(())
}

/// Pushes `n` tasks, one transaction each; the time per push.
async fn push(db: &Db, n: usize) -> Duration {
    let t = Instant::now();
    for i in 0..n {
        let payload = serde_json::to_vec(&Noop { n: i }).unwrap_or_default();
        let task = TaskBuilder::new(payload).build();
        let mut tx: Tx = db.begin().await.expect("begin");
        verity_service::jobs::push_task(&mut tx, QUEUE, task)
            .await
            .expect("push");
        tx.commit().await.expect("commit");
    }
    t.elapsed() / n as u32
}

/// Runs one worker until all `n` tasks are done; the time per task.
async fn drain(db: &Db, n: usize) -> Duration {
    let settings = verity_service::config::JobSettings {
        poll_interval: Duration::from_millis(10),
        ..Default::default()
    };
    let q = QueueSettings::new(&settings, QUEUE, 8);
    let (tx, mut rx) = tokio::sync::watch::channel(false);
    let done = Done {
        count: Arc::new(AtomicUsize::new(0)),
        all: n,
        tx: Arc::new(tx),
    };
    let t = Instant::now();
    let mut stop = rx.clone();
    let monitor = verity_service::queue_monitor!(db, q, Noop, "bench", done.clone(), 8, noop);
    let run = tokio::spawn(monitor.run_with_signal(async move {
        let _ = stop.wait_for(|v| *v).await;
        Ok(())
    }));
    let _ = rx.wait_for(|v| *v).await;
    let per = t.elapsed() / n as u32;
    let _ = run.await;
    per
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().filter(|a| !a.starts_with("--")).collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let rounds: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut engines: Vec<(&str, Db)> = vec![(
        "sqlite",
        Db::connect(&Target::Sqlite(dir.path().join("bench.db")))
            .await
            .expect("sqlite"),
    )];
    match std::env::var("VERITY_TEST_POSTGRES") {
        Ok(server) => {
            use sqlx::Connection;
            let name = format!("verity_bench_{}", std::process::id());
            let mut c = sqlx::PgConnection::connect(&server)
                .await
                .expect("postgres");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut c)
                .await
                .expect("create database");
            let url = format!("{}/{name}", server.rsplit_once('/').map_or("", |p| p.0));
            engines.push((
                "postgres",
                Db::connect(&Target::Postgres(url)).await.expect("postgres"),
            ));
        }
        Err(_) => {
            eprintln!("no VERITY_TEST_POSTGRES: SQLite only (run under scripts/with-postgres.sh)")
        }
    }
    let mut pushes: Vec<Vec<Duration>> = vec![Vec::new(); engines.len()];
    let mut drains: Vec<Vec<Duration>> = vec![Vec::new(); engines.len()];
    for round in 0..rounds {
        for (i, (name, db)) in engines.iter().enumerate() {
            let p = push(db, n).await;
            let d = drain(db, n).await;
            eprintln!("round {round} {name}: push {p:?}/job, claim+complete {d:?}/job");
            pushes[i].push(p);
            drains[i].push(d);
        }
    }
    println!(
        "engine     push/job   claim+complete/job   ({n} no-op jobs, median of {rounds} rounds)"
    );
    for (i, (name, _)) in engines.iter().enumerate() {
        println!(
            "{name:<10} {:>8.2?}   {:>8.2?}",
            median(pushes[i].clone()),
            median(drains[i].clone())
        );
    }
}
