//! `stamp`: the stamping core and the sign pipeline for a video file.
//!
//! [`Stamping`] is the core every stamped output goes through, whatever makes its frames: the
//! visible badge and the spectral mark on each frame; then, once the encoder's temporary is
//! whole, the C2PA manifest (with the `c2pa.watermarked` action and a `c2pa.soft-binding`
//! assertion) signed from it into the output, and the manifest recorded in the manifest store
//! under its soft-binding value. [`stamp_file`] feeds it a decoded file (the source audio passes
//! through untouched); the generator feeds it the model's frames. Each layer can be left out.

use std::path::{Path, PathBuf};

use serde::Serialize;
use verity_fs::TempPath;
use verity_media::{
    AudioChoice, Preset, StreamInfo, TranscodeOptions, VideoFrame, transcode_unpublished,
};
use verity_signing::{DynSigner, TrustStore};

use crate::error::{ProvenanceError, Result};
use crate::manifest::soft_binding::SoftBinding;
use crate::manifest::{ManifestSpec, sign_file, sign_from};
use crate::marks::spectral::ALGORITHM;
use crate::marks::{Geometry, MarkOptions, Payload, Stamper};
use crate::repository::{ManifestStore, RecordInfo};

/// Fewest frames a spectral mark is put into.
pub const MIN_MARK_FRAMES: u64 = 4;

/// The manifest layer: who signs, whom the source's own manifest is checked against, and where
/// the manifest is kept for recovery.
#[derive(Clone, Copy)]
pub struct ManifestLayer<'a> {
    pub signer: &'a DynSigner,
    pub trust: &'a TrustStore,
    /// Where the manifest is kept for recovery; `None` keeps it only in the file.
    pub repository: Option<&'a dyn ManifestStore>,
}

impl std::fmt::Debug for ManifestLayer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManifestLayer")
            .field("signer", &verity_signing::SignerName::of(self.signer))
            .field("trust", &self.trust)
            .field("repository", &self.repository)
            .finish()
    }
}

/// How to stamp a file.
#[derive(Clone, Debug)]
pub struct StampOptions<'a> {
    pub marks: MarkOptions,
    /// The manifest to sign, or `None` for no manifest.
    pub manifest: Option<(ManifestSpec, ManifestLayer<'a>)>,
    pub crf: u8,
    pub preset: Preset,
}

/// What stamping made: the same for a signed file and a generated clip.
#[derive(Clone, Debug, Serialize)]
pub struct StampReport {
    pub output: PathBuf,
    /// The source video, when a file was stamped; `null` for a generated clip.
    pub input: Option<StreamInfo>,
    /// Frames encoded (0 when the video was not re-encoded: no mark was asked for).
    pub frames: u64,
    pub visible_mark: bool,
    /// The spectral payload, when that mark is on.
    pub payload: Option<Payload>,
    /// The spectral mark's geometry and the share of its strength it was added at, as the
    /// first frame with content chose them (see [`SpectralEmbedder::for_first_frame`]).
    ///
    /// [`SpectralEmbedder::for_first_frame`]: crate::marks::SpectralEmbedder::for_first_frame
    pub mark_shape: Option<(Geometry, f32)>,
    /// Size of the embedded manifest, when one was signed.
    pub manifest_bytes: Option<usize>,
    /// Where the manifest was recorded ([`ManifestStore::location`]).
    pub repository: Option<String>,
    /// Set when the input was damaged and only what decoded was stamped.
    pub damage: Option<String>,
    /// What the signer should know: the source's own manifest fails validation (the new
    /// manifest records it as an ingredient that failed), say.
    pub warnings: Vec<String>,
}

/// The stamping core for one output: marks each frame, then publishes the encoded video
/// signed and recorded. Made before any frame, so that a size too small for the marks is
/// refused before the work.
#[derive(Debug)]
pub struct Stamping<'a> {
    stamper: Stamper,
    visible: bool,
    manifest: Option<(ManifestSpec, ManifestLayer<'a>)>,
}

