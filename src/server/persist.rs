//! Persistence: where a world lives on disk, atomic writes, the session log (the replay and
//! the crash journal in one), and resuming a world after a restart or a crash.
//!
//! Layout (both roots configurable):
//! ```text
//! saves/latest.json                 the most recent world: {"seed", "genre"}
//! saves/worlds/<seed>-<genre>/world.snapshot   last saved snapshot (atomic, 0600)
//! saves/worlds/<seed>-<genre>/world.json       what the snapshot is (tick, time, sizes)
//! replays/<seed>-<genre>.vrpl       every confirmed frame since the world was created
//! ```
//! Recovery = last snapshot + the log's frames after it, each re-simulated and checked
//! against its recorded checksum. The log is flushed every second, so a `kill -9` loses at
//! most about a second of ticks. Anything unreadable is reported with its path and moved
//! aside (`*.corrupt-<unix time>`), never overwritten.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use venture_replay::{SessionHeader, SessionReader, SessionWriter};
use venture_sim::{Frame, Genre, SimConfig, World};

/// Ticks between keyframe snapshots in the session log (60 s at 20 Hz).
const KEYFRAME_EVERY: u64 = 1200;
/// The log is flushed to the OS this often: the most a kill -9 can lose.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

pub fn world_key(seed: u64, genre: Genre) -> String {
    format!("{seed}-{}", genre.id())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Writes `bytes` to `path` atomically: a temp file in the same directory (mode 0600),
/// fsync, rename over the target, fsync the directory.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("save")
    ));
    {
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Moves a file or directory aside so nothing is lost; returns where it went.
pub fn move_aside(path: &Path, why: &str) -> io::Result<PathBuf> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let target = path.with_file_name(format!("{name}.{why}-{}", unix_now()));
    fs::rename(path, &target)?;
    Ok(target)
}

/// The paths of one world.
#[derive(Clone, Debug)]
pub struct WorldFiles {
    pub dir: PathBuf,
    pub snapshot: PathBuf,
    pub meta: PathBuf,
    pub latest: PathBuf,
    /// `None` with `--no-replay` (then there is no journal either).
    pub log: Option<PathBuf>,
}

impl WorldFiles {
    pub fn new(saves: &Path, replays: Option<&Path>, seed: u64, genre: Genre) -> Self {
        let key = world_key(seed, genre);
        let dir = saves.join("worlds").join(&key);
        WorldFiles {
            snapshot: dir.join("world.snapshot"),
            meta: dir.join("world.json"),
            latest: saves.join("latest.json"),
            log: replays.map(|r| r.join(format!("{key}.vrpl"))),
            dir,
        }
    }
}

