//! Where queued uploads and the videos kept for review live between replicas: an object store
//! (the `object_store` crate). The local filesystem by default (`DATA/store`), or S3, GCS or
//! Azure by URL (`--storage s3://bucket/prefix`), so that a job sent to one replica can run on
//! another and any replica serves any review item's video.
//!
//! Requests stream to a replica's own scratch folder first (the size limit is counted there);
//! a job's upload is then written to the store in parts (multipart upload, [`PART_BYTES`] each)
//! under `uploads/<id>/<name>`, and the worker that runs it streams it back to its own scratch
//! folder, since the decoders read files. A kept review video is
//! `review/<item>/<random>/video.<ext>`; a delete on the local filesystem also takes what a write
//! cut short left.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, WriteMultipart};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::{Result, ServiceError};

/// The size of each part of a multipart upload (S3's minimum is 5 MiB).
pub const PART_BYTES: usize = 8 * 1024 * 1024;
/// Parts in flight at once while uploading.
const PARTS_IN_FLIGHT: usize = 4;

/// The service's object store.
#[derive(Clone, Debug)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    shown: String,
    /// The folder of a store on the local filesystem (where a write cut short leaves files).
    local_root: Option<PathBuf>,
}

impl Storage {
    /// A store on the local filesystem under `root` (made if missing).
    pub fn local(root: &FsPath) -> Result<Storage> {
        std::fs::create_dir_all(root).map_err(|e| ServiceError::io(root, e))?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(root)
            .map_err(|e| ServiceError::Storage(e.to_string()))?
            .with_automatic_cleanup(true);
        Ok(Storage {
            store: Arc::new(fs),
            prefix: Path::default(),
            shown: root.display().to_string(),
            local_root: Some(root.to_path_buf()),
        })
    }

    /// The store at `url`: `file:///path`, `memory://`, `s3://bucket/prefix`, `gs://…`,
    /// `az://…` (or `https://` forms the crate knows). `options` are the store's settings
    /// (credentials, region, endpoint) as the crate names them, e.g. `aws_access_key_id`; the
    /// CLI passes the `AWS_*`, `GOOGLE_*` and `AZURE_*` environment.
    pub fn open(url: &str, options: impl IntoIterator<Item = (String, String)>) -> Result<Storage> {
        let shown = crate::db::redact_url(url);
        if let Some(path) = url.strip_prefix("file://") {
            if path.is_empty() || !path.starts_with('/') {
                return Err(ServiceError::Storage(format!(
                    "{shown}: a file:// store needs an absolute path, e.g. file:///srv/verity/store"
                )));
            }
            return Storage::local(FsPath::new(path));
        }
        // The object store's HTTPS (rustls) uses ring, the crypto already in the tree; set once
        // per process, and a provider set before (the same) is kept.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let parsed = url::Url::parse(url)
            .map_err(|e| ServiceError::Storage(format!("{shown}: not a URL: {e}")))?;
        // The crate's errors may quote the URL, password and all.
        let hide = |e: object_store::Error| {
            let mut m = e.to_string().replace(url, &shown);
            m = m.replace(parsed.as_str(), &shown);
            if let Some(pw) = parsed.password().filter(|p| !p.is_empty()) {
                m = m.replace(pw, "***");
            }
            ServiceError::Storage(format!("{shown}: {m}"))
        };
        let (store, prefix) = object_store::parse_url_opts(&parsed, options).map_err(hide)?;
        Ok(Storage {
            store: Arc::from(store),
            prefix,
            shown,
            local_root: None,
        })
    }