impl<'a> Stamping<'a> {
    /// The core for frames of `width` x `height`.
    pub fn new(
        marks: &MarkOptions,
        width: u32,
        height: u32,
        manifest: Option<(ManifestSpec, ManifestLayer<'a>)>,
    ) -> Result<Self> {
        Ok(Stamping {
            stamper: Stamper::new(marks, width, height)?,
            visible: marks.visible.is_some(),
            manifest,
        })
    }

    /// The spectral payload, when that mark is on.
    pub fn payload(&self) -> Option<Payload> {
        self.stamper.payload()
    }

    /// Draws the badge and adds the spectral mark to one frame.
    pub fn mark(&self, frame: &mut VideoFrame) -> Result<()> {
        self.stamper.mark(frame)
    }

    /// Publishes `encoded` (the whole marked video, `frames` frames, under its temporary name)
    /// at `output`: signed from there when there is a manifest, and the manifest recorded;
    /// renamed over `output` when there is none. Nothing appears at `output` on failure.
    pub fn publish(self, encoded: TempPath, output: &Path, frames: u64) -> Result<StampReport> {
        let payload = self.stamper.payload();
        if payload.is_some() && frames < MIN_MARK_FRAMES {
            return Err(ProvenanceError::TooShortForMark {
                frames,
                min: MIN_MARK_FRAMES,
            });
        }
        let mut stamp = StampReport {
            output: output.to_path_buf(),
            input: None,
            frames,
            visible_mark: self.visible,
            payload,
            mark_shape: self.stamper.spectral_shape(),
            manifest_bytes: None,
            repository: None,
            damage: None,
            warnings: Vec::new(),
        };
        let Some((spec, layer)) = self.manifest else {
            encoded
                .persist(output)
                .map_err(|e| ProvenanceError::io(output, e))?;
            return Ok(stamp);
        };
        let mut spec = spec;
        if let Some(p) = payload {
            spec.assertions
                .push(SoftBinding::for_payload(p).to_assertion());
            spec.actions
                .push(serde_json::json!({ "action": "c2pa.watermarked" }));
        }
        let out = sign_from(encoded.path(), output, &spec, layer.signer, layer.trust)?;
        drop(encoded);
        stamp.manifest_bytes = Some(out.manifest.len());
        if let (Some(store), Some(p)) = (layer.repository, payload) {
            let info = RecordInfo {
                algorithm: ALGORITHM.to_string(),
                value: p.to_hex(),
                title: spec.title.clone(),
                file_name: output
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                stored_at: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
            };
            store.store(&info, &out.manifest)?;
            stamp.repository = Some(store.location());
        }
        Ok(stamp)
    }
}

/// What signing `input` should warn about: its own manifest failing validation. The new
/// manifest names the source as its ingredient and records that failure for good; the signer
/// is told before it happens silently.
fn source_warnings(input: &Path, trust: &TrustStore) -> Result<Vec<String>> {
    let source = crate::read_manifest(input, trust)?;
    if source.state != crate::C2paState::Invalid {
        return Ok(Vec::new());
    }
    let codes: Vec<&str> = source
        .codes
        .failure
        .iter()
        .map(|c| c.code.as_str())
        .collect();
    Ok(vec![format!(
        "the source's own C2PA manifest fails validation ({}); the new manifest records it as an ingredient that failed",
        codes.join(", ")
    )])
}

/// Stamps `input` into `output`: the file's frames through [`Stamping`]. The output appears
/// whole or not at all.
pub fn stamp_file(
    input: &Path,
    output: &Path,
    opts: &StampOptions<'_>,
    mut progress: impl FnMut(verity_media::Progress),
) -> Result<StampReport> {
    let info = verity_media::probe(input)?;
    let warnings = match &opts.manifest {
        Some((_, layer)) => source_warnings(input, layer.trust)?,
        None => Vec::new(),
    };
    let marking = opts.marks.visible.is_some() || opts.marks.spectral.is_some();
    if !marking {
        // Nothing to draw: sign the file as it is, without re-encoding it.
        let Some((spec, layer)) = &opts.manifest else {
            return Err(ProvenanceError::MarkOption {
                name: "layers",
                value: "none".into(),
                allowed: "at least one of the visible mark, the spectral mark and the manifest"
                    .into(),
            });
        };
        let out = sign_file(input, output, spec, layer.signer, layer.trust)?;
        return Ok(StampReport {
            output: out.output,
            input: Some(info),
            frames: 0,
            visible_mark: false,
            payload: None,
            mark_shape: None,
            manifest_bytes: Some(out.manifest.len()),
            repository: None,
            damage: None,
            warnings,
        });
    }
    let stamping = Stamping::new(
        &opts.marks,
        info.video.width,
        info.video.height,
        opts.manifest.clone(),
    )?;
    if stamping.payload().is_some() {
        if let Some(n) = info.expected_frames().filter(|&n| n < MIN_MARK_FRAMES) {
            return Err(ProvenanceError::TooShortForMark {
                frames: n,
                min: MIN_MARK_FRAMES,
            });
        }
    }
    let topts = TranscodeOptions {
        crf: opts.crf,
        preset: opts.preset,
        audio: if info.audio.is_some() {
            AudioChoice::Copy
        } else {
            AudioChoice::None
        },
        audio_bit_rate: None,
    };
    // The marked video stays under its temporary name until it is whole, and signed; dropping
    // `encoded` on any error removes it.
    let (report, encoded) = transcode_unpublished(
        input,
        output,
        &topts,
        |frame| stamping.mark(frame).map_err(|e| e.to_string()),
        &mut progress,
    )?;
    let mut stamp = stamping.publish(encoded, output, report.output.video_frames)?;
    stamp.input = Some(info);
    stamp.damage = report.damage;
    stamp.warnings = warnings;
    Ok(stamp)
}
