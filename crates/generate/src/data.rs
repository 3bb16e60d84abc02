//! Training data: random scenes from the scene language, rendered by the procedural renderer.

use candle_core::{Device, Result, Tensor};

use crate::model::{Config, PAD};
use crate::render::{RenderOptions, render_with_coverage};
use crate::rng::Rng;
use crate::scene::{
    Background, Camera, Color, Direction, Motion, ObjectSpec, SceneSpec, Shape, Size,
};

/// Colour and shape pairs never shown in training, so evaluation can test combinations the model
/// has not seen.
pub const HELD_OUT: &[(Color, Shape)] = &[
    (Color::Purple, Shape::Triangle),
    (Color::Orange, Shape::Cube),
    (Color::Cyan, Shape::Ball),
];

pub fn is_held_out(spec: &SceneSpec) -> bool {
    std::iter::once(spec.object)
        .chain(spec.collides_with)
        .any(|o| HELD_OUT.contains(&(o.color, o.shape)))
}

fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.below(items.len())]
}

fn object(rng: &mut Rng) -> ObjectSpec {
    ObjectSpec {
        shape: pick(rng, Shape::ALL),
        color: pick(rng, Color::ALL),
        size: pick(rng, Size::ALL),
    }
}

/// A random valid scene; `allow_held_out` decides whether held-out pairs may appear.
pub fn random_spec(rng: &mut Rng, allow_held_out: bool) -> SceneSpec {
    loop {
        let mut spec = SceneSpec {
            object: object(rng),
            motion: match rng.below(4) {
                0 => Motion::Moves(pick(rng, Direction::ALL)),
                1 => Motion::Bounces(pick(rng, &[Direction::Left, Direction::Right])),
                2 => Motion::Falls,
                _ => Motion::Rolls(pick(rng, &[Direction::Left, Direction::Right])),
            },
            collides_with: None,
            background: pick(rng, Background::ALL),
            camera: pick(rng, Camera::ALL),
        };
        if rng.below(7) == 0 {
            spec.collides_with = Some(object(rng));
            spec.motion = Motion::Moves(Direction::Right);
        }
        if matches!(spec.motion, Motion::Rolls(_)) {
            spec.object.shape = Shape::Ball;
        }
        if spec.is_valid() && (allow_held_out || !is_held_out(&spec)) {
            return spec;
        }
    }
}

/// Renders a spec as the model sees it: [T, C, H, W] in [-1, 1].
pub fn clip_tensor(spec: &SceneSpec, cfg: &Config, seed: u64, device: &Device) -> Result<Tensor> {
    let mut data = vec![0f32; clip_len(cfg)];
    render_into(spec, cfg, seed, &mut data, None);
    Tensor::from_vec(
        data,
        (cfg.frames, cfg.channels, cfg.height, cfg.width),
        device,
    )
}

fn clip_len(cfg: &Config) -> usize {
    cfg.frames * cfg.channels * cfg.height * cfg.width
}

fn coverage_len(cfg: &Config) -> usize {
    cfg.frames * cfg.height * cfg.width
}

/// Renders a spec into `data` ([T, C, H, W] in [-1, 1]) and, when given, the objects' coverage
/// of each pixel into `coverage` ([T, H, W] in [0, 1]).
fn render_into(
    spec: &SceneSpec,
    cfg: &Config,
    seed: u64,
    data: &mut [f32],
    mut coverage: Option<&mut [f32]>,
) {
    let opts = RenderOptions {
        width: cfg.width as u32,
        height: cfg.height as u32,
        fps: cfg.frames as f32 / cfg.clip_seconds,
        duration_s: cfg.clip_seconds,
        seed,
    };
    let frames = render_with_coverage(spec, &opts);
    let (h, w, c) = (cfg.height, cfg.width, cfg.channels);
    for (t, (img, cover)) in frames.iter().take(cfg.frames).enumerate() {
        for (x, y, p) in img.enumerate_pixels() {
            for ch in 0..c {
                data[((t * c + ch) * h + y as usize) * w + x as usize] =
                    f32::from(p[ch]) / 127.5 - 1.0;
            }
        }
        if let Some(out) = coverage.as_deref_mut() {
            out[t * h * w..(t + 1) * h * w].copy_from_slice(cover);
        }
    }
}

