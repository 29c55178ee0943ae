//! One writer per world: an exclusive advisory lock (`flock`, through std's
//! [`File::try_lock`]) on a lock file beside each world directory and each session log,
//! held for the life of the process.
//!
//! The lock lives on an open file descriptor, so the kernel releases it when the process
//! dies however it dies (kill -9 included): there is never a stale lock to clean up, and
//! lock files are never deleted (deleting one while another process waits on it would let
//! two processes "hold" it). The holder writes its PID into the file so a refused process
//! can name who holds it.
//!
//! Lock files sit beside what they protect, not inside it: `saves/worlds/<key>.lock` for
//! the world directory (which `--new-world` moves aside) and `<log>.lock` for the log
//! (which is recreated or moved aside when it cannot be continued).

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Why a lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("{what} is in use by another process (pid {}); lock file {}", .holder.map_or("unknown".to_string(), |p| p.to_string()), .path.display())]
    Held {
        what: String,
        path: PathBuf,
        holder: Option<u32>,
    },
    #[error("cannot lock {}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
}

/// A held lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct WorldLock {
    _file: File,
    pub path: PathBuf,
}

/// The PID written in a lock file, if it holds one.
fn read_holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

impl WorldLock {
    /// Takes the exclusive lock on `path` (created if missing), without waiting. `what`
    /// names the protected thing in the error ("world 99-fantasy").
    pub fn acquire(path: &Path, what: &str) -> Result<WorldLock, LockError> {
        let io_err = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io_err)?;
        }
        let mut opts = OpenOptions::new();
        // Not truncated on open: a refused process must still read the holder's PID.
        opts.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        // On a read-only filesystem an existing lock file still locks (flock needs no
        // write access); only its PID cannot be updated.
        let mut file = opts
            .open(path)
            .or_else(|e| File::open(path).map_err(|_| e))
            .map_err(io_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    what: what.to_string(),
                    path: path.to_path_buf(),
                    holder: read_holder(&mut file),
                })
            }
            Err(TryLockError::Error(e)) => return Err(io_err(e)),
        }
        // Ours now: record who holds it. A failure here (a full disk) does not weaken the
        // lock; it only leaves the PID out of a refused process's message.
        let pid = std::process::id();
        let _ = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(format!("{pid}\n").as_bytes()))
            .and_then(|()| file.flush());
        Ok(WorldLock {
            _file: file,
            path: path.to_path_buf(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_holders_pid_and_freed_on_drop() {
        let dir = std::env::temp_dir().join(format!("venture-lock-{}", std::process::id()));
        let path = dir.join("w.lock");
        let held = WorldLock::acquire(&path, "world w").expect("first lock");
        // flock locks belong to the open file description: a second open in this same
        // process conflicts just as another process would.
        match WorldLock::acquire(&path, "world w") {
            Err(LockError::Held { holder, what, .. }) => {
                assert_eq!(holder, Some(std::process::id()));
                assert_eq!(what, "world w");
            }
            other => panic!("expected Held, got {other:?}"),
        }
        drop(held);
        let again = WorldLock::acquire(&path, "world w").expect("free after drop");
        drop(again);
        let _ = fs::remove_dir_all(&dir);
    }
}
