//! Command-line interface of `venture-server`.
//!
//! The deployment guide (the operators' contract) spells flags Go-style:
//! `-port 8080`, `-port=8080`, `-verbose`, `-aerial-sprites=false`. argh only
//! understands `--port 8080` and `--verbose`, so [`normalise_args`] rewrites
//! argv into argh's form first, then [`parse_server_args`] lets argh do the
//! parsing and validates every value into a typed [`ServerConfig`].
//!
//! Values are parsed by us, not by argh, so that every error is one line that
//! names the flag the way operators write it and says what is valid, e.g.
//! `invalid value for -tick-rate: 0 (valid: 1 to 60)`.
//!
//! Exit codes (the binary's contract, see [`CliOutcome`] and [`CliError`]):
//! `-help`/`-version` print to stdout and exit 0; any usage error prints
//! the one-line message to stderr and exits [`CliError::EXIT_CODE`] (2).

use argh::FromArgs;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;
use venture_sim::Genre;

/// Flags that take a value (long names, without dashes).
const VALUE_FLAGS: &[&str] = &[
    "port",
    "bind",
    "max-players",
    "tick-rate",
    "seed",
    "genre",
    "saves-dir",
    "replay-dir",
    "autosave",
];

/// Boolean switches (long names, without dashes). Go accepts `-flag=false`.
const SWITCHES: &[&str] = &[
    "verbose",
    "aerial-sprites",
    "no-replay",
    "new-world",
    "agones",
    "version",
    "help",
];

/// Port range accepted by `-port`.
pub const PORT_RANGE: (u16, u16) = (1, 65535);
/// Range accepted by `-max-players`.
pub const MAX_PLAYERS_RANGE: (u32, u32) = (1, 64);
/// Range accepted by `-tick-rate` (Hz).
pub const TICK_RATE_RANGE: (u32, u32) = (1, 60);
/// Range accepted by `-autosave` (seconds).
pub const AUTOSAVE_RANGE: (u64, u64) = (1, 3600);

// Raw flags as argh sees them after `normalise_args`. Every value is kept as
// a string and validated by `validate`, so that errors name the flag and the
// valid range in one line. (The doc comment below is argh's help text.)
#[derive(FromArgs, Debug, Default, PartialEq, Eq)]
/// Venture dedicated server: authoritative, deterministic lockstep over UDP,
/// with HTTP /healthz, /readyz, /metrics and /status on the same TCP port.
#[argh(
    help_triggers("-h", "--help", "help"),
    note = "Flags may also be written Go-style: -port 8080, -port=8080, -verbose, -aerial-sprites=false.\nEnvironment: LOG_LEVEL (debug, info, warn, error, fatal; default info), LOG_FORMAT (json, text; default json).\nExit status: 0 on success, -help and -version; 2 on a usage error."
)]
pub struct ServerArgs {
    /// port for UDP game traffic and TCP HTTP health/metrics (default 8080; valid 1 to 65535)
    #[argh(option)]
    pub port: Option<String>,
    /// address to bind (default 0.0.0.0)
    #[argh(option)]
    pub bind: Option<String>,
    /// maximum concurrent players (default 4; valid 1 to 64)
    #[argh(option)]
    pub max_players: Option<String>,
    /// simulation ticks per second (default 20; valid 1 to 60)
    #[argh(option)]
    pub tick_rate: Option<String>,
    /// world generation seed, a signed 64-bit integer (default: random, logged at start)
    #[argh(option)]
    pub seed: Option<String>,
    /// world genre: fantasy, scifi, horror, cyberpunk, postapoc (default fantasy)
    #[argh(option)]
    pub genre: Option<String>,
    /// enable debug logging (overrides LOG_LEVEL)
    #[argh(switch)]
    pub verbose: bool,
    /// accepted for compatibility; no effect on a headless server
    #[argh(switch)]
    pub aerial_sprites: bool,
    /// directory for world saves (default ./saves)
    #[argh(option)]
    pub saves_dir: Option<String>,
    /// directory for session replay logs (default ./replays)
    #[argh(option)]
    pub replay_dir: Option<String>,
    /// do not record session replay logs
    #[argh(switch)]
    pub no_replay: bool,
    /// seconds between autosaves (default 30; valid 1 to 3600)
    #[argh(option)]
    pub autosave: Option<String>,
    /// ignore existing saves and generate a new world
    #[argh(switch)]
    pub new_world: bool,
    /// integrate with the Agones SDK sidecar (game-server lifecycle)
    #[argh(switch)]
    pub agones: bool,
    /// print version information and exit
    #[argh(switch)]
    pub version: bool,
}

