//! The renderer: deterministic, anti-aliased, and physically right.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use verity_generate::render::{FLOOR_Y, render_with_coverage, simulate};
use verity_generate::{RenderOptions, parse, render};

fn opts(seed: u64) -> RenderOptions {
    RenderOptions {
        width: 96,
        height: 64,
        fps: 24.0,
        duration_s: 2.0,
        seed,
    }
}

#[test]
fn same_seed_same_clip() {
    let s = parse("a red ball bounces from left to right while the camera pans right").unwrap();
    let a = render(&s, &opts(7));
    let b = render(&s, &opts(7));
    let c = render(&s, &opts(8));
    assert_eq!(a.len(), 48);
    assert!(a.iter().zip(&b).all(|(x, y)| x.as_raw() == y.as_raw()));
    assert!(a.iter().zip(&c).any(|(x, y)| x.as_raw() != y.as_raw()));
}

#[test]
fn edges_are_anti_aliased() {
    let s = parse("a large white ball moves right on night").unwrap();
    let frame = &render(&s, &opts(1))[0];
    // Pixels strictly between the dark background and the white ball exist along its edge.
    let partial = frame
        .pixels()
        .filter(|p| p[0] > 90 && p[0] < 200 && p[1] > 90 && p[1] < 200)
        .count();
    assert!(partial >= 8, "{partial} edge pixels");
}

#[test]
fn coverage_marks_the_object_and_only_it() {
    let s = parse("a large white ball moves right on night").unwrap();
    let o = opts(1);
    let frames = render(&s, &o);
    let covered = render_with_coverage(&s, &o);
    let state = simulate(&s, &o);
    for ((plain, (img, cover)), st) in frames.iter().zip(&covered).zip(&state) {
        // The same frame as without coverage.
        assert_eq!(plain.as_raw(), img.as_raw());
        // The ball's area in pixels: coverage sums to it within the anti-aliased edge.
        let r = st.bodies[0].radius * st.view.zoom * o.height as f32;
        let area = std::f32::consts::PI * r * r;
        let sum: f32 = cover.iter().sum();
        assert!(
            (sum - area).abs() < 0.1 * area,
            "coverage {sum} vs area {area}"
        );
        // Fully covered pixels are the white ball (its band and shading darken it to about half),
        // uncovered ones the dark night.
        for (p, c) in img.pixels().zip(cover) {
            if *c == 1.0 {
                assert!(p[0] > 120, "covered pixel {p:?}");
            } else if *c == 0.0 {
                assert!(p[0] < 90, "background pixel {p:?}");
            }
        }
    }
}

#[test]
fn bounce_falls_moves_rolls_collides() {
    let o = opts(3);
    // Bounce: it reaches the floor, rebounds well up, and keeps moving right.
    let st = simulate(&parse("a red ball bounces from left to right").unwrap(), &o);
    let ys: Vec<f32> = st
        .iter()
        .map(|f| f.bodies[0].y + f.bodies[0].radius)
        .collect();
    let first_floor = ys
        .iter()
        .position(|y| (y - FLOOR_Y).abs() < 0.01)
        .expect("touches the floor");
    let after = ys[first_floor..].iter().cloned().fold(f32::MAX, f32::min);
    assert!(FLOOR_Y - after > 0.15, "rebounds {}", FLOOR_Y - after);
    assert!(st.last().unwrap().bodies[0].x > st[0].bodies[0].x + 0.3);

    // Fall: ends at rest on the floor.
    let st = simulate(
        &parse("a blue cube falls").unwrap(),
        &RenderOptions {
            duration_s: 4.0,
            ..o
        },
    );
    let end = st.last().unwrap().bodies[0];
    assert!(
        (end.y + end.radius - FLOOR_Y).abs() < 0.005 && end.vy.abs() < 0.06,
        "{end:?}"
    );

    // Moves left: x decreases steadily; moves up: y decreases.
    let st = simulate(&parse("a green triangle moves left").unwrap(), &o);
    assert!(st.windows(2).all(|w| w[1].bodies[0].x < w[0].bodies[0].x));
    let st = simulate(&parse("a green triangle moves up").unwrap(), &o);
    assert!(st.windows(2).all(|w| w[1].bodies[0].y < w[0].bodies[0].y));

    // Rolls: on the floor, turning with its speed.
    let st = simulate(&parse("a yellow ball rolls right").unwrap(), &o);
    let b = st.last().unwrap().bodies[0];
    assert!((b.y + b.radius - FLOOR_Y).abs() < 1e-3 && b.angle > 1.0);

    // Collision: they approach, touch, and the first one rebounds.
    let st = simulate(&parse("a red ball collides with a blue ball").unwrap(), &o);
    let gap = |f: &verity_generate::render::FrameState| {
        (f.bodies[1].x - f.bodies[0].x).abs() - f.bodies[0].radius - f.bodies[1].radius
    };
    let min_gap = st.iter().map(gap).fold(f32::MAX, f32::min);
    assert!(min_gap < 0.01, "they touch: {min_gap}");
    assert!(
        st.last().unwrap().bodies[0].vx < 0.0,
        "the first bounces back"
    );
    assert!(gap(st.last().unwrap()) > min_gap + 0.1, "they separate");
}

#[test]
fn camera_pans_move_the_background() {
    // How far the sky texture moved between two frames (negative: to the left), by
    // cross-correlating a row: content at x in `a` is found at x + shift in `b`.
    fn shift(a: &image::RgbImage, b: &image::RgbImage) -> i32 {
        let row = 5;
        let line = |img: &image::RgbImage| -> Vec<f32> {
            (0..img.width())
                .map(|x| f32::from(img.get_pixel(x, row)[2]))
                .collect()
        };
        let (la, lb) = (line(a), line(b));
        let score = |s: i32| -> f32 {
            (20..la.len() as i32 - 20)
                .map(|x| {
                    let d = la[x as usize] - lb[(x + s) as usize];
                    -(d * d)
                })
                .sum()
        };
        (-15..=15)
            .max_by(|x, y| score(*x).total_cmp(&score(*y)))
            .unwrap()
    }
    // The ball rolls on the floor, so the sky row is texture only. 10 frames = 0.42 s, so the pan
    // moves the scene by about 4 pixels.
    let right = render(
        &parse("a red ball rolls right while the camera pans right").unwrap(),
        &opts(1),
    );
    let left = render(
        &parse("a red ball rolls right while the camera pans left").unwrap(),
        &opts(1),
    );
    let fixed = render(&parse("a red ball rolls right").unwrap(), &opts(1));
    let (r, l, f) = (
        shift(&right[0], &right[10]),
        shift(&left[0], &left[10]),
        shift(&fixed[0], &fixed[10]),
    );
    assert!(
        (-6..=-2).contains(&r),
        "pan right moves the scene left: {r}"
    );
    assert!((2..=6).contains(&l), "pan left moves the scene right: {l}");
    assert_eq!(f, 0);
}
