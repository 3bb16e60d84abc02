//! The prompt parser: examples, errors that name the problem, and canonical prompts that parse
//! back into the same spec.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use proptest::prelude::*;
use verity_generate::{
    Background, Camera, Color, Direction, Motion, ObjectSpec, PromptError, SceneSpec, Shape, Size,
    parse,
};

#[test]
fn the_design_example() {
    let s =
        parse("a small red ball bounces from left to right while the camera pans right").unwrap();
    assert_eq!(
        s.object,
        ObjectSpec {
            shape: Shape::Ball,
            color: Color::Red,
            size: Size::Small
        }
    );
    assert_eq!(s.motion, Motion::Bounces(Direction::Right));
    assert_eq!(s.camera, Camera::PanRight);
    assert_eq!(s.background, Background::Grass);
}

#[test]
fn more_phrasings() {
    let s = parse("A big blue square falls on sand.").unwrap();
    assert_eq!(
        (s.object.shape, s.object.size, s.motion, s.background),
        (Shape::Cube, Size::Large, Motion::Falls, Background::Sand)
    );
    let s = parse("a green triangle moves up in the sky while the camera zooms in").unwrap();
    assert_eq!(
        (s.motion, s.camera, s.background),
        (
            Motion::Moves(Direction::Up),
            Camera::ZoomIn,
            Background::Sky
        )
    );
    let s = parse("a yellow ball rolls left, camera tilts down").unwrap();
    assert_eq!(
        (s.motion, s.camera),
        (Motion::Rolls(Direction::Left), Camera::TiltDown)
    );
    let s = parse("a red ball collides with a large blue cube").unwrap();
    assert_eq!(
        s.collides_with.map(|o| (o.shape, o.color, o.size)),
        Some((Shape::Cube, Color::Blue, Size::Large))
    );
    let s = parse("a pink ball bounces from right to left while the camera zooms out").unwrap();
    assert_eq!(
        (s.motion, s.camera),
        (Motion::Bounces(Direction::Left), Camera::ZoomOut)
    );
}

#[test]
fn errors_name_the_problem() {
    match parse("a red ball dances gracefully") {
        Err(PromptError::Unknown { words }) => assert_eq!(words, vec!["dances", "gracefully"]),
        other => panic!("{other:?}"),
    }
    let e = parse("a red and blue ball falls").unwrap_err().to_string();
    assert!(
        e.contains("contradiction") && e.contains("red and blue"),
        "{e}"
    );
    let e = parse("a ball falls").unwrap_err().to_string();
    assert!(e.contains("colour"), "{e}");
    let e = parse("a red ball").unwrap_err().to_string();
    assert!(e.contains("what the object does"), "{e}");
    let e = parse("a red ball moves").unwrap_err().to_string();
    assert!(e.contains("which way"), "{e}");
    let e = parse("a red ball falls while the camera pans")
        .unwrap_err()
        .to_string();
    assert!(e.contains("pans"), "{e}");
    let e = parse("a red ball falls and bounces")
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot both"), "{e}");
    let e = parse("a red cube rolls left").unwrap_err().to_string();
    assert!(e.contains("only a ball rolls"), "{e}");
    assert_eq!(parse("   "), Err(PromptError::Empty));
    let e = parse("a red ball bounces up").unwrap_err().to_string();
    assert!(e.contains("left or right"), "{e}");
}

/// Prompts that ask for two things at once are refused, as colour and camera contradictions
/// are, instead of quietly keeping one of them.
#[test]
fn sizes_and_headings_that_contradict_are_refused() {
    for (prompt, want) in [
        ("a small large red ball bounces", "both small and large"),
        ("a red ball moves left and right", "both left and right"),
        ("a red ball bounces right and left", "both right and left"),
        (
            "a red ball moves right from the right",
            "right from the right",
        ),
        (
            "a red ball moves up from the left",
            "come from the left and move up",
        ),
    ] {
        match parse(prompt) {
            Err(PromptError::Contradiction(why)) => assert!(why.contains(want), "{prompt}: {why}"),
            other => panic!("{prompt}: {other:?}"),
        }
    }
    // The same word twice, or both ends of one line, are not contradictions.
    assert_eq!(
        parse("a small small red ball bounces").unwrap().object.size,
        Size::Small
    );
    for (prompt, heading) in [
        ("a red ball moves from left to right", Direction::Right),
        ("a red ball moves from the right", Direction::Left),
        ("a red ball moves left from the right", Direction::Left),
        ("a red ball moves down down", Direction::Down),
    ] {
        assert_eq!(
            parse(prompt).unwrap().motion,
            Motion::Moves(heading),
            "{prompt}"
        );
    }
}

#[test]
fn ten_thousand_unknown_words_give_one_short_error() {
    let prompt = (0..10_000)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    let e = parse(&prompt).unwrap_err().to_string();
    assert!(e.len() < 1000, "{} bytes", e.len());
    assert!(e.contains("`w0`") && e.contains("and 9992 more"), "{e}");
}

fn object() -> impl Strategy<Value = ObjectSpec> {
    (
        proptest::sample::select(Shape::ALL.to_vec()),
        proptest::sample::select(Color::ALL.to_vec()),
        proptest::sample::select(Size::ALL.to_vec()),
    )
        .prop_map(|(shape, color, size)| ObjectSpec { shape, color, size })
}

fn spec() -> impl Strategy<Value = SceneSpec> {
    let motion = prop_oneof![
        proptest::sample::select(Direction::ALL.to_vec()).prop_map(Motion::Moves),
        proptest::sample::select(vec![Direction::Left, Direction::Right]).prop_map(Motion::Bounces),
        Just(Motion::Falls),
        proptest::sample::select(vec![Direction::Left, Direction::Right]).prop_map(Motion::Rolls),
    ];
    (
        object(),
        motion,
        proptest::option::of(object()),
        proptest::sample::select(Background::ALL.to_vec()),
        proptest::sample::select(Camera::ALL.to_vec()),
    )
        .prop_map(|(mut object, motion, other, background, camera)| {
            let motion = if other.is_some() {
                Motion::Moves(Direction::Right)
            } else {
                motion
            };
            if matches!(motion, Motion::Rolls(_)) {
                object.shape = Shape::Ball;
            }
            SceneSpec {
                object,
                motion,
                collides_with: other,
                background,
                camera,
            }
        })
}

proptest! {
    #[test]
    fn canonical_prompts_parse_back(s in spec()) {
        prop_assert!(s.is_valid());
        let prompt = s.canonical_prompt();
        prop_assert_eq!(parse(&prompt), Ok(s), "{}", prompt);
    }

    #[test]
    fn any_text_gives_a_spec_or_an_error_never_a_panic(text in "[a-z ,.]{0,60}") {
        let _ = parse(&text);
    }
}
