//! c2pa-python for the interop tests: the venv that `scripts/setup-interop.sh` makes, and the
//! driver script beside this file. Included by path from each crate's tests.

#![allow(dead_code, clippy::panic, clippy::unwrap_used)] // tests fail by panicking

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root: the first folder above this crate that holds the driver script.
pub fn workspace() -> PathBuf {
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    while !dir.join("tests/interop/c2pa_python.py").is_file() {
        assert!(
            dir.pop(),
            "no workspace root above {}",
            env!("CARGO_MANIFEST_DIR")
        );
    }
    dir
}

/// The venv's python, or `None` (with a message) when `scripts/setup-interop.sh` has not run.
/// Under `make test` (`VERITY_REQUIRE_INTEROP=1`) a missing venv fails instead.
pub fn python() -> Option<PathBuf> {
    let p = workspace().join(".cache/venv-c2pa/bin/python");
    if p.is_file() {
        return Some(p);
    }
    let msg =
        "c2pa-python is not installed: run `scripts/setup-interop.sh` (or `make test`, which does)";
    if std::env::var_os("VERITY_REQUIRE_INTEROP").is_some_and(|v| v == "1") {
        panic!("{msg}");
    }
    eprintln!("skipping: {msg}");
    None
}

/// Runs the driver script with `args`; its standard output. A failure fails the test.
pub fn py(python: &Path, args: &[&OsStr]) -> String {
    let out = Command::new(python)
        .arg(workspace().join("tests/interop/c2pa_python.py"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "c2pa-python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
