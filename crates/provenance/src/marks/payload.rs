//! The 64-bit payload of the spectral mark and its channel code.
//!
//! Layout of the payload, most significant bit first:
//!
//! | bits  | field    | meaning                                                        |
//! |-------|----------|----------------------------------------------------------------|
//! | 63–60 | version  | layout version, 1 today                                        |
//! | 59–40 | issuer   | 20-bit issuer id: the first 20 bits of SHA-256 of the mark key  |
//! | 39–0  | asset    | 40-bit asset id, random for each signed clip                   |
//!
//! On the channel the payload is followed by a 32-bit check code, the first 4 bytes of
//! SHA-256(key ‖ "verity-mark-tag" ‖ payload). The 96 bits are protected by a terminated
//! convolutional code of rate 1/3 and constraint length 7 (generators 133, 171, 165 octal), decoded
//! with a soft-decision Viterbi decoder. A random codeword passes the check with probability 2⁻³².

use sha2::{Digest, Sha256};

/// Payload bits.
pub const PAYLOAD_BITS: usize = 64;
/// Check-code bits.
pub const TAG_BITS: usize = 32;
/// Information bits on the channel.
pub const INFO_BITS: usize = PAYLOAD_BITS + TAG_BITS;
const K: usize = 7;
const TAIL: usize = K - 1;
const GENERATORS: [u32; 3] = [0o133, 0o171, 0o165];
/// Coded bits on the channel.
pub const CODED_BITS: usize = (INFO_BITS + TAIL) * GENERATORS.len();

/// The current payload layout version.
pub const VERSION: u8 = 1;

/// What the mark carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Payload {
    /// Layout version (4 bits).
    pub version: u8,
    /// Issuer id (20 bits).
    pub issuer: u32,
    /// Asset id (40 bits).
    pub asset: u64,
}

impl Payload {
    pub const ISSUER_MASK: u32 = (1 << 20) - 1;
    pub const ASSET_MASK: u64 = (1 << 40) - 1;

    pub fn new(issuer: u32, asset: u64) -> Self {
        Payload {
            version: VERSION,
            issuer: issuer & Self::ISSUER_MASK,
            asset: asset & Self::ASSET_MASK,
        }
    }

    pub fn to_u64(self) -> u64 {
        (u64::from(self.version & 0xF) << 60)
            | (u64::from(self.issuer & Self::ISSUER_MASK) << 40)
            | (self.asset & Self::ASSET_MASK)
    }

    pub fn from_u64(v: u64) -> Self {
        Payload {
            version: (v >> 60) as u8,
            issuer: ((v >> 40) as u32) & Self::ISSUER_MASK,
            asset: v & Self::ASSET_MASK,
        }
    }

    /// The payload as 16 lowercase hex digits: the soft-binding value and the repository key.
    pub fn to_hex(self) -> String {
        format!("{:016x}", self.to_u64())
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 16 {
            return None;
        }
        u64::from_str_radix(s, 16).ok().map(Self::from_u64)
    }
}

