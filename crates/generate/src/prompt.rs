//! Plain English → [`SceneSpec`]. The parser fills slots (object, motion, second object,
//! background, camera) from the words it knows; anything it does not know, or any contradiction,
//! is an error that says exactly what.
//!
//! `a small red ball bounces from left to right on grass while the camera pans right`

use crate::scene::{
    Background, Camera, Color, Direction, Motion, ObjectSpec, SceneSpec, Shape, Size,
};

/// Why a prompt could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromptError {
    #[error(
        "the prompt is empty: describe an object and what it does, e.g. \"a red ball bounces from left to right\""
    )]
    Empty,
    #[error(
        "did not understand: {}. Known words: shapes (ball, cube, square, triangle), colours ({}), \
         sizes (small, medium, large), motions (moves, bounces, falls, rolls, collides with), directions \
         (left, right, up, down), backgrounds ({}), camera (pans, tilts, zooms, static)",
        list_words(words),
        Color::ALL.iter().map(|c| c.word()).collect::<Vec<_>>().join(", "),
        Background::ALL.iter().map(|b| b.word()).collect::<Vec<_>>().join(", ")
    )]
    Unknown { words: Vec<String> },
    #[error("contradiction: {0}")]
    Contradiction(String),
    #[error("incomplete: {0}")]
    Missing(String),
}

/// At most this many unknown words are named in an error; the rest are counted.
const NAMED_UNKNOWN: usize = 8;

/// The unknown words for a message: each once, the first few by name, then a count, so that a
/// prompt of ten thousand unknown words gives one short line.
fn list_words(words: &[String]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for w in words {
        if !seen.contains(&w.as_str()) {
            seen.push(w);
        }
    }
    let named: Vec<String> = seen
        .iter()
        .take(NAMED_UNKNOWN)
        .map(|w| {
            let short: String = w.chars().take(40).collect();
            if short.len() < w.len() {
                format!("`{short}…`")
            } else {
                format!("`{short}`")
            }
        })
        .collect();
    let mut out = named.join(", ");
    if seen.len() > NAMED_UNKNOWN {
        out.push_str(&format!(" and {} more", seen.len() - NAMED_UNKNOWN));
    }
    out
}

/// Words that carry no meaning here.
const FILLER: &[&str] = &[
    "a",
    "an",
    "the",
    "is",
    "it",
    "its",
    "of",
    "from",
    "to",
    "towards",
    "toward",
    "across",
    "along",
    "while",
    "as",
    "and",
    "then",
    "on",
    "in",
    "into",
    "against",
    "over",
    "with",
    "background",
    "scene",
    "floor",
    "ground",
    "frame",
    "video",
    "clip",
    "screen",
    "slowly",
    "quickly",
    "gently",
    "camera",
    "stays",
    "remains",
    "still",
];

