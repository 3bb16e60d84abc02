//! Uploads: streamed to disk under a folder of their own (a unique name, so the file keeps the
//! client's name and a report reads as the CLI's does), counted against the size limit as they
//! arrive, and removed with their request (a job's upload is copied to the object store first).

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::multipart::{Field, Multipart};
use axum::http::{HeaderMap, header};
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;

use crate::error::ApiError;

/// A folder in this process's scratch space holding one upload, removed when dropped (a job's
/// upload is copied to the object store first).
#[derive(Debug)]
pub struct Upload {
    /// Held so that the folder goes when the upload does.
    _dir: tempfile::TempDir,
    path: PathBuf,
    pub file_name: String,
    pub bytes: u64,
    /// The upload's SHA-256 (hex): what idempotency compares.
    pub sha256: String,
}

impl Upload {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Removes what a killed process left in the scratch folder `root`: entries older than
/// `older_than` (a live request or run is younger; another process may share the folder).
/// Returns how many went.
pub fn sweep_scratch(root: &Path, older_than: std::time::Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(root) else {
        return 0;
    };
    let now = std::time::SystemTime::now();
    let mut gone = 0;
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > older_than);
        if !old {
            continue;
        }
        let p = e.path();
        let removed = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        match removed {
            Ok(()) => gone += 1,
            Err(err) => {
                tracing::warn!(path = %p.display(), error = %err, "could not sweep scratch")
            }
        }
    }
    gone
}

/// The Content-Length check, before a byte is read.
pub fn check_length(headers: &HeaderMap, limit: u64) -> Result<(), ApiError> {
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > limit.saturating_add(64 * 1024) {
            return Err(ApiError::too_large(limit));
        }
    }
    Ok(())
}

/// Whether the request is a multipart form.
pub fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// Streams a raw request body to a new upload. `name` is the client's file name, if it gave one
/// (a `filename` query parameter); else the container is sniffed from the first bytes.
pub async fn from_body(
    root: &Path,
    body: Body,
    name: Option<&str>,
    limit: u64,
) -> Result<Upload, ApiError> {
    let stream = body.into_data_stream();
    write_stream(root, stream, name, limit).await
}

/// The multipart form's parts: the file (`file`, if the form has one) streamed to disk, the
/// other text fields returned by name (each at most 64 KiB).
pub async fn from_multipart(
    root: &Path,
    mut form: Multipart,
    limit: u64,
) -> Result<(Option<Upload>, Vec<(String, String)>), ApiError> {
    let mut upload = None;
    let mut fields = Vec::new();
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(multipart_error(e, limit)),
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            if upload.is_some() {
                return Err(ApiError::bad_request(
                    "the form has more than one `file` part",
                ));
            }
            let file_name = field.file_name().map(str::to_string);
            upload = Some(write_field(root, field, file_name.as_deref(), limit).await?);
        } else {
            let text = read_small_field(field).await?;
            fields.push((name, text));
        }
    }
    Ok((upload, fields))
}

/// Streams a response body fetched from a URL to a new upload.
pub async fn from_response(
    root: &Path,
    resp: reqwest::Response,
    name: Option<&str>,
    limit: u64,
) -> Result<Upload, ApiError> {
    write_stream(root, resp.bytes_stream(), name, limit).await
}

