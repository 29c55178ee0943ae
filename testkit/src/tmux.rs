//! A tmux server of a test's own, for end-to-end tests of the terminal programs
//! (`venture-client`, `venture-replay play`): keys go in with `send-keys`, the screen comes
//! back with `capture-pane`, waits poll the pane under a deadline. The session is always
//! named `play`. tmux is a Debian package; `.ci/run` installs it when missing.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::wait::wait_for;

/// A tmux server on its own socket, killed when dropped.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// `tag` keeps the tests' tmux servers apart (tests run in parallel).
    pub fn new(tag: &str) -> Tmux {
        let ok = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "tmux is needed for this test (apt-get install -y tmux; .ci/run does it)"
        );
        Tmux {
            socket: format!("venture-test-{tag}-{}", std::process::id()),
        }
    }

    /// Runs a tmux command against this server; its stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts the session `play`, `width` x `height`, running `shell` (a `sh -c` line).
    pub fn start(&self, width: u16, height: u16, shell: &str) {
        let (w, h) = (width.to_string(), height.to_string());
        self.run(&["new-session", "-d", "-s", "play", "-x", &w, "-y", &h, shell]);
    }

    /// The pane's text.
    pub fn capture(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "play"])
    }

    /// `send-keys` to the pane.
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "play"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// A pane format variable, e.g. `alternate_on`, `cursor_flag`, `pane_pid`.
    pub fn pane(&self, variable: &str) -> String {
        let format = format!("#{{{variable}}}");
        self.run(&["display", "-p", "-t", "play", &format])
            .trim()
            .to_string()
    }

    /// Waits until the screen satisfies `pred`; the screen, or a panic naming `what`.
    pub fn wait_screen(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let mut last = String::new();
        let ok = wait_for(timeout, || {
            last = self.capture();
            pred(&last)
        });
        assert!(ok, "waited {timeout:?} for {what}; the screen:\n{last}");
        last
    }

    /// Checks the terminal is back to normal after the program exited: the normal screen,
    /// a visible cursor, and cooked mode, read from `stty`, a file the shell line wrote
    /// with `stty -a > FILE` after the program (raw mode left on shows -icanon -echo).
    pub fn assert_restored(&self, stty: &Path) {
        assert_eq!(
            self.pane("alternate_on"),
            "0",
            "still on the alternate screen"
        );
        assert_eq!(self.pane("cursor_flag"), "1", "the cursor is hidden");
        let mut modes = String::new();
        let written = wait_for(Duration::from_secs(10), || {
            modes = std::fs::read_to_string(stty).unwrap_or_default();
            modes.contains("icanon")
        });
        assert!(written, "no stty output in {}", stty.display());
        assert!(
            !modes.contains("-icanon") && !modes.contains("-echo "),
            "raw mode left on:\n{modes}"
        );
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}