#[derive(Default)]
struct Slots {
    objects: Vec<ObjectSpec>,
    /// Words that describe the object being built.
    size: Option<Size>,
    colors: Vec<Color>,
    motion: Option<(&'static str, Option<Direction>)>,
    collide: bool,
    camera: Option<Camera>,
    camera_verb: Option<&'static str>,
    background: Option<Background>,
    /// Where the object goes ("moves right", "to the right").
    directions: Vec<Direction>,
    /// Where it comes from ("from the left").
    origins: Vec<Direction>,
}

fn shape_of(w: &str) -> Option<Shape> {
    match w {
        "ball" | "balls" | "sphere" | "circle" => Some(Shape::Ball),
        "cube" | "cubes" | "square" | "box" | "block" => Some(Shape::Cube),
        "triangle" | "triangles" | "pyramid" => Some(Shape::Triangle),
        _ => None,
    }
}

fn color_of(w: &str) -> Option<Color> {
    match w {
        "grey" => Some(Color::Gray),
        "violet" => Some(Color::Purple),
        _ => Color::ALL.iter().copied().find(|c| c.word() == w),
    }
}

fn size_of(w: &str) -> Option<Size> {
    match w {
        "small" | "tiny" | "little" => Some(Size::Small),
        "medium" | "mid-sized" => Some(Size::Medium),
        "large" | "big" | "huge" => Some(Size::Large),
        _ => None,
    }
}

fn background_of(w: &str) -> Option<Background> {
    match w {
        "grass" | "grassy" | "field" | "lawn" => Some(Background::Grass),
        "sand" | "sandy" | "beach" | "desert" => Some(Background::Sand),
        "sky" | "air" => Some(Background::Sky),
        "snow" | "snowy" => Some(Background::Snow),
        "night" | "dark" => Some(Background::Night),
        "wall" | "brick" | "bricks" | "room" => Some(Background::Wall),
        _ => None,
    }
}

fn direction_of(w: &str) -> Option<Direction> {
    match w {
        "left" | "leftward" | "leftwards" => Some(Direction::Left),
        "right" | "rightward" | "rightwards" => Some(Direction::Right),
        "up" | "upward" | "upwards" => Some(Direction::Up),
        "down" | "downward" | "downwards" => Some(Direction::Down),
        _ => None,
    }
}

fn motion_verb(w: &str) -> Option<&'static str> {
    match w {
        "moves" | "move" | "moving" | "slides" | "slide" | "sliding" | "glides" | "flies"
        | "floats" => Some("moves"),
        "bounces" | "bounce" | "bouncing" | "hops" => Some("bounces"),
        "falls" | "fall" | "falling" | "drops" | "drop" | "dropping" => Some("falls"),
        "rolls" | "roll" | "rolling" => Some("rolls"),
        "collides" | "collide" | "colliding" | "hits" | "hit" | "bumps" | "crashes" => {
            Some("collides")
        }
        _ => None,
    }
}

fn camera_verb(w: &str) -> Option<&'static str> {
    match w {
        "pans" | "pan" | "panning" => Some("pan"),
        "tilts" | "tilt" | "tilting" => Some("tilt"),
        "zooms" | "zoom" | "zooming" => Some("zoom"),
        "static" | "fixed" | "steady" | "stationary" => Some("static"),
        _ => None,
    }
}

