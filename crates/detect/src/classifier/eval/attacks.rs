//! The attacks `eval detector` makes on each test clip, as a platform would: each attacked copy
//! made once with `ffmpeg` and kept for the next classifier.

use std::path::Path;

use super::{Scored, probability};
use crate::classifier::score::Detector;
use crate::error::{DetectError, Result};

/// The attacks, as `ffmpeg` arguments between input and output.
pub const ATTACKS: [(&str, &[&str], &str); 3] = [
    (
        "h264-crf28",
        &["-c:v", "libx264", "-crf", "28", "-preset", "medium"],
        "mp4",
    ),
    (
        "resize-0.5",
        &[
            "-vf",
            "scale=trunc(iw/4)*2:trunc(ih/4)*2",
            "-c:v",
            "libx264",
            "-crf",
            "23",
        ],
        "mp4",
    ),
    (
        "vp9",
        &[
            "-c:v",
            "libvpx-vp9",
            "-crf",
            "32",
            "-b:v",
            "0",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
        ],
        "webm",
    ),
];

/// The test clips of `scored` after each of [`ATTACKS`], scored with `det`: each attacked copy
/// made once under `dir` (again when its clip is newer) and kept for the next classifier.
pub(super) fn score_attacked<'a>(
    det: &Detector,
    data: &Path,
    dir: &Path,
    scored: &[Scored<'a>],
    progress: &mut impl FnMut(&str, usize, usize),
) -> Result<Vec<(&'static str, Vec<Scored<'a>>)>> {
    let mut out = Vec::with_capacity(ATTACKS.len());
    for (name, args, ext) in ATTACKS {
        let out_dir = dir.join(name);
        std::fs::create_dir_all(&out_dir).map_err(|e| DetectError::io(&out_dir, e))?;
        let stage = format!("{name} ({})", det.name);
        let mut attacked = Vec::with_capacity(scored.len());
        for (k, s) in scored.iter().enumerate() {
            let src = data.join(&s.entry.file);
            let stem = Path::new(&s.entry.file)
                .file_stem()
                .map(|x| x.to_string_lossy().into_owned())
                .unwrap_or_default();
            let dst = out_dir.join(format!("{stem}.{ext}"));
            if !is_newer(&dst, &src) {
                attack(&src, &dst, args)?;
            }
            attacked.push(Scored {
                entry: s.entry,
                prob: probability(det, &dst)?,
            });
            progress(&stage, k + 1, scored.len());
        }
        out.push((name, attacked));
    }
    Ok(out)
}

/// Whether `made` exists and was written after `from` was (a clip remade since is attacked
/// again, even in a dataset whose index did not change).
fn is_newer(made: &Path, from: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(made), modified(from)), (Some(m), Some(f)) if m >= f)
}

/// Runs `ffmpeg -i src ARGS dst` into a temporary beside `dst`, renamed when it succeeds.
fn attack(src: &Path, dst: &Path, args: &[&str]) -> Result<()> {
    let ext = dst
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dst.with_extension(format!("part.{ext}"));
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(src)
        .args(args)
        .arg(&tmp)
        .status()
        .map_err(|e| DetectError::io(Path::new("ffmpeg"), e))?;
    if !status.success() {
        let _ = std::fs::remove_file(&tmp);
        return Err(DetectError::io(
            src,
            std::io::Error::other(format!("ffmpeg {args:?} failed ({status})")),
        ));
    }
    std::fs::rename(&tmp, dst).map_err(|e| DetectError::io(dst, e))
}
