//! The streaming reader: demux, decode and convert, one item at a time.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use ffmpeg_next::software::resampling;
use ffmpeg_next::util::frame;
use ffmpeg_next::{ChannelLayout, Packet, codec, decoder, format};

use crate::convert::{self, ConverterCache};
use crate::demux;
use crate::error::{MediaError, Result};
use crate::frame::{AudioFrame, ColorSpec, PixelFormat, Rational, VideoFrame};
use crate::probe::{self, StreamInfo};

/// Which video frames the reader hands out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sampling {
    /// Every frame.
    #[default]
    All,
    /// Frames 0, n, 2n, …: every frame is decoded (inter-coded video needs it), only these are
    /// converted and handed out.
    EveryNth(u64),
    /// `n` frames spread evenly over the clip: the one nearest the middle of each of `n` equal
    /// slices of the duration. The reader seeks to the key frame before each pick when that
    /// skips work, so it decodes no more than it must.
    Spread(u64),
    /// `count` runs of `len` consecutive frames spread evenly over the first `total` frames:
    /// run k starts at frame (2k + 1)·(total − len + 1) / (2·count). Every frame is decoded
    /// (a run needs its neighbours decoded in order), only the runs' frames are converted and
    /// handed out: frame triples for a classifier at the cost of decoding alone.
    Runs { count: u64, len: u64, total: u64 },
    /// Up to `count` runs of `len` consecutive frames within the first `total` frames, each
    /// starting at a key frame: the targets of [`Sampling::Runs`] are moved back to the key
    /// frame at or before them (from the container's index), and targets that land on the same
    /// key frame become runs back to back after it. The reader seeks to each key frame it
    /// needs, so decoding costs about `count · len` frames (plus what the codec holds back to
    /// reorder) whatever the clip's length, where `Runs` decodes every frame up to the last run.
    /// However far back its key frame is, a target moves to it: a file with few key frames
    /// gives runs only after them (one key frame: runs only at the start), which is the price
    /// of the bounded cost. With no index at all (MPEG-TS), targets keep their places and the
    /// frames before them are decoded, as with `Runs`. Decoding stops, and reading is
    /// reported damaged, past `total + count · len` frames (times that never reach the
    /// groups).
    KeyRuns { count: u64, len: u64, total: u64 },
}

impl Sampling {
    /// The first frame of each run of [`Sampling::Runs`] (empty when no run fits).
    pub fn run_starts(count: u64, len: u64, total: u64) -> Vec<u64> {
        if len == 0 || total < len {
            return Vec::new();
        }
        let usable = total - len + 1;
        // At most usable / len runs, so that consecutive starts are at least `len` apart and
        // runs never overlap; at least one when one fits.
        let count = count.min((usable / len).max(1));
        (0..count)
            .map(|k| (2 * k + 1) * usable / (2 * count))
            .collect()
    }
}

/// What the reader does with the first audio stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AudioMode {
    /// Ignore audio.
    #[default]
    Skip,
    /// Decode to interleaved f32 PCM at the stream's own rate and channel layout.
    Decode,
    /// Hand out the compressed packets untouched, to copy them into a new file.
    Passthrough,
}

/// How to read a file.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReaderOptions {
    pub format: PixelFormat,
    pub sampling: Sampling,
    pub audio: AudioMode,
    /// Frames averaged over `k` × `k` blocks (swscale's area filter) as they are converted,
    /// the sides divided by `k` and rounded down to even: for a reader that looks at frames far
    /// smaller than the video, a fraction of the cost of converting at full size and shrinking
    /// afterwards. `None` or 1 (the default): frames at their own size.
    pub shrink_by: Option<u32>,
}

/// The size a `w` × `h` frame is handed out at under [`ReaderOptions::shrink_by`].
fn shrunk_size(w: u32, h: u32, shrink_by: Option<u32>) -> (u32, u32) {
    match shrink_by {
        Some(k) if k > 1 => ((w / k / 2 * 2).max(2), (h / k / 2 * 2).max(2)),
        _ => (w, h),
    }
}