    /// Where the store is, without credentials.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    fn path(&self, key: &str) -> Result<Path> {
        let rel = Path::parse(key)
            .map_err(|e| ServiceError::Storage(format!("an invalid object key `{key}`: {e}")))?;
        Ok(Path::from_iter(self.prefix.parts().chain(rel.parts())))
    }

    /// Copies the local file `from` to `key`, in parts; `key` exists only once every part is in.
    pub async fn put_file(&self, key: &str, from: &FsPath) -> Result<u64> {
        let path = self.path(key)?;
        let mut file = tokio::fs::File::open(from)
            .await
            .map_err(|e| ServiceError::io(from, e))?;
        let upload = self
            .store
            .put_multipart(&path)
            .await
            .map_err(|e| self.error("starting an upload to", key, e))?;
        let mut w = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut buf = vec![0u8; 1024 * 1024];
        let mut total = 0u64;
        loop {
            let n = match file.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => {
                    let _ = w.abort().await;
                    return Err(ServiceError::io(from, e));
                }
            };
            if n == 0 {
                break;
            }
            total += n as u64;
            if let Err(e) = w.wait_for_capacity(PARTS_IN_FLIGHT).await {
                let _ = w.abort().await;
                return Err(self.error("uploading", key, e));
            }
            w.write(&buf[..n]);
        }
        w.finish()
            .await
            .map_err(|e| self.error("finishing the upload of", key, e))?;
        Ok(total)
    }

    /// Streams `key` to the local file `to` (made), refusing more than `limit` bytes.
    pub async fn get_file(&self, key: &str, to: &FsPath, limit: u64) -> Result<u64> {
        let path = self.path(key)?;
        let got = self
            .store
            .get(&path)
            .await
            .map_err(|e| self.error("reading", key, e))?;
        let mut out = tokio::fs::File::create(to)
            .await
            .map_err(|e| ServiceError::io(to, e))?;
        let mut stream = got.into_stream();
        let mut total = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.error("reading", key, e))?;
            total += chunk.len() as u64;
            if total > limit {
                return Err(ServiceError::Storage(format!(
                    "{key} is larger than the limit of {limit} bytes"
                )));
            }
            out.write_all(&chunk)
                .await
                .map_err(|e| ServiceError::io(to, e))?;
        }
        out.flush().await.map_err(|e| ServiceError::io(to, e))?;
        Ok(total)
    }

    /// A byte range of `key` (`None`: all of it) and the object's whole size.
    pub async fn get_range(
        &self,
        key: &str,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<(
        futures_util::stream::BoxStream<'static, Result<bytes::Bytes>>,
        u64,
        std::ops::Range<u64>,
    )> {
        let path = self.path(key)?;
        let opts = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let got = self
            .store
            .get_opts(&path, opts)
            .await
            .map_err(|e| self.error("reading", key, e))?;
        let size = got.meta.size;
        let served = got.range.clone();
        let shown = key.to_string();
        let stream = got
            .into_stream()
            .map(move |c| c.map_err(|e| ServiceError::Storage(format!("reading {shown}: {e}"))))
            .boxed();
        Ok((stream, size, served))
    }

    /// The size of `key`, in bytes.
    pub async fn size(&self, key: &str) -> Result<u64> {
        let path = self.path(key)?;
        let meta = self
            .store
            .head(&path)
            .await
            .map_err(|e| self.error("reading", key, e))?;
        Ok(meta.size)
    }

    /// Removes `key`, and on the local filesystem what a write of it cut short left; a missing
    /// object is not an error.
    pub async fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(self.error("removing", key, e)),
        }
        self.remove_partial(&path).await
    }

    /// On the local filesystem: the staging files of writes of `path` that a killed process
    /// left (`<file>#<n>`: the store writes there, then renames), and the folders left empty
    /// below the store's root. Elsewhere nothing: an incomplete multipart upload on S3 is the
    /// bucket's lifecycle rule's to abort.
    async fn remove_partial(&self, path: &Path) -> Result<()> {
        let Some(root) = &self.local_root else {
            return Ok(());
        };
        let file = path
            .parts()
            .fold(root.clone(), |p, part| p.join(part.as_ref()));
        let (Some(dir), Some(name)) = (file.parent(), file.file_name().and_then(|n| n.to_str()))
        else {
            return Ok(());
        };
        let mut entries = match tokio::fs::read_dir(dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(ServiceError::io(dir, e)),
        };
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|e| ServiceError::io(dir, e))?
        {
            let entry_name = entry.file_name();
            let staged = entry_name
                .to_str()
                .and_then(|n| n.strip_prefix(name))
                .and_then(|n| n.strip_prefix('#'))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if staged {
                match tokio::fs::remove_file(entry.path()).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(ServiceError::io(&entry.path(), e)),
                }
            }
        }
        // A folder still holding anything stays (remove_dir refuses it), and so do those above;
        // the top ones (`uploads`, `review`) stay, for the writes that make folders in them.
        let mut folder = Some(dir);
        while let Some(d) = folder.filter(|d| {
            d.strip_prefix(root)
                .is_ok_and(|rel| rel.components().count() >= 2)
        }) {
            if tokio::fs::remove_dir(d).await.is_err() {
                break;
            }
            folder = d.parent();
        }
        Ok(())
    }

    /// Whether the store answers: a HEAD of a key that need not exist (it needs only the read
    /// permission the service has anyway, not a listing).
    pub async fn ping(&self) -> bool {
        let Ok(path) = self.path("readyz") else {
            return false;
        };
        matches!(
            self.store.head(&path).await,
            Ok(_) | Err(object_store::Error::NotFound { .. })
        )
    }

    fn error(&self, doing: &str, key: &str, e: object_store::Error) -> ServiceError {
        let m = format!("{doing} {key} in {}: {e}", self.shown);
        match e {
            object_store::Error::NotFound { .. } => ServiceError::StorageNotFound(m),
            _ => ServiceError::Storage(m),
        }
    }
}

