//! The service's manifest store: every manifest it signs, in its database, found by soft
//! binding (what `verify` and the Resolution API ask) and by manifest id.
//!
//! [`ManifestStore`] is a blocking trait (stamping and verification run on blocking threads);
//! this store answers it by running its query on the service's runtime. The Resolution API's
//! handlers call the async methods directly.

use sha2::{Digest, Sha256};
use verity_provenance::repository::{ManifestStore, Record, RecordInfo};

use crate::db::{Db, with_pool};
use crate::error::Result;

/// The manifest table.
#[derive(Debug)]
pub struct SqlManifests {
    db: Db,
    runtime: tokio::runtime::Handle,
}

/// A stored manifest's id, as the Resolution API has it: the active manifest's label
/// (`urn:c2pa:…`). A store c2pa cannot read (never one the service signed) is named by the
/// SHA-256 of its bytes instead.
pub fn manifest_id(manifest: &[u8]) -> String {
    verity_provenance::manifest::store_label(manifest).unwrap_or_else(|| {
        format!(
            "urn:verity:sha256:{}",
            crate::keys::hex(&Sha256::digest(manifest))
        )
    })
}

#[derive(sqlx::FromRow)]
struct Row {
    manifest_id: String,
    alg: String,
    value: String,
    title: String,
    file_name: String,
    stored_at: i64,
    manifest: Vec<u8>,
}

impl Row {
    fn into_record(self) -> (String, Record) {
        (
            self.manifest_id,
            Record {
                info: RecordInfo {
                    algorithm: self.alg,
                    value: self.value,
                    title: self.title,
                    file_name: self.file_name,
                    stored_at: u64::try_from(self.stored_at / 1000).unwrap_or(0),
                },
                manifest: self.manifest,
            },
        )
    }
}

impl SqlManifests {
    pub fn new(db: Db, runtime: tokio::runtime::Handle) -> Self {
        SqlManifests { db, runtime }
    }

    pub async fn put(&self, info: &RecordInfo, manifest: &[u8]) -> Result<String> {
        let id = manifest_id(manifest);
        let stored_at = i64::try_from(info.stored_at)
            .unwrap_or(0)
            .saturating_mul(1000);
        with_pool!(self.db, |p| sqlx::query(
            "INSERT INTO manifests (manifest_id, alg, value, title, file_name, stored_at, manifest)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (alg, value) DO UPDATE SET manifest_id = excluded.manifest_id,
                title = excluded.title, file_name = excluded.file_name,
                stored_at = excluded.stored_at, manifest = excluded.manifest",
        )
        .bind(&id)
        .bind(&info.algorithm)
        .bind(&info.value)
        .bind(&info.title)
        .bind(&info.file_name)
        .bind(stored_at)
        .bind(manifest)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(id)
    }

    /// The manifest stored under this soft binding, and its id.
    pub async fn by_binding(&self, alg: &str, value: &str) -> Result<Option<(String, Record)>> {
        let row: Option<Row> = with_pool!(self.db, |p| sqlx::query_as(
            "SELECT manifest_id, alg, value, title, file_name, stored_at, manifest
             FROM manifests WHERE alg = $1 AND value = $2",
        )
        .bind(alg)
        .bind(value)
        .fetch_optional(p)
        .await)?;
        Ok(row.map(Row::into_record))
    }

    pub async fn by_id(&self, id: &str) -> Result<Option<Record>> {
        let row: Option<Row> = with_pool!(self.db, |p| sqlx::query_as(
            "SELECT manifest_id, alg, value, title, file_name, stored_at, manifest
             FROM manifests WHERE manifest_id = $1",
        )
        .bind(id)
        .fetch_optional(p)
        .await)?;
        Ok(row.map(|r| r.into_record().1))
    }

    fn block<T>(
        &self,
        f: impl std::future::Future<Output = Result<T>>,
    ) -> verity_provenance::Result<T> {
        self.runtime
            .block_on(f)
            .map_err(|e| verity_provenance::ProvenanceError::Repository {
                path: self.db.location().into(),
                reason: crate::error_chain(&e),
            })
    }
}

impl ManifestStore for SqlManifests {
    fn store(&self, info: &RecordInfo, manifest: &[u8]) -> verity_provenance::Result<()> {
        self.block(self.put(info, manifest)).map(|_| ())
    }

    fn lookup(&self, alg: &str, value: &str) -> verity_provenance::Result<Option<Record>> {
        self.block(self.by_binding(alg, value))
            .map(|found| found.map(|(_, r)| r))
    }

    fn location(&self) -> String {
        format!("the service's database ({})", self.db.location())
    }
}
