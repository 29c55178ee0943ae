//! Whole-state dumps and field-level diffs, for desync forensics.
//!
//! A dump is the world's state in its serde form ([`World::state_view`]: every field the
//! checksum covers, under its Rust name), with the tile map summarised (a checksum of its
//! bytes instead of every tile) and a few derived values added where a person reads them
//! (`max_hp`, a player's effective `stats`, a monster's `name` and `boss` flag). Those
//! derived keys are marked by living under `derived`, so a diff of two dumps still compares
//! state first. The key names follow the state structs and change only with a
//! `SIM_VERSION` bump; the README lists them.
//!
//! A diff walks two dumps side by side and names every differing leaf by its path, e.g.
//! `monsters[12].hp: 40 != 37`, `players[0].inventory[3]: (absent) != {...}`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};
use venture_sim::World;

use crate::format::MAGIC;
use crate::{replay_to, SessionReader};

/// The top-level sections of a dump, in output order (what `--only` selects from).
pub const SECTIONS: [&str; 12] = [
    "tick",
    "checksum",
    "config",
    "map",
    "players",
    "monsters",
    "allies",
    "projectiles",
    "ground_items",
    "streams",
    "nav",
    "next_entity",
];

/// Why a dump could not be made.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("unknown section {0:?} (valid: {valid})", valid = SECTIONS.join(", "))]
    UnknownSection(String),
    #[error("the state does not serialise as JSON: {0}")]
    Serialise(#[from] serde_json::Error),
}

/// The whole state of `world` as JSON (see the module doc); `only` keeps those sections.
pub fn dump(world: &World, only: Option<&[String]>) -> Result<Value, InspectError> {
    if let Some(only) = only {
        if let Some(bad) = only.iter().find(|s| !SECTIONS.contains(&s.as_str())) {
            return Err(InspectError::UnknownSection(bad.clone()));
        }
    }
    let Value::Object(mut state) = serde_json::to_value(world.state_view())? else {
        return Err(InspectError::Serialise(serde::ser::Error::custom(
            "the state is not a struct",
        )));
    };
    let mut out = Map::new();
    out.insert("tick".into(), json!(world.tick()));
    out.insert(
        "checksum".into(),
        json!(format!("{:08x}", world.checksum())),
    );
    out.insert(
        "config".into(),
        state.remove("config").unwrap_or(Value::Null),
    );
    out.insert("map".into(), map_summary(world));
    out.insert(
        "players".into(),
        with_derived_players(world, state.remove("players").unwrap_or(Value::Null)),
    );
    out.insert(
        "monsters".into(),
        with_derived_monsters(world, state.remove("monsters").unwrap_or(Value::Null)),
    );
    // The other sections are the state's own fields, as they are.
    for key in SECTIONS {
        if !out.contains_key(key) {
            out.insert(key.into(), state.remove(key).unwrap_or(Value::Null));
        }
    }
    if let Some(only) = only {
        out.retain(|k, _| only.iter().any(|o| o == k));
    }
    Ok(Value::Object(out))
}

/// The level without its tiles: size, generator, rooms, spawn, exit, counts and a crc32
/// of the tile bytes (so two maps that differ anywhere differ here).
fn map_summary(world: &World) -> Value {
    let level = world.level();
    let map = world.map();
    json!({
        "width": map.width(),
        "height": map.height(),
        "generator": level.generator.name(),
        "rooms": level.rooms.len(),
        "spawn": [level.spawn.0, level.spawn.1],
        "exit": [level.exit.0, level.exit.1],
        "walkable_tiles": map.walkable_count(),
        "tiles_crc32": format!("{:08x}", crc32fast::hash(&tile_bytes(world))),
    })
}

fn tile_bytes(world: &World) -> Vec<u8> {
    world.map().tiles().iter().map(|t| *t as u8).collect()
}

fn with_derived_players(world: &World, players: Value) -> Value {
    let Value::Array(mut slots) = players else {
        return players;
    };
    for (slot, entry) in slots.iter_mut().enumerate() {
        let (Some(p), Value::Object(obj)) = (world.player(slot), entry) else {
            continue;
        };
        let stats = p.stats();
        obj.insert(
            "derived".into(),
            json!({
                "slot": slot,
                "tile": [p.pos.tile().0, p.pos.tile().1],
                "alive": p.alive(),
                "max_hp": stats.max_hp,
                "max_mana": venture_sim::player::MAX_MANA,
                "xp_to_next": venture_sim::stats::xp_to_next(p.level),
                "stats": serde_json::to_value(stats).unwrap_or(Value::Null),
            }),
        );
    }
    Value::Array(slots)
}

