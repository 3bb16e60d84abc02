//! One verification as the service runs it: the limits checked on the container's own figures
//! before a frame is decoded, then `verity_detect::verify` (the CLI's very call) on a blocking
//! thread under the wall-clock limit.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use verity_detect::{Report, VerifyOptions};

use crate::config::Limits;

/// Why a file was not verified.
#[derive(Debug, thiserror::Error)]
pub enum VerifyFailure {
    /// The file is not something verity can read, or breaks a limit: the client's problem.
    #[error("{0}")]
    Rejected(String),
    /// The verification ran past its wall-clock limit.
    #[error("the verification ran past the limit of {0} s")]
    TimedOut(u64),
    /// The service failed (a panic in the pipeline, a lost thread): not the client's fault.
    #[error("{0}")]
    Internal(String),
}

/// Checks the container's figures against `limits`; `sync` applies the shorter duration limit
/// of `POST /v1/verify`.
pub fn admit(
    path: &Path,
    limits: &Limits,
    sync: bool,
) -> Result<verity_media::StreamInfo, VerifyFailure> {
    let info = verity_media::probe(path)
        .map_err(|e| VerifyFailure::Rejected(hide_path(path, &crate::error_chain(&e))))?;
    let (w, h) = (u64::from(info.video.width), u64::from(info.video.height));
    if w * h > limits.max_pixels {
        return Err(VerifyFailure::Rejected(format!(
            "the video is {w}x{h}: more than this service's limit of {} pixels a frame",
            limits.max_pixels
        )));
    }
    let duration = info.duration_s.or(info.video.duration_s).unwrap_or(0.0);
    let max_duration = if sync {
        limits.sync_max_duration_s.min(limits.max_duration_s)
    } else {
        limits.max_duration_s
    };
    if duration > max_duration {
        return Err(VerifyFailure::Rejected(if sync {
            format!(
                "the video lasts {duration:.1} s: POST /v1/verify takes clips up to {max_duration:.0} s; submit longer ones to POST /v1/jobs"
            )
        } else {
            format!(
                "the video lasts {duration:.1} s: more than this service's limit of {max_duration:.0} s"
            )
        }));
    }
    if let Some(frames) = info.expected_frames() {
        if frames > limits.max_frames {
            return Err(VerifyFailure::Rejected(format!(
                "the video has {frames} frames: more than this service's limit of {}",
                limits.max_frames
            )));
        }
    }
    Ok(info)
}

/// A message with the upload's path replaced by its file name: messages name the file as the
/// client named it, never the folder it sits in here.
pub fn hide_path(path: &Path, message: &str) -> String {
    let shown = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    message.replace(&path.display().to_string(), &shown)
}

/// Admits and verifies `path` on a blocking thread once one of `slots` is free, all under
/// `limits.verify_timeout`. A verification that runs past the limit is abandoned (its thread
/// finishes on its own, holding its slot until then; the pipeline is bounded) and reported as
/// timed out.
pub async fn run(
    path: PathBuf,
    opts: Arc<VerifyOptions>,
    limits: Limits,
    sync: bool,
    slots: Arc<tokio::sync::Semaphore>,
) -> Result<Report, VerifyFailure> {
    let timeout = limits.verify_timeout;
    let task = async move {
        let permit = slots
            .acquire_owned()
            .await
            .map_err(|_| VerifyFailure::Internal("the service is stopping".into()))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            verify_now(&path, &opts, &limits, sync)
        })
        .await
        .map_err(|join| VerifyFailure::Internal(format!("the verification stopped: {join}")))?
    };
    match tokio::time::timeout(timeout, task).await {
        Ok(result) => result,
        Err(_) => Err(VerifyFailure::TimedOut(timeout.as_secs())),
    }
}

fn verify_now(
    path: &std::path::Path,
    opts: &VerifyOptions,
    limits: &Limits,
    sync: bool,
) -> Result<Report, VerifyFailure> {
    admit(path, limits, sync)?;
    verity_detect::verify(path, opts).map_err(|e| {
        if e.is_bad_input() {
            VerifyFailure::Rejected(hide_path(path, &crate::error_chain(&e)))
        } else {
            VerifyFailure::Internal(crate::error_chain(&e))
        }
    })
}
