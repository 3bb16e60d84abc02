//! The video diffusion transformer: tubelet patches, factorised space and time attention,
//! cross-attention to a word-order-aware text encoder, adaLN-zero conditioning on the flow time
//! and the pooled prompt. Every op has a gradient on CPU: norms and softmax are written from
//! primitive ops (candle's fused `softmax_last_dim`, `layer_norm` and `rms_norm` have no backward).

use candle_core::{D, DType, Device, Module, Result, Tensor};
use candle_nn::{Embedding, Init, VarBuilder};

use super::config::{Config, PAD, Positions, Prediction};
use super::ops::{Dense, expand_over_tokens, gelu};

/// The least t a clean prediction is divided by, so the velocity stays finite as t goes to 0.
pub const T_FLOOR: f32 = 0.05;

/// The deviation of a training clip's pixels (in [-1, 1]) that [`Prediction::Preconditioned`]
/// assumes, as image models usually do.
pub const SIGMA_DATA: f32 = 0.5;

/// The coefficients of [`Prediction::Preconditioned`] at flow time t: the input scale c_in and
/// the velocity `a·x_t − b·F` that x0 = c_skip·x_t + c_out·F gives, where
/// c_skip = (1 − t)σ² / v, c_out = tσ / √v and v = (1 − t)²σ² + t² is the variance of x_t.
/// Returns (c_in, a, b); all stay finite on [0, 1].
pub fn preconditioning(t: f32) -> (f32, f32, f32) {
    let s2 = SIGMA_DATA * SIGMA_DATA;
    let var = (1.0 - t) * (1.0 - t) * s2 + t * t;
    let c_in = 1.0 / var.sqrt();
    let a = (t - (1.0 - t) * s2) / var;
    let b = SIGMA_DATA / var.sqrt();
    (c_in, a, b)
}

/// Layer norm without learned affine parameters (adaLN supplies scale and shift).
fn norm(x: &Tensor) -> Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let xc = x.broadcast_sub(&mean)?;
    let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
    xc.broadcast_div(&(var + 1e-6)?.sqrt()?)
}

fn softmax(x: &Tensor) -> Result<Tensor> {
    candle_nn::ops::softmax(x, D::Minus1)
}

fn linear(vb: VarBuilder<'_>, i: usize, o: usize) -> Result<Dense> {
    Dense::new(vb, i, o)
}

/// A linear layer whose weights start at zero (adaLN-zero, output layers).
fn zero_linear(vb: VarBuilder<'_>, i: usize, o: usize) -> Result<Dense> {
    Dense::zeros(vb, i, o)
}

/// Multi-head attention; `kv` defaults to `x` (self-attention). `bias` is added to the scores
/// (a key-padding mask).
struct Attention {
    q: Dense,
    kv: Dense,
    out: Dense,
    heads: usize,
}

impl Attention {
    fn new(vb: VarBuilder<'_>, dim: usize, heads: usize) -> Result<Self> {
        Ok(Attention {
            q: linear(vb.pp("q"), dim, dim)?,
            kv: linear(vb.pp("kv"), dim, 2 * dim)?,
            out: linear(vb.pp("out"), dim, dim)?,
            heads,
        })
    }

    fn forward(&self, x: &Tensor, kv: Option<&Tensor>, bias: Option<&Tensor>) -> Result<Tensor> {
        let (b, n, d) = x.dims3()?;
        let src = kv.unwrap_or(x);
        let m = src.dim(1)?;
        let hd = d / self.heads;
        let q = self
            .q
            .forward(x)?
            .reshape((b, n, self.heads, hd))?
            .transpose(1, 2)?
            .contiguous()?;
        let kv = self.kv.forward(src)?.reshape((b, m, 2, self.heads, hd))?;
        let k = kv
            .narrow(2, 0, 1)?
            .squeeze(2)?
            .transpose(1, 2)?
            .contiguous()?;
        let v = kv
            .narrow(2, 1, 1)?
            .squeeze(2)?
            .transpose(1, 2)?
            .contiguous()?;
        let mut att = (q.matmul(&k.t()?.contiguous()?)? * (1.0 / (hd as f64).sqrt()))?;
        if let Some(bias) = bias {
            att = att.broadcast_add(bias)?;
        }
        let y = softmax(&att)?.matmul(&v)?;
        let y = y.transpose(1, 2)?.contiguous()?.reshape((b, n, d))?;
        self.out.forward(&y)
    }
}

struct Mlp {
    up: Dense,
    down: Dense,
}

