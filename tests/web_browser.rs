//! The browser client in a real browser (issue 22): Debian's chromium, driven by
//! playwright-core from npm (`tests/browser/`, installed by `.ci/run`), against the real
//! `venture-server` serving its embedded page on 127.0.0.1.
//!
//! Without chromium, node or `tests/browser/node_modules` the test is skipped with a
//! message, except under `CI=true`. Screenshots go to `target/screens/` (and the
//! terminal's capture of the chat test, as text).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use venture_replay::{read_from, record_scripted, ScriptedSession, SessionHeader, SessionWriter};
use venture_sim::script::scripted_frame;
use venture_sim::{SimConfig, World};
use venture_testkit::tools::{skip, tool_or_skip};
use venture_testkit::{bin, Scratch, Server};

const TICKS: u64 = 1_500;
const PLAYERS: usize = 3;
const SCRIPT_SEED: u64 = 4242;
const KEYFRAME_EVERY: u64 = 500;

fn config() -> SimConfig {
    SimConfig {
        width: 70,
        height: 70,
        seed: 99,
        ..SimConfig::default()
    }
}

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn screens_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screens");
    std::fs::create_dir_all(&d).expect("target/screens");
    d
}

/// node and chromium, or None after saying why the test is skipped.
fn tools(test: &str) -> Option<(PathBuf, PathBuf)> {
    let node = tool_or_skip(test, "node", "VENTURE_NODE", &[])?;
    let chromium = tool_or_skip(test, "chromium", "VENTURE_CHROMIUM", &[])?;
    if !browser_dir().join("node_modules/playwright-core").is_dir() {
        skip(
            test,
            "tests/browser/node_modules is missing (npm ci --prefix tests/browser)",
        );
        return None;
    }
    Some((node, chromium))
}

/// Runs `script` under node with `envs`; returns its last stdout line as JSON.
fn run_script(
    node: &Path,
    chromium: &Path,
    script: &str,
    envs: &[(&str, String)],
) -> serde_json::Value {
    let mut cmd = Command::new(node);
    cmd.arg(browser_dir().join(script))
        .current_dir(browser_dir())
        .env("VENTURE_CHROMIUM", chromium)
        .env("VENTURE_SHOTS", screens_dir());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{script} printed {last:?}: {e}"))
}

/// A well-formed log whose recorded checksum of tick `bad` is wrong.
fn log_with_wrong_checksum(bad: u64) -> Vec<u8> {
    let mut world = World::new(&config()).expect("world");
    let header = SessionHeader::new(config(), "test: a wrong checksum");
    let mut writer = SessionWriter::new(Vec::new(), &header).expect("writer");
    for tick in 1..=bad + 100 {
        let frame = scripted_frame(SCRIPT_SEED, tick, PLAYERS);
        world.step(&frame).expect("steps");
        writer
            .append_frame(&frame, world.checksum() ^ u32::from(tick == bad))
            .expect("appends");
    }
    writer.finish("done").expect("finishes")
}

#[test]
fn a_replay_dropped_on_the_served_page_plays_seeks_both_ways_and_stops_at_a_bad_tick() {
    let test = "web_browser::replay";
    let Some((node, chromium)) = tools(test) else {
        return;
    };
    let scratch = Scratch::new("web-replay");
    let log = record_scripted(
        Vec::new(),
        &ScriptedSession {
            config: config(),
            ticks: TICKS,
            players: PLAYERS,
            script_seed: SCRIPT_SEED,
            snapshot_every: KEYFRAME_EVERY,
        },
    )
    .expect("records");
    let expected: serde_json::Map<String, serde_json::Value> = read_from(log.as_slice())
        .expect("reads back")
        .frames
        .iter()
        .map(|(f, sum)| (f.tick.to_string(), (*sum).into()))
        .collect();
    std::fs::write(scratch.join("good.vrpl"), &log).expect("write");
    let bad_tick = 333;
    std::fs::write(scratch.join("bad.vrpl"), log_with_wrong_checksum(bad_tick)).expect("write");

    let server = Server::builder(bin!("venture-server"))
        .args(&["-no-replay", "-tick-rate", "20"])
        .start();
    // Forward past a keyframe, back before it, by time (0:15 = tick 300), forward again.
    let seeks = serde_json::json!([["1200", 1200], ["700", 700], ["0:15", 300], ["1001", 1001]]);
    let out = run_script(
        &node,
        &chromium,
        "replay.mjs",
        &[
            ("VENTURE_URL", format!("http://{}/", server.addr())),
            ("VENTURE_LOG", scratch.arg("good.vrpl")),
            ("VENTURE_BAD_LOG", scratch.arg("bad.vrpl")),
            (
                "VENTURE_EXPECT",
                serde_json::Value::Object(expected).to_string(),
            ),
            ("VENTURE_SEEKS", seeks.to_string()),
            ("VENTURE_BAD_TICK", bad_tick.to_string()),
        ],
    );
    eprintln!("browser: {out}");
    assert_eq!(out["range"], serde_json::json!([0, TICKS]), "{out}");
    assert_eq!(out["pausedAfterToggle"], true, "{out}");
    let seeks = out["seeks"].as_array().expect("seeks");
    let reached: Vec<u64> = seeks.iter().filter_map(|s| s["tick"].as_u64()).collect();
    assert_eq!(reached, [1200, 700, 300, 1001], "{out}");
    for s in seeks.iter().chain([&out["step"]]) {
        assert_eq!(
            s["checksum"], s["expected"],
            "the world after a seek is the recorded one: {s}"
        );
    }
    let status = out["badStatus"].as_str().unwrap_or_default();
    assert!(
        status.contains(&format!("checksum mismatch at tick {bad_tick}"))
            && status.contains("stopped"),
        "{status}"
    );
    assert_eq!(out["badRange"][1], bad_tick - 1, "{out}");
    assert_eq!(out["foreign"], serde_json::json!([]), "{out}");
    assert_eq!(out["errors"], serde_json::json!([]), "{out}");
    let first = out["firstFrameMs"].as_f64().expect("first frame");
    assert!(first > 0.0, "{out}");
    // The server kept ticking while it served the page.
    let tick = server.tick().expect("status");
    assert!(tick > 0);
}

