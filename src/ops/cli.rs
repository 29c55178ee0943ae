//! Command-line interface of `venture-server`: its flag table and the validated
//! [`ServerConfig`].
//!
//! The deployment guide (the operators' contract) spells flags Go-style: `-port 8080`,
//! `-port=8080`, `-verbose`, `-aerial-sprites=false`; `--port 8080` works too. Every flag
//! is one row of [`ServerArgs`] (name, kind, default, validation, help); the parser,
//! defaults, errors and `-help` come from those rows ([`crate::flags`]). Errors are one line
//! naming the flag the way operators write it and saying what is valid, e.g.
//! `invalid value for -tick-rate: 0 (valid: 1 to 60)`.
//!
//! Exit codes (the binary's contract, see [`CliOutcome`] and [`CliError`]):
//! `-help`/`-version` print to stdout and exit 0; any usage error prints
//! the one-line message to stderr and exits [`CliError::EXIT_CODE`] (2).

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;
use venture_sim::Genre;

pub use crate::flags::CliError;
use crate::flags::{Parsed, Spec, Valid};

crate::flag_table! {
    /// `venture-server`'s flags, typed; [`validate`] turns them into a [`ServerConfig`].
    pub struct ServerArgs {
        port: u16 = value("port", "PORT", "8080", Valid::Range(1, 65535),
            "port for UDP game traffic and TCP HTTP health/metrics"),
        bind: IpAddr = value("bind", "ADDR", "0.0.0.0", Valid::Parses(bind_text),
            "address to bind"),
        max_players: u32 = value("max-players", "N", "4", Valid::Range(1, 64),
            "maximum concurrent players"),
        max_spectators: u32 = value("max-spectators", "N", "8", Valid::Range(0, 1000),
            "maximum concurrent spectators (apart from players; 0: no spectators)"),
        spectator_delay: u64 = value("spectator-delay", "SECONDS", "0", Valid::Range(0, 300),
            "game time by which spectators see the game late (hides live information)"),
        tick_rate: u32 = value("tick-rate", "HZ", "20", Valid::Range(1, 60),
            "simulation ticks per second"),
        seed: Option<i64> = optional("seed", "SEED", Valid::Parses(seed_text),
            "world generation seed (default: random, logged at start)"),
        genre: Genre = value("genre", "GENRE", "fantasy", Valid::Parses(Genre::valid_list),
            "world genre"),
        verbose: bool = switch("verbose", "enable debug logging (overrides LOG_LEVEL)"),
        aerial_sprites: bool = switch("aerial-sprites",
            "accepted for compatibility; no effect on a headless server"),
        saves_dir: PathBuf = value("saves-dir", "DIR", "./saves", Valid::NonEmpty(DIR_TEXT),
            "directory for world saves"),
        replay_dir: PathBuf = value("replay-dir", "DIR", "./replays", Valid::NonEmpty(DIR_TEXT),
            "directory for session replay logs"),
        no_replay: bool = switch("no-replay", "do not record session replay logs"),
        autosave: u64 = value("autosave", "SECONDS", "30", Valid::Range(1, 3600),
            "seconds between autosaves"),
        new_world: bool = switch("new-world", "ignore existing saves and generate a new world"),
        agones: bool = switch("agones",
            "integrate with the Agones SDK sidecar (game-server lifecycle)"),
        await_allocation: bool = switch("await-allocation",
            "with -agones: start Ready without a world; generate it when Agones allocates this server (annotations venture.dev/seed, venture.dev/genre)"),
        version: bool = switch("version", "print version information and exit"),
        standby_of: Option<String> = optional("standby-of", "HOST:PORT", Valid::NonEmpty("a HOST:PORT address"),
            "run as the hot standby of the primary at HOST:PORT: follow its world (this -saves-dir must hold the primary's server.key), take over when it has been silent for -takeover-after or on SIGUSR1, then serve -port as the primary"),
        takeover_after: Timeout = value("takeover-after", "DURATION", "1s", Valid::Parses(timeout_text),
            "with -standby-of: how long the primary may be silent before this standby takes over"),
        standby_http_port: Option<u16> = optional("standby-http-port", "PORT", Valid::Range(1, 65535),
            "with -standby-of: the TCP port for /healthz, /readyz, /status and /metrics while following (default -port; give another when the primary runs on the same host)"),
    }
}

/// A duration flag: `1s`, `1.5s`, `800ms`, or a number of seconds; 100 ms to 60 s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeout(pub Duration);