/// The validated server configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// UDP game port; the HTTP listener uses the same TCP port number.
    pub port: u16,
    /// Address to bind both sockets to.
    pub bind: IpAddr,
    /// Maximum concurrent players, 1 to 64.
    pub max_players: u32,
    /// Ticks per second, 1 to 60.
    pub tick_rate: u32,
    /// World seed.
    pub seed: i64,
    /// True when no `-seed` was given and [`ServerConfig::seed`] was drawn at
    /// random (the binary should log it so the world can be reproduced).
    pub seed_is_random: bool,
    /// World genre.
    pub genre: Genre,
    /// `-verbose`: force debug logging.
    pub verbose: bool,
    /// `-aerial-sprites` was given. Accepted for compatibility with the
    /// guide; a headless server draws nothing, so it has no effect.
    /// (`-aerial-sprites=false` is accepted and leaves this false.)
    pub aerial_sprites: bool,
    /// Directory for saves.
    pub saves_dir: PathBuf,
    /// Directory for replay logs.
    pub replay_dir: PathBuf,
    /// `-no-replay`: do not record replays.
    pub no_replay: bool,
    /// Interval between autosaves.
    pub autosave: Duration,
    /// `-new-world`: ignore existing saves.
    pub new_world: bool,
    /// `-agones`: talk to the Agones SDK.
    pub agones: bool,
}

impl ServerConfig {
    /// The socket address for both the UDP game socket and the TCP HTTP listener.
    pub fn listen_addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.port)
    }
}

impl Default for ServerConfig {
    /// The documented defaults, with seed 0 (not random) so it is deterministic.
    fn default() -> Self {
        ServerConfig {
            port: 8080,
            bind: IpAddr::from([0, 0, 0, 0]),
            max_players: 4,
            tick_rate: 20,
            seed: 0,
            seed_is_random: false,
            genre: Genre::Fantasy,
            verbose: false,
            aerial_sprites: false,
            saves_dir: PathBuf::from("./saves"),
            replay_dir: PathBuf::from("./replays"),
            no_replay: false,
            autosave: Duration::from_secs(30),
            new_world: false,
            agones: false,
        }
    }
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CliOutcome {
    /// Run the server with this configuration.
    Run(ServerConfig),
    /// `-help`: print this text to stdout and exit 0.
    Help(String),
    /// `-version`: print [`version_string`] to stdout and exit 0.
    Version,
}

/// A usage error. Its `Display` is one line naming the flag and what is valid.
/// The binary prints it to stderr and exits with [`CliError::EXIT_CODE`].
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CliError {
    /// A flag's value failed validation.
    #[error("invalid value for -{flag}: {} (valid: {valid})", show_value(.value))]
    InvalidValue {
        /// Flag name without dashes, e.g. `tick-rate`.
        flag: &'static str,
        /// The value as given.
        value: String,
        /// What would have been accepted.
        valid: String,
    },
    /// argh rejected the command line (unknown flag, missing value, stray argument).
    #[error("{message} (run with -help for usage)")]
    Usage {
        /// argh's message, trimmed to one line.
        message: String,
    },
}

impl CliError {
    /// Process exit status for usage errors.
    pub const EXIT_CODE: i32 = 2;
}

fn show_value(v: &str) -> String {
    if v.is_empty()
        || v.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"')
    {
        format!("{v:?}")
    } else {
        v.to_owned()
    }
}

/// Parse a Go-style boolean (`1 0 t f T F true false TRUE FALSE True False`).
fn parse_go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Split a token into (name, inline value) if it looks like a flag: one or two
/// dashes followed by an ASCII letter. `-5`, `-`, `--` and plain words are not flags.
fn split_flag(tok: &str) -> Option<(&str, Option<&str>)> {
    let body = tok
        .strip_prefix("--")
        .or_else(|| tok.strip_prefix('-'))
        .filter(|b| b.starts_with(|c: char| c.is_ascii_alphabetic()))?;
    Some(match body.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (body, None),
    })
}

