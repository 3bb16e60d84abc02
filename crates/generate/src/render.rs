//! The procedural renderer: deterministic for a seed, real physics, anti-aliased.
//!
//! World units: the frame is 1 unit high and `width/height` units wide at the start; y points
//! down; the floor is at `FLOOR_Y`. Objects collide as discs of their radius. The background is
//! textured in world coordinates, so pans, tilts and zooms show as the texture moving.

use image::{Rgb, RgbImage};

use crate::rng::Rng;
use crate::scene::{Background, Camera, Direction, Motion, ObjectSpec, SceneSpec, Shape};

/// Where the floor is, in world units from the top of the first frame.
pub const FLOOR_Y: f32 = 0.85;
const GRAVITY: f32 = 3.0;
const SUBSTEPS: usize = 8;

/// How to render.
#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    pub width: u32,
    pub height: u32,
    pub fps: f32,
    pub duration_s: f32,
    /// Varies start positions and speeds a little; the same seed gives the same clip.
    pub seed: u64,
}

impl RenderOptions {
    pub fn frames(&self) -> usize {
        (self.fps * self.duration_s).round().max(1.0) as usize
    }
}

/// The state of one object at one instant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Body {
    pub x: f32,
    pub y: f32,
    pub vx: f32,
    pub vy: f32,
    pub angle: f32,
    pub spin: f32,
    pub radius: f32,
    /// Whether gravity acts on it.
    pub gravity: bool,
    /// Bounciness off the floor and walls.
    pub restitution: f32,
}

/// The camera at one instant: the world point at the frame's centre, and the zoom.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct View {
    pub cx: f32,
    pub cy: f32,
    pub zoom: f32,
}

/// Everything at one frame time: the ground truth that evaluation compares against.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameState {
    pub t: f32,
    pub bodies: Vec<Body>,
    pub view: View,
}

/// The physics and camera of a scene, simulated once and sampled per frame.
pub fn simulate(spec: &SceneSpec, opts: &RenderOptions) -> Vec<FrameState> {
    let aspect = opts.width as f32 / opts.height.max(1) as f32;
    let dur = opts.duration_s.max(0.1);
    let mut rng = Rng::new(opts.seed ^ 0x005E_ED0F_7E11_17E5);
    let mut bodies = vec![initial_body(
        &spec.object,
        spec.motion,
        aspect,
        dur,
        &mut rng,
        0,
    )];
    if let Some(other) = &spec.collides_with {
        bodies.push(initial_body(
            other,
            Motion::Moves(Direction::Left),
            aspect,
            dur,
            &mut rng,
            1,
        ));
        // Both glide along the floor towards each other.
        let speed = 0.45 * aspect / dur * rng.range(0.9, 1.1);
        for (b, dir) in bodies.iter_mut().zip([1.0, -1.0]) {
            b.y = FLOOR_Y - b.radius;
            b.vx = dir * speed;
            b.vy = 0.0;
        }
    }
    let frames = opts.frames();
    let dt = 1.0 / opts.fps.max(1.0) / SUBSTEPS as f32;
    let mut out = Vec::with_capacity(frames);
    for i in 0..frames {
        let t = i as f32 / opts.fps.max(1.0);
        out.push(FrameState {
            t,
            bodies: bodies.clone(),
            view: view_at(spec.camera, t, aspect),
        });
        for _ in 0..SUBSTEPS {
            step(&mut bodies, dt, aspect);
        }
    }
    out
}

fn initial_body(
    o: &ObjectSpec,
    motion: Motion,
    aspect: f32,
    dur: f32,
    rng: &mut Rng,
    slot: usize,
) -> Body {
    let r = o.size.radius();
    let j = |rng: &mut Rng| rng.range(0.92, 1.08);
    let mut b = Body {
        x: aspect * 0.5,
        y: 0.45,
        vx: 0.0,
        vy: 0.0,
        angle: 0.0,
        spin: 0.0,
        radius: r,
        gravity: false,
        restitution: 0.8,
    };
    let cross = 0.55 * aspect / dur * j(rng);
    let rise = 0.4 / dur * j(rng);
    match motion {
        Motion::Moves(d) => {
            b.y = rng.range(0.35, 0.5);
            match d {
                Direction::Right => (b.x, b.vx) = (0.2 * aspect, cross),
                Direction::Left => (b.x, b.vx) = (0.8 * aspect, -cross),
                Direction::Up => (b.y, b.vy) = (0.7, -rise),
                Direction::Down => (b.y, b.vy) = (0.2, rise),
            }
        }
        Motion::Bounces(d) => {
            b.gravity = true;
            b.restitution = 0.8;
            b.y = rng.range(0.15, 0.3);
            let sign = if d == Direction::Left { -1.0 } else { 1.0 };
            b.x = if sign > 0.0 {
                0.15 * aspect
            } else {
                0.85 * aspect
            };
            b.vx = sign * 0.6 * cross;
        }
        Motion::Falls => {
            b.gravity = true;
            b.restitution = 0.35;
            b.x = aspect * rng.range(0.4, 0.6);
            b.y = 0.05 + r;
        }
        Motion::Rolls(d) => {
            b.y = FLOOR_Y - r;
            let sign = if d == Direction::Left { -1.0 } else { 1.0 };
            b.x = if sign > 0.0 {
                0.2 * aspect
            } else {
                0.8 * aspect
            };
            b.vx = sign * cross;
            b.spin = b.vx / r;
        }
    }
    if slot == 1 {
        b.x = 0.8 * aspect;
    }
    b
}

