//! Child processes for tests: output goes to files in the test's scratch directory (so it
//! survives the child and can be read at any time), the child is killed when dropped (a
//! failing test never leaks processes), and when a test fails the tail of each child's
//! output is printed beside the panic.

use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How many lines of each stream a failing test prints.
const TAIL_LINES: usize = 40;

/// A running child process; see the module doc.
pub struct Proc {
    pub child: Child,
    pub tag: String,
    pub stdout_path: PathBuf,
    pub stderr_path: PathBuf,
    exit: Option<ExitStatus>,
}

impl Proc {
    /// Runs `bin ARGS` in `dir` with `envs` added, stdin closed, stdout and stderr in
    /// `dir/TAG.out` and `dir/TAG.err`. The variables that change a server's behaviour
    /// (`LOG_LEVEL`, `LOG_FORMAT`, `AGONES_SDK_HTTP_PORT`, `NO_COLOR`) are removed unless
    /// given in `envs`.
    pub fn spawn<S: AsRef<OsStr>>(
        bin: &str,
        args: &[S],
        dir: &Path,
        tag: &str,
        envs: &[(&str, &str)],
    ) -> Proc {
        let stdout_path = dir.join(format!("{tag}.out"));
        let stderr_path = dir.join(format!("{tag}.err"));
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .current_dir(dir)
            .env_remove("LOG_LEVEL")
            .env_remove("LOG_FORMAT")
            .env_remove("AGONES_SDK_HTTP_PORT")
            .stdin(Stdio::null())
            .stdout(Self::file(&stdout_path))
            .stderr(Self::file(&stderr_path));
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {bin}: {e}"));
        Proc {
            child,
            tag: tag.to_string(),
            stdout_path,
            stderr_path,
            exit: None,
        }
    }

    fn file(path: &Path) -> File {
        File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the child wrote to stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }

    /// Everything the child wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout().lines().map(str::to_string).collect()
    }

    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr().lines().map(str::to_string).collect()
    }

    /// Sends a signal by name (`TERM`, `KILL`, `STOP`, `CONT`, ...); true if delivered.
    pub fn signal(&self, sig: &str) -> bool {
        Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// SIGKILL, then reaps the child.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        if let Ok(status) = self.child.wait() {
            self.exit = Some(status);
        }
    }

    /// The exit status once the child has exited.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// Waits up to `timeout` for the child to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_exit() {
                return Some(s);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits up to `timeout` for exit: `Some(code)`, where the code is `None` after a
    /// signal; `None` if still running.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<Option<i32>> {
        self.wait_exit(timeout).map(|s| s.code())
    }

    /// Waits until a stdout line satisfies `f`.
    pub fn wait_stdout(&self, timeout: Duration, f: impl Fn(&str) -> bool) -> bool {
        crate::wait_for(timeout, || self.stdout().lines().any(&f))
    }

    /// Waits until a stderr line satisfies `f`.
    pub fn wait_stderr(&self, timeout: Duration, f: impl Fn(&str) -> bool) -> bool {
        crate::wait_for(timeout, || self.stderr().lines().any(&f))
    }

    fn print_tail(&self) {
        for (name, text) in [("stdout", self.stdout()), ("stderr", self.stderr())] {
            let lines: Vec<&str> = text.lines().collect();
            let from = lines.len().saturating_sub(TAIL_LINES);
            eprintln!(
                "--- {} {name} (last {} of {} lines, {}) ---",
                self.tag,
                lines.len() - from,
                lines.len(),
                if name == "stdout" {
                    self.stdout_path.display()
                } else {
                    self.stderr_path.display()
                }
            );
            for l in &lines[from..] {
                eprintln!("{l}");
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.try_exit().is_none() {
            // A stopped child must be continued to die promptly and be reaped.
            let _ = self.signal("CONT");
            self.kill9();
        }
        if std::thread::panicking() {
            self.print_tail();
        }
    }
}

/// A `/proc/PID/status` field in KiB (`VmRSS:`, `VmHWM:`), if the process exists.
pub fn rss_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU time a process has used so far (utime + stime from /proc/PID/stat), in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Runs `bin ARGS` to completion in a scratch directory: (exit code, stdout, stderr). The
/// code is `None` if it was killed by a signal or still ran after `timeout` (then killed).
pub fn run_to_exit<S: AsRef<OsStr>>(
    bin: &str,
    args: &[S],
    timeout: Duration,
) -> (Option<i32>, String, String) {
    let scratch = crate::Scratch::new("run");
    let mut p = Proc::spawn(bin, args, scratch.path(), "run", &[]);
    let code = p.wait_exit(timeout).and_then(|s| s.code());
    (code, p.stdout(), p.stderr())
}
