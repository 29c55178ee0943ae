//! The layer as laminar's [`DatagramSocket`]: [`SecureServerSocket`] and
//! [`SecureClientSocket`] wrap any socket (real UDP under mio, or the simulated network)
//! and run the [`Responder`] or [`Initiator`] on every datagram, so laminar reads only
//! opened plaintext from admitted peers and every datagram it sends leaves sealed.
//!
//! Both need the clock: call `set_clock(now)` (a `Duration` since the driver's epoch)
//! before each laminar poll; the client also sends due handshake retries then.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use laminar::DatagramSocket;

use super::initiator::{Initiator, SecureEvent, Trust};
use super::responder::{Incoming, Responder};
use super::wire::{self, MAX_WIRE_DATAGRAM};
use super::LayerStats;

/// The server's socket: a [`Responder`] over `S`.
#[derive(Debug)]
pub struct SecureServerSocket<S: DatagramSocket> {
    inner: S,
    responder: Responder,
    now: Duration,
    scratch: Vec<u8>,
    /// Early data from an `Initiate`, handed to laminar on the next reads.
    early: VecDeque<(SocketAddr, Vec<u8>)>,
}

impl<S: DatagramSocket> SecureServerSocket<S> {
    pub fn new(inner: S, responder: Responder) -> Self {
        SecureServerSocket {
            inner,
            responder,
            now: Duration::ZERO,
            scratch: vec![0; MAX_WIRE_DATAGRAM],
            early: VecDeque::new(),
        }
    }

    /// Sets the layer's clock and forgets idle peers.
    pub fn set_clock(&mut self, now: Duration) {
        self.now = now;
        self.responder.expire(now);
    }

    pub fn responder(&self) -> &Responder {
        &self.responder
    }

    pub fn responder_mut(&mut self) -> &mut Responder {
        &mut self.responder
    }

    pub fn stats(&self) -> LayerStats {
        self.responder.stats()
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    fn reply(&mut self, to: SocketAddr, bytes: &[u8]) {
        // Best effort, like any UDP send; a failing send shows in the inner socket's stats.
        let _ = self.inner.send_packet(&to, bytes);
    }
}

impl<S: DatagramSocket> DatagramSocket for SecureServerSocket<S> {
    fn send_packet(&mut self, addr: &SocketAddr, payload: &[u8]) -> io::Result<usize> {
        match self.responder.seal(*addr, payload) {
            Some(sealed) => self.inner.send_packet(addr, &sealed).map(|_| payload.len()),
            // No session (expired or never made): laminar's datagram goes nowhere, like
            // one lost on the wire.
            None => Ok(0),
        }
    }

    fn receive_packet<'a>(&mut self, buffer: &'a mut [u8]) -> io::Result<(&'a [u8], SocketAddr)> {
        loop {
            if let Some((from, data)) = self.early.pop_front() {
                if data.len() <= buffer.len() {
                    buffer[..data.len()].copy_from_slice(&data);
                    return Ok((&buffer[..data.len()], from));
                }
                continue;
            }
            let (len, from) = {
                let (bytes, from) = self.inner.receive_packet(&mut self.scratch)?;
                (bytes.len(), from)
            };
            let now = self.now;
            match self
                .responder
                .on_datagram(from, &self.scratch[..len], now, buffer)
            {
                Incoming::Deliver(n) => return Ok((&buffer[..n], from)),
                Incoming::Reply(bytes) => self.reply(from, &bytes),
                Incoming::Accepted { reply, early } => {
                    self.reply(from, &reply);
                    match wire::split_early(&buffer[..early]) {
                        Some(datagrams) => self
                            .early
                            .extend(datagrams.into_iter().map(|d| (from, d.to_vec()))),
                        None => self.responder.note_bad_early_data(),
                    }
                }
                Incoming::Drop(_) => {}
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    fn is_blocking_mode(&self) -> bool {
        self.inner.is_blocking_mode()
    }
}

/// The client's socket: an [`Initiator`] towards one server over `S`.
#[derive(Debug)]
pub struct SecureClientSocket<S: DatagramSocket> {
    inner: S,
    server: SocketAddr,
    initiator: Initiator,
    now: Duration,
    scratch: Vec<u8>,
    /// Plaintext that opened late (it overtook the `Accept`), for laminar's next reads.
    ready: VecDeque<Vec<u8>>,
}

impl<S: DatagramSocket> SecureClientSocket<S> {
    pub fn new(inner: S, server: SocketAddr, trust: Trust) -> Self {
        SecureClientSocket {
            inner,
            server,
            initiator: Initiator::new(trust),
            now: Duration::ZERO,
            scratch: vec![0; MAX_WIRE_DATAGRAM],
            ready: VecDeque::new(),
        }
    }

    /// Sets the layer's clock and sends any handshake retries now due.
    pub fn set_clock(&mut self, now: Duration) {
        self.now = now;
        for d in self.initiator.poll(now) {
            self.send_raw(&d);
        }
    }

    pub fn initiator(&self) -> &Initiator {
        &self.initiator
    }

    pub fn take_events(&mut self) -> Vec<SecureEvent> {
        self.initiator.take_events()
    }

    pub fn stats(&self) -> LayerStats {
        self.initiator.stats()
    }

    pub fn server(&self) -> SocketAddr {
        self.server
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        // Best effort, like any UDP send.
        let _ = self.inner.send_packet(&self.server, bytes);
    }
}

impl<S: DatagramSocket> DatagramSocket for SecureClientSocket<S> {
    fn send_packet(&mut self, addr: &SocketAddr, payload: &[u8]) -> io::Result<usize> {
        if *addr != self.server {
            // This socket talks to one server; laminar only ever answers it.
            return Ok(0);
        }
        for d in self.initiator.send(payload, self.now) {
            self.send_raw(&d);
        }
        Ok(payload.len())
    }

    fn receive_packet<'a>(&mut self, buffer: &'a mut [u8]) -> io::Result<(&'a [u8], SocketAddr)> {
        loop {
            if let Some(d) = self.ready.pop_front() {
                if d.len() <= buffer.len() {
                    buffer[..d.len()].copy_from_slice(&d);
                    return Ok((&buffer[..d.len()], self.server));
                }
                continue;
            }
            let (len, from) = {
                let (bytes, from) = self.inner.receive_packet(&mut self.scratch)?;
                (bytes.len(), from)
            };
            if from != self.server {
                self.initiator.note_stranger();
                continue;
            }
            let mut replies = Vec::new();
            let opened =
                self.initiator
                    .on_datagram(&self.scratch[..len], self.now, buffer, &mut replies);
            for r in replies {
                self.send_raw(&r);
            }
            self.ready.extend(self.initiator.take_overtaken());
            if let Some(n) = opened {
                return Ok((&buffer[..n], from));
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    fn is_blocking_mode(&self) -> bool {
        self.inner.is_blocking_mode()
    }
}
