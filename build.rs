//! Build script: captures the git commit into `VENTURE_GIT_COMMIT`.
//!
//! Never fails: outside a git checkout (a source tarball, a vendored copy) or
//! without a `git` binary the value is `unknown`. An explicit
//! `VENTURE_GIT_COMMIT` in the build environment wins, so packagers can set it.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=VENTURE_GIT_COMMIT");
    let commit = std::env::var("VENTURE_GIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=VENTURE_GIT_COMMIT={commit}");
    // Re-run when HEAD moves. In a worktree `.git` is a file, so ask git for
    // the real paths; if that fails we simply do not register them.
    for what in ["HEAD", "index"] {
        if let Some(path) = git(&["rev-parse", "--git-path", what]) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}

fn git_commit() -> Option<String> {
    let hash = git(&["rev-parse", "--short=12", "HEAD"])?;
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    Some(if dirty { format!("{hash}-dirty") } else { hash })
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!s.is_empty()).then_some(s)
}