/// Parses a prompt into a scene spec.
pub fn parse(prompt: &str) -> Result<SceneSpec, PromptError> {
    let lowered = prompt.to_lowercase();
    let words: Vec<&str> = lowered
        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return Err(PromptError::Empty);
    }
    let mut s = Slots::default();
    let mut unknown = Vec::new();
    // After the camera is mentioned, directions belong to the camera.
    let mut in_camera = false;
    let mut camera_dirs: Vec<&str> = Vec::new();
    // "from" makes the next direction an origin ("from the left"), not a heading.
    let mut after_from = false;
    for &w in &words {
        if w == "camera" {
            in_camera = true;
            continue;
        }
        if w == "from" {
            after_from = !in_camera;
            continue;
        }
        // "from" reaches over filler ("from the left") but not over other words.
        if direction_of(w).is_none() && !FILLER.contains(&w) {
            after_from = false;
        }
        if let Some(size) = size_of(w) {
            if let Some(prev) = s.size.filter(|p| *p != size) {
                return Err(PromptError::Contradiction(format!(
                    "one object cannot be both {} and {}",
                    prev.word(),
                    size.word()
                )));
            }
            s.size = Some(size);
        } else if let Some(c) = color_of(w) {
            s.colors.push(c);
        } else if let Some(shape) = shape_of(w) {
            let color = match s.colors.as_slice() {
                [c] => *c,
                [] => {
                    return Err(PromptError::Missing(format!(
                        "the {w} has no colour: say e.g. \"a red {w}\""
                    )));
                }
                many => {
                    return Err(PromptError::Contradiction(format!(
                        "one {w} cannot be {}",
                        many.iter()
                            .map(|c| c.word())
                            .collect::<Vec<_>>()
                            .join(" and ")
                    )));
                }
            };
            s.objects.push(ObjectSpec {
                shape,
                color,
                size: s.size.take().unwrap_or(Size::Medium),
            });
            s.colors.clear();
        } else if let Some(v) =
            camera_verb(w).filter(|_| in_camera || w == "pans" || w == "tilts" || w == "zooms")
        {
            if let Some(prev) = s.camera_verb.filter(|p| *p != v) {
                return Err(PromptError::Contradiction(format!(
                    "the camera cannot both {prev} and {v}"
                )));
            }
            s.camera_verb = Some(v);
            in_camera = true;
        } else if let Some(v) = motion_verb(w) {
            if let Some((prev, _)) = s.motion.filter(|(p, _)| *p != v) {
                return Err(PromptError::Contradiction(format!(
                    "the object cannot both {prev} and {v}"
                )));
            }
            if v == "collides" {
                s.collide = true;
            }
            s.motion = Some((v, None));
        } else if let Some(d) = direction_of(w) {
            if in_camera {
                camera_dirs.push(w);
            } else if std::mem::take(&mut after_from) {
                s.origins.push(d);
            } else {
                s.directions.push(d);
            }
        } else if w == "in" && in_camera {
            camera_dirs.push("in");
        } else if w == "out" {
            camera_dirs.push("out");
        } else if let Some(b) = background_of(w) {
            if let Some(prev) = s.background.filter(|p| *p != b) {
                return Err(PromptError::Contradiction(format!(
                    "the background cannot be both {} and {}",
                    prev.word(),
                    b.word()
                )));
            }
            s.background = Some(b);
        } else if !FILLER.contains(&w) {
            unknown.push(w.to_string());
        }
    }
    // "zooms in": `in` is a filler word elsewhere, so look for it right after a zoom verb.
    if s.camera_verb == Some("zoom") {
        let zi = words.iter().position(|w| camera_verb(w) == Some("zoom"));
        if let Some(next) = zi.and_then(|i| words.get(i + 1)) {
            if *next == "in" || *next == "out" {
                camera_dirs.retain(|d| *d != "in" && *d != "out");
                camera_dirs.push(if *next == "in" { "in" } else { "out" });
            }
        }
    }
    if !unknown.is_empty() {
        return Err(PromptError::Unknown { words: unknown });
    }
    if !s.colors.is_empty() || s.size.is_some() {
        return Err(PromptError::Missing(
            "a colour or size is not followed by a shape".into(),
        ));
    }
    s.camera = Some(camera_from(s.camera_verb, &camera_dirs)?);
    build(s)
}

fn camera_from(verb: Option<&str>, dirs: &[&str]) -> Result<Camera, PromptError> {
    let one = |allowed: &[&str]| -> Result<Option<&str>, PromptError> {
        let found: Vec<&str> = dirs
            .iter()
            .copied()
            .filter(|d| allowed.contains(d))
            .collect();
        match found.as_slice() {
            [] => Ok(None),
            [d] => Ok(Some(*d)),
            [a, b, ..] if a == b => Ok(Some(*a)),
            [a, b, ..] => Err(PromptError::Contradiction(format!(
                "the camera cannot move both {a} and {b}"
            ))),
        }
    };
    Ok(match verb {
        None | Some("static") => Camera::Static,
        Some("pan") => match one(&["left", "right"])? {
            Some("left") => Camera::PanLeft,
            Some(_) => Camera::PanRight,
            None => {
                return Err(PromptError::Missing(
                    "say which way the camera pans: left or right".into(),
                ));
            }
        },
        Some("tilt") => match one(&["up", "down"])? {
            Some("up") => Camera::TiltUp,
            Some(_) => Camera::TiltDown,
            None => {
                return Err(PromptError::Missing(
                    "say which way the camera tilts: up or down".into(),
                ));
            }
        },
        Some(_) => match one(&["in", "out"])? {
            Some("in") => Camera::ZoomIn,
            Some(_) => Camera::ZoomOut,
            None => {
                return Err(PromptError::Missing(
                    "say whether the camera zooms in or out".into(),
                ));
            }
        },
    })
}

