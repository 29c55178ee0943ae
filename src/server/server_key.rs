//! The server's static X25519 key pair (the Noise NK responder key), kept in the saves
//! directory as `server.key`: loading it, or creating it on first start. The key pair, its
//! derivation and the text form of a public key that operators and clients exchange (the
//! *fingerprint*) are `venture_net::secure`'s, shared with the client.
//!
//! On first start the key pair is generated and written atomically (temp file, fsync,
//! link into place, fsync of the directory) with mode 0600; later starts load it. A key
//! file that exists but cannot be used (unreadable, malformed, permissions wider than
//! 0600) is an error naming the file: it is never replaced, because replacing it would
//! make every client that pinned the old key refuse the server, and that is the
//! operator's decision, not the server's.
//!
//! The file is text, so an operator can read the fingerprint with `cat`:
//!
//! ```text
//! venture-server-key v1
//! # X25519 key pair of this server (Noise NK). Keep it private (mode 0600) and back it up:
//! # clients pin the public key; a new key makes every pinned client refuse this server.
//! private 77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a
//! public 8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a
//! ```
//!
//! The first line must be the header exactly; `#` lines and blank lines are ignored; the
//! `private` and `public` lines hold 64 hex digits each (either case). The public key is
//! derived from the private one on load and must match the stored line, so a damaged file
//! is noticed instead of quietly serving a different key than the one clients pinned.
//!
//! The fingerprint of a public key is its 32 bytes as 64 lowercase hex digits
//! ([`venture_net::secure::fingerprint`]). The same form is what the client's
//! `-server-key` accepts and what `known_servers` stores.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

/// The server's key pair: the secure layer's static key pair.
pub use venture_net::secure::StaticKeypair as ServerKey;
use venture_net::secure::{fingerprint, hex, parse_hex32};

use crate::atomic_file::create_new;

/// The key file's name inside the saves directory.
pub const KEY_FILE: &str = "server.key";
/// The first line of a key file (the format's version).
pub const HEADER: &str = "venture-server-key v1";

/// A fresh key pair from the operating system's random source.
pub fn generate() -> Result<ServerKey, io::Error> {
    ServerKey::generate().map_err(|e| io::Error::other(format!("no OS randomness: {e}")))
}

/// The key file's text for this key pair.
fn file_text(key: &ServerKey) -> String {
    format!(
        "{HEADER}\n\
         # X25519 key pair of this server (Noise NK). Keep it private (mode 0600) and back it up:\n\
         # clients pin the public key; a new key makes every pinned client refuse this server.\n\
         private {}\n\
         public {}\n",
        hex(key.private()),
        fingerprint(key.public()),
    )
}

/// Why the key file cannot be used. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ServerKeyError {
    #[error("server key file {}: cannot read it: {source}", .path.display())]
    Unreadable { path: PathBuf, source: io::Error },
    #[error("server key file {}: permissions {mode:04o} are too open (others could read the private key); run `chmod 600 {}`", .path.display(), .path.display())]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("server key file {}{}: {problem}; the file is left as it is (restore it from a backup, or move it away to have a new key generated, which every client that pinned the old key will refuse)", .path.display(), at_line(*.line))]
    Malformed {
        path: PathBuf,
        /// 1-based; `None` when the file as a whole is at fault (empty, a line missing).
        line: Option<usize>,
        problem: String,
    },
    #[error("server key file {}: cannot write it: {source}", .path.display())]
    Unwritable { path: PathBuf, source: io::Error },
    #[error("server key: {0}")]
    Generate(io::Error),
}

fn at_line(line: Option<usize>) -> String {
    line.map(|n| format!(", line {n}")).unwrap_or_default()
}

/// How [`load_or_create`] got the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    /// Read from this existing file.
    Loaded(PathBuf),
    /// Generated on this start and written to this file.
    Created(PathBuf),
}

/// The key in `saves_dir/server.key`: loaded when the file exists, generated and written
/// when it does not. An existing file that cannot be used is an error, never overwritten.
pub fn load_or_create(saves_dir: &Path) -> Result<(ServerKey, KeyOrigin), ServerKeyError> {
    load_or_create_with(saves_dir, generate)
}

