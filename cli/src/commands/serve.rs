//! `verity serve`: the configuration read here, once (file, then flags), then the service
//! library runs it; and `verity serve keys …`.

use verity_provenance::Home;
use verity_service::{ServiceConfig, keys};

use crate::args::{
    ServeArgs, ServeCommand, ServeDbArgs, ServeKeysCommand, ServeReviewersCommand,
    ServeWebhooksCommand,
};
use crate::exit;
use crate::output;

pub fn run(args: &ServeArgs, home: &Home) -> anyhow::Result<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match &args.command {
        Some(ServeCommand::Keys(k)) => runtime.block_on(keys_command(k, home)),
        Some(ServeCommand::Reviewers(r)) => runtime.block_on(reviewers_command(r, home)),
        Some(ServeCommand::Webhooks(ServeWebhooksCommand::Add(a))) => runtime.block_on(async {
            let db = open_db(&a.db, home).await?;
            let made = verity_service::webhooks::add_endpoint(&db, &a.url).await?;
            if a.db.json {
                output::json(
                    &serde_json::json!({"endpoint": made.endpoint, "secret": made.secret}),
                )?;
            } else {
                println!("registered {} ({})", made.endpoint.url, made.endpoint.id);
                println!(
                    "signing secret (shown once; the receiver checks webhook-signature with it):"
                );
                println!("{}", made.secret);
            }
            Ok(exit::OK)
        }),
        None => {
            let config = config(args, home)?;
            runtime.block_on(verity_service::run(config, shutdown_signal(), |addr| {
                // One line on stdout for scripts and tests that start the service on port 0.
                println!("verity serve: listening on http://{addr}");
            }))?;
            Ok(exit::OK)
        }
    }
}

/// The TOML file over the defaults, or the defaults.
fn read_config(path: Option<&std::path::Path>, home: &Home) -> anyhow::Result<ServiceConfig> {
    Ok(match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            ServiceConfig::from_toml(&text, home.root().to_path_buf())
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => ServiceConfig::new(home.root().to_path_buf()),
    })
}

fn config(args: &ServeArgs, home: &Home) -> anyhow::Result<ServiceConfig> {
    let mut c = read_config(args.config.as_deref(), home)?;
    if let Some(l) = args.listen {
        c.listen = l;
    }
    if let Some(d) = &args.data {
        c.data = d.clone();
    }
    if let Some(d) = &args.database {
        c.database = Some(verity_service::config::SecretUrl(d.clone()));
    }
    if let Some(st) = &args.storage {
        c.storage = Some(verity_service::config::SecretUrl(st.clone()));
    }
    // The object store's settings, by the names the object_store crate reads (AWS_REGION,
    // AWS_ENDPOINT, GOOGLE_SERVICE_ACCOUNT, AZURE_STORAGE_ACCOUNT_NAME, …), lowercased.
    c.storage_options = verity_service::config::StorageOptions(
        std::env::vars()
            .filter(|(k, _)| {
                ["AWS_", "GOOGLE_", "AZURE_"]
                    .iter()
                    .any(|p| k.starts_with(p))
            })
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect(),
    );
    if let Some(w) = args.workers {
        c.workers = w;
    }
    c.worker_only |= args.worker_only;
    c.public_resolution |= args.public_resolution;
    if c.worker_only && c.workers == 0 {
        anyhow::bail!("--worker-only with --workers 0 would do nothing");
    }
    Ok(c)
}

/// The service's database, as `verity serve` with these flags would open it (migrated).
async fn open_db(db: &ServeDbArgs, home: &Home) -> anyhow::Result<verity_service::Db> {
    let mut c = read_config(db.config.as_deref(), home)?;
    if let Some(d) = &db.data {
        c.data = d.clone();
    }
    if let Some(d) = &db.database {
        c.database = Some(verity_service::config::SecretUrl(d.clone()));
    }
    Ok(verity_service::Db::connect(&c.db_target()?).await?)
}

async fn keys_command(cmd: &ServeKeysCommand, home: &Home) -> anyhow::Result<u8> {
    match cmd {
        ServeKeysCommand::Create(a) => {
            let db = open_db(&a.db, home).await?;
            let made = keys::create(&db, &a.name, a.scope.parse()?).await?;
            if a.db.json {
                output::json(&serde_json::json!({"key": made.info, "token": made.token}))?;
            } else {
                println!(
                    "made key `{}` ({}, scope {})",
                    made.info.name, made.info.id, made.info.scope
                );
                println!("token (shown once, only its hash is kept):");
                println!("{}", made.token);
            }
        }
        ServeKeysCommand::List(a) => {
            let db = open_db(a, home).await?;
            let list = keys::list(&db).await?;
            if a.json {
                output::json(&list)?;
            } else if list.is_empty() {
                println!("no keys: make one with `verity serve keys create --name N --scope S`");
            } else {
                for k in &list {
                    println!(
                        "{}  {:<20} {:<7} made {}{}",
                        k.prefix,
                        k.name,
                        k.scope.as_str(),
                        k.created_at,
                        k.revoked_at
                            .as_deref()
                            .map(|r| format!(", revoked {r}"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        ServeKeysCommand::Revoke(a) => {
            let db = open_db(&a.db, home).await?;
            let k = keys::revoke(&db, &a.key).await?;
            if a.db.json {
                output::json(&k)?;
            } else {
                println!("revoked key `{}` ({})", k.name, k.id);
            }
        }
    }
    Ok(exit::OK)
}

async fn reviewers_command(cmd: &ServeReviewersCommand, home: &Home) -> anyhow::Result<u8> {
    use verity_service::review::auth;
    match cmd {
        ServeReviewersCommand::Add(a) => {
            let (password, made) = if a.password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                (line.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (verity_service::keys::random_secret(18)?, true)
            };
            let role = auth::Role::parse(&a.role)
                .ok_or_else(|| anyhow::anyhow!("unknown role `{}`", a.role))?;
            let db = open_db(&a.db, home).await?;
            let r = auth::add_reviewer(&db, &a.name, role, &password).await?;
            if a.db.json {
                let mut v = serde_json::json!({"reviewer": r});
                if made {
                    v["password"] = serde_json::Value::String(password);
                }
                output::json(&v)?;
            } else {
                println!("added reviewer `{}` ({}, {})", r.name, r.id, r.role);
                if made {
                    println!("password (shown once; only its argon2id hash is kept):");
                    println!("{password}");
                }
            }
        }
        ServeReviewersCommand::List(a) => {
            let db = open_db(a, home).await?;
            let list = auth::list_reviewers(&db).await?;
            if a.json {
                output::json(&list)?;
            } else if list.is_empty() {
                println!("no reviewers: add one with `verity serve reviewers add NAME --role R`");
            } else {
                for r in &list {
                    println!(
                        "{}  {:<24} {:<8} added {}{}",
                        r.id,
                        r.name,
                        r.role.as_str(),
                        r.created_at,
                        r.disabled_at
                            .as_deref()
                            .map(|d| format!(", disabled {d}"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        ServeReviewersCommand::Disable(a) => {
            let db = open_db(&a.db, home).await?;
            let r = auth::disable_reviewer(&db, &a.reviewer).await?;
            if a.db.json {
                output::json(&r)?;
            } else {
                println!("disabled reviewer `{}` ({})", r.name, r.id);
            }
        }
    }
    Ok(exit::OK)
}

/// Resolves on SIGINT or SIGTERM: the service stops taking requests, finishes those in flight
/// and stops its workers (a job cut off mid-run is taken again after its lease).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
