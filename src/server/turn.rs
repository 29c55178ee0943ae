//! One loop turn's waiting and HTTP answering, shared by the server's loop and the
//! standby's follow loop: sleep until an event or the earliest deadline (retrying after
//! EINTR), take the signals, and answer HTTP. Each loop keeps its own job: what a signal
//! means, which other tokens it owns, what it pumps.

use std::io;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Registry, Token};
use signal_hook_mio::v1_0::Signals;

use crate::ops::http::{HttpServer, Request, Response};

/// The signals' token in both loops.
pub(super) const SIGNALS: Token = Token(1);
/// The HTTP server's tokens start here in both loops.
pub(super) const HTTP_BASE: Token = Token(1024);

/// What one wait brought: the signals delivered, and the other tokens ready.
pub(super) struct Woken<'e> {
    pub signals: Vec<i32>,
    events: &'e Events,
}

impl Woken<'_> {
    /// The ready tokens other than the signals', in the order mio gave them.
    pub fn tokens(&self) -> impl Iterator<Item = Token> + '_ {
        self.events
            .iter()
            .map(|e| e.token())
            .filter(|&t| t != SIGNALS)
    }
}

/// A loop's waiting: its events buffer and the longest it sleeps without looking at its
/// timers.
pub(super) struct Waiter {
    events: Events,
    max_sleep: Duration,
}

impl Waiter {
    pub fn new(capacity: usize, max_sleep: Duration) -> Self {
        Waiter {
            events: Events::with_capacity(capacity),
            max_sleep,
        }
    }

    /// Sleeps until an event, the HTTP server's next deadline or the earliest of
    /// `deadlines`, at most `max_sleep`. `None` when a signal interrupted the sleep: the
    /// caller starts its turn again (the signal is read on the next wait).
    pub fn wait(
        &mut self,
        poll: &mut Poll,
        signals: &mut Signals,
        http: &HttpServer,
        deadlines: impl IntoIterator<Item = Option<Instant>>,
    ) -> io::Result<Option<Woken<'_>>> {
        let now = Instant::now();
        let wake = deadlines
            .into_iter()
            .chain([http.next_deadline()])
            .flatten()
            .fold(now + self.max_sleep, Instant::min);
        match poll.poll(&mut self.events, Some(wake.saturating_duration_since(now))) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(None),
            Err(e) => return Err(e),
        }
        let mut delivered = Vec::new();
        if self.events.iter().any(|e| e.token() == SIGNALS) {
            delivered.extend(signals.pending());
        }
        Ok(Some(Woken {
            signals: delivered,
            events: &self.events,
        }))
    }
}

/// Answers HTTP at `now` through `route`: the connections behind the ready `token`, or
/// with `None` the HTTP server's own timers (deadlines, accepts an edge missed).
pub(super) fn answer_http(
    http: &mut HttpServer,
    registry: &Registry,
    token: Option<Token>,
    now: Instant,
    route: &mut impl FnMut(&Request) -> Response,
) {
    match token {
        Some(token) => http.handle_token(registry, token, now, route),
        None => http.poll(registry, now, route),
    }
}