/// Brings in what an earlier version kept by absolute path, before the object store: a queued
/// job's upload (under `DATA/uploads`) and an open review item's video (under `DATA/review`).
/// Each file is copied into the store under the key it would have now, its row is pointed at
/// it, and the file goes; a file already gone leaves the row without it (the job then fails
/// saying so). Returns how many were brought in. A no-op on a database made by this version.
pub async fn adopt_legacy_files(db: &crate::db::Db, storage: &Storage) -> Result<usize> {
    use crate::db::with_pool;
    let jobs: Vec<(String, String, String)> = with_pool!(db, |p| sqlx::query_as(
        "SELECT id, upload_path, file_name FROM verify_jobs WHERE upload_path LIKE '/%'"
    )
    .fetch_all(p)
    .await)?;
    let items: Vec<(String, String)> = with_pool!(db, |p| sqlx::query_as(
        "SELECT id, video_path FROM review_items WHERE video_path LIKE '/%'"
    )
    .fetch_all(p)
    .await)?;
    let mut adopted = 0;
    for (id, old, name) in jobs {
        let key = upload_key(&name)?;
        adopted += usize::from(adopt_file(db, storage, Holder::Job, &id, &old, key).await?);
    }
    for (id, old) in items {
        let ext = FsPath::new(&old).extension().and_then(|e| e.to_str());
        let key = crate::review::store::item_video_key(&id, ext)?;
        adopted += usize::from(adopt_file(db, storage, Holder::Item, &id, &old, key).await?);
    }
    if adopted > 0 {
        tracing::info!(
            adopted,
            "files kept by an earlier version moved into the object store"
        );
    }
    Ok(adopted)
}

/// The row that named a file by path: a queued job (its upload) or an open review item (its
/// video).
#[derive(Clone, Copy)]
enum Holder {
    Job,
    Item,
}

/// Points `id`'s row, where it still names `old`, at `to` (NULL: the file is gone); how many
/// rows changed.
async fn repoint(
    tx: &mut crate::db::Tx,
    holder: Holder,
    id: &str,
    old: &str,
    to: Option<&str>,
) -> Result<u64> {
    use crate::db::with_tx;
    let sql = match holder {
        Holder::Job => "UPDATE verify_jobs SET upload_path = $1 WHERE id = $2 AND upload_path = $3",
        Holder::Item => "UPDATE review_items SET video_path = $1 WHERE id = $2 AND video_path = $3",
    };
    let changed = with_tx!(tx, |c| sqlx::query(sql)
        .bind(to)
        .bind(id)
        .bind(old)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(changed)
}

/// Moves the file `old` into the store at `key` and points its row at it: `true` when it did.
/// The key is reserved before the copy, the row takes the reservation back in the transaction
/// that points it, and the file goes only after that commits: a stop anywhere leaves the row on
/// its file (the next start tries again) or on its copy, and a copy no row took is swept. A
/// file already gone leaves the row without it; a copy that failed is said in the log and the
/// row keeps its path for the next start.
async fn adopt_file(
    db: &crate::db::Db,
    storage: &Storage,
    holder: Holder,
    id: &str,
    old: &str,
    key: String,
) -> Result<bool> {
    let file = FsPath::new(old);
    if !file.is_file() {
        let mut tx = db.begin().await?;
        repoint(&mut tx, holder, id, old, None).await?;
        tx.commit().await?;
        return Ok(false);
    }
    crate::orphans::reserve(db, &key).await?;
    if let Err(e) = storage.put_file(&key, file).await {
        tracing::warn!(file = %file.display(), error = %crate::error_chain(&e), "could not move a kept file into the object store");
        return Ok(false);
    }
    let mut tx = db.begin().await?;
    if repoint(&mut tx, holder, id, old, Some(&key)).await? == 1
        && crate::orphans::take_in(&mut tx, &key).await?
    {
        tx.commit().await?;
        let _ = std::fs::remove_file(file);
        if let Some(dir) = file.parent() {
            let _ = std::fs::remove_dir(dir);
        }
        return Ok(true);
    }
    // The row moved on meanwhile (another replica adopted it): this copy goes.
    tx.rollback().await?;
    crate::orphans::remove(db, storage, &key).await;
    Ok(false)
}

/// A new object key for an upload called `file_name`: `uploads/<random>/<file_name>`.
pub fn upload_key(file_name: &str) -> Result<String> {
    let mut r = [0u8; 12];
    crate::keys::fill_random(&mut r)?;
    Ok(format!(
        "uploads/{}/{}",
        crate::keys::hex(&r),
        safe_name(file_name)
    ))
}

/// A file name as one path segment of a key: no separators, no `.`/`..`, nothing unprintable.
pub fn safe_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    match s.trim_matches('.') {
        "" => "video".into(),
        t => t.to_string(),
    }
}

