//! Venture's root package: the four binaries' applications (`src/bin/` holds only their
//! `main`s). Every module:
//!
//! * [`server`]: `venture-server`, the dedicated server process (the mio loop around the
//!   game session, saves, characters, the journal, the standby, HTTP routes, its key);
//! * [`ops`]: what operators touch: the server's flags, logging, the HTTP server and
//!   client, Prometheus metrics, the Agones lifecycle;
//! * [`client`]: `venture-client`, headless bots and the terminal client around one
//!   client shell, the known servers and their pinned keys;
//! * [`viewer`]: `venture-replay play`, a recorded session in the terminal;
//! * [`tui`]: the terminal UI (renderer, terminal guard, loop) the terminal client and
//!   the viewer share;
//! * [`balance`]: `venture-world --balance`, the balance harness;
//! * [`worldpng`]: `venture-world --png`, a level as a picture;
//! * [`flags`]: the flag-table parser every binary's flags go through;
//! * [`atomic_file`]: the one private-file writer (atomic replace, mode 0600, fsync) the
//!   server's saves and key and the client's pins share.

#![forbid(unsafe_code)]

pub mod atomic_file;
pub mod balance;
pub mod client;
pub mod flags;
pub mod ops;
pub mod server;
pub mod tui;
pub mod viewer;
pub mod worldpng;
