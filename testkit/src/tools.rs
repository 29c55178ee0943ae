//! System tools the tests run (ip, nft, tc, microsocks, tor, node, chromium, promtool): found on PATH, or the test
//! is skipped with a printed reason, except under `CI=true`, where `.ci/run` installs
//! them and a missing tool is a failure.

use std::path::PathBuf;
use std::process::Command;

/// Whether this run is CI's (`CI=true` or `CI=1`): nothing may be skipped there.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `name` on PATH (with /usr/sbin and /sbin, where Debian puts ip, nft and tc).
pub fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Prints why `test` is skipped and returns; panics instead under CI.
pub fn skip(test: &str, why: &str) {
    assert!(!in_ci(), "{test}: {why}: required in CI (see .ci/run)");
    eprintln!("SKIPPED {test}: {why}");
}

/// Every tool in `names`, or `None` after [`skip`] naming the missing ones.
pub fn require(test: &str, names: &[&str]) -> Option<Vec<PathBuf>> {
    let found: Vec<_> = names.iter().map(|n| find(n)).collect();
    let missing: Vec<&str> = names
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_none())
        .map(|(n, _)| *n)
        .collect();
    if missing.is_empty() {
        Some(found.into_iter().flatten().collect())
    } else {
        skip(
            test,
            &format!("{} not found (.ci/run installs it)", missing.join(", ")),
        );
        None
    }
}

/// Runs a command to completion: its stdout, or an error with the command line, the exit
/// status and stderr (what a report shows when the kernel refuses something).
pub fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// `name` from the environment variable `var`, else from PATH, else from `fallbacks`.
pub fn find_tool(name: &str, var: &str, fallbacks: &[PathBuf]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Some(PathBuf::from(p));
    }
    find(name).or_else(|| fallbacks.iter().find(|p| p.is_file()).cloned())
}

/// The tool ([`find_tool`]), or `None` after [`skip`] says why the test is skipped.
pub fn tool_or_skip(test: &str, name: &str, var: &str, fallbacks: &[PathBuf]) -> Option<PathBuf> {
    let found = find_tool(name, var, fallbacks);
    if found.is_none() {
        skip(
            test,
            &format!("{name} not found (set {var}, or see .ci/run for the install)"),
        );
    }
    found
}
