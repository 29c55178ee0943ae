//! The client process. Interactive ([`tui`]) when stdin and stdout are terminals and
//! neither `--bot` nor `--bots` is given; otherwise headless: one mio loop driving one or
//! more client sessions (`--bots N` for load), each played by a bot. The headless client
//! prints a status line every few seconds on stderr and, at the end, one JSON line per
//! client on stdout. Both write a desync report when a client's checksum disagrees with
//! the server's; the headless one can record what it confirmed. What both loops share
//! (targets, pins, session setup, the pump, desync reports, the run's outcome) is the
//! [`shell`]; [`servers`] is `-server A,B`, [`bots`] the headless players, [`known_servers`]
//! and [`pinning`] the server key pins.

pub mod bots;
pub mod known_servers;
pub mod pinning;
pub mod servers;
pub mod shell;
pub mod tui;

use std::fs;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};
use venture_net::carrier::client::{ClientCarrier, ClientTarget, Proxy, Transport};
use venture_net::client::{ClientEvent, ClientStats, CloseReason, Phase};
use venture_net::driver::ClientDriver;
use venture_replay::{SessionHeader, SessionWriter};

use crate::flags::{Spec, Valid};
use bots::{Bot, BotKind};
use shell::carrier_name;
pub use shell::RunOutcome;
use shell::Shell;
use venture_net::secure::Fingerprint;

// Adding a flag is one row: `field: Type = value("flag-name", "META", "default", Valid::..,
// "help")`, or `optional(..)` for an `Option<T>` without default, or `switch("name", "help")`.
crate::flag_table! {
    /// `venture-client`'s flags, one row each (see [`crate::flags`]). In a terminal you
    /// play; with -bot or -bots (or without a terminal) a headless bot plays and JSON
    /// lines report.
    pub struct ClientArgs {
        server: String = value("server", "HOST:PORT", "localhost:8080", Valid::Any,
            "server address; HOST:PORT,HOST:PORT (a primary and its standby) tries them in turn whenever the server in use stops answering (headless clients)"),
        name: Option<String> = optional("name", "NAME", Valid::Any,
            "player name, 1 to 16 letters, digits, '_', '-' or spaces (headless default \"bot\"; with -bots N the clients are NAME0, NAME1, ...; interactive: asked once and remembered)"),
        bot: Option<BotKind> = optional("bot", "KIND", Valid::Parses(bots::valid_kinds),
            "bot behaviour (default random); runs headless"),
        bots: Option<u32> = optional("bots", "N", Valid::Range(1, 256),
            "number of headless clients to run in this process (default 1)"),
        duration: Option<u64> = optional("duration", "SECONDS", Valid::Range(0, u32::MAX as i128),
            "exit after this many seconds and print the final JSON line(s)"),
        record: Option<PathBuf> = optional("record", "FILE", Valid::NonEmpty("a file path"),
            "record the confirmed session to this replay file (first client only)"),
        status_every: u64 = value("status-every", "SECONDS", "3", Valid::Range(0, 86_400),
            "seconds between status lines on stderr (0 turns them off)"),
        desync_dir: PathBuf = value("desync-dir", "DIR", ".", Valid::NonEmpty("a directory path"),
            "directory for desync reports"),
        secret_dir: Option<PathBuf> = optional("secret-dir", "DIR", Valid::NonEmpty("a directory path"),
            "directory keeping character secrets and the known_servers key pins (default: $XDG_CONFIG_HOME/venture or ~/.config/venture)"),
        multiplayer: bool = switch("multiplayer",
            "accepted for compatibility with the deployment guide; a headless client is always multiplayer"),
        protocol_version: Option<u16> = optional("protocol-version", "N", Valid::Range(0, 65535),
            "protocol version to announce (diagnostics: shows how a mismatch is reported)"),
        inject_desync: Option<u64> = optional("inject-desync", "TICK", Valid::Range(0, i64::MAX as i128),
            "diagnostics: alter this client's own world at this tick (the first confirmed at or after it) to watch a desync be detected, reported and resynced (first client only with -bots N)"),
        spectate: bool = switch("spectate",
            "watch the game without taking a player slot (no inputs; in a terminal: Tab follows the next player, c a free camera)"),
        reconnect_for: u64 = value("reconnect-for", "SECONDS", "120", Valid::Range(0, 86_400),
            "seconds to keep reconnecting when the server stops answering or restarts (0: give up at once)"),
        server_key: Option<Fingerprint> = optional("server-key", "HEX", Valid::Parses(server_key_text),
            "the server's public key, as its operator gives it (the fingerprint in its start log and /status); the server must present this key, and it is pinned"),
        transport: Transport = value("transport", "KIND", "auto", Valid::Parses(transport_text),
            "how to reach the server: udp, tcp (the game port's TCP listener), ws (WebSocket at /play), or auto: UDP, with TCP raced beside it when UDP gets no answer within a second"),
        proxy: Option<Proxy> = optional("proxy", "URL", Valid::Parses(proxy_text),
            "connect through a SOCKS5 proxy, socks5h://HOST:PORT (Tor: socks5h://127.0.0.1:9050); the proxy resolves the server's name, so .onion addresses work; implies a stream (tcp unless -transport ws)"),
        accept_new_key: bool = switch("accept-new-key",
            "trust the key the server presents although it differs from the one pinned in known_servers (in the -secret-dir directory), and pin it"),
    }
}