/// The most recent world recorded in `saves/latest.json`, if readable.
pub fn latest_world(saves: &Path) -> Option<(u64, Genre)> {
    let text = fs::read_to_string(saves.join("latest.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let seed = v.get("seed")?.as_u64()?;
    let genre = v.get("genre")?.as_str()?.parse().ok()?;
    Some((seed, genre))
}

/// Moves every file of a world aside (`--new-world` over an existing one).
pub fn retire_world(files: &WorldFiles) -> Vec<String> {
    let mut notes = Vec::new();
    for p in [Some(files.dir.clone()), files.log.clone()]
        .into_iter()
        .flatten()
    {
        if p.exists() {
            match move_aside(&p, "retired") {
                Ok(to) => notes.push(format!(
                    "moved previous world data {} to {}",
                    p.display(),
                    to.display()
                )),
                Err(e) => notes.push(format!("could not move {} aside: {e}", p.display())),
            }
        }
    }
    notes
}

/// What resuming found, for the logs.
#[derive(Debug, Default)]
pub struct ResumeReport {
    pub snapshot_tick: Option<u64>,
    pub replayed_ticks: u64,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
}

/// Loads the world of `files`: the snapshot (if any and valid) plus the journal's frames
/// after it, or a fresh world from `config` when there is nothing to resume. Returns the
/// world and the session log opened for appending (when recording).
pub fn resume(files: &WorldFiles, config: &SimConfig) -> (World, Option<Recorder>, ResumeReport) {
    let mut report = ResumeReport::default();
    let mut world = None;
    if files.snapshot.exists() {
        match fs::read(&files.snapshot)
            .map_err(|e| e.to_string())
            .and_then(|b| World::restore(&b).map_err(|e| e.to_string()))
        {
            Ok(w) if same_world(w.config(), config) => {
                report.snapshot_tick = Some(w.tick());
                world = Some(w);
            }
            Ok(w) => report.warnings.push(format!(
                "save {} is of another world (seed {}, genre {}); not used",
                files.snapshot.display(),
                w.config().seed,
                w.config().genre
            )),
            Err(e) => {
                let moved = move_aside(&files.snapshot, "corrupt")
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|m| format!("not moved: {m}"));
                report.warnings.push(format!(
                    "save {} is unreadable ({e}); moved to {moved}",
                    files.snapshot.display()
                ));
            }
        }
    }
    let Some(log_path) = files.log.clone() else {
        let world = world.unwrap_or_else(|| fresh(config));
        return (world, None, report);
    };
    // Replay the journal on top of the snapshot (or from the start of the world).
    if log_path.exists() {
        match replay_journal(&log_path, world.take(), config, &mut report) {
            Ok((w, writer)) => {
                let recorder = Recorder::new(writer, log_path);
                return (w, Some(recorder), report);
            }
            Err((w, e)) => {
                let w = w.map(|b| *b);
                let moved = move_aside(&log_path, "corrupt")
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|m| format!("not moved: {m}"));
                report.warnings.push(format!(
                    "session log {} cannot be continued ({e}); moved to {moved}",
                    log_path.display()
                ));
                world = w;
            }
        }
    }
    let world = world.unwrap_or_else(|| fresh(config));
    let recorder = match start_log(&log_path, &world) {
        Ok(r) => Some(r),
        Err(e) => {
            report.warnings.push(format!(
                "cannot record the session to {}: {e}",
                log_path.display()
            ));
            None
        }
    };
    (world, recorder, report)
}

fn fresh(config: &SimConfig) -> World {
    // The caller validated the configuration (flags) before; World::new only fails on an
    // invalid one.
    World::new(config).expect("validated configuration")
}

fn same_world(a: &SimConfig, b: &SimConfig) -> bool {
    a.seed == b.seed && a.genre == b.genre
}

/// On failure: the world as far as it got (boxed: a World is large) and why.
type JournalResult = Result<(World, SessionWriter<File>), (Option<Box<World>>, String)>;

fn replay_journal(
    path: &Path,
    snapshot: Option<World>,
    config: &SimConfig,
    report: &mut ResumeReport,
) -> JournalResult {
    let (writer, recovered) = match SessionWriter::open_append(path) {
        Ok(x) => x,
        Err(e) => return Err((snapshot.map(Box::new), e.to_string())),
    };
    if recovered.truncated_bytes > 0 {
        report.notes.push(format!(
            "cut a torn tail of {} bytes from {}",
            recovered.truncated_bytes,
            path.display()
        ));
    }
    if !same_world(&recovered.header.config, config) {
        return Err((snapshot.map(Box::new), "the log is of another world".into()));
    }
    let mut world = match snapshot {
        Some(w) => w,
        None => match venture_replay::start_world(&recovered.header) {
            Ok(w) => w,
            Err(e) => return Err((None, e.to_string())),
        },
    };
    if world.tick() > recovered.last_tick {
        // The snapshot is newer than the log (the log lost its tail): the log can no
        // longer continue contiguously.
        let msg = format!(
            "log ends at tick {} before the save at {}",
            recovered.last_tick,
            world.tick()
        );
        return Err((Some(Box::new(world)), msg));
    }
    let reader = match SessionReader::open(path) {
        Ok(r) => r,
        Err(e) => return Err((Some(Box::new(world)), e.to_string())),
    };
    let start = world.tick();
    for record in reader {
        let Ok(venture_replay::Record::Frame { frame, checksum }) = record else {
            continue;
        };
        if frame.tick <= world.tick() {
            continue;
        }
        if frame.tick > recovered.last_tick {
            break;
        }
        if let Err(e) = world.step(&frame) {
            return Err((Some(Box::new(world)), e.to_string()));
        }
        if world.checksum() != checksum {
            let msg = format!("checksum differs at tick {}", frame.tick);
            return Err((Some(Box::new(world)), msg));
        }
    }
    if world.tick() != recovered.last_tick {
        let msg = format!(
            "log frames stop at tick {}, expected {}",
            world.tick(),
            recovered.last_tick
        );
        return Err((Some(Box::new(world)), msg));
    }
    report.replayed_ticks = world.tick() - start;
    Ok((world, writer))
}

