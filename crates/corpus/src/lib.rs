//! verity-corpus: the synthetic-video classifier's dataset.
//!
//! [`build`] turns the real sources that `scripts/fetch-detector-data.sh` fetched into clips of
//! every [`Arm`], each through one canonical encode ([`verity_detect::classifier::canon`]: the
//! same size, frame rate, length, codec, bit rate and key frames, no marks), and writes an
//! [`Index`] that gives each clip its label, family, source and split. Splits go by source
//! scene: every clip cut from one real scene, and every re-synthesis of it, falls in that
//! scene's split; generated and rendered clips split by their prompt. Clips already on disk are
//! kept (the build resumes; without an index, each is checked for the canonical encode).
//!
//! A *fresh test split* ([`BuildOptions::fresh_test`]) is built the same way from new real
//! footage, beside a dataset: every clip is a test clip, no real scene is one the dataset
//! holds, generated and rendered clips take only prompts the dataset's split gives to test
//! (drawn from another seed), and F3's clips come from the dataset's own networks. A classifier
//! chosen on the dataset's test split is scored on it without that choice having seen it.

pub mod arms;
pub mod decoders;
mod error;
pub mod soften;
pub mod sources;
pub mod upscaler;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use image::RgbImage;
use sha2::{Digest, Sha256};
use verity_detect::classifier::canon;
use verity_generate::data::random_spec;
use verity_generate::pipeline::LoadedModel;
use verity_generate::rng::Rng;
use verity_media::WriterOptions;

pub use arms::Arm;
pub use error::{CorpusError, Result};
use sources::{Footage, Kind, Photo, Source};
pub use verity_detect::classifier::data::{Entry, INDEX, Index, Split, split_of};

/// What to build.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Where `fetch-detector-data.sh` put the sources.
    pub sources: PathBuf,
    /// The dataset folder (clips and index).
    pub out: PathBuf,
    /// Clips per arm; an arm not named gets its default count.
    pub counts: BTreeMap<Arm, usize>,
    pub seed: u64,
    /// Build a fresh test split beside the dataset in this folder instead of a dataset (see
    /// the crate's docs); arms whose sources `sources` lacks are left out.
    pub fresh_test: Option<PathBuf>,
}

impl BuildOptions {
    pub fn count(&self, arm: Arm) -> usize {
        self.counts
            .get(&arm)
            .copied()
            .unwrap_or_else(|| arm.default_count())
    }
}

/// The share of each arm's default count a new fresh test split makes: about the size of the
/// dataset's own test split.
pub const FRESH_TEST_SCALE: f32 = 0.2;

/// Clips per arm for a build into `out`: each arm's default count times `scale`; without a
/// scale, the counts of the dataset already in `out` (so that training on it does not grow
/// it; an arm it lacks joins at the scale of the others), or for a new one the defaults (a
/// `fresh` test split: [`FRESH_TEST_SCALE`] of them).
pub fn counts_for(out: &Path, scale: Option<f32>, fresh: bool) -> Result<BTreeMap<Arm, usize>> {
    let new = !out.join(INDEX).is_file();
    let scale = scale.or((fresh && new).then_some(FRESH_TEST_SCALE));
    if let Some(s) = scale {
        if !(s.is_finite() && s > 0.0 && s <= 100.0) {
            return Err(CorpusError::BadScale(s));
        }
        return Ok(Arm::ALL
            .iter()
            .map(|&arm| {
                (
                    arm,
                    ((arm.default_count() as f32 * s).round() as usize).max(1),
                )
            })
            .collect());
    }
    if new {
        return Ok(Arm::ALL.iter().map(|&a| (a, a.default_count())).collect());
    }
    let index = Index::load(out)?;
    let have: BTreeMap<Arm, usize> = Arm::ALL
        .iter()
        .map(|&arm| {
            let n = index.entries.iter().filter(|e| e.arm == arm.name()).count();
            (arm, n)
        })
        .collect();
    // An arm the dataset does not have yet (it was built before the arm existed) joins at the
    // scale the dataset was built at: its default count times the other arms' share of theirs.
    let (made, default) = have
        .iter()
        .filter(|&(_, &n)| n > 0)
        .fold((0, 0), |(m, d), (a, n)| (m + n, d + a.default_count()));
    let scale = if default > 0 {
        made as f32 / default as f32
    } else {
        1.0
    };
    Ok(have
        .into_iter()
        .map(|(arm, n)| {
            let n = if n > 0 {
                n
            } else {
                ((arm.default_count() as f32 * scale).round() as usize).max(1)
            };
            (arm, n)
        })
        .collect())
}

/// One clip to make.
struct Plan {
    arm: Arm,
    i: usize,
    seed: u64,
    /// Index into the sources, for arms made from one.
    source: Option<usize>,
    /// The scene's name (the split's key).
    scene: String,
}

fn clip_seed(base: u64, arm: Arm, i: usize) -> u64 {
    let h = Sha256::digest(format!("{base}/{}/{i}", arm.name()).as_bytes());
    u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], 0])
}