fn with_derived_monsters(world: &World, monsters: Value) -> Value {
    let Value::Array(mut list) = monsters else {
        return monsters;
    };
    let genre = world.config().genre;
    for (m, entry) in world.monsters().iter().zip(list.iter_mut()) {
        let Value::Object(obj) = entry else { continue };
        let tpl = m.template(genre);
        obj.insert(
            "derived".into(),
            json!({
                "name": tpl.name,
                "boss": tpl.is_boss,
                "max_hp": m.max_hp(genre),
                "tile": [m.pos.tile().0, m.pos.tile().1],
            }),
        );
    }
    Value::Array(list)
}

/// One differing leaf: its path and the two values (`None`: absent on that side).
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    pub path: String,
    pub a: Option<Value>,
    pub b: Option<Value>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<Value>| match v {
            None => "(absent)".to_string(),
            Some(v) => v.to_string(),
        };
        write!(f, "{}: {} != {}", self.path, show(&self.a), show(&self.b))
    }
}

/// Every leaf that differs between `a` and `b`, in document order, at most `limit`.
pub fn diff(a: &Value, b: &Value, limit: usize) -> Vec<Difference> {
    let mut out = Vec::new();
    walk("", a, b, &mut out, limit);
    out
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<Difference>, limit: usize) {
    if out.len() >= limit || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    Some(vb) => walk(&child(path, k), va, vb, out, limit),
                    None => push(out, limit, child(path, k), Some(va), None),
                }
            }
            for (k, vb) in y.iter().filter(|(k, _)| !x.contains_key(*k)) {
                push(out, limit, child(path, k), None, Some(vb));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                let p = format!("{path}[{i}]");
                match (x.get(i), y.get(i)) {
                    (Some(va), Some(vb)) => walk(&p, va, vb, out, limit),
                    (va, vb) => push(out, limit, p, va, vb),
                }
            }
        }
        _ => push(out, limit, path.to_string(), Some(a), Some(b)),
    }
}

fn push(
    out: &mut Vec<Difference>,
    limit: usize,
    path: String,
    a: Option<&Value>,
    b: Option<&Value>,
) {
    if out.len() < limit {
        out.push(Difference {
            path,
            a: a.cloned(),
            b: b.cloned(),
        });
    }
}

/// The desync report a client writes when its checksum for `tick` differs from the
/// server's: both checksums, the simulation version, the whole state as a [`dump`], and the
/// name of the exact snapshot file written beside it (`snapshot_file`, restorable with
/// `World::restore`). [`load`] reads it back for `venture-replay diff`. When the client's
/// state could not be restored (`world` is that error), the report says why under
/// `state_error` instead of `state`.
pub fn desync_report(
    world: Result<&World, String>,
    tick: u64,
    client_checksum: u32,
    server_checksum: u32,
    snapshot_file: &str,
) -> Value {
    let mut report = json!({
        "kind": "desync_report",
        "tick": tick,
        "client_checksum": format!("{client_checksum:08x}"),
        "server_checksum": format!("{server_checksum:08x}"),
        "sim_version": venture_sim::SIM_VERSION,
        "state_snapshot": snapshot_file,
    });
    let (key, value) = match world {
        Ok(world) => (
            "state",
            dump(world, None).unwrap_or_else(|e| json!({"error": e.to_string()})),
        ),
        Err(e) => ("state_error", json!(e)),
    };
    report[key] = value;
    report
}

/// What [`load`] read: a state dump and where it came from.
#[derive(Debug)]
pub struct Loaded {
    /// "session log", "dump" or "desync report".
    pub kind: &'static str,
    pub tick: u64,
    pub state: Value,
    /// A log's recorded checksum at the tick, or a report's server checksum.
    pub authority_checksum: Option<String>,
}

/// Why a state could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a session log, a dump or a desync report: {why}")]
    Unrecognised { path: PathBuf, why: String },
    #[error("{path}: a session log needs a tick (--tick T, or a dump or report to take it from)")]
    NoTick { path: PathBuf },
    #[error("{path}: {why}")]
    Replay { path: PathBuf, why: String },
    #[error("{path}: {source}")]
    Inspect { path: PathBuf, source: InspectError },
}

/// Whether `path` is a session log (by its magic bytes).
pub fn is_session_log(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok_and(|()| &magic == MAGIC)
}

