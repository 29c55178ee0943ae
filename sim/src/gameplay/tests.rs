//! Tests of the gameplay rules, driven through `World::step`.

use super::*;
use crate::config::SimConfig;
use crate::content::spellbook;
use crate::content::{roll_monster, Item, ItemKind, Rarity};
use crate::entity::{GroundItem, Projectile};
use crate::genre::Genre;
use crate::input::Command;
use crate::input::{buttons, PlayerInput};
use crate::map::Tile;
use crate::map::{RoomKind, TileMap};
use crate::player::{Player, INVENTORY_SLOTS, MAX_MANA};
use crate::rng::{Purpose, Stream};
use crate::status::{self, StatusKind};
use crate::units::{px, Vec2};

const G: Genre = Genre::Fantasy;

/// An open 60x60 room, one player (slot 0) at tile (10, 10), no monsters.
fn arena(tick_rate: u32) -> World {
    let mut w = World::new(&SimConfig {
        max_players: 2,
        width: 60,
        height: 60,
        tick_rate,
        ..SimConfig::default()
    })
    .unwrap();
    let mut map = TileMap::new(60, 60, Tile::Wall);
    for y in 1..59 {
        for x in 1..59 {
            map.set(x, y, Tile::Floor);
        }
    }
    w.state.level.map = map;
    w.state.level.spawn = (10, 10);
    w.state.level.exit = (50, 50);
    w.state.monsters.clear();
    w.state.ground_items.clear();
    let mut f = Frame::new(1);
    f.commands.push(Command::Join {
        slot: 0,
        name: "hero".into(),
    });
    w.step(&f).unwrap();
    w
}

fn add_monster(w: &mut World, tile: (i32, i32)) -> EntityId {
    let mut rng = Stream::new(77, Purpose::Spawn);
    // Template 0 of fantasy is the goblin.
    let mut spec = roll_monster(&mut rng, w.state.config.genre, 1, 500, false);
    spec.template = 0;
    spec.rarity = Rarity::Common;
    let id = alloc(&mut w.state.next_entity);
    let mut m = Monster::from_spec(id, &spec, Vec2::tile_centre(tile.0, tile.1));
    m.hp = m.max_hp(G);
    w.state.monsters.push(m);
    id
}

fn monster(w: &World, id: EntityId) -> Option<&Monster> {
    w.state.monsters.iter().find(|m| m.id == id)
}

fn step(w: &mut World, input: PlayerInput) {
    let mut f = Frame::new(w.tick() + 1);
    f.set_input(0, input);
    w.step(&f).unwrap();
}

fn hero(w: &World) -> &Player {
    w.state.players[0].as_ref().unwrap()
}

fn hero_mut(w: &mut World) -> &mut Player {
    w.state.players[0].as_mut().unwrap()
}

fn press(b: u8, slot: u8, aim: (i8, i8)) -> PlayerInput {
    PlayerInput {
        buttons: b,
        slot,
        aim_x: aim.0,
        aim_y: aim.1,
        ..PlayerInput::IDLE
    }
}

fn item(kind: ItemKind) -> Item {
    Item {
        name: "test".into(),
        kind,
        rarity: Rarity::Common,
        depth: 1,
        damage: if kind == ItemKind::Weapon { 12 } else { 0 },
        attack: 0,
        defense: if kind == ItemKind::Armor { 4 } else { 0 },
        magic_power: 0,
        magic_defense: 0,
        heal_hp: if kind == ItemKind::Consumable { 35 } else { 0 },
        restore_mana: 0,
        weight: 2,
        value: 10,
    }
}

#[test]
fn levels_are_populated_per_room() {
    let w = World::new(&SimConfig::default()).unwrap();
    let level = &w.state.level;
    assert!(!w.state.monsters.is_empty());
    assert!(w.state.monsters.windows(2).all(|p| p[0].id < p[1].id));
    for m in &w.state.monsters {
        let (x, y) = m.pos.tile();
        let room = level.rooms.iter().find(|r| r.rect.contains(x, y)).unwrap();
        assert_ne!(room.kind, RoomKind::Spawn, "monster in the spawn room");
        assert!(level.map.is_walkable(x, y));
    }
    if level.rooms.iter().any(|r| r.kind == RoomKind::Boss) {
        assert!(w
            .state
            .monsters
            .iter()
            .any(|m| m.template(w.state.config.genre).is_boss));
    }
    let treasure = level
        .rooms
        .iter()
        .filter(|r| r.kind == RoomKind::Treasure)
        .count();
    assert!(w.state.ground_items.len() >= treasure);
    assert!(w.state.monsters.len() <= 3 * level.rooms.len());
}

