//! The determinism contract, tested: golden checksums, snapshot exactness, checksum
//! sensitivity, and rollback-equals-straight-simulation over many random cases.
//!
//! CI runs this file in both debug and release: the golden values pin both builds to the
//! same numbers, so a debug/release divergence fails here.

use venture_sim::script::scripted_frame;
use venture_sim::{
    Frame, PlayerInput, Rollback, RollbackError, SimConfig, SnapshotError, World, SIM_VERSION,
};

/// Golden values. Changing any of these is a rules or format change: bump SIM_VERSION.
const GOLDEN_SIM_VERSION: u32 = 7;
const GOLDEN_LEVEL_CHECKSUM: u32 = 1258963949;
const GOLDEN_1000_TICKS_CHECKSUM: u32 = 3442963776;

fn reference_world() -> World {
    World::new(&SimConfig::default()).expect("default config is valid")
}

fn run(world: &mut World, seed: u64, ticks: u64, players: usize) -> Vec<u32> {
    (world.tick() + 1..=world.tick() + ticks)
        .map(|t| {
            world
                .step(&scripted_frame(seed, t, players))
                .expect("scripted frames follow on");
            world.checksum()
        })
        .collect()
}

#[test]
fn golden_checksums() {
    assert_eq!(
        SIM_VERSION, GOLDEN_SIM_VERSION,
        "SIM_VERSION changed: update the goldens with it"
    );
    let mut world = reference_world();
    assert_eq!(
        world.checksum(),
        GOLDEN_LEVEL_CHECKSUM,
        "level checksum of seed 12345 fantasy"
    );
    let sums = run(&mut world, 7, 1000, 4);
    assert_eq!(world.player_count(), 4);
    assert_eq!(
        sums[999], GOLDEN_1000_TICKS_CHECKSUM,
        "checksum after 1,000 scripted ticks"
    );
}

#[test]
fn same_inputs_same_checksums() {
    let a = run(&mut reference_world(), 3, 300, 4);
    let b = run(&mut reference_world(), 3, 300, 4);
    assert_eq!(a, b);
    let c = run(&mut reference_world(), 4, 300, 4);
    assert_ne!(a, c, "different inputs should lead elsewhere");
}

#[test]
fn snapshot_round_trip_is_exact() {
    let mut world = reference_world();
    run(&mut world, 11, 200, 4);
    let bytes = world.snapshot();
    let mut restored = World::restore(&bytes).expect("own snapshot restores");
    assert_eq!(restored, world);
    assert_eq!(restored.checksum(), world.checksum());
    assert_eq!(restored.snapshot(), bytes);
    // And they continue identically.
    assert_eq!(run(&mut restored, 11, 100, 4), run(&mut world, 11, 100, 4));
}

#[test]
fn corrupted_or_truncated_snapshots_are_errors() {
    let mut world = reference_world();
    run(&mut world, 5, 50, 4);
    let bytes = world.snapshot();
    for len in 0..bytes.len() {
        assert!(
            World::restore(&bytes[..len]).is_err(),
            "truncated at {len} accepted"
        );
    }
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(matches!(
        World::restore(&extra),
        Err(SnapshotError::TrailingBytes(1))
    ));
    let mut bad = bytes.clone();
    bad[0] = b'X';
    assert_eq!(World::restore(&bad).unwrap_err(), SnapshotError::BadMagic);
    let mut bad = bytes.clone();
    bad[6] ^= 0xff;
    assert!(matches!(
        World::restore(&bad),
        Err(SnapshotError::SimVersion { .. })
    ));
    // Every single-byte flip either fails to restore or restores to a different world;
    // none panics.
    for i in 10..bytes.len() {
        let mut flipped = bytes.clone();
        flipped[i] ^= 0x5a;
        if let Ok(w) = World::restore(&flipped) {
            assert_ne!(
                w.checksum(),
                world.checksum(),
                "flip at {i} changed nothing"
            );
        }
    }
}

#[test]
fn any_state_change_changes_the_checksum() {
    let mut world = reference_world();
    run(&mut world, 2, 40, 4);
    let base = world.checksum();
    // Change each encoded byte of the state in turn through the snapshot and require the
    // checksum to move: the checksum sees every byte a snapshot carries.
    let bytes = world.snapshot();
    let mut checked = 0;
    for i in 10..bytes.len() {
        let mut b = bytes.clone();
        b[i] = b[i].wrapping_add(1);
        if let Ok(w) = World::restore(&b) {
            assert_ne!(w.checksum(), base, "byte {i} is not covered");
            checked += 1;
        }
    }
    assert!(
        checked > bytes.len() / 2,
        "only {checked} mutations restored"
    );
}

