//! The deployment guide's backup recipe, `tar -czf saves-DATE.tar.gz -C SAVE_DIR .`, taken
//! while the server runs with bots: restored into an empty directory, it starts a server
//! that resumes the world (from the archived snapshot, at or after its tick) with the
//! same key and the characters, and a bot plays there again as itself.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use venture_testkit::standby::status;
use venture_testkit::{bin, characters, free_port, wait_for, Proc, Scratch, Server};

const SECRET: [u8; 16] = *b"back-me-up-daily";

fn server(dir: &Path, port: u16, tag: &str) -> Server {
    Server::builder(bin!("venture-server"))
        .persisting_in(dir)
        .port(port)
        .tag(tag)
        .args(&["--autosave", "1"])
        .start()
}

fn tar(args: &[&str]) {
    let out = Command::new("tar").args(args).output().expect("tar runs");
    assert!(
        out.status.success(),
        "tar {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_live_tar_of_saves_restores_to_a_server_that_resumes() {
    let dir = Scratch::new("backup");
    let live = dir.path().join("live");
    let secrets = dir.path().join("secrets");
    let before = characters::veteran();
    characters::plant(&live, &secrets, "keep", &SECRET, &before);
    let port = free_port();
    let s = server(&live, port, "live");
    let secret_dir = secrets.display().to_string();
    let addr = format!("127.0.0.1:{port}");
    let client = |cwd: &Path, tag: &str, seconds: &str| {
        Proc::spawn(
            bin!("venture-client"),
            &[
                "--server",
                &addr,
                "--name",
                "keep",
                "--bot",
                "explore",
                "--duration",
                seconds,
                "--status-every",
                "1",
                "--secret-dir",
                &secret_dir,
            ],
            cwd,
            tag,
            &[],
        )
    };
    let b = client(dir.path(), "bot", "30");
    assert!(wait_for(Duration::from_secs(30), || b
        .stderr()
        .matches(": playing tick")
        .count()
        >= 3));
    // A few autosaves under way while the archive is taken.
    std::thread::sleep(Duration::from_secs(2));
    let archive = dir.path().join("saves-backup.tar.gz");
    let saves = live.join("saves");
    tar(&[
        "-czf",
        &archive.display().to_string(),
        "-C",
        &saves.display().to_string(),
        ".",
    ]);
    let live_tick = status(port).and_then(|v| v["tick"].as_u64()).expect("tick");
    let seed = status(port).and_then(|v| v["seed"].as_i64()).expect("seed");
    b.signal("KILL");
    drop(s);

    // The guide's disaster recovery: extract into the new host's saves directory.
    let restored = dir.path().join("restored");
    let rsaves = restored.join("saves");
    std::fs::create_dir_all(&rsaves).expect("saves dir");
    tar(&[
        "-xzf",
        &archive.display().to_string(),
        "-C",
        &rsaves.display().to_string(),
    ]);
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(rsaves.join(format!("worlds/{}-fantasy/world.json", seed as u64)))
            .expect("the archive holds the world's description"),
    )
    .expect("world.json is JSON");
    let archived_tick = meta["tick"].as_u64().expect("tick");
    assert!(archived_tick > 0 && archived_tick <= live_tick);
    let port2 = free_port();
    let s2 = server(&restored, port2, "restored");
    let v = status(port2).expect("status");
    assert_eq!(
        v["seed"].as_i64(),
        Some(seed),
        "the restored server resumed another world: {v}"
    );
    assert!(
        v["tick"].as_u64().is_some_and(|t| t >= archived_tick),
        "{v}"
    );
    assert!(s2.stdout().contains("world resumed"), "{}", s2.stdout());
    let addr2 = format!("127.0.0.1:{port2}");
    let mut b2 = Proc::spawn(
        bin!("venture-client"),
        &[
            "--server",
            &addr2,
            "--name",
            "keep",
            "--bot",
            "explore",
            "--duration",
            "4",
            "--secret-dir",
            &secret_dir,
        ],
        dir.path(),
        "bot2",
        &[],
    );
    // Same key (the pin holds: no refusal), same character (level 7+, its items).
    assert_eq!(
        b2.wait_timeout(Duration::from_secs(30)),
        Some(Some(0)),
        "{}",
        b2.stderr()
    );
    let v: serde_json::Value =
        serde_json::from_str(b2.stdout().lines().last().expect("final JSON")).expect("JSON");
    assert_eq!(v["desyncs"], 0, "{v}");
    drop(s2);
    let after = characters::saved(&restored, "keep");
    assert!(after.progress.level >= 7, "{:?}", after.progress);
    characters::assert_keeps_items(&after, &before);
}
