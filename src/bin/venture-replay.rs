//! venture-replay: verify, inspect and dump recorded Venture sessions, and record scripted
//! ones for tests and benchmarks.
//!
//! Exit codes: 0 success; 1 verification failed (the first diverging or damaged tick is
//! named); 2 the file is unreadable or malformed, or the arguments are wrong.

#![forbid(unsafe_code)]

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use venture::flags::{FlagTable, Parsed, Spec, Valid};
use venture_replay::{
    record_scripted, replay_to, verify, Failure, ScriptedSession, SegmentClose, SegmentEnd,
    SessionReader, Tail,
};
use venture_sim::{Genre, SimConfig};

venture::flag_table! {
    /// `venture-replay verify`.
    pub struct VerifyArgs {
        file: PathBuf = positional("FILE", "the session log"),
        strict: bool = switch("strict",
            "also fail (exit 1) on a torn tail or a session without an End record"),
    }
}

venture::flag_table! {
    /// `venture-replay info`.
    pub struct InfoArgs {
        file: PathBuf = positional("FILE", "the session log"),
        json: bool = switch("json", "print one JSON object"),
    }
}

venture::flag_table! {
    /// `venture-replay dump`.
    pub struct DumpArgs {
        file: PathBuf = positional("FILE", "the session log"),
        tick: Option<u64> = optional("tick", "TICK", Valid::Range(0, u64::MAX as i128),
            "the tick to show (default: the start tick)"),
        from_start: bool = switch("from-start",
            "re-simulate from the start instead of the nearest keyframe"),
        only: Option<String> = optional("only", "SECTIONS", Valid::Check(sections_ok,
            "a comma-separated list of tick, checksum, config, map, players, monsters, projectiles, ground_items, streams, nav, next_entity, log"),
            "print only these sections"),
    }
}

venture::flag_table! {
    /// `venture-replay diff`.
    pub struct DiffArgs {
        a: PathBuf = positional("A", "a session log, a dump or a desync report"),
        b: PathBuf = positional("B", "a session log, a dump or a desync report"),
        tick: Option<u64> = optional("tick", "TICK", Valid::Range(0, u64::MAX as i128),
            "the tick at which to compare session logs (default: the tick of the dump or report given)"),
        limit: usize = value("limit", "N", "200", Valid::Range(1, 1_000_000),
            "print at most this many differences"),
    }
}

venture::flag_table! {
    /// `venture-replay play`.
    pub struct PlayArgs {
        file: PathBuf = positional("FILE", "the session log"),
        tick: Option<u64> = optional("tick", "TICK", Valid::Range(0, u64::MAX as i128),
            "start at this tick (default: the start of the session)"),
        paused: bool = switch("paused", "start paused"),
    }
}

fn sections_ok(s: &str) -> bool {
    s.split(',')
        .all(|x| x == "log" || venture_replay::inspect::SECTIONS.contains(&x.trim()))
}

venture::flag_table! {
    /// `venture-replay record-scripted`.
    pub struct RecordArgs {
        file: PathBuf = positional("FILE", "where to write the log"),
        ticks: u64 = value("ticks", "N", "1200", Valid::Range(0, u32::MAX as i128),
            "ticks to record"),
        players: usize = value("players", "N", "4",
            Valid::Range(0, venture_sim::MAX_SLOTS as i128), "scripted players"),
        seed: u64 = value("seed", "SEED", "12345", Valid::Range(0, u64::MAX as i128),
            "world and script seed"),
        genre: Genre = value("genre", "GENRE", "fantasy", Valid::Parses(Genre::valid_list),
            "genre"),
        size: String = value("size", "WxH", "100x100", Valid::Check(size_ok, "WxH, e.g. 100x100"),
            "map size"),
        tick_rate: u32 = value("tick-rate", "HZ", "20", Valid::Range(1, 60),
            "ticks per second"),
        snapshot_every: u64 = value("snapshot-every", "N", "1200",
            Valid::Range(0, u32::MAX as i128), "write a keyframe every this many ticks, 0 for none"),
    }
}

fn size_ok(s: &str) -> bool {
    parse_size(s).is_some()
}

