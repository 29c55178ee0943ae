//! Descending: the party check at the exit stairs, the move one level deeper, and the
//! level generation from (seed, depth).

use crate::event::Event;
use crate::gen::{self, Level};
use crate::nav::NavGoals;
use crate::rng::{Purpose, Stream};
use crate::world::World;

use super::population::spawn_position;

/// GAME_RULES.md: +0.1 difficulty per level descended (permille).
pub const DIFFICULTY_PER_DEPTH: u32 = 100;

impl World {
    pub(super) fn check_descend(&mut self) {
        let st = &self.state;
        let (ex, ey) = st.level.exit;
        let mut any = false;
        for p in st.players.iter().flatten().filter(|p| p.alive()) {
            let (x, y) = p.pos.tile();
            if x.abs_diff(ex) > 1 || y.abs_diff(ey) > 1 {
                return;
            }
            any = true;
        }
        if any && st.config.depth < crate::config::MAX_DEPTH {
            self.descend();
        }
    }

    /// Goes one level deeper: see the module docs.
    pub(crate) fn descend(&mut self) {
        let st = &mut self.state;
        st.config.depth = st.config.depth.saturating_add(1);
        st.config.difficulty_permille = st
            .config
            .difficulty_permille
            .saturating_add(DIFFICULTY_PER_DEPTH)
            .min(crate::config::MAX_DIFFICULTY_PERMILLE);
        st.level = generate_level(&st.config);
        st.monsters.clear();
        st.projectiles.clear();
        st.ground_items.clear();
        st.allies.clear();
        st.nav = NavGoals::default();
        for (slot, p) in st.players.iter_mut().enumerate() {
            if let Some(p) = p {
                p.pos = spawn_position(&st.level, slot);
            }
        }
        let depth = st.config.depth;
        // The cached flow field belongs to the old map: drop it (goals alone could match).
        self.flow = crate::nav::FlowField::default();
        self.populate();
        self.events.push(Event::Descend { depth });
    }
}

/// The level for a config: terrain from (seed, depth) with the genre's generator.
pub(crate) fn generate_level(config: &crate::config::SimConfig) -> Level {
    let mut terrain = Stream::new(
        config.seed ^ (config.depth as u64).rotate_left(32),
        Purpose::Terrain,
    );
    gen::generate(
        config.generator_kind(),
        &mut terrain,
        config.width,
        config.height,
    )
}