#[test]
fn melee_hits_in_front_with_cooldown() {
    let mut w = arena(20);
    let front = add_monster(&mut w, (10, 11)); // 32 px below (facing is down)
    let behind = add_monster(&mut w, (10, 9));
    let hp0 = monster(&w, front).unwrap().hp;
    let swings = |w: &World| {
        w.events()
            .iter()
            .filter(|e| matches!(e, Event::Damage { target, .. } | Event::Evaded { target, .. } if *target == front))
            .count()
    };
    step(&mut w, press(buttons::ATTACK, 0, (0, 100)));
    assert_eq!(swings(&w), 1);
    assert_eq!(hero(&w).attack_cd, 10, "0.5 s at 20 Hz");
    let mut total = 1;
    for _ in 0..9 {
        step(&mut w, press(buttons::ATTACK, 0, (0, 100)));
        total += swings(&w);
    }
    assert_eq!(total, 1, "cooldown holds for 0.5 s");
    step(&mut w, press(buttons::ATTACK, 0, (0, 100)));
    assert_eq!(swings(&w), 1);
    assert_eq!(
        monster(&w, behind).unwrap().hp,
        monster(&w, behind).unwrap().max_hp(G)
    );
    let hit = monster(&w, front).map_or(0, |m| m.hp);
    assert!(hit < hp0, "front monster took damage");
}

#[test]
fn kills_give_xp_gold_and_levels() {
    let mut w = arena(20);
    let id = add_monster(&mut w, (10, 11));
    w.state.monsters[0].hp = 1;
    hero_mut(&mut w).xp = 95; // the goblin gives 10
    let gold = hero(&w).gold;
    while monster(&w, id).is_some() {
        step(&mut w, press(buttons::ATTACK, 0, (0, 100)));
        assert!(w.tick() < 200);
    }
    let p = hero(&w);
    assert_eq!((p.level, p.xp, p.skill_points), (2, 5, 1));
    assert_eq!(p.gold, gold + 6);
    assert_eq!(p.stats().max_hp, 110);
    assert_eq!(p.hp, 110, "full heal on level-up");
}

#[test]
fn ai_detects_chases_attacks_and_returns() {
    let mut w = arena(20);
    let id = add_monster(&mut w, (15, 10)); // 160 px away: inside detection
    for _ in 0..10 {
        step(&mut w, PlayerInput::IDLE);
    }
    assert!(matches!(
        monster(&w, id).unwrap().ai,
        AiState::Detect | AiState::Chase
    ));
    let hp = hero(&w).hp;
    for _ in 0..100 {
        step(&mut w, PlayerInput::IDLE);
    }
    let m = monster(&w, id).unwrap();
    assert!(m.pos.within(hero(&w).pos, px(64)), "{m:?}");
    assert!(hero(&w).hp < hp, "the monster attacked");
    // Far from home: it gives up and returns.
    let m = w.state.monsters.iter_mut().find(|m| m.id == id).unwrap();
    m.home = Vec2::tile_centre(40, 40);
    for _ in 0..10 {
        step(&mut w, PlayerInput::IDLE);
    }
    assert_eq!(monster(&w, id).unwrap().ai, AiState::Return);
}

#[test]
fn wounded_monsters_flee() {
    let mut w = arena(20);
    let id = add_monster(&mut w, (12, 10));
    for _ in 0..25 {
        step(&mut w, PlayerInput::IDLE);
    }
    let m = w.state.monsters.iter_mut().find(|m| m.id == id).unwrap();
    m.hp = (m.max_hp(G) / 10).max(1);
    let d0 = m.pos.dist_sq(hero(&w).pos);
    for _ in 0..20 {
        step(&mut w, PlayerInput::IDLE);
    }
    let m = monster(&w, id).unwrap();
    assert_eq!(m.ai, AiState::Flee);
    assert!(m.pos.dist_sq(hero(&w).pos) > d0);
}

