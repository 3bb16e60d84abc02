//! Helpers shared by the CLI tests.
#![allow(dead_code)] // each test binary uses its own subset
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::path::Path;

use assert_cmd::Command;

/// The `verity` binary with its home at `home` and no RUST_LOG from the caller.
pub fn verity(home: &Path) -> Command {
    let mut c = Command::cargo_bin("verity").unwrap_or_else(|e| panic!("verity binary: {e}"));
    c.env("VERITY_HOME", home).env_remove("RUST_LOG");
    c
}

/// Parses a command's stdout as JSON, or fails showing what it printed.
pub fn json(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(out)))
}

/// `verity verify --json FILE` in `home`: asserts the exit code and returns the report.
pub fn verify_json(home: &Path, file: &Path, code: i32) -> serde_json::Value {
    let out = verity(home)
        .args(["verify", "--json"])
        .arg(file)
        .assert()
        .code(code)
        .get_output()
        .stdout
        .clone();
    json(&out)
}
