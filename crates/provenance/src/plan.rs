//! What a user asks of stamping ([`StampRequest`]: from the CLI's flags or a service's form)
//! resolved against a [`Home`] into a ready [`StampPlan`]: the marks, the signer, the trust
//! store and the manifest store. The CLI and the service both call [`StampPlan::resolve`], so
//! neither repeats the rules (the badge names the signer; the manifest is recorded only when
//! there is a payload to find it by).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use verity_media::{Preset, StreamInfo};
use verity_signing::{DynSigner, SignerName, TrustStore};

use crate::error::{ProvenanceError, Result};
use crate::home::Home;
use crate::manifest::{ManifestSpec, Origin};
use crate::marks::spectral::DEFAULT_STRENGTH;
use crate::marks::visible::{DEFAULT_OPACITY, DEFAULT_SIZE};
use crate::marks::{MarkOptions, SpectralOptions, VisibleOptions};
use crate::repository::ManifestStore;
use crate::stamp::{ManifestLayer, StampOptions, StampReport};

/// The badge's look; its text defaults to the signer's common name.
#[derive(Clone, Debug, PartialEq)]
pub struct BadgeStyle {
    pub text: Option<String>,
    pub opacity: f32,
    pub size: f32,
}

impl Default for BadgeStyle {
    fn default() -> Self {
        BadgeStyle {
            text: None,
            opacity: DEFAULT_OPACITY,
            size: DEFAULT_SIZE,
        }
    }
}

/// The signing identity to use: the home's, or a key and chain named by the user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Identity {
    #[default]
    Home,
    Files {
        key: PathBuf,
        chain: PathBuf,
    },
}

/// What a user asks of stamping. The default is every layer, the home's identity and keys.
#[derive(Clone, Debug, PartialEq)]
pub struct StampRequest {
    pub visible: bool,
    pub watermark: bool,
    pub manifest: bool,
    pub badge: BadgeStyle,
    /// The spectral mark's strength in luma levels.
    pub strength: f32,
    pub identity: Identity,
    /// A watermark key file; `None` takes the home's, else the documented default.
    pub watermark_key: Option<PathBuf>,
    /// A repository folder; `None` takes the home's.
    pub repository: Option<PathBuf>,
}

impl Default for StampRequest {
    fn default() -> Self {
        StampRequest {
            visible: true,
            watermark: true,
            manifest: true,
            badge: BadgeStyle::default(),
            strength: DEFAULT_STRENGTH,
            identity: Identity::Home,
            watermark_key: None,
            repository: None,
        }
    }
}

/// A stamping request resolved: ready to stamp any number of frames with.
#[derive(Clone)]
pub struct StampPlan {
    pub marks: MarkOptions,
    /// Who signs; `None` when no manifest was asked for.
    pub signer: Option<Arc<DynSigner>>,
    pub signer_name: Option<SignerName>,
    pub trust: TrustStore,
    /// Where manifests are recorded: only with both a manifest and a spectral mark (the
    /// payload is what finds a record again).
    pub repository: Option<Arc<dyn ManifestStore>>,
    /// Where the watermark key came from (`home`, a file, `default`), when there is a mark.
    pub watermark_key: Option<String>,
}

impl std::fmt::Debug for StampPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StampPlan")
            .field("marks", &self.marks)
            .field("signer", &self.signer_name)
            .field("trust", &self.trust)
            .field("repository", &self.repository)
            .field("watermark_key", &self.watermark_key)
            .finish()
    }
}

