//! verity's home: the one place that knows where the signing identity, the trust anchors, the
//! watermark key and the manifest repository live. The CLI finds the folder (its flags and
//! environment); the service is given it. Both ask this type for what is in it.
//!
//! ```text
//! keys/signer.key.pem, keys/signer.chain.pem   the signing identity (key mode 0600)
//! keys/ca.key.pem, keys/ca.cert.pem            the CA that `keys init` made
//! keys/watermark.key                           the spectral-mark key (mode 0600)
//! trust/*.pem                                  trust anchors
//! manifests/                                   the manifest repository
//! ```

use std::path::{Path, PathBuf};

use verity_signing::{KeyPaths, RingSigner, TrustStore};

use crate::error::Result;
use crate::marks::WatermarkKey;
use crate::repository::Repository;

/// A home folder and its layout. Nothing is read until asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Home { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the signing identity and its CA are.
    pub fn keys(&self) -> KeyPaths {
        KeyPaths::in_home(&self.root)
    }

    /// The folder of trust anchors.
    pub fn trust_dir(&self) -> PathBuf {
        self.keys().trust_dir
    }

    /// The spectral-mark key's file.
    pub fn watermark_key_path(&self) -> PathBuf {
        self.keys().dir.join("watermark.key")
    }

    /// The manifest repository's folder.
    pub fn repository_path(&self) -> PathBuf {
        self.root.join("manifests")
    }

    /// The trust anchors in the home (none when the folder does not exist).
    pub fn trust(&self) -> Result<TrustStore> {
        Ok(TrustStore::from_home_dir(&self.trust_dir())?)
    }

    /// The home's signing identity.
    pub fn signer(&self) -> Result<RingSigner> {
        Ok(verity_signing::load_home_signer(&self.root)?)
    }

    /// The home's watermark key, when there is one.
    pub fn watermark_key(&self) -> Result<Option<WatermarkKey>> {
        let p = self.watermark_key_path();
        if p.exists() {
            Ok(Some(WatermarkKey::load(&p)?))
        } else {
            Ok(None)
        }
    }

    /// The key stamping marks with: `explicit` (a key file named by the user), else the
    /// home's, else the documented default key.
    pub fn marking_key(&self, explicit: Option<&Path>) -> Result<WatermarkKey> {
        if let Some(p) = explicit {
            return WatermarkKey::load(p);
        }
        Ok(self
            .watermark_key()?
            .unwrap_or_else(WatermarkKey::default_key))
    }

    /// The keys verification tries before the default one: `explicit`'s, then the home's.
    pub fn verifying_keys(&self, explicit: Option<&Path>) -> Result<Vec<WatermarkKey>> {
        let mut keys = Vec::new();
        if let Some(p) = explicit {
            keys.push(WatermarkKey::load(p)?);
        }
        keys.extend(self.watermark_key()?);
        Ok(keys)
    }

    /// Makes the home's watermark key (mode 0600), or keeps the one there unless `replace`:
    /// its path, the key, and whether it was made now.
    pub fn init_watermark_key(&self, replace: bool) -> Result<(PathBuf, WatermarkKey, bool)> {
        let p = self.watermark_key_path();
        if p.exists() && !replace {
            let k = WatermarkKey::load(&p)?;
            return Ok((p, k, false));
        }
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).map_err(|e| crate::ProvenanceError::io(dir, e))?;
        }
        if replace && p.exists() {
            std::fs::remove_file(&p).map_err(|e| crate::ProvenanceError::io(&p, e))?;
        }
        let k = WatermarkKey::generate()?;
        k.save_new(&p)?;
        Ok((p, k, true))
    }

    /// The repository stamping records into (`explicit`, else the home's), created when
    /// missing; a damaged one is an error.
    pub fn repository_for_stamping(&self, explicit: Option<&Path>) -> Result<Repository> {
        Repository::open_or_create(&self.pick_repository(explicit))
    }

    /// The repository verification searches, if there is one.
    pub fn repository_for_verifying(&self, explicit: Option<&Path>) -> Result<Option<Repository>> {
        Repository::open_existing(&self.pick_repository(explicit))
    }

    fn pick_repository(&self, explicit: Option<&Path>) -> PathBuf {
        explicit.map_or_else(|| self.repository_path(), Path::to_path_buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_is_where_the_readme_says() {
        let h = Home::new("/h");
        assert_eq!(h.keys().signer_key(), Path::new("/h/keys/signer.key.pem"));
        assert_eq!(h.trust_dir(), Path::new("/h/trust"));
        assert_eq!(h.watermark_key_path(), Path::new("/h/keys/watermark.key"));
        assert_eq!(h.repository_path(), Path::new("/h/manifests"));
    }
}