/// The one way the object goes, from the directions it goes in and those it comes from:
/// "from left to right" and "from the left" head right; "left and right", or "right from the
/// right", contradict themselves.
fn heading(to: &[Direction], from: &[Direction]) -> Result<Option<Direction>, PromptError> {
    let one = |dirs: &[Direction], what: &str| -> Result<Option<Direction>, PromptError> {
        match dirs {
            [] => Ok(None),
            [first, rest @ ..] => match rest.iter().find(|d| *d != first) {
                None => Ok(Some(*first)),
                Some(other) => Err(PromptError::Contradiction(format!(
                    "it cannot {what} both {} and {}",
                    first.word(),
                    other.word()
                ))),
            },
        }
    };
    let to = one(to, "move")?;
    let from = one(from, "come from")?;
    match (to, from) {
        (Some(t), Some(f)) if t == f => Err(PromptError::Contradiction(format!(
            "it cannot move {} from the {}",
            t.word(),
            f.word()
        ))),
        (Some(t), Some(f)) if t != opposite(f) => Err(PromptError::Contradiction(format!(
            "it cannot both come from the {} and move {}: say one straight line",
            f.word(),
            t.word()
        ))),
        (Some(t), _) => Ok(Some(t)),
        (None, Some(f)) => Ok(Some(opposite(f))),
        (None, None) => Ok(None),
    }
}

fn opposite(d: Direction) -> Direction {
    match d {
        Direction::Left => Direction::Right,
        Direction::Right => Direction::Left,
        Direction::Up => Direction::Down,
        Direction::Down => Direction::Up,
    }
}

fn build(s: Slots) -> Result<SceneSpec, PromptError> {
    let mut objects = s.objects.into_iter();
    let Some(object) = objects.next() else {
        return Err(PromptError::Missing(
            "name an object: a ball, cube, square or triangle with a colour".into(),
        ));
    };
    let second = objects.next();
    if objects.next().is_some() {
        return Err(PromptError::Missing(
            "verity draws at most two objects".into(),
        ));
    }
    let heading = heading(&s.directions, &s.origins)?;
    let horizontal = |what: &str| -> Result<Option<Direction>, PromptError> {
        match heading {
            None => Ok(None),
            Some(d @ (Direction::Left | Direction::Right)) => Ok(Some(d)),
            Some(_) => Err(PromptError::Contradiction(format!(
                "an object that {what} moves left or right, not up or down"
            ))),
        }
    };
    let (motion, collides_with) = match (s.motion, second, s.collide) {
        (Some(("collides", _)), Some(b), true) => (Motion::Moves(Direction::Right), Some(b)),
        (_, Some(_), _) => {
            return Err(PromptError::Missing(
                "with two objects, say that one collides with the other".into(),
            ));
        }
        (Some(("collides", _)), None, _) => {
            return Err(PromptError::Missing(
                "say what it collides with, e.g. \"collides with a blue cube\"".into(),
            ));
        }
        (Some(("moves", _)), None, _) => match heading {
            Some(d) => (Motion::Moves(d), None),
            None => {
                return Err(PromptError::Missing(
                    "say which way it moves: left, right, up or down".into(),
                ));
            }
        },
        (Some(("bounces", _)), None, _) => (
            Motion::Bounces(horizontal("bounces")?.unwrap_or(Direction::Right)),
            None,
        ),
        (Some(("rolls", _)), None, _) => (
            Motion::Rolls(horizontal("rolls")?.unwrap_or(Direction::Right)),
            None,
        ),
        (Some(("falls", _)), None, _) => {
            if heading.is_some_and(|d| d != Direction::Down) {
                return Err(PromptError::Contradiction(
                    "a falling object moves down".into(),
                ));
            }
            (Motion::Falls, None)
        }
        _ => {
            return Err(PromptError::Missing(
                "say what the object does: moves, bounces, falls, rolls or collides with".into(),
            ));
        }
    };
    if object.shape != Shape::Ball && matches!(motion, Motion::Rolls(_)) {
        return Err(PromptError::Contradiction(format!(
            "a {} slides but cannot roll; only a ball rolls",
            object.shape.word()
        )));
    }
    Ok(SceneSpec {
        object,
        motion,
        collides_with,
        background: s.background.unwrap_or(Background::Grass),
        camera: s.camera.unwrap_or(Camera::Static),
    })
}
