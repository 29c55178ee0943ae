//! Persistence: where a world lives on disk, atomic writes, the session log (the replay and
//! the crash journal in one), and resuming a world after a restart or a crash.
//!
//! Layout (both roots configurable):
//! ```text
//! saves/latest.json                 the most recent world: {"seed", "genre"}
//! saves/worlds/<seed>-<genre>/world.snapshot   last saved snapshot (atomic, 0600)
//! saves/worlds/<seed>-<genre>/world.json       what the snapshot is (tick, time, sizes)
//! saves/worlds/<seed>-<genre>.lock  held (flock) by the process running that world
//! replays/<seed>-<genre>.vrpl       every confirmed frame since the world was created
//! replays/<seed>-<genre>.vrpl.lock  held (flock) by the process writing that log
//! ```
//! Recovery = the newer of the last snapshot and the log's last keyframe, plus the log's
//! frames after it, each re-simulated and checked against its recorded checksum
//! ([`venture_replay::replay_from`]). The log is flushed every second, so a `kill -9`
//! loses at most about a second of ticks (see `journal.rs` for failing disks). Anything
//! unreadable is reported with its path and moved aside (`*.corrupt-<unix time>`), never
//! overwritten. The locks ([`super::world_lock`]) make sure one process at most writes a
//! world and its log.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use venture_replay::{SessionReader, SessionWriter};
use venture_sim::{Genre, SimConfig, World};

pub use super::journal::Recorder;
use super::world_lock::{LockError, WorldLock};

pub fn world_key(seed: u64, genre: Genre) -> String {
    format!("{seed}-{}", genre.id())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub use crate::atomic_file::write as atomic_write;

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
    /// The world's key, `<seed>-<genre>`.
    pub key: String,
    /// Lock file of the world directory.
    pub dir_lock: PathBuf,
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
            dir_lock: saves.join("worlds").join(format!("{key}.lock")),
            key,
            dir,
        }
    }

    /// Takes the locks of the world directory and of its session log, for the life of
    /// the process (keep what this returns).
    pub fn lock(&self) -> Result<Vec<WorldLock>, LockError> {
        let what = format!("world {}", self.key);
        let mut held = vec![WorldLock::acquire(&self.dir_lock, &what)?];
        if let Some(log) = &self.log {
            let mut name = log.as_os_str().to_owned();
            name.push(".lock");
            let what = format!("session log of world {}", self.key);
            held.push(WorldLock::acquire(Path::new(&name), &what)?);
        }
        Ok(held)
    }
}

/// The worlds in `saves/`, most recent first: `latest.json`'s, then the others by the
/// save time in their `world.json`.
fn recent_worlds(saves: &Path) -> Vec<(u64, Genre)> {
    let mut found: Vec<(u64, u64, Genre)> = Vec::new();
    if let Ok(entries) = fs::read_dir(saves.join("worlds")) {
        for entry in entries.flatten() {
            let meta = entry.path().join("world.json");
            let Some(v) = fs::read_to_string(&meta)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            else {
                continue;
            };
            let (Some(seed), Some(genre)) = (
                v.get("seed").and_then(|s| s.as_u64()),
                v.get("genre")
                    .and_then(|g| g.as_str())
                    .and_then(|g| g.parse::<Genre>().ok()),
            ) else {
                continue;
            };
            // Retired and corrupt copies keep their world.json; only the live one counts.
            if entry.file_name().to_str() != Some(&world_key(seed, genre)) {
                continue;
            }
            let at = v.get("saved_at_unix").and_then(|s| s.as_u64()).unwrap_or(0);
            found.push((at, seed, genre));
        }
    }
    found.sort_by_key(|w| std::cmp::Reverse(w.0));
    let mut out: Vec<(u64, Genre)> = latest_world(saves).into_iter().collect();
    for (_, seed, genre) in found {
        if !out.contains(&(seed, genre)) {
            out.push((seed, genre));
        }
    }
    out
}

/// A world chosen to resume: its seed, genre and the locks now held on it.
pub type LockedWorld = (u64, Genre, Vec<WorldLock>);

