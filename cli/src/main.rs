//! The `verity` binary: parses flags, sets up logging, and calls one library function per command.

mod args;
mod commands;
mod home;
mod marks;
mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

/// Exit codes, documented in the README.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// An error: bad input, a missing file, a failed write. One line on stderr says what.
    pub const ERROR: u8 = 1;
    /// clap's code for a usage error (unknown flag, bad value).
    #[allow(dead_code)]
    pub const USAGE: u8 = 2;
    /// The input was damaged or cut short: the output holds what could be decoded.
    pub const PARTIAL: u8 = 3;
    /// `verify`: the file's credentials are tampered with or invalid.
    pub const INVALID: u8 = 4;
    /// `verify`: the file carries no credentials.
    pub const NO_CREDENTIALS: u8 = 5;
}

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    init_logging(cli.global.verbose);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let home = home::Home::from_env(cli.global.home.clone())?;
    tracing::debug!(home = %home.root().display(), "verity home");
    match &cli.command {
        Command::Probe(a) => commands::probe::run(a),
        Command::Transcode(a) => commands::transcode::run(a, &cli.global),
        Command::Keys(k) => commands::keys::run(k, &home),
        Command::Sign(a) => commands::sign::run(a, &home, &cli.global),
        Command::Verify(a) => commands::verify::run(a, &home),
        Command::Train(t) => commands::train::run(t, &cli.global),
        Command::Eval(e) => commands::eval::run(e, &cli.global),
        Command::Generate(a) => commands::generate::run(a, &home, &cli.global),
    }
}

fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
    verity_media::set_ffmpeg_logging(verbose >= 2);
}

/// Rust ignores SIGPIPE, so `verity verify x.mp4 | head` would panic on the closed pipe. Restore
/// the default: the process ends quietly when the reader goes away, as command-line tools do.
fn restore_sigpipe() {
    // SAFETY: setting the default disposition of one signal at start-up, before any threads.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