/// A tiny seeded generator for the property test (no dependency, stable forever).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Rollback with random confirmation lag equals straight simulation, over 1,000 random
/// (world seed, input seed, players, length, lag pattern) cases.
#[test]
fn rollback_equals_straight_simulation() {
    let cases = 1000;
    let mut rng = Lcg(0x5eed);
    for case in 0..cases {
        let config = SimConfig {
            seed: rng.next(),
            width: 24 + rng.below(40) as u16,
            height: 24 + rng.below(40) as u16,
            max_players: 1 + rng.below(4) as u8,
            tick_rate: [10, 20, 30, 60][rng.below(4) as usize],
            ..SimConfig::default()
        };
        let players = config.max_players as usize;
        let input_seed = rng.next();
        // Kept short so 1,000 cases of the full rules (monsters, combat, projectiles) stay
        // quick in debug builds.
        let ticks = 15 + rng.below(35);
        let window = 1 + rng.below(20) as usize;
        let world = World::new(&config).expect("valid config");

        let mut straight = world.clone();
        let truth: Vec<(Frame, u32)> = (1..=ticks)
            .map(|t| {
                let f = scripted_frame(input_seed, t, players);
                straight.step(&f).expect("in order");
                (f, straight.checksum())
            })
            .collect();

        // The local player is slot 0 (its inputs are known); others are predicted by
        // repeating their last confirmed input.
        let mut rb = Rollback::new(world, window);
        let mut last_confirmed: Vec<PlayerInput> = vec![PlayerInput::IDLE; players];
        let predict = |tick: u64, last: &[PlayerInput]| {
            let real = &truth[tick as usize - 1].0;
            let mut f = Frame::new(tick);
            f.inputs = last.to_vec();
            f.set_input(0, real.input(0));
            if tick == 1 {
                f.commands = real.commands.clone();
            }
            f
        };
        while rb.confirmed_tick() < ticks {
            // Predict a random number of ticks ahead (bounded by the window and the end).
            let ahead = rng.below(window as u64 + 2);
            for _ in 0..ahead {
                let next = rb.current_tick() + 1;
                if next > ticks {
                    break;
                }
                match rb.advance(predict(next, &last_confirmed)) {
                    Ok(_) => {}
                    Err(RollbackError::PredictionWindowFull { .. }) => break,
                    Err(e) => panic!("case {case}: {e}"),
                }
            }
            // Confirm a random number of ticks.
            for _ in 0..=rng.below(4) {
                let t = rb.confirmed_tick() + 1;
                if t > ticks {
                    break;
                }
                let (real, sum) = truth[t as usize - 1].clone();
                last_confirmed = (0..players).map(|s| real.input(s)).collect();
                let got = rb
                    .confirm_with(real.clone(), |confirmed, later| {
                        for s in 1..players {
                            later.set_input(s, confirmed.input(s));
                        }
                    })
                    .unwrap_or_else(|e| panic!("case {case}: {e}"));
                assert_eq!(
                    got.checksum, sum,
                    "case {case} (config {config:?}, window {window}) tick {t}"
                );
            }
        }
        assert_eq!(rb.confirmed(), &straight, "case {case}");
        assert!(rb.pending() == 0 || rb.current_tick() > ticks);
    }
}

#[test]
fn rollback_window_is_an_error_not_a_panic() {
    let mut rb = Rollback::new(reference_world(), 3);
    for t in 1..=3 {
        rb.advance(scripted_frame(1, t, 1)).expect("within window");
    }
    assert!(matches!(
        rb.advance(scripted_frame(1, 4, 1)),
        Err(RollbackError::PredictionWindowFull { .. })
    ));
    assert!(matches!(
        rb.confirm(scripted_frame(1, 2, 1)),
        Err(RollbackError::NotNext {
            expected: 1,
            got: 2
        })
    ));
    let mut w = reference_world();
    assert!(w.step(&scripted_frame(1, 5, 1)).is_err());
    assert_eq!(w.tick(), 0);
}
