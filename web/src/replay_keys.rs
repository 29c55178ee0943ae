//! The browser's keys for the replay player, as the DOM names them (`KeyboardEvent.key`),
//! into the shared viewer's actions (`venture_play::replay_controls::Action`): the same
//! keys as `venture-replay play` in a terminal, bar quitting (a tab is closed instead).

use venture_play::replay_controls::Action;

/// The action of DOM key `key` (`shift`: Shift held).
pub fn action(key: &str, shift: bool) -> Option<Action> {
    Some(match key {
        " " => Action::TogglePlay,
        "ArrowRight" | "." => Action::StepForward,
        "ArrowLeft" | "," => Action::StepBack,
        "+" | "=" => Action::Faster,
        "-" | "_" => Action::Slower,
        "PageUp" | "]" => Action::JumpForward,
        "PageDown" | "[" => Action::JumpBack,
        "g" | "G" => Action::OpenSeek,
        "Tab" if shift => Action::FollowPrevious,
        "Tab" => Action::FollowNext,
        "?" | "F1" => Action::Help,
        _ => return None,
    })
}

/// The action a page button names (`data-act` in index.html).
pub fn named(name: &str) -> Option<Action> {
    Some(match name {
        "toggle" => Action::TogglePlay,
        "step" => Action::StepForward,
        "back" => Action::StepBack,
        "faster" => Action::Faster,
        "slower" => Action::Slower,
        "jump" => Action::JumpForward,
        "jumpback" => Action::JumpBack,
        "follow" => Action::FollowNext,
        "followback" => Action::FollowPrevious,
        "help" => Action::Help,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_buttons() {
        assert_eq!(action(" ", false), Some(Action::TogglePlay));
        assert_eq!(action("Tab", true), Some(Action::FollowPrevious));
        assert_eq!(action("]", false), Some(Action::JumpForward));
        assert_eq!(action("q", false), None);
        assert_eq!(named("faster"), Some(Action::Faster));
        assert_eq!(named("quit"), None);
    }
}
