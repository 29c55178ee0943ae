//! One completed handshake's transport: the key per direction (Noise's split), the
//! counter that seals and the replay window that opens. Both sides of the layer keep one
//! per session, and a second while a session is being replaced (what the peer sealed
//! under the old one still opens), so sealing and opening live here once.

use snow::StatelessTransportState;

use super::replay_window::ReplayWindow;
use super::{wire, DropReason, LayerStats};

pub(crate) struct Channel {
    transport: StatelessTransportState,
    send_counter: u64,
    window: ReplayWindow,
}

/// Why a datagram did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotOpened {
    /// Its counter was seen already, or is older than the window.
    Replayed,
    /// Its tag did not verify under this channel's key.
    Forged,
}

impl NotOpened {
    pub(crate) fn reason(self) -> DropReason {
        match self {
            NotOpened::Replayed => DropReason::Replayed,
            NotOpened::Forged => DropReason::Forged,
        }
    }
}

impl Channel {
    pub(crate) fn new(transport: StatelessTransportState) -> Self {
        Channel {
            transport,
            send_counter: 0,
            window: ReplayWindow::new(),
        }
    }

    /// One `Data` datagram carrying `plaintext` under the next counter; `None` (counted as
    /// unsendable) if it cannot be sealed.
    pub(crate) fn seal(&mut self, plaintext: &[u8], stats: &mut LayerStats) -> Option<Vec<u8>> {
        // The window refuses u64::MAX; 2^64 - 1 datagrams is beyond any session's life,
        // but refusing is still better than reusing a nonce.
        if self.send_counter == u64::MAX {
            stats.unsendable += 1;
            return None;
        }
        let mut out = wire::data_header(self.send_counter, plaintext.len() + wire::TAG_LEN);
        let start = out.len();
        out.resize(start + plaintext.len() + wire::TAG_LEN, 0);
        match self
            .transport
            .write_message(self.send_counter, plaintext, &mut out[start..])
        {
            Ok(n) => {
                out.truncate(start + n);
                self.send_counter += 1;
                stats.sealed += 1;
                Some(out)
            }
            Err(_) => {
                stats.unsendable += 1;
                None
            }
        }
    }

    /// Opens a `Data` body into `out` (which holds at least `sealed.len() - TAG_LEN`
    /// bytes): the tag must verify under the counter (else forged: a counter altered in
    /// flight lands here too) and the counter must be fresh (else replayed: an authentic
    /// datagram seen before); only then is the counter marked seen, so forgeries cannot
    /// move the window.
    pub(crate) fn open(
        &mut self,
        wire_counter: u32,
        sealed: &[u8],
        out: &mut [u8],
    ) -> Result<usize, NotOpened> {
        let counter = wire::expand_counter(self.window.expected(), wire_counter);
        let n = self
            .transport
            .read_message(counter, sealed, out)
            .map_err(|_| NotOpened::Forged)?;
        if !self.window.is_fresh(counter) {
            return Err(NotOpened::Replayed);
        }
        self.window.accept(counter);
        Ok(n)
    }
}

/// Opens with `current`, else with `previous` (the session being replaced). Replayed if
/// either window had seen the counter and neither opened it, else forged.
pub(crate) fn open_either(
    current: &mut Channel,
    previous: Option<&mut Channel>,
    counter: u32,
    sealed: &[u8],
    out: &mut [u8],
) -> Result<usize, NotOpened> {
    match current.open(counter, sealed, out) {
        Ok(n) => Ok(n),
        Err(first) => match previous.map(|p| p.open(counter, sealed, out)) {
            Some(Ok(n)) => Ok(n),
            Some(Err(NotOpened::Replayed)) => Err(NotOpened::Replayed),
            _ => Err(first),
        },
    }
}