fn step(bodies: &mut [Body], dt: f32, aspect: f32) {
    for b in bodies.iter_mut() {
        if b.gravity {
            b.vy += GRAVITY * dt;
        }
        b.x += b.vx * dt;
        b.y += b.vy * dt;
        b.angle += b.spin * dt;
        // Floor.
        if b.y + b.radius > FLOOR_Y && b.vy > 0.0 {
            b.y = FLOOR_Y - b.radius;
            b.vy = -b.vy * b.restitution;
            if b.vy.abs() < 0.05 {
                b.vy = 0.0;
                b.gravity = false; // at rest
            }
        }
        // Walls at the edges of the first frame.
        if (b.x - b.radius < 0.0 && b.vx < 0.0) || (b.x + b.radius > aspect && b.vx > 0.0) {
            b.vx = -b.vx * b.restitution;
            b.spin = -b.spin;
        }
        // Rolling on the floor: the spin follows the speed.
        if !b.gravity && (b.y + b.radius - FLOOR_Y).abs() < 1e-3 && b.spin != 0.0 {
            b.spin = b.vx / b.radius;
        }
    }
    // Elastic collisions between discs, masses by area.
    for i in 0..bodies.len() {
        for k in i + 1..bodies.len() {
            let (a, b) = (bodies[i], bodies[k]);
            let (dx, dy) = (b.x - a.x, b.y - a.y);
            let dist = (dx * dx + dy * dy).sqrt();
            let min = a.radius + b.radius;
            if dist >= min || dist == 0.0 {
                continue;
            }
            let (nx, ny) = (dx / dist, dy / dist);
            let rel = (a.vx - b.vx) * nx + (a.vy - b.vy) * ny;
            if rel <= 0.0 {
                continue; // already separating
            }
            let (ma, mb) = (a.radius * a.radius, b.radius * b.radius);
            let impulse = 2.0 * rel / (ma + mb);
            bodies[i].vx -= impulse * mb * nx;
            bodies[i].vy -= impulse * mb * ny;
            bodies[k].vx += impulse * ma * nx;
            bodies[k].vy += impulse * ma * ny;
            // Push apart so they do not stick.
            let overlap = (min - dist) / 2.0;
            bodies[i].x -= overlap * nx;
            bodies[i].y -= overlap * ny;
            bodies[k].x += overlap * nx;
            bodies[k].y += overlap * ny;
        }
    }
}

fn view_at(camera: Camera, t: f32, aspect: f32) -> View {
    let mut v = View {
        cx: aspect / 2.0,
        cy: 0.5,
        zoom: 1.0,
    };
    match camera {
        Camera::Static => {}
        Camera::PanLeft => v.cx -= 0.15 * t,
        Camera::PanRight => v.cx += 0.15 * t,
        Camera::TiltUp => v.cy -= 0.08 * t,
        Camera::TiltDown => v.cy += 0.08 * t,
        Camera::ZoomIn => v.zoom = 1.0 + 0.15 * t,
        Camera::ZoomOut => v.zoom = 1.0 / (1.0 + 0.15 * t),
    }
    v
}

/// Renders every frame of a scene.
pub fn render(spec: &SceneSpec, opts: &RenderOptions) -> Vec<RgbImage> {
    simulate(spec, opts)
        .iter()
        .map(|s| draw(spec, s, opts.width, opts.height))
        .collect()
}

fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

fn rgb(c: [u8; 3]) -> [f32; 3] {
    [f32::from(c[0]), f32::from(c[1]), f32::from(c[2])]
}

/// Sky and ground colours, and texture strength, per background.
fn palette(b: Background) -> ([f32; 3], [f32; 3], f32) {
    let (sky, ground, tex) = match b {
        Background::Grass => ([150, 200, 240], [70, 150, 60], 18.0),
        Background::Sand => ([170, 210, 240], [215, 190, 130], 16.0),
        Background::Sky => ([110, 170, 235], [150, 190, 230], 20.0),
        Background::Snow => ([200, 215, 230], [240, 242, 245], 12.0),
        Background::Night => ([20, 25, 55], [35, 40, 50], 14.0),
        Background::Wall => ([185, 110, 90], [120, 110, 100], 22.0),
    };
    (rgb(sky), rgb(ground), tex)
}