/// Normalisation that reports invalid switch values (`-verbose=yes`).
/// With `lenient`, a bad switch value is passed on as `--flag=value` instead.
fn normalise_checked(
    args: impl IntoIterator<Item = String>,
    lenient: bool,
) -> Result<Vec<String>, CliError> {
    let mut out = Vec::new();
    let mut iter = args.into_iter();
    let mut value_next = false;
    while let Some(tok) = iter.next() {
        if value_next {
            // The value of a preceding `-flag`: verbatim, even `-5` or `-x`.
            value_next = false;
            out.push(tok);
            continue;
        }
        if tok == "--" {
            out.push(tok);
            out.extend(iter);
            break;
        }
        let Some((name, inline)) = split_flag(&tok) else {
            out.push(tok);
            continue;
        };
        // Single-letter flags keep one dash (`-h`), argh's short form.
        if name.len() == 1 && !tok.starts_with("--") && inline.is_none() {
            out.push(tok);
            continue;
        }
        let long = format!("--{name}");
        let is_switch = SWITCHES.contains(&name);
        match inline {
            None => {
                value_next = VALUE_FLAGS.contains(&name);
                out.push(long);
            }
            Some(value) if is_switch => match parse_go_bool(value) {
                Some(true) => out.push(long),
                // Every switch defaults to false, so `=false` means "absent".
                Some(false) => {}
                None if lenient => out.push(format!("{long}={value}")),
                None => {
                    let flag = SWITCHES
                        .iter()
                        .find(|s| **s == name)
                        .copied()
                        .unwrap_or("switch");
                    return Err(CliError::InvalidValue {
                        flag,
                        value: value.to_owned(),
                        valid: "true or false".to_owned(),
                    });
                }
            },
            Some(value) => {
                out.push(long);
                out.push(value.to_owned());
            }
        }
    }
    Ok(out)
}

/// Rewrite Go-style flags into argh's `--flag value` form.
///
/// * `-port 8080`, `-port=8080`, `--port=8080` become `--port 8080`;
/// * `-verbose` becomes `--verbose`; `-verbose=true` likewise; `-verbose=false`
///   is dropped (every switch defaults to false);
/// * the token after a value-taking flag is kept verbatim, so `-seed -5` and
///   `-seed=-5` both give `--seed -5`;
/// * words, negative numbers, single-letter flags (`-h`) and everything after
///   `--` are left alone.
///
/// Works on argv with or without the program name in front. A switch with an
/// invalid inline value (`-verbose=yes`) is passed on as `--verbose=yes`, which
/// argh then rejects; [`parse_server_args`] reports it more precisely.
pub fn normalise_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    // Invariant: with `lenient = true` normalisation never returns an error.
    normalise_checked(args, true).unwrap_or_default()
}

fn parse_ranged<T>(flag: &'static str, raw: &str, (lo, hi): (T, T)) -> Result<T, CliError>
where
    T: std::str::FromStr + PartialOrd + Copy + fmt::Display,
{
    match raw.trim().parse::<T>() {
        Ok(v) if v >= lo && v <= hi => Ok(v),
        _ => Err(CliError::InvalidValue {
            flag,
            value: raw.to_owned(),
            valid: format!("{lo} to {hi}"),
        }),
    }
}

fn parse_dir(flag: &'static str, raw: Option<String>, default: &str) -> Result<PathBuf, CliError> {
    match raw {
        None => Ok(PathBuf::from(default)),
        Some(s) if s.trim().is_empty() || s.contains('\0') => Err(CliError::InvalidValue {
            flag,
            value: s,
            valid: "a non-empty directory path".to_owned(),
        }),
        Some(s) => Ok(PathBuf::from(s)),
    }
}

/// A seed for when none was given: from the OS-seeded `RandomState`, the clock
/// and the process id. Not cryptographic; seeds are not secrets.
pub fn random_seed() -> i64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    h.write_u32(std::process::id());
    h.finish() as i64
}

