//! The player's name for interactive play: `--name`, else the one remembered in the
//! config directory (beside the character secrets, file `name`), else asked once on the
//! plain terminal before the game screen starts, and remembered.

use std::fs;
use std::io::{self, BufRead, Write};
use std::path::Path;

use venture_sim::valid_name;

const NAME_FILE: &str = "name";

/// The remembered name, if one is stored and still valid.
pub fn remembered(dir: Option<&Path>) -> Option<String> {
    let text = fs::read_to_string(dir?.join(NAME_FILE)).ok()?;
    let name = text.trim().to_string();
    valid_name(&name).then_some(name)
}

/// Stores `name` for the next run (best effort: a read-only home only means asking again).
pub fn remember(dir: Option<&Path>, name: &str) {
    let Some(dir) = dir else { return };
    let written = fs::create_dir_all(dir).and_then(|_| {
        crate::client::write_private(&dir.join(NAME_FILE), format!("{name}\n").as_bytes())
    });
    if let Err(e) = written {
        log::warn!(target: "venture::client", "cannot remember the name in {}: {e}", dir.display());
    }
}

/// Asks for a name on the terminal until a valid one is typed. None at end of input.
pub fn ask(input: &mut dyn BufRead, output: &mut dyn Write) -> io::Result<Option<String>> {
    loop {
        write!(
            output,
            "Your name (1 to 16 letters, digits, '_', '-' or spaces): "
        )?;
        output.flush()?;
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let name = line.trim();
        if valid_name(name) {
            return Ok(Some(name.to_string()));
        }
        writeln!(output, "{:?} is not a valid name.", name)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_until_valid_and_remembers() {
        let mut input = io::Cursor::new(b"\n  \nbad\x1bname\nAda Lovelace\n".to_vec());
        let mut out = Vec::new();
        assert_eq!(
            ask(&mut input, &mut out).unwrap().as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(ask(&mut input, &mut out).unwrap(), None);
        let dir = std::env::temp_dir().join(format!("venture-name-{}", std::process::id()));
        assert_eq!(remembered(Some(&dir)), None);
        remember(Some(&dir), "Ada Lovelace");
        assert_eq!(remembered(Some(&dir)).as_deref(), Some("Ada Lovelace"));
        let _ = fs::remove_dir_all(&dir);
    }
}
