//! Determinism: for an arbitrary world seed, genre and short input script,
//!   (a) straight simulation,
//!   (b) a `Rollback` that predicts (repeating each slot's last confirmed input, or a
//!       fuzzer-chosen wrong guess) and confirms the real frames with a random lag, and
//!   (c) snapshot at a random tick, restore, and continue
//! must produce the same checksum at every tick.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use venture_sim::rollback::Rollback;
use venture_sim::script::scripted_frame;
use venture_sim::{Command, Frame, Genre, PlayerInput, SimConfig, World};

const MAX_TICKS: u64 = 80;

#[derive(Arbitrary, Debug)]
struct Step {
    /// Use the scripted bots' frame for this tick instead of `inputs`.
    scripted: bool,
    inputs: Vec<[u8; 6]>,
    join: Option<(u8, u8)>,
    leave: Option<u8>,
    /// How many ticks ahead of confirmation the predictor is allowed to run now.
    lag: u8,
    /// Predict this tick wrongly on purpose.
    mispredict: bool,
}

#[derive(Arbitrary, Debug)]
struct Case {
    seed: u64,
    script_seed: u64,
    genre: u8,
    depth: u8,
    players: u8,
    side: u8,
    snapshot_at: u8,
    steps: Vec<Step>,
}

fn frame_for(case: &Case, step: &Step, tick: u64, slots: usize) -> Frame {
    let players = usize::from(case.players) % (slots + 1);
    let mut frame = if step.scripted {
        scripted_frame(case.script_seed, tick, players)
    } else {
        let mut f = Frame::new(tick);
        f.inputs = step
            .inputs
            .iter()
            .take(slots + 1)
            .map(|&b| PlayerInput::from_bytes(b))
            .collect();
        f
    };
    let names = ["ann", "bo", "cy", "di", "bad name ", ""];
    if let Some((slot, name)) = step.join {
        frame.commands.push(Command::Join {
            slot: slot % (slots as u8 + 2),
            name: names[usize::from(name) % names.len()].into(),
        });
    }
    if let Some(slot) = step.leave {
        frame.commands.push(Command::Leave {
            slot: slot % (slots as u8 + 2),
        });
    }
    frame
}

fuzz_target!(|case: Case| {
    let config = SimConfig {
        seed: case.seed,
        genre: Genre::ALL[usize::from(case.genre) % Genre::ALL.len()],
        depth: 1 + u32::from(case.depth % 8),
        width: 20 + u16::from(case.side % 24),
        height: 20 + u16::from(case.side / 8 % 24),
        max_players: 1 + case.players % 4,
        ..Default::default()
    };
    let Ok(start) = World::new(&config) else {
        return;
    };
    let slots = usize::from(config.max_players);
    let frames: Vec<Frame> = case
        .steps
        .iter()
        .take(MAX_TICKS as usize)
        .enumerate()
        .map(|(i, s)| frame_for(&case, s, i as u64 + 1, slots))
        .collect();

    // (a) straight.
    let mut world = start.clone();
    let mut sums = Vec::with_capacity(frames.len());
    for f in &frames {
        world.step(f).expect("consecutive frames step");
        sums.push(world.checksum());
    }

    // (b) rollback with lagged confirmation and wrong predictions.
    let mut rb = Rollback::new(start.clone(), 16);
    let mut confirmed = 0usize;
    let mut last_confirmed = Frame::new(0);
    for (i, step) in case.steps.iter().take(frames.len()).enumerate() {
        // Predict tick i+1.
        let tick = i as u64 + 1;
        let mut guess = Frame::new(tick);
        guess.inputs = last_confirmed.inputs.clone();
        if step.mispredict {
            guess.inputs.push(PlayerInput::from_bytes([1, 2, 3, 4, 1, 0]));
        }
        if rb.current_tick() + 1 == tick {
            // The window (16) exceeds the largest lag (11), so this never fills.
            rb.advance(guess).expect("prediction window has room");
        }
        // Confirm until at most `lag` ticks are unconfirmed.
        let lag = usize::from(step.lag % 12);
        while confirmed + lag < i + 1 {
            let c = rb
                .confirm(frames[confirmed].clone())
                .expect("next frame confirms");
            assert_eq!(
                c.checksum, sums[confirmed],
                "rollback diverged at tick {}",
                c.tick
            );
            last_confirmed = frames[confirmed].clone();
            confirmed += 1;
        }
    }
    while confirmed < frames.len() {
        let c = rb
            .confirm(frames[confirmed].clone())
            .expect("next frame confirms");
        assert_eq!(
            c.checksum, sums[confirmed],
            "rollback diverged at tick {}",
            c.tick
        );
        confirmed += 1;
    }
    if !frames.is_empty() {
        assert_eq!(rb.confirmed().checksum(), *sums.last().unwrap());
        if rb.current_tick() == rb.confirmed_tick() {
            assert_eq!(rb.current().checksum(), *sums.last().unwrap());
        }
    }

    // (c) snapshot, restore, continue.
    let cut = usize::from(case.snapshot_at) % (frames.len() + 1);
    let mut w = start;
    for f in &frames[..cut] {
        w.step(f).expect("steps");
    }
    let mut w = World::restore(&w.snapshot()).expect("own snapshot restores");
    if cut > 0 {
        assert_eq!(w.checksum(), sums[cut - 1]);
    }
    for (k, f) in frames[cut..].iter().enumerate() {
        w.step(f).expect("steps after restore");
        assert_eq!(
            w.checksum(),
            sums[cut + k],
            "restore diverged at tick {}",
            f.tick
        );
    }
});
