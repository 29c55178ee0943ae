//! Game clients for tests: an in-process client session over real UDP (for tests that
//! need to drive or inspect one client closely), and the final JSON line of the
//! `venture-client` process.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use venture_net::carrier::udp::UdpCarrier;
use venture_net::client::{ClientConfig, ClientSession, Phase};
use venture_net::driver::ClientDriver;

use crate::Proc;

/// One client session on its own loopback socket, pumped by the test; it plays idle.
pub struct Bot {
    pub driver: ClientDriver<UdpCarrier>,
}

impl Bot {
    /// A client of the server at 127.0.0.1:`port`, not yet connected.
    pub fn new(name: &str, port: u16) -> Bot {
        Self::with_config(ClientConfig::new(name), port)
    }

    pub fn with_config(config: ClientConfig, port: u16) -> Bot {
        let server = SocketAddr::from(([127, 0, 0, 1], port));
        let local = SocketAddr::from(([127, 0, 0, 1], 0));
        let socket = UdpCarrier::bind(local).expect("bind a loopback UDP socket");
        let session = ClientSession::new(config, server, Duration::ZERO);
        Bot {
            driver: ClientDriver::new(socket, session, Instant::now()),
        }
    }

    /// One turn of the client: receive, step, send.
    pub fn pump(&mut self) {
        let mut idle = |_: &venture_sim::World, _: u8| venture_sim::PlayerInput::default();
        self.driver.pump(Instant::now(), &mut idle);
    }

    /// Pumps every 5 ms until `f` holds of the phase; false after `timeout`.
    pub fn pump_until(&mut self, timeout: Duration, f: impl Fn(&Phase) -> bool) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            self.pump();
            if f(self.driver.session.phase()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    /// Connects and waits until playing (30 s: the machine may be busy).
    pub fn join(name: &str, port: u16) -> Bot {
        let mut bot = Bot::new(name, port);
        let ok = bot.pump_until(Duration::from_secs(30), |p| *p == Phase::Playing);
        assert!(
            ok,
            "bot {name} did not reach Playing: {:?}",
            bot.driver.session.phase()
        );
        bot
    }

    /// Leaves and pumps until closed, so the goodbye goes out.
    pub fn leave(mut self) {
        self.driver.session.leave();
        self.pump_until(Duration::from_secs(2), |p| matches!(p, Phase::Closed(_)));
        for _ in 0..10 {
            self.pump();
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sends one datagram with this payload through the secure layer, beside the session.
    pub fn send_raw(&mut self, payload: Vec<u8>) {
        self.driver.send_datagram(Instant::now(), &payload);
    }
}

/// The last stdout line of a `venture-client` process (one per client at the end), parsed.
pub fn final_json(p: &Proc) -> serde_json::Value {
    let out = p.stdout();
    let line = out
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("{}: no final JSON line", p.tag));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{}: final line {line:?}: {e}", p.tag))
}

/// Every JSON line of a `venture-client` process's stdout (one per client).
pub fn json_lines(p: &Proc) -> Vec<serde_json::Value> {
    p.stdout()
        .lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}