impl StampPlan {
    /// Resolves `req` against `home`: loads the identity (checking it can sign), the trust
    /// anchors, the watermark key and the repository. Refuses a request with no layer.
    pub fn resolve(home: &Home, req: &StampRequest) -> Result<StampPlan> {
        if !req.visible && !req.watermark && !req.manifest {
            return Err(ProvenanceError::MarkOption {
                name: "layers",
                value: "none".into(),
                allowed: "at least one of the visible mark, the spectral mark and the manifest"
                    .into(),
            });
        }
        let signer: Option<Arc<DynSigner>> = if req.manifest {
            Some(match &req.identity {
                Identity::Home => Arc::new(home.signer()?),
                Identity::Files { key, chain } => {
                    Arc::new(verity_signing::load_signer(key, chain)?)
                }
            })
        } else {
            None
        };
        let signer_name = signer.as_deref().and_then(SignerName::of);
        let visible = req.visible.then(|| VisibleOptions {
            text: req.badge.text.clone().unwrap_or_else(|| {
                signer_name
                    .as_ref()
                    .and_then(|n| n.common_name.clone())
                    .unwrap_or_else(|| "verity".into())
            }),
            opacity: req.badge.opacity,
            size: req.badge.size,
        });
        let spectral = if req.watermark {
            let mut s =
                SpectralOptions::new_asset(home.marking_key(req.watermark_key.as_deref())?)?;
            s.strength = req.strength;
            Some(s)
        } else {
            None
        };
        let watermark_key = spectral.as_ref().map(|s| s.key.origin().to_string());
        let repository: Option<Arc<dyn ManifestStore>> = if req.manifest && req.watermark {
            Some(Arc::new(
                home.repository_for_stamping(req.repository.as_deref())?,
            ))
        } else {
            None
        };
        Ok(StampPlan {
            marks: MarkOptions { visible, spectral },
            signer,
            signer_name,
            trust: home.trust()?,
            repository,
            watermark_key,
        })
    }

    /// The manifest layer, when there is a signer.
    pub fn layer(&self) -> Option<ManifestLayer<'_>> {
        self.signer.as_deref().map(|signer| ManifestLayer {
            signer,
            trust: &self.trust,
            repository: self.repository.as_deref(),
        })
    }

    /// The options for stamping the video file `input` into `output`: its manifest names
    /// `input` as the ingredient and is titled `title` (else the output's file name).
    pub fn for_file(
        &self,
        input: &Path,
        output: &Path,
        title: Option<&str>,
        crf: u8,
        preset: Preset,
    ) -> StampOptions<'_> {
        let title = title.map_or_else(|| file_title(output), str::to_string);
        StampOptions {
            marks: self.marks.clone(),
            manifest: self.layer().map(|layer| {
                let origin = Origin::Existing {
                    source: input.to_path_buf(),
                };
                (ManifestSpec::new(title, origin), layer)
            }),
            crf,
            preset,
        }
    }

    /// What `sign` reports, from what stamping made.
    pub fn sign_report(&self, input: &Path, stamp: &StampReport) -> SignReport {
        let mut layers = Vec::new();
        if stamp.visible_mark {
            layers.push("visible_mark");
        }
        if stamp.payload.is_some() {
            layers.push("watermark");
        }
        if stamp.manifest_bytes.is_some() {
            layers.push("c2pa");
        }
        SignReport {
            input: input.display().to_string(),
            output: stamp.output.display().to_string(),
            signer: self
                .signer
                .as_ref()
                .map(|_| self.signer_name.clone().unwrap_or_default().subject),
            layers,
            payload: stamp.payload.map(|p| p.to_hex()),
            mark_geometry: stamp.mark_shape.map(|(g, _)| g.name()),
            mark_gain: stamp.mark_shape.map(|(_, k)| k),
            watermark_key: self.watermark_key.clone(),
            manifest_bytes: stamp.manifest_bytes,
            repository: stamp.repository.clone(),
            frames: stamp.frames,
            duration_s: stamp.input.as_ref().and_then(|i: &StreamInfo| i.duration_s),
            damage: stamp.damage.clone(),
            warnings: stamp.warnings.clone(),
        }
    }
}

/// The title a manifest gets when none is given: the output's file name.
fn file_title(output: &Path) -> String {
    output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "video".into())
}

/// What `sign` reports (`verity sign --json`, and the service's sign response).
#[derive(Clone, Debug, Serialize)]
pub struct SignReport {
    pub input: String,
    pub output: String,
    /// The signing certificate's subject; `null` without a manifest.
    pub signer: Option<String>,
    /// The layers put on: `visible_mark`, `watermark`, `c2pa`.
    pub layers: Vec<&'static str>,
    pub payload: Option<String>,
    /// "fine" or "coarse": the size of the mark's cells, chosen from the first frame with
    /// content.
    pub mark_geometry: Option<&'static str>,
    /// The share of its strength the mark was added at (below 1 to keep SSIM 0.99).
    pub mark_gain: Option<f32>,
    pub watermark_key: Option<String>,
    pub manifest_bytes: Option<usize>,
    pub repository: Option<String>,
    pub frames: u64,
    pub duration_s: Option<f64>,
    pub damage: Option<String>,
    pub warnings: Vec<String>,
}
