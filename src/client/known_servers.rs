//! The client's pins of server keys, like SSH's `known_hosts`: the file `known_servers`
//! in the client's config directory (`-secret-dir`, by default `$XDG_CONFIG_HOME/venture`
//! or `~/.config/venture`), and the policy deciding whether a key a server presents is
//! trusted.
//!
//! The file is text, one pin per line: the server as the player wrote it (`-server`,
//! trimmed and lowercased, e.g. `game.example.org:8080`), whitespace, and the server's
//! public key as 64 hex digits (its fingerprint). Blank lines and lines starting with `#`
//! are kept as they are. A line that is neither is an error naming the file and the line:
//! a pin is never dropped silently, since a dropped pin would turn a refused key into a
//! trusted first use.
//!
//! ```text
//! # venture known servers: <server> <public key>
//! game.example.org:8080 8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a
//! ```
//!
//! Pins are written by rewriting the whole file atomically (temp file, fsync, rename,
//! fsync of the directory) with mode 0600, after reading it again, so another client
//! process's pin written meanwhile is kept; the directory is created with mode 0700.
//!
//! The policy ([`decide`]), given the pin, `-server-key`, `-accept-new-key` and the key
//! presented in the handshake:
//! * `-server-key` given: the presented key must be it ([`Verdict::ExplicitKeyMismatch`]
//!   otherwise, whatever `-accept-new-key` says); when it is, it is pinned, replacing a
//!   different pin (the operator's word outranks what was seen before).
//! * no pin: trust on first use, pin it, say so in one line ([`Verdict::TrustFirstUse`]).
//! * the pin matches: [`Verdict::Trusted`].
//! * the pin differs: refused ([`Verdict::Mismatch`]) unless `-accept-new-key`, which
//!   re-pins the presented key ([`Verdict::AcceptNewKey`]).

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use venture_net::secure::{fingerprint, parse_public_key, PublicKey};

/// The pin file's name inside the client's config directory.
pub const FILE_NAME: &str = "known_servers";
/// The comment line a new file starts with.
const FILE_HEADER: &str = "# venture known servers: <server> <public key>, one per line (see -server-key, -accept-new-key)";
/// Longest file read; a pin line is under 200 bytes, so this is thousands of servers.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// How a server is named in the file: the `-server` text, trimmed and lowercased (host
/// names are case-insensitive), so `Game.Example.org:8080` and `game.example.org:8080`
/// share a pin.
pub fn server_id(server: &str) -> String {
    server.trim().to_ascii_lowercase()
}

/// Why the pin file cannot be used. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum KnownServersError {
    #[error("known servers file {}: cannot read it: {source}", .path.display())]
    Unreadable { path: PathBuf, source: io::Error },
    #[error("known servers file {}, line {line}: {problem} (fix or delete that line; pins are never dropped silently)", .path.display())]
    Corrupt {
        path: PathBuf,
        line: usize,
        problem: String,
    },
    #[error("known servers file {}: cannot write it: {source}", .path.display())]
    Unwritable { path: PathBuf, source: io::Error },
    #[error("known servers file {}: {server:?} cannot be pinned (a server is written without spaces, e.g. host:port)", .path.display())]
    BadServer { path: PathBuf, server: String },
}

/// One line of the file, kept so a rewrite preserves comments and order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Line {
    Pin {
        server: String,
        key: PublicKey,
    },
    /// A comment or blank line, verbatim.
    Other(String),
}

/// The pins of one file, as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownServers {
    path: PathBuf,
    lines: Vec<Line>,
}

impl KnownServers {
    /// The pins in `dir/known_servers`; none when the file does not exist yet.
    pub fn in_dir(dir: &Path) -> Result<KnownServers, KnownServersError> {
        KnownServers::load(&dir.join(FILE_NAME))
    }