fn transport_text() -> String {
    Transport::VALID.to_owned()
}

fn proxy_text() -> String {
    "socks5h://HOST:PORT".to_owned()
}

fn server_key_text() -> String {
    "64 hex digits, optionally after venture-key:".to_owned()
}

/// `venture-client`'s help around the rows.
pub const SPEC: Spec = Spec {
    program: "venture-client",
    about: "Headless Venture client: connects to a server and plays with a bot.",
    note: "Exit status: 0 without a desync (reconnects included), 1 after a desync, 2 on a usage error, 3 when the server could not be reached or refused us, or was lost and did not come back within -reconnect-for.",
};

/// Why the client process ends badly.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid arguments: {0}")]
    Args(String),
    #[error("cannot resolve server address {0:?}")]
    Resolve(String),
    #[error("{0}")]
    Io(#[from] io::Error),
}

struct Player {
    driver: ClientDriver<ClientCarrier>,
    bot: Bot,
    name: String,
    recorder: Option<SessionWriter<fs::File>>,
    record_path: Option<PathBuf>,
    closed_logged: bool,
    /// Joins so far (a second one is a rejoin after a reconnect).
    joins: u32,
    /// The last reconnect episode was reported on stderr.
    reconnect_logged: bool,
    /// Its sessions across `-server A,B`.
    failover: servers::Failover,
}

impl Player {
    /// Counters of every session of this player.
    fn stats(&self) -> ClientStats {
        self.failover.stats(&self.driver.session)
    }

    /// `-server A,B`: leaves a session whose server stopped answering and starts one at
    /// the next address (see [`servers`]).
    fn maybe_switch(&mut self, registry: &mio::Registry, shell: &Shell) -> io::Result<()> {
        let joined = self.joins > 0;
        match self
            .failover
            .step(&mut self.driver, shell, registry, joined)?
        {
            servers::Step::Steady => {}
            servers::Step::PlayingAgain { .. } => eprintln!("{}: playing again", self.name),
            servers::Step::Trying { host, port } => {
                self.closed_logged = false;
                // The new session's own reconnect episodes are logged afresh; its first
                // playing is reported above.
                self.reconnect_logged = false;
                eprintln!("{}: trying {host}:{port}", self.name);
            }
        }
        Ok(())
    }
}

/// Where `-server A[,B...]`, `-transport` and `-proxy` say to connect: a target per
/// address, in order.
pub(crate) fn targets(args: &ClientArgs) -> Result<Vec<ClientTarget>, ClientError> {
    let list: Vec<&str> = args
        .server
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if list.is_empty() {
        return Err(ClientError::Resolve(args.server.clone()));
    }
    list.into_iter()
        .map(|server| target(server, args.transport, args.proxy.as_ref()))
        .collect()
}

