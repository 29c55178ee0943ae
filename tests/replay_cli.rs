//! venture-replay as a process: record, verify, info, dump, and the exit codes for good,
//! diverging, damaged and unreadable logs.

use std::path::PathBuf;
use std::process::{Command, Output};
use venture_replay::{SessionHeader, SessionWriter};
use venture_sim::script::scripted_frame;
use venture_sim::{SimConfig, World};
use venture_testkit::Scratch;

fn replay(args: &[&str]) -> Output {
    Command::new(venture_testkit::bin!("venture-replay"))
        .args(args)
        .output()
        .expect("venture-replay runs")
}

fn tmp(dir: &Scratch, name: &str) -> PathBuf {
    dir.join(name)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Records a 200-tick, 3-player, 40x40 session with keyframes every 50 ticks.
fn record(dir: &Scratch, name: &str) -> PathBuf {
    let path = tmp(dir, name);
    let p = path.to_str().expect("utf-8 path");
    let out = replay(&[
        "record-scripted",
        p,
        "--ticks",
        "200",
        "--players",
        "3",
        "--seed",
        "42",
        "--size",
        "40x40",
        "--snapshot-every",
        "50",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    path
}

#[test]
fn verify_passes_and_summarises() {
    let dir = Scratch::new("replay-cli");
    let path = record(&dir, "good.vrpl");
    let out = replay(&["verify", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("200 ticks verified"), "{stdout}");
    assert!(stdout.contains("10.00s of game time at 20 Hz"), "{stdout}");
    assert!(stdout.contains("ticks/s"), "{stdout}");
    assert!(stdout.contains("4 keyframes checked"), "{stdout}");
    // Piped stderr: no progress bar, no warnings for a finished log.
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn info_reports_header_players_and_tail() {
    let dir = Scratch::new("replay-cli");
    let path = record(&dir, "info.vrpl");
    let out = replay(&["info", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    for needle in [
        "seed:          42",
        "genre:         fantasy",
        "map size:      40x40",
        "tick rate:     20 Hz",
        "frames:        200 (ticks 1 to 200)",
        "duration:      10.00s",
        "3 joined",
        "slot  2 joined as bot2",
        "tail:          clean",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in\n{stdout}");
    }
    let out = replay(&["info", path.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["seed"], 42);
    assert_eq!(v["frames"], 200);
    assert_eq!(v["joins"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["size_bytes"], std::fs::metadata(&path).unwrap().len());
}

#[test]
fn dump_prints_the_world_at_a_tick() {
    let dir = Scratch::new("replay-cli");
    let path = record(&dir, "dump.vrpl");
    let out = replay(&["dump", path.to_str().unwrap(), "--tick", "120"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["tick"], 120);
    assert_eq!(v["log"]["matches_log"], true);
    assert_eq!(v["log"]["keyframe"], 100);
    assert_eq!(v["checksum"], v["log"]["recorded_checksum"]);
    assert_eq!(v["config"]["seed"], 42);
    assert_eq!(v["map"]["width"], 40);
    let players: Vec<&serde_json::Value> = v["players"]
        .as_array()
        .expect("players")
        .iter()
        .filter(|p| !p.is_null())
        .collect();
    assert_eq!(players.len(), 3);
    assert_eq!(players[1]["name"], "bot1");
    // The whole state: every player's numbers, every monster, projectiles, ground items,
    // the random streams.
    for key in [
        "hp",
        "mana",
        "level",
        "xp",
        "gold",
        "inventory",
        "equipment",
        "statuses",
    ] {
        assert!(
            players[0].get(key).is_some(),
            "players[0].{key}: {}",
            players[0]
        );
    }
    assert!(v["monsters"].as_array().is_some_and(|m| !m.is_empty()));
    assert!(v["monsters"][0]["hp"].is_i64() && v["monsters"][0]["derived"]["name"].is_string());
    for key in [
        "allies",
        "projectiles",
        "ground_items",
        "streams",
        "nav",
        "next_entity",
    ] {
        assert!(v.get(key).is_some(), "{key}");
    }
    // --only filters.
    let out = replay(&[
        "dump",
        path.to_str().unwrap(),
        "--tick",
        "120",
        "--only",
        "players,tick",
    ]);
    let only: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let keys: Vec<&String> = only.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["players", "tick"]);
    let out = replay(&["dump", path.to_str().unwrap(), "--only", "monster"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    // Same world from the start, without keyframes.
    let out2 = replay(&[
        "dump",
        path.to_str().unwrap(),
        "--tick",
        "120",
        "--from-start",
    ]);
    let v2: serde_json::Value = serde_json::from_slice(&out2.stdout).expect("JSON");
    assert_eq!(v["checksum"], v2["checksum"]);
    assert_eq!(v["players"], v2["players"]);
    // A tick past the end is an error naming the range.
    let out = replay(&["dump", path.to_str().unwrap(), "--tick", "999"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("0 to 200"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn divergence_exits_1_naming_tick_and_checksums() {
    let dir = Scratch::new("replay-cli");
    let path = tmp(&dir, "diverged.vrpl");
    let config = SimConfig {
        width: 40,
        height: 40,
        ..SimConfig::default()
    };
    let mut world = World::new(&config).unwrap();
    let mut w = SessionWriter::create(&path, &SessionHeader::new(config, "test")).unwrap();
    let mut wrong = None;
    for tick in 1..=30 {
        let f = scripted_frame(1, tick, 2);
        world.step(&f).unwrap();
        let mut checksum = world.checksum();
        if tick == 12 {
            wrong = Some((checksum ^ 0x55, checksum));
            checksum ^= 0x55;
        }
        w.append_frame(&f, checksum).unwrap();
    }
    w.finish("done").unwrap();
    let (expected, actual) = wrong.unwrap();
    let out = replay(&["verify", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "first diverging tick 12: expected 0x{expected:08x}, actual 0x{actual:08x}"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("11 ticks verified"), "{stdout}");
}

#[test]
fn damaged_and_unreadable_files() {
    let dir = Scratch::new("replay-cli");
    let path = record(&dir, "damaged-src.vrpl");
    let bytes = std::fs::read(&path).unwrap();
    let flipped = tmp(&dir, "flipped.vrpl");
    // Walk the framing to the 5th record (frame of tick 5) and flip a byte of its body.
    let header_len = u32::from_le_bytes(bytes[10..14].try_into().unwrap()) as usize;
    let mut at = 18 + header_len;
    for _ in 0..4 {
        at += 8 + u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    }
    let mut bad = bytes.clone();
    bad[at + 9] ^= 0x40;
    std::fs::write(&flipped, &bad).unwrap();
    let out = replay(&["verify", flipped.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("corrupt record for tick 5"), "{stdout}");
    assert!(
        stdout.contains("4 ticks verified before tick 5"),
        "{stdout}"
    );

    // Truncated mid-record: the prefix verifies (exit 0) with a warning; --strict fails.
    let torn = tmp(&dir, "torn.vrpl");
    std::fs::write(&torn, &bytes[..bytes.len() - 5]).unwrap();
    let out = replay(&["verify", torn.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("torn tail"));
    let out = replay(&["verify", "--strict", torn.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));

    // Garbage and missing files: exit 2 with the path in the message.
    let garbage = tmp(&dir, "garbage.vrpl");
    std::fs::write(&garbage, b"definitely not a session log").unwrap();
    for p in [garbage, tmp(&dir, "missing.vrpl")] {
        let out = replay(&["verify", p.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains(p.to_str().unwrap()));
        let out = replay(&["info", p.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
    }
    // A header cut short.
    let short = tmp(&dir, "short.vrpl");
    std::fs::write(&short, &bytes[..20]).unwrap();
    let out = replay(&["verify", short.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("shorter than"));
}

#[test]
fn diff_names_the_altered_field_and_exits_by_equality() {
    let dir = Scratch::new("replay-cli");
    let path = record(&dir, "diff.vrpl");
    let log = path.to_str().unwrap();
    let out = replay(&["dump", log, "--tick", "150"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dump = tmp(&dir, "t150.json");
    std::fs::write(&dump, &out.stdout).unwrap();
    let dump_s = dump.to_str().unwrap();

    // The log at the dump's tick (taken from the dump) equals the dump.
    let out = replay(&["diff", log, dump_s]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("equal"), "{}", text(&out.stdout));

    // Alter one monster's HP and one player's gold: both are named by path.
    let mut v: serde_json::Value = serde_json::from_slice(&out_of(&dump)).unwrap();
    v["monsters"][1]["hp"] = serde_json::json!(4242);
    v["players"][0]["gold"] = serde_json::json!(7);
    let altered = tmp(&dir, "altered.json");
    std::fs::write(&altered, serde_json::to_vec(&v).unwrap()).unwrap();
    let out = replay(&["diff", log, altered.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("monsters[1].hp: "), "{stdout}");
    assert!(stdout.contains("!= 4242"), "{stdout}");
    assert!(stdout.contains("players[0].gold: "), "{stdout}");

    // Two ticks of the same log differ; a log without a tick to compare at is a usage error.
    let out = replay(&["diff", log, log, "--tick", "10"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = replay(&["diff", log, log]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("needs a tick"),
        "{}",
        text(&out.stderr)
    );
    // Garbage is a clear error.
    let junk = tmp(&dir, "junk.json");
    std::fs::write(&junk, b"{\"hello\": 1}").unwrap();
    let out = replay(&["diff", log, junk.to_str().unwrap(), "--tick", "10"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a session log, a dump or a desync report"));
}

fn out_of(p: &std::path::Path) -> Vec<u8> {
    std::fs::read(p).expect("readable")
}
