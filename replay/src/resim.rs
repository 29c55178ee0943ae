//! The one re-simulate-and-compare routine: step a recorded frame and compare the world's
//! checksum with the one the log recorded, and restore a recorded keyframe after checking
//! it belongs to the session. The verifier ([`crate::verify()`]), seeking
//! ([`crate::replay_to`]) and the server's crash-journal replay all go through here, so
//! "the log agrees with the simulation" means the same thing everywhere.

use venture_sim::{Frame, SimConfig, StepError, World};

/// What stepping one recorded frame found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stepped {
    /// The re-simulated world has the recorded checksum.
    Matched,
    /// It does not.
    Mismatch { expected: u32, actual: u32 },
}

/// Steps `frame` on `world` and compares the resulting checksum with `recorded`. A frame
/// the world refuses (not the next tick, too many commands) is an error: the log, not the
/// simulation, is wrong there.
pub fn step_and_compare(
    world: &mut World,
    frame: &Frame,
    recorded: u32,
) -> Result<Stepped, StepError> {
    world.step(frame)?;
    let actual = world.checksum();
    Ok(if actual == recorded {
        Stepped::Matched
    } else {
        Stepped::Mismatch {
            expected: recorded,
            actual,
        }
    })
}

/// Restores the keyframe `bytes` that a log says is the world after the frame of `tick`,
/// and checks that claim and that it is a world of this session (`config`).
pub fn restore_keyframe(config: &SimConfig, tick: u64, bytes: &[u8]) -> Result<World, String> {
    let world = World::restore(bytes).map_err(|e| e.to_string())?;
    if world.tick() != tick {
        return Err(format!(
            "keyframe claims tick {tick} but its world is at tick {}",
            world.tick()
        ));
    }
    if world.config() != config {
        return Err("keyframe is of another world (its config differs)".into());
    }
    Ok(world)
}

#[cfg(test)]
mod tests {
    use super::*;
    use venture_sim::script::scripted_frame;

    fn config() -> SimConfig {
        SimConfig {
            width: 40,
            height: 40,
            ..SimConfig::default()
        }
    }

    #[test]
    fn matches_then_mismatches() {
        let mut a = World::new(&config()).expect("world");
        let mut b = a.clone();
        let f1 = scripted_frame(3, 1, 2);
        b.step(&f1).expect("steps");
        assert_eq!(
            step_and_compare(&mut a, &f1, b.checksum()),
            Ok(Stepped::Matched)
        );
        let f2 = scripted_frame(3, 2, 2);
        let actual = {
            let mut c = a.clone();
            c.step(&f2).expect("steps");
            c.checksum()
        };
        assert_eq!(
            step_and_compare(&mut a, &f2, actual ^ 1),
            Ok(Stepped::Mismatch {
                expected: actual ^ 1,
                actual
            })
        );
        // Not the next tick: refused, world unchanged.
        assert!(step_and_compare(&mut a, &f2, 0).is_err());
        assert_eq!(a.tick(), 2);
    }

    #[test]
    fn keyframes_are_checked() {
        let mut w = World::new(&config()).expect("world");
        w.step(&scripted_frame(1, 1, 1)).expect("steps");
        let bytes = w.snapshot();
        assert!(restore_keyframe(&config(), 1, &bytes).is_ok());
        assert!(restore_keyframe(&config(), 2, &bytes)
            .unwrap_err()
            .contains("tick"));
        let other = SimConfig {
            seed: 77,
            ..config()
        };
        assert!(restore_keyframe(&other, 1, &bytes)
            .unwrap_err()
            .contains("another world"));
        assert!(restore_keyframe(&config(), 1, b"junk").is_err());
    }
}