/// Where one `HOST:PORT` is reached with `transport` and `proxy`. With a proxy the
/// server's name is left for the proxy to resolve (a `.onion` name resolves nowhere else).
pub(crate) fn target(
    server: &str,
    transport: Transport,
    proxy: Option<&Proxy>,
) -> Result<ClientTarget, ClientError> {
    let (host, port) = split_host_port(server)
        .ok_or_else(|| ClientError::Args(format!("-server {server:?}: expected HOST:PORT")))?;
    let (addr, proxy) = match proxy {
        Some(p) => {
            let proxy = resolve(&format!("{}:{}", bracket(&p.host), p.port))?;
            let literal = host
                .parse::<std::net::IpAddr>()
                .ok()
                .map(|ip| SocketAddr::new(ip, port));
            (literal, Some(proxy))
        }
        None => (Some(resolve(server)?), None),
    };
    Ok(ClientTarget {
        transport,
        host,
        port,
        addr,
        proxy,
    })
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// `HOST:PORT` or `[V6]:PORT` into its parts.
fn split_host_port(server: &str) -> Option<(String, u16)> {
    let (host, port) = server.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port.parse().ok()?;
    (!host.is_empty()).then(|| (host.to_owned(), port))
}

pub(crate) fn resolve(server: &str) -> Result<SocketAddr, ClientError> {
    let addrs: Vec<SocketAddr> = server
        .to_socket_addrs()
        .map_err(|_| ClientError::Resolve(server.into()))?
        .collect();
    // Prefer IPv4: "localhost" resolving to ::1 first would miss a server bound to 0.0.0.0.
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| ClientError::Resolve(server.into()))
}

pub(crate) fn default_secret_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(x).join("venture"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config").join("venture"))
}

/// Loads this name's character secret, creating it (mode 0600) on first use. Without a
/// usable directory the secret is ephemeral and the character cannot be reclaimed later.
pub(crate) fn character_secret(dir: Option<&Path>, name: &str) -> [u8; 16] {
    let mut fresh = [0u8; 16];
    if getrandom::fill(&mut fresh).is_err() {
        // No OS randomness: fall back to time and pid; still unguessable enough to keep
        // one player from claiming another's character by accident.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        fresh[..8].copy_from_slice(&(t.as_nanos() as u64).to_le_bytes());
        fresh[8..12].copy_from_slice(&std::process::id().to_le_bytes());
    }
    let Some(dir) = dir else { return fresh };
    let path = dir.join(format!("{}.secret", name.replace(' ', "_")));
    if let Ok(text) = fs::read_to_string(&path) {
        if let Ok(bytes) = venture_net::secure::parse_hex(text.trim()) {
            return bytes;
        }
    }
    let written = write_private(&path, venture_net::secure::hex(&fresh).as_bytes());
    if let Err(e) = written {
        log::warn!(target: "venture::client", "cannot keep the character secret in {}: {e}", path.display());
    }
    fresh
}

/// The client's files that hold a secret or a choice (character secrets, the remembered
/// name) are written by the one private-file writer: atomic, 0600, synced.
pub(crate) use crate::atomic_file::write as write_private;

/// True when this run is a person at a terminal: stdin and stdout are terminals and no
/// bot was asked for.
pub fn interactive(args: &ClientArgs) -> bool {
    use std::io::IsTerminal;
    args.bot.is_none()
        && args.bots.is_none()
        && io::stdin().is_terminal()
        && io::stdout().is_terminal()
}

