//! Startup: the server key, the world (or the stand-in until an allocation), the sockets
//! (UDP and the TCP listener on the same port number), signals, the session behind the
//! secure layer, the metrics, Agones; what `ServerApp::bind` returns accepts players.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Interest, Poll};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;
use venture_net::carrier::stream::StreamTable;
use venture_net::carrier::udp::UdpCarrier;
use venture_net::carrier::{Both, CarrierKind};
use venture_net::driver::{ServerDriver, ServerLayer};

use super::{
    allocation, characters, durability, server_key, world, Health, ServerApp, ServerError, AGONES,
    HTTP_BASE, SIGNALS, STREAM_BASE, UDP,
};
use crate::ops::cli::ServerConfig;
use crate::ops::http::{HttpLimits, HttpServer};
use crate::ops::metrics::Metrics;

/// The server key from the saves directory, generated there on first start. A key file
/// that exists but cannot be used stops the server (an operator must decide); a saves
/// directory the key cannot be written to gives a key for this run only, said loudly.
fn load_server_key(saves_dir: &std::path::Path) -> Result<server_key::ServerKey, ServerError> {
    match server_key::load_or_create(saves_dir) {
        Ok((key, server_key::KeyOrigin::Loaded(path))) => {
            log::info!(target: "venture::server", component = "server", path:% = path.display(), server_key:% = key.fingerprint(); "server key loaded");
            Ok(key)
        }
        Ok((key, server_key::KeyOrigin::Created(path))) => {
            log::info!(target: "venture::server", component = "server", path:% = path.display(), server_key:% = key.fingerprint(); "server key generated (first start): back this file up; clients pin its public key");
            Ok(key)
        }
        Err(server_key::ServerKeyError::Unwritable { path, source }) => {
            let key = server_key::generate().map_err(server_key::ServerKeyError::Generate)?;
            log::error!(target: "venture::server", component = "server", path:% = path.display(), error:% = source, server_key:% = key.fingerprint(); "server key cannot be saved: using an ephemeral key for this run; clients that pin it will refuse this server after a restart");
            Ok(key)
        }
        Err(e) => Err(e.into()),
    }
}

impl ServerApp {
    /// Binds the sockets and generates the world; the server accepts players from here on.
    pub fn bind(config: ServerConfig) -> Result<ServerApp, ServerError> {
        let started = Instant::now();
        let mut config = config;
        let server_key = load_server_key(&config.saves_dir)?;
        // With -await-allocation the real world waits for Agones (allocation.rs).
        let opened = if config.await_allocation {
            allocation::stand_in(&config)?
        } else {
            world::open(&mut config)?
        };

        let addr = config.listen_addr();
        let mut udp =
            UdpCarrier::bind(addr).map_err(|source| ServerError::BindUdp { addr, source })?;
        let local_addr = udp.local_addr()?;
        // The HTTP listener takes the same port number over TCP (health checks like
        // `nc -zv host 8080` and Kubernetes tcpSocket probes hit it).
        let tcp_addr = SocketAddr::new(addr.ip(), local_addr.port());
        let listener = TcpListener::bind(tcp_addr).map_err(|source| ServerError::BindTcp {
            addr: tcp_addr,
            source,
        })?;

        let poll = Poll::new()?;
        udp.register(poll.registry(), UDP)?;
        let mut http = HttpServer::new(listener, HttpLimits::default());
        http.register(poll.registry(), HTTP_BASE)
            .map_err(|e| ServerError::Setup(e.to_string()))?;
        let mut signals = Signals::new([SIGTERM, SIGINT])?;
        poll.registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)?;

        // Players and spectators, each possibly mid-reconnect from a new port, plus room
        // for handshakes under way.
        let max_peers = 2 * (config.max_players as usize + config.max_spectators as usize) + 32;
        let epoch = Instant::now();
        let characters = characters::Characters::new(&config.saves_dir);
        let mut session = world::session(
            opened.world,
            &config,
            &characters,
            &server_key,
            Duration::ZERO,
        )?;
        session.set_awaiting_allocation(config.await_allocation);
        let interval = session.tick_interval();
        let layer = ServerLayer {
            keypair: server_key.clone(),
            max_peers,
        };
        let carriers = Both::new(
            udp,
            &[CarrierKind::Udp],
            StreamTable::new(STREAM_BASE, max_peers),
        );
        let driver = ServerDriver::with_layer(carriers, session, layer, epoch)
            .map_err(|e| ServerError::Setup(e.to_string()))?;
        let mut metrics = Metrics::new(crate::ops::cli::VERSION, crate::ops::cli::GIT_COMMIT);
        let collector = metrics.register_collector();
        let standby_metrics = metrics.register_standby();
        standby_metrics.set_role("primary");
        if !config.await_allocation {
            world::describe(&mut metrics, &config);
        }
        let config_autosave = config.autosave;
        log::info!(
            target: "venture::server",
            component = "server", addr:% = local_addr, port = local_addr.port(), max_players = config.max_players,
            tick_rate = config.tick_rate, seed = config.seed, seed_random = config.seed_is_random,
            genre = config.genre.id(), version = crate::ops::cli::VERSION, server_key:% = server_key.fingerprint(),
            startup_ms = started.elapsed().as_millis() as u64, awaiting_allocation = config.await_allocation;
            "Starting Venture Game Server"
        );
        let await_allocation = config.await_allocation;
        // Ready goes out on the first loop turn: the sockets are bound by now.
        let agones = config.agones.then(|| {
            crate::ops::agones::AgonesClient::from_env(
                AGONES,
                Instant::now(),
                config.max_players,
                config.await_allocation,
            )
        });
        Ok(ServerApp {
            config,
            poll,
            driver,
            http,
            signals,
            metrics,
            health: Health {
                started,
                last_tick: Instant::now(),
                interval,
                shutting_down: false,
                stalled_until: None,
                persistence: None,
                awaiting_allocation: await_allocation,
            },
            collector,
            http_cap_logged: false,
            local_addr,
            files: opened.files,
            recorder: opened.recorder,
            next_autosave: Instant::now() + config_autosave,
            save_requested: false,
            characters,
            agones,
            durability: opened.durability,
            save_retry: durability::Backoff::default(),
            unsaved_characters: BTreeMap::new(),
            saved_tick: opened.saved_tick,
            fingerprint: server_key.fingerprint(),
            _locks: opened.locks,
            standby_metrics,
            server_key,
            promotion: None,
            deposed: None,
        })
    }
}
