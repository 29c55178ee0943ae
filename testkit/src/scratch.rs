//! Scratch directories for tests: made by `tempfile`, removed when the test passes, kept
//! (and their path printed) when it fails, so the logs inside can be read afterwards.

use std::path::{Path, PathBuf};

/// A temporary directory; see the module doc for what happens on failure.
pub struct Scratch {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl Scratch {
    /// A new directory under the system temp dir, named `venture-TAG-...`.
    pub fn new(tag: &str) -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix(&format!("venture-{tag}-"))
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temp dir for {tag}: {e}"));
        let path = dir.path().to_path_buf();
        Scratch {
            dir: Some(dir),
            path,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `self.path().join(rel)`.
    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path.join(rel)
    }

    /// `self.join(rel)` as a `String` (for command-line arguments).
    pub fn arg(&self, rel: impl AsRef<Path>) -> String {
        self.join(rel).display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(dir) = self.dir.take() {
                let kept = dir.keep();
                eprintln!("test failed: scratch directory kept at {}", kept.display());
            }
        }
    }
}