/// A compressed audio packet, for passthrough.
#[derive(Clone, Debug)]
pub struct AudioPacket {
    pub data: Vec<u8>,
    pub pts: Option<i64>,
    pub dts: Option<i64>,
    pub duration: i64,
    pub time_base: Rational,
    pub key: bool,
}

/// The codec parameters of an audio stream, needed to create an output stream that carries its
/// packets untouched.
pub struct AudioStreamParams {
    pub(crate) params: codec::Parameters,
    pub(crate) time_base: Rational,
}

impl std::fmt::Debug for AudioStreamParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioStreamParams")
            .field("codec", &probe::codec_name(self.params.id()))
            .field("time_base", &self.time_base)
            .finish()
    }
}

/// One thing read from the file, in the order the file interleaves them.
#[derive(Clone, Debug)]
pub enum Item {
    Video(VideoFrame),
    Audio(AudioFrame),
    AudioPacket(AudioPacket),
}

/// How reading ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Completion {
    /// Still reading.
    InProgress,
    /// The whole stream was read and decoded without error; under sampling that stops early
    /// (`Spread`, `Runs`, `KeyRuns`), every frame it wanted was read without error.
    Complete,
    /// The file ended early or held damaged data; everything decodable was handed out.
    Damaged {
        /// Where the last good video frame ends, in seconds.
        decoded_until_s: f64,
        /// How long the video should have lasted, if the container says.
        expected_s: Option<f64>,
        /// What went wrong, in plain words.
        reason: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Reading,
    Draining,
    Done,
}

struct AudioState {
    index: usize,
    time_base: Rational,
    decoder: Option<decoder::Audio>,
    resampler: Option<resampling::Context>,
    layout: String,
}

/// Reads a video file as a stream of frames (and optionally audio), holding only a few frames in
/// memory whatever the file's length.
pub struct Reader {
    path: PathBuf,
    input: format::context::Input,
    info: StreamInfo,
    opts: ReaderOptions,
    video_index: usize,
    video_tb: Rational,
    decoder: decoder::Video,
    color: ColorSpec,
    converter: ConverterCache,
    audio: Option<AudioState>,
    pending: VecDeque<Item>,
    state: State,
    /// Presentation-order index of the next decoded video frame.
    next_index: u64,
    /// For `Spread`: the target times, in seconds, not yet satisfied.
    targets: VecDeque<f64>,
    /// For `Spread`: the number of targets left when the last seek was made.
    sought_for: Option<usize>,
    frame_dur_s: f64,
    last_video_end_s: Option<f64>,
    video_frames_out: u64,
    frames_decoded: u64,
    errors: Vec<String>,
    completion: Completion,
    decoded: frame::Video,
    /// For `Runs`: the first frame of each run, in order.
    plan: Vec<u64>,
    /// For `KeyRuns`: the groups not yet begun.
    groups: VecDeque<KeyGroup>,
    /// For `KeyRuns`: frames still to hand out in the group under way.
    group_left: u64,
}

