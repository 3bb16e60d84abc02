//! Where the spectral-mark key and the manifest repository come from: the flags, else verity's
//! home.

use std::path::{Path, PathBuf};

use verity_provenance::marks::WatermarkKey;
use verity_provenance::repository::Repository;

use crate::args::MarkArgs;
use crate::home::Home;

/// HOME/keys/watermark.key.
pub fn home_key_path(home: &Home) -> PathBuf {
    home.root().join("keys").join("watermark.key")
}

/// The key `sign` marks with: the flag's, else the home's, else the documented default.
pub fn signing_key(args: &MarkArgs, home: &Home) -> anyhow::Result<WatermarkKey> {
    if let Some(p) = &args.watermark_key {
        return Ok(WatermarkKey::load(p)?);
    }
    let p = home_key_path(home);
    if p.exists() {
        return Ok(WatermarkKey::load(&p)?);
    }
    Ok(WatermarkKey::default_key())
}

/// The keys `verify` tries besides the default: the flag's and the home's.
pub fn verifying_keys(args: &MarkArgs, home: &Home) -> anyhow::Result<Vec<WatermarkKey>> {
    let mut keys = Vec::new();
    if let Some(p) = &args.watermark_key {
        keys.push(WatermarkKey::load(p)?);
    }
    let p = home_key_path(home);
    if p.exists() {
        keys.push(WatermarkKey::load(&p)?);
    }
    Ok(keys)
}

pub fn repository_path(args: &MarkArgs, home: &Home) -> PathBuf {
    args.repository
        .clone()
        .unwrap_or_else(|| home.root().join("manifests"))
}

/// The repository `sign` stores into (created when missing; a damaged one is an error).
pub fn repository_for_sign(args: &MarkArgs, home: &Home) -> anyhow::Result<Repository> {
    Ok(Repository::open_or_create(&repository_path(args, home))?)
}

/// The repository `verify` looks in, if there is one.
pub fn repository_for_verify(args: &MarkArgs, home: &Home) -> anyhow::Result<Option<Repository>> {
    Ok(Repository::open_existing(&repository_path(args, home))?)
}

/// Makes HOME/keys/watermark.key (mode 0600); `force` replaces an existing one.
pub fn init_key(home: &Home, force: bool) -> anyhow::Result<(PathBuf, WatermarkKey, bool)> {
    let p = home_key_path(home);
    if p.exists() && !force {
        let k = WatermarkKey::load(&p)?;
        return Ok((p, k, false));
    }
    if let Some(dir) = p.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if force && p.exists() {
        remove(&p)?;
    }
    let k = WatermarkKey::generate()?;
    k.save_new(&p)?;
    Ok((p, k, true))
}

fn remove(p: &Path) -> anyhow::Result<()> {
    std::fs::remove_file(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
}
