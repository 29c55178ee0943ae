//! The one harness every integration test and bench of Venture uses (dev-only crate).
//!
//! - [`agones`]: Agones' SDK REST specification and a stand-in sidecar serving exactly it;
//! - [`ports`]: loopback ports free for both UDP and TCP;
//! - [`scratch`]: temporary directories (tempfile), kept and named when a test fails;
//! - [`process`]: child processes killed on drop, their output in files, printed when a
//!   test fails; `/proc` readings (RSS);
//! - [`server`]: the real `venture-server` on a free port, started and waited healthy;
//! - [`http`]: a plain HTTP/1.1 GET;
//! - [`burst`]: many `venture-client --bots N` processes started at once (or one process of
//!   fighting bots, a game to watch), and the wait
//!   until the server counts inputs from every one of their players;
//! - [`bot`]: an in-process game client over real UDP, and the headless client's JSON line;
//! - [`cases`]: simulated-network test cases drawn from a seed;
//! - [`characters`]: a known saved character planted, read back and compared;
//! - [`handshake`]: the session handshake against a sans-IO `ServerSession`;
//! - [`tmux`]: a tmux server of the test's own, for the terminal programs;
//! - [`player`]: one `venture-client` process (optionally inside a namespace) and its join;
//! - [`netns`]: a network namespace with a veth pair, its firewall and its packet loss;
//! - [`relay`]: a TCP relay that delays every byte (long round trips on loopback);
//! - [`tornet`]: a private Tor network with an onion service in front of the server;
//! - [`standby`]: a primary and its hot standby on one host, and waits on the standby;
//! - [`tools`]: system tools found or the test skipped (failed under `CI=true`);
//! - [`wait`]: waiting on a condition with a deadline (never a fixed sleep).
//!
//! The binaries' paths are only known to the package that builds them: use
//! [`bin!`](crate::bin) from the test (`venture_testkit::bin!("venture-server")`).
#![forbid(unsafe_code)]

pub mod agones;
pub mod bot;
pub mod burst;
pub mod cases;
pub mod characters;
pub mod handshake;
pub mod http;
pub mod netns;
pub mod player;
pub mod ports;
pub mod process;
pub mod relay;
pub mod scratch;
pub mod server;
pub mod standby;
pub mod tmux;
pub mod tools;
pub mod tornet;
pub mod wait;

pub use bot::{final_json, Bot};
pub use http::{get as http_get, get_timeout as http_get_timeout};
pub use ports::free_port;
pub use process::{cpu_ticks, rss_kib, run_to_exit, Proc};
pub use scratch::Scratch;
pub use server::{Server, ServerBuilder};
pub use tmux::Tmux;
pub use wait::wait_for;

/// The path of one of the root package's binaries, e.g. `bin!("venture-server")`. Cargo
/// sets `CARGO_BIN_EXE_<name>` only while it builds that package's tests and benches, so
/// this must expand in the caller.
#[macro_export]
macro_rules! bin {
    ($name:literal) => {
        env!(concat!("CARGO_BIN_EXE_", $name))
    };
}