impl Mlp {
    fn new(vb: VarBuilder<'_>, dim: usize) -> Result<Self> {
        Ok(Mlp {
            up: linear(vb.pp("up"), dim, 4 * dim)?,
            down: linear(vb.pp("down"), 4 * dim, dim)?,
        })
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.down.forward(&gelu(&self.up.forward(x)?)?)
    }
}

/// The prompt encoder: word and position embeddings, then pre-norm transformer layers, so the
/// same words in another order give another encoding.
struct TextEncoder {
    words: Embedding,
    pos: Embedding,
    layers: Vec<(Attention, Mlp)>,
}

impl TextEncoder {
    fn new(vb: VarBuilder<'_>, cfg: &Config) -> Result<Self> {
        let words = candle_nn::embedding(cfg.vocab_size(), cfg.dim, vb.pp("words"))?;
        let pos = candle_nn::embedding(cfg.max_words, cfg.dim, vb.pp("pos"))?;
        let layers = (0..cfg.text_layers)
            .map(|i| {
                Ok((
                    Attention::new(vb.pp(format!("layer{i}.attn")), cfg.dim, cfg.heads)?,
                    Mlp::new(vb.pp(format!("layer{i}.mlp")), cfg.dim)?,
                ))
            })
            .collect::<Result<_>>()?;
        Ok(TextEncoder { words, pos, layers })
    }

    /// `ids` is [B, L] (u32, PAD-padded). Returns the tokens [B, L, D], the pooled prompt [B, D]
    /// and the key-padding bias [B, 1, 1, L].
    fn forward(&self, ids: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        let (_, l) = ids.dims2()?;
        let positions = Tensor::arange(0u32, l as u32, ids.device())?;
        let mut x = self
            .words
            .forward(ids)?
            .broadcast_add(&self.pos.forward(&positions)?)?;
        let valid = ids.ne(PAD)?.to_dtype(DType::F32)?; // [B, L]
        let bias = ((valid.clone() - 1.0)? * 1e9)?.unsqueeze(1)?.unsqueeze(1)?;
        for (attn, mlp) in &self.layers {
            x = (&x + attn.forward(&norm(&x)?, None, Some(&bias))?)?;
            x = (&x + mlp.forward(&norm(&x)?)?)?;
        }
        let x = norm(&x)?;
        let w = valid.unsqueeze(2)?;
        let pooled = x.broadcast_mul(&w)?.sum(1)?.broadcast_div(&w.sum(1)?)?;
        Ok((x, pooled, bias))
    }
}

struct Block {
    spatial: Attention,
    temporal: Attention,
    cross: Attention,
    mlp: Mlp,
    ada: Dense,
}

/// `x · (1 + scale) + shift`, with `shift` and `scale` per example ([B, 1, 1, D]).
fn modulate(x: &Tensor, shift: &Tensor, scale: &Tensor) -> Result<Tensor> {
    x.mul(&expand_over_tokens(&(scale + 1.0)?, x)?)?
        .add(&expand_over_tokens(shift, x)?)
}

/// `h` scaled by a per-example gate ([B, 1, 1, D]).
fn gated(h: &Tensor, gate: &Tensor) -> Result<Tensor> {
    h.mul(&expand_over_tokens(gate, h)?)
}

impl Block {
    fn new(vb: VarBuilder<'_>, cfg: &Config) -> Result<Self> {
        Ok(Block {
            spatial: Attention::new(vb.pp("spatial"), cfg.dim, cfg.heads)?,
            temporal: Attention::new(vb.pp("temporal"), cfg.dim, cfg.heads)?,
            cross: Attention::new(vb.pp("cross"), cfg.dim, cfg.heads)?,
            mlp: Mlp::new(vb.pp("mlp"), cfg.dim)?,
            ada: zero_linear(vb.pp("ada"), cfg.dim, 9 * cfg.dim)?,
        })
    }

    /// `x` is [B, T, S, D]; `c` is [B, D].
    fn forward(&self, x: &Tensor, c: &Tensor, text: &Tensor, text_bias: &Tensor) -> Result<Tensor> {
        let (b, t, s, d) = x.dims4()?;
        let m = self.ada.forward(&c.silu()?)?.reshape((b, 1, 1, 9 * d))?;
        let part = |i: usize| m.narrow(3, i * d, d);
        let (sh1, sc1, g1) = (part(0)?, part(1)?, part(2)?);
        let (sh2, sc2, g2) = (part(3)?, part(4)?, part(5)?);
        let (sh3, sc3, g3) = (part(6)?, part(7)?, part(8)?);

        let h = modulate(&norm(x)?, &sh1, &sc1)?.reshape((b * t, s, d))?;
        let h = self
            .spatial
            .forward(&h, None, None)?
            .reshape((b, t, s, d))?;
        let x = (x + gated(&h, &g1)?)?;

        let h = modulate(&norm(&x)?, &sh2, &sc2)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b * s, t, d))?;
        let h = self
            .temporal
            .forward(&h, None, None)?
            .reshape((b, s, t, d))?
            .transpose(1, 2)?;
        let x = (x + gated(&h, &g2)?)?;

        let h = norm(&x)?.reshape((b, t * s, d))?;
        let h = self
            .cross
            .forward(&h, Some(text), Some(text_bias))?
            .reshape((b, t, s, d))?;
        let x = (x + h)?;

        let h = self.mlp.forward(&modulate(&norm(&x)?, &sh3, &sc3)?)?;
        x + gated(&h, &g3)?
    }
}

