//! One table per command line. Every binary describes its flags once, as rows of
//! [`flag_table!`] (name, kind, default, validation, help), and everything else is derived
//! from those rows: the parser, the defaults, the typed struct the binary reads, the
//! one-line errors and the `-help` text. (ripgrep's flag table is the model; argh is gone
//! because it could not accept the deployment guide's Go-style `-flag v` without a
//! rewriting pass over argv and string patches over its messages.)
//!
//! Accepted forms, for every binary alike: `-flag v`, `-flag=v`, `--flag v`, `--flag=v`;
//! switches are `-flag`, `-flag=true`, `-flag=false` (Go's boolean spellings). The token
//! after a value flag is its value verbatim, so `-seed -5` works. `-h`, `-help`, `--help`
//! and a leading bare `help` ask for help; `--` ends the flags. A value is validated against
//! its row and parsed into the row's type; a bad one is reported as
//! `invalid value for -tick-rate: 0 (valid: 1 to 60)`, and the binary exits 2.

use std::str::FromStr;
use thiserror::Error;

/// What a row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A boolean, false unless given.
    Switch,
    /// Takes one value; `meta` names it in the help (`-port PORT`).
    Value { meta: &'static str },
    /// A required positional argument, in row order.
    Positional { meta: &'static str },
}

/// How a value is checked before it is parsed into the row's type.
#[derive(Clone, Copy, Debug)]
pub enum Valid {
    /// Whatever the row's type parses.
    Any,
    /// An integer (after trimming) from `lo` to `hi` inclusive.
    Range(i128, i128),
    /// Not empty or blank and without NUL bytes (paths); the text says what is expected.
    NonEmpty(&'static str),
    /// Whatever the row's type parses, described by this text.
    Parses(fn() -> String),
    /// Accepted when the function says so, described by the text.
    Check(fn(&str) -> bool, &'static str),
}

impl Valid {
    /// What is accepted, as shown after `valid:` in errors and help; `None` for [`Valid::Any`].
    pub fn describe(&self) -> Option<String> {
        match self {
            Valid::Any => None,
            Valid::Range(lo, hi) => Some(format!("{lo} to {hi}")),
            Valid::NonEmpty(text) | Valid::Check(_, text) => Some((*text).to_owned()),
            Valid::Parses(text) => Some(text()),
        }
    }

    fn accepts(&self, raw: &str) -> bool {
        match self {
            Valid::Any | Valid::Parses(_) => true,
            Valid::Range(lo, hi) => raw
                .trim()
                .parse::<i128>()
                .is_ok_and(|v| (*lo..=*hi).contains(&v)),
            Valid::NonEmpty(_) => !raw.trim().is_empty() && !raw.contains('\0'),
            Valid::Check(ok, _) => ok(raw),
        }
    }

    /// Paths keep their spaces; everything else is parsed trimmed (`-port " 8081 "`).
    fn trims(&self) -> bool {
        !matches!(self, Valid::NonEmpty(_) | Valid::Any)
    }
}

/// One row of a flag table.
#[derive(Clone, Copy, Debug)]
pub struct Flag {
    /// Long name without dashes (`tick-rate`); for positionals, the `meta`.
    pub name: &'static str,
    pub kind: Kind,
    /// The value used when the flag is absent; `None` for switches, positionals and
    /// flags whose absence means something (the help says what).
    pub default: Option<&'static str>,
    pub valid: Valid,
    pub help: &'static str,
}

/// A usage error. Its `Display` is one line naming the flag the way operators write it and
/// saying what is valid. Binaries print it to stderr and exit [`CliError::EXIT_CODE`].
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CliError {
    /// A flag's value failed validation.
    #[error("invalid value for -{flag}: {} (valid: {valid})", show_value(.value))]
    InvalidValue {
        /// Flag name without dashes, e.g. `tick-rate`.
        flag: &'static str,
        /// The value as given.
        value: String,
        /// What would have been accepted.
        valid: String,
    },
    /// The command line's shape is wrong (unknown flag, missing value, stray argument).
    #[error("{message} (run with -help for usage)")]
    Usage { message: String },
}

impl CliError {
    /// Process exit status for usage errors.
    pub const EXIT_CODE: i32 = 2;

    fn usage(message: impl Into<String>) -> CliError {
        CliError::Usage {
            message: message.into(),
        }
    }
}

fn show_value(v: &str) -> String {
    if v.is_empty()
        || v.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"')
    {
        format!("{v:?}")
    } else {
        v.to_owned()
    }
}

/// Go's boolean spellings (`strconv.ParseBool`).
fn parse_go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// `(name, inline value)` when the token is a flag: one or two dashes then an ASCII
/// letter. `-5`, `-`, `--` and plain words are not flags.
fn split_flag(tok: &str) -> Option<(&str, Option<&str>)> {
    let body = tok
        .strip_prefix("--")
        .or_else(|| tok.strip_prefix('-'))
        .filter(|b| b.starts_with(|c: char| c.is_ascii_alphabetic()))?;
    Some(match body.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (body, None),
    })
}

/// What a command line gave, row by row, before typing.
#[derive(Debug)]
pub struct Matches {
    flags: &'static [Flag],
    /// Per row: the value given (`"true"` for a given switch).
    given: Vec<Option<String>>,
}

impl Matches {
    fn row(&self, name: &str) -> Result<(usize, &'static Flag), CliError> {
        self.flags
            .iter()
            .enumerate()
            .find(|(_, f)| f.name == name)
            .ok_or_else(|| CliError::usage(format!("no flag -{name} in the table")))
    }

    /// Whether the switch was given (and not as `=false`).
    pub fn switch(&self, name: &str) -> Result<bool, CliError> {
        let (i, _) = self.row(name)?;
        Ok(self.given[i].is_some())
    }

    /// The flag's value, given or default, validated and parsed.
    pub fn value<T: FromStr>(&self, name: &str) -> Result<T, CliError> {
        let (i, flag) = self.row(name)?;
        match self.given[i].as_deref().or(flag.default) {
            Some(raw) => parse(flag, raw),
            None => Err(CliError::usage(format!("missing {}", display_name(flag)))),
        }
    }

    /// The flag's value when given (or defaulted), validated and parsed.
    pub fn optional<T: FromStr>(&self, name: &str) -> Result<Option<T>, CliError> {
        let (i, flag) = self.row(name)?;
        self.given[i]
            .as_deref()
            .or(flag.default)
            .map(|raw| parse(flag, raw))
            .transpose()
    }
}

fn display_name(flag: &Flag) -> String {
    match flag.kind {
        Kind::Positional { meta } => meta.to_owned(),
        _ => format!("-{}", flag.name),
    }
}

fn parse<T: FromStr>(flag: &'static Flag, raw: &str) -> Result<T, CliError> {
    let invalid = || CliError::InvalidValue {
        flag: flag.name,
        value: raw.to_owned(),
        valid: flag
            .valid
            .describe()
            .unwrap_or_else(|| "see -help".to_owned()),
    };
    if !flag.valid.accepts(raw) {
        return Err(invalid());
    }
    let text = if flag.valid.trims() { raw.trim() } else { raw };
    text.parse::<T>().map_err(|_| invalid())
}

/// A struct made from a flag table by [`flag_table!`].
pub trait FlagTable: Sized {
    /// The rows, in help order.
    const FLAGS: &'static [Flag];
    /// The typed values (every value validated and parsed).
    fn from_matches(m: &Matches) -> Result<Self, CliError>;
}

/// A whole command line: its name, what it is for, its rows.
pub struct Spec {
    /// `venture-server`, or `venture-replay verify` for a subcommand.
    pub program: &'static str,
    /// First paragraph of the help.
    pub about: &'static str,
    /// Last paragraph of the help (environment, exit codes); may be empty.
    pub note: &'static str,
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed<T> {
    Run(T),
    /// Print this to stdout and exit 0.
    Help(String),
}

impl Spec {
    /// Parses `args` (without the program name) into `T`.
    pub fn parse<T: FlagTable>(
        &self,
        args: impl IntoIterator<Item = String>,
    ) -> Result<Parsed<T>, CliError> {
        match matches(T::FLAGS, args)? {
            None => Ok(Parsed::Help(self.help(T::FLAGS))),
            Some(m) => T::from_matches(&m).map(Parsed::Run),
        }
    }

    /// The `-help` text, every line derived from the rows.
    pub fn help(&self, flags: &[Flag]) -> String {
        let mut usage = format!("Usage: {}", self.program);
        for f in flags {
            if let Kind::Positional { meta } = f.kind {
                usage.push(' ');
                usage.push_str(meta);
            }
        }
        usage.push_str(" [flags]");
        let heads: Vec<(String, String)> = flags
            .iter()
            .map(|f| {
                let head = match f.kind {
                    Kind::Switch => format!("-{}", f.name),
                    Kind::Value { meta } => format!("-{} {meta}", f.name),
                    Kind::Positional { meta } => meta.to_owned(),
                };
                (head, describe(f))
            })
            .chain(std::iter::once((
                "-help".to_owned(),
                "print this help and exit".to_owned(),
            )))
            .collect();
        let width = heads.iter().map(|(h, _)| h.len()).max().unwrap_or(0);
        let mut out = format!("{usage}\n\n{}\n\nFlags:\n", self.about);
        for (head, text) in heads {
            out.push_str(&format!("  {head:<width$}  {text}\n"));
        }
        out.push_str(
            "\nFlags may be written -flag v, -flag=v, --flag v or --flag=v; switches as -flag or -flag=false.\n",
        );
        if !self.note.is_empty() {
            out.push_str(self.note);
            out.push('\n');
        }
        out
    }
}

/// A row's help line: its text, then the default and what is valid, from the row.
fn describe(f: &Flag) -> String {
    let mut extra = Vec::new();
    if let Some(d) = f.default {
        extra.push(format!("default {}", show_value(d)));
    }
    if let (Kind::Value { .. }, Some(v)) = (f.kind, f.valid.describe()) {
        extra.push(format!("valid: {v}"));
    }
    if extra.is_empty() {
        f.help.to_owned()
    } else {
        format!("{} ({})", f.help, extra.join("; "))
    }
}

/// Sorts `args` onto the rows. `None` means help was asked for.
pub fn matches(
    flags: &'static [Flag],
    args: impl IntoIterator<Item = String>,
) -> Result<Option<Matches>, CliError> {
    let mut given: Vec<Option<String>> = vec![None; flags.len()];
    let positionals: Vec<usize> = (0..flags.len())
        .filter(|&i| matches!(flags[i].kind, Kind::Positional { .. }))
        .collect();
    let mut next_positional = 0;
    let mut put_positional =
        |given: &mut Vec<Option<String>>, tok: String| match positionals.get(next_positional) {
            Some(&i) => {
                next_positional += 1;
                given[i] = Some(tok);
                Ok(())
            }
            None => Err(CliError::usage(format!(
                "unexpected argument {}",
                show_value(&tok)
            ))),
        };
    let mut iter = args.into_iter().enumerate();
    while let Some((at, tok)) = iter.next() {
        if tok == "--" {
            for (_, rest) in iter.by_ref() {
                put_positional(&mut given, rest)?;
            }
            break;
        }
        if (at == 0 && tok == "help") || tok == "-h" {
            return Ok(None);
        }
        let Some((name, inline)) = split_flag(&tok) else {
            put_positional(&mut given, tok)?;
            continue;
        };
        if name == "help" && inline.is_none() {
            return Ok(None);
        }
        let Some(i) = flags
            .iter()
            .position(|f| f.name == name && !matches!(f.kind, Kind::Positional { .. }))
        else {
            return Err(CliError::usage(format!("unknown flag -{name}")));
        };
        let flag = &flags[i];
        let value = match (flag.kind, inline) {
            (Kind::Switch, None) => Some("true".to_owned()),
            (Kind::Switch, Some(v)) => match parse_go_bool(v) {
                Some(true) => Some("true".to_owned()),
                Some(false) => None,
                None => {
                    return Err(CliError::InvalidValue {
                        flag: flag.name,
                        value: v.to_owned(),
                        valid: "true or false".to_owned(),
                    })
                }
            },
            (_, Some(v)) => Some(v.to_owned()),
            (_, None) => match iter.next() {
                Some((_, v)) => Some(v),
                None => return Err(CliError::usage(format!("missing value for -{name}"))),
            },
        };
        if matches!(flag.kind, Kind::Value { .. }) && given[i].is_some() {
            return Err(CliError::usage(format!("-{name} given more than once")));
        }
        given[i] = value;
    }
    if let Some(&i) = positionals.get(next_positional) {
        return Err(CliError::usage(format!(
            "missing {}",
            display_name(&flags[i])
        )));
    }
    // Every given value is checked against its row now, in row order, so a bad value is
    // reported even for a flag the program reads late.
    for (flag, value) in flags.iter().zip(&given) {
        if let (Some(raw), false) = (value, matches!(flag.kind, Kind::Switch)) {
            if !flag.valid.accepts(raw) {
                return Err(CliError::InvalidValue {
                    flag: flag.name,
                    value: raw.clone(),
                    valid: flag.valid.describe().unwrap_or_default(),
                });
            }
        }
    }
    Ok(Some(Matches { flags, given }))
}

/// Declares a struct and its flag table in one place: one row per flag.
///
/// ```ignore
/// flag_table! {
///     /// What the struct is.
///     pub struct ClientArgs {
///         server: String = value("server", "HOST:PORT", "localhost:8080", Valid::Any, "server address"),
///         duration: Option<u64> = optional("duration", "SECONDS", Valid::Range(1, 86_400), "exit after"),
///         multiplayer: bool = switch("multiplayer", "accepted for compatibility"),
///         file: PathBuf = positional("FILE", "the session log"),
///     }
/// }
/// ```
/// Kinds: `switch(name, help)` (a `bool`), `value(name, META, default, valid, help)` (any
/// `FromStr` type; the default is parsed like a given value), `optional(name, META, valid,
/// help)` (an `Option<T>`, `None` when absent), `positional(META, help)` (required).
#[macro_export]
macro_rules! flag_table {
    (
        $(#[$attr:meta])*
        pub struct $name:ident {
            $( $field:ident : $ty:ty = $kind:ident ( $($arg:tt)* ) ),* $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name {
            $( pub $field: $ty, )*
        }

        impl $crate::flags::FlagTable for $name {
            const FLAGS: &'static [$crate::flags::Flag] =
                &[ $( $crate::flag_table!(@row $kind ( $($arg)* )) ),* ];

            fn from_matches(
                m: &$crate::flags::Matches,
            ) -> Result<Self, $crate::flags::CliError> {
                Ok($name {
                    $( $field: $crate::flag_table!(@get m, $kind ( $($arg)* )), )*
                })
            }
        }
    };

    (@row switch ($name:literal, $help:literal)) => {
        $crate::flags::Flag {
            name: $name,
            kind: $crate::flags::Kind::Switch,
            default: None,
            valid: $crate::flags::Valid::Any,
            help: $help,
        }
    };
    (@row value ($name:literal, $meta:literal, $default:literal, $valid:expr, $help:literal)) => {
        $crate::flags::Flag {
            name: $name,
            kind: $crate::flags::Kind::Value { meta: $meta },
            default: Some($default),
            valid: $valid,
            help: $help,
        }
    };
    (@row optional ($name:literal, $meta:literal, $valid:expr, $help:literal)) => {
        $crate::flags::Flag {
            name: $name,
            kind: $crate::flags::Kind::Value { meta: $meta },
            default: None,
            valid: $valid,
            help: $help,
        }
    };
    (@row positional ($meta:literal, $help:literal)) => {
        $crate::flags::Flag {
            name: $meta,
            kind: $crate::flags::Kind::Positional { meta: $meta },
            default: None,
            valid: $crate::flags::Valid::Any,
            help: $help,
        }
    };

    (@get $m:ident, switch ($name:literal, $($rest:tt)*)) => { $m.switch($name)? };
    (@get $m:ident, value ($name:literal, $($rest:tt)*)) => { $m.value($name)? };
    (@get $m:ident, optional ($name:literal, $($rest:tt)*)) => { $m.optional($name)? };
    (@get $m:ident, positional ($meta:literal, $($rest:tt)*)) => { $m.value($meta)? };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    crate::flag_table! {
        /// A table exercising every kind.
        pub struct Demo {
            port: u16 = value("port", "PORT", "8080", Valid::Range(1, 65535), "a port"),
            seed: Option<i64> = optional("seed", "SEED", Valid::Parses(seed_text), "a seed"),
            dir: PathBuf = value("dir", "DIR", "./d", Valid::NonEmpty("a non-empty path"), "a dir"),
            loud: bool = switch("loud", "be loud"),
            file: PathBuf = positional("FILE", "a file"),
        }
    }

    fn seed_text() -> String {
        "an integer".to_owned()
    }

    const SPEC: Spec = Spec {
        program: "demo",
        about: "Demonstrates the table.",
        note: "Exit status: 2 on a usage error.",
    };

    fn parse(args: &[&str]) -> Result<Parsed<Demo>, CliError> {
        SPEC.parse(args.iter().map(|s| s.to_string()))
    }

    fn run(args: &[&str]) -> Demo {
        match parse(args) {
            Ok(Parsed::Run(d)) => d,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    fn err(args: &[&str]) -> String {
        parse(args).unwrap_err().to_string()
    }

    #[test]
    fn defaults_come_from_the_rows() {
        let d = run(&["f"]);
        assert_eq!(
            d,
            Demo {
                port: 8080,
                seed: None,
                dir: PathBuf::from("./d"),
                loud: false,
                file: PathBuf::from("f"),
            }
        );
    }

    #[test]
    fn every_form_of_every_kind() {
        for form in [
            &["-port", "9", "f"][..],
            &["-port=9", "f"],
            &["--port", "9", "f"],
            &["--port=9", "f"],
            &["f", "-port", " 9 "],
        ] {
            assert_eq!(run(form).port, 9, "{form:?}");
        }
        assert_eq!(run(&["-seed", "-5", "f"]).seed, Some(-5));
        assert_eq!(run(&["-seed=-5", "f"]).seed, Some(-5));
        assert_eq!(run(&["-dir=/a=b", "f"]).dir, PathBuf::from("/a=b"));
        for on in ["-loud", "--loud", "-loud=true", "-loud=1", "--loud=T"] {
            assert!(run(&[on, "f"]).loud, "{on}");
        }
        for off in ["-loud=false", "--loud=0", "-loud=F"] {
            assert!(!run(&[off, "f"]).loud, "{off}");
        }
        assert_eq!(run(&["--", "-x"]).file, PathBuf::from("-x"));
    }

    #[test]
    fn errors_name_the_flag_and_what_is_valid() {
        assert_eq!(
            err(&["-port", "0", "f"]),
            "invalid value for -port: 0 (valid: 1 to 65535)"
        );
        assert_eq!(
            err(&["-port=", "f"]),
            "invalid value for -port: \"\" (valid: 1 to 65535)"
        );
        assert_eq!(
            err(&["-seed", "x", "f"]),
            "invalid value for -seed: x (valid: an integer)"
        );
        assert_eq!(
            err(&["-dir", " ", "f"]),
            "invalid value for -dir: \" \" (valid: a non-empty path)"
        );
        assert_eq!(
            err(&["-loud=yes", "f"]),
            "invalid value for -loud: yes (valid: true or false)"
        );
        assert_eq!(
            err(&["-bogus", "f"]),
            "unknown flag -bogus (run with -help for usage)"
        );
        assert_eq!(
            err(&["f", "-port"]),
            "missing value for -port (run with -help for usage)"
        );
        assert_eq!(
            err(&["f", "g"]),
            "unexpected argument g (run with -help for usage)"
        );
        assert_eq!(err(&[]), "missing FILE (run with -help for usage)");
        assert_eq!(
            err(&["f", "-port", "1", "-port=2"]),
            "-port given more than once (run with -help for usage)"
        );
    }

    #[test]
    fn help_is_derived_from_the_rows() {
        for h in [
            &["-h"][..],
            &["-help"],
            &["--help"],
            &["help"],
            &["f", "-help"],
        ] {
            let Ok(Parsed::Help(text)) = parse(h) else {
                panic!("{h:?}")
            };
            assert!(text.starts_with("Usage: demo FILE [flags]\n"), "{text}");
            assert!(
                text.contains("-port PORT  a port (default 8080; valid: 1 to 65535)"),
                "{text}"
            );
            assert!(
                text.contains("-seed SEED  a seed (valid: an integer)"),
                "{text}"
            );
            assert!(text.contains("-loud       be loud\n"), "{text}");
            assert!(
                text.ends_with("Exit status: 2 on a usage error.\n"),
                "{text}"
            );
        }
    }
}
