//! The `verity` binary: parses flags, sets up logging, and calls one library function per command.

mod args;
mod commands;
mod home;
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
    /// `verify`: the credentials could not be checked (a remote manifest, not fetched).
    pub const NOT_CHECKED: u8 = 6;
    /// `detect`: the classifier scores the file above its operating threshold.
    pub const LIKELY_SYNTHETIC: u8 = 7;
}

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    // The service stops gracefully on its own signal handlers; every other command removes its
    // unfinished outputs and exits.
    let serving = matches!(&cli.command, Command::Serve(a) if a.command.is_none());
    if !serving {
        clean_up_on_interrupt();
    }
    init_logging(cli.global.verbose, serving);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            match hint(&e) {
                Some(h) => eprintln!("error: {}; {h}", one_line(&e)),
                None => eprintln!("error: {}", one_line(&e)),
            }
            ExitCode::from(exit::ERROR)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let home = home::HomeDir::from_env(cli.global.home.clone())?;
    tracing::debug!(home = %home.root().display(), "verity home");
    match &cli.command {
        Command::Probe(a) => commands::probe::run(a),
        Command::Transcode(a) => commands::transcode::run(a, &cli.global),
        Command::Keys(k) => commands::keys::run(k, &home),
        Command::Sign(a) => commands::sign::run(a, &home, &cli.global),
        Command::Verify(a) => commands::verify::run(a, &home),
        Command::Detect(a) => commands::detect::run(a),
        Command::Train(t) => commands::train::run(t, &cli.global),
        Command::Eval(e) => commands::eval::run(e, &cli.global),
        Command::Generate(a) => commands::generate::run(a, &home, &cli.global),
        Command::Serve(a) => commands::serve::run(a, &home),
    }
}

/// What to do about an error, in the CLI's words (its commands and flags): the libraries say
/// what is wrong and leave this to the caller.
fn hint(e: &anyhow::Error) -> Option<&'static str> {
    use verity_generate::GenerateError;
    use verity_provenance::ProvenanceError;
    use verity_signing::SigningError;
    let signing = |s: &SigningError| match s {
        SigningError::NoKeys { .. } => Some(
            "run `verity keys init` to make a CA and a signing certificate, or pass --key KEY.pem --chain CHAIN.pem",
        ),
        SigningError::KeysExist { .. } => Some("pass --force to replace them"),
        _ => None,
    };
    e.chain().find_map(|cause| {
        if let Some(s) = cause.downcast_ref::<SigningError>() {
            return signing(s);
        }
        // Wrapped transparently, a signing error is not a cause of its own in the chain.
        if let Some(ProvenanceError::Signing(s)) = cause.downcast_ref::<ProvenanceError>() {
            return signing(s);
        }
        match cause.downcast_ref::<GenerateError>() {
            Some(GenerateError::MissingWeights { .. }) => Some(
                "pass --model DIR with a trained model, or train one with `verity train generator`",
            ),
            _ => None,
        }
    })
}

/// An error and its causes on one line. Many errors (verity's `path: {source}` variants, and
/// c2pa's) already print their cause, and also return it as their source: a cause whose text is
/// already in the line is not printed again.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Text logs on stderr; the service logs JSON lines (at info by default), one per event, with
/// the request id in each request's span.
fn init_logging(verbose: u8, service: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (verbose, service) {
        (0, false) => "warn",
        // The service's own events; its libraries' progress chatter stays out.
        (0, true) => "info,c2pa=warn,sqlx=warn,apalis=warn,apalis_core=warn,apalis_sqlite=warn",
        (1, _) => "info",
        (2, _) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = if service {
        builder.json().with_current_span(true).try_init()
    } else {
        builder.try_init()
    };
    verity_media::set_ffmpeg_logging(verbose >= 2);
}

/// SIGINT, SIGTERM and SIGHUP end the process the way a shell expects (exit 128 + the signal),
/// after removing every unfinished output: the hidden temporaries that transcode, sign and
/// generate write beside their outputs. Nothing is renamed into place after the signal, so an
/// interrupted command leaves no file, whole or partial, that it was writing.
fn clean_up_on_interrupt() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(
                "cannot watch for interrupts ({e}); an interrupted run may leave temporary files"
            );
            return;
        }
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let removed = verity_fs::remove_all_temporaries();
            tracing::info!(signal, removed, "interrupted; unfinished outputs removed");
            std::process::exit(128 + signal);
        }
    });
}

/// Rust ignores SIGPIPE, so `verity verify x.mp4 | head` would panic on the closed pipe. Restore
/// the default: the process ends quietly when the reader goes away, as command-line tools do.
fn restore_sigpipe() {
    // SAFETY: setting the default disposition of one signal at start-up, before any threads.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