#[test]
fn spells_cost_mana_and_work() {
    let mut w = arena(20);
    // Bolt at a monster 5 tiles right: projectile, damage, burning.
    let id = add_monster(&mut w, (15, 10));
    w.state.monsters[0].ai = AiState::Return; // not walking into the bolt by itself
    let cost = spellbook(w.state.config.genre, 0).unwrap().mana_cost;
    step(&mut w, press(buttons::CAST, 0, (127, 0)));
    assert_eq!(hero(&w).mana, MAX_MANA - cost);
    assert_eq!(w.state.projectiles.len(), 1);
    let mut hit = false;
    for _ in 0..20 {
        step(&mut w, PlayerInput::IDLE);
        hit |= w.events().iter().any(|e| matches!(e, Event::Damage { target, .. } | Event::Evaded { target, .. } if *target == id));
    }
    assert!(hit);
    assert!(w.state.projectiles.is_empty());
    // Heal.
    hero_mut(&mut w).hp = 40;
    step(&mut w, press(buttons::CAST, 1, (0, 0)));
    assert!(hero(&w).hp >= 40 + 30 - 1);
    // Buff.
    step(&mut w, press(buttons::CAST, 2, (0, 0)));
    assert!(hero(&w)
        .statuses
        .iter()
        .any(|s| s.kind == StatusKind::Strength));
    assert!(hero(&w).stats().attack > crate::player::base_stats(1).attack);
}

#[test]
fn explosions_fall_off_with_distance() {
    let mut w = arena(20);
    let near = add_monster(&mut w, (20, 10));
    let far = add_monster(&mut w, (20, 12));
    for m in &mut w.state.monsters {
        m.ai = AiState::Return;
        m.level = 100;
        m.hp = m.max_hp(G);
    }
    let full = w.state.monsters[0].hp;
    let id = alloc(&mut w.state.next_entity);
    w.state.projectiles.push(Projectile {
        id,
        owner: 0,
        pos: Vec2::tile_centre(19, 10),
        vel: Vec2::new(100, 0),
        ticks_left: 1,
        power: 100,
        magic_power: 0,
        element: 0,
        radius: px(96),
        status: None,
    });
    step(&mut w, PlayerInput::IDLE);
    let dmg = |id| full - monster(&w, id).unwrap().hp;
    assert!(dmg(near) > dmg(far), "{} vs {}", dmg(near), dmg(far));
    assert!(dmg(far) > 0);
}

#[test]
fn mana_regenerates_exactly_at_any_rate() {
    for rate in [20, 60, 7] {
        let mut w = arena(rate);
        hero_mut(&mut w).mana = 0;
        for _ in 0..rate * 4 {
            step(&mut w, PlayerInput::IDLE);
        }
        assert_eq!(hero(&w).mana, 20, "rate {rate}");
    }
}

#[test]
fn status_effects_tick_on_players_and_monsters() {
    let mut w = arena(20);
    let id = add_monster(&mut w, (30, 30));
    status::apply(&mut w.state.monsters[0].statuses, StatusKind::Poison, 3, 40);
    status::apply(&mut hero_mut(&mut w).statuses, StatusKind::Burning, 2, 40);
    let (mhp, php) = (monster(&w, id).unwrap().hp, hero(&w).hp);
    for _ in 0..40 {
        step(&mut w, PlayerInput::IDLE);
    }
    assert_eq!(monster(&w, id).unwrap().hp, mhp - 6);
    assert_eq!(hero(&w).hp, php - 4);
    assert!(hero(&w).statuses.is_empty());
}

