//! Every binary reads its command line through one flag table (`src/flags.rs`), so every
//! binary accepts the same forms: `-flag v`, `-flag=v`, `--flag v`, `--flag=v`, answers
//! `-help` with exit 0 and a bad value with exit 2 naming the flag and what is valid.

use std::process::{Command, Output};

const BINARIES: [&str; 4] = [
    env!("CARGO_BIN_EXE_venture-server"),
    env!("CARGO_BIN_EXE_venture-client"),
    env!("CARGO_BIN_EXE_venture-world"),
    env!("CARGO_BIN_EXE_venture-replay"),
];

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin).args(args).output().expect("binary runs")
}

#[test]
fn world_accepts_every_form_alike() {
    let world = BINARIES[2];
    let reference = run(world, &["--seed", "7", "--size", "30x30", "--json"]);
    assert!(reference.status.success());
    for form in [
        &["-seed", "7", "-size", "30x30", "-json"][..],
        &["-seed=7", "-size=30x30", "-json=true"],
        &["--seed=7", "--size", "30x30", "--json"],
    ] {
        let out = run(world, form);
        assert!(out.status.success(), "{form:?}");
        // The JSON carries the generation time, which varies: compare everything else.
        let strip = |o: &Output| {
            let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            v.as_object_mut().unwrap().remove("generation_us");
            v
        };
        assert_eq!(strip(&out), strip(&reference), "{form:?}");
    }
}

#[test]
fn every_binary_answers_help_and_bad_values_alike() {
    for bin in BINARIES {
        let help = if bin.ends_with("venture-replay") {
            run(bin, &["verify", "-help"])
        } else {
            run(bin, &["-help"])
        };
        assert_eq!(help.status.code(), Some(0), "{bin}");
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(text.starts_with("Usage: venture-"), "{bin}: {text}");
        assert!(text.contains("-flag=v"), "{bin}: {text}");
    }
    let cases: [(&str, &[&str], &str); 6] = [
        (
            BINARIES[0],
            &["-tick-rate=0"],
            "invalid value for -tick-rate: 0 (valid: 1 to 60)",
        ),
        (
            BINARIES[1],
            &["--bots", "0"],
            "invalid value for -bots: 0 (valid: 1 to 256)",
        ),
        (
            BINARIES[1],
            &["--server-key", "abc"],
            "invalid value for -server-key: abc (valid: 64 hex digits, optionally after venture-key:)",
        ),
        (
            BINARIES[1],
            &["-server-key=venture-key:zz"],
            "invalid value for -server-key: venture-key:zz (valid: 64 hex digits",
        ),
        (
            BINARIES[2],
            &["-png-scale", "17"],
            "invalid value for -png-scale: 17 (valid: 1 to 16)",
        ),
        (
            BINARIES[3],
            &["record-scripted", "x", "-tick-rate=99"],
            "invalid value for -tick-rate: 99 (valid: 1 to 60)",
        ),
    ];
    for (bin, args, message) in cases {
        let out = run(bin, args);
        assert_eq!(out.status.code(), Some(2), "{bin} {args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{bin}: {stderr}");
        assert!(stderr.contains(message), "{bin} {args:?}: {stderr}");
    }
}
