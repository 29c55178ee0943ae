//! Checksums and snapshots of the whole world state.
//!
//! Both are the bincode encoding of the state: the checksum streams that encoding through
//! crc32 (no allocation), the snapshot stores it behind a header. So the checksum covers
//! exactly what a snapshot restores: every byte of state, nothing else.
//!
//! Snapshot layout: `b"VSNP"`, format version (u16 LE), [`SIM_VERSION`] (u32 LE), then the
//! bincode (standard config, varint) encoding of the state. Decoding is size-limited,
//! rejects trailing bytes, and validates the state's invariants before returning a world,
//! so a hostile snapshot yields an error, never a world that panics later.

use crate::entity::{MAX_PROJECTILE_SPEED, MAX_PROJECTILE_TICKS};
use crate::player::{Player, INVENTORY_SLOTS, MAX_MANA};
use crate::status::{Status, MAX_STATUSES};
use crate::units::px;
use crate::world::{World, WorldState, SIM_VERSION};

/// Largest stat a restored entity may carry (far above anything the rules produce, far
/// below any overflow in the damage formula).
const MAX_STAT: i32 = 1 << 24;
/// Highest monster level a restored state may carry (depth 1000 at difficulty 10 rolls
/// about 12,600).
const MAX_MONSTER_LEVEL: u32 = 100_000;

fn validate_statuses(list: &[Status]) -> Result<(), String> {
    if list.len() > MAX_STATUSES
        || list.windows(2).any(|w| w[0].kind >= w[1].kind)
        || list
            .iter()
            .any(|s| !(0..=10_000).contains(&s.magnitude) || s.remaining_ticks == 0)
    {
        return Err("status effects out of range, unsorted or repeated".into());
    }
    Ok(())
}

fn validate_player(p: &Player, tick_rate: u32) -> Result<(), String> {
    let bad = |what: &str| Err(format!("player {}: {what}", p.id.0));
    if !(1..=crate::stats::MAX_LEVEL).contains(&p.level) {
        return bad("level out of range");
    }
    if p.inventory.len() > INVENTORY_SLOTS {
        return bad("more than 20 items");
    }
    for (i, e) in p.equipment.iter().enumerate() {
        if e.as_ref()
            .is_some_and(|item| crate::player::equip_slot(item.kind) != Some(i))
        {
            return bad("item in the wrong equipment slot");
        }
    }
    for item in p.inventory.iter().chain(p.equipment.iter().flatten()) {
        item.validate().or_else(|e| bad(&e))?;
    }
    if p.mana > MAX_MANA || p.mana_acc >= tick_rate {
        return bad("mana out of range");
    }
    validate_statuses(&p.statuses)?;
    let max = p.stats().max_hp;
    if p.hp < 0 || p.hp > max {
        return bad("hp out of range");
    }
    if (p.hp == 0) != (p.respawn_in > 0) || p.respawn_in > 60 * 60 {
        return bad("dead without a respawn countdown (or the reverse)");
    }
    if p.attack_cd > 60 * 60 || p.spell_cd.iter().any(|&c| c > 60 * 600) {
        return bad("cooldown out of range");
    }
    if !(0..=crate::gameplay::MAX_SHIELD).contains(&p.shield)
        || p.shield_ticks > 60 * 600
        || (p.shield > 0 && p.shield_ticks == 0)
    {
        return bad("shield out of range");
    }
    if p.calm_ticks > crate::player::CALM_CAP_TICKS || p.grace_ticks > 60 * 600 {
        return bad("calm or grace counter out of range");
    }
    Ok(())
}

use std::io::Write;

const MAGIC: &[u8; 4] = b"VSNP";
/// Version of the snapshot container (not of the state inside, which is SIM_VERSION).
pub const SNAPSHOT_FORMAT: u16 = 1;
const HEADER_LEN: usize = 4 + 2 + 4;
/// Largest snapshot accepted: a 1024x1024 map is 1 MiB; the rest is small.
pub const MAX_SNAPSHOT_BYTES: usize = 16 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot is {0} bytes, shorter than its header")]
    Truncated(usize),
    #[error("not a snapshot (bad magic)")]
    BadMagic,
    #[error("snapshot format {found} is not supported (this build reads {SNAPSHOT_FORMAT})")]
    Format { found: u16 },
    #[error("snapshot is of simulation version {found}, this build runs {SIM_VERSION}")]
    SimVersion { found: u32 },
    #[error("snapshot is {0} bytes, over the {MAX_SNAPSHOT_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("snapshot body does not decode: {0}")]
    Decode(String),
    #[error("snapshot has {0} trailing bytes")]
    TrailingBytes(usize),
    #[error("snapshot state is inconsistent: {0}")]
    Invalid(String),
}

fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_SNAPSHOT_BYTES>()
}

/// A `Write` that feeds crc32 through a small stack buffer (bincode writes field by field;
/// batching keeps the hasher on its fast path).
struct CrcWriter {
    hasher: crc32fast::Hasher,
    buf: [u8; 4096],
    len: usize,
}

impl CrcWriter {
    fn flush_buf(&mut self) {
        self.hasher.update(&self.buf[..self.len]);
        self.len = 0;
    }
}

impl Write for CrcWriter {
    #[inline]
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = data.len();
        let end = self.len.saturating_add(n);
        if end <= self.buf.len() {
            if n <= 8 {
                // bincode writes field by field (mostly 1 to 8 bytes): a byte loop beats a
                // call to memmove for these.
                for (dst, &b) in self.buf[self.len..end].iter_mut().zip(data) {
                    *dst = b;
                }
            } else {
                self.buf[self.len..end].copy_from_slice(data);
            }
            self.len = end;
        } else {
            self.flush_buf();
            if n >= self.buf.len() {
                self.hasher.update(data);
            } else {
                self.buf[..n].copy_from_slice(data);
                self.len = n;
            }
        }
        Ok(n)
    }

    #[inline]
    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.write(data).map(|_| ())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.flush_buf();
        Ok(())
    }
}

impl World {
    /// crc32 of the whole state's encoding. Computed every tick by servers and clients.
    pub fn checksum(&self) -> u32 {
        let mut w = CrcWriter {
            hasher: crc32fast::Hasher::new(),
            buf: [0; 4096],
            len: 0,
        };
        // Unwrap: CrcWriter never fails and the state always serialises (no maps with
        // non-string keys, no unsized sequences), well under the size limit.
        bincode::serde::encode_into_std_write(&self.state, &mut w, bincode::config::standard())
            .expect("state serialises into a checksum");
        w.flush_buf();
        w.hasher.finalize()
    }

    /// The whole state as bytes; [`World::restore`] gives back an identical world.
    pub fn snapshot(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(self.map().tiles().len().saturating_add(HEADER_LEN + 1024));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&SNAPSHOT_FORMAT.to_le_bytes());
        out.extend_from_slice(&SIM_VERSION.to_le_bytes());
        // Unwrap: writing to a Vec cannot fail and the state always serialises.
        bincode::serde::encode_into_std_write(&self.state, &mut out, bincode::config::standard())
            .expect("state serialises into a snapshot");
        out
    }

    /// Rebuilds a world from [`World::snapshot`] bytes, checking header, size and invariants.
    pub fn restore(bytes: &[u8]) -> Result<World, SnapshotError> {
        if bytes.len() < HEADER_LEN {
            return Err(SnapshotError::Truncated(bytes.len()));
        }
        if bytes.len() > MAX_SNAPSHOT_BYTES + HEADER_LEN {
            return Err(SnapshotError::TooLarge(bytes.len()));
        }
        if &bytes[..4] != MAGIC {
            return Err(SnapshotError::BadMagic);
        }
        let format = u16::from_le_bytes([bytes[4], bytes[5]]);
        if format != SNAPSHOT_FORMAT {
            return Err(SnapshotError::Format { found: format });
        }
        let sim = u32::from_le_bytes([bytes[6], bytes[7], bytes[8], bytes[9]]);
        if sim != SIM_VERSION {
            return Err(SnapshotError::SimVersion { found: sim });
        }
        let body = &bytes[HEADER_LEN..];
        let (state, used): (WorldState, usize) =
            bincode::serde::decode_from_slice(body, bincode_config())
                .map_err(|e| SnapshotError::Decode(e.to_string()))?;
        if used != body.len() {
            return Err(SnapshotError::TrailingBytes(
                body.len().saturating_sub(used),
            ));
        }
        state.validate().map_err(SnapshotError::Invalid)?;
        Ok(World::from_state(state))
    }
}

