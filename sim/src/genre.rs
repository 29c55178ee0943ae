//! The five genres. A genre picks the terrain generator by depth and themes the content
//! (monster, item and spell names; name prefixes).

use crate::gen::GeneratorKind;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Genre {
    Fantasy,
    Scifi,
    Horror,
    Cyberpunk,
    Postapoc,
}

impl Genre {
    pub const ALL: [Genre; 5] = [
        Genre::Fantasy,
        Genre::Scifi,
        Genre::Horror,
        Genre::Cyberpunk,
        Genre::Postapoc,
    ];

    /// The flag/JSON spelling.
    pub const fn id(self) -> &'static str {
        match self {
            Genre::Fantasy => "fantasy",
            Genre::Scifi => "scifi",
            Genre::Horror => "horror",
            Genre::Cyberpunk => "cyberpunk",
            Genre::Postapoc => "postapoc",
        }
    }

    /// The valid ids joined for error messages: "fantasy, scifi, horror, cyberpunk, postapoc".
    pub fn valid_list() -> String {
        Genre::ALL.map(Genre::id).join(", ")
    }

    /// Generator preference: depth 1-3 uses the first, 4-6 the second, 7-9 the third,
    /// 10 and deeper the composite.
    pub const fn preference(self) -> [GeneratorKind; 3] {
        use GeneratorKind::*;
        match self {
            Genre::Fantasy => [Bsp, Caves, Maze],
            Genre::Scifi => [Bsp, Maze, City],
            Genre::Horror => [Maze, Caves, Bsp],
            Genre::Cyberpunk => [City, Bsp, Maze],
            Genre::Postapoc => [City, Forest, Caves],
        }
    }

    pub const fn generator_for_depth(self, depth: u32) -> GeneratorKind {
        let p = self.preference();
        match depth {
            0..=3 => p[0],
            4..=6 => p[1],
            7..=9 => p[2],
            _ => GeneratorKind::Composite,
        }
    }
}

impl fmt::Display for Genre {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// An unknown genre name; its message lists the valid ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown genre {given:?}: valid genres are {}", Genre::valid_list())]
pub struct UnknownGenre {
    pub given: String,
}

impl FromStr for Genre {
    type Err = UnknownGenre;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Genre::ALL
            .into_iter()
            .find(|g| g.id().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownGenre {
                given: s.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_errors() {
        assert_eq!("SciFi".parse::<Genre>(), Ok(Genre::Scifi));
        let e = "western".parse::<Genre>().unwrap_err().to_string();
        assert!(
            e.contains("fantasy, scifi, horror, cyberpunk, postapoc"),
            "{e}"
        );
    }

    #[test]
    fn depth_picks_generator() {
        assert_eq!(Genre::Fantasy.generator_for_depth(1), GeneratorKind::Bsp);
        assert_eq!(Genre::Fantasy.generator_for_depth(5), GeneratorKind::Caves);
        assert_eq!(Genre::Fantasy.generator_for_depth(9), GeneratorKind::Maze);
        assert_eq!(
            Genre::Fantasy.generator_for_depth(10),
            GeneratorKind::Composite
        );
    }
}
