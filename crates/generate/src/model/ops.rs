//! Layers written so that their backward pass stays on fast CPU paths.
//!
//! candle sums a broadcast operand's gradient with a fast loop only when the summed dimensions
//! are the last ones; over leading dimensions (a bias over rows, a per-clip scale over tokens, a
//! weight that `Linear` broadcasts over a 3- or 4-d input's batch) it divides indices element by
//! element. Profiled on a CPU training step of the shipped config, those sums took 23 % of the
//! time and candle's GELU (tanh and powf, forward and backward) another 22 %. Here every such sum
//! is a matrix product instead, and GELU is one exp per element each way.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Module, Result, Shape, Tensor};
use candle_nn::{Init, VarBuilder};

/// `x · Wᵀ + b` over the last dimension, the same weights (and names) as `candle_nn::Linear`.
/// The input is flattened to rows first, so the weight's gradient is one matrix product, and
/// the bias is added as `1 · b`, so its gradient is `1ᵀ · grad`, also a product.
#[derive(Clone, Debug)]
pub(crate) struct Dense {
    weight: Tensor,
    bias: Tensor,
}

impl Dense {
    /// Initialised as `candle_nn::linear`.
    pub(crate) fn new(vb: VarBuilder<'_>, i: usize, o: usize) -> Result<Self> {
        let linear = candle_nn::linear(i, o, vb)?;
        let bias = linear
            .bias()
            .cloned()
            .ok_or_else(|| candle_core::Error::Msg("linear layer without a bias".into()))?;
        Ok(Dense {
            weight: linear.weight().clone(),
            bias,
        })
    }

    /// Weights and bias start at zero (adaLN-zero, output layers).
    pub(crate) fn zeros(vb: VarBuilder<'_>, i: usize, o: usize) -> Result<Self> {
        Ok(Dense {
            weight: vb.get_with_hints((o, i), "weight", Init::Const(0.0))?,
            bias: vb.get_with_hints(o, "bias", Init::Const(0.0))?,
        })
    }
}

impl Module for Dense {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims();
        let (&i, lead) = dims
            .split_last()
            .ok_or_else(|| candle_core::Error::Msg("a dense layer needs an input".into()))?;
        let rows = lead.iter().product::<usize>();
        let o = self.weight.dim(0)?;
        let x = x.reshape((rows, i))?;
        let ones = Tensor::ones((rows, 1), x.dtype(), x.device())?;
        let y = (x.matmul(&self.weight.t()?)? + ones.matmul(&self.bias.reshape((1, o))?)?)?;
        let mut shape = lead.to_vec();
        shape.push(o);
        y.reshape(shape)
    }
}

/// `v` ([B, 1, …, 1, D]) repeated over the token dimensions of `like` ([B, …, D]) as
/// `1 · v` per example, so the gradient back to `v` is a product, not a sum over tokens.
pub(crate) fn expand_over_tokens(v: &Tensor, like: &Tensor) -> Result<Tensor> {
    let dims = like.dims();
    let (b, d) = (like.dim(0)?, like.dim(candle_core::D::Minus1)?);
    let tokens = like.elem_count() / (b * d).max(1);
    let ones = Tensor::ones((b, tokens, 1), v.dtype(), v.device())?;
    ones.matmul(&v.reshape((b, 1, d))?)?.reshape(dims)
}

/// GELU, tanh approximation (what candle's `gelu` computes). On the CPU for f32 it is one exp per
/// element forward and backward, using 0.5·(1 + tanh y) = σ(2y); elsewhere it is candle's.
pub(crate) fn gelu(x: &Tensor) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        x.contiguous()?.apply_op1(Gelu)
    } else {
        x.gelu()
    }
}

const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const CUBIC: f32 = 0.044_715;

/// σ(2y) with y = √(2/π)(x + 0.044715x³): the factor GELU multiplies x by.
#[inline]
fn gate(x: f32) -> f32 {
    let y2 = 2.0 * SQRT_2_OVER_PI * (x + CUBIC * x * x * x);
    1.0 / (1.0 + (-y2).exp())
}

/// `f` of each element of a contiguous f32 CPU storage, as the forward pass of op `op`.
fn map_f32(
    storage: &CpuStorage,
    layout: &Layout,
    op: &str,
    f: impl Fn(f32) -> f32,
) -> Result<(CpuStorage, Shape)> {
    match (storage, layout.contiguous_offsets()) {
        (CpuStorage::F32(v), Some((start, end))) => {
            let y = v[start..end].iter().map(|&x| f(x)).collect();
            Ok((CpuStorage::F32(y), layout.shape().clone()))
        }
        _ => Err(candle_core::Error::Msg(format!(
            "{op} takes contiguous f32 tensors"
        ))),
    }
}

