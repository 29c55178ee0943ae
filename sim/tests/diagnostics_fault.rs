//! `World::inject_fault_for_diagnostics` (behind `venture-client --inject-desync`) changes
//! exactly one well-defined field, keeps the state valid, and is seen by the checksum.

use venture_sim::input::{Command, Frame};
use venture_sim::rollback::Rollback;
use venture_sim::{SimConfig, World};

fn world_with_players(slots: &[u8]) -> World {
    let mut world = World::new(&SimConfig::default()).expect("valid config");
    let mut frame = Frame::new(1);
    frame.commands = slots
        .iter()
        .map(|&slot| Command::Join {
            slot,
            name: format!("p{slot}"),
        })
        .collect();
    world.step(&frame).expect("tick 1 steps");
    world
}

#[test]
fn the_fault_adds_one_gold_to_the_first_present_player_only() {
    let before = world_with_players(&[2, 5]);
    let mut after = before.clone();
    assert_eq!(after.inject_fault_for_diagnostics(), Some(2));
    assert_ne!(
        after.checksum(),
        before.checksum(),
        "the checksum must see the fault"
    );
    let (b, a) = (before.player(2).expect("p2"), after.player(2).expect("p2"));
    assert_eq!(a.gold, b.gold + 1);
    let mut same = a.clone();
    same.gold = b.gold;
    assert_eq!(&same, b, "nothing but the gold changed");
    assert_eq!(after.player(5), before.player(5));
    assert_eq!(after.monsters(), before.monsters());
    assert_eq!(after.tick(), before.tick());
    // Still a valid world: it restores and steps on.
    let mut restored = World::restore(&after.snapshot()).expect("the altered state is valid");
    assert_eq!(restored, after);
    restored.step(&Frame::new(2)).expect("steps");
}

#[test]
fn without_players_nothing_changes() {
    let mut world = World::new(&SimConfig::default()).expect("valid config");
    let sum = world.checksum();
    assert_eq!(world.inject_fault_for_diagnostics(), None);
    assert_eq!(world.checksum(), sum);
}

#[test]
fn rollback_alters_the_confirmed_world_and_reports_its_checksum() {
    let world = world_with_players(&[0]);
    let mut rb = Rollback::new(world.clone(), 8);
    rb.advance(Frame::new(2)).expect("predicts");
    let (slot, sum) = rb
        .inject_fault_for_diagnostics()
        .expect("a player is present");
    assert_eq!(slot, 0);
    assert_eq!(sum, rb.confirmed().checksum());
    assert_ne!(sum, world.checksum());
    assert_eq!(
        rb.confirmed().player(0).expect("p0").gold,
        world.player(0).expect("p0").gold + 1
    );
}
