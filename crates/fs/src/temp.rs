//! Temporary files beside an output, renamed over it when whole, removed on failure, on drop
//! and on interrupt.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

/// Temporaries of a dead process older than this are swept by the next writer of the same
/// target. A live writer touches its file as it writes; one in another PID namespace that
/// shares the folder has not been silent this long.
const STALE_AFTER: Duration = Duration::from_secs(3600);

static COUNTER: AtomicU64 = AtomicU64::new(0);

#[derive(Default)]
struct Registry {
    live: HashSet<PathBuf>,
    /// Set once the process is being interrupted: no new temporaries from then on.
    closed: bool,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

fn registry() -> MutexGuard<'static, Option<Registry>> {
    // A panic elsewhere while holding the lock leaves a set that is still consistent.
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A hidden temporary path beside a target: `.{name}.{pid}-{n}.tmp[.{ext}]`, unique within the
/// process and across threads, keeping the target's extension (muxers choose the container by
/// it). The file itself is created by whoever writes it.
///
/// Dropped without [`persist`](TempPath::persist), the file is removed.
#[derive(Debug)]
pub struct TempPath {
    path: PathBuf,
    /// False once persisted: dropping it then leaves the (renamed) file alone.
    live: bool,
}

impl TempPath {
    /// A new temporary name beside `target`. Fails when the process is being interrupted.
    /// Temporaries that a killed run left for the same target are removed first.
    pub fn beside(target: &Path) -> io::Result<TempPath> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let ext = target
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = target.with_file_name(format!(".{name}.{}-{n}.tmp{ext}", std::process::id()));
        sweep_stale(target, &name);
        let mut reg = registry();
        let reg = reg.get_or_insert_with(Registry::default);
        if reg.closed {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "interrupted: no new files are written",
            ));
        }
        reg.live.insert(path.clone());
        Ok(TempPath { path, live: true })
    }

    /// The temporary's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the temporary over `target` (atomic within one file system). On failure the
    /// temporary is removed.
    pub fn persist(mut self, target: &Path) -> io::Result<()> {
        // The rename happens under the lock, so an interrupt either removes the temporary
        // first (and the rename fails) or finds it already renamed: never half of each.
        let mut reg = registry();
        let closed = reg.as_ref().is_some_and(|r| r.closed);
        let result = if closed {
            Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "interrupted before the output was complete",
            ))
        } else {
            std::fs::rename(&self.path, target)
        };
        if result.is_err() {
            let _ = std::fs::remove_file(&self.path);
        }
        if let Some(r) = reg.as_mut() {
            r.live.remove(&self.path);
        }
        self.live = false;
        result
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if !self.live {
            return;
        }
        let mut reg = registry();
        let _ = std::fs::remove_file(&self.path);
        if let Some(r) = reg.as_mut() {
            r.live.remove(&self.path);
        }
    }
}

/// Writes `bytes` to `target` whole or not at all: into a [`TempPath`] beside it, then renamed
/// over it. The one way verity writes a small file (a record, a key, a report, a checkpoint).
pub fn write_whole(target: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(target, bytes, 0o666, false)
}

/// [`write_whole`] for a secret (a private key): the file has mode 0600 from its creation, so
/// it is never readable by others, not even for a moment, and it is synced before the rename.
pub fn write_private(target: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(target, bytes, 0o600, true)
}

fn write_with(target: &Path, bytes: &[u8], mode: u32, sync: bool) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = TempPath::beside(target)?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(tmp.path())?;
    f.write_all(bytes)?;
    if sync {
        f.sync_all()?;
    }
    drop(f);
    tmp.persist(target)
}

/// Removes every live temporary of this process and refuses new ones; returns how many files
/// were removed. For a signal handler that then ends the process: the outputs being written
/// never appear, and no hidden file is left behind.
pub fn remove_all_temporaries() -> usize {
    let mut reg = registry();
    let reg = reg.get_or_insert_with(Registry::default);
    reg.closed = true;
    reg.live
        .drain()
        .filter(|p| std::fs::remove_file(p).is_ok())
        .count()
}

