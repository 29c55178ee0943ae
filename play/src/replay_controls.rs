//! What a replay viewer can be asked to do ([`Action`]), the speed ladder, the seek
//! syntax (`1234` a tick, `mm:ss` or `Ns` a time), the time format and the help lines:
//! shared by the terminal viewer (which maps its keys to actions) and the browser's.

/// Playback speeds, as (numerator, denominator) of real time.
pub const SPEEDS: [(u32, u32); 7] = [(1, 4), (1, 2), (1, 1), (2, 1), (4, 1), (8, 1), (16, 1)];
/// Index of 1x in [`SPEEDS`].
pub const NORMAL_SPEED: usize = 2;
/// How far PgUp/PgDn jump, in seconds of game time.
pub const JUMP_SECONDS: u64 = 10;

/// What a key asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    TogglePlay,
    StepForward,
    StepBack,
    Faster,
    Slower,
    JumpForward,
    JumpBack,
    OpenSeek,
    FollowNext,
    FollowPrevious,
    Help,
    Quit,
}

/// The help window's lines: key, what it does.
pub const HELP: [(&str, &str); 11] = [
    ("Space", "play / pause"),
    ("Right  .", "one tick forward (paused)"),
    ("Left  ,", "one tick back (paused)"),
    ("+  -", "faster / slower (1/4x to 16x)"),
    ("PgUp  ]", "jump 10 s forward"),
    ("PgDn  [", "jump 10 s back"),
    ("g", "seek: 1234 (tick), mm:ss or 90s (time)"),
    ("Tab", "follow the next player"),
    ("Shift-Tab", "follow the previous player"),
    ("?", "this help (any key closes it)"),
    ("q  Esc", "quit"),
];

/// A speed as shown: `1/4x`, `1x`, `16x`.
pub fn speed_text(index: usize) -> String {
    let (n, d) = SPEEDS[index.min(SPEEDS.len() - 1)];
    if d == 1 {
        format!("{n}x")
    } else {
        format!("{n}/{d}x")
    }
}

/// `ticks` of game time at `rate` Hz as `mm:ss.t` (minutes grow past 59).
pub fn time_text(ticks: u64, rate: u32) -> String {
    let rate = u64::from(rate.max(1));
    let tenths = ticks * 10 / rate;
    format!(
        "{:02}:{:02}.{}",
        tenths / 600,
        tenths / 10 % 60,
        tenths % 10
    )
}

/// What the seek prompt's text asks for, as a tick: `1234` is a tick, `mm:ss` (or
/// `h:mm:ss`) and `90s` are game time from the session start (`first_tick`). None when
/// the text is none of these.
pub fn parse_seek(text: &str, first_tick: u64, rate: u32) -> Option<u64> {
    let text = text.trim();
    let rate = u64::from(rate.max(1));
    let from_secs = |secs: u64| first_tick.checked_add(secs.checked_mul(rate)?);
    if let Some(secs) = text.strip_suffix('s') {
        return from_secs(secs.trim().parse().ok()?);
    }
    if text.contains(':') {
        let mut secs: u64 = 0;
        let parts: Vec<&str> = text.split(':').collect();
        if parts.len() > 3 {
            return None;
        }
        for (i, part) in parts.iter().enumerate() {
            let n: u64 = part.parse().ok()?;
            // Seconds and minutes below the hour field are at most 59.
            if i > 0 && n > 59 {
                return None;
            }
            secs = secs.checked_mul(60)?.checked_add(n)?;
        }
        return from_secs(secs);
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seek_syntax() {
        assert_eq!(parse_seek("1234", 0, 20), Some(1234));
        assert_eq!(parse_seek(" 90s", 0, 20), Some(1800));
        assert_eq!(parse_seek("01:30", 0, 20), Some(1800));
        assert_eq!(parse_seek("1:00:00", 0, 20), Some(72_000));
        assert_eq!(parse_seek("1:30", 100, 20), Some(1900));
        assert_eq!(parse_seek("1:75", 0, 20), None);
        assert_eq!(parse_seek("abc", 0, 20), None);
        assert_eq!(parse_seek("", 0, 20), None);
        assert_eq!(parse_seek("99999999999999999999s", 0, 20), None);
    }

    #[test]
    fn formats() {
        assert_eq!(time_text(0, 20), "00:00.0");
        assert_eq!(time_text(1234, 20), "01:01.7");
        assert_eq!(time_text(72_000, 20), "60:00.0");
        let all: Vec<String> = (0..SPEEDS.len()).map(speed_text).collect();
        assert_eq!(all, ["1/4x", "1/2x", "1x", "2x", "4x", "8x", "16x"]);
        assert_eq!(speed_text(NORMAL_SPEED), "1x");
    }
}