/// Prompt ids padded to `max_words`: `[L]`.
pub fn prompt_ids(cfg: &Config, prompt: &str) -> Vec<u32> {
    let mut ids = cfg.tokenize(prompt);
    ids.resize(cfg.max_words, PAD);
    ids
}

/// A training batch: clips [B, T, C, H, W] and prompt ids [B, L]. A fraction `drop_text` of the
/// prompts is replaced by the empty prompt, for classifier-free guidance.
pub fn batch(
    cfg: &Config,
    size: usize,
    rng: &mut Rng,
    drop_text: f32,
    device: &Device,
) -> Result<(Tensor, Tensor)> {
    let b = build_batch(cfg, size, rng, drop_text, false, device)?;
    Ok((b.clips, b.ids))
}

/// A training batch with where its objects are.
#[derive(Debug)]
pub struct Batch {
    /// [B, T, C, H, W] in [-1, 1].
    pub clips: Tensor,
    /// [B, L].
    pub ids: Tensor,
    /// [B, T, 1, H, W]: how much of each pixel the objects cover, 0 to 1; only when asked for.
    pub coverage: Option<Tensor>,
}

/// Like [`batch`], and with the objects' coverage when `coverage` is set. The same generator
/// state gives the same clips and prompts either way.
pub fn build_batch(
    cfg: &Config,
    size: usize,
    rng: &mut Rng,
    drop_text: f32,
    coverage: bool,
    device: &Device,
) -> Result<Batch> {
    // Draw every random choice first, in order, so the stream does not depend on threads.
    let mut jobs = Vec::with_capacity(size);
    let mut ids = Vec::with_capacity(size * cfg.max_words);
    for _ in 0..size {
        let spec = random_spec(rng, false);
        let seed = rng.next_u64();
        let prompt = if rng.range(0.0, 1.0) < drop_text {
            String::new()
        } else {
            spec.canonical_prompt()
        };
        ids.extend(prompt_ids(cfg, &prompt)); // the empty prompt tokenizes to [NULL]
        jobs.push((spec, seed));
    }
    // Then render the clips on all cores, into one buffer that goes to the device at once.
    let len = clip_len(cfg);
    // The renderer works out the coverage anyway; keeping it costs one small copy per clip.
    let cov_len = coverage_len(cfg);
    let mut data = vec![0f32; size * len];
    let mut cover = vec![0f32; size * cov_len];
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(size);
    let per = size.div_ceil(threads.max(1));
    std::thread::scope(|scope| {
        let chunks = data
            .chunks_mut(per * len)
            .zip(cover.chunks_mut(per * cov_len))
            .zip(jobs.chunks(per));
        for ((chunk, covers), jobs) in chunks {
            scope.spawn(move || {
                let clips = chunk.chunks_mut(len).zip(covers.chunks_mut(cov_len));
                for ((out, cov), (spec, seed)) in clips.zip(jobs) {
                    render_into(spec, cfg, *seed, out, Some(cov));
                }
            });
        }
    });
    let coverage = if coverage {
        Some(Tensor::from_vec(
            cover,
            (size, cfg.frames, 1, cfg.height, cfg.width),
            device,
        )?)
    } else {
        None
    };
    Ok(Batch {
        clips: Tensor::from_vec(
            data,
            (size, cfg.frames, cfg.channels, cfg.height, cfg.width),
            device,
        )?,
        ids: Tensor::from_vec(ids, (size, cfg.max_words), device)?,
        coverage,
    })
}