/// Sine and cosine features of `len` positions over `n` dimensions ([len, n], row-major): pairs
/// at angular frequencies from π/len (half a turn across the whole axis) up to π (a sign flip
/// from one position to the next), evenly spaced in log; an odd last dimension stays 0.
fn axis_features(len: usize, n: usize) -> Vec<f32> {
    let pairs = n / 2;
    let mut out = vec![0f32; len * n];
    for (p, row) in out.chunks_mut(n.max(1)).enumerate() {
        for i in 0..pairs {
            let ratio = if pairs > 1 {
                i as f32 / (pairs - 1) as f32
            } else {
                0.0
            };
            let w = std::f32::consts::PI / len as f32 * (len as f32).powf(ratio);
            row[2 * i] = (p as f32 * w).sin();
            row[2 * i + 1] = (p as f32 * w).cos();
        }
    }
    out
}

/// Fixed positions of a `gt` x `gh` x `gw` token grid in `dim` dimensions, [gt, gh·gw, dim]: a
/// quarter of the dimensions (rounded down to even) describe the frame group, the rest are split
/// between the row and the column. Each sine-cosine pair has norm 1, so a token's features have
/// norm near √(dim / 2).
pub fn sincos_positions(
    gt: usize,
    gh: usize,
    gw: usize,
    dim: usize,
    device: &Device,
) -> Result<Tensor> {
    let nt = dim / 8 * 2;
    let ny = (dim - nt) / 4 * 2;
    let nx = dim - nt - ny;
    let (ft, fy, fx) = (
        axis_features(gt, nt),
        axis_features(gh, ny),
        axis_features(gw, nx),
    );
    let mut v = Vec::with_capacity(gt * gh * gw * dim);
    for t in 0..gt {
        for y in 0..gh {
            for x in 0..gw {
                v.extend_from_slice(&ft[t * nt..(t + 1) * nt]);
                v.extend_from_slice(&fy[y * ny..(y + 1) * ny]);
                v.extend_from_slice(&fx[x * nx..(x + 1) * nx]);
            }
        }
    }
    Tensor::from_vec(v, (gt, gh * gw, dim), device)
}

/// [`preconditioning`] of each example's t ([B]) as three [B, 1, 1, 1, 1] columns.
fn preconditioning_columns(t: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
    let coef: Vec<(f32, f32, f32)> = t
        .to_vec1::<f32>()?
        .into_iter()
        .map(preconditioning)
        .collect();
    let b = coef.len();
    let col = |pick: fn(&(f32, f32, f32)) -> f32| {
        let v: Vec<f32> = coef.iter().map(pick).collect();
        Tensor::from_vec(v, (b, 1, 1, 1, 1), t.device())
    };
    Ok((col(|c| c.0)?, col(|c| c.1)?, col(|c| c.2)?))
}

