//! What a user asks of verification ([`VerifyRequest`]: from the CLI's flags or a service's
//! form) resolved against a [`Home`] into [`VerifyOptions`].

use std::path::PathBuf;
use std::sync::Arc;

use verity_provenance::Home;
use verity_provenance::marks::DetectOptions;
use verity_provenance::repository::ManifestStore;

use crate::classifier::score::Reading;
use crate::{Result, VerifyOptions};

/// What a user asks of verification. The default checks every layer with the home's trust
/// anchors, keys and repository.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyRequest {
    /// More trust anchors: PEM files or folders of them.
    pub trust: Vec<PathBuf>,
    /// Individually allowed signing certificates: PEM files or folders.
    pub allow: Vec<PathBuf>,
    /// A watermark key file to try before the home's and the default one.
    pub watermark_key: Option<PathBuf>,
    /// A repository folder; `None` takes the home's.
    pub repository: Option<PathBuf>,
    /// Check the C2PA manifest only, not the marks.
    pub skip_marks: bool,
    /// The fragments of a fragmented MP4 whose init segment is verified.
    pub fragments: Vec<PathBuf>,
    /// A manifest store kept apart from the file to check it against.
    pub manifest_store: Option<PathBuf>,
    /// Search rotated spectral marks too.
    pub search_rotation: bool,
    /// The most threads one verification uses; 0 takes every core.
    pub threads: usize,
    /// Leave the synthetic-video classifier out.
    pub skip_classifier: bool,
    /// A classifier folder (detector.json and model.safetensors) instead of the built-in one.
    pub detector: Option<PathBuf>,
    /// How the classifier reads the file.
    pub classifier_read: Reading,
}

impl VerifyRequest {
    /// Resolves the request against `home`. A missing or unreadable trust path or key is an
    /// error; a damaged repository is not (the report says recovery could not be tried).
    pub fn resolve(&self, home: &Home) -> Result<VerifyOptions> {
        let mut trust = home.trust()?;
        for t in &self.trust {
            trust
                .add_anchors(t)
                .map_err(verity_provenance::ProvenanceError::from)?;
        }
        for a in &self.allow {
            trust
                .add_allowed(a)
                .map_err(verity_provenance::ProvenanceError::from)?;
        }
        let (keys, repository, repository_unavailable) = if self.skip_marks {
            (Vec::new(), None, None)
        } else {
            let (repo, problem) = match home.repository_for_verifying(self.repository.as_deref()) {
                Ok(repo) => (repo.map(|r| Arc::new(r) as Arc<dyn ManifestStore>), None),
                Err(e) => (None, Some(crate::error_chain(&e))),
            };
            (
                home.verifying_keys(self.watermark_key.as_deref())?,
                repo,
                problem,
            )
        };
        let (classifier, classifier_unavailable) = match (&self.detector, self.skip_classifier) {
            (_, true) => (None, None),
            (dir, false) => match crate::classifier::resolve(dir.as_deref()) {
                Ok(d) => (Some(Arc::new(d)), None),
                Err(e) => (None, Some(crate::error_chain(&e))),
            },
        };
        Ok(VerifyOptions {
            classifier,
            classifier_unavailable,
            classifier_read: self.classifier_read,
            trust,
            keys,
            repository,
            repository_unavailable,
            skip_marks: self.skip_marks,
            fragments: self.fragments.clone(),
            manifest_store: self.manifest_store.clone(),
            threads: self.threads,
            // The thread budget is `threads`; verify gives the mark search its share.
            mark_search: DetectOptions {
                rotation: self.search_rotation,
                ..DetectOptions::default()
            },
        })
    }
}
