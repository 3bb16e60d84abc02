//! The first convolution, on inputs that need no gradient.
//!
//! Candle's backward pass for `conv2d` always computes the gradient of the input
//! (a `conv_transpose2d`), even when the input is a constant. The first layer's input is the
//! fixed residual features, so that gradient is thrown away, and on the CPU it is the most
//! costly single op of a training step. [`conv2d_of_constant`] is the same convolution as a
//! custom op on the kernel alone: the forward is candle's own `conv2d`, and the backward gives
//! the kernel the gradient candle's `conv2d` gives it, computed the same way, so training makes
//! the same weights to the bit, sooner.

use candle_core::{CpuStorage, CustomOp1, Device, Layout, Result, Shape, Storage, Tensor};

/// `input.conv2d(kernel, padding, stride, 1, 1)`, where `input` is a constant (it takes no
/// gradient). Off the CPU, when `input` is tracked, or when `kernel` is not (scoring: nothing
/// to skip, and the op would copy its output once more), it is candle's `conv2d` itself.
pub fn conv2d_of_constant(
    input: &Tensor,
    kernel: &Tensor,
    padding: usize,
    stride: usize,
) -> Result<Tensor> {
    if input.track_op() || !kernel.track_op() || !matches!(input.device(), Device::Cpu) {
        return input.conv2d(kernel, padding, stride, 1, 1);
    }
    kernel.apply_op1(OnConstant {
        input: input.clone(),
        padding,
        stride,
    })
}

/// The convolution of a fixed input by the op's argument, the kernel.
struct OnConstant {
    input: Tensor,
    padding: usize,
    stride: usize,
}

impl CustomOp1 for OnConstant {
    fn name(&self) -> &'static str {
        "conv2d-of-constant"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let kernel = match (storage, layout.contiguous_offsets()) {
            (CpuStorage::F32(data), Some((start, end))) => {
                Tensor::from_slice(&data[start..end], layout.shape(), &Device::Cpu)?
            }
            _ => candle_core::bail!("conv2d-of-constant: the kernel must be contiguous f32"),
        };
        let out = self
            .input
            .conv2d(&kernel, self.padding, self.stride, 1, 1)?
            .contiguous()?;
        let (stored, out_layout) = out.storage_and_layout();
        match (&*stored, out_layout.contiguous_offsets()) {
            (Storage::Cpu(CpuStorage::F32(data)), Some((start, end))) => Ok((
                CpuStorage::F32(data[start..end].to_vec()),
                out_layout.shape().clone(),
            )),
            _ => candle_core::bail!("conv2d-of-constant: the convolution left the CPU"),
        }
    }

    /// The kernel's gradient exactly as candle's `conv2d` backward computes it.
    fn bwd(&self, kernel: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let grad_kernel = self
            .input
            .transpose(0, 1)?
            .conv2d(&grad.transpose(0, 1)?, self.padding, 1, self.stride, 1)?
            .transpose(0, 1)?;
        let (_, _, k0, k1) = kernel.dims4()?;
        let (_, _, g0, g1) = grad_kernel.dims4()?;
        if g0 != k0 || g1 != k1 {
            Ok(Some(grad_kernel.narrow(2, 0, k0)?.narrow(3, 0, k1)?))
        } else {
            Ok(Some(grad_kernel))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Var;

    fn bits(t: &Tensor) -> Vec<u32> {
        t.flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
            .into_iter()
            .map(f32::to_bits)
            .collect()
    }

    /// Forward and the kernel's gradient are candle's `conv2d`'s to the bit, at both strides.
    #[test]
    fn matches_candles_conv2d_to_the_bit() {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f32, 1.0, (3, 5, 16, 16), &dev).unwrap();
        for stride in [1, 2] {
            let w = Var::randn(0f32, 0.3, (7, 5, 3, 3), &dev).unwrap();
            let plain = x.conv2d(&w, 1, stride, 1, 1).unwrap();
            let ours = conv2d_of_constant(&x, &w, 1, stride).unwrap();
            assert_eq!(plain.dims(), ours.dims());
            assert_eq!(bits(&plain), bits(&ours));
            let weights = Tensor::randn(0f32, 1.0, plain.dims(), &dev).unwrap();
            let g_plain = (&plain * &weights)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let g_ours = (&ours * &weights)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let (a, b) = (g_plain.get(&w).unwrap(), g_ours.get(&w).unwrap());
            assert_eq!(bits(a), bits(b));
            assert!(
                a.abs()
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap()
                    > 0.0
            );
        }
    }

    /// A tracked input still gets its gradient (the op steps aside).
    #[test]
    fn a_tracked_input_keeps_its_gradient() {
        let dev = Device::Cpu;
        let x = Var::randn(0f32, 1.0, (1, 2, 8, 8), &dev).unwrap();
        let w = Var::randn(0f32, 0.3, (3, 2, 3, 3), &dev).unwrap();
        let y = conv2d_of_constant(&x, &w, 1, 1).unwrap();
        let g = y.sum_all().unwrap().backward().unwrap();
        assert!(g.get(&x).is_some());
        assert!(g.get(&w).is_some());
    }
}
