//! The evaluation's prompts: scenes drawn with a fixed seed, and the decoys (the same scene in
//! the nearest other colour or another shape) that show what the scorer tells apart.

use super::*;

/// The evaluation prompts: `n` scenes from `seed`, every fifth one held out of training.
pub fn prompts(n: usize, seed: u64) -> Vec<SceneSpec> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            loop {
                let s = random_spec(&mut rng, true);
                if (i % 5 == 4) == is_held_out(&s) {
                    break s;
                }
            }
        })
        .collect()
}

/// The scene with its asked object drawn in the palette's nearest other colour (not the colour
/// of the object it collides with): a clip the colour measure must fail. `None` when the other
/// object has the asked colour, since the scene then shows that colour whatever the first is.
pub fn decoy(spec: &SceneSpec) -> Option<SceneSpec> {
    let asked = spec.object.color;
    let partner = spec.collides_with.map(|o| o.color);
    if partner == Some(asked) {
        return None;
    }
    let other = Color::ALL
        .iter()
        .copied()
        .filter(|c| *c != asked && Some(*c) != partner)
        .min_by_key(|c| dist(c.rgb(), asked.rgb()))?;
    let mut d = spec.clone();
    d.object.color = other;
    Some(d)
}

/// The scene with its asked object in another shape (a ball for a cube or a triangle, a cube
/// for a ball): a clip the shape measure must fail. `None` for a rolling object (only balls
/// roll) and when the other object has the asked colour (the blob may then be either).
pub fn shape_decoy(spec: &SceneSpec) -> Option<SceneSpec> {
    if matches!(spec.motion, Motion::Rolls(_))
        || spec.collides_with.map(|o| o.color) == Some(spec.object.color)
    {
        return None;
    }
    let mut d = spec.clone();
    d.object.shape = match spec.object.shape {
        Shape::Ball => Shape::Cube,
        Shape::Cube | Shape::Triangle => Shape::Ball,
    };
    Some(d)
}