#[test]
fn pickup_use_equip_and_unequip() {
    let mut w = arena(20);
    let pos = hero(&w).pos;
    for kind in [ItemKind::Consumable, ItemKind::Weapon] {
        let id = alloc(&mut w.state.next_entity);
        w.state.ground_items.push(GroundItem {
            id,
            pos,
            item: item(kind),
        });
    }
    step(&mut w, PlayerInput::IDLE);
    assert_eq!(hero(&w).inventory.len(), 2);
    assert!(w.state.ground_items.is_empty());
    hero_mut(&mut w).hp = 50;
    step(&mut w, press(buttons::USE_ITEM, 0, (0, 0)));
    assert_eq!(hero(&w).hp, 85);
    assert_eq!(hero(&w).inventory.len(), 1);
    // Held button: no second use (edge-triggered).
    step(&mut w, press(buttons::USE_ITEM, 0, (0, 0)));
    step(&mut w, PlayerInput::IDLE);
    step(&mut w, press(buttons::INTERACT, 0, (0, 0)));
    assert_eq!(hero(&w).weapon_damage(), 12);
    assert!(hero(&w).inventory.is_empty());
    step(&mut w, PlayerInput::IDLE);
    step(&mut w, press(buttons::INTERACT, UNEQUIP_BASE, (0, 0)));
    assert_eq!(hero(&w).weapon_damage(), 0);
    assert_eq!(hero(&w).inventory.len(), 1);
}

#[test]
fn drop_lands_in_front_and_interact_picks_it_up_again() {
    let mut w = arena(20);
    let pos = hero(&w).pos;
    hero_mut(&mut w).inventory = vec![item(ItemKind::Weapon), item(ItemKind::Armor)];
    step(&mut w, press(buttons::DROP, 1, (127, 0)));
    assert_eq!(hero(&w).inventory.len(), 1);
    assert_eq!(hero(&w).inventory[0].kind, ItemKind::Weapon);
    assert_eq!(w.state.ground_items.len(), 1);
    let g = &w.state.ground_items[0];
    assert_eq!(g.item.kind, ItemKind::Armor);
    assert_eq!((g.pos.x - pos.x, g.pos.y - pos.y), (DROP_DISTANCE, 0));
    assert!(w.events().iter().any(|e| matches!(
        e,
        Event::Dropped {
            slot: 0,
            index: 1,
            ..
        }
    )));
    // Standing still does not take it back; the drop is edge-triggered.
    for _ in 0..5 {
        step(&mut w, press(buttons::DROP, 0, (127, 0)));
    }
    assert_eq!(w.state.ground_items.len(), 1);
    assert_eq!(hero(&w).inventory.len(), 1);
    step(&mut w, PlayerInput::IDLE);
    step(
        &mut w,
        press(buttons::INTERACT, crate::input::PICK_UP_SLOT, (0, 0)),
    );
    assert!(w.state.ground_items.is_empty());
    assert_eq!(hero(&w).inventory.len(), 2);
    // Out-of-range slots and blocked directions drop nothing.
    step(&mut w, PlayerInput::IDLE);
    step(&mut w, press(buttons::DROP, 7, (127, 0)));
    assert_eq!(hero(&w).inventory.len(), 2);
}

#[test]
fn chat_reaches_the_events_and_bad_lines_are_ignored() {
    let mut w = arena(20);
    let mut f = Frame::new(w.tick() + 1);
    f.commands = vec![
        Command::Chat {
            slot: 0,
            text: "hello".into(),
        },
        Command::Chat {
            slot: 0,
            text: "esc \u{1b}[2J".into(),
        },
        Command::Chat {
            slot: 1,
            text: "nobody".into(),
        },
    ];
    let before = w.checksum();
    w.step(&f).unwrap();
    let ev = w.events();
    assert!(ev.contains(&Event::Chat {
        slot: 0,
        name: hero(&w).name.clone(),
        text: "hello".into()
    }));
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, Event::CommandIgnored { .. }))
            .count(),
        2
    );
    // Chat is not state: the same step without it gives the same checksum.
    let mut w2 = arena(20);
    assert_eq!(w2.checksum(), before);
    w2.step(&Frame::new(w2.tick() + 1)).unwrap();
    assert_eq!(w2.checksum(), w.checksum());
}

#[test]
fn full_inventory_leaves_items_on_the_ground() {
    let mut w = arena(20);
    hero_mut(&mut w).inventory = vec![item(ItemKind::Consumable); INVENTORY_SLOTS];
    let id = alloc(&mut w.state.next_entity);
    let pos = hero(&w).pos;
    w.state.ground_items.push(GroundItem {
        id,
        pos,
        item: item(ItemKind::Armor),
    });
    step(&mut w, PlayerInput::IDLE);
    assert_eq!(w.state.ground_items.len(), 1);
    assert_eq!(hero(&w).inventory.len(), INVENTORY_SLOTS);
}

