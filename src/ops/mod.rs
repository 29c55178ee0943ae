//! What operators touch: the server's flags, its logs, its HTTP endpoints, its metrics and
//! its Agones lifecycle. The game server (`crate::server`) drives all of them from its loop;
//! none of them knows the game.
//!
//! * [`cli`]: `venture-server`'s flag table, its validated config, `-version`;
//! * [`logging`]: `LOG_LEVEL`/`LOG_FORMAT`, JSON or text lines on stdout;
//! * [`http`]: the small non-blocking HTTP/1.1 server for `/healthz`, `/readyz`,
//!   `/metrics`, `/status` (and the hand-over of game streams sharing the port);
//! * [`http_client`]: the non-blocking HTTP/1.1 client the Agones SDK calls go through;
//! * [`nbio`]: the non-blocking read/write steps both share;
//! * [`metrics`]: Prometheus metrics and their text exposition;
//! * [`agones`]: with `-agones`, the game-server lifecycle calls to the Agones SDK sidecar.

pub mod agones;
pub mod cli;
pub mod http;
pub mod http_client;
pub mod logging;
pub mod metrics;
pub mod nbio;