fn start_log(path: &Path, world: &World) -> Result<Recorder, String> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let header = if world.tick() == 0 {
        SessionHeader::new(world.config().clone(), recorder_name())
    } else {
        SessionHeader::from_world(world, recorder_name())
    };
    let writer = SessionWriter::create(path, &header).map_err(|e| e.to_string())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o600));
    }
    Ok(Recorder::new(writer, path.to_path_buf()))
}

fn recorder_name() -> String {
    format!("venture-server {}", crate::cli::VERSION)
}

/// Appends confirmed frames to the session log, with periodic keyframes and flushes.
pub struct Recorder {
    writer: Option<SessionWriter<File>>,
    pub path: PathBuf,
    last_flush: Instant,
    failed: bool,
}

impl Recorder {
    fn new(writer: SessionWriter<File>, path: PathBuf) -> Self {
        Recorder {
            writer: Some(writer),
            path,
            last_flush: Instant::now(),
            failed: false,
        }
    }

    /// Records one confirmed frame; returns an error message once if recording fails (it
    /// then stops: the game goes on, unrecorded).
    pub fn record(&mut self, frame: &Frame, checksum: u32, world: &World) -> Result<(), String> {
        let Some(w) = self.writer.as_mut() else {
            return Ok(());
        };
        let mut result = w.append_frame(frame, checksum);
        if result.is_ok() && frame.tick % KEYFRAME_EVERY == 0 && world.tick() == frame.tick {
            result = w.append_snapshot(frame.tick, &world.snapshot());
        }
        result.map_err(|e| self.fail(e.to_string()))
    }

    /// Flushes to the OS if a second has passed (kill -9 safe; not power-loss safe).
    pub fn maybe_flush(&mut self, now: Instant) -> Result<(), String> {
        if now.saturating_duration_since(self.last_flush) < FLUSH_EVERY {
            return Ok(());
        }
        self.last_flush = now;
        match self.writer.as_mut().map(|w| w.flush()) {
            Some(Err(e)) => Err(self.fail(e.to_string())),
            _ => Ok(()),
        }
    }

    /// Flushes and fsyncs (on saves and shutdown).
    pub fn sync(&mut self) -> Result<(), String> {
        match self.writer.as_mut().map(|w| w.sync()) {
            Some(Err(e)) => Err(self.fail(e.to_string())),
            _ => Ok(()),
        }
    }

    fn fail(&mut self, e: String) -> String {
        self.writer = None;
        self.failed = true;
        format!(
            "session log {}: {e}; recording stopped",
            self.path.display()
        )
    }
}

/// Saves the world snapshot and its description atomically; returns the bytes written.
pub fn save_world(files: &WorldFiles, world: &World) -> io::Result<usize> {
    let bytes = world.snapshot();
    atomic_write(&files.snapshot, &bytes)?;
    let meta = serde_json::json!({
        "seed": world.config().seed,
        "genre": world.config().genre.id(),
        "tick": world.tick(),
        "sim_version": venture_sim::SIM_VERSION,
        "bytes": bytes.len(),
        "saved_at_unix": unix_now(),
        "players": world.player_count(),
    });
    atomic_write(&files.meta, format!("{meta:#}\n").as_bytes())?;
    let latest =
        serde_json::json!({ "seed": world.config().seed, "genre": world.config().genre.id() });
    atomic_write(&files.latest, format!("{latest}\n").as_bytes())?;
    Ok(bytes.len())
}
