//! Reading small input files (keys, certificates, configs) with a size cap.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Why a small input file was refused. Carried inside an [`io::Error`] of kind
/// `InvalidInput`, so callers keep their own `path: error` reporting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// Not a regular file: reading it could block forever or never end.
    #[error("it is {kind}, not a regular file")]
    NotRegular { kind: &'static str },
    /// Larger than the cap for this kind of file.
    #[error("it is {size} bytes, more than the {limit} bytes allowed for {what}")]
    TooLarge {
        size: u64,
        limit: u64,
        what: &'static str,
    },
}

/// What kind of file `meta` describes, in words: "a directory", "a FIFO (named pipe)", …
pub fn describe_kind(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_file() {
        "a regular file"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

/// Reads the whole of `path`, a regular file of at most `limit` bytes (`what` names the kind of
/// file in the error, e.g. "a private key").
///
/// The file is opened without blocking, so a FIFO is refused instead of waiting for a writer,
/// and the type is checked on the opened handle, so the file cannot be swapped between the check
/// and the read. A file that grows past the cap while it is read is refused too.
pub fn read_bounded(path: &Path, limit: u64, what: &'static str) -> io::Result<Vec<u8>> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(refuse(InputError::NotRegular {
            kind: describe_kind(&meta),
        }));
    }
    if meta.len() > limit {
        return Err(refuse(InputError::TooLarge {
            size: meta.len(),
            limit,
            what,
        }));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    Read::take(&file as &File, limit.saturating_add(1)).read_to_end(&mut bytes)?;
    let size = bytes.len() as u64;
    if size > limit {
        return Err(refuse(InputError::TooLarge { size, limit, what }));
    }
    Ok(bytes)
}

fn refuse(e: InputError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(e: &io::Error) -> String {
        e.get_ref().map(|r| r.to_string()).unwrap_or_default()
    }

    #[test]
    fn reads_a_small_file_and_refuses_a_large_one() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("k.pem");
        std::fs::write(&p, b"0123456789")?;
        assert_eq!(read_bounded(&p, 10, "a key")?, b"0123456789");
        let e = read_bounded(&p, 9, "a key")
            .err()
            .ok_or(anyhow::anyhow!("read"))?;
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(
            reason(&e).contains("10 bytes, more than the 9 bytes allowed for a key"),
            "{e}"
        );
        Ok(())
    }

    #[test]
    fn refuses_a_directory_a_fifo_and_a_device_without_blocking() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let e = read_bounded(dir.path(), 100, "a key")
            .err()
            .ok_or(anyhow::anyhow!("dir"))?;
        assert!(reason(&e).contains("a directory"), "{e}");

        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes())?;
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
        let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
        assert_eq!(rc, 0, "mkfifo");
        // Without a writer, a blocking open would wait forever; this must return at once.
        let e = read_bounded(&fifo, 100, "a key")
            .err()
            .ok_or(anyhow::anyhow!("fifo"))?;
        assert!(reason(&e).contains("a FIFO"), "{e}");

        let e = read_bounded(Path::new("/dev/zero"), 100, "a key")
            .err()
            .ok_or(anyhow::anyhow!("zero"))?;
        assert!(reason(&e).contains("a character device"), "{e}");
        Ok(())
    }
}