/// A local scratch copy of a stored object, removed when dropped.
#[derive(Debug)]
pub struct Scratch {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Scratch {
    /// Streams `key` into a new folder under `root`, as `name`.
    pub async fn fetch(
        storage: &Storage,
        key: &str,
        root: &FsPath,
        name: &str,
        limit: u64,
    ) -> Result<Scratch> {
        std::fs::create_dir_all(root).map_err(|e| ServiceError::io(root, e))?;
        let dir = tempfile::Builder::new()
            .prefix("run-")
            .tempdir_in(root)
            .map_err(|e| ServiceError::io(root, e))?;
        let path = dir.path().join(safe_name(name));
        storage.get_file(key, &path, limit).await?;
        Ok(Scratch { _dir: dir, path })
    }

    pub fn path(&self) -> &FsPath {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_file_goes_in_by_parts_and_comes_back_whole() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| ServiceError::io(FsPath::new("tmp"), e))?;
        let store = Storage::local(&dir.path().join("store"))?;
        // Three parts and a bit: the multipart path, not one put.
        let data: Vec<u8> = (0..(3 * PART_BYTES + 12345))
            .map(|i| (i % 251) as u8)
            .collect();
        let src = dir.path().join("src.bin");
        std::fs::write(&src, &data).map_err(|e| ServiceError::io(&src, e))?;
        let key = upload_key("clip one.mp4")?;
        assert!(key.ends_with("/clip_one.mp4"), "{key}");
        assert_eq!(store.put_file(&key, &src).await?, data.len() as u64);
        let back = Scratch::fetch(
            &store,
            &key,
            &dir.path().join("scratch"),
            "clip.mp4",
            u64::MAX,
        )
        .await?;
        assert_eq!(std::fs::read(back.path()).ok(), Some(data.clone()));
        // Over the limit: refused.
        let small = Scratch::fetch(&store, &key, &dir.path().join("scratch"), "c.mp4", 1000).await;
        assert!(small.is_err());
        // A range, with the whole size.
        let (mut s, size, served) = store.get_range(&key, Some(10..20)).await?;
        assert_eq!((size, served), (data.len() as u64, 10..20));
        let mut got = Vec::new();
        while let Some(c) = s.next().await {
            got.extend_from_slice(&c?);
        }
        assert_eq!(got, data[10..20]);
        store.delete(&key).await?;
        store.delete(&key).await?;
        assert!(store.get_range(&key, None).await.is_err());
        Ok(())
    }

    #[tokio::test]
    async fn a_delete_takes_what_a_write_cut_short_left() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| ServiceError::io(FsPath::new("tmp"), e))?;
        let root = dir.path().join("store");
        let store = Storage::local(&root)?;
        let write = |rel: &str| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap_or(&root))
                .map_err(|e| ServiceError::io(&p, e))?;
            std::fs::write(&p, b"part").map_err(|e| ServiceError::io(&p, e))
        };
        // A process killed while writing `review/i1/r1/video.mp4` (never finished), and a
        // neighbour whose names only look alike.
        write("review/i1/r1/video.mp4#1")?;
        write("review/i1/r1/video.mp4#2")?;
        write("review/i1/r2/video.mp4#1")?;
        write("review/i1/r1/video.mp4#1x")?;
        store.delete("review/i1/r1/video.mp4").await?;
        let left = |rel: &str| root.join(rel).exists();
        assert!(!left("review/i1/r1/video.mp4#1") && !left("review/i1/r1/video.mp4#2"));
        assert!(left("review/i1/r1/video.mp4#1x") && left("review/i1/r2/video.mp4#1"));
        // Its folder emptied: it goes, and so do the empty ones above it, not the top one.
        std::fs::remove_file(root.join("review/i1/r1/video.mp4#1x"))
            .map_err(|e| ServiceError::io(&root, e))?;
        std::fs::remove_file(root.join("review/i1/r2/video.mp4#1"))
            .map_err(|e| ServiceError::io(&root, e))?;
        write("uploads/u1/clip.mp4#1")?;
        store.delete("uploads/u1/clip.mp4").await?;
        assert!(!left("uploads/u1") && left("uploads") && left("review/i1/r1"));
        store.delete("review/i1/r2/video.mp4").await?;
        assert!(left("review/i1/r1") && !left("review/i1/r2"));
        assert!(root.is_dir());
        Ok(())
    }

    #[test]
    fn names_and_urls_are_checked() {
        assert_eq!(safe_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_name(".."), "video");
        assert!(Storage::open("file://relative/path", []).is_err());
        let e = Storage::open("s4://u:secretpw@bucket/x", [])
            .err()
            .map(|e| e.to_string());
        assert!(
            e.as_deref().is_some_and(|e| !e.contains("secretpw")),
            "{e:?}"
        );
        assert!(Storage::open("memory://", []).is_ok());
    }
}
