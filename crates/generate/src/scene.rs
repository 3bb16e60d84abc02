//! The scene language: what a clip shows, as data. Prompts parse into a [`SceneSpec`]
//! (`prompt.rs`) and the renderer draws one (`render.rs`).

use serde::{Deserialize, Serialize};

macro_rules! word_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical English word.
            pub fn word(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }
        }
    };
}

word_enum!(
    /// The shapes objects can have.
    Shape { Ball => "ball", Cube => "cube", Triangle => "triangle" }
);

word_enum!(
    /// Object colours.
    Color {
        Red => "red", Green => "green", Blue => "blue", Yellow => "yellow", Orange => "orange",
        Purple => "purple", Pink => "pink", White => "white", Black => "black", Cyan => "cyan",
        Brown => "brown", Gray => "gray",
    }
);

word_enum!(
    /// Object sizes.
    Size { Small => "small", Medium => "medium", Large => "large" }
);

word_enum!(
    /// Backgrounds: a base colour and a texture, so camera motion is visible.
    Background { Grass => "grass", Sand => "sand", Sky => "sky", Snow => "snow", Night => "night", Wall => "wall" }
);

word_enum!(
    /// Horizontal or vertical directions.
    Direction { Left => "left", Right => "right", Up => "up", Down => "down" }
);

word_enum!(
    /// What the camera does.
    Camera {
        Static => "static", PanLeft => "pans left", PanRight => "pans right", TiltUp => "tilts up",
        TiltDown => "tilts down", ZoomIn => "zooms in", ZoomOut => "zooms out",
    }
);

impl Color {
    /// sRGB value of the colour.
    pub fn rgb(self) -> [u8; 3] {
        match self {
            Color::Red => [220, 40, 40],
            Color::Green => [40, 170, 60],
            Color::Blue => [40, 80, 220],
            Color::Yellow => [240, 210, 40],
            Color::Orange => [245, 140, 30],
            Color::Purple => [140, 60, 190],
            Color::Pink => [240, 130, 190],
            Color::White => [245, 245, 245],
            Color::Black => [20, 20, 20],
            Color::Cyan => [40, 200, 220],
            Color::Brown => [130, 80, 40],
            Color::Gray => [128, 128, 128],
        }
    }
}

impl Size {
    /// Radius (half the width) in frame heights.
    pub fn radius(self) -> f32 {
        match self {
            Size::Small => 0.06,
            Size::Medium => 0.09,
            Size::Large => 0.13,
        }
    }
}

/// How an object moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "direction")]
pub enum Motion {
    /// Glides in a straight line at constant speed, without gravity.
    Moves(Direction),
    /// Thrown sideways, it falls under gravity and bounces off the floor and walls.
    Bounces(Direction),
    /// Drops from the top and comes to rest on the floor.
    Falls,
    /// Rolls along the floor, turning as it goes.
    Rolls(Direction),
}

impl Motion {
    /// Whether this motion is allowed, e.g. rolling is horizontal only.
    pub fn is_valid(self) -> bool {
        match self {
            Motion::Moves(_) | Motion::Falls => true,
            Motion::Bounces(d) | Motion::Rolls(d) => {
                matches!(d, Direction::Left | Direction::Right)
            }
        }
    }
}

/// One object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObjectSpec {
    pub shape: Shape,
    pub color: Color,
    pub size: Size,
}

/// What a clip shows.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SceneSpec {
    pub object: ObjectSpec,
    pub motion: Motion,
    /// A second object that the first collides with: they move towards each other.
    pub collides_with: Option<ObjectSpec>,
    pub background: Background,
    pub camera: Camera,
}

impl SceneSpec {
    /// Whether the spec is one the renderer draws: a valid motion, and for a collision the
    /// first object moving right towards the second (the one form collisions take).
    pub fn is_valid(&self) -> bool {
        self.motion.is_valid()
            && (self.collides_with.is_none() || self.motion == Motion::Moves(Direction::Right))
    }

    /// The canonical English prompt for this spec; it parses back into the same spec.
    pub fn canonical_prompt(&self) -> String {
        let o = |o: &ObjectSpec| format!("{} {} {}", o.size.word(), o.color.word(), o.shape.word());
        let motion = match (self.motion, &self.collides_with) {
            (_, Some(other)) => format!("collides with a {}", o(other)),
            (Motion::Moves(d), None) => format!("moves {}", d.word()),
            (Motion::Bounces(Direction::Right), None) => "bounces from left to right".into(),
            (Motion::Bounces(_), None) => "bounces from right to left".into(),
            (Motion::Falls, None) => "falls".into(),
            (Motion::Rolls(d), None) => format!("rolls {}", d.word()),
        };
        let camera = match self.camera {
            Camera::Static => "the camera is static".to_string(),
            c => format!("the camera {}", c.word()),
        };
        format!(
            "a {} {motion} on {} while {camera}",
            o(&self.object),
            self.background.word()
        )
    }
}