/// The most recent world no other process holds, locked; plus one note per world skipped
/// because another process holds it.
pub fn most_recent_unlocked(
    saves: &Path,
    replays: Option<&Path>,
) -> (Option<LockedWorld>, Vec<String>) {
    let mut notes = Vec::new();
    for (seed, genre) in recent_worlds(saves) {
        match WorldFiles::new(saves, replays, seed, genre).lock() {
            Ok(locks) => return (Some((seed, genre, locks)), notes),
            Err(e) => notes.push(format!("skipping a recent world: {e}")),
        }
    }
    (None, notes)
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
                let (recorder, error) =
                    super::journal::resume_log(writer, log_path.clone(), Instant::now());
                if let Some(e) = error {
                    report
                        .warnings
                        .push(format!("cannot continue the session log: {e}; retrying"));
                }
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
    let recorder = match Recorder::create(&log_path, &world) {
        Ok(r) => r,
        Err(e) => {
            report.warnings.push(format!(
                "cannot record the session to {}: {e}; retrying",
                log_path.display()
            ));
            Recorder::pending(log_path, Instant::now())
        }
    };
    (world, Some(recorder), report)
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
    if recovered.format < venture_replay::FORMAT_VERSION {
        report.notes.push(format!(
            "relabelled {} from session log format {} to {}",
            path.display(),
            recovered.format,
            venture_replay::FORMAT_VERSION
        ));
    }
    match &recovered.stopped {
        Some((tick, reason)) => report.notes.push(format!(
            "the previous run stopped cleanly at tick {tick} ({reason})"
        )),
        None => report.notes.push(format!(
            "the previous run did not stop cleanly: its log ends at tick {}",
            recovered.last_tick
        )),
    }
    if !same_world(&recovered.header.config, config) {
        return Err((snapshot.map(Box::new), "the log is of another world".into()));
    }
    let (world, saved) = match snapshot {
        Some(w) => {
            let tick = w.tick();
            (w, Some(tick))
        }
        None => match venture_replay::start_world(&recovered.header) {
            Ok(w) => (w, None),
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
    // Kept for the error path: the shared routine consumes the world it starts from.
    let fallback = world.clone();
    let replayed =
        match venture_replay::replay_from(reader, world, saved, recovered.last_tick, true) {
            Ok(r) => r,
            Err(e) => return Err((Some(Box::new(fallback)), e.to_string())),
        };
    let world = replayed.world;
    if let Some((tick, _, _)) = replayed.first_mismatch {
        let msg = format!("checksum differs at tick {tick}");
        return Err((Some(Box::new(world)), msg));
    }
    if let Some(k) = replayed.keyframe.filter(|&k| Some(k) != saved) {
        report.notes.push(format!(
            "recovery started from the log's keyframe at tick {k}"
        ));
    }
    report.replayed_ticks = world.tick() - start;
    Ok((world, writer))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn put_world(saves: &Path, dir: &str, seed: u64, saved_at: u64) {
        let d = saves.join("worlds").join(dir);
        fs::create_dir_all(&d).expect("world dir");
        let meta = serde_json::json!({"seed": seed, "genre": "fantasy", "saved_at_unix": saved_at});
        fs::write(d.join("world.json"), meta.to_string()).expect("meta");
    }

    #[test]
    fn the_most_recent_free_world_is_chosen_and_held_ones_are_skipped() {
        let saves = std::env::temp_dir().join(format!("venture-recent-{}", std::process::id()));
        let _ = fs::remove_dir_all(&saves);
        put_world(&saves, "5-fantasy", 5, 10);
        put_world(&saves, "6-fantasy", 6, 30);
        put_world(&saves, "7-fantasy", 7, 20);
        // A retired copy keeps its world.json but is not a live world.
        put_world(&saves, "8-fantasy.retired-1", 8, 99);
        fs::write(saves.join("latest.json"), r#"{"seed":5,"genre":"fantasy"}"#).expect("latest");
        let order: Vec<u64> = recent_worlds(&saves).into_iter().map(|w| w.0).collect();
        assert_eq!(order, vec![5, 6, 7], "latest.json first, then by save time");

        let held = WorldFiles::new(&saves, None, 5, Genre::Fantasy)
            .lock()
            .expect("lock world 5");
        let (chosen, notes) = most_recent_unlocked(&saves, None);
        let (seed, _, _locks) = chosen.expect("a free world");
        assert_eq!(seed, 6);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("world 5-fantasy"), "{notes:?}");
        assert!(notes[0].contains(&format!("pid {}", std::process::id())));
        drop(held);
        let _ = fs::remove_dir_all(&saves);
    }
}