/// Validate raw argh flags into a [`ServerConfig`]. `seed_source` supplies the
/// seed when `-seed` is absent (the binary passes [`random_seed`]).
pub fn validate(
    args: ServerArgs,
    seed_source: impl FnOnce() -> i64,
) -> Result<ServerConfig, CliError> {
    let port = match &args.port {
        None => 8080,
        Some(raw) => parse_ranged("port", raw, PORT_RANGE)?,
    };
    let bind = match &args.bind {
        None => IpAddr::from([0, 0, 0, 0]),
        Some(raw) => raw.trim().parse().map_err(|_| CliError::InvalidValue {
            flag: "bind",
            value: raw.clone(),
            valid: "an IPv4 or IPv6 address, e.g. 0.0.0.0 or ::".to_owned(),
        })?,
    };
    let max_players = match &args.max_players {
        None => 4,
        Some(raw) => parse_ranged("max-players", raw, MAX_PLAYERS_RANGE)?,
    };
    let tick_rate = match &args.tick_rate {
        None => 20,
        Some(raw) => parse_ranged("tick-rate", raw, TICK_RATE_RANGE)?,
    };
    let (seed, seed_is_random) = match &args.seed {
        None => (seed_source(), true),
        Some(raw) => {
            let v = raw
                .trim()
                .parse::<i64>()
                .map_err(|_| CliError::InvalidValue {
                    flag: "seed",
                    value: raw.clone(),
                    valid: format!("an integer from {} to {}", i64::MIN, i64::MAX),
                })?;
            (v, false)
        }
    };
    let genre = match &args.genre {
        None => Genre::Fantasy,
        Some(raw) => raw
            .trim()
            .parse::<Genre>()
            .map_err(|_| CliError::InvalidValue {
                flag: "genre",
                value: raw.clone(),
                valid: Genre::valid_list(),
            })?,
    };
    let autosave = match &args.autosave {
        None => Duration::from_secs(30),
        Some(raw) => Duration::from_secs(parse_ranged("autosave", raw, AUTOSAVE_RANGE)?),
    };
    Ok(ServerConfig {
        port,
        bind,
        max_players,
        tick_rate,
        seed,
        seed_is_random,
        genre,
        verbose: args.verbose,
        aerial_sprites: args.aerial_sprites,
        saves_dir: parse_dir("saves-dir", args.saves_dir, "./saves")?,
        replay_dir: parse_dir("replay-dir", args.replay_dir, "./replays")?,
        no_replay: args.no_replay,
        autosave,
        new_world: args.new_world,
        agones: args.agones,
    })
}

/// Parse a full argv (program name first, as from `std::env::args()`).
///
/// Returns [`CliOutcome::Help`] / [`CliOutcome::Version`] for `-help` and
/// `-version` (the binary prints and exits 0) and [`CliError`] for usage
/// errors (the binary prints the message to stderr and exits 2). A missing
/// `-seed` is drawn with [`random_seed`].
pub fn parse_server_args(argv: impl IntoIterator<Item = String>) -> Result<CliOutcome, CliError> {
    parse_server_args_with_seed(argv, random_seed)
}

/// [`parse_server_args`] with an explicit source for the default seed (tests).
pub fn parse_server_args_with_seed(
    argv: impl IntoIterator<Item = String>,
    seed_source: impl FnOnce() -> i64,
) -> Result<CliOutcome, CliError> {
    let mut argv = argv.into_iter();
    let program = argv.next().unwrap_or_else(|| "venture-server".to_owned());
    let program = std::path::Path::new(&program)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("venture-server")
        .to_owned();
    let args = normalise_checked(argv, false)?;
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    match ServerArgs::from_args(&[&program], &refs) {
        Ok(raw) if raw.version => Ok(CliOutcome::Version),
        Ok(raw) => validate(raw, seed_source).map(CliOutcome::Run),
        Err(exit) if exit.status.is_ok() => Ok(CliOutcome::Help(exit.output)),
        Err(exit) => {
            let message = exit
                .output
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            Err(CliError::Usage {
                message: message.replace("'--", "'-").replace(": --", ": -"),
            })
        }
    }
}

