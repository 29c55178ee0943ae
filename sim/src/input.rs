//! What drives the simulation: per-slot player inputs and commands, grouped by tick into
//! frames. A frame is everything `World::step` consumes, so the frame stream plus the seed
//! reproduces a session exactly.

use crate::content::Item;
use serde::{Deserialize, Serialize};

/// Most player slots a world can have (the server's `-max-players` is capped here).
pub const MAX_SLOTS: usize = 64;
/// Longest player name, in characters.
pub const MAX_NAME_CHARS: usize = 16;
/// Most commands one frame may carry.
pub const MAX_COMMANDS_PER_FRAME: usize = 2 * MAX_SLOTS;

/// Button bits of [`PlayerInput::buttons`].
pub mod buttons {
    pub const ATTACK: u8 = 1 << 0;
    pub const CAST: u8 = 1 << 1;
    pub const USE_ITEM: u8 = 1 << 2;
    pub const INTERACT: u8 = 1 << 3;
    /// Drops inventory item `slot` on the floor in front of the player (edge-triggered).
    pub const DROP: u8 = 1 << 4;
    /// Bits with a meaning; the rest are ignored by the rules.
    pub const ALL: u8 = ATTACK | CAST | USE_ITEM | INTERACT | DROP;
    /// The bits the scripted test inputs press (fixed so that adding a button does not
    /// move the golden checksums of scripted sessions).
    pub const SCRIPTED: u8 = ATTACK | CAST | USE_ITEM | INTERACT;
}

/// Longest chat line, in characters (the server truncates to it; the rules ignore longer).
pub const MAX_CHAT_CHARS: usize = 120;

/// A chat line is 1 to [`MAX_CHAT_CHARS`] characters without control characters: the
/// server strips them before the line enters a frame, so no terminal escape travels.
pub fn valid_chat(text: &str) -> bool {
    let n = text.chars().count();
    (1..=MAX_CHAT_CHARS).contains(&n) && !text.chars().any(char::is_control)
}

/// One player's input for one tick: six bytes.
///
/// `move_*` is an analog direction in -127..=127 per axis (normalised by the rules, so
/// diagonals are not faster); `aim_*` is the facing/aim direction; `slot` picks the spell
/// (with CAST) or inventory slot (with USE_ITEM / INTERACT / DROP; INTERACT with
/// `UNEQUIP_BASE + e` unequips, with [`PICK_UP_SLOT`] picks up the nearest item in reach).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PlayerInput {
    pub move_x: i8,
    pub move_y: i8,
    pub aim_x: i8,
    pub aim_y: i8,
    pub buttons: u8,
    pub slot: u8,
}

impl PlayerInput {
    pub const IDLE: PlayerInput = PlayerInput {
        move_x: 0,
        move_y: 0,
        aim_x: 0,
        aim_y: 0,
        buttons: 0,
        slot: 0,
    };

    pub fn pressed(&self, button: u8) -> bool {
        self.buttons & button != 0
    }
}

/// Bytes in a [`PlayerInput`]'s byte form ([`PlayerInput::to_bytes`]).
pub const INPUT_BYTES: usize = 6;

/// The one byte form of an input, used by the wire codec (`venture-net`'s `compact`) and
/// the fuzz targets: fields in declaration order, the `i8`s as their two's-complement
/// bytes. Changing it changes protocol and corpora alike.
impl PlayerInput {
    pub const fn to_bytes(self) -> [u8; INPUT_BYTES] {
        [
            self.move_x as u8,
            self.move_y as u8,
            self.aim_x as u8,
            self.aim_y as u8,
            self.buttons,
            self.slot,
        ]
    }

    /// Every byte string is a valid input (unknown button bits are ignored by the rules).
    pub const fn from_bytes(b: [u8; INPUT_BYTES]) -> PlayerInput {
        PlayerInput {
            move_x: b[0] as i8,
            move_y: b[1] as i8,
            aim_x: b[2] as i8,
            aim_y: b[3] as i8,
            buttons: b[4],
            slot: b[5],
        }
    }
}
/// INTERACT with this slot picks up the nearest ground item within reach (see
/// `gameplay::PICK_UP_REACH`), also one the player dropped.
pub const PICK_UP_SLOT: u8 = 255;

/// A change to who is playing. Commands are part of the frame so joins and leaves replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// A player takes `slot` with `name`. Ignored if the slot is taken or out of range, or
    /// the name is invalid (see [`valid_name`]).
    Join { slot: u8, name: String },
    /// The player in `slot` leaves; the slot becomes free.
    Leave { slot: u8 },
    /// Puts a saved character's progress back on the player in `slot` (sent by the server
    /// after the player's `Join`, never by clients). Values are clamped to the rules'
    /// ranges; HP and mana are refilled to the restored maximum.
    Restore { slot: u8, progress: Progress },
    /// Gives a saved item back to the player in `slot`; with `equip` it goes into its
    /// equipment slot if that is free. Ignored when it would not fit.
    GiveItem {
        slot: u8,
        item: Box<Item>,
        equip: bool,
    },
    /// The player in `slot` says `text` to everyone (put in frames by the server, which
    /// caps its length, strips control characters and rate-limits it). Ignored when the
    /// slot is empty or the text fails [`valid_chat`]; otherwise an `Event::Chat`.
    Chat { slot: u8, text: String },
}