/// Plays interactively: the name from `--name`, the remembered one, or asked for.
pub fn run_interactive(args: ClientArgs) -> Result<RunOutcome, ClientError> {
    if args.spectate {
        // A spectator has no character: no name to ask for or remember.
        let name = args.name.clone().unwrap_or_else(|| "spectator".to_string());
        return tui::app::run(&args, name);
    }
    let dir = args.secret_dir.clone().or_else(default_secret_dir);
    let name = match args
        .name
        .clone()
        .or_else(|| tui::name::remembered(dir.as_deref()))
    {
        Some(n) => n,
        None => {
            let stdin = io::stdin();
            match tui::name::ask(&mut stdin.lock(), &mut io::stdout())? {
                Some(n) => n,
                None => return Err(ClientError::Args("no name given".into())),
            }
        }
    };
    if !venture_sim::valid_name(&name) {
        return Err(ClientError::Args(format!(
            "invalid name {name:?}: 1 to 16 letters, digits, '_', '-' or spaces"
        )));
    }
    tui::name::remember(dir.as_deref(), &name);
    tui::app::run(&args, name)
}

/// Runs the headless clients until `--duration` passes or every client has closed.
pub fn run(args: ClientArgs) -> Result<RunOutcome, ClientError> {
    let kind = args.bot.unwrap_or(BotKind::Random);
    let bots = args.bots.unwrap_or(1);
    let default_name = if args.spectate { "spectator" } else { "bot" };
    let base_name = args
        .name
        .clone()
        .unwrap_or_else(|| default_name.to_string());
    if bots == 0 || bots > 256 {
        return Err(ClientError::Args(format!(
            "--bots {bots} (valid: 1 to 256)"
        )));
    }
    let mut shell = Shell::new(&args)?;
    let mut poll = Poll::new()?;
    let epoch = shell.epoch;
    let mut players = Vec::new();
    for i in 0..bots {
        let name = if bots == 1 {
            base_name.clone()
        } else {
            format!("{base_name}{i}")
        };
        if !venture_sim::valid_name(&name) {
            return Err(ClientError::Args(format!(
                "invalid name {name:?}: 1 to 16 letters, digits, '_', '-' or spaces"
            )));
        }
        let mut config = shell.config(&args, &name);
        config.report_confirmed = i == 0 && args.record.is_some();
        if i != 0 {
            config.inject_desync_at = None;
        }
        let token = Token(2 * i as usize);
        players.push(Player {
            driver: shell.connect(
                config.clone(),
                shell.servers.current_target(),
                poll.registry(),
                token,
            )?,
            failover: servers::Failover::new(shell.servers.clone(), config, token),
            bot: Bot::new(kind, 0x5eed ^ (i as u64) << 8 ^ std::process::id() as u64),
            name,
            recorder: None,
            record_path: if i == 0 { args.record.clone() } else { None },
            closed_logged: false,
            joins: 0,
            reconnect_logged: false,
        });
    }

    let deadline = args.duration.map(|d| epoch + Duration::from_secs(d));
    let status_every = (args.status_every > 0).then(|| Duration::from_secs(args.status_every));
    let mut next_status = status_every.map(|d| epoch + d);
    let mut events = Events::with_capacity(256);
    let mut outcome = RunOutcome::default();
    loop {
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d)
            || players.iter().all(|p| p.driver.session.is_closed())
        {
            break;
        }
        let mut wake = players
            .iter()
            .map(|p| p.driver.next_wakeup())
            .min()
            .unwrap_or(now)
            .min(now + Duration::from_millis(50));
        if let Some(d) = deadline {
            wake = wake.min(d);
        }
        match poll.poll(&mut events, Some(wake.saturating_duration_since(now))) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
        for p in players.iter_mut() {
            let bot = &mut p.bot;
            for line in shell.pump(&mut p.driver, &mut |world, slot| bot.input(world, slot)) {
                eprintln!("venture-client: {line}");
            }
            let give_up = Duration::from_secs(args.reconnect_for);
            handle_events(p, &args.desync_dir, &mut outcome, give_up);
            log_reconnect(p, epoch);
            p.maybe_switch(poll.registry(), &shell)?;
        }
        if let (Some(at), Some(every)) = (next_status, status_every) {
            if Instant::now() >= at {
                next_status = Some(at + every);
                for p in &players {
                    eprintln!("{}", status_line(p, epoch));
                }
            }
        }
    }
    for p in players.iter_mut() {
        p.driver.session.leave();
        p.driver.flush(Instant::now());
        if let Some(rec) = p.recorder.take() {
            if let Err(e) = rec.finish("client exited") {
                eprintln!(
                    "venture-client: recording {}: {e}",
                    p.record_path.as_deref().unwrap_or(Path::new("?")).display()
                );
            }
        }
        println!("{}", final_json(p));
    }
    Ok(outcome)
}