/// Loads the state in `path`: a session log re-simulated to `tick`, a dump (the JSON
/// `venture-replay dump` prints), or a client's desync report (its state at the
/// diverging tick; `tick` is ignored for dumps and reports).
pub fn load(path: &Path, tick: Option<u64>) -> Result<Loaded, LoadError> {
    let p = || path.to_path_buf();
    if is_session_log(path) {
        let tick = tick.ok_or_else(|| LoadError::NoTick { path: p() })?;
        let reader = SessionReader::open(path).map_err(|e| LoadError::Replay {
            path: p(),
            why: e.to_string(),
        })?;
        let replayed = replay_to(reader, tick, true).map_err(|e| LoadError::Replay {
            path: p(),
            why: e.to_string(),
        })?;
        if replayed.world.tick() != tick {
            return Err(LoadError::Replay {
                path: p(),
                why: format!("the log ends at tick {}", replayed.world.tick()),
            });
        }
        let state = dump(&replayed.world, None).map_err(|e| LoadError::Inspect {
            path: p(),
            source: e,
        })?;
        return Ok(Loaded {
            kind: "session log",
            tick,
            state,
            authority_checksum: replayed.recorded_checksum.map(|c| format!("{c:08x}")),
        });
    }
    // Dumps and reports are small: refuse anything that could not be one before reading.
    const MAX_JSON: u64 = 64 << 20;
    let len = std::fs::metadata(path)
        .map_err(|e| LoadError::Io {
            path: p(),
            source: e,
        })?
        .len();
    if len > MAX_JSON {
        return Err(LoadError::Unrecognised {
            path: p(),
            why: format!("{len} bytes is larger than any dump"),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|e| LoadError::Io {
        path: p(),
        source: e,
    })?;
    let v: Value = serde_json::from_str(&text).map_err(|e| LoadError::Unrecognised {
        path: p(),
        why: e.to_string(),
    })?;
    let tick_of = |v: &Value| v["tick"].as_u64();
    if v["kind"] == "desync_report" {
        if v.get("state").is_none() {
            // The client could not restore its own state: nothing to compare.
            let why = match &v["state_error"] {
                Value::String(e) => format!("the client's state could not be restored: {e}"),
                _ => "no state in the report".to_string(),
            };
            return Err(LoadError::Unrecognised {
                path: p(),
                why: format!("a desync report without a state ({why})"),
            });
        }
        let state = v["state"].clone();
        let tick = tick_of(&state).or(tick_of(&v)).unwrap_or(0);
        return Ok(Loaded {
            kind: "desync report",
            tick,
            state,
            authority_checksum: v["server_checksum"].as_str().map(str::to_string),
        });
    }
    match tick_of(&v) {
        Some(tick) if v.get("checksum").is_some() && v.get("players").is_some() => {
            let mut state = v;
            // `venture-replay dump` adds how the state relates to its log: not state.
            let log = state.as_object_mut().and_then(|o| o.remove("log"));
            Ok(Loaded {
                kind: "dump",
                tick,
                state,
                authority_checksum: log
                    .and_then(|l| l["recorded_checksum"].as_str().map(str::to_string)),
            })
        }
        _ => Err(LoadError::Unrecognised {
            path: p(),
            why: "JSON without the dump's tick, checksum and players".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use venture_sim::script::fight_frame;
    use venture_sim::SimConfig;

    fn fought(ticks: u64) -> World {
        let mut w = World::new(&SimConfig {
            width: 40,
            height: 40,
            ..SimConfig::default()
        })
        .expect("valid config");
        for _ in 0..ticks {
            let f = fight_frame(&w, 2);
            w.step(&f).expect("steps");
        }
        w
    }

    #[test]
    fn a_dump_has_every_section_and_the_state_fields() {
        let w = fought(50);
        let d = dump(&w, None).expect("dumps");
        for s in SECTIONS {
            assert!(d.get(s).is_some(), "section {s} missing: {d:#}");
        }
        let p = &d["players"][0];
        for key in [
            "pos",
            "hp",
            "mana",
            "level",
            "xp",
            "gold",
            "inventory",
            "equipment",
            "statuses",
            "attack_cd",
            "spell_cd",
            "respawn_in",
        ] {
            assert!(p.get(key).is_some(), "players[0].{key} missing: {p:#}");
        }
        assert!(p["derived"]["max_hp"].as_i64().is_some_and(|hp| hp > 0));
        let m = &d["monsters"][0];
        for key in [
            "id", "template", "level", "rarity", "hp", "ai", "target", "pos",
        ] {
            assert!(m.get(key).is_some(), "monsters[0].{key} missing: {m:#}");
        }
        assert!(m["derived"]["name"].is_string());
        assert_eq!(d["checksum"], json!(format!("{:08x}", w.checksum())));
    }

    /// After a scripted fight, the dump shows what happened: a player who gained XP (or a
    /// level) and monsters with their HP, some of them hurt or fewer than at the start.
    #[test]
    fn a_dump_after_a_fight_shows_xp_gained_and_monster_hp() {
        let start = fought(0);
        let monsters_at_start = start.monsters().len();
        let mut w = start;
        // Bounded: the fighting bots score their first kill within a few hundred ticks.
        for _ in 0..4000 {
            if w.players().any(|(_, p)| p.xp > 0 || p.level > 1) {
                break;
            }
            let f = fight_frame(&w, 2);
            w.step(&f).expect("steps");
        }
        let d = dump(&w, None).expect("dumps");
        let players: Vec<&Value> = d["players"]
            .as_array()
            .expect("players")
            .iter()
            .filter(|p| !p.is_null())
            .collect();
        assert!(
            players
                .iter()
                .any(|p| p["xp"].as_u64() > Some(0) || p["level"].as_u64() > Some(1)),
            "no player gained XP by tick {}: {players:?}",
            w.tick()
        );
        let monsters = d["monsters"].as_array().expect("monsters");
        assert!(!monsters.is_empty());
        for m in monsters {
            let hp = m["hp"].as_i64().expect("hp");
            let max = m["derived"]["max_hp"].as_i64().expect("max_hp");
            assert!(0 < hp && hp <= max, "{m}");
        }
        assert!(
            monsters.len() < monsters_at_start
                || monsters
                    .iter()
                    .any(|m| m["hp"].as_i64() < m["derived"]["max_hp"].as_i64()),
            "the fight left no trace on the monsters"
        );
    }

    #[test]
    fn only_keeps_the_chosen_sections_and_refuses_unknown_ones() {
        let w = fought(1);
        let d = dump(&w, Some(&["players".into(), "tick".into()])).expect("dumps");
        let keys: Vec<&String> = d.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["players", "tick"]); // serde_json maps are sorted by key
        assert!(matches!(
            dump(&w, Some(&["monster".into()])),
            Err(InspectError::UnknownSection(_))
        ));
    }

    #[test]
    fn equal_states_have_no_diff_and_an_altered_field_is_named() {
        let w = fought(30);
        let a = dump(&w, None).expect("dumps");
        assert!(diff(&a, &a.clone(), 100).is_empty());
        let mut b = a.clone();
        b["monsters"][2]["hp"] = json!(1234);
        b["players"][0]["inventory"]
            .as_array_mut()
            .expect("an array")
            .push(json!({"name": "forged"}));
        let d = diff(&a, &b, 100);
        let paths: Vec<&str> = d.iter().map(|x| x.path.as_str()).collect();
        assert!(paths.contains(&"monsters[2].hp"), "{paths:?}");
        let inv = d
            .iter()
            .find(|x| x.path.starts_with("players[0].inventory["))
            .expect("the inventory difference");
        assert!(inv.a.is_none() && inv.b.is_some(), "{inv}");
        let hp = d.iter().find(|x| x.path == "monsters[2].hp").expect("hp");
        assert!(hp.to_string().ends_with("!= 1234"), "{hp}");
    }

    #[test]
    fn the_diff_limit_is_honoured() {
        let a = json!({"x": [1, 2, 3, 4, 5]});
        let b = json!({"x": [9, 9, 9, 9, 9]});
        assert_eq!(diff(&a, &b, 2).len(), 2);
    }

    #[test]
    fn a_report_whose_state_did_not_restore_says_why_and_diff_refuses_it() {
        let report = desync_report(Err("snapshot: truncated".into()), 42, 1, 2, "s.snapshot");
        assert_eq!(report["state_error"], "snapshot: truncated");
        assert!(report.get("state").is_none(), "{report}");
        assert_eq!(report["tick"], 42);
        let dir = std::env::temp_dir().join(format!("venture-inspect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("desync-a-t42.json");
        std::fs::write(&path, report.to_string()).expect("write the report");
        let err = load(&path, None).expect_err("a report without a state");
        let _ = std::fs::remove_dir_all(&dir);
        let text = err.to_string();
        assert!(
            text.contains("without a state") && text.contains("snapshot: truncated"),
            "{text}"
        );
        // With a state, it loads.
        let w = fought(5);
        let ok = desync_report(Ok(&w), w.tick(), 1, 2, "s.snapshot");
        assert!(ok.get("state").is_some() && ok.get("state_error").is_none());
    }
}