    /// The pins in the file at `path`; none when it does not exist yet.
    pub fn load(path: &Path) -> Result<KnownServers, KnownServersError> {
        let unreadable = |source| KnownServersError::Unreadable {
            path: path.to_path_buf(),
            source,
        };
        let text = match File::open(path) {
            Ok(f) => {
                let mut bytes = Vec::new();
                io::Read::read_to_end(&mut io::Read::take(f, MAX_FILE_BYTES + 1), &mut bytes)
                    .map_err(unreadable)?;
                if bytes.len() as u64 > MAX_FILE_BYTES {
                    return Err(unreadable(io::Error::other(format!(
                        "larger than {MAX_FILE_BYTES} bytes"
                    ))));
                }
                String::from_utf8(bytes).map_err(|e| {
                    let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                    let line = 1 + good.iter().filter(|&&b| b == b'\n').count();
                    corrupt(path, line, "not UTF-8 text".to_string())
                })?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(unreadable(e)),
        };
        Ok(KnownServers {
            path: path.to_path_buf(),
            lines: parse(path, &text)?,
        })
    }

    /// The file these pins are kept in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The key pinned for `server` (see [`server_id`]).
    pub fn get(&self, server: &str) -> Option<PublicKey> {
        let id = server_id(server);
        self.lines.iter().find_map(|l| match l {
            Line::Pin { server, key } if *server == id => Some(*key),
            _ => None,
        })
    }

    /// Every pin, in file order.
    pub fn pins(&self) -> impl Iterator<Item = (&str, &PublicKey)> {
        self.lines.iter().filter_map(|l| match l {
            Line::Pin { server, key } => Some((server.as_str(), key)),
            _ => None,
        })
    }

    /// Pins `key` for `server`, adding a line or replacing the server's existing pin, and
    /// writes the file. The file is read again first, so pins another process wrote since
    /// [`load`](Self::load) are kept (and a file damaged meanwhile is an error, not
    /// overwritten).
    pub fn pin(&mut self, server: &str, key: &PublicKey) -> Result<(), KnownServersError> {
        let id = server_id(server);
        if id.is_empty() || id.starts_with('#') || id.contains(char::is_whitespace) {
            return Err(KnownServersError::BadServer {
                path: self.path.clone(),
                server: server.to_string(),
            });
        }
        let mut fresh = KnownServers::load(&self.path)?;
        let pin = Line::Pin {
            server: id.clone(),
            key: *key,
        };
        match fresh
            .lines
            .iter_mut()
            .find(|l| matches!(l, Line::Pin { server, .. } if *server == id))
        {
            Some(line) => *line = pin,
            None => {
                if fresh.lines.is_empty() {
                    fresh.lines.push(Line::Other(FILE_HEADER.to_string()));
                }
                fresh.lines.push(pin);
            }
        }
        write_private_atomically(&fresh.path, fresh.to_text().as_bytes()).map_err(|source| {
            KnownServersError::Unwritable {
                path: fresh.path.clone(),
                source,
            }
        })?;
        *self = fresh;
        Ok(())
    }

    fn to_text(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            match line {
                Line::Pin { server, key } => {
                    out.push_str(&format!("{server} {}\n", fingerprint(key)))
                }
                Line::Other(text) => {
                    out.push_str(text);
                    out.push('\n');
                }
            }
        }
        out
    }
}

fn corrupt(path: &Path, line: usize, problem: String) -> KnownServersError {
    KnownServersError::Corrupt {
        path: path.to_path_buf(),
        line,
        problem,
    }
}

fn parse(path: &Path, text: &str) -> Result<Vec<Line>, KnownServersError> {
    let mut lines = Vec::new();
    let mut seen: Vec<(String, usize)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            lines.push(Line::Other(raw.to_string()));
            continue;
        }
        let mut fields = trimmed.split_whitespace();
        let (Some(server), Some(key), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err(corrupt(
                path,
                n,
                "expected `<server> <64 hex digit key>`".to_string(),
            ));
        };
        let key = parse_public_key(key).map_err(|e| corrupt(path, n, format!("the key: {e}")))?;
        let server = server_id(server);
        if let Some((_, first)) = seen.iter().find(|(s, _)| *s == server) {
            return Err(corrupt(
                path,
                n,
                format!("a second pin for {server} (the first is on line {first})"),
            ));
        }
        seen.push((server.clone(), n));
        lines.push(Line::Pin { server, key });
    }
    Ok(lines)
}

/// Temp file (mode 0600), fsync, rename over `path`, fsync of the directory; the
/// directory is created with mode 0700 when missing.
fn write_private_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    crate::atomic_file::write(path, bytes)
}

/// What the client knows when a server presents its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyPolicy {
    /// The pin in `known_servers`, if any.
    pub pinned: Option<PublicKey>,
    /// `-server-key`, if given.
    pub explicit: Option<PublicKey>,
    /// `-accept-new-key` was given.
    pub accept_new_key: bool,
}