/// [`load_or_create`] with the generator given (tests pass a fixed key).
pub fn load_or_create_with(
    saves_dir: &Path,
    generate: impl FnOnce() -> Result<ServerKey, io::Error>,
) -> Result<(ServerKey, KeyOrigin), ServerKeyError> {
    let path = saves_dir.join(KEY_FILE);
    match load(&path) {
        Ok(key) => return Ok((key, KeyOrigin::Loaded(path))),
        Err(ServerKeyError::Unreadable { source, .. })
            if source.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let key = generate().map_err(ServerKeyError::Generate)?;
    match create_new(&path, file_text(&key).as_bytes()) {
        Ok(()) => Ok((key, KeyOrigin::Created(path))),
        // Another process created it between our read and our link: use theirs.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            load(&path).map(|k| (k, KeyOrigin::Loaded(path)))
        }
        Err(source) => Err(ServerKeyError::Unwritable { path, source }),
    }
}

/// Reads and checks a key file.
pub fn load(path: &Path) -> Result<ServerKey, ServerKeyError> {
    let unreadable = |source| ServerKeyError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    // Checked before opening: opening a FIFO for reading would block the start.
    let meta = fs::metadata(path).map_err(unreadable)?;
    if !meta.is_file() {
        return Err(unreadable(io::Error::other("not a regular file")));
    }
    check_mode(path, &meta)?;
    let mut file = File::open(path).map_err(unreadable)?;
    // A key file is under 300 bytes; reading at most 4 KiB bounds memory for anything
    // else an operator may have put there.
    let mut text = String::new();
    io::Read::read_to_string(&mut io::Read::take(&mut file, 4096), &mut text).map_err(
        |e| match e.kind() {
            io::ErrorKind::InvalidData => malformed(path, None, "it is not UTF-8 text".into()),
            _ => unreadable(e),
        },
    )?;
    parse_file(path, &text)
}

#[cfg(unix)]
fn check_mode(path: &Path, meta: &fs::Metadata) -> Result<(), ServerKeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(ServerKeyError::TooOpen {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_: &Path, _: &fs::Metadata) -> Result<(), ServerKeyError> {
    Ok(())
}

fn malformed(path: &Path, line: Option<usize>, problem: String) -> ServerKeyError {
    ServerKeyError::Malformed {
        path: path.to_path_buf(),
        line,
        problem,
    }
}

fn parse_file(path: &Path, text: &str) -> Result<ServerKey, ServerKeyError> {
    if text.len() >= 4096 {
        return Err(malformed(
            path,
            None,
            "it is far too long for a key file".into(),
        ));
    }
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim()));
    match lines.next() {
        Some((_, HEADER)) => {}
        Some((n, other)) => {
            return Err(malformed(
                path,
                Some(n),
                format!("expected the header {HEADER:?}, found {:?}", clip(other)),
            ))
        }
        None => return Err(malformed(path, None, "the file is empty".into())),
    }
    let mut private = None;
    let mut public = None;
    for (n, line) in lines {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (field, value) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let slot = match field {
            "private" => &mut private,
            "public" => &mut public,
            _ => {
                return Err(malformed(
                    path,
                    Some(n),
                    format!(
                        "unknown line {:?} (expected `private HEX` or `public HEX`)",
                        clip(line)
                    ),
                ))
            }
        };
        if slot.is_some() {
            return Err(malformed(path, Some(n), format!("a second `{field}` line")));
        }
        let bytes = parse_hex32(value.trim())
            .map_err(|e| malformed(path, Some(n), format!("the {field} key: {e}")))?;
        *slot = Some((n, bytes));
    }
    let Some((_, private)) = private else {
        return Err(malformed(path, None, "no `private` line".into()));
    };
    let key = ServerKey::from_private(private);
    match public {
        Some((n, stored)) if stored != *key.public() => Err(malformed(
            path,
            Some(n),
            format!(
                "the public key {} is not the one of the private key ({}); the file is damaged",
                fingerprint(&stored),
                key.fingerprint()
            ),
        )),
        _ => Ok(key),
    }
}