/// The sources an arm draws from.
fn eligible(arm: Arm, sources: &[Source]) -> Vec<usize> {
    let primary_video = |s: &Source| {
        s.kind == Kind::Video && (s.name != "iscc-demo" || s.file_name().ends_with(".mp4"))
    };
    sources
        .iter()
        .enumerate()
        .filter(|(_, s)| match arm {
            Arm::RealVideo => primary_video(s),
            Arm::RealCodec => s.kind == Kind::Video && !primary_video(s),
            Arm::RealPhoto => s.kind == Kind::Photo,
            Arm::Cgi => s.kind == Kind::Cgi,
            Arm::Lavfi => s.kind == Kind::Lavfi,
            Arm::OutpathReal
            | Arm::Bicubic
            | Arm::Resampled
            | Arm::Degraded
            | Arm::Sdedit
            | Arm::Decoder
            | Arm::Esrgan => primary_video(s) || s.kind == Kind::Photo,
            Arm::Render | Arm::OutpathRender | Arm::Generator => false,
        })
        .map(|(i, _)| i)
        .collect()
}

/// Draws of a seed a fresh test split may spend per generated clip looking for a prompt of the
/// test split (about one draw in five is one).
const DRAWS_PER_TEST_PROMPT: usize = 1000;

fn plan(opts: &BuildOptions, sources: &[Source]) -> Result<Vec<Plan>> {
    let fresh = opts.fresh_test.is_some();
    let mut plans = Vec::new();
    for arm in Arm::ALL {
        let pool = eligible(arm, sources);
        let needs_source = !matches!(arm, Arm::Render | Arm::OutpathRender | Arm::Generator);
        if needs_source && pool.is_empty() {
            // A fresh test split makes the arms its sources allow.
            if fresh {
                continue;
            }
            return Err(CorpusError::NoSources {
                dir: opts.sources.clone(),
                what: arm.name(),
            });
        }
        let count = opts.count(arm);
        // The draw a generated clip's seed comes from: its number, unless a fresh test split
        // passes over seeds whose prompt the split gives to training or validation.
        let mut draw = 0;
        for i in 0..count {
            let (seed, source, scene) = if needs_source {
                let s = pool[i % pool.len()];
                (
                    clip_seed(opts.seed, arm, i),
                    Some(s),
                    sources[s].name.clone(),
                )
            } else {
                loop {
                    if draw >= count.max(1) * DRAWS_PER_TEST_PROMPT {
                        return Err(CorpusError::BadSource {
                            path: opts.out.clone(),
                            reason: format!(
                                "no test-split prompt for {} in {draw} draws",
                                arm.name()
                            ),
                        });
                    }
                    let seed = clip_seed(opts.seed, arm, draw);
                    draw += 1;
                    // The same draw the maker does first.
                    let prompt = random_spec(&mut Rng::new(seed), true).canonical_prompt();
                    if !fresh || split_of(&prompt) == Split::Test {
                        break (seed, None, prompt);
                    }
                }
            };
            plans.push(Plan {
                arm,
                i,
                seed,
                source,
                scene,
            });
        }
    }
    Ok(plans)
}

/// A loaded real source.
enum Loaded {
    Footage(Footage),
    Photo(Photo),
}

impl Loaded {
    fn read(src: &Source) -> Result<Loaded> {
        Ok(match src.kind {
            Kind::Photo => Loaded::Photo(Photo::read(&src.path)?),
            _ => Loaded::Footage(Footage::read(&src.path)?),
        })
    }

    fn real(&self) -> arms::Real<'_> {
        match self {
            Loaded::Footage(f) => arms::Real::Footage(f),
            Loaded::Photo(ph) => arms::Real::Photo(ph),
        }
    }
}

/// What [`build`] is doing.
#[derive(Clone, Copy, Debug)]
pub enum Progress {
    /// Clip `done` of `total` is made or found; it is of `arm`.
    Clip { arm: Arm, done: usize, total: usize },
    /// The F3 network of `design` is at training step `step` of `steps`.
    Decoder {
        design: decoders::Design,
        step: usize,
        steps: usize,
    },
}

