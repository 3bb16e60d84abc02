//! AdamW whose moments are saved with the checkpoint, so a resumed run continues exactly where
//! it stopped (candle-nn's AdamW keeps its state private).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var, backprop::GradStore};

use crate::error::Result;

/// The optimiser's settings.
#[derive(Clone, Copy, Debug)]
pub struct AdamWConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 1e-4,
        }
    }
}

/// AdamW over named variables.
pub struct AdamW {
    vars: Vec<(String, Var)>,
    m: HashMap<String, Tensor>,
    v: HashMap<String, Tensor>,
    /// Updates made so far (the bias correction's t).
    pub step: u64,
    pub cfg: AdamWConfig,
}

impl std::fmt::Debug for AdamW {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdamW")
            .field("vars", &self.vars.len())
            .field("step", &self.step)
            .finish()
    }
}

impl AdamW {
    pub fn new(mut vars: Vec<(String, Var)>, cfg: AdamWConfig) -> Result<AdamW> {
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let mut m = HashMap::new();
        let mut v = HashMap::new();
        for (name, var) in &vars {
            m.insert(name.clone(), var.zeros_like()?);
            v.insert(name.clone(), var.zeros_like()?);
        }
        Ok(AdamW {
            vars,
            m,
            v,
            step: 0,
            cfg,
        })
    }

    /// One update from `grads`.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step += 1;
        let c = self.cfg;
        let t = self.step as i32;
        let (bc1, bc2) = (1.0 - c.beta1.powi(t), 1.0 - c.beta2.powi(t));
        for (name, var) in &self.vars {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            let (Some(m), Some(v)) = (self.m.get(name), self.v.get(name)) else {
                continue;
            };
            // Detached: a gradient can carry the graph that made it, and a moment kept with its
            // graph would hold every earlier step's tensors alive.
            let g = g.detach();
            let m2 = ((m * c.beta1)? + (&g * (1.0 - c.beta1))?)?.detach();
            let v2 = ((v * c.beta2)? + (g.sqr()? * (1.0 - c.beta2))?)?.detach();
            let update = ((&m2 / bc1)? / ((&v2 / bc2)?.sqrt()? + c.eps)?)?;
            let theta = var.as_tensor();
            let next = (theta - ((update + (theta * c.weight_decay)?)? * c.lr)?)?.detach();
            var.set(&next)?;
            self.m.insert(name.clone(), m2);
            self.v.insert(name.clone(), v2);
        }
        Ok(())
    }

    /// Saves the moments and the step count.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut all: HashMap<String, Tensor> = HashMap::new();
        for (name, t) in &self.m {
            all.insert(format!("m.{name}"), t.clone());
        }
        for (name, t) in &self.v {
            all.insert(format!("v.{name}"), t.clone());
        }
        all.insert(
            "step".into(),
            Tensor::new(&[self.step as f64], &Device::Cpu)?,
        );
        candle_core::safetensors::save(&all, path)?;
        Ok(())
    }

    /// Loads moments and step count saved by [`AdamW::save`] for the same variables.
    pub fn load(&mut self, path: &Path) -> Result<()> {
        let all = candle_core::safetensors::load(path, &Device::Cpu)?;
        for (name, var) in &self.vars {
            for (prefix, map) in [("m", &mut self.m), ("v", &mut self.v)] {
                let key = format!("{prefix}.{name}");
                let t = all.get(&key).ok_or_else(|| {
                    candle_core::Error::Msg(format!("optimiser state has no {key}"))
                })?;
                if t.dims() != var.dims() {
                    return Err(candle_core::Error::Msg(format!(
                        "optimiser state {key} has shape {:?}, the model {:?}",
                        t.dims(),
                        var.dims()
                    ))
                    .into());
                }
                map.insert(name.clone(), t.to_dtype(DType::F32)?);
            }
        }
        let step = all
            .get("step")
            .ok_or_else(|| candle_core::Error::Msg("optimiser state has no step".into()))?
            .to_vec1::<f64>()?;
        self.step = step.first().copied().unwrap_or(0.0) as u64;
        Ok(())
    }
}
