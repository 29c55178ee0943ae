//! The message log's source: what happened, from **confirmed ticks only**.
//!
//! The predicted world is re-simulated on every rollback, so its events may describe a
//! kill or a pickup that the server's frames then undo. The narrator therefore tells only
//! the events of confirmed (and checksum-verified) ticks, as the session reports them
//! (`ClientEvent::Confirmed` carries each step's events and the [`Glossary`] of the world
//! after it); it keeps the glossary of the tick before, since a step may remove what its
//! events name (a monster killed, an item picked up). The log lags the screen by the lead
//! (about half a round trip), and never shows something that did not happen. After a
//! resync it starts again from the new confirmed world.

use venture_sim::event::Event;
use venture_sim::glossary::Glossary;
use venture_sim::player::EntityId;
use venture_sim::World;

use crate::view::{LogKind, LogLine, ViewState};

/// Tells what confirmed ticks' events mean for the player in `me`.
pub struct Narrator {
    /// The names as of the last tick told.
    names: Glossary,
    me: usize,
}

impl Narrator {
    /// Starts after `confirmed`'s tick (a sync's snapshot world) for the player in `me`.
    pub fn new(confirmed: &World, me: usize) -> Narrator {
        Narrator {
            names: Glossary::of(confirmed),
            me,
        }
    }

    /// The log lines for one confirmed tick: its `events` and the `names` after it. A tick
    /// that does not follow on the last one told (not expected: a sync's names come first)
    /// is not told; the narrator goes on from it.
    pub fn confirm(&mut self, events: &[Event], names: Glossary) -> Vec<LogLine> {
        let follows_on = names.tick == self.names.tick.wrapping_add(1);
        let lines = if follows_on {
            describe(events, self.me, &self.names, &names)
        } else {
            Vec::new()
        };
        self.names = names;
        lines
    }

    /// [`confirm`](Self::confirm) into `view`'s message log.
    pub fn tell(&mut self, events: &[Event], names: Glossary, view: &mut ViewState) {
        for line in self.confirm(events, names) {
            view.push_log(line);
        }
    }
}

fn who(id: EntityId, me: usize, before: &Glossary, after: &Glossary) -> (String, bool) {
    if let Some((slot, p)) = after.player_by_id(id) {
        return if slot == me {
            ("you".into(), true)
        } else {
            (p.name.clone(), false)
        };
    }
    if let Some(name) = before.monster(id) {
        return (name.to_string(), false);
    }
    if let Some(owner) = before.ally_owner(id) {
        return (format!("{}'s ally", slot_name(after, owner, me)), false);
    }
    ("something".into(), false)
}

fn slot_name(names: &Glossary, slot: u8, me: usize) -> String {
    if slot as usize == me {
        "You".into()
    } else {
        names
            .player(slot as usize)
            .map_or_else(|| format!("player {slot}"), |p| p.name.clone())
    }
}