/// Builds (or completes) the dataset and writes its index, calling `progress` as it goes.
pub fn build(
    opts: &BuildOptions,
    model: &LoadedModel,
    mut progress: impl FnMut(Progress),
) -> Result<Index> {
    // Clips on disk are kept and relabelled from the plan: only sound when the plan is the one
    // that made them.
    // Without an index (a build interrupted before its end), the clips on disk are checked one
    // by one: they may come from another encode.
    let indexed = opts.out.join(INDEX).is_file();
    let old = if indexed {
        Some(Index::load(&opts.out)?)
    } else {
        None
    };
    if let Some(old) = &old {
        if old.data_seed != opts.seed || old.generator_weights_sha256 != model.weights_sha256 {
            return Err(CorpusError::OtherDataset {
                path: opts.out.join(INDEX),
                reason: format!(
                    "its clips were made with seed {} and generator weights {}, not seed {} and {}: build into a new folder",
                    old.data_seed,
                    short(&old.generator_weights_sha256),
                    opts.seed,
                    short(&model.weights_sha256)
                ),
            });
        }
        check_kind(old, opts.fresh_test.is_some(), &opts.out)?;
    }
    let (sources, main) = match &opts.fresh_test {
        None => (sources::discover(&opts.sources)?, None),
        Some(main_dir) => {
            let sources = sources::discover_some(&opts.sources)?;
            let main = Index::load(main_dir)?;
            check_fresh(opts, main_dir, &main, &sources, &model.weights_sha256)?;
            (sources, Some((main_dir, main.data_seed)))
        }
    };
    let plans = plan(opts, &sources)?;
    // A fresh test split uses the dataset's F3 networks, as they were trained for it.
    let nets = match main {
        Some((dir, _)) => dir.join("nets"),
        None => opts.out.join("nets"),
    };
    let total = plans.len();
    let mut cache: Vec<(usize, Loaded)> = Vec::new();
    let mut entries = Vec::with_capacity(total);
    // Made in the order of their sources within each arm, so that each real source is decoded
    // once per arm (round-robin order would decode a long source again for every clip).
    let mut order: Vec<usize> = (0..plans.len()).collect();
    order.sort_by_key(|&k| (plans[k].arm, plans[k].source, plans[k].i));
    let clip_path = |p: &Plan| format!("clips/{0}/{0}-{1:04}.mp4", p.arm.name(), p.i);
    let made_before = |arm: Arm| {
        plans
            .iter()
            .any(|p| p.arm == arm && opts.out.join(clip_path(p)).is_file())
    };
    let (decoder_made_before, esrgan_made_before) =
        (made_before(Arm::Decoder), made_before(Arm::Esrgan));
    // The F4 networks, loaded only when one of its clips is still to be made.
    let upscalers = if plans
        .iter()
        .any(|p| p.arm == Arm::Esrgan && !opts.out.join(clip_path(p)).is_file())
    {
        Some(upscaler::Upscalers::load(&opts.sources)?)
    } else {
        None
    };
    // The F3 networks, likewise; trained on the training split's real frames when new.
    let decoders = if plans
        .iter()
        .any(|p| p.arm == Arm::Decoder && !opts.out.join(clip_path(p)).is_file())
    {
        let nets_seed = main.map_or(opts.seed, |(_, seed)| seed);
        let schedule = decoders::Schedule::default();
        // Clips already made came from the networks in nets/: new networks would mix two
        // generators in one arm.
        let made = decoder_made_before;
        let saved = decoders::Decoders::saved(&nets, nets_seed, schedule);
        if main.is_some() && !saved {
            return Err(CorpusError::OtherDataset {
                path: nets,
                reason: format!(
                    "no F3 networks trained with seed {nets_seed} as now ({schedule:?}): a fresh test split takes its dataset's networks, it does not train new ones"
                ),
            });
        }
        if made && !saved {
            return Err(CorpusError::OtherDataset {
                path: opts.out.join("clips/decoder"),
                reason: format!(
                    "its clips were made by F3 networks that {} no longer holds as trained now ({schedule:?}): delete clips/decoder to remake them",
                    nets.display()
                ),
            });
        }
        // Saved networks are loaded: no frames to read for them.
        let frames = if saved {
            Vec::new()
        } else {
            decoder_frames(&sources, opts.seed)?
        };
        Some(decoders::Decoders::load_or_train(
            &nets,
            &frames,
            nets_seed,
            schedule,
            |design, step, steps| {
                progress(Progress::Decoder {
                    design,
                    step,
                    steps,
                })
            },
        )?)
    } else {
        None
    };
    // What the index records of the networks: checked before any clip is made with them.
    let mut used = Vec::new();
    if decoders.is_some() {
        for d in decoders::Design::ALL {
            let file = nets.join(format!("f3-{}.safetensors", d.name()));
            let bytes = std::fs::read(&file).map_err(|e| CorpusError::io(&file, e))?;
            used.push(NetworkUse {
                name: format!("f3-{}", d.name()),
                file,
                sha256: hex(&Sha256::digest(&bytes)),
                joins: decoder_made_before,
                // A dataset's own nets/ made its clips (clips without saved networks are refused
                // above); a fresh split's clips may predate a retraining of its dataset's.
                maker_known: main.is_none(),
            });
        }
    }
    if let Some(u) = &upscalers {
        for rdn in [&u.x2, &u.x4] {
            used.push(NetworkUse {
                name: format!("f4-x{}", rdn.scale),
                file: rdn.source.clone(),
                sha256: rdn.weights_sha256.clone(),
                joins: esrgan_made_before,
                // The package may have been another when those clips were made.
                maker_known: false,
            });
        }
    }
    let networks = network_hashes(
        &used,
        old.as_ref().map(|o| &o.networks_sha256),
        &opts.out.join(INDEX),
    )?;
    for (done, p) in order.iter().map(|&k| &plans[k]).enumerate() {
        let rel = clip_path(p);
        let path = opts.out.join(&rel);
        if !path.is_file() {
            let mut rng = Rng::new(p.seed);
            let frames = match p.source {
                None => make_generated(p, model, &mut rng)?,
                Some(s) => {
                    let pos = match cache.iter().position(|(i, _)| *i == s) {
                        Some(k) => k,
                        None => {
                            let loaded = Loaded::read(&sources[s])?;
                            if cache.len() >= 4 {
                                cache.remove(0);
                            }
                            cache.push((s, loaded));
                            cache.len() - 1
                        }
                    };
                    let real = cache[pos].1.real();
                    let nets = Nets {
                        upscalers: upscalers.as_ref(),
                        decoders: decoders.as_ref(),
                    };
                    make_from_real(p, model, nets, &real, &mut rng)?
                }
            };
            write_canonical(&path, &frames)?;
        } else if !indexed {
            check_canonical(&path, canon::FRAMES)?;
        }
        entries.push(Entry {
            file: rel,
            arm: p.arm.name().to_string(),
            label: p.arm.label(),
            family: p.arm.family().map(str::to_string),
            source: p.scene.clone(),
            source_file: p.source.map(|s| sources[s].file_name()),
            split: if main.is_some() {
                Split::Test
            } else {
                split_of(&p.scene)
            },
            seed: p.seed,
        });
        progress(Progress::Clip {
            arm: p.arm,
            done: done + 1,
            total,
        });
    }
    let mut index = Index::canonical(model.weights_sha256.clone(), opts.seed, entries);
    index.networks_sha256 = networks;
    let json = serde_json::to_vec_pretty(&index).map_err(|e| CorpusError::BadIndex {
        path: opts.out.join(INDEX),
        reason: e.to_string(),
    })?;
    verity_fs::write_whole(&opts.out.join(INDEX), &json)
        .map_err(|e| CorpusError::io(opts.out.join(INDEX), e))?;
    Ok(index)
}