/// A line as shown in an error: at most 40 characters.
fn clip(line: &str) -> String {
    match line.char_indices().nth(40) {
        Some((at, _)) => format!("{}...", &line[..at]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use venture_testkit::Scratch;

    // RFC 7748, section 6.1: Alice's key pair.
    const ALICE_PRIVATE: &str = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
    const ALICE_PUBLIC: &str = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";

    fn alice() -> ServerKey {
        let private = parse_hex32(ALICE_PRIVATE).expect("test vector");
        ServerKey::from_private(private)
    }

    fn never() -> Result<ServerKey, io::Error> {
        panic!("a key was generated although one exists")
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).expect("stat").permissions().mode() & 0o7777
    }

    #[cfg(unix)]
    fn chmod(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    }

    fn write_key_file(dir: &Scratch, text: &str) -> PathBuf {
        let path = dir.join(KEY_FILE);
        create_new(&path, text.as_bytes()).expect("write the key file");
        path
    }

    #[test]
    fn first_start_creates_the_file_and_later_starts_load_it() {
        let dir = Scratch::new("key-create");
        let saves = dir.join("saves");
        let (key, origin) = load_or_create_with(&saves, || Ok(alice())).expect("create");
        let path = saves.join(KEY_FILE);
        assert_eq!(origin, KeyOrigin::Created(path.clone()));
        assert_eq!(key, alice());
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
        let text = fs::read_to_string(&path).expect("read");
        assert!(text.starts_with(&format!("{HEADER}\n")), "{text}");
        assert!(
            text.contains(&format!("\nprivate {ALICE_PRIVATE}\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("\npublic {ALICE_PUBLIC}\n")),
            "{text}"
        );
        // No temp file left behind.
        let names: Vec<_> = fs::read_dir(&saves)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, [KEY_FILE]);

        let (again, origin) = load_or_create_with(&saves, never).expect("load");
        assert_eq!(origin, KeyOrigin::Loaded(path));
        assert_eq!(again, key);
        // The default generator makes a working file too.
        let other = dir.join("other");
        let (fresh, _) = load_or_create(&other).expect("create");
        assert_eq!(load(&other.join(KEY_FILE)).expect("load"), fresh);
    }

    #[test]
    fn a_file_without_the_public_line_or_with_comments_loads() {
        let dir = Scratch::new("key-forms");
        let path = write_key_file(
            &dir,
            &format!(
                "{HEADER}\n\n# restored by hand\n  private {}  \n",
                ALICE_PRIVATE.to_uppercase()
            ),
        );
        assert_eq!(load(&path).expect("load"), alice());
    }

    /// Every bad file is an error naming the file (and the line when one is at fault),
    /// and the file is left exactly as it was.
    #[test]
    fn bad_files_are_errors_and_are_never_overwritten() {
        let other_public = fingerprint(ServerKey::generate().expect("rng").public());
        let cases: Vec<(String, &str)> = vec![
            (String::new(), ": the file is empty"),
            (
                "venture-server-key v2\n".into(),
                "line 1: expected the header",
            ),
            (format!("{HEADER}\n"), "no `private` line"),
            (
                format!("{HEADER}\nprivate {}\n", &ALICE_PRIVATE[..60]),
                "line 2: the private key: a key is 64 hex digits (32 bytes), this has 60",
            ),
            (
                format!("{HEADER}\nprivate {}zz\n", &ALICE_PRIVATE[..62]),
                "line 2: the private key: a key is 64 hex digits; 'z'",
            ),
            (
                format!("{HEADER}\nprivate {ALICE_PRIVATE}\npublic {other_public}\n"),
                "line 3: the public key",
            ),
            (
                format!("{HEADER}\nprivate {ALICE_PRIVATE}\nprivate {ALICE_PRIVATE}\n"),
                "line 3: a second `private` line",
            ),
            (
                format!("{HEADER}\nsecret {ALICE_PRIVATE}\n"),
                "line 2: unknown line",
            ),
            (format!("{HEADER}\n{}", "#".repeat(5000)), "far too long"),
        ];
        for (text, expected) in cases {
            let dir = Scratch::new("key-bad");
            let path = write_key_file(&dir, &text);
            let err = load_or_create_with(dir.path(), never).expect_err(&text);
            let msg = err.to_string();
            assert!(
                matches!(err, ServerKeyError::Malformed { .. }),
                "{text:?}: {msg}"
            );
            assert!(msg.contains(&path.display().to_string()), "{msg}");
            assert!(msg.contains(expected), "{text:?}: {msg}");
            assert_eq!(fs::read_to_string(&path).expect("still there"), text);
        }
        let dir = Scratch::new("key-binary");
        let path = dir.join(KEY_FILE);
        create_new(&path, &[0xff, 0xfe, 0x00]).expect("write");
        let msg = load(&path).expect_err("binary").to_string();
        assert!(msg.contains("not UTF-8"), "{msg}");
    }

    #[cfg(unix)]
    #[test]
    fn permissions_wider_than_0600_are_refused() {
        let dir = Scratch::new("key-mode");
        let (_, _) = load_or_create_with(dir.path(), || Ok(alice())).expect("create");
        let path = dir.join(KEY_FILE);
        for wide in [0o644, 0o640, 0o604, 0o660] {
            chmod(&path, wide);
            let err = load_or_create_with(dir.path(), never).expect_err("too open");
            let msg = err.to_string();
            assert!(
                matches!(err, ServerKeyError::TooOpen { mode, .. } if mode == wide),
                "{msg}"
            );
            assert!(
                msg.contains(&format!("chmod 600 {}", path.display())),
                "{msg}"
            );
        }
        chmod(&path, 0o400);
        assert_eq!(load(&path).expect("0400 is fine"), alice());
    }

    #[test]
    fn a_directory_where_the_file_should_be_is_unreadable_not_replaced() {
        let dir = Scratch::new("key-dir");
        fs::create_dir(dir.join(KEY_FILE)).expect("mkdir");
        let err = load_or_create_with(dir.path(), never).expect_err("a directory");
        assert!(matches!(err, ServerKeyError::Unreadable { .. }), "{err}");
        assert!(dir.join(KEY_FILE).is_dir());
    }

    #[cfg(unix)]
    #[test]
    fn an_unwritable_saves_dir_is_an_unwritable_error() {
        let dir = Scratch::new("key-ro");
        let saves = dir.join("saves");
        fs::create_dir(&saves).expect("mkdir");
        chmod(&saves, 0o500);
        if File::create(saves.join("probe")).is_ok() {
            // root ignores the mode: nothing to test as root.
            println!("skipped: this user can write into a 0500 directory (root)");
            chmod(&saves, 0o700);
            return;
        }
        let err = load_or_create_with(&saves, || Ok(alice())).expect_err("unwritable");
        chmod(&saves, 0o700);
        assert!(matches!(err, ServerKeyError::Unwritable { .. }), "{err}");
        assert!(
            err.to_string()
                .contains(&saves.join(KEY_FILE).display().to_string()),
            "{err}"
        );
        assert!(!saves.join(KEY_FILE).exists());
    }

    /// Root can write into a 0500 directory, but nobody can create files in `/proc/self`.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_directory_nobody_can_write_is_an_unwritable_error_even_for_root() {
        let saves = Path::new("/proc/self");
        let err = load_or_create_with(saves, || Ok(alice())).expect_err("unwritable");
        assert!(matches!(err, ServerKeyError::Unwritable { .. }), "{err}");
        assert!(err.to_string().contains("/proc/self/server.key"), "{err}");
    }

    #[test]
    fn creating_never_replaces_a_file_that_appeared_meanwhile() {
        let dir = Scratch::new("key-race");
        let path = dir.join(KEY_FILE);
        let theirs = ServerKey::generate().expect("rng");
        // The generator runs after the "not found"; it plays the other process.
        let (key, origin) = load_or_create_with(dir.path(), || {
            create_new(&path, file_text(&theirs).as_bytes())?;
            Ok(alice())
        })
        .expect("load theirs");
        assert_eq!(key, theirs);
        assert_eq!(origin, KeyOrigin::Loaded(path.clone()));
        assert_eq!(load(&path).expect("load"), theirs);
    }
}