#[test]
fn dead_players_respawn_at_spawn() {
    let mut w = arena(20);
    hero_mut(&mut w).hp = 1;
    hero_mut(&mut w).pos = Vec2::tile_centre(30, 30);
    status::apply(&mut hero_mut(&mut w).statuses, StatusKind::Poison, 5, 100);
    let mut died = false;
    for _ in 0..20 {
        step(&mut w, PlayerInput::IDLE);
        died |= w.events().contains(&Event::Death { slot: 0 });
    }
    assert!(died);
    assert!(!hero(&w).alive());
    let mut respawned = false;
    for _ in 0..60 {
        step(&mut w, PlayerInput::IDLE);
        respawned |= w.events().contains(&Event::Respawn { slot: 0 });
    }
    assert!(respawned);
    let p = hero(&w);
    assert!(p.alive());
    assert_eq!(p.hp, p.stats().max_hp);
    assert_eq!(p.gold, 90, "10% of the gold lost");
    assert_eq!(p.pos, Vec2::tile_centre(10, 10));
}

#[test]
fn cleared_rooms_stay_cleared() {
    let mut w = World::new(&SimConfig::default()).unwrap();
    w.state.monsters.clear();
    for _ in 0..2000 {
        step(&mut w, PlayerInput::IDLE);
    }
    assert!(w.state.monsters.is_empty());
}

#[test]
fn standing_on_the_exit_descends() {
    let mut w = World::new(&SimConfig::default()).unwrap();
    let mut f = Frame::new(1);
    f.commands.push(Command::Join {
        slot: 0,
        name: "a".into(),
    });
    w.step(&f).unwrap();
    let old_map = w.state.level.map.clone();
    let (ex, ey) = w.state.level.exit;
    w.state.players[0].as_mut().unwrap().pos = Vec2::tile_centre(ex, ey);
    step(&mut w, PlayerInput::IDLE);
    assert!(w.events().contains(&Event::Descend { depth: 2 }));
    assert_eq!(w.depth(), 2);
    assert_eq!(w.state.config.difficulty_permille, 600);
    assert_ne!(w.state.level.map, old_map);
    assert!(!w.state.monsters.is_empty());
    assert_eq!(
        hero(&w).pos,
        spawn_position(&w.state.level, 0),
        "placed at the new spawn"
    );
    assert!(w.state.monsters.iter().all(|m| m.level >= 1));
    let mut back = World::restore(&w.snapshot()).unwrap();
    assert_eq!(back, w);
    // The restored world (fresh flow-field cache) and the original (whose cache was
    // built on the old map) keep stepping identically.
    for _ in 0..300 {
        let f = crate::script::fight_frame(&w, 1);
        w.step(&f).unwrap();
        back.step(&f).unwrap();
        assert_eq!(w.checksum(), back.checksum(), "tick {}", w.tick());
    }
}

#[test]
fn validate_rejects_broken_entities() {
    let mut w = arena(20);
    add_monster(&mut w, (20, 20));
    add_monster(&mut w, (21, 20));
    assert!(w.state.validate().is_ok());
    let cases: Vec<Breaker> = vec![
        Box::new(|s| s.monsters.swap(0, 1)),
        Box::new(|s| s.monsters[0].hp = s.monsters[0].max_hp(G) + 1),
        Box::new(|s| s.monsters[0].level = 0),
        Box::new(|s| s.monsters[0].template = 999),
        Box::new(|s| s.monsters[0].pos = Vec2::new(-1, 5)),
        Box::new(|s| s.monsters[0].target = Some(9)),
        Box::new(|s| s.monsters[1].id = EntityId(s.next_entity)),
        Box::new(|s| s.players[0].as_mut().unwrap().inventory = vec![item(ItemKind::Armor); 21]),
        Box::new(|s| s.players[0].as_mut().unwrap().hp = 1000),
        Box::new(|s| s.players[0].as_mut().unwrap().level = 0),
        Box::new(|s| s.players[0].as_mut().unwrap().mana = MAX_MANA + 1),
        Box::new(|s| s.players[0].as_mut().unwrap().equipment[1] = Some(item(ItemKind::Weapon))),
        Box::new(|s| s.players[0].as_mut().unwrap().hp = 0),
    ];
    for (i, break_it) in cases.iter().enumerate() {
        let mut bad = w.state.clone();
        break_it(&mut bad);
        assert!(bad.validate().is_err(), "case {i} accepted");
    }
}

