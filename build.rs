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
    // Re-run when HEAD moves: HEAD itself (branch switch) and the branch's
    // ref file (new commit). In a worktree `.git` is a file, so ask git for
    // the real paths; if that fails we simply do not register them.
    let mut watch = vec!["HEAD".to_owned()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch.push(branch);
    }
    for what in watch {
        if let Some(path) = git(&["rev-parse", "--git-path", &what]) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}

fn git_commit() -> Option<String> {
    // Only trust git when this package is itself a checkout (`.git` is a
    // directory, or a file in a worktree); a tarball unpacked inside some
    // other repository must not report that repository's commit.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    if !std::path::Path::new(&manifest_dir).join(".git").exists() {
        return None;
    }
    git(&["rev-parse", "--short=12", "HEAD"])
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!s.is_empty()).then_some(s)
}