/// A network besides the generator that a build loaded to make clips.
struct NetworkUse {
    /// Its name in the index: `f3-<design>`, `f4-x2`, `f4-x4`.
    name: String,
    /// Its weights: a safetensors file, or a TF.js `model.json` with shards beside it.
    file: PathBuf,
    /// The SHA-256 of those files, as loaded.
    sha256: String,
    /// Whether clips of its arm were on disk before it was loaded.
    joins: bool,
    /// Whether those clips are known to come from this network's files (the record, when there
    /// is one, is still checked).
    maker_known: bool,
}

/// The index's record of the networks that made its clips: the old index's record `old`, with
/// the SHA-256 of each network in `used`. A network that joins clips
/// already on disk must be the one on record for them (two networks in one arm are refused,
/// naming `index`); with none on record it is left out unless those clips are known to be its
/// own. A network that makes its whole arm is recorded.
fn network_hashes(
    used: &[NetworkUse],
    old: Option<&BTreeMap<String, String>>,
    index: &Path,
) -> Result<BTreeMap<String, String>> {
    let mut out = old.cloned().unwrap_or_default();
    for u in used {
        match out.get(&u.name) {
            Some(recorded) if u.joins && *recorded != u.sha256 => {
                return Err(CorpusError::OtherDataset {
                    path: index.to_path_buf(),
                    reason: format!(
                        "its clips were made by {} {}, but {} is now {}: build into a new folder, or delete that arm's clips to remake them",
                        u.name,
                        short(recorded),
                        u.file.display(),
                        short(&u.sha256)
                    ),
                });
            }
            None if u.joins && !u.maker_known => {}
            _ => {
                out.insert(u.name.clone(), u.sha256.clone());
            }
        }
    }
    Ok(out)
}

/// A digest in lower-case hexadecimal, as the index records it.
pub(crate) fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh test split and a dataset do not turn into each other: the folder `out`, whose index
/// is `old`, is completed only as what it is.
fn check_kind(old: &Index, fresh: bool, out: &Path) -> Result<()> {
    let all_test = old.entries.iter().all(|e| e.split == Split::Test);
    if old.entries.is_empty() || all_test == fresh {
        return Ok(());
    }
    Err(CorpusError::OtherDataset {
        path: out.join(INDEX),
        reason: if all_test {
            "a fresh test split: complete it with --fresh-test, or build the dataset into a new folder".into()
        } else {
            "a dataset with training clips, not a fresh test split: build that into a new folder"
                .into()
        },
    })
}

