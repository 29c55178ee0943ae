//! Saved characters: `saves/players/NAME.json`, one per player name, holding the player's
//! progress, inventory and equipment and the digest of the secret that owns it.
//!
//! At start every file is loaded into the session as a claim (and so reaches its
//! followers, see `venture_net::server::followers`): the same name with the same
//! secret gets its character back (restored through frame commands), another secret is
//! refused. Files are written atomically with mode 0600 when a player leaves, on autosave
//! and at shutdown. An unreadable file is reported with its path and moved aside.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use venture_net::secure::{hex, parse_hex};
use venture_net::server::ServerSession;
use venture_sim::character::Character;

use super::persist::{atomic_write, move_aside};

/// Most character files read at start (a bound on startup work and memory).
const MAX_FILES: usize = 10_000;
/// Largest character file read (a full inventory is a few KB).
const MAX_FILE_BYTES: u64 = 256 * 1024;

#[derive(Serialize, Deserialize)]
struct CharacterFile {
    name: String,
    /// Hex of `venture_net::server::secret_digest(secret)`.
    secret_digest: String,
    character: Character,
}

/// The character files of one server.
pub struct Characters {
    dir: PathBuf,
}

impl Characters {
    pub fn new(saves: &Path) -> Self {
        Characters {
            dir: saves.join("players"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        // valid_name allows only letters, digits, '_', '-' and inner spaces: no separators.
        self.dir.join(format!("{name}.json"))
    }

    /// Loads every character file into the session's claims. Returns how many loaded and
    /// warnings for files that were moved aside.
    pub fn load_into(&self, session: &mut ServerSession) -> (usize, Vec<String>) {
        let mut warnings = Vec::new();
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return (0, warnings);
        };
        let mut loaded = 0;
        for entry in entries.flatten().take(MAX_FILES) {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            match read_file(&path) {
                Ok(file) => {
                    let digest = parse_hex(&file.secret_digest).unwrap_or([0; 16]);
                    session.set_character(&file.name, &file.character, digest);
                    loaded += 1;
                }
                Err(e) => {
                    let moved = move_aside(&path, "corrupt")
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|m| format!("not moved: {m}"));
                    warnings.push(format!(
                        "character save {} is unreadable ({e}); moved to {moved}",
                        path.display()
                    ));
                }
            }
        }
        (loaded, warnings)
    }

    /// Updates the session's claim (so a reconnect later in this run restores this
    /// character even if the disk refuses the write, and its followers learn it), then
    /// writes `name`'s character. Returns the path written.
    pub fn save(
        &self,
        session: &mut ServerSession,
        name: &str,
        character: &Character,
        digest: [u8; 16],
    ) -> Result<PathBuf, String> {
        session.set_character(name, character, digest);
        self.write(name, character, digest)
    }

    /// Writes `name`'s character file (a standby writes what its primary sends).
    pub fn write(
        &self,
        name: &str,
        character: &Character,
        digest: [u8; 16],
    ) -> Result<PathBuf, String> {
        let file = CharacterFile {
            name: name.to_string(),
            secret_digest: hex(&digest),
            character: character.clone(),
        };
        let path = self.path(name);
        let bytes = serde_json::to_vec_pretty(&file).map_err(|e| e.to_string())?;
        atomic_write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }
}

fn read_file(path: &Path) -> Result<CharacterFile, String> {
    let len = fs::metadata(path).map_err(|e| e.to_string())?.len();
    if len > MAX_FILE_BYTES {
        return Err(format!("{len} bytes, over the {MAX_FILE_BYTES}-byte limit"));
    }
    let bytes = fs::read(path).map_err(|e| e.to_string())?;
    let file: CharacterFile = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    if !venture_sim::valid_name(&file.name) {
        return Err("invalid player name".into());
    }
    if parse_hex::<16>(&file.secret_digest).is_err() {
        return Err("invalid secret digest".into());
    }
    file.character.validate()?;
    Ok(file)
}