/// Renders every frame of a scene with, per frame, how much of each pixel the objects cover
/// (0 to 1, row-major): where in the clip the objects are, for training that weights them.
pub fn render_with_coverage(spec: &SceneSpec, opts: &RenderOptions) -> Vec<(RgbImage, Vec<f32>)> {
    simulate(spec, opts)
        .iter()
        .map(|s| draw_with_coverage(spec, s, opts.width, opts.height))
        .collect()
}

/// Draws one frame. Coverage of each edge comes from the signed distance, so edges are
/// anti-aliased at any size.
pub fn draw(spec: &SceneSpec, state: &FrameState, width: u32, height: u32) -> RgbImage {
    draw_with_coverage(spec, state, width, height).0
}

/// Draws one frame and returns, with it, the objects' coverage of each pixel (row-major).
pub fn draw_with_coverage(
    spec: &SceneSpec,
    state: &FrameState,
    width: u32,
    height: u32,
) -> (RgbImage, Vec<f32>) {
    let (w, h) = (width as f32, height as f32);
    let v = state.view;
    let px = 1.0 / (v.zoom * h); // one pixel in world units
    let to_world = |sx: f32, sy: f32| ((sx - w / 2.0) * px + v.cx, (sy - h / 2.0) * px + v.cy);
    let (sky, ground, tex) = palette(spec.background);
    let objects: Vec<(ObjectSpec, Body)> = std::iter::once(spec.object)
        .chain(spec.collides_with)
        .zip(state.bodies.iter().copied())
        .collect();
    let mut img = RgbImage::new(width, height);
    let mut coverage = vec![0f32; width as usize * height as usize];
    for (sx, sy, pixel) in img.enumerate_pixels_mut() {
        let mut covered = 0f32;
        let (x, y) = to_world(sx as f32 + 0.5, sy as f32 + 0.5);
        // Ground below the floor line, with coverage across the edge.
        let ground_cov = ((y - FLOOR_Y) / px + 0.5).clamp(0.0, 1.0);
        let sky_tex = (x * 9.0).sin() * 0.6 + (y * 7.0 + x * 2.0).sin() * 0.4;
        let ground_tex = (x * 40.0).sin() * 0.7 + ((y - FLOOR_Y) * 25.0).sin() * 0.3;
        let s = sky.map(|c| c + sky_tex * tex);
        let g = ground.map(|c| c + ground_tex * tex);
        let mut col = mix(s, g, ground_cov);
        for (o, b) in &objects {
            let d = sdf(o.shape, x - b.x, y - b.y, b.radius, b.angle);
            if d > px {
                continue;
            }
            let cov = (0.5 - d / px).clamp(0.0, 1.0);
            let mut c = rgb(o.color.rgb());
            // A band across the object shows its rotation; soft shading gives it volume.
            let (ca, sa) = (b.angle.cos(), b.angle.sin());
            let across = ((x - b.x) * ca + (y - b.y) * sa) / b.radius;
            if across.abs() < 0.22 {
                c = c.map(|v| v * 0.72);
            }
            let shade = 1.0 - 0.25 * ((y - b.y) / b.radius).clamp(-1.0, 1.0).max(0.0);
            c = c.map(|v| v * shade);
            col = mix(col, c, cov);
            covered = covered.max(cov);
        }
        *pixel = Rgb(col.map(|v| v.round().clamp(0.0, 255.0) as u8));
        coverage[sy as usize * width as usize + sx as usize] = covered;
    }
    (img, coverage)
}

/// Signed distance from a point (relative to the centre) to a shape of radius `r`, turned by
/// `angle`; negative inside.
pub(crate) fn sdf(shape: Shape, dx: f32, dy: f32, r: f32, angle: f32) -> f32 {
    let (c, s) = (angle.cos(), angle.sin());
    let (x, y) = (dx * c + dy * s, -dx * s + dy * c);
    match shape {
        Shape::Ball => (x * x + y * y).sqrt() - r,
        Shape::Cube => {
            let half = r * 0.9;
            let (qx, qy) = (x.abs() - half, y.abs() - half);
            let outside = (qx.max(0.0).powi(2) + qy.max(0.0).powi(2)).sqrt();
            outside + qx.max(qy).min(0.0)
        }
        Shape::Triangle => {
            // Equilateral, point up, centred on its centroid.
            let k = 3f32.sqrt();
            let side = r * 1.1;
            let (mut px, mut py) = (x.abs() - side, -y + side / k);
            if px + k * py > 0.0 {
                (px, py) = ((px - k * py) / 2.0, (-k * px - py) / 2.0);
            }
            px -= px.clamp(-2.0 * side, 0.0);
            -(px * px + py * py).sqrt() * py.signum()
        }
    }
}