/// The git commit captured at build time (`unknown` outside a git checkout).
pub const GIT_COMMIT: &str = env!("VENTURE_GIT_COMMIT");

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// One line for `-version`:
/// `venture-server 0.1.0 (commit 1a2b3c4d5e6f, sim 1, protocol 1)`.
/// The binary passes venture-sim's and venture-net's version constants.
pub fn version_string(
    sim_version: impl fmt::Display,
    protocol_version: impl fmt::Display,
) -> String {
    format!(
        "venture-server {VERSION} (commit {GIT_COMMIT}, sim {sim_version}, protocol {protocol_version})"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &[&str]) -> Vec<String> {
        std::iter::once("venture-server")
            .chain(s.iter().copied())
            .map(String::from)
            .collect()
    }

    fn run(s: &[&str]) -> ServerConfig {
        match parse_server_args_with_seed(argv(s), || 777) {
            Ok(CliOutcome::Run(c)) => c,
            other => panic!("{s:?}: expected Run, got {other:?}"),
        }
    }

    fn err(s: &[&str]) -> String {
        match parse_server_args_with_seed(argv(s), || 777) {
            Err(e) => e.to_string(),
            other => panic!("{s:?}: expected error, got {other:?}"),
        }
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// `-flag value`, `-flag=value`, `--flag value`, `--flag=value`.
    fn forms(flag: &str, value: &str) -> Vec<Vec<String>> {
        vec![
            strs(&[&format!("-{flag}"), value]),
            strs(&[&format!("-{flag}={value}")]),
            strs(&[&format!("--{flag}"), value]),
            strs(&[&format!("--{flag}={value}")]),
        ]
    }

    fn run_forms(flag: &str, value: &str) -> Vec<ServerConfig> {
        forms(flag, value)
            .into_iter()
            .map(|f| {
                let refs: Vec<&str> = f.iter().map(String::as_str).collect();
                run(&refs)
            })
            .collect()
    }

    fn err_forms(flag: &str, value: &str) -> Vec<String> {
        forms(flag, value)
            .into_iter()
            .map(|f| {
                let refs: Vec<&str> = f.iter().map(String::as_str).collect();
                err(&refs)
            })
            .collect()
    }

    #[test]
    fn normalise_forms() {
        assert_eq!(
            normalise_args(strs(&["-port", "8080"])),
            strs(&["--port", "8080"])
        );
        assert_eq!(
            normalise_args(strs(&["-port=8080"])),
            strs(&["--port", "8080"])
        );
        assert_eq!(
            normalise_args(strs(&["--port=8080"])),
            strs(&["--port", "8080"])
        );
        assert_eq!(
            normalise_args(strs(&["--port", "8080"])),
            strs(&["--port", "8080"])
        );
        assert_eq!(
            normalise_args(strs(&["-seed", "-5"])),
            strs(&["--seed", "-5"])
        );
        assert_eq!(normalise_args(strs(&["-seed=-5"])), strs(&["--seed", "-5"]));
        assert_eq!(
            normalise_args(strs(&["-genre", "-x"])),
            strs(&["--genre", "-x"])
        );
        assert_eq!(normalise_args(strs(&["-verbose"])), strs(&["--verbose"]));
        assert_eq!(
            normalise_args(strs(&["-verbose=true"])),
            strs(&["--verbose"])
        );
        assert_eq!(
            normalise_args(strs(&["-verbose=false"])),
            Vec::<String>::new()
        );
        assert_eq!(
            normalise_args(strs(&["-verbose=yes"])),
            strs(&["--verbose=yes"])
        );
        assert_eq!(normalise_args(strs(&["-h"])), strs(&["-h"]));
        assert_eq!(normalise_args(strs(&["-help"])), strs(&["--help"]));
        assert_eq!(
            normalise_args(strs(&["./venture-server", "-port", "1", "--", "-x=1"])),
            strs(&["./venture-server", "--port", "1", "--", "-x=1"])
        );
        assert_eq!(
            normalise_args(strs(&["-5", "word", "-"])),
            strs(&["-5", "word", "-"])
        );
        // `=` inside a value survives; only the first `=` splits.
        assert_eq!(
            normalise_args(strs(&["-saves-dir=/a=b"])),
            strs(&["--saves-dir", "/a=b"])
        );
    }

    #[test]
    fn defaults() {
        let c = run(&[]);
        assert_eq!(
            c,
            ServerConfig {
                seed: 777,
                seed_is_random: true,
                ..ServerConfig::default()
            }
        );
        assert_eq!(c.listen_addr(), "0.0.0.0:8080".parse().unwrap());
    }

    #[test]
    fn guide_examples() {
        let c = run(&["-port", "8080", "-max-players", "10", "-tick-rate", "20"]);
        assert_eq!((c.port, c.max_players, c.tick_rate), (8080, 10, 20));
        let c = run(&[
            "-port",
            "8080",
            "-max-players",
            "10",
            "-tick-rate",
            "20",
            "-seed",
            "12345",
            "-genre",
            "fantasy",
        ]);
        assert_eq!(
            (c.seed, c.seed_is_random, c.genre),
            (12345, false, Genre::Fantasy)
        );
        let c = run(&["-verbose", "-port", "8080"]);
        assert!(c.verbose);
    }

    #[test]
    fn port_all_forms() {
        for c in run_forms("port", "9000") {
            assert_eq!(c.port, 9000);
        }
        for c in run_forms("port", "1") {
            assert_eq!(c.port, 1);
        }
        for c in run_forms("port", "65535") {
            assert_eq!(c.port, 65535);
        }
        for bad in ["0", "65536", "-1", "abc", "", "80.5", "99999999999"] {
            for e in err_forms("port", bad) {
                assert!(e.starts_with("invalid value for -port: "), "{e}");
                assert!(e.ends_with("(valid: 1 to 65535)"), "{e}");
            }
        }
        assert_eq!(
            err(&["-port", "0"]),
            "invalid value for -port: 0 (valid: 1 to 65535)"
        );
    }

    #[test]
    fn bind_all_forms() {
        for c in run_forms("bind", "127.0.0.1") {
            assert_eq!(c.bind, IpAddr::from([127, 0, 0, 1]));
        }
        for c in run_forms("bind", "::1") {
            assert_eq!(c.bind, "::1".parse::<IpAddr>().unwrap());
        }
        for bad in ["localhost", "1.2.3", "", "300.0.0.1"] {
            for e in err_forms("bind", bad) {
                assert!(e.starts_with("invalid value for -bind: "), "{e}");
                assert!(e.contains("valid: an IPv4 or IPv6 address"), "{e}");
            }
        }
    }

    #[test]
    fn max_players_all_forms() {
        for (v, want) in [("1", 1), ("4", 4), ("64", 64)] {
            for c in run_forms("max-players", v) {
                assert_eq!(c.max_players, want);
            }
        }
        for bad in ["0", "65", "-1", "x", "", "4.0"] {
            for e in err_forms("max-players", bad) {
                assert!(e.starts_with("invalid value for -max-players: "), "{e}");
                assert!(e.ends_with("(valid: 1 to 64)"), "{e}");
            }
        }
    }

    #[test]
    fn tick_rate_all_forms() {
        for (v, want) in [("1", 1), ("20", 20), ("60", 60)] {
            for c in run_forms("tick-rate", v) {
                assert_eq!(c.tick_rate, want);
            }
        }
        for bad in ["0", "61", "-20", "fast", ""] {
            for e in err_forms("tick-rate", bad) {
                assert!(e.ends_with("(valid: 1 to 60)"), "{e}");
            }
        }
        assert_eq!(
            err(&["-tick-rate", "0"]),
            "invalid value for -tick-rate: 0 (valid: 1 to 60)"
        );
    }

    #[test]
    fn seed_all_forms_including_negative() {
        for (v, want) in [
            ("12345", 12345i64),
            ("-5", -5),
            ("0", 0),
            ("9223372036854775807", i64::MAX),
            ("-9223372036854775808", i64::MIN),
        ] {
            for c in run_forms("seed", v) {
                assert_eq!((c.seed, c.seed_is_random), (want, false));
            }
        }
        for bad in ["9223372036854775808", "abc", "", "1e5", "0x10"] {
            for e in err_forms("seed", bad) {
                assert!(e.starts_with("invalid value for -seed: "), "{e}");
                assert!(e.contains("valid: an integer from"), "{e}");
            }
        }
    }

    #[test]
    fn random_seed_varies() {
        // Two draws colliding has probability ~2^-64.
        assert_ne!(random_seed(), random_seed());
        let c = match parse_server_args(argv(&[])).unwrap() {
            CliOutcome::Run(c) => c,
            o => panic!("{o:?}"),
        };
        assert!(c.seed_is_random);
    }

    #[test]
    fn genre_all_forms() {
        for g in Genre::ALL {
            for c in run_forms("genre", g.id()) {
                assert_eq!(c.genre, g);
            }
        }
        for bad in ["western", "", "fantasy2"] {
            for e in err_forms("genre", bad) {
                assert!(e.starts_with("invalid value for -genre: "), "{e}");
                assert!(
                    e.ends_with("(valid: fantasy, scifi, horror, cyberpunk, postapoc)"),
                    "{e}"
                );
            }
        }
    }

    #[test]
    fn dirs_all_forms() {
        for c in run_forms("saves-dir", "/var/lib/venture/saves") {
            assert_eq!(c.saves_dir, PathBuf::from("/var/lib/venture/saves"));
        }
        for c in run_forms("replay-dir", "rp") {
            assert_eq!(c.replay_dir, PathBuf::from("rp"));
        }
        for flag in ["saves-dir", "replay-dir"] {
            for e in err_forms(flag, "") {
                assert_eq!(
                    e,
                    format!("invalid value for -{flag}: \"\" (valid: a non-empty directory path)")
                );
            }
        }
    }

    #[test]
    fn autosave_all_forms() {
        for (v, want) in [("1", 1), ("30", 30), ("3600", 3600)] {
            for c in run_forms("autosave", v) {
                assert_eq!(c.autosave, Duration::from_secs(want));
            }
        }
        for bad in ["0", "3601", "-1", "5s", ""] {
            for e in err_forms("autosave", bad) {
                assert!(e.ends_with("(valid: 1 to 3600)"), "{e}");
            }
        }
    }

    #[test]
    fn switches_all_forms() {
        type Get = fn(&ServerConfig) -> bool;
        let cases: [(&str, Get); 5] = [
            ("verbose", |c| c.verbose),
            ("aerial-sprites", |c| c.aerial_sprites),
            ("no-replay", |c| c.no_replay),
            ("new-world", |c| c.new_world),
            ("agones", |c| c.agones),
        ];
        for (flag, get) in cases {
            assert!(!get(&run(&[])), "{flag} default");
            for on in [
                format!("-{flag}"),
                format!("--{flag}"),
                format!("-{flag}=true"),
                format!("--{flag}=true"),
                format!("-{flag}=1"),
                format!("-{flag}=T"),
            ] {
                assert!(get(&run(&[&on])), "{on}");
            }
            for off in [
                format!("-{flag}=false"),
                format!("--{flag}=0"),
                format!("-{flag}=F"),
            ] {
                assert!(!get(&run(&[&off])), "{off}");
            }
            for bad in ["yes", "", "2"] {
                assert_eq!(
                    err(&[&format!("-{flag}={bad}")]),
                    format!(
                        "invalid value for -{flag}: {} (valid: true or false)",
                        show_value(bad)
                    )
                );
            }
        }
    }

    #[test]
    fn help_and_version() {
        for h in ["-h", "-help", "--help", "help"] {
            match parse_server_args_with_seed(argv(&[h]), || 0) {
                Ok(CliOutcome::Help(text)) => {
                    assert!(text.contains("--tick-rate"), "{text}");
                    assert!(text.contains("Go-style"), "{text}");
                    assert!(text.starts_with("Usage: venture-server"), "{text}");
                }
                o => panic!("{h}: {o:?}"),
            }
        }
        for v in ["-version", "--version", "-version=true"] {
            assert_eq!(
                parse_server_args_with_seed(argv(&[v, "-port", "1"]), || 0),
                Ok(CliOutcome::Version)
            );
        }
        let s = version_string("7", 3);
        assert!(
            s.starts_with(&format!("venture-server {VERSION} (commit ")),
            "{s}"
        );
        assert!(s.ends_with(", sim 7, protocol 3)"), "{s}");
        assert!(!GIT_COMMIT.is_empty());
    }

    #[test]
    fn usage_errors_are_one_line() {
        for bad in [
            &["-bogus"][..],
            &["-port"],
            &["stray"],
            &["-tick-rate"],
            &["-seed"],
        ] {
            let e = parse_server_args_with_seed(argv(bad), || 0).unwrap_err();
            assert!(matches!(e, CliError::Usage { .. }), "{bad:?}: {e:?}");
            let s = e.to_string();
            assert!(!s.contains('\n'), "{s}");
            assert!(s.ends_with("(run with -help for usage)"), "{s}");
        }
        assert_eq!(
            err(&["-bogus"]),
            "Unrecognized argument: -bogus (run with -help for usage)"
        );
        assert_eq!(
            err(&["-port"]),
            "No value provided for option '-port'. (run with -help for usage)"
        );
        assert_eq!(CliError::EXIT_CODE, 2);
        // argh refuses a repeated option (Go would take the last one).
        assert_eq!(
            err(&["-port", "1", "-port=2"]),
            "Error parsing option '-port' with value '2': duplicate values provided (run with -help for usage)"
        );
    }

    #[test]
    fn whitespace_tolerated_in_numbers() {
        assert_eq!(run(&["-port", " 8081 "]).port, 8081);
    }
}
