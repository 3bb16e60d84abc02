//! The c2pa `Context` verity uses: explicit trust, and no network at all.

use c2pa::Context;
use c2pa::settings::{Settings, TrustAnchor, TrustListKind};
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
    // One trust list for manifest signing: the anchors, and the signing certificates allowed
    // one by one. No list at all when there is nothing to trust.
    if !anchors.is_empty() || !allowed.is_empty() {
        settings.trust.anchors = Some(vec![TrustAnchor {
            trust_anchors: anchors,
            allowed_list: (!allowed.is_empty()).then_some(allowed),
            trust_kind: TrustListKind::Manifest,
            ..TrustAnchor::default()
        }]);
    }
    Context::new()
        .with_settings(settings)
        .map_err(|e| ProvenanceError::Settings(Box::new(e)))
}
