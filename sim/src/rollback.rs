//! Rollback: predict ahead, confirm later, re-simulate on a misprediction.
//!
//! [`Rollback`] keeps the confirmed world plus, for every predicted tick after it, the frame
//! used and the checksum reached. Confirming tick T with the real frame either matches the
//! prediction (nothing to redo) or differs: then the world is rebuilt from the confirmed
//! state by re-simulating T and every later predicted frame, optionally re-predicted from
//! the confirmed inputs. The number of unconfirmed ticks is capped by the window.

use crate::input::Frame;
use crate::world::{StepError, World};
use std::collections::VecDeque;

/// Default prediction window: 100 ticks is 5 s at 20 Hz. Network clients size their
/// window from the round trip instead (`set_prediction_window`).
pub const DEFAULT_PREDICTION_WINDOW: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RollbackError {
    #[error("prediction window of {window} ticks is full; confirm tick {oldest} first")]
    PredictionWindowFull { window: usize, oldest: u64 },
    #[error("tick {got} cannot be confirmed next: expected tick {expected}")]
    NotNext { expected: u64, got: u64 },
    #[error(transparent)]
    Step(#[from] StepError),
}

/// What confirming a tick did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confirmed {
    pub tick: u64,
    /// Checksum of the world after the confirmed tick: compare with the authority's.
    pub checksum: u32,
    /// Ticks re-simulated because the prediction was wrong (0 when it was right).
    pub resimulated: usize,
}

#[derive(Clone, Debug)]
struct Predicted {
    frame: Frame,
    /// Checksum after this frame; `None` after a re-simulation, which leaves it to the
    /// confirmation (a checksum costs about a step, and a long window re-simulates many
    /// ticks of which each is confirmed, and so checksummed, only once).
    checksum: Option<u32>,
}

/// A world that runs ahead of confirmation. See the module docs.
#[derive(Clone, Debug)]
pub struct Rollback {
    confirmed: World,
    current: World,
    predicted: VecDeque<Predicted>,
    window: usize,
}

impl Rollback {
    /// Starts from `world`, taken as confirmed at its tick.
    pub fn new(world: World, window: usize) -> Self {
        Rollback {
            current: world.clone(),
            confirmed: world,
            predicted: VecDeque::new(),
            window: window.max(1),
        }
    }

    /// The last confirmed world.
    pub fn confirmed(&self) -> &World {
        &self.confirmed
    }

    /// The predicted present.
    pub fn current(&self) -> &World {
        &self.current
    }

    pub fn confirmed_tick(&self) -> u64 {
        self.confirmed.tick()
    }

    pub fn current_tick(&self) -> u64 {
        self.current.tick()
    }

    /// Unconfirmed ticks in flight.
    pub fn pending(&self) -> usize {
        self.predicted.len()
    }

    pub fn prediction_window(&self) -> usize {
        self.window
    }

    /// Changes the window (at least 1). Shrinking it below [`pending`](Self::pending) drops
    /// nothing: `advance` refuses until confirmations bring the count under it.
    pub fn set_prediction_window(&mut self, window: usize) {
        self.window = window.max(1);
    }

    /// Steps the present with a predicted frame (its tick must be the next one).
    pub fn advance(&mut self, frame: Frame) -> Result<u32, RollbackError> {
        if self.predicted.len() >= self.window {
            return Err(RollbackError::PredictionWindowFull {
                window: self.window,
                oldest: self.confirmed.tick().saturating_add(1),
            });
        }
        self.current.step(&frame)?;
        let checksum = self.current.checksum();
        self.predicted.push_back(Predicted {
            frame,
            checksum: Some(checksum),
        });
        Ok(checksum)
    }

    /// Confirms the next tick with the authority's frame, re-predicting nothing.
    pub fn confirm(&mut self, frame: Frame) -> Result<Confirmed, RollbackError> {
        self.confirm_with(frame, |_, _| {})
    }

    /// Confirms the next tick (`confirmed_tick() + 1`) with the authoritative `frame`. It may
    /// be at or beyond the present: then it simply advances. On a misprediction, `repredict`
    /// is called with the confirmed frame and each later predicted frame before that frame
    /// is re-simulated (e.g. to repeat the other players' newly confirmed inputs).
    pub fn confirm_with(
        &mut self,
        frame: Frame,
        mut repredict: impl FnMut(&Frame, &mut Frame),
    ) -> Result<Confirmed, RollbackError> {
        let expected = self.confirmed.tick().saturating_add(1);
        if frame.tick != expected {
            return Err(RollbackError::NotNext {
                expected,
                got: frame.tick,
            });
        }
        match self.predicted.pop_front() {
            Some(p) if p.frame == frame => {
                self.confirmed.step(&frame)?;
                Ok(Confirmed {
                    tick: frame.tick,
                    checksum: p.checksum.unwrap_or_else(|| self.confirmed.checksum()),
                    resimulated: 0,
                })
            }
            Some(_) => {
                self.confirmed.step(&frame)?;
                let checksum = self.confirmed.checksum();
                let mut world = self.confirmed.clone();
                for p in self.predicted.iter_mut() {
                    repredict(&frame, &mut p.frame);
                    world.step(&p.frame)?;
                    p.checksum = None;
                }
                self.current = world;
                Ok(Confirmed {
                    tick: frame.tick,
                    checksum,
                    resimulated: self.predicted.len().saturating_add(1),
                })
            }
            None => {
                // Confirmation outran prediction: both worlds advance together.
                self.confirmed.step(&frame)?;
                self.current = self.confirmed.clone();
                let checksum = self.confirmed.checksum();
                Ok(Confirmed {
                    tick: frame.tick,
                    checksum,
                    resimulated: 0,
                })
            }
        }
    }

    /// DIAGNOSTICS ONLY: applies [`World::inject_fault_for_diagnostics`] to the confirmed
    /// world and returns the slot altered with the confirmed world's new checksum (what a
    /// client then compares with the authority's). The predicted present is left as it was:
    /// the caller is about to discover the disagreement and resync, which replaces both.
    pub fn inject_fault_for_diagnostics(&mut self) -> Option<(usize, u32)> {
        let slot = self.confirmed.inject_fault_for_diagnostics()?;
        Some((slot, self.confirmed.checksum()))
    }

    /// Replaces everything with `world` (e.g. after a resync snapshot), dropping predictions.
    pub fn reset(&mut self, world: World) {
        self.current = world.clone();
        self.confirmed = world;
        self.predicted.clear();
    }
}
