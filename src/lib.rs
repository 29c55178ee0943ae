//! Venture server application: the pieces of the `venture-server` binary that
//! are not the game itself.
//!
//! * [`flags`]: the flag-table parser every binary uses;
//! * [`cli`]: the server's flag table, validation, `-version`;
//! * [`logging`]: `LOG_LEVEL`/`LOG_FORMAT`, JSON or text lines on stdout;
//! * [`http`]: a small non-blocking HTTP/1.1 server for health and metrics,
//!   driven by the server's mio loop;
//! * [`metrics`]: Prometheus metrics and their text exposition;
//! * [`client`]: `venture-client`, headless and in a terminal, around one client shell;
//! * [`tui`]: the terminal UI (renderer, terminal guard, loop) the terminal client and
//!   [`viewer`] (`venture-replay play`) share;
//! * [`balance`]: `venture-world --balance`, the balance harness;
//! * [`agones`]: with `-agones`, the game-server lifecycle calls to the Agones SDK sidecar.

#![forbid(unsafe_code)]

pub mod agones;
pub mod atomic_file;
pub mod balance;
pub mod cli;
pub mod client;
pub mod flags;
pub mod http;
pub mod http_client;
pub mod logging;
pub mod metrics;
pub mod nbio;
pub mod server;
pub mod tui;
pub mod viewer;
pub mod worldpng;