/// Whether to go on with a server that presented a key, and what to pin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing pinned and no `-server-key`: trusted on first use; pin it and say so.
    TrustFirstUse,
    /// The presented key is the pinned one, or the `-server-key`; `pin` when the pin must
    /// be written (the `-server-key` was not pinned yet, or replaces another pin).
    Trusted { pin: bool },
    /// The pin differs and `-accept-new-key` was given: re-pin the presented key.
    AcceptNewKey { previous: PublicKey },
    /// The pin differs: refuse.
    Mismatch {
        expected: PublicKey,
        presented: PublicKey,
    },
    /// The key is not the `-server-key`: refuse.
    ExplicitKeyMismatch {
        expected: PublicKey,
        presented: PublicKey,
    },
}

/// The trust policy (see the module doc).
pub fn decide(policy: &KeyPolicy, presented: &PublicKey) -> Verdict {
    if let Some(expected) = policy.explicit {
        return if expected == *presented {
            Verdict::Trusted {
                pin: policy.pinned != Some(expected),
            }
        } else {
            Verdict::ExplicitKeyMismatch {
                expected,
                presented: *presented,
            }
        };
    }
    match policy.pinned {
        None => Verdict::TrustFirstUse,
        Some(pinned) if pinned == *presented => Verdict::Trusted { pin: false },
        Some(previous) if policy.accept_new_key => Verdict::AcceptNewKey { previous },
        Some(expected) => Verdict::Mismatch {
            expected,
            presented: *presented,
        },
    }
}

impl Verdict {
    /// Whether the presented key is to be pinned.
    pub fn pins(&self) -> bool {
        matches!(
            self,
            Verdict::TrustFirstUse | Verdict::Trusted { pin: true } | Verdict::AcceptNewKey { .. }
        )
    }

    /// Whether the connection may go on.
    pub fn accepted(&self) -> bool {
        !matches!(
            self,
            Verdict::Mismatch { .. } | Verdict::ExplicitKeyMismatch { .. }
        )
    }
}

/// A refused server key: the message says what happened and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRefused {
    #[error("the server {server} presented the key {}, but the key pinned for it in {} is {}. Either the server's key changed (its saves directory was replaced, or its server.key lost or regenerated) or someone between you and the server is intercepting the connection. Ask the server's operator for the fingerprint (the server's start log line and /status show it); if the change is expected, connect once with -accept-new-key to pin the new key", fingerprint(.presented), .file.display(), fingerprint(.expected))]
    Changed {
        server: String,
        file: PathBuf,
        expected: PublicKey,
        presented: PublicKey,
    },
    #[error("the server {server} presented the key {}, not the one given with -server-key ({}). Either the key given is wrong or someone between you and the server is intercepting the connection; -accept-new-key does not override -server-key", fingerprint(.presented), fingerprint(.expected))]
    NotExplicit {
        server: String,
        expected: PublicKey,
        presented: PublicKey,
    },
}

/// Why [`check_server_key`] stops the connection.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Refused(#[from] KeyRefused),
    #[error(transparent)]
    Store(#[from] KnownServersError),
}