/// Removes `.{name}.{pid}-{n}.tmp…` files beside `target` whose process is gone and which have
/// not been written for [`STALE_AFTER`]. Best effort: what cannot be read or removed is left.
fn sweep_stale(target: &Path, name: &str) {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.");
    let me = std::process::id();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|f| f.strip_prefix(&prefix)) else {
            continue;
        };
        let Some(pid) = temp_owner(rest) else {
            continue;
        };
        if pid == me || process_alive(pid) {
            continue;
        }
        let old = entry
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .and_then(|m| m.modified().ok())
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age > STALE_AFTER);
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The PID in `{pid}-{n}.tmp[.ext]`, or `None` when the name is not one of ours.
fn temp_owner(rest: &str) -> Option<u32> {
    let (pid, after) = rest.split_once('-')?;
    let (n, tail) = after.split_once(".tmp")?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(pid) || !digits(n) || !(tail.is_empty() || tail.starts_with('.')) {
        return None;
    }
    pid.parse().ok()
}

fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return true; // not a single process: leave it alone
    }
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_hidden_and_keep_the_extension() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let target = dir.path().join("clip.mp4");
        let a = TempPath::beside(&target)?;
        let b = TempPath::beside(&target)?;
        assert_ne!(a.path(), b.path());
        let name = a.path().file_name().and_then(|n| n.to_str()).unwrap_or("");
        assert!(name.starts_with(".clip.mp4."), "{name}");
        assert!(name.ends_with(".tmp.mp4"), "{name}");
        assert_eq!(
            temp_owner(&name[".clip.mp4.".len()..]),
            Some(std::process::id())
        );
        Ok(())
    }

    #[test]
    fn persist_renames_and_drop_removes() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let target = dir.path().join("out.bin");
        let t = TempPath::beside(&target)?;
        std::fs::write(t.path(), b"whole")?;
        t.persist(&target)?;
        assert_eq!(std::fs::read(&target)?, b"whole");

        let t = TempPath::beside(&target)?;
        let p = t.path().to_path_buf();
        std::fs::write(&p, b"half")?;
        drop(t);
        assert!(!p.exists());
        assert_eq!(std::fs::read(&target)?, b"whole");
        assert_eq!(std::fs::read_dir(dir.path())?.count(), 1);
        Ok(())
    }

    #[test]
    fn a_dead_process_s_old_temporary_is_swept_and_others_are_kept() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let target = dir.path().join("out.mp4");
        // PIDs above the kernel's maximum (4194304) are never alive.
        let dead_old = dir.path().join(".out.mp4.99999999-0.tmp.mp4");
        let dead_new = dir.path().join(".out.mp4.99999999-1.tmp.mp4");
        let mine_old = dir
            .path()
            .join(format!(".out.mp4.{}-999.tmp", std::process::id()));
        let stranger = dir.path().join(".out.mp4.backup");
        for p in [&dead_old, &dead_new, &mine_old, &stranger] {
            std::fs::write(p, b"x")?;
        }
        let long_ago = SystemTime::now() - Duration::from_secs(2 * 3600);
        for p in [&dead_old, &mine_old, &stranger] {
            std::fs::File::options()
                .write(true)
                .open(p)?
                .set_modified(long_ago)?;
        }
        let _t = TempPath::beside(&target)?;
        assert!(!dead_old.exists(), "a dead run's old temporary is swept");
        assert!(
            dead_new.exists(),
            "a recent one is left: its writer may be elsewhere"
        );
        assert!(mine_old.exists(), "this process's own are left");
        assert!(stranger.exists(), "files that are not ours are left");
        Ok(())
    }

    #[test]
    fn temp_owner_reads_only_our_names() {
        assert_eq!(temp_owner("123-4.tmp"), Some(123));
        assert_eq!(temp_owner("123-4.tmp.mp4"), Some(123));
        assert_eq!(temp_owner("123-4.tmpx"), None);
        assert_eq!(temp_owner("abc-4.tmp"), None);
        assert_eq!(temp_owner("123.tmp"), None);
    }
}
