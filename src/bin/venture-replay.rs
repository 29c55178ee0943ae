//! venture-replay: verify, inspect and dump recorded Venture sessions, and record scripted
//! ones for tests and benchmarks.
//!
//! Exit codes: 0 success; 1 verification failed (the first diverging or damaged tick is
//! named); 2 the file is unreadable or malformed, or the arguments are wrong.

use argh::FromArgs;
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use venture_replay::{
    record_scripted, replay_to, ticks_to_duration, verify, Failure, Record, ScriptedSession,
    SessionReader, Tail, FORMAT_VERSION,
};
use venture_sim::{Command, Genre, SimConfig, World, SIM_VERSION};

/// Verify, inspect and dump Venture session logs.
#[derive(FromArgs)]
struct Args {
    #[argh(subcommand)]
    cmd: Cmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum Cmd {
    Verify(VerifyArgs),
    Info(InfoArgs),
    Dump(DumpArgs),
    RecordScripted(RecordArgs),
}

/// Re-simulate a session and check every recorded checksum and keyframe.
#[derive(FromArgs)]
#[argh(subcommand, name = "verify")]
struct VerifyArgs {
    /// the session log
    #[argh(positional)]
    file: PathBuf,
    /// also fail (exit 1) on a torn tail or a session without an End record
    #[argh(switch)]
    strict: bool,
}

/// Show a session's header, players, duration and tail status.
#[derive(FromArgs)]
#[argh(subcommand, name = "info")]
struct InfoArgs {
    /// the session log
    #[argh(positional)]
    file: PathBuf,
    /// print one JSON object
    #[argh(switch)]
    json: bool,
}

/// Re-simulate to a tick and print the world state as JSON.
#[derive(FromArgs)]
#[argh(subcommand, name = "dump")]
struct DumpArgs {
    /// the session log
    #[argh(positional)]
    file: PathBuf,
    /// the tick to show (default: the start tick)
    #[argh(option)]
    tick: Option<u64>,
    /// re-simulate from the start instead of the nearest keyframe
    #[argh(switch)]
    from_start: bool,
}

/// Record a session of scripted bots (a developer tool for tests and benchmarks).
#[derive(FromArgs)]
#[argh(subcommand, name = "record-scripted")]
struct RecordArgs {
    /// where to write the log
    #[argh(positional)]
    file: PathBuf,
    /// ticks to record (default 1200)
    #[argh(option, default = "1200")]
    ticks: u64,
    /// scripted players, 0 to 64 (default 4)
    #[argh(option, default = "4")]
    players: usize,
    /// world and script seed (default 12345)
    #[argh(option, default = "12345")]
    seed: u64,
    /// genre: fantasy, scifi, horror, cyberpunk, postapoc (default fantasy)
    #[argh(option, default = "String::from(\"fantasy\")")]
    genre: String,
    /// map size as WxH (default 100x100)
    #[argh(option, default = "String::from(\"100x100\")")]
    size: String,
    /// ticks per second, 1 to 60 (default 20)
    #[argh(option, default = "20")]
    tick_rate: u32,
    /// write a keyframe every this many ticks, 0 for none (default 1200)
    #[argh(option, default = "1200")]
    snapshot_every: u64,
}

/// A failure to report and its exit code.
struct Exit {
    code: u8,
    message: String,
}

fn malformed(path: &Path, e: impl std::fmt::Display) -> Exit {
    Exit {
        code: 2,
        message: format!("{}: {e}", path.display()),
    }
}

fn main() -> ExitCode {
    let args: Args = argh::from_env();
    let result = match args.cmd {
        Cmd::Verify(a) => cmd_verify(&a),
        Cmd::Info(a) => cmd_info(&a),
        Cmd::Dump(a) => cmd_dump(&a),
        Cmd::RecordScripted(a) => cmd_record(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(exit) => {
            if !exit.message.is_empty() {
                eprintln!("venture-replay: {}", exit.message);
            }
            ExitCode::from(exit.code)
        }
    }
}

/// `1h 02m 03.50s`, `2m 03.50s` or `3.50s`.
fn format_duration(d: Duration) -> String {
    let total = d.as_secs();
    let centis = d.subsec_millis() / 10;
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    if h > 0 {
        format!("{h}h {m:02}m {s:02}.{centis:02}s")
    } else if m > 0 {
        format!("{m}m {s:02}.{centis:02}s")
    } else {
        format!("{s}.{centis:02}s")
    }
}

/// A one-line progress display on stderr, redrawn at most ten times a second.
struct Progress {
    enabled: bool,
    last: Option<Instant>,
    drawn: bool,
}

impl Progress {
    fn new() -> Self {
        Progress {
            enabled: std::io::stderr().is_terminal(),
            last: None,
            drawn: false,
        }
    }

    fn update(&mut self, done: u64, total: u64) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now - t < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(now);
        let total = total.max(done);
        let width = 30u64;
        let filled = (done.saturating_mul(width))
            .checked_div(total)
            .unwrap_or(0)
            .min(width);
        let bar: String = (0..width)
            .map(|i| if i < filled { '#' } else { '.' })
            .collect();
        let percent = done.saturating_mul(100).checked_div(total).unwrap_or(0);
        eprint!("\r[{bar}] {percent:>3}% {done}/~{total} ticks");
        let _ = std::io::stderr().flush();
        self.drawn = true;
    }

    fn clear(&mut self) {
        if self.drawn {
            eprint!("\r{:60}\r", "");
            self.drawn = false;
        }
    }
}

fn cmd_verify(a: &VerifyArgs) -> Result<(), Exit> {
    let reader = SessionReader::open(&a.file).map_err(|e| malformed(&a.file, e))?;
    let mut progress = Progress::new();
    let started = Instant::now();
    let report = verify(reader, |done, total| progress.update(done, total))
        .map_err(|e| malformed(&a.file, e));
    progress.clear();
    let report = report?;
    let elapsed = started.elapsed();
    let rate = report.ticks_verified as f64 / elapsed.as_secs_f64().max(1e-9);
    let path = a.file.display();
    if let Some(failure) = &report.failure {
        println!("FAILED {path}: {failure}");
        if let Failure::Divergence(d) = failure {
            println!(
                "first diverging tick {}: expected 0x{:08x}, actual 0x{:08x}",
                d.tick, d.expected, d.actual
            );
        }
        println!(
            "{} ticks verified before tick {}",
            report.ticks_verified,
            failure.tick()
        );
        return Err(Exit {
            code: 1,
            message: String::new(),
        });
    }
    println!(
        "OK {path}: {} ticks verified ({} of game time at {} Hz) in {:.3}s, {:.0} ticks/s, {} keyframes checked",
        report.ticks_verified,
        format_duration(report.game_time()),
        report.config.tick_rate,
        elapsed.as_secs_f64(),
        rate,
        report.snapshots_checked
    );
    let mut strict_problem = None;
    match &report.tail {
        Some(Tail::Torn { offset, bytes }) => {
            eprintln!(
                "venture-replay: warning: {path}: torn tail: {bytes} bytes of an incomplete record at offset {offset} ignored (a crash mid-write?)"
            );
            strict_problem = Some("torn tail");
        }
        _ if report.end.is_none() => {
            eprintln!(
                "venture-replay: warning: {path}: the session has no End record (still recording, or interrupted)"
            );
            strict_problem = Some("no End record");
        }
        _ => {}
    }
    if let (true, Some(problem)) = (a.strict, strict_problem) {
        return Err(Exit {
            code: 1,
            message: format!("{path}: --strict: {problem}"),
        });
    }
    Ok(())
}

#[derive(Serialize)]
struct PlayerEvent {
    tick: u64,
    slot: u8,
    name: Option<String>,
}

#[derive(Serialize)]
struct Info {
    file: String,
    size_bytes: u64,
    format_version: u16,
    sim_version: u32,
    recorder: String,
    seed: u64,
    genre: &'static str,
    depth: u32,
    difficulty_permille: u32,
    width: u16,
    height: u16,
    tick_rate: u32,
    max_players: u8,
    start_tick: u64,
    start_snapshot_bytes: Option<usize>,
    frames: u64,
    first_tick: Option<u64>,
    last_tick: u64,
    duration_secs: f64,
    keyframes: usize,
    joins: Vec<PlayerEvent>,
    leaves: Vec<PlayerEvent>,
    end: Option<String>,
    tail: String,
}

fn cmd_info(a: &InfoArgs) -> Result<(), Exit> {
    // Streams the log: a long session never has to fit in memory.
    let mut reader = SessionReader::open(&a.file).map_err(|e| malformed(&a.file, e))?;
    let size = reader.len_hint().unwrap_or(0);
    let h = reader.header().clone();
    let mut joins = Vec::new();
    let mut leaves = Vec::new();
    let (mut frames, mut first_tick, mut last_tick) = (0u64, None, h.start_tick);
    let (mut keyframes, mut end) = (0usize, None);
    while let Some(record) = reader.next_record().map_err(|e| malformed(&a.file, e))? {
        match record {
            Record::Frame { frame, .. } => {
                frames += 1;
                first_tick.get_or_insert(frame.tick);
                last_tick = frame.tick;
                for c in &frame.commands {
                    match c {
                        Command::Join { slot, name } => joins.push(PlayerEvent {
                            tick: frame.tick,
                            slot: *slot,
                            name: Some(name.clone()),
                        }),
                        Command::Leave { slot } => leaves.push(PlayerEvent {
                            tick: frame.tick,
                            slot: *slot,
                            name: None,
                        }),
                        // Restores of saved characters follow their Join; chat is not
                        // about who played.
                        Command::Restore { .. }
                        | Command::GiveItem { .. }
                        | Command::Chat { .. } => {}
                    }
                }
            }
            Record::Snapshot { .. } => keyframes += 1,
            Record::End { reason } => end = Some(reason),
        }
    }
    let tail = reader.tail().cloned().unwrap_or(Tail::Clean);
    let duration = ticks_to_duration(frames, h.config.tick_rate);
    let info = Info {
        file: a.file.display().to_string(),
        size_bytes: size,
        format_version: FORMAT_VERSION,
        sim_version: SIM_VERSION,
        recorder: h.recorder.clone(),
        seed: h.config.seed,
        genre: h.config.genre.id(),
        depth: h.config.depth,
        difficulty_permille: h.config.difficulty_permille,
        width: h.config.width,
        height: h.config.height,
        tick_rate: h.config.tick_rate,
        max_players: h.config.max_players,
        start_tick: h.start_tick,
        start_snapshot_bytes: h.start_snapshot.as_ref().map(Vec::len),
        frames,
        first_tick,
        last_tick,
        duration_secs: duration.as_secs_f64(),
        keyframes,
        joins,
        leaves,
        end,
        tail: tail.to_string(),
    };
    if a.json {
        // Invariant: Info holds only strings, numbers, options and vectors: serialises.
        println!(
            "{}",
            serde_json::to_string_pretty(&info).expect("info serialises")
        );
        return Ok(());
    }
    println!("file:          {} ({} bytes)", info.file, info.size_bytes);
    println!(
        "format:        {} (simulation version {})",
        info.format_version, info.sim_version
    );
    println!("recorder:      {}", info.recorder);
    println!("seed:          {}", info.seed);
    println!("genre:         {}", info.genre);
    println!("depth:         {}", info.depth);
    println!(
        "difficulty:    {}.{:03}",
        info.difficulty_permille / 1000,
        info.difficulty_permille % 1000
    );
    println!("map size:      {}x{}", info.width, info.height);
    println!("tick rate:     {} Hz", info.tick_rate);
    println!("max players:   {}", info.max_players);
    match info.start_snapshot_bytes {
        Some(n) => println!(
            "start:         tick {} (from a {n}-byte snapshot)",
            info.start_tick
        ),
        None => println!(
            "start:         tick {} (generated from the seed)",
            info.start_tick
        ),
    }
    match info.first_tick {
        Some(first) => println!(
            "frames:        {} (ticks {first} to {})",
            info.frames, info.last_tick
        ),
        None => println!("frames:        0"),
    }
    println!("duration:      {}", format_duration(duration));
    println!("keyframes:     {}", info.keyframes);
    println!(
        "players:       {} joined, {} left",
        info.joins.len(),
        info.leaves.len()
    );
    const SHOWN: usize = 50;
    for j in info.joins.iter().take(SHOWN) {
        println!(
            "  tick {:>8}: slot {:>2} joined as {}",
            j.tick,
            j.slot,
            j.name.as_deref().unwrap_or("")
        );
    }
    for l in info.leaves.iter().take(SHOWN) {
        println!("  tick {:>8}: slot {:>2} left", l.tick, l.slot);
    }
    if info.joins.len() > SHOWN || info.leaves.len() > SHOWN {
        println!("  ... (use --json for the full list)");
    }
    match &info.end {
        Some(reason) => println!("end:           {reason}"),
        None => println!("end:           none (still recording, or interrupted)"),
    }
    println!("tail:          {}", info.tail);
    Ok(())
}

#[derive(Serialize)]
struct XY {
    x: i32,
    y: i32,
}

#[derive(Serialize)]
struct ConfigView {
    seed: u64,
    genre: &'static str,
    depth: u32,
    difficulty_permille: u32,
    width: u16,
    height: u16,
    tick_rate: u32,
    max_players: u8,
    generator: &'static str,
}

#[derive(Serialize)]
struct MapView {
    width: u16,
    height: u16,
    generator: &'static str,
    rooms: usize,
    walkable_tiles: usize,
    spawn: XY,
    exit: XY,
}

#[derive(Serialize)]
struct PlayerView {
    slot: usize,
    id: u32,
    name: String,
    /// Position in sub-tile units (256 per tile).
    pos: XY,
    tile: XY,
    facing: XY,
}

#[derive(Serialize)]
struct DumpView {
    tick: u64,
    checksum: String,
    recorded_checksum: Option<String>,
    matches_log: bool,
    keyframe: Option<u64>,
    first_mismatch: Option<serde_json::Value>,
    config: ConfigView,
    map: MapView,
    players: Vec<PlayerView>,
}

fn config_view(c: &SimConfig) -> ConfigView {
    ConfigView {
        seed: c.seed,
        genre: c.genre.id(),
        depth: c.depth,
        difficulty_permille: c.difficulty_permille,
        width: c.width,
        height: c.height,
        tick_rate: c.tick_rate,
        max_players: c.max_players,
        generator: c.generator_kind().name(),
    }
}

fn dump_view(world: &World) -> (ConfigView, MapView, Vec<PlayerView>) {
    let level = world.level();
    let map = MapView {
        width: world.map().width(),
        height: world.map().height(),
        generator: level.generator.name(),
        rooms: level.rooms.len(),
        walkable_tiles: world.map().walkable_count(),
        spawn: XY {
            x: level.spawn.0,
            y: level.spawn.1,
        },
        exit: XY {
            x: level.exit.0,
            y: level.exit.1,
        },
    };
    let players = world
        .players()
        .map(|(slot, p)| {
            let (tx, ty) = p.pos.tile();
            PlayerView {
                slot,
                id: p.id.0,
                name: p.name.clone(),
                pos: XY {
                    x: p.pos.x,
                    y: p.pos.y,
                },
                tile: XY { x: tx, y: ty },
                facing: XY {
                    x: p.facing.0.into(),
                    y: p.facing.1.into(),
                },
            }
        })
        .collect();
    (config_view(world.config()), map, players)
}

fn cmd_dump(a: &DumpArgs) -> Result<(), Exit> {
    let reader = SessionReader::open(&a.file).map_err(|e| malformed(&a.file, e))?;
    let tick = a.tick.unwrap_or(reader.header().start_tick);
    let replayed = replay_to(reader, tick, !a.from_start).map_err(|e| malformed(&a.file, e))?;
    let world = &replayed.world;
    let checksum = world.checksum();
    let (config, map, players) = dump_view(world);
    if let Some((t, expected, actual)) = replayed.first_mismatch {
        eprintln!(
            "venture-replay: warning: {}: checksum differs at tick {t} (expected 0x{expected:08x}, actual 0x{actual:08x}); run verify",
            a.file.display()
        );
    }
    let view = DumpView {
        tick: world.tick(),
        checksum: format!("{checksum:08x}"),
        recorded_checksum: replayed.recorded_checksum.map(|c| format!("{c:08x}")),
        matches_log: replayed.first_mismatch.is_none()
            && replayed.recorded_checksum.is_none_or(|c| c == checksum),
        keyframe: replayed.keyframe,
        first_mismatch: replayed.first_mismatch.map(|(t, e, a)| {
            serde_json::json!({"tick": t, "expected": format!("{e:08x}"), "actual": format!("{a:08x}")})
        }),
        config,
        map,
        players,
    };
    // Invariant: the view holds only strings, numbers, options and vectors: serialises.
    println!(
        "{}",
        serde_json::to_string_pretty(&view).expect("view serialises")
    );
    Ok(())
}

fn parse_size(s: &str) -> Option<(u16, u16)> {
    let (w, h) = s.split_once(['x', 'X'])?;
    Some((w.trim().parse().ok()?, h.trim().parse().ok()?))
}

fn cmd_record(a: &RecordArgs) -> Result<(), Exit> {
    let usage = |message: String| Exit { code: 2, message };
    let genre: Genre = a.genre.parse().map_err(|e| usage(format!("{e}")))?;
    let (width, height) = parse_size(&a.size)
        .ok_or_else(|| usage(format!("invalid --size {:?}: expected WxH", a.size)))?;
    if a.players > venture_sim::MAX_SLOTS {
        return Err(usage(format!(
            "invalid --players {}: 0 to {}",
            a.players,
            venture_sim::MAX_SLOTS
        )));
    }
    let config = SimConfig {
        seed: a.seed,
        genre,
        width,
        height,
        tick_rate: a.tick_rate,
        max_players: a.players.max(1) as u8,
        ..SimConfig::default()
    };
    config.validate().map_err(|e| usage(e.to_string()))?;
    let file = std::fs::File::create(&a.file).map_err(|e| malformed(&a.file, e))?;
    let started = Instant::now();
    let file = record_scripted(
        file,
        &ScriptedSession {
            config,
            ticks: a.ticks,
            players: a.players,
            script_seed: a.seed,
            snapshot_every: a.snapshot_every,
        },
    )
    .map_err(|e| malformed(&a.file, e))?;
    file.sync_data().map_err(|e| malformed(&a.file, e))?;
    let size = file.metadata().map_err(|e| malformed(&a.file, e))?.len();
    println!(
        "recorded {} ticks, {} players, seed {} to {} ({size} bytes) in {:.3}s",
        a.ticks,
        a.players,
        a.seed,
        a.file.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