type WorldStateRef = crate::world::WorldState;
type Breaker = Box<dyn Fn(&mut WorldStateRef)>;

#[test]
fn hostile_but_valid_states_do_not_panic() {
    // Extreme numbers that validate accepts must step without overflow.
    let mut w = arena(60);
    add_monster(&mut w, (10, 11));
    let m = &mut w.state.monsters[0];
    m.level = 100_000;
    m.hp = m.max_hp(G);
    let p = hero_mut(&mut w);
    p.gold = u32::MAX;
    p.xp = u32::MAX;
    p.level = crate::stats::MAX_LEVEL;
    p.hp = p.stats().max_hp;
    let mut big = item(ItemKind::Weapon);
    big.damage = 1 << 24;
    p.equipment[0] = Some(big);
    assert!(w.state.validate().is_ok());
    for t in 0..200u32 {
        step(
            &mut w,
            press(
                buttons::ATTACK | buttons::CAST,
                (t % 6) as u8,
                (100, (t % 7) as i8),
            ),
        );
        assert!(w.state.validate().is_ok(), "tick {t}");
    }
}

/// Defensive: the ward raises a shield that takes a monster's blows before HP does, and
/// fades after its duration.
#[test]
fn the_ward_absorbs_damage_first_then_fades() {
    let mut w = arena(20);
    let spell = spellbook(G, 5).unwrap();
    assert_eq!(spell.kind, crate::content::SpellKind::Defensive);
    step(&mut w, press(buttons::CAST, 5, (0, 0)));
    assert_eq!(hero(&w).shield, spell.power as i32);
    assert_eq!(hero(&w).mana, MAX_MANA - spell.mana_cost);
    assert!(w.events().iter().any(
        |e| matches!(e, Event::Shielded { slot: 0, amount } if *amount == spell.power as i32)
    ));
    // A goblin next to the hero, angry: its blows land on the shield.
    let id = add_monster(&mut w, (11, 10));
    let m = w.state.monsters.iter_mut().find(|m| m.id == id).unwrap();
    m.ai = AiState::Attack;
    m.target = Some(0);
    let hp = hero(&w).hp;
    let mut absorbed = 0;
    for _ in 0..30 {
        step(&mut w, PlayerInput::IDLE);
        for e in w.events() {
            if let Event::Absorbed { amount, .. } = e {
                absorbed += amount;
            }
        }
        if absorbed > 0 {
            break;
        }
    }
    assert!(absorbed > 0, "the shield took a hit");
    let h = hero(&w);
    assert_eq!(h.shield + absorbed, spell.power as i32);
    if h.shield > 0 {
        assert_eq!(h.hp, hp, "nothing got through a shield that held");
    }
    // Without enemies, the shield fades when its time is up.
    w.state.monsters.clear();
    let mut faded = false;
    for _ in 0..(spell.duration_ms / 50 + 2) {
        step(&mut w, PlayerInput::IDLE);
        faded |= w
            .events()
            .iter()
            .any(|e| matches!(e, Event::ShieldGone { slot: 0 }));
    }
    assert!(faded || hero(&w).shield == 0);
    assert_eq!((hero(&w).shield, hero(&w).shield_ticks), (0, 0));
}

/// Utility: the blink jumps the caster `power` tiles the way it faces, and stops at a wall.
#[test]
fn the_blink_jumps_and_never_passes_a_wall() {
    let mut w = arena(20);
    let spell = spellbook(G, 6).unwrap();
    assert_eq!(spell.kind, crate::content::SpellKind::Utility);
    let from = hero(&w).pos;
    step(&mut w, press(buttons::CAST, 6, (127, 0)));
    let to = hero(&w).pos;
    assert_eq!(to.y, from.y);
    assert_eq!(to.x - from.x, crate::units::tiles(spell.power as i32));
    assert!(w.events().iter().any(
        |e| matches!(e, Event::Blinked { slot: 0, from: f, to: t } if *f == from && *t == to)
    ));
    // Against the west wall (tile 0): it stops inside the room.
    hero_mut(&mut w).pos = Vec2::tile_centre(2, 10);
    hero_mut(&mut w).spell_cd = [0; crate::content::SPELLBOOK_LEN];
    step(&mut w, press(buttons::CAST, 6, (-127, 0)));
    let (x, _) = hero(&w).pos.tile();
    assert_eq!(x, 1, "stopped at the wall");
}

