//! The c2pa `Context` verity uses: explicit trust, and no network at all.

use c2pa::Context;
use c2pa::settings::Settings;
use verity_signing::TrustStore;

use crate::error::{ProvenanceError, Result};

/// A c2pa context that trusts exactly `trust` and never touches the network (no remote
/// manifests, no OCSP, no time-stamp authority).
pub fn context(trust: &TrustStore) -> Result<Context> {
    let mut settings = Settings::default();
    settings.verify.remote_manifest_fetch = false;
    settings.verify.ocsp_fetch = false;
    let anchors = trust.anchors_pem();
    let allowed = trust.allowed_pem();
    settings.trust.user_anchors = (!anchors.is_empty()).then_some(anchors);
    settings.trust.allowed_list = (!allowed.is_empty()).then_some(allowed);
    Context::new()
        .with_settings(settings)
        .map_err(|e| ProvenanceError::Settings(Box::new(e)))
}