/// The subcommands: name, one-line description.
const COMMANDS: [(&str, &str); 6] = [
    (
        "verify",
        "Re-simulate a session and check every recorded checksum and keyframe.",
    ),
    (
        "info",
        "Show a session's header, players, duration and tail status.",
    ),
    (
        "dump",
        "Re-simulate to a tick and print the whole world state as JSON.",
    ),
    (
        "diff",
        "Compare two states (session logs at a tick, dumps, desync reports) field by field.",
    ),
    (
        "play",
        "Watch a session in the terminal: play, pause, step, seek, follow a player.",
    ),
    (
        "record-scripted",
        "Record a session of scripted bots (a developer tool for tests and benchmarks).",
    ),
];

const NOTE: &str = "Exit status: 0 success; 1 verification failed; 2 unreadable or malformed file, or a usage error.";

const PLAY_NOTE: &str = "Keys: Space play/pause; Right/Left (. ,) one tick forward/back; + - speed (1/4x to 16x); PgUp/PgDn (] [) 10 s forward/back; g seek to a tick (1234) or a time (01:30, 90s); Tab follow the next player; ? help; q/Esc quit.
The log is loaded (at most 512 MiB) and verified first; a log that fails verification plays up to its first bad tick.
Exit status: 0 success; 2 unreadable or malformed file, no terminal, or a usage error.";

fn spec(program: &'static str, about: &'static str) -> Spec {
    Spec {
        program,
        about,
        note: NOTE,
    }
}

