//! Decoding: the data cells read at a candidate, and the list-Viterbi words checked against the
//! key.

use super::*;

/// The state of reading one key: its layout and pilot, the running detection and the decodes
/// spent.
pub(super) struct Decoding<'a> {
    pub(super) key: &'a WatermarkKey,
    pub(super) layout: &'a Layout,
    pub(super) pilot: &'a [Complex32],
    pub(super) fft: &'a Fft2,
    pub(super) threads: usize,
    pub(super) det: &'a mut Detection,
    pub(super) attempts: &'a mut usize,
}

impl Decoding<'_> {
    /// Searches every hypothesis and decodes the best candidates, at most [`MAX_DECODES`] of
    /// them, each into a list of words; true when a word passed its check.
    pub(super) fn try_hypotheses(&mut self, hyps: &[Hypothesis<'_>]) -> bool {
        let mut candidates: Vec<(Candidate, &Hypothesis<'_>)> =
            search_all(hyps, self.pilot, self.fft, self.threads)
                .into_iter()
                .filter_map(|(i, c)| hyps.get(i).map(|hyp| (c, hyp)))
                .collect();
        candidates.sort_by(|a, b| b.0.z.total_cmp(&a.0.z));
        let det = &mut *self.det;
        for (c, hyp) in candidates.iter().take(MAX_DECODES) {
            det.sync_score = det.sync_score.max(c.z);
            if c.z < MIN_SYNC && det.best_guess.is_some() {
                break;
            }
            let folded = fold(&hyp.img, hyp.w, hyp.h, c.scale, 0, 0, hyp.w, hyp.h);
            let g = matched(&folded, self.fft);
            // The current version's channel first, then the earlier versions'.
            for channel in Channel::ALL {
                let soft = read_soft(&g, self.layout, c.shift, channel);
                let Some(words) = payload::decode_list(
                    self.key.bytes(),
                    &soft,
                    LIST_SIZE,
                    Some(self.key.issuer_id()),
                ) else {
                    continue;
                };
                for (rank, d) in words.iter().enumerate() {
                    *self.attempts += 1;
                    if d.tag_ok {
                        det.note(d, c, hyp);
                        det.found = true;
                        det.payload = Some(d.payload);
                        det.key = Some(self.key.origin().to_string());
                        det.algorithm = Some(algorithm(channel));
                        det.sync_score = c.z;
                        return true;
                    }
                    // The best guess (for bit accuracy) is the most likely word of the
                    // current version's channel, at the candidate where it agrees best with
                    // that channel.
                    if rank == 0
                        && channel == Channel::CURRENT
                        && (det.best_guess.is_none() || d.agreement > det.agreement)
                    {
                        det.note(d, c, hyp);
                    }
                }
            }
        }
        false
    }
}

/// The index in a folded tile of `cell`'s origin, for a tile whose origin is at `shift`.
pub(super) fn cell_bin(cell: usize, shift: (usize, usize)) -> usize {
    let (cx, cy) = (cell % CELLS, cell / CELLS);
    let bx = (cx * CELL_PX + shift.0) % TILE;
    let by = (cy * CELL_PX + shift.1) % TILE;
    by * TILE + bx
}

/// The soft value of each coded bit on `channel` from the [`matched`] output `g` of a tile
/// whose origin is at `shift`: the sum over the bit's data cells, spread signs removed, scaled
/// to unit variance over the bits on the channel. The bits off it are 0.
pub(super) fn read_soft(
    g: &[f32],
    layout: &Layout,
    shift: (usize, usize),
    channel: Channel,
) -> Vec<f32> {
    let mut soft = vec![0f32; CODED_BITS];
    for (k, &(cell, chip)) in layout.data.iter().enumerate() {
        soft[Layout::bit(k, channel)] += chip * g[cell_bin(cell, shift)];
    }
    let sent = &mut soft[channel.sent()];
    let rms = (sent.iter().map(|v| v * v).sum::<f32>() / sent.len() as f32).sqrt();
    if rms > 0.0 {
        for v in sent {
            *v /= rms;
        }
    }
    soft
}