/// Summon: the ally follows its summoner, kills a monster for it (the XP is the
/// summoner's) and vanishes when its time is up.
#[test]
fn the_summoned_ally_follows_fights_and_expires() {
    let mut w = arena(20);
    let spell = spellbook(G, 7).unwrap();
    assert_eq!(spell.kind, crate::content::SpellKind::Summon);
    step(&mut w, press(buttons::CAST, 7, (0, 0)));
    assert_eq!(w.state.allies.len(), 1);
    let ally = w.state.allies[0].id;
    assert!(w
        .events()
        .iter()
        .any(|e| matches!(e, Event::Summoned { slot: 0, ally: a } if *a == ally)));
    // It follows: the hero walks 8 tiles east, the ally keeps within reach.
    for _ in 0..50 {
        step(
            &mut w,
            PlayerInput {
                move_x: 127,
                ..PlayerInput::IDLE
            },
        );
    }
    // It is a little slower than a player: it catches up once the hero stops.
    for _ in 0..20 {
        step(&mut w, PlayerInput::IDLE);
    }
    let gap = w.state.allies[0].pos.dist_sq(hero(&w).pos);
    assert!(
        gap <= (crate::units::tiles(2) as i64).pow(2),
        "ally lagging: {gap}"
    );
    assert!(hero(&w).pos.tile().0 >= 17, "the hero walked east");
    // A goblin 4 tiles away that stays put: the ally goes and kills it.
    let (hx, hy) = hero(&w).pos.tile();
    let id = add_monster(&mut w, (hx, hy + 4));
    w.state.monsters[0].ai = AiState::Return;
    w.state.monsters[0].home = w.state.monsters[0].pos;
    let xp = hero(&w).xp;
    let mut killed = false;
    for _ in 0..400 {
        step(&mut w, PlayerInput::IDLE);
        if let Some(m) = w.state.monsters.iter_mut().find(|m| m.id == id) {
            m.ai = AiState::Idle; // keep it from walking up to the hero
        }
        killed |= w
            .events()
            .iter()
            .any(|e| matches!(e, Event::Kill { monster, slot: Some(0), .. } if *monster == id));
        if killed {
            break;
        }
    }
    assert!(killed, "the ally killed the goblin");
    assert!(
        hero(&w).xp > xp || hero(&w).level > 1,
        "the kill is the summoner's"
    );
    // It vanishes at the end of its time.
    let mut gone = false;
    for _ in 0..(spell.duration_ms / 50 + 2) {
        step(&mut w, PlayerInput::IDLE);
        gone |= w
            .events()
            .iter()
            .any(|e| matches!(e, Event::AllyGone { ally: a, owner: 0 } if *a == ally));
    }
    assert!(gone && w.state.allies.is_empty());
}

/// Out of combat HP comes back: nothing for REST_DELAY_MS after the last loss, then
/// REST_REGEN_PERCENT_PER_SEC of the maximum each second; a hit starts the wait again.
#[test]
fn resting_regenerates_after_the_delay() {
    let mut w = arena(20);
    hero_mut(&mut w).hp = 50;
    hero_mut(&mut w).calm_ticks = 0;
    let delay = (REST_DELAY_MS / 50) as usize;
    for _ in 0..delay {
        step(&mut w, PlayerInput::IDLE);
    }
    assert_eq!(hero(&w).hp, 50, "no regeneration during the delay");
    for _ in 0..20 {
        step(&mut w, PlayerInput::IDLE);
    }
    let per_sec = 100 * players::REST_REGEN_PERCENT_PER_SEC / 100;
    assert_eq!(hero(&w).hp, 50 + per_sec, "one second of rest");
    // Poison (a loss of HP) resets the wait.
    status::apply(&mut hero_mut(&mut w).statuses, StatusKind::Poison, 1, 20);
    for _ in 0..21 {
        step(&mut w, PlayerInput::IDLE);
    }
    let hp = hero(&w).hp;
    assert!(hero(&w).calm_ticks < 5, "{}", hero(&w).calm_ticks);
    for _ in 0..delay {
        step(&mut w, PlayerInput::IDLE);
    }
    assert_eq!(hero(&w).hp, hp);
}