impl WorldState {
    /// The invariants `step` relies on. Anything a generated-and-stepped world always
    /// satisfies, and a forged snapshot might not.
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.config.validate().map_err(|e| e.to_string())?;
        let map = &self.level.map;
        if (map.width(), map.height()) != (self.config.width, self.config.height) {
            return Err(format!(
                "map is {}x{} but config says {}x{}",
                map.width(),
                map.height(),
                self.config.width,
                self.config.height
            ));
        }
        for (what, (x, y)) in [("spawn", self.level.spawn), ("exit", self.level.exit)] {
            if !map.is_walkable(x, y) {
                return Err(format!("{what} ({x}, {y}) is not a walkable tile"));
            }
        }
        if self.players.len() != self.config.max_players as usize {
            return Err(format!(
                "{} player slots for max_players {}",
                self.players.len(),
                self.config.max_players
            ));
        }
        let limit_x = (map.width() as i32).saturating_mul(crate::units::SUB);
        let limit_y = (map.height() as i32).saturating_mul(crate::units::SUB);
        for p in self.players.iter().flatten() {
            if p.id.0 >= self.next_entity {
                return Err(format!(
                    "player id {} not below next id {}",
                    p.id.0, self.next_entity
                ));
            }
            if !crate::input::valid_name(&p.name) {
                return Err("invalid player name".into());
            }
            if !(0..limit_x).contains(&p.pos.x) || !(0..limit_y).contains(&p.pos.y) {
                return Err(format!("player {} outside the map", p.id.0));
            }
            validate_player(p, self.config.tick_rate)?;
        }
        let in_map =
            |v: crate::units::Vec2| (0..limit_x).contains(&v.x) && (0..limit_y).contains(&v.y);
        let ids_ok = |ids: &mut dyn Iterator<Item = u32>, what: &str| -> Result<(), String> {
            let mut prev = 0u32;
            for id in ids {
                if id <= prev || id >= self.next_entity {
                    return Err(format!("{what} id {id} out of order or not below next id"));
                }
                prev = id;
            }
            Ok(())
        };
        ids_ok(&mut self.monsters.iter().map(|m| m.id.0), "monster")?;
        ids_ok(&mut self.projectiles.iter().map(|m| m.id.0), "projectile")?;
        ids_ok(&mut self.ground_items.iter().map(|m| m.id.0), "ground item")?;
        ids_ok(&mut self.allies.iter().map(|a| a.id.0), "ally")?;
        let templates = crate::content::templates(self.config.genre).len();
        let slots = self.players.len();
        for m in &self.monsters {
            if m.template as usize >= templates {
                return Err(format!("monster {} has template {}", m.id.0, m.template));
            }
            if !(1..=MAX_MONSTER_LEVEL).contains(&m.level) {
                return Err(format!("monster {} level {}", m.id.0, m.level));
            }
            let max = m.max_hp(self.config.genre);
            if !(1..=max).contains(&m.hp) {
                return Err(format!("monster {} hp {} of {max}", m.id.0, m.hp));
            }
            if !in_map(m.pos) || !in_map(m.home) || !in_map(m.waypoint) {
                return Err(format!("monster {} outside the map", m.id.0));
            }
            if m.target.is_some_and(|t| t as usize >= slots)
                || m.last_hitter.is_some_and(|t| t as usize >= slots)
            {
                return Err(format!("monster {} refers to a missing slot", m.id.0));
            }
            validate_statuses(&m.statuses)?;
        }
        for p in &self.projectiles {
            if !in_map(p.pos) || p.owner as usize >= slots {
                return Err(format!(
                    "projectile {} outside the map or ownerless",
                    p.id.0
                ));
            }
            if p.vel.x.abs() > MAX_PROJECTILE_SPEED
                || p.vel.y.abs() > MAX_PROJECTILE_SPEED
                || p.ticks_left == 0
                || p.ticks_left > MAX_PROJECTILE_TICKS
                || !(0..=MAX_STAT).contains(&p.power)
                || !(0..=MAX_STAT).contains(&p.magic_power)
                || !(0..=px(1000)).contains(&p.radius)
                || p.status
                    .is_some_and(|(_, m, t)| !(0..=10_000).contains(&m) || t == 0)
            {
                return Err(format!("projectile {} has impossible numbers", p.id.0));
            }
        }
        for g in &self.ground_items {
            if !in_map(g.pos) {
                return Err(format!("ground item {} outside the map", g.id.0));
            }
            g.item.validate()?;
        }
        for a in &self.allies {
            if !in_map(a.pos)
                || a.owner as usize >= slots
                || !(0..=MAX_STAT).contains(&a.power)
                || a.ticks_left == 0
                || a.ticks_left > 60 * 600
                || a.attack_cd > 60 * 60
            {
                return Err(format!("ally {} has impossible numbers", a.id.0));
            }
        }
        if self.nav.tiles.len() > slots {
            return Err("more navigation goals than players".into());
        }
        Ok(())
    }
}
