//! The balance harness behind `venture-world --balance`: plays seeds x genres x depths
//! with bots (the novice or the skilled fighter of `venture_sim::script`), in process and
//! headless, each run up to a few minutes of game time, and sums every (genre, depth) cell
//! up: who is alive after 60 s and 300 s, when the first death comes, kills per life, the
//! level reached, how often the stairs were taken and (for the fighter) the level cleared.
//! Runs are independent worlds, so they are spread over two threads; the results are put
//! back in run order, so the output is the same for the same flags.

pub mod chart;
pub mod report;

use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use venture_sim::event::Event;
use venture_sim::input::Frame;
use venture_sim::script::{bot_joins, novice_input, skilled_input, Explorer};
use venture_sim::{Genre, SimConfig, World};

/// Deepest depth the harness accepts (deeper levels work, but are not a first five minutes).
pub const MAX_BALANCE_DEPTH: u32 = 100;

/// Which bot plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// A new player: explores, hits back, takes the stairs (`novice_input`).
    Novice,
    /// A skilled player: fights, heals, loots, explores (`skilled_input`).
    Fighter,
}

impl Policy {
    pub fn parse(s: &str) -> Result<Policy, BalanceError> {
        match s.trim() {
            "novice" => Ok(Policy::Novice),
            "fighter" => Ok(Policy::Fighter),
            other => Err(BalanceError::Policy(other.to_owned())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Policy::Novice => "novice",
            Policy::Fighter => "fighter",
        }
    }
}

/// A bad harness option, with what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BalanceError {
    #[error("invalid --policy {0:?}: expected novice or fighter")]
    Policy(String),
    #[error(
        "invalid --depths {0:?}: expected a depth or a range like 1-5, from 1 to {MAX_BALANCE_DEPTH}, the first not above the last"
    )]
    Depths(String),
    #[error("the world cannot be built: {0}")]
    Config(String),
}

/// Parses `3` or `1-5` into a depth range within 1..=MAX_BALANCE_DEPTH.
pub fn parse_depths(s: &str) -> Result<RangeInclusive<u32>, BalanceError> {
    let bad = || BalanceError::Depths(s.to_owned());
    let (lo, hi) = match s.trim().split_once('-') {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (s.trim(), s.trim()),
    };
    let lo: u32 = lo.parse().map_err(|_| bad())?;
    let hi: u32 = hi.parse().map_err(|_| bad())?;
    if lo == 0 || hi > MAX_BALANCE_DEPTH || lo > hi {
        return Err(bad());
    }
    Ok(lo..=hi)
}

/// What to play.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub policy: Policy,
    /// Bots per run (1 = playing alone).
    pub players: u8,
    pub seeds: u32,
    pub first_seed: u64,
    pub depths: RangeInclusive<u32>,
    pub genres: Vec<Genre>,
    /// Game time per run, seconds.
    pub seconds: u32,
    /// Worker threads (results do not depend on it).
    pub threads: usize,
}

impl Options {
    /// The harness's defaults: the novice alone, 10 seeds from 1, depths 1-5, every genre,
    /// 300 s, two threads.
    pub fn new(policy: Policy) -> Options {
        Options {
            policy,
            players: 1,
            seeds: 10,
            first_seed: 1,
            depths: 1..=5,
            genres: Genre::ALL.to_vec(),
            seconds: 300,
            threads: 2,
        }
    }
}

/// One bot's game in one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Life {
    /// Seconds until its first death (`None`: it never died).
    pub first_death_s: Option<u32>,
    pub deaths: u32,
    pub kills: u32,
    /// Character level at the end.
    pub level: u32,
    /// The party went down the stairs at least once.
    pub descended: bool,
    /// Every monster of the starting level died before the party left it.
    pub cleared: bool,
}

/// The results of one (genre, depth) cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// `None`: every genre of the run together.
    pub genre: Option<Genre>,
    pub depth: u32,
    /// Bot games summed up (runs x players).
    pub runs: u32,
    pub alive_60s: f64,
    pub alive_300s: f64,
    /// Median seconds to the first death; the run's length when most survive.
    pub median_first_death_s: u32,
    pub kills_per_life: f64,
    pub median_level_300s: u32,
    pub reached_stairs: f64,
    pub cleared: f64,
}

