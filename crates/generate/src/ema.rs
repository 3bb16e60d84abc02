//! An exponential moving average (EMA) of the weights, the weights that sample.
//!
//! On this CPU a run's adherence swings a lot from one checkpoint to the next (518 steps halved
//! the colour score, see the model card): each checkpoint is one draw of the optimiser's noise.
//! The average over the last ~1/(1 − decay) steps smooths that draw out. Training goes on from
//! the optimiser's own ("raw") weights; the average only follows them.

use std::collections::HashMap;
use std::path::Path;

use candle_core::Tensor;
use candle_nn::VarMap;

use crate::error::{GenerateError, Result};

/// The decay a new model averages with: about the last thousand steps.
pub const DEFAULT_DECAY: f32 = 0.999;

/// The decay used for the average's update number `n` (counted from 0): `decay`, but less while
/// the average is young, `(1 + n) / (10 + n)`, so that the first weights, a random start, do not
/// linger in it for thousands of steps.
pub fn decay_at(decay: f32, n: usize) -> f32 {
    let n = n as f32;
    decay.min((1.0 + n) / (10.0 + n))
}

/// Checks a decay: 0 (no average) up to, not including, 1.
pub fn check_decay(decay: f32) -> Result<()> {
    if (0.0..1.0).contains(&decay) {
        Ok(())
    } else {
        Err(GenerateError::InvalidOption {
            name: "EMA decay",
            value: decay.to_string(),
            allowed: "a number from 0 (no average) up to, not including, 1".into(),
        })
    }
}

/// The running average of every variable of a [`VarMap`].
#[derive(Debug)]
pub struct Ema {
    decay: f32,
    updates: usize,
    avg: HashMap<String, Tensor>,
}

impl Ema {
    /// Starts the average at the weights `varmap` holds now.
    pub fn start(varmap: &VarMap, decay: f32) -> Result<Self> {
        let vars = lock(varmap)?;
        let mut avg = HashMap::with_capacity(vars.len());
        for (name, var) in vars.iter() {
            // A copy, since the optimiser updates the variable's own storage in place, and
            // detached: a copy of a variable records it as its source, and every later average
            // would then keep the whole chain of earlier ones alive.
            avg.insert(name.clone(), var.as_tensor().copy()?.detach());
        }
        Ok(Ema {
            decay,
            updates: 0,
            avg,
        })
    }

    /// Continues an average saved in `path` after `updates` updates. The file must hold every
    /// variable of `varmap`, each with its shape.
    pub fn resume(varmap: &VarMap, decay: f32, updates: usize, path: &Path) -> Result<Self> {
        let bad = |reason: String| GenerateError::BadWeights {
            path: path.to_path_buf(),
            reason,
        };
        let vars = lock(varmap)?;
        let mut saved = candle_core::safetensors::load(path, &candle_core::Device::Cpu)
            .map_err(|e| bad(e.to_string()))?;
        let mut avg = HashMap::with_capacity(vars.len());
        for (name, var) in vars.iter() {
            let t = saved
                .remove(name)
                .ok_or_else(|| bad(format!("the averaged weights lack {name}")))?;
            if t.dims() != var.dims() {
                return Err(bad(format!(
                    "averaged {name} is {:?}, the model's is {:?}",
                    t.dims(),
                    var.dims()
                )));
            }
            avg.insert(
                name.clone(),
                t.to_dtype(var.dtype())?.to_device(var.device())?,
            );
        }
        Ok(Ema {
            decay,
            updates,
            avg,
        })
    }

    /// Moves the average towards the weights `varmap` holds now.
    pub fn update(&mut self, varmap: &VarMap) -> Result<()> {
        let d = f64::from(decay_at(self.decay, self.updates));
        let vars = lock(varmap)?;
        for (name, var) in vars.iter() {
            if let Some(avg) = self.avg.get_mut(name) {
                let now = var.as_tensor().detach();
                *avg = ((&*avg * d)? + (now * (1.0 - d))?)?;
            }
        }
        self.updates += 1;
        Ok(())
    }

    /// How many updates the average has had.
    pub fn updates(&self) -> usize {
        self.updates
    }

    /// Writes the average as safetensors, loadable as the model's weights.
    pub fn save(&self, path: &Path) -> Result<()> {
        Ok(candle_core::safetensors::save(&self.avg, path)?)
    }
}

fn lock(varmap: &VarMap) -> Result<std::sync::MutexGuard<'_, HashMap<String, candle_core::Var>>> {
    varmap.data().lock().map_err(|_| {
        GenerateError::Tensor(candle_core::Error::Msg(
            "the model's variables are poisoned by an earlier panic".into(),
        ))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail by panicking
mod tests {
    use candle_core::{DType, Device};
    use candle_nn::{Init, VarBuilder};

    use super::*;

    #[test]
    fn the_average_holds_no_graph_and_follows_the_weights() {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        vb.get_with_hints(3, "w", Init::Const(1.0)).unwrap();
        let mut ema = Ema::start(&varmap, 0.9).unwrap();
        for step in 0..3 {
            let now = Tensor::full(step as f32, 3, &Device::Cpu).unwrap();
            lock(&varmap).unwrap()["w"].set(&now).unwrap();
            ema.update(&varmap).unwrap();
        }
        // An average that recorded its inputs would keep every earlier one in memory.
        assert!(ema.avg.values().all(|t| !t.track_op()));
        // 1, then decays 0.1, 2/11, 3/12 towards 0, 1, 2.
        let mut want = 1.0f32;
        for (n, x) in [0.0f32, 1.0, 2.0].into_iter().enumerate() {
            let d = decay_at(0.9, n);
            want = d * want + (1.0 - d) * x;
        }
        let got = ema.avg["w"].to_vec1::<f32>().unwrap();
        assert!(
            got.iter().all(|g| (g - want).abs() < 1e-6),
            "{got:?} against {want}"
        );
        assert_eq!(ema.updates(), 3);
    }
}