/// A fresh test split is made beside `main` (in `main_dir`) only from real scenes `main` does
/// not hold, by the same generator, from another seed (the same seed would make the dataset's
/// own test clips again).
fn check_fresh(
    opts: &BuildOptions,
    main_dir: &Path,
    main: &Index,
    sources: &[Source],
    weights_sha256: &str,
) -> Result<()> {
    let path = main_dir.join(INDEX);
    if main.data_seed == opts.seed {
        return Err(CorpusError::OtherDataset {
            path,
            reason: format!(
                "a fresh test split needs another data seed than its dataset's ({}), or it would make the dataset's own generated clips again",
                main.data_seed
            ),
        });
    }
    if main.generator_weights_sha256 != weights_sha256 {
        return Err(CorpusError::OtherDataset {
            path,
            reason: format!(
                "made with generator weights {}, not the bundled {}: a fresh test split must come from the same generator",
                short(&main.generator_weights_sha256),
                short(weights_sha256)
            ),
        });
    }
    if let Some(s) = sources.iter().find(|s| main.holds_scene(&s.name)) {
        return Err(CorpusError::OtherDataset {
            path,
            reason: format!(
                "it already holds the scene `{}` ({}): a fresh test split takes real scenes the dataset has never seen",
                s.name,
                s.path.display()
            ),
        });
    }
    Ok(())
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

fn make_generated(p: &Plan, model: &LoadedModel, rng: &mut Rng) -> Result<Vec<RgbImage>> {
    Ok(match p.arm {
        Arm::Render => arms::render(rng, p.seed).1,
        Arm::OutpathRender => arms::outpath_render(model, rng, p.seed)?.1,
        _ => arms::generator(model, rng, p.seed)?.1,
    })
}

/// The networks of the F3 and F4 arms, loaded when a clip of theirs is still to be made.
#[derive(Clone, Copy)]
struct Nets<'a> {
    upscalers: Option<&'a upscaler::Upscalers>,
    decoders: Option<&'a decoders::Decoders>,
}

/// Frames for training the F3 networks: 48 canonical frames of each real source (footage and
/// photographs) of the training split.
fn decoder_frames(sources: &[Source], seed: u64) -> Result<Vec<RgbImage>> {
    let mut rng = Rng::new(seed ^ 0xf3);
    let mut frames = Vec::new();
    for i in eligible(Arm::Decoder, sources) {
        let src = &sources[i];
        if split_of(&src.name) != Split::Train {
            continue;
        }
        let loaded = Loaded::read(src)?;
        // A photograph's clip has no span; footage gives 48 frames over up to 20 s.
        let span = match &loaded {
            Loaded::Footage(f) => f.duration_s().min(20.0),
            Loaded::Photo(_) => 0.0,
        };
        frames.extend(loaded.real().clip(&mut rng, 48, span));
    }
    Ok(frames)
}

fn make_from_real(
    p: &Plan,
    model: &LoadedModel,
    nets: Nets<'_>,
    real: &arms::Real<'_>,
    rng: &mut Rng,
) -> Result<Vec<RgbImage>> {
    let span = canon::FRAMES as f64 / f64::from(canon::FPS);
    Ok(match p.arm {
        Arm::OutpathReal => arms::outpath_real(model, real, rng),
        Arm::Sdedit => arms::sdedit(model, real, rng, p.seed)?,
        Arm::Bicubic => arms::bicubic(real.clip(rng, canon::FRAMES, span)),
        Arm::Resampled => soften::resampled(&real.clip(rng, canon::FRAMES, span), rng),
        Arm::Degraded => soften::degraded(&real.clip(rng, canon::FRAMES, span), rng)?,
        Arm::Esrgan => {
            let u = nets.upscalers.ok_or_else(|| CorpusError::BadSource {
                path: "upscalers/esrgan-slim".into(),
                reason: "the F4 networks were not loaded for a clip that needs them".into(),
            })?;
            arms::esrgan(u, real, rng)?
        }
        Arm::Decoder => {
            let d = nets.decoders.ok_or_else(|| CorpusError::BadSource {
                path: "nets".into(),
                reason: "the F3 networks were not loaded for a clip that needs them".into(),
            })?;
            arms::decoder(d, real, rng)?
        }
        _ => real.clip(rng, canon::FRAMES, span),
    })
}

/// Writes `frames` with the canonical encode. Nothing appears at `path` unless it all worked.
pub fn write_canonical(path: &Path, frames: &[RgbImage]) -> Result<()> {
    if let Some(f) = frames
        .iter()
        .find(|f| f.dimensions() != (canon::SIZE, canon::SIZE))
    {
        return Err(CorpusError::BadSource {
            path: path.to_path_buf(),
            reason: format!(
                "a {}x{} frame for a canonical clip of {}x{}",
                f.width(),
                f.height(),
                canon::SIZE,
                canon::SIZE
            ),
        });
    }
    write_frames(path, frames, |wo| {
        wo.cbr = Some(canon::RATE);
        wo.key_interval = Some(canon::KEY_INTERVAL);
        wo.deterministic = true;
    })?;
    check_canonical(path, frames.len()).inspect_err(|_| {
        let _ = std::fs::remove_file(path);
    })
}