fn handle_events(p: &mut Player, desync_dir: &Path, outcome: &mut RunOutcome, give_up: Duration) {
    // A session started at another address while the server is lost: its refusals and
    // silences are part of trying (see `servers`) until the time to come back runs out.
    let trying = p.failover.trying();
    for ev in p.driver.session.drain_events() {
        match ev {
            ClientEvent::Welcomed {
                slot,
                seed,
                genre,
                start_tick,
                ..
            } => {
                p.joins += 1;
                let verb = if p.joins > 1 { "rejoined" } else { "joined" };
                let role = if p.driver.session.config().spectate {
                    "a spectator".to_string()
                } else {
                    format!("slot {slot}")
                };
                eprintln!(
                    "{}: {verb} as {role} (seed {seed}, genre {genre}, tick {start_tick})",
                    p.name
                );
                if p.joins > 1 {
                    // A restarted server resumes from its journal, which may end before
                    // what we recorded: the recording stops rather than mixing timelines.
                    if let Some(rec) = p.recorder.take() {
                        if let Err(e) = rec.finish("server restarted") {
                            eprintln!("venture-client: recording: {e}");
                        }
                        eprintln!("{}: recording stopped at the reconnect", p.name);
                    }
                    p.record_path = None;
                }
            }
            ClientEvent::Synced { tick, world } => {
                if let Some(path) = p.record_path.as_ref() {
                    if p.recorder.is_none() {
                        let header = SessionHeader::from_world(
                            &world,
                            format!("venture-client {}", env!("CARGO_PKG_VERSION")),
                        );
                        match SessionWriter::create(path, &header) {
                            Ok(w) => p.recorder = Some(w),
                            Err(e) => eprintln!(
                                "venture-client: cannot record to {}: {e}",
                                path.display()
                            ),
                        }
                    }
                }
                log::debug!(target: "venture::client", "{} synced at tick {tick}", p.name);
            }
            ClientEvent::Confirmed {
                frame, checksum, ..
            } => {
                if let Some(rec) = p.recorder.as_mut() {
                    if let Err(e) = rec.append_frame(&frame, checksum) {
                        eprintln!("venture-client: recording stopped: {e}");
                        p.recorder = None;
                    }
                }
            }
            ClientEvent::Desync {
                tick,
                client_checksum,
                server_checksum,
                state,
            } => {
                // Recording past a desync would record our wrong world.
                p.recorder = None;
                match outcome.desync(desync_dir, &p.name, tick, client_checksum, server_checksum, &state) {
                    Ok(path) => eprintln!(
                        "{}: DESYNC at tick {tick}: ours {client_checksum:08x}, server {server_checksum:08x}; report {}",
                        p.name,
                        path.display()
                    ),
                    Err(e) => eprintln!("{}: DESYNC at tick {tick} (report not written: {e})", p.name),
                }
            }
            // Only a standby's follower session receives saved characters.
            ClientEvent::Claim(_) => {}
            ClientEvent::Closed(reason) => {
                if trying && reason != CloseReason::Left {
                    continue;
                }
                if p.failover.lost_since().is_some()
                    && matches!(reason, CloseReason::Unreachable | CloseReason::Rejected(_))
                    && !p.closed_logged
                {
                    p.closed_logged = true;
                    let msg = format!(
                        "{}: lost the server {}: the server stopped answering (no answer to reconnecting for {} s)",
                        p.name,
                        p.driver.session.server(),
                        give_up.as_secs()
                    );
                    eprintln!("venture-client: {msg}");
                    outcome.server_lost.get_or_insert(msg);
                    continue;
                }
                if !p.closed_logged {
                    p.closed_logged = true;
                    if let Some(msg) = outcome.closed(&p.name, &p.driver, &reason) {
                        eprintln!("venture-client: {msg}");
                    }
                }
            }
        }
    }
}