/// The whole client-side check, for the connection code: decides on `presented` for
/// `server` with the pins in `store`, `-server-key` and `-accept-new-key`, writes the pin
/// when the verdict says so, and returns the one line to show the player (`None` when the
/// key was already pinned: nothing to say).
pub fn check_server_key(
    store: &mut KnownServers,
    server: &str,
    explicit: Option<PublicKey>,
    accept_new_key: bool,
    presented: &PublicKey,
) -> Result<Option<String>, CheckError> {
    let policy = KeyPolicy {
        pinned: store.get(server),
        explicit,
        accept_new_key,
    };
    let verdict = decide(&policy, presented);
    let id = server_id(server);
    let note = match verdict {
        Verdict::Mismatch {
            expected,
            presented,
        } => {
            return Err(KeyRefused::Changed {
                server: id,
                file: store.path().to_path_buf(),
                expected,
                presented,
            }
            .into())
        }
        Verdict::ExplicitKeyMismatch {
            expected,
            presented,
        } => {
            return Err(KeyRefused::NotExplicit {
                server: id,
                expected,
                presented,
            }
            .into())
        }
        Verdict::Trusted { pin: false } => None,
        Verdict::TrustFirstUse => Some(format!(
            "first connection to {id}: trusting its key {} and pinning it in {}",
            fingerprint(presented),
            store.path().display()
        )),
        Verdict::Trusted { pin: true } => Some(format!(
            "the key of {id} is the one given with -server-key; pinned it in {}",
            store.path().display()
        )),
        Verdict::AcceptNewKey { previous } => Some(format!(
            "-accept-new-key: the key of {id} changed from {} to {}; pinned the new key in {}",
            fingerprint(&previous),
            fingerprint(presented),
            store.path().display()
        )),
    };
    if verdict.pins() {
        store.pin(server, presented)?;
    }
    Ok(note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use venture_testkit::Scratch;

    const A: PublicKey = [0xaa; 32];
    const B: PublicKey = [0xbb; 32];
    const C: PublicKey = [0xcc; 32];

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).expect("stat").permissions().mode() & 0o7777
    }

    fn policy(pinned: Option<PublicKey>, explicit: Option<PublicKey>, accept: bool) -> KeyPolicy {
        KeyPolicy {
            pinned,
            explicit,
            accept_new_key: accept,
        }
    }

    #[test]
    fn the_policy_table() {
        use Verdict::*;
        let cases = [
            // pinned, -server-key, -accept-new-key, presented => verdict
            (None, None, false, A, TrustFirstUse),
            (None, None, true, A, TrustFirstUse),
            (Some(A), None, false, A, Trusted { pin: false }),
            (Some(A), None, true, A, Trusted { pin: false }),
            (
                Some(A),
                None,
                false,
                B,
                Mismatch {
                    expected: A,
                    presented: B,
                },
            ),
            (Some(A), None, true, B, AcceptNewKey { previous: A }),
            (None, Some(A), false, A, Trusted { pin: true }),
            (Some(A), Some(A), false, A, Trusted { pin: false }),
            (Some(B), Some(A), false, A, Trusted { pin: true }),
            (
                None,
                Some(A),
                false,
                B,
                ExplicitKeyMismatch {
                    expected: A,
                    presented: B,
                },
            ),
            (
                None,
                Some(A),
                true,
                B,
                ExplicitKeyMismatch {
                    expected: A,
                    presented: B,
                },
            ),
            (
                Some(B),
                Some(A),
                true,
                B,
                ExplicitKeyMismatch {
                    expected: A,
                    presented: B,
                },
            ),
            (
                Some(C),
                Some(A),
                false,
                B,
                ExplicitKeyMismatch {
                    expected: A,
                    presented: B,
                },
            ),
        ];
        for (pinned, explicit, accept, presented, want) in cases {
            let p = policy(pinned, explicit, accept);
            let got = decide(&p, &presented);
            assert_eq!(got, want, "{p:?} presented {:x}", presented[0]);
            assert_eq!(
                got.accepted(),
                !matches!(want, Mismatch { .. } | ExplicitKeyMismatch { .. })
            );
        }
        assert!(TrustFirstUse.pins() && AcceptNewKey { previous: A }.pins());
        assert!(Trusted { pin: true }.pins() && !Trusted { pin: false }.pins());
        assert!(!Mismatch {
            expected: A,
            presented: B
        }
        .pins());
    }

    #[test]
    fn a_missing_file_has_no_pins_and_the_first_pin_creates_it_private() {
        let dir = Scratch::new("known-new");
        let config = dir.join("config").join("venture");
        let mut store = KnownServers::in_dir(&config).expect("missing is empty");
        assert_eq!(store.get("localhost:8080"), None);
        assert!(!config.exists(), "loading must not create anything");
        store.pin("LocalHost:8080", &A).expect("pin");
        let path = config.join(FILE_NAME);
        assert_eq!(store.path(), path);
        #[cfg(unix)]
        {
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(&config), 0o700);
        }
        let text = fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            format!("{FILE_HEADER}\nlocalhost:8080 {}\n", fingerprint(&A))
        );
        let again = KnownServers::in_dir(&config).expect("load");
        assert_eq!(again.get("localhost:8080"), Some(A));
        assert_eq!(again.get(" LOCALHOST:8080 "), Some(A));
        assert_eq!(again.get("localhost:8081"), None);
        let names: Vec<_> = fs::read_dir(&config)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, [FILE_NAME], "no temp file left");
    }

    #[test]
    fn replacing_a_pin_keeps_comments_order_and_other_pins() {
        let dir = Scratch::new("known-replace");
        let path = dir.join(FILE_NAME);
        let original = format!(
            "# mine\n\nalpha:1 {}\n  # indented note\nbeta:2 {}\n",
            fingerprint(&A),
            fingerprint(&B)
        );
        fs::write(&path, &original).expect("write");
        let mut store = KnownServers::load(&path).expect("load");
        let pins: Vec<_> = store.pins().map(|(s, k)| (s.to_string(), *k)).collect();
        assert_eq!(
            pins,
            [("alpha:1".to_string(), A), ("beta:2".to_string(), B)]
        );
        store.pin("alpha:1", &C).expect("replace");
        store.pin("gamma:3", &A).expect("add");
        let text = fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            format!(
                "# mine\n\nalpha:1 {}\n  # indented note\nbeta:2 {}\ngamma:3 {}\n",
                fingerprint(&C),
                fingerprint(&B),
                fingerprint(&A)
            )
        );
    }

    #[test]
    fn a_pin_written_by_another_process_meanwhile_is_kept() {
        let dir = Scratch::new("known-race");
        let mut mine = KnownServers::in_dir(dir.path()).expect("load");
        let mut theirs = KnownServers::in_dir(dir.path()).expect("load");
        theirs.pin("theirs:1", &A).expect("pin");
        mine.pin("mine:2", &B).expect("pin");
        let after = KnownServers::in_dir(dir.path()).expect("load");
        assert_eq!(after.get("theirs:1"), Some(A));
        assert_eq!(after.get("mine:2"), Some(B));
    }

    #[test]
    fn corrupt_lines_are_errors_naming_file_and_line() {
        let good = format!("ok:1 {}", fingerprint(&A));
        let cases = [
            (
                format!("{good}\nbroken\n"),
                2,
                "expected `<server> <64 hex digit key>`",
            ),
            (
                format!("{good}\nx:2 {} extra\n", fingerprint(&B)),
                2,
                "expected",
            ),
            (
                format!("# c\nx:2 {}\n", &fingerprint(&B)[..63]),
                2,
                "the key: a key is 64 hex digits (32 bytes), this has 63",
            ),
            (
                format!("x:2 {}q\n", &fingerprint(&B)[..63]),
                1,
                "'q' is not a hex digit",
            ),
            (
                format!("{good}\n\nOK:1 {}\n", fingerprint(&B)),
                3,
                "a second pin for ok:1 (the first is on line 1)",
            ),
        ];
        for (text, line, expected) in cases {
            let dir = Scratch::new("known-corrupt");
            let path = dir.join(FILE_NAME);
            fs::write(&path, &text).expect("write");
            let err = KnownServers::load(&path).expect_err(&text);
            let msg = err.to_string();
            assert!(
                matches!(&err, KnownServersError::Corrupt { line: l, .. } if *l == line),
                "{text:?}: {msg}"
            );
            assert!(
                msg.contains(&format!("{}, line {line}:", path.display())),
                "{msg}"
            );
            assert!(msg.contains(expected), "{text:?}: {msg}");
        }
        let good = format!("ok:1 {}", fingerprint(&A));
        let dir = Scratch::new("known-binary");
        let path = dir.join(FILE_NAME);
        let mut bytes = format!("{good}\n# fine\n").into_bytes();
        bytes.extend([b'x', 0xff, b'\n']);
        fs::write(&path, bytes).expect("write");
        let err = KnownServers::load(&path).expect_err("binary");
        assert!(
            matches!(err, KnownServersError::Corrupt { line: 3, .. }),
            "{err}"
        );
    }

    #[test]
    fn pinning_into_a_file_damaged_since_loading_fails_and_leaves_it() {
        let dir = Scratch::new("known-damaged");
        let mut store = KnownServers::in_dir(dir.path()).expect("load");
        let path = dir.join(FILE_NAME);
        fs::write(&path, "garbage line\n").expect("write");
        let err = store.pin("x:1", &A).expect_err("damaged");
        assert!(
            matches!(err, KnownServersError::Corrupt { line: 1, .. }),
            "{err}"
        );
        assert_eq!(fs::read_to_string(&path).expect("read"), "garbage line\n");
    }

    #[test]
    fn servers_with_spaces_cannot_be_pinned() {
        let dir = Scratch::new("known-badserver");
        let mut store = KnownServers::in_dir(dir.path()).expect("load");
        for bad in ["", "  ", "a b:1", "#x:1"] {
            let err = store.pin(bad, &A).expect_err(bad);
            assert!(
                matches!(err, KnownServersError::BadServer { .. }),
                "{bad:?}: {err}"
            );
        }
        assert!(!dir.join(FILE_NAME).exists());
    }

    #[test]
    fn an_unreadable_or_unwritable_file_names_the_path() {
        let dir = Scratch::new("known-unreadable");
        // A directory where the file should be: neither readable as a file nor replaceable.
        fs::create_dir(dir.join(FILE_NAME)).expect("mkdir");
        let err = KnownServers::in_dir(dir.path()).expect_err("a directory");
        assert!(
            err.to_string()
                .contains(&dir.join(FILE_NAME).display().to_string()),
            "{err}"
        );
        // A file where the directory should be: the pin cannot be written.
        let blocked = dir.join("not-a-dir");
        fs::write(&blocked, "x").expect("write");
        let mut store = KnownServers {
            path: blocked.join("sub").join(FILE_NAME),
            lines: Vec::new(),
        };
        let err = store.pin("x:1", &A).expect_err("blocked");
        assert!(
            matches!(
                err,
                KnownServersError::Unreadable { .. } | KnownServersError::Unwritable { .. }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("not-a-dir"), "{err}");
    }

    #[test]
    fn check_server_key_pins_says_so_and_refuses_a_changed_key() {
        let dir = Scratch::new("known-check");
        let mut store = KnownServers::in_dir(dir.path()).expect("load");
        let server = "game.example.org:8080";

        let note = check_server_key(&mut store, server, None, false, &A).expect("first use");
        let note = note.expect("first use is announced");
        assert!(
            note.contains("first connection to game.example.org:8080"),
            "{note}"
        );
        assert!(note.contains(&fingerprint(&A)), "{note}");
        assert_eq!(
            KnownServers::in_dir(dir.path()).expect("load").get(server),
            Some(A)
        );

        assert_eq!(
            check_server_key(&mut store, server, None, false, &A).expect("trusted"),
            None
        );

        let err = check_server_key(&mut store, server, None, false, &B).expect_err("changed");
        let msg = err.to_string();
        for part in [
            fingerprint(&A),
            fingerprint(&B),
            "someone between you and the server".to_string(),
            "saves directory was replaced".to_string(),
            "-accept-new-key".to_string(),
            store.path().display().to_string(),
        ] {
            assert!(msg.contains(&part), "{part:?} missing from: {msg}");
        }
        assert_eq!(store.get(server), Some(A), "a refused key is not pinned");

        let note = check_server_key(&mut store, server, None, true, &B)
            .expect("accepted")
            .expect("announced");
        assert!(note.contains("-accept-new-key"), "{note}");
        assert_eq!(
            KnownServers::in_dir(dir.path()).expect("load").get(server),
            Some(B)
        );

        let err = check_server_key(&mut store, server, Some(C), true, &B).expect_err("explicit");
        let msg = err.to_string();
        assert!(
            msg.contains("-server-key") && msg.contains(&fingerprint(&C)),
            "{msg}"
        );
        assert_eq!(store.get(server), Some(B));

        let note = check_server_key(&mut store, server, Some(C), false, &C)
            .expect("explicit matches")
            .expect("announced");
        assert!(note.contains("-server-key"), "{note}");
        assert_eq!(
            KnownServers::in_dir(dir.path()).expect("load").get(server),
            Some(C)
        );
    }

    /// `-server-key` and `-accept-new-key` reach the client's parsed flags, typed.
    #[test]
    fn the_client_flags_parse_into_keys() {
        use crate::client::{ClientArgs, SPEC};
        use crate::flags::Parsed;
        let parse = |args: &[&str]| SPEC.parse::<ClientArgs>(args.iter().map(|s| s.to_string()));
        let Ok(Parsed::Run(none)) = parse(&[]) else {
            panic!("defaults parse")
        };
        assert_eq!((none.server_key, none.accept_new_key), (None, false));
        let hex = fingerprint(&A);
        for form in [
            vec!["-server-key".to_string(), hex.clone()],
            vec![format!("--server-key=venture-key:{}", hex.to_uppercase())],
        ] {
            let mut args: Vec<&str> = form.iter().map(String::as_str).collect();
            args.push("--accept-new-key");
            let Ok(Parsed::Run(got)) = parse(&args) else {
                panic!("{args:?}")
            };
            assert_eq!(got.server_key.map(|k| k.0), Some(A), "{args:?}");
            assert!(got.accept_new_key);
        }
        let err = parse(&["-server-key", &hex[..10]]).expect_err("short");
        assert_eq!(
            err.to_string(),
            format!(
                "invalid value for -server-key: {} (valid: 64 hex digits, optionally after venture-key:)",
                &hex[..10]
            )
        );
        let Ok(Parsed::Help(help)) = parse(&["-help"]) else {
            panic!("help")
        };
        assert!(help.contains("-server-key HEX"), "{help}");
        assert!(help.contains("-accept-new-key"), "{help}");
    }
}
