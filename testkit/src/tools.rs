//! External tools a test needs (Debian packages, PyPI tools, a browser): a tool that is
//! missing skips its test with a message, except under `CI=true`, where `.ci/run`
//! installs it and a missing tool is a failure.

use std::path::PathBuf;

/// Whether the tests run in CI (`CI=true` or `CI=1`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `name` from the environment variable `var`, else from PATH, else from `fallbacks`.
pub fn find_tool(name: &str, var: &str, fallbacks: &[PathBuf]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .chain(fallbacks.iter().cloned())
        .find(|p| p.is_file())
}

/// The tool, or `None` after printing why the test is skipped (panics in CI).
pub fn tool_or_skip(test: &str, name: &str, var: &str, fallbacks: &[PathBuf]) -> Option<PathBuf> {
    let found = find_tool(name, var, fallbacks);
    if found.is_none() {
        let msg = format!("{name} not found (set {var}, or see .ci/run for the install)");
        skip_unless_ci(test, &msg);
    }
    found
}

/// Prints why `test` is skipped; panics instead in CI.
pub fn skip_unless_ci(test: &str, why: &str) {
    assert!(!in_ci(), "{test}: {why}: required in CI");
    eprintln!("SKIPPED {test}: {why}");
}