/// Consecutive frames that [`Sampling::KeyRuns`] hands out from one key frame on.
#[derive(Clone, Copy, Debug)]
struct KeyGroup {
    /// The key frame's presentation time (its index time plus the stream's reordering
    /// delay), or the target's own time when the index has no key frame for it.
    time_s: f64,
    /// Where to seek to land on that key frame (half a frame past it). `None` when the index
    /// did not know the key frame: decoding goes on to the target.
    seek_s: Option<f64>,
    /// Frames to hand out: the runs that landed here, back to back.
    frames: u64,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("path", &self.path)
            .field("opts", &self.opts)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Reader {
    /// Opens `path` for reading.
    pub fn open(path: impl AsRef<Path>, opts: ReaderOptions) -> Result<Reader> {
        let path = path.as_ref();
        match opts.sampling {
            Sampling::EveryNth(0)
            | Sampling::Spread(0)
            | Sampling::Runs { count: 0, .. }
            | Sampling::Runs { len: 0, .. }
            | Sampling::KeyRuns { count: 0, .. }
            | Sampling::KeyRuns { len: 0, .. } => {
                return Err(MediaError::InvalidOption {
                    name: "sampling",
                    value: "0".into(),
                    allowed: "a frame count or step of at least 1".into(),
                });
            }
            Sampling::Spread(_) | Sampling::KeyRuns { .. } if opts.audio != AudioMode::Skip => {
                return Err(MediaError::InvalidOption {
                    name: "audio mode",
                    value: format!("{:?} with {:?} sampling", opts.audio, opts.sampling),
                    allowed:
                        "AudioMode::Skip: spread and key-run sampling seek, so they cannot deliver \
                         whole audio"
                            .into(),
                });
            }
            _ => {}
        }
        let (input, size) = demux::open(path)?;
        let info = probe::stream_info(path, &input, size)?;
        let stream = input.stream(info.video.index).ok_or_else(|| {
            MediaError::ffmpeg(
                path,
                "finding the video stream",
                ffmpeg_next::Error::StreamNotFound,
            )
        })?;
        let mut ctx = codec::context::Context::from_parameters(stream.parameters())
            .map_err(|e| MediaError::ffmpeg(path, "setting up the video decoder", e))?;
        ctx.set_threading(codec::threading::Config {
            kind: codec::threading::Type::Frame,
            count: 0,
            ..Default::default()
        });
        let decoder = ctx
            .decoder()
            .video()
            .map_err(|_| MediaError::UnsupportedCodec {
                path: path.to_path_buf(),
                codec: info.video.codec.clone(),
            })?;
        let video_tb: Rational = stream.time_base().into();

        let audio = match (opts.audio, &info.audio) {
            (AudioMode::Skip, _) | (_, None) => None,
            (mode, Some(a)) => {
                let decoder = if mode == AudioMode::Decode {
                    let s = input.stream(a.index).ok_or_else(|| {
                        MediaError::ffmpeg(
                            path,
                            "finding the audio stream",
                            ffmpeg_next::Error::StreamNotFound,
                        )
                    })?;
                    let ctx = codec::context::Context::from_parameters(s.parameters())
                        .map_err(|e| MediaError::ffmpeg(path, "setting up the audio decoder", e))?;
                    Some(
                        ctx.decoder().audio().map_err(|e| {
                            MediaError::ffmpeg(path, "opening the audio decoder", e)
                        })?,
                    )
                } else {
                    None
                };
                Some(AudioState {
                    index: a.index,
                    time_base: a.time_base,
                    decoder,
                    resampler: None,
                    layout: a.layout.clone(),
                })
            }
        };

        let fps = info.video.fps;
        let frame_dur_s = if fps > 0.0 { 1.0 / fps } else { 1.0 / 25.0 };
        let targets = match opts.sampling {
            Sampling::Spread(n) => {
                let dur = info.video.duration_s.or(info.duration_s).unwrap_or(0.0);
                let start = info.video.start_s;
                (0..n)
                    .map(|k| start + dur * (k as f64 + 0.5) / n as f64)
                    .collect()
            }
            _ => VecDeque::new(),
        };
        let color = info.video.color;
        let video_index = info.video.index;
        let plan = match opts.sampling {
            Sampling::Runs { count, len, total } => Sampling::run_starts(count, len, total),
            _ => Vec::new(),
        };
        let mut reader = Reader {
            path: path.to_path_buf(),
            input,
            info,
            opts,
            video_index,
            video_tb,
            decoder,
            color,
            converter: ConverterCache::default(),
            audio,
            pending: VecDeque::new(),
            state: State::Reading,
            next_index: 0,
            targets,
            sought_for: None,
            frame_dur_s,
            last_video_end_s: None,
            video_frames_out: 0,
            frames_decoded: 0,
            errors: Vec::new(),
            completion: Completion::InProgress,
            decoded: frame::Video::empty(),
            plan,
            groups: VecDeque::new(),
            group_left: 0,
        };
        if let Sampling::KeyRuns { count, len, total } = opts.sampling {
            // Some demuxers (Matroska's) read the index at the end of the file only at the
            // first seek, and until then know just the key frames read so far: seek to the
            // start once, so that the groups are placed with the whole index.
            let start = reader.info.video.start_s;
            reader.seek_before(start);
            reader.groups = reader.key_groups(count, len, total);
        }
        Ok(reader)
    }

    /// The groups of [`Sampling::KeyRuns`], in order.
    fn key_groups(&mut self, count: u64, len: u64, total: u64) -> VecDeque<KeyGroup> {
        let (start, dur) = (self.info.video.start_s, self.frame_dur_s);
        // The index holds decode times: a key frame is shown this much later (the codec's
        // reordering delay, as the first key frame shows it), and demuxers seek by the time
        // shown. At most a second, whatever a file claims.
        let shift = self
            .first_index_time()
            .map_or(0.0, |first| (start - first).clamp(0.0, 1.0));
        let mut groups: VecDeque<KeyGroup> = VecDeque::new();
        for target in Sampling::run_starts(count, len, total) {
            let t = start + target as f64 * dur;
            // Half a frame of slack, so that rounding never finds the key frame before.
            let key = self
                .keyframe_before(t - shift + dur / 2.0)
                .map(|k| k + shift);
            let anchor = match key {
                Some(key_s) if key_s <= t + dur / 2.0 => KeyGroup {
                    time_s: key_s,
                    seek_s: Some(key_s + dur / 2.0),
                    frames: len,
                },
                _ => KeyGroup {
                    time_s: t,
                    seek_s: None,
                    frames: len,
                },
            };
            match groups.back_mut() {
                Some(g) if (g.time_s - anchor.time_s).abs() < dur / 4.0 => g.frames += len,
                _ => groups.push_back(anchor),
            }
        }
        groups
    }

    /// The stream information read when the file was opened.
    pub fn info(&self) -> &StreamInfo {
        &self.info
    }

    /// The parameters needed to copy the audio stream untouched, when reading in passthrough mode.
    pub fn audio_stream_params(&self) -> Option<AudioStreamParams> {
        let a = self.audio.as_ref()?;
        if self.opts.audio != AudioMode::Passthrough {
            return None;
        }
        let s = self.input.stream(a.index)?;
        Some(AudioStreamParams {
            params: s.parameters(),
            time_base: a.time_base,
        })
    }

    /// How reading ended, once [`Reader::next_item`] has returned `None`.
    pub fn completion(&self) -> &Completion {
        &self.completion
    }

    /// Number of video frames handed out so far.
    pub fn video_frames_read(&self) -> u64 {
        self.video_frames_out
    }

    /// Number of video frames the decoder produced, handed out or not: with sampling, this shows
    /// how much work the reader skipped.
    pub fn frames_decoded(&self) -> u64 {
        self.frames_decoded
    }

    /// The next item, or `None` at the end of the file.
    ///
    /// Damage in the file (a cut-short file, a corrupt packet) does not end reading with an error:
    /// the reader hands out all it can decode and reports the damage in [`Reader::completion`].
    pub fn next_item(&mut self) -> Result<Option<Item>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                if matches!(item, Item::Video(_)) {
                    self.video_frames_out += 1;
                }
                return Ok(Some(item));
            }
            match self.state {
                State::Done => return Ok(None),
                State::Draining => {
                    self.drain()?;
                    self.state = State::Done;
                    self.finish();
                }
                State::Reading => {
                    if self.sampling_done() {
                        self.state = State::Done;
                        self.finish();
                        continue;
                    }
                    if let Sampling::KeyRuns { count, len, total } = self.opts.sampling
                        && self.frames_decoded > total.saturating_add(count.saturating_mul(len))
                    {
                        // Timestamps that stall or run backwards never reach the next group:
                        // no more decoding than a full read of the sampled range.
                        self.errors.push(format!(
                            "gave up after decoding {} frames: the frames' times never reached \
                             the key frames the index gave",
                            self.frames_decoded
                        ));
                        self.state = State::Done;
                        self.finish();
                        continue;
                    }
                    self.maybe_seek();
                    let mut packet = Packet::empty();
                    match packet.read(&mut self.input) {
                        Ok(()) => self.handle_packet(&packet)?,
                        Err(ffmpeg_next::Error::Eof) => self.state = State::Draining,
                        Err(e) => {
                            self.errors
                                .push(format!("reading the container failed: {e}"));
                            self.state = State::Draining;
                        }
                    }
                }
            }
        }
    }

    /// The next video frame, skipping audio; `None` at the end.
    pub fn next_frame(&mut self) -> Result<Option<VideoFrame>> {
        while let Some(item) = self.next_item()? {
            if let Item::Video(f) = item {
                return Ok(Some(f));
            }
        }
        Ok(None)
    }

    fn sampling_done(&self) -> bool {
        match self.opts.sampling {
            Sampling::Spread(_) => self.targets.is_empty(),
            // Past the last run: nothing more will be handed out.
            Sampling::Runs { len, .. } => self
                .plan
                .last()
                .is_none_or(|&last| self.next_index >= last + len),
            Sampling::KeyRuns { .. } => self.groups.is_empty() && self.group_left == 0,
            _ => false,
        }
    }

    /// For spread and key-run sampling: jump ahead to the key frame before the next target
    /// when it lies beyond what has been decoded already.
    ///
    /// At most one seek is made per target, so reading always ends, whatever a demuxer does
    /// with a seek request.
    fn maybe_seek(&mut self) {
        // The next target, with how many are left (which names it).
        let (target, left) = match self.opts.sampling {
            Sampling::KeyRuns { .. } if self.group_left == 0 => match self.groups.front() {
                Some(KeyGroup {
                    seek_s: Some(t), ..
                }) => (*t, self.groups.len()),
                _ => return,
            },
            Sampling::Spread(_) => match self.targets.front() {
                Some(&t) => (t, self.targets.len()),
                None => return,
            },
            _ => return,
        };
        if self.sought_for == Some(left) {
            return;
        }
        let here = self.last_video_end_s.unwrap_or(f64::NEG_INFINITY);
        if target - here < 2.0 * self.frame_dur_s {
            return;
        }
        // The index holds decode times, which are at or before presentation times: when even
        // that time is not ahead of us, decoding on is cheaper than seeking.
        match self.keyframe_before(target) {
            Some(key_s) if key_s > here + self.frame_dur_s => {}
            _ => return,
        }
        self.sought_for = Some(left);
        self.seek_before(target);
    }

    /// Seeks to the last key frame at or before `t` (demuxers seek by presentation time) and
    /// flushes the decoder; a failed seek leaves the read position where it was.
    fn seek_before(&mut self, t: f64) {
        let ts = (t / self.video_tb.as_f64()).floor() as i64;
        // SAFETY: the input context and stream index are valid; seeking only moves the read position.
        let ret = unsafe {
            ffmpeg_next::ffi::av_seek_frame(
                self.input.as_mut_ptr(),
                self.video_index as i32,
                ts,
                ffmpeg_next::ffi::AVSEEK_FLAG_BACKWARD,
            )
        };
        if ret >= 0 {
            self.decoder.flush();
            tracing::trace!(target_s = t, "seeked");
        }
    }

    /// The time of the container index's first entry.
    fn first_index_time(&mut self) -> Option<f64> {
        self.index_time(0)
    }

    /// The time of the last key frame at or before `t`, from the container's index.
    fn keyframe_before(&mut self, t: f64) -> Option<f64> {
        let ts = (t / self.video_tb.as_f64()).floor() as i64;
        // SAFETY: the stream pointer comes from the open input and stays valid while it lives.
        let idx = unsafe {
            let ctx = self.input.as_mut_ptr();
            let st = *(*ctx).streams.add(self.video_index);
            ffmpeg_next::ffi::av_index_search_timestamp(
                st,
                ts,
                ffmpeg_next::ffi::AVSEEK_FLAG_BACKWARD,
            )
        };
        if idx < 0 {
            return None;
        }
        self.index_time(idx)
    }

    /// The time of entry `idx` of the video stream's index (`None` past its end).
    fn index_time(&mut self, idx: i32) -> Option<f64> {
        // SAFETY: the stream pointer comes from the open input and stays valid while it lives;
        // the index entry pointer is read at once, before any further demuxer call.
        unsafe {
            let ctx = self.input.as_mut_ptr();
            let st = *(*ctx).streams.add(self.video_index);
            let entry = ffmpeg_next::ffi::avformat_index_get_entry(st, idx);
            if entry.is_null() {
                return None;
            }
            Some((*entry).timestamp as f64 * self.video_tb.as_f64())
        }
    }

    fn handle_packet(&mut self, packet: &Packet) -> Result<()> {
        let idx = packet.stream();
        if idx == self.video_index {
            if packet.is_corrupt() {
                self.errors.push(format!(
                    "a corrupt video packet at byte {}",
                    packet.position()
                ));
            }
            if let Err(e) = self.decoder.send_packet(packet) {
                self.errors.push(format!("video decoding failed: {e}"));
                return Ok(());
            }
            self.receive_video()?;
        } else if let Some(a) = &mut self.audio {
            if idx != a.index {
                return Ok(());
            }
            match self.opts.audio {
                AudioMode::Passthrough => {
                    self.pending.push_back(Item::AudioPacket(AudioPacket {
                        data: packet.data().unwrap_or_default().to_vec(),
                        pts: packet.pts(),
                        dts: packet.dts(),
                        duration: packet.duration(),
                        time_base: a.time_base,
                        key: packet.is_key(),
                    }));
                }
                AudioMode::Decode => {
                    let sent = a.decoder.as_mut().map(|d| d.send_packet(packet));
                    if let Some(Err(e)) = sent {
                        self.errors.push(format!("audio decoding failed: {e}"));
                        return Ok(());
                    }
                    self.receive_audio()?;
                }
                AudioMode::Skip => {}
            }
        }
        Ok(())
    }

    fn drain(&mut self) -> Result<()> {
        if self.decoder.send_eof().is_ok() {
            self.receive_video()?;
        }
        let flushed = self
            .audio
            .as_mut()
            .and_then(|a| a.decoder.as_mut())
            .map(|d| d.send_eof().is_ok())
            .unwrap_or(false);
        if flushed {
            self.receive_audio()?;
        }
        Ok(())
    }

    fn receive_video(&mut self) -> Result<()> {
        loop {
            match self.decoder.receive_frame(&mut self.decoded) {
                Ok(()) => {}
                Err(ffmpeg_next::Error::Eof) => return Ok(()),
                Err(ffmpeg_next::Error::Other { errno })
                    if errno == ffmpeg_next::util::error::EAGAIN =>
                {
                    return Ok(());
                }
                Err(e) => {
                    self.errors.push(format!("video decoding failed: {e}"));
                    return Ok(());
                }
            }
            self.frames_decoded += 1;
            let pts = self
                .decoded
                .timestamp()
                .or(self.decoded.pts())
                .unwrap_or_else(|| {
                    // No timestamp at all: count frames.
                    (self.next_index as f64 * self.frame_dur_s / self.video_tb.as_f64()).round()
                        as i64
                });
            let t = pts as f64 * self.video_tb.as_f64();
            // After a seek the running count is lost: derive it from the time. Inside a key-frame
            // group the count runs on, so that a frame rate the file misstates (or a variable
            // one) cannot make a group's frames look apart.
            let from_time = match self.opts.sampling {
                Sampling::Spread(_) => true,
                Sampling::KeyRuns { .. } => self.group_left == 0,
                _ => false,
            };
            let index = if from_time {
                ((t - self.info.video.start_s) / self.frame_dur_s)
                    .round()
                    .max(0.0) as u64
            } else {
                self.next_index
            };
            self.next_index = index.saturating_add(1);
            self.last_video_end_s = Some(t + self.frame_dur_s);
            if !self.wanted(index, t) {
                continue;
            }
            let color = frame_color(&self.decoded, self.color);
            let picture = convert::to_picture(
                &self.decoded,
                self.opts.format,
                color,
                shrunk_size(
                    self.decoded.width(),
                    self.decoded.height(),
                    self.opts.shrink_by,
                ),
                &mut self.converter,
            )
            .map_err(|e| MediaError::ffmpeg(&self.path, "converting a frame", e))?;
            self.pending.push_back(Item::Video(VideoFrame {
                index,
                pts,
                time_base: self.video_tb,
                color,
                picture,
            }));
        }
    }

    fn wanted(&mut self, index: u64, t: f64) -> bool {
        match self.opts.sampling {
            Sampling::All => true,
            Sampling::EveryNth(n) => index % n == 0,
            Sampling::Runs { len, .. } => self
                .plan
                .iter()
                .any(|&start| (start..start + len).contains(&index)),
            Sampling::KeyRuns { .. } => {
                if self.group_left > 0 {
                    self.group_left -= 1;
                    return true;
                }
                // The first frame at or after a group's time begins it (a group whose time has
                // passed while the one before was handed out follows on at once).
                match self.groups.front() {
                    Some(g) if t + self.frame_dur_s / 2.0 > g.time_s => {
                        self.group_left = g.frames.saturating_sub(1);
                        self.groups.pop_front();
                        true
                    }
                    _ => false,
                }
            }
            Sampling::Spread(_) => {
                let mut hit = false;
                while let Some(&target) = self.targets.front() {
                    if t + self.frame_dur_s / 2.0 > target {
                        self.targets.pop_front();
                        hit = true;
                    } else {
                        break;
                    }
                }
                hit
            }
        }
    }

    fn receive_audio(&mut self) -> Result<()> {
        let Some(a) = self.audio.as_mut() else {
            return Ok(());
        };
        let Some(dec) = a.decoder.as_mut() else {
            return Ok(());
        };
        let mut decoded = frame::Audio::empty();
        loop {
            match dec.receive_frame(&mut decoded) {
                Ok(()) => {}
                Err(ffmpeg_next::Error::Eof) => return Ok(()),
                Err(ffmpeg_next::Error::Other { errno })
                    if errno == ffmpeg_next::util::error::EAGAIN =>
                {
                    return Ok(());
                }
                Err(e) => {
                    self.errors.push(format!("audio decoding failed: {e}"));
                    return Ok(());
                }
            }
            let channels = decoded.channels();
            let mut layout = decoded.channel_layout();
            if layout.is_empty() {
                layout = ChannelLayout::default(i32::from(channels));
                decoded.set_channel_layout(layout);
            }
            let rate = decoded.rate();
            let fmt = decoded.format();
            let target =
                ffmpeg_next::format::Sample::F32(ffmpeg_next::format::sample::Type::Packed);
            let rebuild = match &a.resampler {
                Some(r) => {
                    r.input().format != fmt
                        || r.input().channel_layout != layout
                        || r.input().rate != rate
                }
                None => true,
            };
            if rebuild {
                a.resampler = Some(
                    resampling::Context::get(fmt, layout, rate, target, layout, rate).map_err(
                        |e| MediaError::ffmpeg(&self.path, "setting up audio conversion", e),
                    )?,
                );
                a.layout = probe::layout_name(layout.bits(), i32::from(channels));
            }
            let Some(resampler) = a.resampler.as_mut() else {
                continue;
            };
            let mut out = frame::Audio::empty();
            resampler
                .run(&decoded, &mut out)
                .map_err(|e| MediaError::ffmpeg(&self.path, "converting audio", e))?;
            let bytes = out.data(0);
            let n = (out.samples() * usize::from(channels) * 4).min(bytes.len());
            let samples: Vec<f32> = bytes[..n]
                .chunks_exact(4)
                .map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let pts = decoded.timestamp().or(decoded.pts()).unwrap_or(0);
            self.pending.push_back(Item::Audio(AudioFrame {
                pts,
                time_base: a.time_base,
                sample_rate: rate,
                channels,
                layout: a.layout.clone(),
                samples,
            }));
        }
    }

    /// Decides how reading ended, once the decoder is drained.
    fn finish(&mut self) {
        let decoded_until = self.last_video_end_s.unwrap_or(0.0);
        let expected = self
            .info
            .video
            .duration_s
            .map(|d| d + self.info.video.start_s)
            .or(self.info.duration_s);
        // Sampling that stopped once it had all it wanted did not find the file short.
        let sampled_stop = self.sampling_done();
        let short = match expected {
            Some(exp) if !sampled_stop => exp - decoded_until > (2.0 * self.frame_dur_s).max(0.1),
            _ => false,
        };
        self.completion = if !self.errors.is_empty() || short {
            let mut reason = self.errors.first().cloned().unwrap_or_default();
            if short {
                let msg = format!(
                    "the video stops at {decoded_until:.2} s of {:.2} s: the file is cut short",
                    expected.unwrap_or(0.0)
                );
                reason = if reason.is_empty() {
                    msg
                } else {
                    format!("{msg} ({reason})")
                };
            }
            if self.errors.len() > 1 {
                reason.push_str(&format!(" and {} more errors", self.errors.len() - 1));
            }
            Completion::Damaged {
                decoded_until_s: decoded_until,
                expected_s: expected,
                reason,
            }
        } else {
            Completion::Complete
        };
    }
}

