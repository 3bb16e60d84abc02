//! Shared human-output helpers: sizes, rates and durations people can read, and progress bars.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar on stderr with `template` (indicatif's template language), or a hidden one
/// for `--quiet` and `--json`.
pub fn progress_bar(len: u64, template: &str, hidden: bool) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if hidden {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

/// 1234567 → "1.2 MB".
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// 1_234_000 → "1234 kb/s".
pub fn bit_rate(bps: Option<u64>) -> String {
    match bps {
        Some(b) => format!("{} kb/s", (b + 500) / 1000),
        None => "bit rate unknown".into(),
    }
}

/// Seconds with two decimals, or "unknown".
pub fn seconds(s: Option<f64>) -> String {
    match s {
        Some(s) => format!("{s:.2} s"),
        None => "duration unknown".into(),
    }
}

/// Prints a value as pretty JSON on stdout.
pub fn json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1_234_567), "1.2 MB");
        assert_eq!(bit_rate(Some(1_234_000)), "1234 kb/s");
        assert_eq!(seconds(Some(2.0)), "2.00 s");
    }
}