/// Plays one run: world `seed`, `genre`, starting at `depth`.
pub fn play(
    opts: &Options,
    seed: u64,
    genre: Genre,
    depth: u32,
) -> Result<Vec<Life>, BalanceError> {
    let players = opts.players.max(1) as usize;
    let difficulty = SimConfig::default().difficulty_permille.saturating_add(
        venture_sim::gameplay::DIFFICULTY_PER_DEPTH.saturating_mul(depth.saturating_sub(1)),
    );
    let config = SimConfig {
        seed,
        genre,
        depth,
        difficulty_permille: difficulty.min(venture_sim::config::MAX_DIFFICULTY_PERMILLE),
        max_players: players as u8,
        ..SimConfig::default()
    };
    let mut world = World::new(&config).map_err(|e| BalanceError::Config(e.to_string()))?;
    let rate = config.tick_rate as u64;
    let ticks = rate.saturating_mul(opts.seconds as u64);
    let mut memory = vec![Explorer::new(); players];
    let mut lives = vec![
        Life {
            first_death_s: None,
            deaths: 0,
            kills: 0,
            level: 1,
            descended: false,
            cleared: false,
        };
        players
    ];
    for tick in 1..=ticks {
        let mut frame = Frame::new(tick);
        if tick == 1 {
            frame.commands = bot_joins(players);
        }
        frame.inputs = (0..players)
            .map(|s| match opts.policy {
                Policy::Novice => novice_input(&world, s, &mut memory[s]),
                Policy::Fighter => skilled_input(&world, s, &mut memory[s]),
            })
            .collect();
        let before_depth = world.depth();
        world
            .step(&frame)
            .map_err(|e| BalanceError::Config(e.to_string()))?;
        for ev in world.events() {
            match ev {
                Event::Death { slot } => {
                    if let Some(l) = lives.get_mut(*slot as usize) {
                        l.deaths += 1;
                        l.first_death_s.get_or_insert((tick / rate) as u32);
                    }
                }
                Event::Kill { slot: Some(s), .. } => {
                    if let Some(l) = lives.get_mut(*s as usize) {
                        l.kills += 1;
                    }
                }
                Event::Descend { .. } => lives.iter_mut().for_each(|l| l.descended = true),
                _ => {}
            }
        }
        if before_depth == depth && world.depth() == depth && world.monsters().is_empty() {
            lives.iter_mut().for_each(|l| l.cleared = true);
        }
    }
    for (s, l) in lives.iter_mut().enumerate() {
        l.level = world.player(s).map_or(1, |p| p.level);
    }
    Ok(lives)
}

/// One run's lives, or why it could not be played.
type RunResult = Result<Vec<Life>, BalanceError>;

/// What a harness run found.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Per (genre, depth): genres in the options' order, depths ascending.
    pub cells: Vec<Cell>,
    /// Per depth, every genre together.
    pub overall: Vec<Cell>,
}

/// Plays every run the options ask for and sums them up per (genre, depth) and per depth.
pub fn run(opts: &Options) -> Result<Report, BalanceError> {
    let mut jobs = Vec::new();
    for &genre in &opts.genres {
        for depth in opts.depths.clone() {
            for i in 0..opts.seeds {
                jobs.push((genre, depth, opts.first_seed.wrapping_add(i as u64)));
            }
        }
    }
    let results: Mutex<Vec<Option<RunResult>>> = Mutex::new(vec![None; jobs.len()]);
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..opts.threads.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(genre, depth, seed)) = jobs.get(i) else {
                    break;
                };
                let r = play(opts, seed, genre, depth);
                // A worker that panicked poisons the lock; the data is still whole.
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut cells = Vec::new();
    let mut lives: Vec<Life> = Vec::new();
    let mut by_depth: std::collections::BTreeMap<u32, Vec<Life>> = Default::default();
    for (i, r) in results.into_iter().enumerate() {
        // Every index below jobs.len() was taken by exactly one worker.
        let r = r.ok_or_else(|| BalanceError::Config("a run did not finish".into()))??;
        let (genre, depth, _) = jobs[i];
        by_depth.entry(depth).or_default().extend(r.iter().cloned());
        lives.extend(r);
        if (i + 1) % opts.seeds.max(1) as usize == 0 {
            cells.push(summarise(Some(genre), depth, &lives, opts.seconds));
            lives.clear();
        }
    }
    let overall = by_depth
        .iter()
        .map(|(&depth, lives)| summarise(None, depth, lives, opts.seconds))
        .collect();
    Ok(Report { cells, overall })
}