/// After a respawn monsters leave the player alone for RESPAWN_GRACE_MS, then hunt again.
#[test]
fn a_respawned_player_has_a_grace_period() {
    let mut w = arena(20);
    hero_mut(&mut w).grace_ticks = RESPAWN_GRACE_MS / 50;
    let id = add_monster(&mut w, (12, 10));
    for _ in 0..(RESPAWN_GRACE_MS / 50 - 15) {
        step(&mut w, PlayerInput::IDLE);
        let m = monster(&w, id).unwrap();
        assert!(m.target.is_none(), "{m:?}");
    }
    for _ in 0..40 {
        step(&mut w, PlayerInput::IDLE);
    }
    assert_eq!(monster(&w, id).unwrap().target, Some(0));
}

/// At most MAX_ATTACKERS_PER_PLAYER monsters go for one player; the others wait, alert.
#[test]
fn only_two_monsters_attack_at_once() {
    let mut w = arena(20);
    let ids: Vec<EntityId> = [(14, 10), (10, 14), (6, 10), (10, 6), (13, 13)]
        .into_iter()
        .map(|t| add_monster(&mut w, t))
        .collect();
    for _ in 0..60 {
        step(&mut w, PlayerInput::IDLE);
        let hunting = w
            .state
            .monsters
            .iter()
            .filter(|m| matches!(m.ai, AiState::Chase | AiState::Attack))
            .count();
        assert!(hunting <= MAX_ATTACKERS_PER_PLAYER, "{hunting} at once");
    }
    let waiting = ids
        .iter()
        .filter(|&&id| monster(&w, id).is_some_and(|m| m.ai == AiState::Detect))
        .count();
    assert_eq!(waiting, ids.len() - MAX_ATTACKERS_PER_PLAYER);
}

/// A ranged monster does not shoot through a wall; it comes round it.
#[test]
fn no_attacks_through_walls() {
    let mut w = arena(20);
    // A wall from (13, 2) to (13, 20) between the hero (10, 10) and the monster (16, 10).
    for y in 2..=20 {
        w.state.level.map.set(13, y, Tile::Wall);
    }
    let id = add_monster(&mut w, (16, 10));
    let m = w.state.monsters.iter_mut().find(|m| m.id == id).unwrap();
    m.template = 2; // the skeleton archer: range 192 px, 6 tiles
    m.hp = m.max_hp(G);
    m.ai = AiState::Attack;
    m.target = Some(0);
    m.home = Vec2::tile_centre(16, 10);
    let hp = hero(&w).hp;
    for _ in 0..20 {
        step(&mut w, PlayerInput::IDLE);
        let m = monster(&w, id).unwrap();
        if m.pos.tile().0 > 13 {
            assert_eq!(
                hero(&w).hp,
                hp,
                "shot through the wall from {:?}",
                m.pos.tile()
            );
        }
    }
}

/// Level 1 keeps a quiet ring round the spawn; deeper levels' ring is smaller.
#[test]
fn monsters_keep_away_from_the_spawn_at_depth_one() {
    assert_eq!(population::safe_spawn_radius(1), SAFE_SPAWN_RADIUS);
    assert!(population::safe_spawn_radius(3) < SAFE_SPAWN_RADIUS);
    assert_eq!(population::safe_spawn_radius(5), 0);
    let (mut near, mut all) = (0, 0);
    for seed in 0..20 {
        let w = World::new(&SimConfig {
            seed,
            ..SimConfig::default()
        })
        .unwrap();
        let (sx, sy) = w.level().spawn;
        for m in w.monsters() {
            let (x, y) = m.pos.tile();
            all += 1;
            if (x - sx).pow(2) + (y - sy).pow(2) <= SAFE_SPAWN_RADIUS.pow(2) {
                near += 1;
            }
        }
    }
    // Only rooms lying wholly inside the ring put monsters there.
    assert!(near * 20 < all, "{near} of {all} monsters near the spawn");
}