impl std::str::FromStr for Timeout {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let s = s.trim();
        let (number, unit_ms) = match s.strip_suffix("ms") {
            Some(n) => (n, 1.0),
            None => (s.strip_suffix('s').unwrap_or(s), 1000.0),
        };
        let v: f64 = number.trim().parse().map_err(|_| ())?;
        let ms = v * unit_ms;
        if !(100.0..=60_000.0).contains(&ms) {
            return Err(());
        }
        Ok(Timeout(Duration::from_millis(ms.round() as u64)))
    }
}

fn timeout_text() -> String {
    "a duration from 100ms to 60s, e.g. 1s, 1.5s or 800ms".to_owned()
}

const DIR_TEXT: &str = "a non-empty directory path";

fn bind_text() -> String {
    "an IPv4 or IPv6 address, e.g. 0.0.0.0 or ::".to_owned()
}

fn seed_text() -> String {
    format!("an integer from {} to {}", i64::MIN, i64::MAX)
}

/// `venture-server`'s help around the rows.
pub const SPEC: Spec = Spec {
    program: "venture-server",
    about: "Venture dedicated server: authoritative, deterministic lockstep over UDP,\nwith HTTP /healthz, /readyz, /metrics and /status on the same TCP port.",
    note: "Environment: LOG_LEVEL (debug, info, warn, error, fatal; default info), LOG_FORMAT (json, text; default json).\nExit status: 0 on success, -help and -version; 2 on a usage error.",
};

/// The validated server configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// UDP game port; the HTTP listener uses the same TCP port number.
    pub port: u16,
    /// Address to bind both sockets to.
    pub bind: IpAddr,
    /// Maximum concurrent players, 1 to 64.
    pub max_players: u32,
    /// Maximum concurrent spectators, 0 to 1000 (they take no player slot).
    pub max_spectators: u32,
    /// How far behind the game spectators watch.
    pub spectator_delay: Duration,
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
    /// `-await-allocation` (needs `-agones`): no world until Agones allocates this server;
    /// the allocation's annotations may choose the seed and genre.
    pub await_allocation: bool,
    /// `-standby-of HOST:PORT`: follow that primary as a hot standby.
    pub standby_of: Option<String>,
    /// `-takeover-after`: the primary's silence that makes the standby take over.
    pub takeover_after: Duration,
    /// `-standby-http-port`: the HTTP port while following (`None`: `port`).
    pub standby_http_port: Option<u16>,
}

impl ServerConfig {
    /// The socket address for both the UDP game socket and the TCP HTTP listener.
    pub fn listen_addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.port)
    }
}