/// The server's session log of `-seed 99 -genre fantasy` in `dir`, after a clean stop.
fn stop_and_read_log(mut server: Server, dir: &Path) -> venture_replay::Session {
    assert!(server.signal("TERM"), "SIGTERM");
    assert!(
        server.proc.wait_exit(Duration::from_secs(20)).is_some(),
        "the server stops on SIGTERM"
    );
    read_from(std::fs::File::open(dir.join("replays/99-fantasy.vrpl")).expect("the recording"))
        .expect("the recording reads")
}

fn live_server(dir: &Path) -> Server {
    Server::builder(bin!("venture-server"))
        .persisting_in(dir)
        .args(&["-seed", "99", "-genre", "fantasy", "-tick-rate", "20"])
        .start()
}

#[test]
fn a_browser_player_joins_by_link_and_the_servers_recording_shows_it_moving_and_fighting() {
    let test = "web_browser::play";
    let Some((node, chromium)) = tools(test) else {
        return;
    };
    let scratch = Scratch::new("web-play");
    let server = live_server(scratch.path());
    let out = run_script(
        &node,
        &chromium,
        "live.mjs",
        &[
            ("VENTURE_URL", format!("http://{}/", server.addr())),
            ("VENTURE_MODE", "play".into()),
            ("VENTURE_NAME", "Ada".into()),
        ],
    );
    eprintln!("browser: {out}");
    assert_eq!(out["errors"], serde_json::json!([]), "{out}");
    assert_eq!(out["foreign"], serde_json::json!([]), "{out}");
    assert_eq!(out["end"]["desyncs"], 0, "{out}");
    assert!(out["end"]["confirmed"].as_u64() > Some(40), "{out}");
    // Enter went to the inventory, not to the chat box; Escape closed it.
    assert_eq!(
        out["inventory"],
        serde_json::json!({"opened": true, "chat_hidden_after_enter": true,
            "open_after_enter": true, "closed": true}),
        "{out}"
    );
    let log = out["end"]["log"].to_string();
    assert!(
        log.contains("You joined as Ada.") && log.contains("Server key pinned from the page"),
        "{out}"
    );
    // /status said it came by WebSocket while it played.
    let session = stop_and_read_log(server, scratch.path());
    let mut world = venture_replay::start_world(&session.header).expect("start world");
    let mut slot = None;
    let mut spawn = None;
    let (mut moved, mut attacked, mut cast, mut swung) = (false, false, false, false);
    let mut unequipped = false;
    for (frame, _) in &session.frames {
        for c in &frame.commands {
            if let venture_sim::Command::Join { slot: s, name } = c {
                if name == "Ada" {
                    slot = Some(*s as usize);
                }
            }
        }
        world.step(frame).expect("the recording steps");
        let Some(s) = slot else { continue };
        if let Some(input) = frame.inputs.get(s) {
            attacked |= input.pressed(venture_sim::buttons::ATTACK);
            cast |= input.pressed(venture_sim::buttons::CAST);
            // The inventory's Enter on the armor row (the second equipment slot).
            unequipped |= input.pressed(venture_sim::buttons::INTERACT)
                && input.slot == venture_sim::gameplay::UNEQUIP_BASE + 1;
        }
        if let Some(p) = world.player(s) {
            let here = p.pos;
            match spawn {
                None => spawn = Some(here),
                Some(at) => moved |= at != here,
            }
            swung |= p.attack_cd > 0;
        }
    }
    assert!(slot.is_some(), "Ada joined in the recording");
    assert!(moved, "Ada moved in the server's world");
    assert!(
        attacked && swung,
        "Ada attacked (held Space): {attacked} {swung}"
    );
    assert!(cast, "Ada cast spell 1");
    assert!(
        unequipped,
        "the inventory's Enter on the armor row reached the server"
    );
}