async fn read_small_field(mut field: Field<'_>) -> Result<String, ApiError> {
    let name = field.name().unwrap_or_default().to_string();
    let mut buf = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| ApiError::bad_request(format!("the form's `{name}` part: {e}")))?
    {
        if buf.len() + chunk.len() > 64 * 1024 {
            return Err(ApiError::bad_request(format!(
                "the form's `{name}` part is longer than 64 KiB"
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf)
        .map_err(|_| ApiError::bad_request(format!("the form's `{name}` part is not UTF-8 text")))
}

fn multipart_error(e: axum::extract::multipart::MultipartError, limit: u64) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large(limit)
    } else {
        ApiError::bad_request(format!("the multipart form: {}", e.body_text()))
    }
}

async fn write_field(
    root: &Path,
    field: Field<'_>,
    name: Option<&str>,
    limit: u64,
) -> Result<Upload, ApiError> {
    let stream = futures_util::stream::unfold(field, |mut f| async move {
        match f.chunk().await {
            Ok(Some(c)) => Some((Ok(c), f)),
            Ok(None) => None,
            Err(e) => Some((Err(e), f)),
        }
    });
    write_stream(root, stream, name, limit).await
}

/// An error while reading the body: too large, or the client went away.
trait BodyError: std::fmt::Display {
    fn too_large(&self) -> bool;
}

impl BodyError for axum::Error {
    fn too_large(&self) -> bool {
        std::error::Error::source(self).is_some_and(|s| s.to_string().contains("length limit"))
    }
}

impl BodyError for reqwest::Error {
    fn too_large(&self) -> bool {
        false
    }
}

impl BodyError for axum::extract::multipart::MultipartError {
    fn too_large(&self) -> bool {
        self.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE
    }
}

async fn write_stream<S, E>(
    root: &Path,
    stream: S,
    name: Option<&str>,
    limit: u64,
) -> Result<Upload, ApiError>
where
    S: Stream<Item = Result<bytes::Bytes, E>>,
    E: BodyError,
{
    use sha2::Digest;
    std::fs::create_dir_all(root)
        .map_err(|e| ApiError::internal(&format!("{}: {e}", root.display())))?;
    let dir = tempfile::Builder::new()
        .prefix("up-")
        .tempdir_in(root)
        .map_err(|e| ApiError::internal(&format!("{}: {e}", root.display())))?;
    let part = dir.path().join(".part");
    let mut file = tokio::fs::File::create(&part)
        .await
        .map_err(|e| ApiError::internal(&format!("{}: {e}", part.display())))?;
    let mut hasher = sha2::Sha256::new();
    let mut head = Vec::with_capacity(64);
    let mut bytes: u64 = 0;
    futures_util::pin_mut!(stream);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            if e.too_large() {
                ApiError::too_large(limit)
            } else {
                ApiError::bad_request(format!("the upload was cut short: {e}"))
            }
        })?;
        bytes += chunk.len() as u64;
        if bytes > limit {
            return Err(ApiError::too_large(limit));
        }
        if head.len() < 64 {
            let take = (64 - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        hasher.update(&chunk);
        file.write_all(&chunk)
            .await
            .map_err(|e| ApiError::internal(&format!("{}: {e}", part.display())))?;
    }
    file.flush()
        .await
        .map_err(|e| ApiError::internal(&format!("{}: {e}", part.display())))?;
    drop(file);
    if bytes == 0 {
        return Err(ApiError::bad_request("the upload is empty"));
    }
    let file_name = file_name(name, &head);
    let path = dir.path().join(&file_name);
    std::fs::rename(&part, &path)
        .map_err(|e| ApiError::internal(&format!("{}: {e}", path.display())))?;
    Ok(Upload {
        _dir: dir,
        path,
        file_name,
        bytes,
        sha256: crate::keys::hex(&hasher.finalize()),
    })
}

/// A safe file name: the client's, reduced to plain characters, when it has an extension; else
/// `upload` with the extension its first bytes say.
pub fn file_name(client: Option<&str>, head: &[u8]) -> String {
    if let Some(c) = client {
        let base = c.rsplit(['/', '\\']).next().unwrap_or_default();
        let clean: String = base
            .chars()
            .map(|ch| {
                if ch.is_ascii_alphanumeric() || ch == '.' || ch == '-' || ch == '_' {
                    ch
                } else {
                    '_'
                }
            })
            .collect();
        let clean = clean.trim_start_matches('.');
        let clean: String = clean
            .chars()
            .rev()
            .take(100)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if Path::new(&clean).extension().is_some_and(|e| !e.is_empty()) {
            return clean;
        }
    }
    format!("upload.{}", sniff(head))
}

/// The extension a file's first bytes say (`bin` when they say nothing known).
pub fn sniff(head: &[u8]) -> &'static str {
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return if &head[8..10] == b"qt" { "mov" } else { "mp4" };
    }
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return "webm";
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return "jpg";
    }
    if head.starts_with(b"\x89PNG") {
        return "png";
    }
    if head.starts_with(b"RIFF") && head.len() >= 12 && &head[8..12] == b"AVI " {
        return "avi";
    }
    if head.first() == Some(&0x47) {
        return "ts";
    }
    "bin"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_takes_only_what_is_old() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("run-old");
        std::fs::create_dir(&old).unwrap();
        std::fs::write(old.join("clip.mp4"), b"x").unwrap();
        std::fs::write(dir.path().join("young.bin"), b"x").unwrap();
        // Set back two hours, not waited for.
        let past = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .or_else(|_| std::fs::File::open(&old))
            .and_then(|f| f.set_modified(past))
            .unwrap();
        assert_eq!(
            sweep_scratch(dir.path(), std::time::Duration::from_secs(3600)),
            1
        );
        assert!(!old.exists());
        assert!(dir.path().join("young.bin").exists());
        assert_eq!(
            sweep_scratch(&dir.path().join("missing"), std::time::Duration::ZERO),
            0
        );
    }

    #[test]
    fn names_are_made_safe() {
        assert_eq!(file_name(Some("../../etc/passwd.mp4"), b""), "passwd.mp4");
        assert_eq!(file_name(Some("my clip (1).mov"), b""), "my_clip__1_.mov");
        assert_eq!(file_name(Some(".hidden"), b""), "upload.bin");
        assert_eq!(file_name(Some("C:\\x\\a.mp4"), b""), "a.mp4");
        let mp4 = b"\0\0\0\x20ftypisom\0\0\0\0";
        assert_eq!(file_name(None, mp4), "upload.mp4");
        assert_eq!(file_name(Some("noext"), mp4), "upload.mp4");
        let long = format!("{}.mp4", "a".repeat(300));
        assert_eq!(file_name(Some(&long), b"").len(), 100);
        assert!(file_name(Some(&long), b"").ends_with(".mp4"));
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"\0\0\0\x14ftypqt  \0\0"), "mov");
        assert_eq!(sniff(&[0x1A, 0x45, 0xDF, 0xA3, 1]), "webm");
        assert_eq!(sniff(b"hello"), "bin");
    }
}
