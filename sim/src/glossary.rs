//! What the ids in a step's events name, as of one tick: players (name, equipment),
//! monsters, ground items and allies. Events name entities by id; a step may remove the
//! entity (a monster killed, an item picked up), so whoever tells events to people keeps
//! the glossary from before the step beside the one from after it. It is output, never
//! read by the rules, and much cheaper than a world to keep or send.

use crate::player::EntityId;
use crate::world::World;

/// One player's names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlayerNames {
    pub id: EntityId,
    pub name: String,
    /// Names of what is worn, by equipment slot.
    pub equipment: Vec<Option<String>>,
}

/// The names in one world. See the module docs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Glossary {
    /// The world's tick.
    pub tick: u64,
    /// By slot.
    pub players: Vec<Option<PlayerNames>>,
    pub monsters: Vec<(EntityId, &'static str)>,
    pub items: Vec<(EntityId, String)>,
    /// Summoned allies and their summoners' slots.
    pub allies: Vec<(EntityId, u8)>,
}

impl Glossary {
    /// The names in `world` now.
    pub fn of(world: &World) -> Glossary {
        let genre = world.config().genre;
        let slots = world.config().max_players as usize;
        Glossary {
            tick: world.tick(),
            players: (0..slots)
                .map(|s| {
                    world.player(s).map(|p| PlayerNames {
                        id: p.id,
                        name: p.name.clone(),
                        equipment: p
                            .equipment
                            .iter()
                            .map(|e| e.as_ref().map(|i| i.name.clone()))
                            .collect(),
                    })
                })
                .collect(),
            monsters: world
                .monsters()
                .iter()
                .map(|m| (m.id, m.template(genre).name))
                .collect(),
            items: world
                .ground_items()
                .iter()
                .map(|g| (g.id, g.item.name.clone()))
                .collect(),
            allies: world.allies().iter().map(|a| (a.id, a.owner)).collect(),
        }
    }

    pub fn player(&self, slot: usize) -> Option<&PlayerNames> {
        self.players.get(slot).and_then(Option::as_ref)
    }

    /// The player with entity `id` and its slot.
    pub fn player_by_id(&self, id: EntityId) -> Option<(usize, &PlayerNames)> {
        self.players
            .iter()
            .enumerate()
            .find_map(|(s, p)| p.as_ref().filter(|p| p.id == id).map(|p| (s, p)))
    }

    pub fn monster(&self, id: EntityId) -> Option<&'static str> {
        self.monsters
            .iter()
            .find(|(m, _)| *m == id)
            .map(|(_, n)| *n)
    }

    pub fn item(&self, id: EntityId) -> Option<&str> {
        self.items
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, n)| n.as_str())
    }

    /// The slot of the player who summoned ally `id`.
    pub fn ally_owner(&self, id: EntityId) -> Option<u8> {
        self.allies.iter().find(|(a, _)| *a == id).map(|(_, o)| *o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Command, Frame, SimConfig};

    #[test]
    fn names_players_monsters_and_items_of_the_world() {
        let mut world = World::new(&SimConfig {
            max_players: 2,
            ..SimConfig::default()
        })
        .unwrap();
        let mut f = Frame::new(1);
        f.commands = vec![Command::Join {
            slot: 1,
            name: "bob".into(),
        }];
        world.step(&f).unwrap();
        let g = Glossary::of(&world);
        assert_eq!(g.tick, 1);
        assert!(g.player(0).is_none());
        let bob = world.player(1).unwrap();
        assert_eq!(g.player(1).unwrap().name, "bob");
        assert_eq!(g.player_by_id(bob.id).map(|(s, _)| s), Some(1));
        assert_eq!(g.player(1).unwrap().equipment.len(), bob.equipment.len());
        let m = &world.monsters()[0];
        assert_eq!(g.monster(m.id), Some(m.template(world.config().genre).name));
        assert_eq!(g.monster(EntityId(u32::MAX)), None);
        for gi in world.ground_items() {
            assert_eq!(g.item(gi.id), Some(gi.item.name.as_str()));
        }
    }
}