#[test]
fn a_spectator_page_follows_a_bots_game_with_the_servers_checksums() {
    let test = "web_browser::watch";
    let Some((node, chromium)) = tools(test) else {
        return;
    };
    let scratch = Scratch::new("web-watch");
    let server = live_server(scratch.path());
    let mut bots =
        venture_testkit::burst::fighting_bots(bin!("venture-client"), &server, &scratch, 3);
    let out = run_script(
        &node,
        &chromium,
        "live.mjs",
        &[
            ("VENTURE_URL", format!("http://{}/", server.addr())),
            ("VENTURE_MODE", "watch".into()),
            ("VENTURE_SECONDS", "6".into()),
        ],
    );
    bots.kill9();
    assert_eq!(out["errors"], serde_json::json!([]), "{}", out["errors"]);
    assert_eq!(out["end"]["desyncs"], 0, "{}", out["end"]);
    // A spectator is nobody in the game: the log tells every player's news by name, never
    // as "You hit ..." for the player it happens to follow.
    let log: Vec<&str> = out["end"]["log"]
        .as_array()
        .expect("the log")
        .iter()
        .filter_map(serde_json::Value::as_str)
        .collect();
    assert!(
        !log.iter().any(|l| l.starts_with("You ")),
        "a spectator's log in the second person: {log:?}"
    );
    let sums: Vec<u64> = out["checksums"]
        .as_array()
        .expect("checksums")
        .iter()
        .filter_map(serde_json::Value::as_u64)
        .collect();
    assert!(
        sums.len() >= 2 * 60,
        "at least 3 s of confirmed ticks: {}",
        sums.len() / 2
    );
    let session = stop_and_read_log(server, scratch.path());
    let recorded: std::collections::BTreeMap<u64, u32> =
        session.frames.iter().map(|(f, c)| (f.tick, *c)).collect();
    for pair in sums.chunks(2) {
        let (tick, sum) = (pair[0], pair[1] as u32);
        assert_eq!(
            recorded.get(&tick),
            Some(&sum),
            "the spectator's checksum of tick {tick} is the server's"
        );
    }
    eprintln!(
        "spectator: {} confirmed ticks, all equal to the server's recording",
        sums.len() / 2
    );
}

#[test]
fn a_terminal_player_and_a_browser_player_see_each_other_and_chat() {
    let test = "web_browser::chat";
    let Some((node, chromium)) = tools(test) else {
        return;
    };
    let scratch = Scratch::new("web-chat");
    let server = live_server(scratch.path());
    let tmux = venture_testkit::Tmux::new("web-chat");
    let shell = format!(
        "env XDG_CONFIG_HOME={cfg} TERM=xterm-256color {client} -server 127.0.0.1:{port} --name Tess; sleep 600",
        cfg = scratch.arg("config"),
        client = bin!("venture-client"),
        port = server.port,
    );
    tmux.start(120, 40, &shell);
    tmux.wait_screen("the terminal game", Duration::from_secs(60), |s| {
        s.contains("You joined as Tess.")
    });
    let mut browser = Command::new(&node);
    browser
        .arg(browser_dir().join("live.mjs"))
        .current_dir(browser_dir())
        .env("VENTURE_CHROMIUM", &chromium)
        .env("VENTURE_SHOTS", screens_dir())
        .env("VENTURE_URL", format!("http://{}/", server.addr()))
        .env("VENTURE_MODE", "chat")
        .env("VENTURE_NAME", "Ada")
        .env("VENTURE_EXPECT_CHAT", "<Tess> hello browser")
        .env("VENTURE_SAY", "hello terminal")
        .env("VENTURE_SECONDS", "3")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = browser.spawn().expect("node starts");
    // The terminal sees the browser player join, then says its line.
    tmux.wait_screen("Ada joining", Duration::from_secs(60), |s| {
        s.contains("Ada joined.")
    });
    tmux.keys(&["Enter"]);
    tmux.wait_screen("the chat prompt", Duration::from_secs(20), |s| {
        s.contains("Say:")
    });
    tmux.keys(&["-l", "hello browser"]);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_screen("the browser's answer", Duration::from_secs(60), |s| {
        s.contains("<Ada> hello terminal")
    });
    std::fs::write(
        screens_dir().join("terminal-chat-with-browser.txt"),
        &screen,
    )
    .expect("the terminal's capture");
    let out = child.wait_with_output().expect("node ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("JSON");
    let players = out["end"]["players"].to_string();
    assert!(players.contains("Tess") && players.contains("Ada"), "{out}");
    assert_eq!(out["end"]["desyncs"], 0, "{out}");
    // The terminal draws the browser player's name over it on the map.
    assert!(screen.contains("Ada"), "{screen}");
}
