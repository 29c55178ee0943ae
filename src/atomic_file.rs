//! The one private-file writer: saves, character files, the server's key, the client's key
//! pins, character secrets and remembered name all go through it. A crash or a full disk
//! leaves the old file or the new one, never half; the file is mode 0600 from its first
//! byte (it may hold a private key or a secret).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically, replacing what is there: a temp file in the same
/// directory (mode 0600), fsync, rename over the target, fsync the directory. On any
/// failure the temp file is removed and the previous file at `path` is left as it was.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    place(path, bytes, |tmp, path| fs::rename(tmp, path))
}

/// Like [`write`], but never replaces a file: fails with `AlreadyExists` if `path` exists,
/// even if it appeared while the temp file was being written (the temp file is hard-linked
/// into place, which unlike a rename never replaces). Where hard links are not supported
/// the temp file is renamed instead, after checking the target is still absent.
pub fn create_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    place(path, bytes, |tmp, path| match fs::hard_link(tmp, path) {
        // The link is the file now; the temp name goes below.
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        Err(_) if !path.exists() => fs::rename(tmp, path),
        Err(e) => Err(e),
    })
}

/// The temp file written and synced, `put` placing it at `path`, the temp name removed
/// (after a rename it is already gone), the directory synced.
fn place(
    path: &Path,
    bytes: &[u8],
    put: impl FnOnce(&Path, &Path) -> io::Result<()>,
) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = temp_path(dir, path);
    let placed = (|| {
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        put(&tmp, path)
    })();
    // A partial temp file would hold the space a full disk needs back; after a rename
    // there is nothing left to remove.
    let _ = fs::remove_file(&tmp);
    placed?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The process id keeps two processes writing the same file (two clients pinning a key at
/// once) from sharing a temp file.
fn temp_path(dir: &Path, path: &Path) -> PathBuf {
    dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use venture_testkit::Scratch;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).expect("stat").permissions().mode() & 0o7777
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn write_replaces_and_create_new_never_does() {
        let dir = Scratch::new("atomic-file");
        let path = dir.join("sub/file");
        write(&path, b"one").expect("creates the directory and the file");
        write(&path, b"two").expect("replaces");
        assert_eq!(fs::read(&path).expect("read"), b"two");
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
        let err = create_new(&path, b"three").expect_err("exists");
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).expect("read"), b"two", "left as it was");
        let fresh = dir.join("sub/fresh");
        create_new(&fresh, b"new").expect("absent: created");
        assert_eq!(fs::read(&fresh).expect("read"), b"new");
        #[cfg(unix)]
        assert_eq!(mode(&fresh), 0o600);
        assert!(leftovers(&dir.join("sub")).is_empty());
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = Scratch::new("atomic-file-fail");
        let path = dir.join("target");
        write(&path, b"old").expect("writes");
        // A directory where the temp file would go makes opening it fail.
        fs::create_dir(temp_path(dir.path(), &path)).expect("mkdir");
        assert!(write(&path, b"new").is_err());
        assert_eq!(fs::read(&path).expect("read"), b"old");
    }
}