/// The whole model: `Model::new(&cfg, vb)` then `forward`.
pub struct Model {
    cfg: Config,
    text: TextEncoder,
    patch_in: Dense,
    pos_t: Tensor,
    pos_s: Tensor,
    /// [`Positions::Sincos`]: the fixed features, [T', S, D].
    pos_fixed: Option<Tensor>,
    time1: Dense,
    time2: Dense,
    blocks: Vec<Block>,
    final_ada: Dense,
    patch_out: Dense,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl Model {
    pub fn new(cfg: &Config, vb: VarBuilder<'_>) -> Result<Self> {
        let (gt, gh, gw) = cfg.grid();
        let d = cfg.dim;
        Ok(Model {
            cfg: cfg.clone(),
            text: TextEncoder::new(vb.pp("text"), cfg)?,
            patch_in: linear(vb.pp("patch_in"), cfg.patch_dim(), d)?,
            pos_t: vb.get_with_hints(
                (gt, 1, d),
                "pos_t",
                Init::Randn {
                    mean: 0.0,
                    stdev: 0.02,
                },
            )?,
            pos_s: vb.get_with_hints(
                (1, gh * gw, d),
                "pos_s",
                Init::Randn {
                    mean: 0.0,
                    stdev: 0.02,
                },
            )?,
            pos_fixed: match cfg.positions {
                Positions::Learned => None,
                Positions::Sincos => Some(sincos_positions(gt, gh, gw, d, vb.device())?),
            },
            time1: linear(vb.pp("time1"), 64, d)?,
            time2: linear(vb.pp("time2"), d, d)?,
            blocks: (0..cfg.depth)
                .map(|i| Block::new(vb.pp(format!("block{i}")), cfg))
                .collect::<Result<_>>()?,
            final_ada: zero_linear(vb.pp("final_ada"), d, 2 * d)?,
            patch_out: zero_linear(vb.pp("patch_out"), d, cfg.patch_dim())?,
        })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// [B, T, C, H, W] → [B, T', S, patch_dim].
    fn patchify(&self, x: &Tensor) -> Result<Tensor> {
        let c = &self.cfg;
        let (gt, gh, gw) = c.grid();
        let b = x.dim(0)?;
        x.reshape(vec![b, gt, c.tpatch, c.channels, gh, c.patch, gw, c.patch])?
            .permute(vec![0, 1, 4, 6, 2, 5, 7, 3])?
            .contiguous()?
            .reshape((b, gt, gh * gw, c.patch_dim()))
    }

    fn unpatchify(&self, x: &Tensor) -> Result<Tensor> {
        let c = &self.cfg;
        let (gt, gh, gw) = c.grid();
        let b = x.dim(0)?;
        x.reshape(vec![b, gt, gh, gw, c.tpatch, c.patch, c.patch, c.channels])?
            .permute(vec![0, 1, 4, 7, 2, 5, 3, 6])?
            .contiguous()?
            .reshape((b, c.frames, c.channels, c.height, c.width))
    }

    /// Sinusoidal features of the flow time t in [0, 1], [B] → [B, 64].
    fn time_features(t: &Tensor) -> Result<Tensor> {
        let half = 32usize;
        let freqs: Vec<f32> = (0..half)
            .map(|i| (-(i as f32) / half as f32 * 10_000f32.ln()).exp() * 1000.0)
            .collect();
        let f = Tensor::new(freqs.as_slice(), t.device())?.unsqueeze(0)?;
        let arg = t.unsqueeze(1)?.broadcast_mul(&f)?;
        Tensor::cat(&[arg.sin()?, arg.cos()?], 1)
    }

    /// Predicts the flow velocity (noise minus data) for `x_t` `[B, T, C, H, W]` at times `t` `[B]`
    /// given prompt ids `[B, L]`. With [`Prediction::Clean`] the network's output is the clean
    /// clip and this turns it into the velocity.
    pub fn forward(&self, x_t: &Tensor, t: &Tensor, ids: &Tensor) -> Result<Tensor> {
        let (text, pooled, bias) = self.text.forward(ids)?;
        let temb = self
            .time2
            .forward(&self.time1.forward(&Self::time_features(t)?)?.silu()?)?;
        let c = (temb + pooled)?;
        // (c_in, a, b) per example, computed once for the input and the output.
        let pre = match self.cfg.prediction {
            Prediction::Preconditioned => Some(preconditioning_columns(t)?),
            Prediction::Velocity | Prediction::Clean => None,
        };
        let input = match &pre {
            Some((c_in, _, _)) => x_t.broadcast_mul(c_in)?,
            None => x_t.clone(),
        };
        let mut x = self.patch_in.forward(&self.patchify(&input)?)?;
        x = x.broadcast_add(&self.pos_t)?.broadcast_add(&self.pos_s)?;
        if let Some(fixed) = &self.pos_fixed {
            x = x.broadcast_add(fixed)?;
        }
        for block in &self.blocks {
            x = block.forward(&x, &c, &text, &bias)?;
        }
        let (b, _, _, d) = x.dims4()?;
        let m = self
            .final_ada
            .forward(&c.silu()?)?
            .reshape((b, 1, 1, 2 * d))?;
        let x = modulate(&norm(&x)?, &m.narrow(3, 0, d)?, &m.narrow(3, d, d)?)?;
        let out = self.unpatchify(&self.patch_out.forward(&x)?)?;
        match (&pre, self.cfg.prediction) {
            (Some((_, a, scale)), _) => x_t.broadcast_mul(a)? - out.broadcast_mul(scale)?,
            (None, Prediction::Clean) => {
                let t = t.clamp(T_FLOOR, 1f32)?.reshape((b, 1, 1, 1, 1))?;
                (x_t - out)?.broadcast_div(&t)
            }
            (None, _) => Ok(out),
        }
    }
}
