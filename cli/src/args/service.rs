//! `verity serve`: the detection service, and its API keys.

use super::*;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServeArgs {
    #[command(subcommand)]
    pub command: Option<ServeCommand>,

    /// The address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "VERITY_LISTEN", value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,

    /// The service's folder: its SQLite database and uploads [default: HOME/service].
    #[arg(long, env = "VERITY_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// The database instead of DATA/service.db: postgres://USER@HOST:PORT/DB, which several
    /// replicas share (the password from PGPASSWORD or ~/.pgpass, not the command line), or a
    /// SQLite file.
    #[arg(
        long,
        env = "VERITY_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database: Option<String>,

    /// The object store for queued uploads and review videos, which replicas share, instead of
    /// DATA/store: s3://BUCKET/PREFIX, gs://…, az://… or file:///SHARED/PATH. Credentials,
    /// region and endpoint come from the AWS_*, GOOGLE_* and AZURE_* environment.
    #[arg(long, env = "VERITY_STORAGE", value_name = "URL")]
    pub storage: Option<String>,

    /// A TOML file of settings (limits, job leases, webhook retries); flags override it.
    #[arg(long, env = "VERITY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Job workers in this process [default: 1].
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,

    /// Run job workers only: no HTTP listener.
    #[arg(long)]
    pub worker_only: bool,

    /// Serve the Resolution API's read endpoints without an API key.
    #[arg(long)]
    pub public_resolution: bool,
}

#[derive(Debug, Subcommand)]
pub enum ServeCommand {
    /// Make, list or revoke the service's API keys.
    #[command(subcommand)]
    Keys(ServeKeysCommand),
    /// Register the URLs that jobs' webhooks may go to.
    #[command(subcommand)]
    Webhooks(ServeWebhooksCommand),
    /// Add, list or disable the people who sign in to the review page (`/review`).
    #[command(subcommand)]
    Reviewers(ServeReviewersCommand),
}

#[derive(Debug, Subcommand)]
pub enum ServeReviewersCommand {
    /// Add a reviewer. The password is read from standard input with --password-stdin (one
    /// line, at least 12 characters); otherwise one is made and printed once.
    Add(ReviewerAddArgs),
    /// List the reviewers (never their passwords).
    List(ServeDbArgs),
    /// Disable a reviewer by name or id and end their sessions; their decisions stay.
    Disable(ReviewerDisableArgs),
}

#[derive(Debug, Args)]
pub struct ReviewerAddArgs {
    /// The reviewer's name (unique): what they sign in with and what the audit log shows.
    pub name: String,

    /// reviewer (decides in the policy's queues), lead (also escalated items, anyone's audit
    /// log, the export) or admin.
    #[arg(long, default_value = "reviewer", value_parser = ["reviewer", "lead", "admin"])]
    pub role: String,

    /// Read the password from standard input instead of making one.
    #[arg(long)]
    pub password_stdin: bool,

    #[command(flatten)]
    pub db: ServeDbArgs,
}

#[derive(Debug, Args)]
pub struct ReviewerDisableArgs {
    /// The reviewer's name or id.
    pub reviewer: String,

    #[command(flatten)]
    pub db: ServeDbArgs,
}

#[derive(Debug, Subcommand)]
pub enum ServeWebhooksCommand {
    /// Register an endpoint and print its signing secret (`whsec_…`) once: the receiver checks
    /// each delivery's `webhook-signature` with it (the Standard Webhooks scheme).
    Add(WebhookAddArgs),
}

#[derive(Debug, Args)]
pub struct WebhookAddArgs {
    /// The endpoint's URL (http or https).
    pub url: String,

    #[command(flatten)]
    pub db: ServeDbArgs,
}

#[derive(Debug, Subcommand)]
pub enum ServeKeysCommand {
    /// Make a key and print its token once (only its SHA-256 is kept).
    Create(KeyCreateArgs),
    /// List the keys (never their tokens).
    List(ServeDbArgs),
    /// Revoke a key by id or name; requests with it are refused from then on.
    Revoke(KeyRevokeArgs),
}

/// Where the service's database is.
#[derive(Debug, Args)]
pub struct ServeDbArgs {
    /// The service's folder [default: HOME/service].
    #[arg(long, env = "VERITY_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// The database instead of DATA/service.db: postgres://… or a SQLite file.
    #[arg(
        long,
        env = "VERITY_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database: Option<String>,

    /// The service's TOML settings, for its `data` and `database` (as `verity serve --config`).
    #[arg(long, env = "VERITY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct KeyCreateArgs {
    /// A name for the key (unique), e.g. the team or tool that uses it.
    #[arg(long)]
    pub name: String,

    /// What the key may do: verify (POST /v1/verify, byContent), jobs (the jobs API and
    /// verify), sign (POST /v1/sign) or admin (everything, /metrics included).
    #[arg(long, value_parser = ["verify", "jobs", "sign", "admin"])]
    pub scope: String,

    #[command(flatten)]
    pub db: ServeDbArgs,
}

#[derive(Debug, Args)]
pub struct KeyRevokeArgs {
    /// The key's id or name.
    pub key: String,

    #[command(flatten)]
    pub db: ServeDbArgs,
}