/// Checks that the clip at `path`, of `frames` frames, bears the canonical encode: one picture
/// per frame, one key frame per [`canon::KEY_INTERVAL`] frames, and a video stream of exactly
/// the size the constant rate gives that length. libx264 only warns (in FFmpeg's log, silent by
/// default) when it drops a parameter, so a build without `nal-hrd` or `filler` would otherwise
/// pass unnoticed; and a clip left by an earlier encode (CRF 23, libx264's own key frames, or
/// the constant rate without the exact size) fails it.
pub fn check_canonical(path: &Path, frames: usize) -> Result<()> {
    let tally = verity_media::video_packets(path)?;
    let want_keys = frames.div_ceil(canon::KEY_INTERVAL as usize) as u64;
    let want_bytes = canon::stream_bytes(frames);
    if tally.packets != frames as u64
        || tally.key_frames != want_keys
        || Some(tally.bytes) != want_bytes
    {
        return Err(CorpusError::OtherDataset {
            path: path.to_path_buf(),
            reason: format!(
                "not the canonical encode ({}): {} pictures for {frames}, {} key frames for \
                 {want_keys}, {} bytes of video for {}",
                canon::ENCODE,
                tally.packets,
                tally.key_frames,
                tally.bytes,
                want_bytes.map_or_else(|| "none".to_string(), |b| b.to_string()),
            ),
        });
    }
    Ok(())
}

/// Writes `frames` (all of one size) as H.264 at `crf` and the canonical frame rate.
pub fn write_h264(path: &Path, frames: &[RgbImage], crf: u8) -> Result<()> {
    write_frames(path, frames, |wo| wo.crf = crf)
}