fn percentile(samples: &[u32], p: usize) -> Option<u32> {
    if samples.is_empty() {
        return None;
    }
    let mut s = samples.to_vec();
    s.sort_unstable();
    Some(s[(s.len() - 1) * p / 100])
}

/// One stderr line when a reconnect episode starts and one when it ends.
fn log_reconnect(p: &mut Player, epoch: Instant) {
    let now = Instant::now().saturating_duration_since(epoch);
    match p.driver.session.reconnecting(now) {
        Some(st) if !p.reconnect_logged => {
            p.reconnect_logged = true;
            eprintln!("{}: {}: reconnecting", p.name, st.cause);
        }
        None if p.reconnect_logged => {
            p.reconnect_logged = false;
            if matches!(p.driver.session.phase(), Phase::Playing) {
                eprintln!("{}: playing again", p.name);
            }
        }
        _ => {}
    }
}

fn status_line(p: &Player, epoch: Instant) -> String {
    let s = &p.stats();
    let tick = p.driver.session.world().map_or(0, |w| w.tick());
    let rtt = p
        .driver
        .session
        .rtt()
        .map_or("-".to_string(), |r| format!("{}ms", r.as_millis()));
    let now = Instant::now().saturating_duration_since(epoch);
    let phase = match (p.driver.session.phase(), p.driver.session.reconnecting(now)) {
        (Phase::Closed(r), _) if p.failover.lost_since().is_none() => format!("closed ({r})"),
        (phase, None) if p.failover.servers().switched() && !matches!(phase, Phase::Playing) => {
            format!(
                "reconnecting (the server stopped answering; trying {}, {}s)",
                p.driver.session.server(),
                p.failover.lost_since().map_or(0, |t| t.elapsed().as_secs())
            )
        }
        (Phase::Closed(r), _) => format!("closed ({r})"),
        (_, Some(st)) => st.to_string(),
        (phase, None) => match phase {
            Phase::Playing => "playing".to_string(),
            Phase::Joining { .. } => "joining".to_string(),
            other => format!("{other:?}").to_lowercase(),
        },
    };
    format!(
        "{}: {phase} tick {tick} lead {} rtt {rtt} rollbacks {} desyncs {} late {} via {}",
        p.name,
        p.driver.session.lead(),
        s.rollbacks,
        s.desyncs,
        s.late_inputs,
        carrier_name(&p.driver),
    )
}

fn final_json(p: &Player) -> serde_json::Value {
    let s = &p.stats();
    let mut wire = venture_net::carrier::CarrierStats::default();
    for kind in venture_net::carrier::CarrierKind::ALL {
        wire.add(&p.driver.carrier_stats(kind));
    }
    serde_json::json!({
        "name": p.name,
        "carrier": carrier_name(&p.driver),
        "wire_packets_out": wire.packets_out,
        "wire_packets_in": wire.packets_in,
        "wire_bytes_out": wire.bytes_out,
        "wire_bytes_in": wire.bytes_in,
        "spectator": p.driver.session.config().spectate,
        "ticks": s.ticks,
        "confirmed": s.confirmed,
        "rollbacks": s.rollbacks,
        "max_rollback": s.max_rollback,
        "desyncs": s.desyncs,
        "resyncs": s.resyncs,
        "rtt_ms_p50": percentile(&s.rtt_ms, 50),
        "rtt_ms_p99": percentile(&s.rtt_ms, 99),
        "bytes_sent": s.bytes_sent,
        "bytes_received": s.bytes_received,
        "datagrams_sent": s.datagrams_sent,
        "datagrams_received": s.datagrams_received,
        "late_inputs": s.late_inputs,
        "reconnects": s.reconnects,
    })
}