struct Gelu;

impl CustomOp1 for Gelu {
    fn name(&self) -> &'static str {
        "gelu-tanh"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        map_f32(storage, layout, self.name(), |x| x * gate(x))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let slope = arg.contiguous()?.apply_op1_no_bwd(&GeluSlope)?;
        Ok(Some(grad_res.mul(&slope)?))
    }
}

/// The derivative of [`Gelu`]: s + x·2s(1 − s)·y′ with s = σ(2y), since
/// d/dy 0.5(1 + tanh y) = 2s(1 − s).
struct GeluSlope;

impl CustomOp1 for GeluSlope {
    fn name(&self) -> &'static str {
        "gelu-tanh-slope"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        map_f32(storage, layout, self.name(), |x| {
            let s = gate(x);
            let dy = SQRT_2_OVER_PI * (1.0 + 3.0 * CUBIC * x * x);
            s + x * 2.0 * s * (1.0 - s) * dy
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail by panicking
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar()
            .unwrap()
    }

    fn randn(shape: &[usize]) -> Tensor {
        Tensor::randn(0f32, 1f32, shape, &Device::Cpu).unwrap()
    }

    #[test]
    fn dense_is_candles_linear_forward_and_backward() {
        let (w, b) = (
            Var::from_tensor(&randn(&[5, 3])).unwrap(),
            Var::from_tensor(&randn(&[5])).unwrap(),
        );
        let ours = Dense {
            weight: w.as_tensor().clone(),
            bias: b.as_tensor().clone(),
        };
        let theirs = candle_nn::Linear::new(w.as_tensor().clone(), Some(b.as_tensor().clone()));
        for shape in [&[7, 3][..], &[2, 4, 3], &[2, 3, 4, 3]] {
            let x = Var::from_tensor(&randn(shape)).unwrap();
            let (y1, y2) = (ours.forward(&x).unwrap(), theirs.forward(&x).unwrap());
            assert_eq!(y1.dims(), y2.dims());
            assert!(max_diff(&y1, &y2) < 1e-5, "{shape:?}");
            // The same loss through each gives the same gradients.
            let probe = randn(y1.dims());
            let g1 = (&y1 * &probe)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let g2 = (&y2 * &probe)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            for v in [w.as_tensor(), b.as_tensor(), x.as_tensor()] {
                let (a, b) = (g1.get(v).unwrap(), g2.get(v).unwrap());
                assert!(max_diff(a, b) < 1e-4, "{shape:?}: {}", max_diff(a, b));
            }
        }
    }

    #[test]
    fn expanding_over_tokens_is_broadcasting() {
        let v = Var::from_tensor(&randn(&[2, 1, 1, 4])).unwrap();
        let x = randn(&[2, 3, 5, 4]);
        let ours = (&x * expand_over_tokens(&v, &x).unwrap()).unwrap();
        let theirs = x.broadcast_mul(&v).unwrap();
        assert!(max_diff(&ours, &theirs) < 1e-6);
        let g1 = ours.sum_all().unwrap().backward().unwrap();
        let g2 = theirs.sum_all().unwrap().backward().unwrap();
        let (a, b) = (g1.get(&v).unwrap(), g2.get(&v).unwrap());
        assert_eq!(a.dims(), &[2, 1, 1, 4]);
        assert!(max_diff(a, b) < 1e-4, "{}", max_diff(a, b));
    }

    #[test]
    fn gelu_is_candles_forward_and_backward() {
        // From deep in both tails through 0, and a non-contiguous input.
        let x: Vec<f32> = (-400..400).map(|i| i as f32 / 40.0).collect();
        let x = Var::from_tensor(&Tensor::from_vec(x, (2, 400), &Device::Cpu).unwrap()).unwrap();
        let xt = x.t().unwrap();
        let (ours, theirs) = (gelu(&xt).unwrap(), xt.gelu().unwrap());
        assert!(
            max_diff(&ours, &theirs) < 1e-5,
            "{}",
            max_diff(&ours, &theirs)
        );
        let g1 = ours.sum_all().unwrap().backward().unwrap();
        let g2 = theirs.sum_all().unwrap().backward().unwrap();
        let (a, b) = (g1.get(&x).unwrap(), g2.get(&x).unwrap());
        // candle's backward rounds its constants to six digits.
        assert!(max_diff(a, b) < 1e-4, "{}", max_diff(a, b));
        let finite = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(finite.iter().all(|g| g.is_finite()));
    }
}
