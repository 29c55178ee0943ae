//! Recording scripted sessions ([`venture_sim::script::scripted_frame`] bots): for tests,
//! benchmarks and the `venture-replay record-scripted` developer tool.

use crate::format::SessionHeader;
use crate::writer::{SessionWriter, WriteError};
use std::io::Write;
use venture_sim::script::scripted_frame;
use venture_sim::{SimConfig, World};

/// What to record.
#[derive(Clone, Debug)]
pub struct ScriptedSession {
    pub config: SimConfig,
    /// Frames to record (ticks 1..=ticks).
    pub ticks: u64,
    /// Scripted bots (they join at tick 1).
    pub players: usize,
    /// Seed of the bots' inputs.
    pub script_seed: u64,
    /// Write a keyframe every this many ticks (0: none).
    pub snapshot_every: u64,
}

/// Records `session` into `out` and finishes the log; returns the inner writer.
pub fn record_scripted<W: Write>(out: W, session: &ScriptedSession) -> Result<W, WriteError> {
    let mut world =
        World::new(&session.config).map_err(|e| WriteError::InvalidHeader(e.to_string()))?;
    let header = SessionHeader::new(
        session.config.clone(),
        format!(
            "venture-replay record-scripted {} (players {}, script seed {})",
            env!("CARGO_PKG_VERSION"),
            session.players,
            session.script_seed
        ),
    );
    let mut writer = SessionWriter::new(out, &header)?;
    for tick in 1..=session.ticks {
        let frame = scripted_frame(session.script_seed, tick, session.players);
        // Invariant: scripted frames are consecutive and carry at most 64 joins, so the
        // world always accepts them; a rejection would be a sim bug worth a loud error.
        world
            .step(&frame)
            .map_err(|e| WriteError::Encode(format!("scripted frame rejected: {e}")))?;
        writer.append_frame(&frame, world.checksum())?;
        if session.snapshot_every > 0 && tick % session.snapshot_every == 0 {
            writer.append_snapshot(tick, &world.snapshot())?;
        }
    }
    writer.finish("scripted session complete")
}