/// The log lines for one step's `events`, told to the player in slot `me` ("you"):
/// `before` holds the names before the step, `after` those after it (and its tick).
pub fn describe(events: &[Event], me: usize, before: &Glossary, after: &Glossary) -> Vec<LogLine> {
    let tick = after.tick;
    let my_id = after.player(me).map(|p| p.id);
    let mut out = Vec::new();
    let mut line = |kind, text: String| out.push(LogLine { tick, kind, text });
    for e in events {
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
                let my_ally = before.ally_owner(*source) == Some(me as u8);
                if my_ally {
                    let (t, _) = who(*target, me, before, after);
                    line(
                        LogKind::Good,
                        format!("Your ally hits {t} for {amount}{crit}."),
                    );
                } else if Some(*source) == my_id && Some(*target) != my_id {
                    let (t, _) = who(*target, me, before, after);
                    line(LogKind::Good, format!("You hit {t} for {amount}{crit}."));
                } else if Some(*target) == my_id && *amount > 0 {
                    if source.0 == 0 {
                        line(LogKind::Bad, format!("You take {amount} damage."));
                    } else {
                        let (s, _) = who(*source, me, before, after);
                        line(LogKind::Bad, format!("{s} hits you for {amount}{crit}."));
                    }
                }
            }
            Event::Evaded { source, target } => {
                if Some(*source) == my_id {
                    let (t, _) = who(*target, me, before, after);
                    line(LogKind::Info, format!("{t} evades your attack."));
                } else if Some(*target) == my_id {
                    let (s, _) = who(*source, me, before, after);
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
                        format!("{} summons an ally.", slot_name(after, *slot, me)),
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
                let (m, _) = who(*monster, me, before, after);
                match slot {
                    Some(s) if *s as usize == me => line(
                        LogKind::Good,
                        format!("You killed {m}: +{xp} XP, +{gold} gold."),
                    ),
                    Some(s) => line(
                        LogKind::Info,
                        format!("{} killed {m}.", slot_name(after, *s, me)),
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
                        format!("{} reached level {level}.", slot_name(after, *slot, me)),
                    );
                }
            }
            Event::Pickup { slot, item } => {
                let name = before.item(*item).unwrap_or("an item").to_string();
                if *slot as usize == me {
                    line(LogKind::Good, format!("You picked up {name}."));
                } else {
                    line(
                        LogKind::Info,
                        format!("{} picked up {name}.", slot_name(after, *slot, me)),
                    );
                }
            }
            Event::Dropped { slot, item, .. } if *slot as usize == me => {
                let name = after.item(*item).unwrap_or("an item").to_string();
                line(LogKind::Info, format!("You dropped {name}."));
            }
            Event::ItemUsed { slot, .. } if *slot as usize == me => {
                line(LogKind::Good, "You used a consumable.".into());
            }
            Event::Equipped { slot, equip } if *slot as usize == me => {
                let what = after
                    .player(me)
                    .and_then(|p| p.equipment.get(*equip as usize).cloned().flatten())
                    .unwrap_or_else(|| "it".to_string());
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
                        format!("{} died.", slot_name(after, *slot, me)),
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
                        format!("{} respawned.", slot_name(after, *slot, me)),
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
    use venture_sim::script::fight_frame;
    use venture_sim::{Command, Frame, SimConfig};

    /// The confirmed world as a session holds it: steps a frame and reports what
    /// `ClientEvent::Confirmed` carries.
    struct Confirmed(World);

    impl Confirmed {
        fn step(&mut self, frame: &Frame) -> (Vec<Event>, Glossary) {
            self.0.step(frame).unwrap();
            (self.0.events().to_vec(), Glossary::of(&self.0))
        }
    }

    #[test]
    fn joins_chat_and_leaves_are_told_from_confirmed_frames() {
        let world = World::new(&SimConfig {
            max_players: 4,
            ..SimConfig::default()
        })
        .unwrap();
        let mut n = Narrator::new(&world, 0);
        let mut session = Confirmed(world);
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
        let (events, names) = session.step(&f);
        let lines = n.confirm(&events, names);
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            texts,
            vec!["You joined as alice.", "bob joined.", "<bob> hi alice"]
        );
        let mut f = Frame::new(2);
        f.commands = vec![Command::Leave { slot: 1 }];
        let (events, names) = session.step(&f);
        assert_eq!(n.confirm(&events, names.clone())[0].text, "bob left.");
        // Not the next tick (told twice, or one skipped): not told; the narrator goes on
        // from it, so the tick after it is told again.
        assert!(n.confirm(&events, names).is_empty());
        let mut f = Frame::new(3);
        f.commands = vec![Command::Join {
            slot: 1,
            name: "carol".into(),
        }];
        let (events, names) = session.step(&f);
        assert_eq!(n.confirm(&events, names)[0].text, "carol joined.");
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
        let mut session = Confirmed(world);
        let mut f = Frame::new(1);
        f.commands = vec![Command::Join {
            slot: 0,
            name: "alice".into(),
        }];
        let (events, names) = session.step(&f);
        n.confirm(&events, names);
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
            let (events, names) = session.step(&f);
            texts.extend(n.confirm(&events, names).into_iter().map(|l| l.text));
        }
        assert!(texts[0].starts_with("A shield of "), "{texts:?}");
        assert!(texts[1].starts_with("You blink"), "{texts:?}");
        assert!(texts[2].starts_with("Your summoned ally"), "{texts:?}");
    }

    /// FNV-1a over the lines' ticks, kinds and texts: a recording of a narration.
    fn digest(lines: &[LogLine], mut h: u64) -> u64 {
        for l in lines {
            let kind = format!("{:?}", l.kind);
            for b in l
                .tick
                .to_le_bytes()
                .iter()
                .chain(kind.as_bytes())
                .chain(l.text.as_bytes())
            {
                h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
            }
        }
        h
    }

    /// The narration of four fighting bots for 3,000 ticks (joins, kills, loot, pickups,
    /// level-ups, deaths, respawns, spells), every slot's lines digested in order.
    /// Recorded from the narrator that stepped a world of its own, which this one replaced
    /// after matching it line for line (commit fc58183). A rule change (`SIM_VERSION`)
    /// changes the fight and so this digest too; a narration change must change it.
    const NARRATION_DIGEST: u64 = 0x3845_d895_043a_ad17;

    #[test]
    fn narration_from_confirmed_events_is_what_stepping_a_world_told() {
        let players = 4;
        // The gameplay tests' fight: hard monsters, and many, so deaths happen too.
        let mut world = World::new(&SimConfig {
            difficulty_permille: 6000,
            ..SimConfig::default()
        })
        .unwrap();
        assert_eq!(world.spawn_extra_monsters(40), 40);
        let mut narrators: Vec<Narrator> =
            (0..players).map(|me| Narrator::new(&world, me)).collect();
        let mut session = Confirmed(world);
        let mut told = std::collections::BTreeSet::new();
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for _ in 0..3000 {
            let frame = fight_frame(&session.0, players);
            let (events, names) = session.step(&frame);
            for narrator in &mut narrators {
                let got = narrator.confirm(&events, names.clone());
                h = digest(&got, h);
                for l in got {
                    // The line's kind of news, without its numbers and names.
                    told.insert(
                        l.text
                            .split_whitespace()
                            .take(2)
                            .collect::<Vec<_>>()
                            .join(" "),
                    );
                }
            }
        }
        assert_eq!(
            h, NARRATION_DIGEST,
            "narration digest {h:#018x}; told {told:?}"
        );
        for news in [
            "You killed",
            "You picked",
            "You hit",
            "You joined",
            "You died.",
        ] {
            assert!(
                told.contains(news),
                "the fight never told {news:?}: {told:?}"
            );
        }
    }
}