/// A character's lasting progress (what saves keep besides items).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Progress {
    pub level: u32,
    pub xp: u32,
    pub skill_points: u32,
    pub gold: u32,
}

impl Command {
    /// The slot the command is about.
    pub fn slot(&self) -> u8 {
        match self {
            Command::Join { slot, .. }
            | Command::Leave { slot }
            | Command::Restore { slot, .. }
            | Command::GiveItem { slot, .. }
            | Command::Chat { slot, .. } => *slot,
        }
    }

    /// The same command for another slot.
    pub fn for_slot(mut self, new_slot: u8) -> Command {
        match &mut self {
            Command::Join { slot, .. }
            | Command::Leave { slot }
            | Command::Restore { slot, .. }
            | Command::GiveItem { slot, .. }
            | Command::Chat { slot, .. } => *slot = new_slot,
        }
        self
    }
}

/// All inputs for one tick. `inputs[i]` is slot i's input; slots past the end are idle.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    pub tick: u64,
    pub inputs: Vec<PlayerInput>,
    pub commands: Vec<Command>,
}

impl Frame {
    pub fn new(tick: u64) -> Self {
        Frame {
            tick,
            inputs: Vec::new(),
            commands: Vec::new(),
        }
    }

    /// Slot `slot`'s input, idle when the frame has none for it.
    pub fn input(&self, slot: usize) -> PlayerInput {
        self.inputs.get(slot).copied().unwrap_or(PlayerInput::IDLE)
    }

    /// Sets slot `slot`'s input, growing the vector with idle inputs as needed.
    pub fn set_input(&mut self, slot: usize, input: PlayerInput) {
        if slot >= MAX_SLOTS {
            return;
        }
        if self.inputs.len() <= slot {
            // `slot < MAX_SLOTS` was checked above.
            self.inputs
                .resize(slot.saturating_add(1), PlayerInput::IDLE);
        }
        self.inputs[slot] = input;
    }
}

/// A player name is 1 to 16 characters, letters, digits, `_`, `-` or space, not starting or
/// ending with a space.
pub fn valid_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=MAX_NAME_CHARS).contains(&n)
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == ' ')
        && !name.starts_with(' ')
        && !name.ends_with(' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_inputs_are_idle() {
        let mut f = Frame::new(1);
        assert_eq!(f.input(3), PlayerInput::IDLE);
        f.set_input(
            2,
            PlayerInput {
                move_x: 5,
                ..PlayerInput::IDLE
            },
        );
        assert_eq!(f.inputs.len(), 3);
        assert_eq!(f.input(2).move_x, 5);
        f.set_input(MAX_SLOTS, PlayerInput::IDLE);
        assert_eq!(f.inputs.len(), 3);
    }

    #[test]
    fn byte_form_round_trips_and_is_pinned() {
        let input = PlayerInput {
            move_x: -127,
            move_y: 127,
            aim_x: -1,
            aim_y: 0,
            buttons: buttons::ATTACK | buttons::INTERACT,
            slot: 200,
        };
        // Pinned: the wire format and the fuzz corpora depend on this layout.
        assert_eq!(input.to_bytes(), [0x81, 0x7f, 0xff, 0x00, 0x09, 200]);
        assert_eq!(PlayerInput::from_bytes(input.to_bytes()), input);
        assert_eq!(PlayerInput::IDLE.to_bytes(), [0; INPUT_BYTES]);
        // Every byte value of every field survives the round trip both ways.
        for v in 0..=u8::MAX {
            for field in 0..INPUT_BYTES {
                let mut b = [0u8; INPUT_BYTES];
                b[field] = v;
                assert_eq!(PlayerInput::from_bytes(b).to_bytes(), b);
            }
        }
    }

    #[test]
    fn names() {
        assert!(valid_name("alice"));
        assert!(valid_name("Bob the 2nd"));
        assert!(!valid_name(""));
        assert!(!valid_name(" lead"));
        assert!(!valid_name("a\nb"));
        assert!(!valid_name("seventeen chars!!"));
        assert!(!valid_name("abcdefghijklmnopq"));
    }

    #[test]
    fn chat_lines() {
        assert!(valid_chat("hello there"));
        assert!(valid_chat(&"x".repeat(MAX_CHAT_CHARS)));
        assert!(!valid_chat(&"x".repeat(MAX_CHAT_CHARS + 1)));
        assert!(!valid_chat(""));
        assert!(!valid_chat("red \u{1b}[31m"));
        assert!(!valid_chat("bell\u{7}"));
        assert!(!valid_chat("csi \u{9b}2J"));
    }
}
