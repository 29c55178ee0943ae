//! The message log's source: what happened, from **confirmed ticks only**.
//!
//! The predicted world is re-simulated on every rollback, so its events may describe a
//! kill or a pickup that the server's frames then undo. The narrator therefore keeps its
//! own copy of the confirmed world and steps it with each confirmed (and checksum-verified)
//! frame the session reports; only the events of those steps become log lines. The log
//! lags the screen by the lead (about half a round trip), and never shows something that
//! did not happen. After a resync it starts again from the new confirmed world.

use venture_sim::event::Event;
use venture_sim::player::EntityId;
use venture_sim::{Frame, World};

use crate::names::item_name;
use crate::view::{LogKind, LogLine};

/// Steps a confirmed world and tells what its events mean for the player in `me`.
pub struct Narrator {
    world: World,
    me: usize,
}

/// Names of the entities a step may remove (monsters killed, items picked up), taken
/// before the step: [`Before::of`] the world, step it, then [`describe`] it. The narrator
/// does that on its own confirmed world; the replay viewer on the world it plays.
pub struct Before {
    monsters: Vec<(EntityId, &'static str)>,
    items: Vec<(EntityId, String)>,
    /// Summoned allies and their summoners' slots (an ally may vanish in the step).
    allies: Vec<(EntityId, u8)>,
}

impl Before {
    /// The names in `world` now, before it is stepped.
    pub fn of(world: &World) -> Before {
        let genre = world.config().genre;
        Before {
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
}

impl Narrator {
    /// Starts from `confirmed` (the session's confirmed world) for the player in `me`.
    pub fn new(confirmed: &World, me: usize) -> Narrator {
        Narrator {
            world: confirmed.clone(),
            me,
        }
    }

    #[allow(dead_code)] // the reference narrator, kept only for the comparison test
    pub fn tick(&self) -> u64 {
        self.world.tick()
    }

    /// Steps one confirmed frame; returns the log lines for it. A frame that does not
    /// follow on (never, with the session's ordering) returns None: start a new narrator.
    pub fn confirm(&mut self, frame: &Frame) -> Option<Vec<LogLine>> {
        let before = Before::of(&self.world);
        // Names of leavers are gone after the step too; the event carries them.
        self.world.step(frame).ok()?;
        Some(describe(&self.world, self.me, &before))
    }
}

fn who(world: &World, id: EntityId, me: usize, before: &Before) -> (String, bool) {
    if let Some((slot, p)) = world.players().find(|(_, p)| p.id == id) {
        return if slot == me {
            ("you".into(), true)
        } else {
            (p.name.clone(), false)
        };
    }
    if let Some((_, name)) = before.monsters.iter().find(|(m, _)| *m == id) {
        return ((*name).to_string(), false);
    }
    if let Some((_, owner)) = before.allies.iter().find(|(a, _)| *a == id) {
        return (format!("{}'s ally", slot_name(world, *owner, me)), false);
    }
    ("something".into(), false)
}

fn slot_name(world: &World, slot: u8, me: usize) -> String {
    if slot as usize == me {
        "You".into()
    } else {
        world
            .player(slot as usize)
            .map_or_else(|| format!("player {slot}"), |p| p.name.clone())
    }
}

/// The log lines for the step that just brought `world` to its tick, told to the player in
/// slot `me` ("you"); `before` holds the names taken before that step.
pub fn describe(world: &World, me: usize, before: &Before) -> Vec<LogLine> {
    let tick = world.tick();
    let my_id = world.player(me).map(|p| p.id);
    let mut out = Vec::new();
    let mut line = |kind, text: String| out.push(LogLine { tick, kind, text });
    for e in world.events() {
        match e {
            Event::PlayerJoined { slot, name } => {
                if *slot as usize == me {
                    line(LogKind::Info, format!("You joined as {name}."));
                } else {
                    line(LogKind::Info, format!("{name} joined."));
                }
            }
            Event::PlayerLeft { name, .. } => line(LogKind::Info, format!("{name} left.")),
            Event::Damage {
                source,
                target,
                amount,
                crit,
            } => {
                let crit = if *crit { " (critical)" } else { "" };
                let my_ally = before
                    .allies
                    .iter()
                    .any(|(a, owner)| a == source && *owner as usize == me);
                if my_ally {
                    let (t, _) = who(world, *target, me, before);
                    line(
                        LogKind::Good,
                        format!("Your ally hits {t} for {amount}{crit}."),
                    );
                } else if Some(*source) == my_id && Some(*target) != my_id {
                    let (t, _) = who(world, *target, me, before);
                    line(LogKind::Good, format!("You hit {t} for {amount}{crit}."));
                } else if Some(*target) == my_id && *amount > 0 {
                    if source.0 == 0 {
                        line(LogKind::Bad, format!("You take {amount} damage."));
                    } else {
                        let (s, _) = who(world, *source, me, before);
                        line(LogKind::Bad, format!("{s} hits you for {amount}{crit}."));
                    }
                }
            }
            Event::Evaded { source, target } => {
                if Some(*source) == my_id {
                    let (t, _) = who(world, *target, me, before);
                    line(LogKind::Info, format!("{t} evades your attack."));
                } else if Some(*target) == my_id {
                    let (s, _) = who(world, *source, me, before);
                    line(LogKind::Good, format!("You evade {s}."));
                }
            }
            Event::Healed { target, amount } if Some(*target) == my_id && *amount > 0 => {
                line(LogKind::Good, format!("You heal {amount} HP."));
            }
            Event::Shielded { slot, amount } if *slot as usize == me => {
                line(
                    LogKind::Good,
                    format!("A shield of {amount} points surrounds you: hits take it first."),
                );
            }
            Event::Absorbed { target, amount } if Some(*target) == my_id => {
                line(LogKind::Good, format!("Your shield absorbs {amount}."));
            }
            Event::ShieldGone { slot } if *slot as usize == me => {
                line(LogKind::Info, "Your shield is gone.".into());
            }
            Event::Blinked { slot, from, to } if *slot as usize == me => {
                let tiles = venture_sim::units::isqrt(from.dist_sq(*to)) / venture_sim::SUB as i64;
                if tiles == 0 {
                    line(LogKind::Info, "You blink, but a wall is in the way.".into());
                } else {
                    line(LogKind::Good, format!("You blink {tiles} tiles ahead."));
                }
            }
            Event::Summoned { slot, .. } => {
                if *slot as usize == me {
                    line(
                        LogKind::Good,
                        "Your summoned ally (&) appears: it follows you and fights for a while."
                            .into(),
                    );
                } else {
                    line(
                        LogKind::Info,
                        format!("{} summons an ally.", slot_name(world, *slot, me)),
                    );
                }
            }
            Event::AllyGone { owner, .. } if *owner as usize == me => {
                line(LogKind::Info, "Your ally fades away.".into());
            }
            Event::Kill {
                monster,
                slot,
                xp,
                gold,
            } => {
                let (m, _) = who(world, *monster, me, before);
                match slot {
                    Some(s) if *s as usize == me => line(
                        LogKind::Good,
                        format!("You killed {m}: +{xp} XP, +{gold} gold."),
                    ),
                    Some(s) => line(
                        LogKind::Info,
                        format!("{} killed {m}.", slot_name(world, *s, me)),
                    ),
                    None => line(LogKind::Info, format!("{m} died.")),
                }
            }
            Event::LevelUp { slot, level } => {
                if *slot as usize == me {
                    line(LogKind::Great, format!("You reached level {level}!"));
                } else {
                    line(
                        LogKind::Info,
                        format!("{} reached level {level}.", slot_name(world, *slot, me)),
                    );
                }
            }
            Event::Pickup { slot, item } => {
                let name = before
                    .items
                    .iter()
                    .find(|(id, _)| id == item)
                    .map_or_else(|| "an item".to_string(), |(_, n)| n.clone());
                if *slot as usize == me {
                    line(LogKind::Good, format!("You picked up {name}."));
                } else {
                    line(
                        LogKind::Info,
                        format!("{} picked up {name}.", slot_name(world, *slot, me)),
                    );
                }
            }
            Event::Dropped { slot, item, .. } if *slot as usize == me => {
                let name = item_name(world, *item);
                line(LogKind::Info, format!("You dropped {name}."));
            }
            Event::ItemUsed { slot, .. } if *slot as usize == me => {
                line(LogKind::Good, "You used a consumable.".into());
            }
            Event::Equipped { slot, equip } if *slot as usize == me => {
                let what = world
                    .player(me)
                    .and_then(|p| p.equipment.get(*equip as usize).cloned().flatten())
                    .map_or_else(|| "it".to_string(), |i| i.name);
                line(LogKind::Info, format!("You equipped {what}."));
            }
            Event::Unequipped { slot, .. } if *slot as usize == me => {
                line(LogKind::Info, "You unequipped an item.".into());
            }
            Event::Death { slot } => {
                if *slot as usize == me {
                    line(
                        LogKind::Bad,
                        "You died. You will respawn at the start.".into(),
                    );
                } else {
                    line(
                        LogKind::Info,
                        format!("{} died.", slot_name(world, *slot, me)),
                    );
                }
            }
            Event::Respawn { slot } => {
                if *slot as usize == me {
                    line(
                        LogKind::Info,
                        "You respawned (lost 10% of your gold).".into(),
                    );
                } else {
                    line(
                        LogKind::Info,
                        format!("{} respawned.", slot_name(world, *slot, me)),
                    );
                }
            }
            Event::Descend { depth } => {
                line(
                    LogKind::Great,
                    format!("The party descends to depth {depth}."),
                );
            }
            Event::Chat { name, text, .. } => line(LogKind::Chat, format!("<{name}> {text}")),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use venture_sim::{Command, SimConfig};

    #[test]
    fn joins_chat_and_leaves_are_told_from_confirmed_frames() {
        let world = World::new(&SimConfig {
            max_players: 4,
            ..SimConfig::default()
        })
        .unwrap();
        let mut n = Narrator::new(&world, 0);
        let mut f = Frame::new(1);
        f.commands = vec![
            Command::Join {
                slot: 0,
                name: "alice".into(),
            },
            Command::Join {
                slot: 1,
                name: "bob".into(),
            },
            Command::Chat {
                slot: 1,
                text: "hi alice".into(),
            },
        ];
        let lines = n.confirm(&f).unwrap();
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            texts,
            vec!["You joined as alice.", "bob joined.", "<bob> hi alice"]
        );
        let mut f = Frame::new(2);
        f.commands = vec![Command::Leave { slot: 1 }];
        assert_eq!(n.confirm(&f).unwrap()[0].text, "bob left.");
        // Out of order: refused, so the caller restarts the narrator.
        assert!(n.confirm(&Frame::new(9)).is_none());
    }

    /// The three spell kinds that used to do nothing each tell the player what they did.
    #[test]
    fn ward_blink_and_summon_are_told() {
        use venture_sim::input::{buttons, PlayerInput};
        let world = World::new(&SimConfig {
            max_players: 1,
            ..SimConfig::default()
        })
        .unwrap();
        let mut n = Narrator::new(&world, 0);
        let mut f = Frame::new(1);
        f.commands = vec![Command::Join {
            slot: 0,
            name: "alice".into(),
        }];
        n.confirm(&f).unwrap();
        let mut texts = Vec::new();
        for (i, spell) in [5u8, 6, 7].into_iter().enumerate() {
            let mut f = Frame::new(2 + i as u64);
            f.set_input(
                0,
                PlayerInput {
                    buttons: buttons::CAST,
                    slot: spell,
                    ..PlayerInput::IDLE
                },
            );
            texts.extend(n.confirm(&f).unwrap().into_iter().map(|l| l.text));
        }
        assert!(texts[0].starts_with("A shield of "), "{texts:?}");
        assert!(texts[1].starts_with("You blink"), "{texts:?}");
        assert!(texts[2].starts_with("Your summoned ally"), "{texts:?}");
    }
}