/// Writes `frames` (all of one size) as H.264 at the canonical frame rate, with the encoder
/// settings `set` chooses ([`canon::write_frames`]), creating the folder first.
fn write_frames(
    path: &Path,
    frames: &[RgbImage],
    set: impl FnOnce(&mut WriterOptions),
) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| CorpusError::io(dir, e))?;
    }
    Ok(canon::write_frames(path, frames, set)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(arm: Arm, i: usize) -> Entry {
        Entry {
            file: format!("{}/{i}.mp4", arm.name()),
            arm: arm.name().into(),
            label: arm.label(),
            family: arm.family().map(Into::into),
            source: "scene".into(),
            source_file: None,
            split: Split::Train,
            seed: i as u64,
        }
    }

    #[test]
    fn the_index_records_the_networks_that_made_its_clips() {
        let index = Path::new("data").join(INDEX);
        let net = |name: &str, sha256: &str, joins, maker_known| NetworkUse {
            name: name.into(),
            file: PathBuf::from(format!("{name}.weights")),
            sha256: sha256.into(),
            joins,
            maker_known,
        };
        let f3 = |sha256| net("f3-a", sha256, false, true);
        let f4 = |sha256, joins| net("f4-x2", sha256, joins, false);

        // A new dataset: what made its clips (each digest is taken as the network is loaded:
        // `upscaler` tests F4's).
        let got = network_hashes(&[f3("net a"), f4("f4 one", false)], None, &index).unwrap();
        let want = BTreeMap::from([
            ("f3-a".to_string(), "net a".to_string()),
            ("f4-x2".to_string(), "f4 one".to_string()),
        ]);
        assert_eq!(got, want);

        // Nothing loaded (every clip on disk): the record stands as it was, an empty one too,
        // so an older dataset's fingerprint does not move.
        assert_eq!(network_hashes(&[], Some(&got), &index).unwrap(), got);
        assert!(
            network_hashes(&[], Some(&BTreeMap::new()), &index)
                .unwrap()
                .is_empty()
        );

        // Networks that remade their arm replace the record; others on record are kept.
        let old = BTreeMap::from([
            ("f3-a".to_string(), "older".to_string()),
            ("f3-b".to_string(), "kept".to_string()),
        ]);
        let got = network_hashes(&[f3("net a2")], Some(&old), &index).unwrap();
        assert_eq!(got["f3-a"], "net a2");
        assert_eq!(got["f3-b"], "kept");

        // F4 joining clips already there: the network on record may go on; another is refused;
        // with none on record, it is left out rather than named for clips it may not have made.
        let on_record = BTreeMap::from([("f4-x2".to_string(), "f4 one".to_string())]);
        assert_eq!(
            network_hashes(&[f4("f4 one", true)], Some(&on_record), &index).unwrap(),
            on_record
        );
        let refused = |r: Result<BTreeMap<String, String>>| matches!(r, Err(CorpusError::OtherDataset { path, .. }) if path == index);
        assert!(refused(network_hashes(
            &[f4("f4 two", true)],
            Some(&on_record),
            &index
        )));
        assert!(
            network_hashes(&[f4("f4 two", true)], None, &index)
                .unwrap()
                .is_empty()
        );

        // F3 joining its own dataset's clips: recorded with none on record (they are its
        // own), refused against another on record (a fresh split's clips, say, made before its
        // dataset's networks were trained again).
        let joins_a = net("f3-a", "net a3", true, true);
        let got = network_hashes(std::slice::from_ref(&joins_a), None, &index).unwrap();
        assert_eq!(got["f3-a"], "net a3");
        assert!(refused(network_hashes(&[joins_a], Some(&old), &index)));
    }

    fn write_index(dir: &Path, counts: &[(Arm, usize)]) {
        let index = Index::canonical(
            String::new(),
            0,
            counts
                .iter()
                .flat_map(|&(a, n)| (0..n).map(move |i| entry(a, i)))
                .collect(),
        );
        std::fs::write(dir.join(INDEX), serde_json::to_vec(&index).unwrap()).unwrap();
    }

    #[test]
    fn the_canonical_encode_gives_any_clip_one_size_and_one_key_frame() {
        let dir = tempfile::tempdir().unwrap();
        let side = canon::SIZE;
        let plain: Vec<RgbImage> = (0..canon::FRAMES as u32)
            .map(|i| RgbImage::from_fn(side, side, |x, y| image::Rgb([(x + i) as u8, y as u8, 90])))
            .collect();
        let mut rng = Rng::new(3);
        let noisy: Vec<RgbImage> = (0..canon::FRAMES)
            .map(|_| {
                RgbImage::from_fn(side, side, |_, _| {
                    image::Rgb([0; 3].map(|_| rng.range(0.0, 255.0) as u8))
                })
            })
            .collect();
        let mut sizes = Vec::new();
        for (name, frames) in [("plain", &plain), ("noisy", &noisy)] {
            let path = dir.path().join(format!("{name}.mp4"));
            write_canonical(&path, frames).unwrap();
            assert_eq!(verity_media::count_key_frames(&path).unwrap(), 1, "{name}");
            sizes.push(std::fs::metadata(&path).unwrap().len());
        }
        // One size to the byte, whatever the picture.
        assert_eq!(sizes[0], sizes[1], "{sizes:?}");
        let stream = canon::stream_bytes(canon::FRAMES).unwrap();
        assert!(
            sizes[0] > stream && sizes[0] < stream + 4_000,
            "{sizes:?} for {stream}"
        );

        // Clips of the earlier encodes are told apart: CRF 23, and the constant rate without
        // the exact size.
        let old = dir.path().join("crf23.mp4");
        write_h264(&old, &plain, 23).unwrap();
        let loose = dir.path().join("loose.mp4");
        write_frames(&loose, &noisy, |wo| {
            wo.cbr = Some(verity_media::ConstantBitRate {
                exact_size: false,
                ..canon::RATE
            });
            wo.key_interval = Some(canon::KEY_INTERVAL);
        })
        .unwrap();
        for path in [&old, &loose] {
            let err = check_canonical(path, canon::FRAMES).unwrap_err();
            assert!(matches!(err, CorpusError::OtherDataset { .. }), "{err}");
        }
        check_canonical(&dir.path().join("noisy.mp4"), canon::FRAMES).unwrap();
    }

    #[test]
    fn a_fresh_test_split_draws_only_test_prompts_and_skips_arms_without_sources() {
        let sources = vec![Source {
            name: "street".into(),
            kind: sources::Kind::Video,
            path: "video/street.avi".into(),
        }];
        let opts = |fresh: bool| BuildOptions {
            sources: "src".into(),
            out: "out".into(),
            counts: Arm::ALL
                .iter()
                .map(|&a| (a, if a == Arm::Generator { 12 } else { 2 }))
                .collect(),
            seed: 5,
            fresh_test: fresh.then(|| "data".into()),
        };
        // A dataset needs every arm's sources; a fresh test split makes the arms it can.
        let err = plan(&opts(false), &sources).err().unwrap();
        assert!(matches!(err, CorpusError::NoSources { .. }), "{err}");
        let plans = plan(&opts(true), &sources).unwrap();
        let arms: std::collections::BTreeSet<Arm> = plans.iter().map(|p| p.arm).collect();
        assert!(!arms.contains(&Arm::RealPhoto) && !arms.contains(&Arm::Cgi));
        assert!(arms.contains(&Arm::RealVideo) && arms.contains(&Arm::Esrgan));
        let generated: Vec<&Plan> = plans.iter().filter(|p| p.arm == Arm::Generator).collect();
        assert_eq!(generated.len(), 12);
        assert!(generated.iter().all(|p| split_of(&p.scene) == Split::Test));
        let seeds: std::collections::BTreeSet<u64> = generated.iter().map(|p| p.seed).collect();
        assert_eq!(seeds.len(), 12);
        // Some draws were passed over (about four in five prompts belong to other splits).
        assert!(
            generated
                .iter()
                .enumerate()
                .any(|(i, p)| p.seed != clip_seed(5, Arm::Generator, i))
        );
        // A dataset's generated clips keep the seeds they always had: one draw each.
        let all: Vec<Source> = [
            sources::Kind::Video,
            sources::Kind::Cgi,
            sources::Kind::Lavfi,
            sources::Kind::Photo,
        ]
        .into_iter()
        .enumerate()
        .map(|(i, kind)| Source {
            name: format!("scene-{i}"),
            kind,
            path: format!("s/{i}.mp4").into(),
        })
        .chain(std::iter::once(Source {
            name: "iscc-demo".into(),
            kind: sources::Kind::Video,
            path: "s/iscc-demo.avi".into(),
        }))
        .collect();
        let plans = plan(&opts(false), &all).unwrap();
        let generated: Vec<&Plan> = plans.iter().filter(|p| p.arm == Arm::Generator).collect();
        assert_eq!(generated.len(), 12);
        for (i, p) in generated.iter().enumerate() {
            assert_eq!(p.seed, clip_seed(5, Arm::Generator, i));
        }
    }

    #[test]
    fn a_fresh_test_split_needs_new_scenes_a_new_seed_and_its_own_folder() {
        let main = Index::canonical("w".into(), 0, vec![entry(Arm::RealVideo, 0)]);
        let src = |name: &str| Source {
            name: name.into(),
            kind: sources::Kind::Video,
            path: format!("video/{name}.avi").into(),
        };
        let opts = |seed| BuildOptions {
            sources: "src".into(),
            out: "fresh".into(),
            counts: BTreeMap::new(),
            seed,
            fresh_test: Some("data".into()),
        };
        let dir = Path::new("data");
        check_fresh(&opts(1), dir, &main, &[src("street")], "w").unwrap();
        for (o, sources, weights, says) in [
            (opts(0), vec![src("street")], "w", "another data seed"),
            (opts(1), vec![src("street"), src("scene")], "w", "`scene`"),
            (opts(1), vec![src("street")], "v", "same generator"),
        ] {
            let err = check_fresh(&o, dir, &main, &sources, weights)
                .unwrap_err()
                .to_string();
            assert!(err.contains(says), "{err}");
        }
        // A folder is completed only as what it is.
        let mut test_only = main.clone();
        test_only.entries[0].split = Split::Test;
        let out = Path::new("out");
        check_kind(&main, false, out).unwrap();
        check_kind(&test_only, true, out).unwrap();
        let err = check_kind(&main, true, out).unwrap_err().to_string();
        assert!(err.contains("not a fresh test split"), "{err}");
        let err = check_kind(&test_only, false, out).unwrap_err().to_string();
        assert!(err.contains("complete it with --fresh-test"), "{err}");
    }

    #[test]
    fn a_new_fresh_test_split_is_a_fifth_and_a_resumed_one_keeps_its_counts() {
        let dir = tempfile::tempdir().unwrap();
        let counts = counts_for(dir.path(), None, true).unwrap();
        assert_eq!(counts[&Arm::Generator], 48);
        assert_eq!(counts[&Arm::Bicubic], 16);
        // Built at half the counts, then completed without --data-scale: half it stays.
        write_index(dir.path(), &[(Arm::Generator, 120), (Arm::Bicubic, 40)]);
        let counts = counts_for(dir.path(), None, true).unwrap();
        assert_eq!(counts[&Arm::Generator], 120);
        assert_eq!(counts[&Arm::Bicubic], 40);
    }

    #[test]
    fn a_new_arm_joins_an_old_dataset_at_its_scale() {
        let dir = tempfile::tempdir().unwrap();
        // Every arm but the two newest, at a tenth of its default count.
        let old: Vec<(Arm, usize)> = Arm::ALL
            .iter()
            .filter(|a| !matches!(a, Arm::Resampled | Arm::Degraded))
            .map(|&a| (a, a.default_count() / 10))
            .collect();
        write_index(dir.path(), &old);
        let counts = counts_for(dir.path(), None, false).unwrap();
        for (arm, n) in &old {
            assert_eq!(counts[arm], *n, "{arm:?} keeps what it has");
        }
        let made: usize = old.iter().map(|p| p.1).sum();
        let default: usize = old.iter().map(|p| p.0.default_count()).sum();
        let scale = made as f32 / default as f32;
        for arm in [Arm::Resampled, Arm::Degraded] {
            let want = (arm.default_count() as f32 * scale).round() as usize;
            assert_eq!(counts[&arm], want, "{arm:?}");
            assert!(
                want < arm.default_count() / 5,
                "a tenth-size dataset stays small"
            );
        }
    }

    #[test]
    fn counts_without_an_index_or_with_a_scale() {
        let dir = tempfile::tempdir().unwrap();
        let counts = counts_for(dir.path(), None, false).unwrap();
        assert!(Arm::ALL.iter().all(|a| counts[a] == a.default_count()));
        let counts = counts_for(dir.path(), Some(0.5), false).unwrap();
        assert_eq!(counts[&Arm::Generator], Arm::Generator.default_count() / 2);
        assert!(counts_for(dir.path(), Some(0.0), false).is_err());
    }
}
