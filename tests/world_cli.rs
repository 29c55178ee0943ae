//! venture-world as a process: output formats, errors, and the same checksum sequence from
//! two separate processes.

use std::process::Command;

fn world(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_venture-world"))
        .args(args)
        .output()
        .expect("venture-world runs")
}

#[test]
fn two_processes_produce_the_same_checksum_sequence() {
    let a = world(&["--simulate", "600", "--players", "4"]);
    let b = world(&["--simulate", "600", "--players", "4"]);
    assert!(a.status.success() && b.status.success());
    let lines = String::from_utf8(a.stdout.clone()).expect("utf-8");
    assert_eq!(lines.lines().count(), 600);
    assert_eq!(a.stdout, b.stdout);
    let other = world(&["--simulate", "600", "--players", "4", "--seed", "99"]);
    assert_ne!(a.stdout, other.stdout);
}

#[test]
fn json_has_the_documented_keys() {
    let out = world(&["--seed", "12345", "--genre", "fantasy", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for key in [
        "seed",
        "genre",
        "width",
        "height",
        "rooms",
        "walkable",
        "reachable",
        "checksum",
        "generation_us",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["seed"], 12345);
    assert_eq!(v["walkable"], v["reachable"]);
}

#[test]
fn ascii_has_map_legend_and_stats() {
    let out = world(&["--seed", "7"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("Legend: # wall"));
    assert!(text.contains("reachable"));
    assert!(text.lines().filter(|l| l.len() == 100).count() >= 100);
}

#[test]
fn bad_arguments_exit_2_with_what_is_valid() {
    let out = world(&["--genre", "western"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("fantasy, scifi, horror, cyberpunk, postapoc"));
    let out = world(&["--size", "5x5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("20 to 1024"));
    let out = world(&["--size", "huge"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn png_and_content_counts() {
    let dir = venture_testkit::Scratch::new("world-png");
    let png = dir.join("map.png");
    let out = world(&[
        "--seed",
        "3",
        "--genre",
        "horror",
        "--size",
        "64x48",
        "--png",
        png.to_str().expect("utf-8"),
        "--png-scale",
        "4",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png).expect("png written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // IHDR: width and height are big-endian u32s at offsets 16 and 20.
    assert_eq!(
        u32::from_be_bytes(bytes[16..20].try_into().expect("4 bytes")),
        64 * 4
    );
    assert_eq!(
        u32::from_be_bytes(bytes[20..24].try_into().expect("4 bytes")),
        48 * 4
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(v["monsters"].as_u64().expect("monsters") > 0);
    assert_eq!(v["bosses"], 1);
    assert!(v["items"].is_u64());
    let ascii = world(&["--seed", "3", "--genre", "horror", "--size", "64x48"]);
    let text = String::from_utf8(ascii.stdout).expect("utf-8");
    assert!(text.contains('M') && text.contains('B'));
}

/// `--balance --json`: one object per (genre, depth) cell plus one per depth for every
/// genre, with the documented fields, and the same bytes from a second process.
#[test]
fn balance_json_is_deterministic_and_has_the_documented_fields() {
    let args = [
        "--balance",
        "--json",
        "--seeds",
        "2",
        "--first-seed",
        "7",
        "--depths",
        "1-2",
        "--seconds",
        "30",
    ];
    let a = world(&args);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let b = world(&args);
    assert_eq!(a.stdout, b.stdout, "same flags, same numbers");
    let text = String::from_utf8(a.stdout).expect("utf-8");
    let cells: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(cells.len(), 5 * 2 + 2);
    for c in &cells {
        for key in [
            "genre",
            "depth",
            "runs",
            "alive_60s",
            "alive_300s",
            "median_first_death_s",
            "kills_per_life",
            "median_level_300s",
            "reached_stairs",
            "cleared",
        ] {
            assert!(c.get(key).is_some(), "missing {key} in {c}");
        }
        for share in ["alive_60s", "alive_300s", "reached_stairs", "cleared"] {
            let v = c[share].as_f64().expect("a number");
            assert!((0.0..=1.0).contains(&v), "{share} = {v}");
        }
        let first_death = c["median_first_death_s"].as_u64().expect("seconds");
        assert!(first_death <= 30);
    }
    assert_eq!(cells[0]["genre"], "fantasy");
    assert_eq!(cells[0]["depth"], 1);
    assert_eq!(cells[0]["runs"], 2);
    assert_eq!(cells[10]["genre"], "all");
    assert_eq!(cells[10]["runs"], 10);
    let other = world(&[
        "--balance",
        "--json",
        "--seeds",
        "2",
        "--first-seed",
        "8",
        "--depths",
        "1-2",
        "--seconds",
        "30",
        "--policy",
        "fighter",
    ]);
    assert!(other.status.success());
    assert_ne!(other.stdout, text.as_bytes());
}

#[test]
fn balance_table_and_chart() {
    let dir = venture_testkit::Scratch::new("balance-png");
    let png = dir.join("balance.png");
    let out = world(&[
        "--balance",
        "--seeds",
        "1",
        "--depths",
        "3",
        "--seconds",
        "10",
        "--png",
        png.to_str().expect("utf-8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        text.contains("alive_60s") && text.contains("first_death"),
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.contains("    3 ")).count(),
        6,
        "{text}"
    );
    let bytes = std::fs::read(&png).expect("png written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn bad_balance_flags_exit_2_and_say_what_is_valid() {
    let cases: [(&[&str], &str); 6] = [
        (&["--balance", "--policy", "pro"], "novice or fighter"),
        (&["--balance", "--depths", "5-1"], "e.g. 3 or 1-5"),
        (&["--balance", "--depths", "0"], "e.g. 3 or 1-5"),
        (&["--balance", "--seeds", "0"], "1 to 100000"),
        (&["--depths", "1-3"], "-depths needs -balance"),
        (&["--balance", "--simulate", "5"], "do not go together"),
    ];
    for (args, says) in cases {
        let out = world(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
}