fn share(lives: &[Life], f: impl Fn(&Life) -> bool) -> f64 {
    if lives.is_empty() {
        return 0.0;
    }
    lives.iter().filter(|l| f(l)).count() as f64 / lives.len() as f64
}

fn median(mut v: Vec<u32>) -> u32 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

/// Sums up the lives of one cell (also used for the all-genre rows).
pub fn summarise(genre: Option<Genre>, depth: u32, lives: &[Life], seconds: u32) -> Cell {
    let deaths: u32 = lives.iter().map(|l| l.deaths).sum();
    let kills: u32 = lives.iter().map(|l| l.kills).sum();
    let lives_lived = lives.len() as u32 + deaths;
    Cell {
        genre,
        depth,
        runs: lives.len() as u32,
        alive_60s: share(lives, |l| l.first_death_s.is_none_or(|s| s >= 60)),
        alive_300s: share(lives, |l| l.first_death_s.is_none()),
        median_first_death_s: median(
            lives
                .iter()
                .map(|l| l.first_death_s.unwrap_or(seconds))
                .collect(),
        ),
        kills_per_life: if lives_lived == 0 {
            0.0
        } else {
            kills as f64 / lives_lived as f64
        },
        median_level_300s: median(lives.iter().map(|l| l.level).collect()),
        reached_stairs: share(lives, |l| l.descended),
        cleared: share(lives, |l| l.cleared),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_ranges_parse_and_bad_ones_say_what_is_valid() {
        assert_eq!(parse_depths("1-5"), Ok(1..=5));
        assert_eq!(parse_depths(" 3 "), Ok(3..=3));
        assert_eq!(parse_depths("2 - 4"), Ok(2..=4));
        for bad in ["", "0", "0-3", "5-1", "1-", "-3", "a-b", "1-101", "1..5"] {
            let e = parse_depths(bad).expect_err(bad);
            assert!(e.to_string().contains("expected a depth or a range"), "{e}");
        }
        assert_eq!(Policy::parse("fighter"), Ok(Policy::Fighter));
        assert!(Policy::parse("pro")
            .unwrap_err()
            .to_string()
            .contains("novice or fighter"));
    }

    #[test]
    fn a_cell_sums_its_lives() {
        let life = |death: Option<u32>, deaths, kills, level| Life {
            first_death_s: death,
            deaths,
            kills,
            level,
            descended: death.is_none(),
            cleared: false,
        };
        let lives = [
            life(None, 0, 4, 3),
            life(Some(30), 2, 2, 2),
            life(Some(200), 1, 0, 1),
        ];
        let c = summarise(Some(Genre::Horror), 2, &lives, 300);
        assert_eq!(c.runs, 3);
        assert!((c.alive_60s - 2.0 / 3.0).abs() < 1e-9);
        assert!((c.alive_300s - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(c.median_first_death_s, 200);
        assert!((c.kills_per_life - 6.0 / 6.0).abs() < 1e-9);
        assert_eq!(c.median_level_300s, 2);
        assert!((c.reached_stairs - 1.0 / 3.0).abs() < 1e-9);
    }

    /// The same options give the same cells, whatever the number of threads.
    #[test]
    fn runs_are_deterministic() {
        let opts = Options {
            seeds: 2,
            depths: 1..=2,
            genres: vec![Genre::Fantasy],
            seconds: 20,
            ..Options::new(Policy::Novice)
        };
        let a = run(&opts).expect("runs");
        let b = run(&Options { threads: 1, ..opts }).expect("runs");
        assert_eq!(a, b);
        assert_eq!(a.cells.len(), 2);
        assert_eq!((a.cells[0].depth, a.cells[1].depth), (1, 2));
        assert!(a.cells.iter().all(|c| c.runs == 2));
        assert_eq!(a.overall.len(), 2);
    }
}