/// The colour of a decoded frame, falling back on the stream's (or the guess by height).
fn frame_color(f: &frame::Video, stream: ColorSpec) -> ColorSpec {
    use ffmpeg_next::util::color;
    let mut c = stream.with_stated_matrix(f.color_space().into());
    match f.color_range() {
        color::Range::JPEG => c.range = crate::frame::Range::Full,
        color::Range::MPEG => c.range = crate::frame::Range::Limited,
        _ => {
            if matches!(
                f.format(),
                ffmpeg_next::format::Pixel::YUVJ420P
                    | ffmpeg_next::format::Pixel::YUVJ444P
                    | ffmpeg_next::format::Pixel::YUVJ422P
            ) {
                c.range = crate::frame::Range::Full;
            }
        }
    }
    c
}

#[cfg(test)]
mod run_tests {
    use super::Sampling;

    #[test]
    fn runs_never_overlap_and_stay_inside() {
        for total in 0..40u64 {
            for count in 1..10u64 {
                for len in 1..5u64 {
                    let s = Sampling::run_starts(count, len, total);
                    assert!(s.len() as u64 <= count);
                    for w in s.windows(2) {
                        assert!(w[1] >= w[0] + len, "{total} {count} {len}: {s:?}");
                    }
                    if let Some(&last) = s.last() {
                        assert!(last + len <= total, "{total} {count} {len}: {s:?}");
                    }
                    assert_eq!(s.is_empty(), total < len, "{total} {count} {len}");
                }
            }
        }
        assert_eq!(Sampling::run_starts(4, 3, 6), vec![2]);
        assert_eq!(Sampling::run_starts(2, 3, 48), vec![11, 34]);
    }
}
