//! Playing or watching a live game from the browser: the same `ClientSession` (prediction,
//! rollback, `LeadPacer`, checksum check of every confirmed tick) and the same secure
//! layer initiator (Noise NK, pinned to the key the page was served with) as the terminal
//! client, over the server's WebSocket carrier (`GET /play`, one binary message per
//! secure-layer packet).
//!
//! [`Socket`] is the browser's side of that carrier; [`Live`] pumps it with the layer and
//! the session in a [`ClientDriver`] on the page's clock (a `Duration` since the page started: the browser has
//! no `std::time::Instant`), keys go through the shared `venture_play::keys` mapper, and
//! the message log comes from confirmed ticks only (`venture_play::narrate`).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use venture_net::carrier::{Carrier, CarrierKind, CarrierStats, Remote};
use venture_net::client::{ClientConfig, ClientEvent, ClientSession, Phase};
use venture_net::driver::ClientDriver;
use venture_net::secure::initiator::{SecureEvent, Trust};
use venture_net::secure::keys::{fingerprint, parse_public_key};
use venture_net::secure::wire::MAX_WIRE_DATAGRAM;
use venture_play::inventory::{self, InventoryKey};
use venture_play::keys::{InputMapper, KeyCode, KeyEvent, KeyEventKind, Mapped};
use venture_play::narrate::Narrator;
use venture_play::view::{
    auto_target, monsters_near, next_follow, Explosions, LogKind, LogLine, Overlay, ViewState,
};
use venture_sim::World;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, MessageEvent, WebSocket};

/// Packets queued while the WebSocket is still connecting (the handshake's first
/// packets); more than a handshake ever needs, so a stuck connection cannot grow it.
const MAX_QUEUED: usize = 64;
/// Confirmed checksums kept for inspection: an hour at 20 Hz (0.6 MB).
const MAX_KEPT_CHECKSUMS: usize = 72_000;
/// Received packets held between two pumps; a tab in the background is pumped rarely.
const MAX_INBOX: usize = 4096;
/// The session's server address: only used to filter datagrams, and a WebSocket hears
/// only its server.
const SERVER: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);

/// The browser's end of the WebSocket carrier: received messages in an inbox the
/// socket's callback fills, packets out as binary messages.
pub struct Socket {
    ws: WebSocket,
    inbox: Rc<RefCell<VecDeque<Vec<u8>>>>,
    closed: Rc<RefCell<bool>>,
    queued: Vec<Vec<u8>>,
    stats: CarrierStats,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(JsValue)>,
}

impl Socket {
    /// Opens `url` (`ws://host:port/play`).
    pub fn open(url: &str) -> Result<Socket, JsValue> {
        let ws = WebSocket::new(url)?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let inbox: Rc<RefCell<VecDeque<Vec<u8>>>> = Rc::default();
        let closed: Rc<RefCell<bool>> = Rc::default();
        let sink = inbox.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Ok(buf) = e.data().dyn_into::<js_sys::ArrayBuffer>() {
                let bytes = js_sys::Uint8Array::new(&buf).to_vec();
                let mut q = sink.borrow_mut();
                // Larger than any packet of ours, or a flood between pumps: dropped, as a
                // datagram would be.
                if bytes.len() <= MAX_WIRE_DATAGRAM && q.len() < MAX_INBOX {
                    q.push_back(bytes);
                }
            }
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let flag = closed.clone();
        let on_close = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            *flag.borrow_mut() = true;
        });
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Socket {
            ws,
            inbox,
            closed,
            queued: Vec::new(),
            stats: CarrierStats::default(),
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    fn send_packet(&mut self, packet: &[u8]) {
        match self.ws.ready_state() {
            WebSocket::CONNECTING if self.queued.len() < MAX_QUEUED => {
                self.queued.push(packet.to_vec())
            }
            WebSocket::OPEN => {
                for p in std::mem::take(&mut self.queued) {
                    self.put(&p);
                }
                self.put(packet);
            }
            _ => self.stats.dropped_out += 1,
        }
    }

    fn put(&mut self, packet: &[u8]) {
        if self.ws.send_with_u8_array(packet).is_ok() {
            self.stats.packets_out += 1;
            self.stats.bytes_out += packet.len() as u64;
        } else {
            self.stats.dropped_out += 1;
        }
    }

    /// Sends what was queued while connecting, once open.
    fn flush_queued(&mut self) {
        if self.ws.ready_state() == WebSocket::OPEN && !self.queued.is_empty() {
            for p in std::mem::take(&mut self.queued) {
                self.put(&p);
            }
        }
    }

    pub fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }
}