/// The keyed 32-bit check code of a payload.
pub fn tag(key: &[u8; 32], payload: u64) -> u32 {
    let mut h = Sha256::new();
    h.update(key);
    h.update(b"verity-mark-tag");
    h.update(payload.to_be_bytes());
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

fn info_bits(key: &[u8; 32], payload: u64) -> [bool; INFO_BITS] {
    let t = tag(key, payload);
    let mut bits = [false; INFO_BITS];
    for (i, b) in bits.iter_mut().enumerate() {
        *b = if i < PAYLOAD_BITS {
            (payload >> (63 - i)) & 1 == 1
        } else {
            (t >> (31 - (i - PAYLOAD_BITS))) & 1 == 1
        };
    }
    bits
}

fn parity(x: u32) -> bool {
    x.count_ones() % 2 == 1
}

/// Convolutional encoding of the payload and its tag: `CODED_BITS` bits.
pub fn encode(key: &[u8; 32], payload: Payload) -> Vec<bool> {
    let info = info_bits(key, payload.to_u64());
    let mut out = Vec::with_capacity(CODED_BITS);
    let mut reg = 0u32;
    for &b in info.iter().chain([false; TAIL].iter()) {
        reg = ((reg << 1) | u32::from(b)) & ((1 << K) - 1);
        for g in GENERATORS {
            out.push(parity(reg & g));
        }
    }
    out
}

/// The outcome of decoding.
#[derive(Clone, Copy, Debug)]
pub struct Decoded {
    pub payload: Payload,
    /// The check code matched.
    pub tag_ok: bool,
    /// Share of coded bits whose hard decision agrees with the re-encoded codeword.
    pub agreement: f32,
}

/// Soft-decision Viterbi decoding. `soft[i] > 0` favours coded bit i = 1; magnitudes are
/// confidences. Returns `None` when `soft` is not `CODED_BITS` long.
pub fn decode(key: &[u8; 32], soft: &[f32]) -> Option<Decoded> {
    if soft.len() != CODED_BITS {
        return None;
    }
    const STATES: usize = 1 << (K - 1);
    let steps = INFO_BITS + TAIL;
    let mut metric = [f32::NEG_INFINITY; STATES];
    metric[0] = 0.0;
    // decisions[step][state] = the input bit of the best path into `state` at `step`, and the
    // predecessor is recovered from it.
    let mut from = vec![[0u8; STATES]; steps];
    for (step, chunk) in soft.chunks_exact(GENERATORS.len()).enumerate() {
        let mut next = [f32::NEG_INFINITY; STATES];
        for (state, &m) in metric.iter().enumerate() {
            if m == f32::NEG_INFINITY {
                continue;
            }
            let inputs: &[u32] = if step >= INFO_BITS { &[0] } else { &[0, 1] };
            for &bit in inputs {
                let reg = ((state as u32) << 1) | bit;
                let mut bm = 0.0;
                for (g, s) in GENERATORS.iter().zip(chunk) {
                    bm += if parity(reg & g) { *s } else { -*s };
                }
                let ns = (reg as usize) & (STATES - 1);
                let cand = m + bm;
                if cand > next[ns] {
                    next[ns] = cand;
                    // The bit shifted out of the register identifies the predecessor.
                    from[step][ns] = ((state >> (K - 2)) & 1) as u8;
                }
            }
        }
        metric = next;
    }
    // Terminated code: the path ends in state 0.
    let mut state = 0usize;
    let mut bits = vec![false; steps];
    for step in (0..steps).rev() {
        bits[step] = state & 1 == 1;
        let out_bit = from[step][state] as usize;
        state = (state >> 1) | (out_bit << (K - 2));
    }
    let mut payload = 0u64;
    for &b in &bits[..PAYLOAD_BITS] {
        payload = (payload << 1) | u64::from(b);
    }
    let mut t = 0u32;
    for &b in &bits[PAYLOAD_BITS..INFO_BITS] {
        t = (t << 1) | u32::from(b);
    }
    let payload = Payload::from_u64(payload);
    let recoded = encode(key, payload);
    let agree = recoded
        .iter()
        .zip(soft)
        .filter(|(c, s)| (**s > 0.0) == **c)
        .count();
    Some(Decoded {
        payload,
        tag_ok: t == tag(key, payload.to_u64()),
        agreement: agree as f32 / CODED_BITS as f32,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::marks::key::SplitMix;

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn payload_packs_and_unpacks() {
        let p = Payload::new(0xABCDE, 0x12_3456_789A);
        assert_eq!(Payload::from_u64(p.to_u64()), p);
        assert_eq!(Payload::from_hex(&p.to_hex()), Some(p));
        assert_eq!(p.to_hex(), "1abcde123456789a");
    }

    #[test]
    fn clean_codeword_decodes() {
        let p = Payload::new(42, 0xFF_0000_0001);
        let soft: Vec<f32> = encode(&KEY, p)
            .iter()
            .map(|&b| if b { 1.0 } else { -1.0 })
            .collect();
        let d = decode(&KEY, &soft).unwrap();
        assert_eq!(d.payload, p);
        assert!(d.tag_ok);
        assert_eq!(d.agreement, 1.0);
    }

    #[test]
    fn noisy_codeword_decodes_and_wrong_key_fails_the_check() {
        let p = Payload::new(0x55555, 0xDEAD_BEEF);
        let mut rng = SplitMix(3);
        // Unit signal with noise sigma 1.0 (0 dB per coded bit): the rate-1/3 code corrects it.
        let soft: Vec<f32> = encode(&KEY, p)
            .iter()
            .map(|&b| if b { 1.0 } else { -1.0 } + rng.normal())
            .collect();
        let d = decode(&KEY, &soft).unwrap();
        assert_eq!(d.payload, p);
        assert!(d.tag_ok);
        let other = decode(&[8; 32], &soft).unwrap();
        assert!(!other.tag_ok);
    }

    #[test]
    fn noise_alone_fails_the_check() {
        let mut rng = SplitMix(11);
        for _ in 0..200 {
            let soft: Vec<f32> = (0..CODED_BITS).map(|_| rng.normal()).collect();
            assert!(!decode(&KEY, &soft).unwrap().tag_ok);
        }
    }
}