fn top_help() -> String {
    let mut out = String::from(
        "Usage: venture-replay COMMAND [flags]\n\nVerify, inspect and dump Venture session logs.\n\nCommands:\n",
    );
    for (name, about) in COMMANDS {
        out.push_str(&format!("  {name:<16} {about}\n"));
    }
    out.push_str("\nRun venture-replay COMMAND -help for a command's flags.\n");
    out.push_str(NOTE);
    out.push('\n');
    out
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

/// Parses a subcommand's flags and runs it; `-help` prints and succeeds.
fn run<T: FlagTable>(
    program: &'static str,
    args: impl Iterator<Item = String>,
    cmd: fn(&T) -> Result<(), Exit>,
) -> Result<(), Exit> {
    let about = COMMANDS
        .iter()
        .find(|(name, _)| program.ends_with(name))
        .map_or("", |(_, about)| about);
    let mut spec = spec(program, about);
    if program.ends_with(" play") {
        spec.note = PLAY_NOTE;
    }
    match spec.parse::<T>(args) {
        Ok(Parsed::Run(a)) => cmd(&a),
        Ok(Parsed::Help(text)) => {
            print!("{text}");
            Ok(())
        }
        Err(e) => Err(Exit {
            code: 2,
            message: e.to_string(),
        }),
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next();
    let result = match command.as_deref() {
        Some("verify") => run("venture-replay verify", args, cmd_verify),
        Some("info") => run("venture-replay info", args, cmd_info),
        Some("dump") => run("venture-replay dump", args, cmd_dump),
        Some("diff") => run("venture-replay diff", args, cmd_diff),
        Some("play") => run("venture-replay play", args, cmd_play),
        Some("record-scripted") => run("venture-replay record-scripted", args, cmd_record),
        Some("help" | "-h" | "-help" | "--help") => {
            print!("{}", top_help());
            Ok(())
        }
        other => Err(Exit {
            code: 2,
            message: format!(
                "{} (valid: {}; run with -help for usage)",
                other.map_or("missing command".to_owned(), |c| format!(
                    "unknown command {c:?}"
                )),
                COMMANDS.map(|(name, _)| name).join(", ")
            ),
        }),
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
    for (i, segment) in report.segments.iter().enumerate() {
        println!("segment {}: {segment}", i + 1);
    }
    let crashes = report
        .segments
        .iter()
        .filter(|s| s.end == SegmentEnd::Crashed)
        .count();
    let gaps: usize = report.segments.iter().map(|s| s.gaps.len()).sum();
    match report.segments.last().map(|s| (&s.end, s.end_tick)) {
        Some((SegmentEnd::Stopped { reason }, tick)) => {
            println!("clean stop at tick {tick} ({reason})")
        }
        Some((SegmentEnd::Ended { reason }, tick)) => println!("ended at tick {tick} ({reason})"),
        _ => {}
    }
    if crashes > 0 || gaps > 0 {
        println!(
            "{} segments: {crashes} crash(es) resumed, {gaps} gap(s) from write failures",
            report.segments.len()
        );
    }
    let mut strict_problem = None;
    let open = report
        .segments
        .last()
        .is_some_and(|s| s.end == SegmentEnd::Open);
    match &report.tail {
        Some(Tail::Torn { offset, bytes }) => {
            eprintln!(
                "venture-replay: warning: {path}: torn tail: {bytes} bytes of an incomplete record at offset {offset} ignored (a crash mid-write?)"
            );
            strict_problem = Some("torn tail");
        }
        _ if open => {
            eprintln!(
                "venture-replay: warning: {path}: the session has no End or Stop record after tick {} (still recording, or interrupted)",
                report.last_tick
            );
            strict_problem = Some("no End or Stop record");
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

fn cmd_info(a: &InfoArgs) -> Result<(), Exit> {
    // Streams the log: a long session never has to fit in memory.
    let reader = SessionReader::open(&a.file).map_err(|e| malformed(&a.file, e))?;
    let info = venture_replay::info(&a.file.display().to_string(), reader)
        .map_err(|e| malformed(&a.file, e))?;
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
    println!("duration:      {}", format_duration(info.duration()));
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
        None => println!("end:           none (a server log: see its segments)"),
    }
    println!("segments:      {}", info.segments.len());
    for (i, s) in info.segments.iter().enumerate() {
        let how = match s.end {
            SegmentClose::Stopped => format!("clean stop at tick {}", s.end_tick),
            SegmentClose::Crashed => format!("crashed after tick {} (resumed there)", s.end_tick),
            SegmentClose::Ended => format!("ended at tick {}", s.end_tick),
            SegmentClose::Open => format!(
                "open after tick {} (still recording, or the process died)",
                s.end_tick
            ),
        };
        let reason = s
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        println!(
            "  {}. ticks {} to {}: {} frames, {} keyframes, {how}{reason}; recorder {}",
            i + 1,
            s.start_tick,
            s.end_tick,
            s.frames,
            s.keyframes,
            s.recorder
        );
        for (from, to) in &s.gaps {
            println!(
                "     frames {from} to {to} missing (write failure; continued from a keyframe)"
            );
        }
    }
    println!("tail:          {}", info.tail);
    Ok(())
}

/// `play`: the file is loaded and verified before the terminal is touched, so a bad file
/// or a missing terminal is a plain error (exit 2) on a normal screen.
fn cmd_play(a: &PlayArgs) -> Result<(), Exit> {
    let mut progress = Progress::new();
    let loaded =
        venture::viewer::Timeline::load_with(&a.file, |done, total| progress.update(done, total));
    progress.clear();
    let mut timeline = loaded.map_err(|e| malformed(&a.file, e))?;
    if let Some(tick) = a.tick {
        timeline.seek(tick).map_err(|e| malformed(&a.file, e))?;
    }
    let usage = |e: venture::viewer::PlayError| Exit {
        code: 2,
        message: e.to_string(),
    };
    let ended = venture::viewer::run_with(timeline, !a.paused).map_err(usage)?;
    if ended == venture::viewer::Ended::Signal {
        eprintln!("venture-replay: stopped by a signal");
    }
    Ok(())
}

fn cmd_dump(a: &DumpArgs) -> Result<(), Exit> {
    let reader = SessionReader::open(&a.file).map_err(|e| malformed(&a.file, e))?;
    let tick = a.tick.unwrap_or(reader.header().start_tick);
    let replayed = replay_to(reader, tick, !a.from_start).map_err(|e| malformed(&a.file, e))?;
    let world = &replayed.world;
    let checksum = world.checksum();
    if let Some((t, expected, actual)) = replayed.first_mismatch {
        eprintln!(
            "venture-replay: warning: {}: checksum differs at tick {t} (expected 0x{expected:08x}, actual 0x{actual:08x}); run verify",
            a.file.display()
        );
    }
    let only: Option<Vec<String>> = a
        .only
        .as_ref()
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
    let state_sections: Option<Vec<String>> = only
        .as_ref()
        .map(|o| o.iter().filter(|x| *x != "log").cloned().collect());
    let mut view = venture_replay::inspect::dump(world, state_sections.as_deref())
        .map_err(|e| malformed(&a.file, e))?;
    // How the state relates to the log it came from (not state: `diff` ignores it).
    if only.as_ref().is_none_or(|o| o.iter().any(|x| x == "log")) {
        view["log"] = serde_json::json!({
            "recorded_checksum": replayed.recorded_checksum.map(|c| format!("{c:08x}")),
            "matches_log": replayed.first_mismatch.is_none()
                && replayed.recorded_checksum.is_none_or(|c| c == checksum),
            "keyframe": replayed.keyframe,
            "first_mismatch": replayed.first_mismatch.map(|(t, e, a)| {
                serde_json::json!({"tick": t, "expected": format!("{e:08x}"), "actual": format!("{a:08x}")})
            }),
        });
    }
    // Invariant: a JSON value always serialises.
    println!(
        "{}",
        serde_json::to_string_pretty(&view).expect("a JSON value serialises")
    );
    Ok(())
}

/// Exit 0 when the two states are equal, 1 when they differ (each differing field named
/// by its path), 2 when either cannot be loaded.
fn cmd_diff(a: &DiffArgs) -> Result<(), Exit> {
    use venture_replay::inspect::{diff, is_session_log, load};
    let usage = |message: String| Exit { code: 2, message };
    // A session log needs a tick: given, or taken from the other side (a dump or report).
    let tick = match a.tick {
        Some(t) => Some(t),
        None => {
            let other = [&a.a, &a.b].into_iter().find(|p| !is_session_log(p));
            match other {
                Some(p) => Some(load(p, None).map_err(|e| usage(e.to_string()))?.tick),
                None => None,
            }
        }
    };
    let left = load(&a.a, tick).map_err(|e| usage(e.to_string()))?;
    let right = load(&a.b, tick).map_err(|e| usage(e.to_string()))?;
    let describe = |p: &Path, l: &venture_replay::inspect::Loaded| {
        format!(
            "{}: {} at tick {}, checksum {}{}",
            p.display(),
            l.kind,
            l.tick,
            l.state["checksum"].as_str().unwrap_or("?"),
            l.authority_checksum
                .as_ref()
                .map_or(String::new(), |c| format!(" (server's {c})"))
        )
    };
    println!("A {}", describe(&a.a, &left));
    println!("B {}", describe(&a.b, &right));
    if left.tick != right.tick {
        println!(
            "note: comparing different ticks ({} and {})",
            left.tick, right.tick
        );
    }
    let differences = diff(&left.state, &right.state, a.limit.saturating_add(1));
    if differences.is_empty() {
        println!("equal");
        return Ok(());
    }
    for d in differences.iter().take(a.limit) {
        println!("{d}");
    }
    if differences.len() > a.limit {
        println!("... (more than {} differences; raise -limit)", a.limit);
    }
    Err(Exit {
        code: 1,
        message: format!(
            "the states differ ({}{} fields)",
            if differences.len() > a.limit {
                "more than "
            } else {
                ""
            },
            differences.len().min(a.limit)
        ),
    })
}

fn parse_size(s: &str) -> Option<(u16, u16)> {
    let (w, h) = s.split_once(['x', 'X'])?;
    Some((w.trim().parse().ok()?, h.trim().parse().ok()?))
}

fn cmd_record(a: &RecordArgs) -> Result<(), Exit> {
    let usage = |message: String| Exit { code: 2, message };
    let genre = a.genre;
    // The table's `size_ok` accepted it, so it parses.
    let (width, height) =
        parse_size(&a.size).ok_or_else(|| usage(format!("bad size {:?}", a.size)))?;
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