/// The carrier the [`ClientDriver`] pumps: every packet is from and to the server the
/// socket was opened on.
impl Carrier for Socket {
    fn recv(&mut self, buf: &mut [u8]) -> Option<(usize, Remote)> {
        loop {
            let p = self.inbox.borrow_mut().pop_front()?;
            // The inbox holds nothing larger than a wire datagram, the driver's buffer.
            let Some(dst) = buf.get_mut(..p.len()) else {
                self.stats.oversize_in += 1;
                continue;
            };
            dst.copy_from_slice(&p);
            self.stats.packets_in += 1;
            self.stats.bytes_in += p.len() as u64;
            return Some((p.len(), Remote::new(CarrierKind::WebSocket, SERVER)));
        }
    }

    fn send(&mut self, _to: Remote, packet: &[u8]) {
        self.send_packet(packet);
    }

    fn stats(&self, kind: CarrierKind) -> CarrierStats {
        match kind {
            CarrierKind::WebSocket => self.stats,
            _ => CarrierStats::default(),
        }
    }

    /// Sends what was queued while connecting, once open.
    fn poll(&mut self, _now: Duration) {
        self.flush_queued();
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

/// A live game in the page.
pub struct Live {
    /// The session on the secure layer on the WebSocket, pumped on the page's clock.
    pub driver: ClientDriver<Socket>,
    mapper: InputMapper,
    pub view: ViewState,
    narrator: Option<Narrator>,
    explosions: Explosions,
    pub name: String,
    /// Confirmed ticks verified against the server's checksums, and mismatches.
    pub confirmed: u64,
    pub desyncs: u64,
    /// The last confirmed tick and its checksum.
    pub last_confirmed: Option<(u64, u32)>,
    /// Every confirmed tick's checksum, oldest first, up to [`MAX_KEPT_CHECKSUMS`] (tests
    /// compare them with the server's recording).
    pub checksums: Vec<(u64, u32)>,
    /// The first desync's report, for download (the JSON `venture-replay diff` reads).
    pub desync_report: Option<String>,
    pub closed: Option<String>,
}

/// Why a live game cannot start.
#[derive(Debug)]
pub struct StartError(pub String);

impl Live {
    /// Joins (or, with `spectate`, watches) the server at `url` as `name`, trusting only
    /// `server_key` (64 hex digits, as the page was served with).
    pub fn start(
        url: &str,
        name: &str,
        server_key: &str,
        secret: [u8; 16],
        spectate: bool,
        now: Duration,
    ) -> Result<Live, StartError> {
        let key = parse_public_key(server_key)
            .map_err(|e| StartError(format!("the page's server key: {e}")))?;
        let socket = Socket::open(url).map_err(|e| StartError(format!("WebSocket: {e:?}")))?;
        let mut config = ClientConfig::new(name);
        config.spectate = spectate;
        config.report_confirmed = true;
        config.narrate = true;
        config.character_secret = secret;
        let session = ClientSession::new(config, SERVER, now);
        let mut driver = ClientDriver::on_session_clock(socket, session, Trust::Pinned(key));
        driver.set_stream_carrier(true);
        let mut view = ViewState::following(0);
        view.key_releases = true;
        view.spectating = spectate;
        view.push_log(LogLine {
            tick: 0,
            kind: LogKind::Info,
            text: format!(
                "Server key pinned from the page: {} (WebSocket).",
                fingerprint(&key)
            ),
        });
        Ok(Live {
            driver,
            mapper: InputMapper::new(true),
            view,
            narrator: None,
            explosions: Explosions::default(),
            name: name.to_string(),
            confirmed: 0,
            desyncs: 0,
            last_confirmed: None,
            checksums: Vec::new(),
            desync_report: None,
            closed: None,
        })
    }

    /// One step at `t` (since the page started): packets in, the session's clock and
    /// inputs, packets out, events into the view.
    pub fn pump(&mut self, t: Duration) {
        let mapper = &mut self.mapper;
        self.driver
            .pump_at(t, &mut |_world: &World, _slot: u8| mapper.sample(t, None));
        for e in self.driver.take_layer_events() {
            if let SecureEvent::KeyMismatch { .. } = e {
                self.closed =
                    Some("the server presented another key than the page's: stopped".into());
            }
        }
        for e in self.driver.session.drain_events() {
            self.event(e);
        }
        if self.driver.carrier().is_closed() && self.closed.is_none() {
            self.closed = Some("the server closed the connection".into());
        }
        if let Some(world) = self.driver.session.world() {
            self.explosions.update(world, &mut self.view.explosions);
            if !self.view.spectating {
                self.view.target = auto_target(world, self.view.follow, self.view.target);
            }
        }
        let rtt = self.driver.session.rtt().map(|r| r.as_millis() as u32);
        self.view.net.rtt_ms = rtt;
        self.view.net.lead_ticks = self.driver.session.lead();
        self.view.net.confirmed_tick = self.last_confirmed.map_or(0, |(t, _)| t);
        self.view.net.late_inputs = self.driver.session.stats().late_inputs;
        self.view.net.carrier = Some(CarrierKind::WebSocket.as_str());
    }

    /// Whose news the log tells as "You ...": our own slot's; a spectator has none (as in
    /// the terminal client), so every player's news is told by name.
    fn narrated_slot(&self) -> usize {
        if self.view.spectating {
            venture_sim::MAX_SLOTS
        } else {
            self.driver.session.slot() as usize
        }
    }

    fn event(&mut self, e: ClientEvent) {
        match e {
            ClientEvent::Welcomed { slot, .. } => {
                self.view.follow = slot as usize;
                if self.view.spectating {
                    self.view.push_log(LogLine {
                        tick: 0,
                        kind: LogKind::Info,
                        text:
                            "Watching as a spectator: Tab follows the next player, c a free camera."
                                .into(),
                    });
                }
            }
            ClientEvent::Synced { world, .. } => {
                if self.view.spectating {
                    if let Some(s) = self
                        .driver
                        .session
                        .world()
                        .and_then(|w| next_follow(w, self.view.follow, false))
                    {
                        self.view.follow = s;
                    }
                }
                self.narrator = Some(Narrator::new(&world, self.narrated_slot()));
            }
            ClientEvent::Confirmed {
                frame,
                checksum,
                story,
            } => {
                self.confirmed += 1;
                self.last_confirmed = Some((frame.tick, checksum));
                if self.checksums.len() < MAX_KEPT_CHECKSUMS {
                    self.checksums.push((frame.tick, checksum));
                }
                if let (Some(narrator), Some(story)) = (self.narrator.as_mut(), story) {
                    narrator.tell(&story.events, story.names, &mut self.view);
                }
            }
            ClientEvent::Desync {
                tick,
                client_checksum,
                server_checksum,
                state,
            } => {
                self.desyncs += 1;
                self.narrator = None;
                if self.desync_report.is_none() {
                    self.desync_report = report(tick, client_checksum, server_checksum, &state);
                }
                self.view.push_log(LogLine {
                    tick,
                    kind: LogKind::Bad,
                    text: format!(
                        "Desync at tick {tick} (ours {client_checksum:08x}, server's {server_checksum:08x}): resyncing; the report can be downloaded."
                    ),
                });
            }
            // Saved characters go to standby servers only.
            ClientEvent::Claim(_) => {}
            ClientEvent::Closed(reason) => {
                self.closed = Some(reason.to_string());
            }
        }
    }

    /// A key went down or up (`repeat`: an auto-repeat). Returns whether it was the
    /// game's (the page then keeps it from the browser).
    pub fn key(&mut self, key: &str, shift: bool, down: bool, repeat: bool, t: Duration) -> bool {
        let code = match key {
            "ArrowUp" => KeyCode::Up,
            "ArrowDown" => KeyCode::Down,
            "ArrowLeft" => KeyCode::Left,
            "ArrowRight" => KeyCode::Right,
            k if k.chars().count() == 1 => KeyCode::Char(k.chars().next().unwrap_or(' ')),
            _ => KeyCode::Other,
        };
        let kind = match (down, repeat) {
            (false, _) => KeyEventKind::Release,
            (true, true) => KeyEventKind::Repeat,
            (true, false) => KeyEventKind::Press,
        };
        if down && self.view.overlay == Overlay::Help {
            self.view.overlay = Overlay::None;
            return true;
        }
        if let Overlay::Inventory { cursor } = self.view.overlay {
            if down {
                self.inventory_key(key, cursor);
            }
            return true;
        }
        if down && key == "?" {
            self.mapper.release_all();
            self.view.overlay = Overlay::Help;
            return true;
        }
        if self.view.spectating {
            return down && self.spectator_key(key);
        }
        let playing = matches!(self.driver.session.phase(), Phase::Playing);
        if playing && self.mapper.key(KeyEvent::new(code, kind, shift), t) == Mapped::Game {
            return true;
        }
        if !down {
            return false;
        }
        match key {
            "Tab" => {
                if let Some(w) = self.driver.session.world() {
                    let near = monsters_near(w, self.view.follow, 12);
                    let i = self
                        .view
                        .target
                        .and_then(|c| near.iter().position(|m| *m == c));
                    self.view.target = match i {
                        Some(i) => near.get((i + 1) % near.len()).copied(),
                        None => near.first().copied(),
                    };
                }
                true
            }
            "n" | "N" => {
                self.view.show_net = !self.view.show_net;
                true
            }
            "i" | "I" if playing => {
                self.mapper.release_all();
                // The inventory acts on our own character: look at it.
                let me = self.driver.session.slot() as usize;
                self.view.follow = me;
                let player = self.driver.session.world().and_then(|w| w.player(me));
                self.view.overlay = inventory::open(player);
                true
            }
            _ => false,
        }
    }

    /// Whether the inventory is open (the page then gives it Enter, not the chat box).
    pub fn inventory_open(&self) -> bool {
        matches!(self.view.overlay, Overlay::Inventory { .. })
    }

    /// A key pressed in the inventory: the cursor moves, or the row's action is queued.
    fn inventory_key(&mut self, key: &str, cursor: usize) {
        let key = match key {
            "ArrowUp" | "w" | "W" | "k" => InventoryKey::Up,
            "ArrowDown" | "s" | "S" | "j" => InventoryKey::Down,
            "Escape" | "i" | "I" => InventoryKey::Close,
            "Enter" | "e" | "E" | "u" | "U" => InventoryKey::Act,
            "x" | "X" => InventoryKey::Drop,
            _ => InventoryKey::Other,
        };
        let me = self.driver.session.slot() as usize;
        let player = self.driver.session.world().and_then(|w| w.player(me));
        self.view.overlay =
            inventory::handle(player, cursor, key, |b, slot| self.mapper.queue(b, slot));
    }

    fn spectator_key(&mut self, key: &str) -> bool {
        let Some(world) = self.driver.session.world() else {
            return false;
        };
        match key {
            "Tab" | "PageDown" | "PageUp" => {
                if let Some(s) = next_follow(world, self.view.follow, key == "PageUp") {
                    self.view.follow = s;
                    self.view.free_camera = None;
                }
                true
            }
            "c" | "C" => {
                self.view.free_camera = match self.view.free_camera {
                    Some(_) => None,
                    None => Some(
                        world
                            .player(self.view.follow)
                            .map_or(world.level().spawn, |p| p.pos.tile()),
                    ),
                };
                true
            }
            "ArrowUp" | "ArrowDown" | "ArrowLeft" | "ArrowRight" | "w" | "a" | "s" | "d" => {
                if let Some((x, y)) = self.view.free_camera.as_mut() {
                    match key {
                        "ArrowUp" | "w" => *y -= 2,
                        "ArrowDown" | "s" => *y += 2,
                        "ArrowLeft" | "a" => *x -= 2,
                        _ => *x += 2,
                    }
                }
                true
            }
            "n" | "N" => {
                self.view.show_net = !self.view.show_net;
                true
            }
            _ => false,
        }
    }

    /// Lets go of every held key (the page lost focus, a text box opened).
    pub fn release_all(&mut self) {
        self.mapper.release_all();
    }

    /// Sends a chat line; false when it was refused (empty, or too fast).
    pub fn chat(&mut self, text: &str) -> bool {
        self.driver.session.send_chat(text)
    }

    /// The status line.
    pub fn status(&self) -> String {
        if let Some(why) = &self.closed {
            return format!("disconnected: {why}");
        }
        if self.view.show_net {
            let n = &self.view.net;
            return format!(
                "net: ws | rtt {} | lead {} ticks | confirmed tick {} | now {} | late inputs {} | desyncs {}",
                n.rtt_ms.map_or("-".into(), |r| format!("{r} ms")),
                n.lead_ticks,
                n.confirmed_tick,
                self.driver.session.world().map_or(0, |w| w.tick()),
                n.late_inputs,
                self.desyncs
            );
        }
        match self.driver.session.phase() {
            Phase::Connecting | Phase::Joining { .. } => "connecting...".into(),
            Phase::Syncing => "receiving the world...".into(),
            Phase::Closed(r) => format!("closed: {r}"),
            Phase::Playing if self.view.spectating => {
                "spectating  Tab/PgDn: next player  c: free camera (arrows move it)  N: net".into()
            }
            Phase::Playing => format!(
                "?: help  WASD/arrows: move  Space: attack  {}: spells  E: pick up  Tab: target  Enter: chat  N: net",
                venture_play::keys::spell_keys()
            ),
        }
    }

    pub fn carrier_stats(&self) -> CarrierStats {
        self.driver.carrier_stats(CarrierKind::WebSocket)
    }
}

/// The desync report, in the one format both clients write and `venture-replay diff`
/// reads (`venture_replay::inspect::desync_report`); None when the state cannot be read.
fn report(tick: u64, ours: u32, theirs: u32, state: &[u8]) -> Option<String> {
    let world = World::restore(state).ok()?;
    let snapshot = format!("desync-t{tick}.snapshot (not kept by the browser)");
    Some(format!(
        "{:#}\n",
        venture_replay::inspect::desync_report(Ok(&world), tick, ours, theirs, &snapshot)
    ))
}