impl Default for ServerConfig {
    /// The table's defaults, with seed 0 (not random) so it is deterministic.
    fn default() -> Self {
        let args = match SPEC.parse::<ServerArgs>(std::iter::empty()) {
            Ok(Parsed::Run(args)) => args,
            // The defaults are constants in the table; `table_defaults_parse` proves they parse.
            other => unreachable!("the server table's defaults do not parse: {other:?}"),
        };
        validate(args, || 0).map_or_else(
            |e| unreachable!("the server table's defaults do not validate: {e}"),
            |c| ServerConfig {
                seed_is_random: false,
                ..c
            },
        )
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

/// Turns the typed flags into a [`ServerConfig`]. `seed_source` supplies the seed when
/// `-seed` is absent (the binary passes [`random_seed`]).
pub fn validate(
    args: ServerArgs,
    seed_source: impl FnOnce() -> i64,
) -> Result<ServerConfig, CliError> {
    if args.await_allocation && !args.agones {
        return Err(CliError::Usage {
            message: "-await-allocation needs -agones (the allocation comes from the Agones SDK)"
                .to_string(),
        });
    }
    let (seed, seed_is_random) = match args.seed {
        Some(seed) => (seed, false),
        None => (seed_source(), true),
    };
    Ok(ServerConfig {
        port: args.port,
        bind: args.bind,
        max_players: args.max_players,
        max_spectators: args.max_spectators,
        spectator_delay: Duration::from_secs(args.spectator_delay),
        tick_rate: args.tick_rate,
        seed,
        seed_is_random,
        genre: args.genre,
        verbose: args.verbose,
        aerial_sprites: args.aerial_sprites,
        saves_dir: args.saves_dir,
        replay_dir: args.replay_dir,
        no_replay: args.no_replay,
        autosave: Duration::from_secs(args.autosave),
        new_world: args.new_world,
        agones: args.agones,
        await_allocation: args.await_allocation,
        standby_of: args.standby_of,
        takeover_after: args.takeover_after.0,
        standby_http_port: args.standby_http_port,
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
    match SPEC.parse::<ServerArgs>(argv.into_iter().skip(1))? {
        Parsed::Help(text) => Ok(CliOutcome::Help(text)),
        Parsed::Run(args) if args.version => Ok(CliOutcome::Version),
        Parsed::Run(args) => validate(args, seed_source).map(CliOutcome::Run),
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
    fn values_are_taken_verbatim_after_a_value_flag() {
        assert_eq!(run(&["-seed", "-5"]).seed, -5);
        assert_eq!(run(&["-seed=-5"]).seed, -5);
        assert_eq!(
            err(&["-genre", "-x"]),
            "invalid value for -genre: -x (valid: fantasy, scifi, horror, cyberpunk, postapoc)"
        );
        // `=` inside a value survives; only the first `=` splits.
        assert_eq!(run(&["-saves-dir=/a=b"]).saves_dir, PathBuf::from("/a=b"));
        assert_eq!(
            err(&["-port", "1", "--", "-x=1"]),
            "unexpected argument -x=1 (run with -help for usage)"
        );
    }

    #[test]
    fn table_defaults_parse() {
        // `ServerConfig::default()` relies on this (it has no other source of defaults).
        let c = ServerConfig::default();
        assert_eq!((c.port, c.max_players, c.tick_rate), (8080, 4, 20));
        assert_eq!((c.seed, c.seed_is_random), (0, false));
        assert_eq!(c.autosave, Duration::from_secs(30));
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
    fn standby_flags() {
        let c = run(&["-standby-of", "10.0.0.1:8080", "--takeover-after", "1.5s"]);
        assert_eq!(c.standby_of.as_deref(), Some("10.0.0.1:8080"));
        assert_eq!(c.takeover_after, Duration::from_millis(1500));
        assert_eq!(
            run(&["-takeover-after=800ms"]).takeover_after,
            Duration::from_millis(800)
        );
        assert_eq!(
            run(&["-takeover-after", "2"]).takeover_after,
            Duration::from_secs(2)
        );
        assert_eq!(run(&[]).takeover_after, Duration::from_secs(1));
        for bad in ["0s", "50ms", "61s", "soon", "-1s", "NaN"] {
            let e = err(&["-takeover-after", bad]);
            assert!(
                e.contains("-takeover-after") && e.contains("100ms to 60s"),
                "{bad}: {e}"
            );
        }
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
    fn spectator_flags_all_forms() {
        let d = run(&[]);
        assert_eq!((d.max_spectators, d.spectator_delay), (8, Duration::ZERO));
        for c in run_forms("max-spectators", "0") {
            assert_eq!(c.max_spectators, 0);
        }
        for c in run_forms("spectator-delay", "30") {
            assert_eq!(c.spectator_delay, Duration::from_secs(30));
        }
        for e in err_forms("max-spectators", "1001") {
            assert!(e.starts_with("invalid value for -max-spectators: "), "{e}");
        }
        for e in err_forms("spectator-delay", "-1") {
            assert!(e.contains("valid: 0 to 300"), "{e}");
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
    fn await_allocation_needs_agones() {
        assert!(run(&["-agones", "-await-allocation"]).await_allocation);
        assert!(!run(&["-agones"]).await_allocation);
        assert!(err(&["-await-allocation"]).contains("needs -agones"));
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
                        if bad.is_empty() { "\"\"" } else { bad }
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
                    assert!(text.contains("-tick-rate HZ"), "{text}");
                    assert!(text.contains("(default 20; valid: 1 to 60)"), "{text}");
                    assert!(text.contains("-flag=v"), "{text}");
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
            "unknown flag -bogus (run with -help for usage)"
        );
        assert_eq!(
            err(&["-port"]),
            "missing value for -port (run with -help for usage)"
        );
        assert_eq!(CliError::EXIT_CODE, 2);
        // A repeated value flag is refused (Go would take the last one silently).
        assert_eq!(
            err(&["-port", "1", "-port=2"]),
            "-port given more than once (run with -help for usage)"
        );
    }

    #[test]
    fn whitespace_tolerated_in_numbers() {
        assert_eq!(run(&["-port", " 8081 "]).port, 8081);
    }
}
