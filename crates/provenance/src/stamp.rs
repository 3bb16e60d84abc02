//! `stamp`: the sign pipeline for a video file. Decode → visible badge → spectral mark → H.264
//! encode (the source audio passes through untouched) → C2PA manifest with the `c2pa.watermarked`
//! action and a `c2pa.soft-binding` assertion → the output file, and the manifest into the
//! repository under its soft-binding value. Each layer can be left out.

use std::path::{Path, PathBuf};

use serde::Serialize;
use verity_media::{AudioChoice, Preset, StreamInfo, TranscodeOptions, transcode_unpublished};
use verity_signing::{RingSigner, TrustStore};

use crate::error::{ProvenanceError, Result};
use crate::manifest::{ManifestSpec, sign_file, sign_from};
use crate::marks::spectral::ALGORITHM;
use crate::marks::{Geometry, MarkOptions, Payload, Stamper};
use crate::repository::{RecordInfo, Repository};

/// Fewest frames a spectral mark is put into.
pub const MIN_MARK_FRAMES: u64 = 4;

/// The manifest layer.
#[derive(Clone, Copy, Debug)]
pub struct ManifestLayer<'a> {
    pub signer: &'a RingSigner,
    pub trust: &'a TrustStore,
    /// Where the manifest is kept for recovery; `None` keeps it only in the file.
    pub repository: Option<&'a Repository>,
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

/// What `stamp_file` did.
#[derive(Clone, Debug, Serialize)]
pub struct StampReport {
    pub output: PathBuf,
    pub input: StreamInfo,
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
    /// The repository the manifest was stored in.
    pub repository: Option<PathBuf>,
    /// Set when the input was damaged and only what decoded was stamped.
    pub damage: Option<String>,
    /// What the signer should know: the source's own manifest fails validation (the new
    /// manifest records it as an ingredient that failed), say.
    pub warnings: Vec<String>,
}

/// The `c2pa.soft-binding` assertion for a spectral payload.
pub fn soft_binding_assertion(payload: Payload) -> (String, serde_json::Value) {
    (
        "c2pa.soft-binding".to_string(),
        serde_json::json!({
            "alg": ALGORITHM,
            "blocks": [ { "scope": {}, "value": payload.to_hex() } ],
            "pad": [],
        }),
    )
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

/// Stamps `input` into `output`. The output appears whole or not at all.
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
            input: info,
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
    let (w, h) = (info.video.width, info.video.height);
    let stamper = Stamper::new(&opts.marks, w, h)?;
    let payload = stamper.payload();
    if payload.is_some() {
        let known_frames = info.video.frames.or_else(|| {
            info.video
                .duration_s
                .map(|d| (d * info.video.fps).round() as u64)
        });
        if let Some(n) = known_frames.filter(|&n| n < MIN_MARK_FRAMES) {
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
    // The marked video stays under its temporary name until it is whole, and signed: with a
    // manifest it is signed from there into `output`; without one it is renamed over it.
    // Dropping `encoded` on any error removes it.
    let (report, encoded) = transcode_unpublished(
        input,
        output,
        &topts,
        |frame| stamper.mark(frame).map_err(|e| e.to_string()),
        &mut progress,
    )?;
    let frames = report.output.video_frames;
    if payload.is_some() && frames < MIN_MARK_FRAMES {
        return Err(ProvenanceError::TooShortForMark {
            frames,
            min: MIN_MARK_FRAMES,
        });
    }
    let mut stamp = StampReport {
        output: output.to_path_buf(),
        input: info,
        frames,
        visible_mark: opts.marks.visible.is_some(),
        payload,
        mark_shape: stamper.spectral_shape(),
        manifest_bytes: None,
        repository: None,
        damage: report.damage,
        warnings,
    };
    if let Some((spec, layer)) = &opts.manifest {
        let mut spec = spec.clone();
        if let Some(p) = payload {
            spec.assertions.push(soft_binding_assertion(p));
            spec.actions
                .push(serde_json::json!({ "action": "c2pa.watermarked" }));
        }
        let out = sign_from(encoded.path(), output, &spec, layer.signer, layer.trust)?;
        drop(encoded);
        stamp.manifest_bytes = Some(out.manifest.len());
        if let (Some(repo), Some(p)) = (layer.repository, payload) {
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
            repo.store(&info, &out.manifest)?;
            stamp.repository = Some(repo.root().to_path_buf());
        }
    } else {
        encoded
            .persist(output)
            .map_err(|e| ProvenanceError::io(output, e))?;
    }
    Ok(stamp)
}
