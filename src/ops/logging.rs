//! Logging for the server: `LOG_LEVEL` / `LOG_FORMAT` as in the deployment
//! guide, one record per line on stdout.
//!
//! * `LOG_LEVEL`: `debug`, `info`, `warn`, `error`, `fatal` (case-insensitive;
//!   `warning` is accepted too). `fatal` filters like `error`; fatal records
//!   themselves are logged with [`fatal!`](crate::fatal) and carry the label
//!   `fatal`. An invalid value gives one warning and the default, `info`.
//! * `-verbose` forces `debug` whatever `LOG_LEVEL` says.
//! * `LOG_FORMAT`: `json` (default) or `text`; an invalid value gives one
//!   warning and `json`.
//!
//! JSON lines are built with serde_json, so every line is valid JSON whatever
//! the message or field values contain:
//!
//! ```text
//! {"time":"2025-10-29T12:34:56.789Z","level":"info","msg":"player connected","component":"server","seed":12345,"genre":"fantasy"}
//! ```
//!
//! `component` comes from a `component` key-value if the record has one,
//! otherwise from the last `::` segment of the log target. Every other
//! key-value becomes a JSON field with its natural type (numbers stay
//! numbers, booleans stay booleans). Fields that would clash with the fixed
//! keys (`time`, `level`, `msg`) are renamed `fields.time` etc., as logrus does.
//!
//! Text lines (`LOG_FORMAT=text`, for people who tail logs by eye) read
//! `TIME LEVEL component: msg key=value ...`, one line per record: newlines in messages
//! are escaped, values with spaces or quotes are quoted.
//!
//! Timestamps are formatted by the `jiff` crate. Records at error level (fatal ones
//! included) are counted for `venture_errors_total` ([`error_records`]).
//!
//! The formatters ([`format_json_line`], [`format_text_line`]) are pure
//! functions of a [`log::Record`] and a time, so they are tested without
//! installing the global logger.

use log::kv::{self, Key, Value, VisitSource};
use log::{Level, LevelFilter, Record};
use serde_json::Value as Json;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use thiserror::Error;

#[doc(hidden)]
pub use log as __log;

/// Key-value key that marks a record as fatal (see [`fatal!`](crate::fatal)).
pub const FATAL_KEY: &str = "fatal";
/// Key-value key that overrides the component derived from the target.
pub const COMPONENT_KEY: &str = "component";

/// Log an error-level record labelled `fatal` (the process is about to stop).
///
/// ```
/// venture::fatal!("failed to bind port {}", 8080);
/// venture::fatal!(port = 8080, error = "address in use"; "failed to bind");
/// ```
#[macro_export]
macro_rules! fatal {
    ($($key:tt $(:$cap:tt)? $(= $value:expr)?),+ ; $($arg:tt)+) => {
        $crate::ops::logging::__log::error!(fatal = true, $($key $(:$cap)? $(= $value)?),+ ; $($arg)+)
    };
    ($($arg:tt)+) => {
        $crate::ops::logging::__log::error!(fatal = true; $($arg)+)
    };
}

/// Records logged at error level (fatal included) since the process started.
static ERROR_RECORDS: AtomicU64 = AtomicU64::new(0);

/// How many records at error level (fatal included) the installed logger has written.
pub fn error_records() -> u64 {
    ERROR_RECORDS.load(Ordering::Relaxed)
}

/// Output format of log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (default).
    Json,
    /// `TIME LEVEL component: msg key=value ...`.
    Text,
}

/// The effective logging configuration, and any complaints about the
/// environment that should be logged once the logger is up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSettings {
    /// Maximum level that is logged.
    pub level: LevelFilter,
    /// Line format.
    pub format: LogFormat,
    /// Warnings about invalid `LOG_LEVEL`/`LOG_FORMAT` values.
    pub warnings: Vec<String>,
}

/// Errors from [`init`].
#[derive(Debug, Error)]
pub enum LoggingError {
    /// A global logger was already installed.
    #[error("cannot install the logger: a global logger is already set ({0})")]
    AlreadySet(#[from] log::SetLoggerError),
}

/// Work out the settings from raw `LOG_LEVEL` / `LOG_FORMAT` values
/// (`None` = unset) and the `-verbose` switch. Pure: no environment access.
pub fn settings_from_values(
    log_level: Option<&str>,
    log_format: Option<&str>,
    verbose: bool,
) -> LogSettings {
    let mut warnings = Vec::new();
    let mut level = match log_level.map(|s| s.trim().to_ascii_lowercase()) {
        None => LevelFilter::Info,
        Some(s) if s.is_empty() => LevelFilter::Info,
        Some(s) => match s.as_str() {
            "debug" => LevelFilter::Debug,
            "info" => LevelFilter::Info,
            "warn" | "warning" => LevelFilter::Warn,
            "error" | "fatal" => LevelFilter::Error,
            _ => {
                warnings.push(format!(
                    "invalid LOG_LEVEL {:?} (valid: debug, info, warn, error, fatal); using info",
                    log_level.unwrap_or_default()
                ));
                LevelFilter::Info
            }
        },
    };
    if verbose {
        level = LevelFilter::Debug;
    }
    let format = match log_format.map(|s| s.trim().to_ascii_lowercase()) {
        None => LogFormat::Json,
        Some(s) if s.is_empty() || s == "json" => LogFormat::Json,
        Some(s) if s == "text" => LogFormat::Text,
        Some(_) => {
            warnings.push(format!(
                "invalid LOG_FORMAT {:?} (valid: json, text); using json",
                log_format.unwrap_or_default()
            ));
            LogFormat::Json
        }
    };
    LogSettings {
        level,
        format,
        warnings,
    }
}

/// [`settings_from_values`] with `LOG_LEVEL` and `LOG_FORMAT` from the environment.
pub fn settings_from_env(verbose: bool) -> LogSettings {
    let level = std::env::var("LOG_LEVEL").ok();
    let format = std::env::var("LOG_FORMAT").ok();
    settings_from_values(level.as_deref(), format.as_deref(), verbose)
}

/// Install the global logger (env_logger with our formatter, on stdout) from
/// the environment and `-verbose`, then log any warnings about the
/// environment, once. Returns the settings in force.
pub fn init(verbose: bool) -> Result<LogSettings, LoggingError> {
    let settings = settings_from_env(verbose);
    install(&settings)?;
    for w in &settings.warnings {
        log::warn!(target: "venture::logging", "{w}");
    }
    Ok(settings)
}

/// Install the global logger with explicit settings.
pub fn install(settings: &LogSettings) -> Result<(), LoggingError> {
    let format = settings.format;
    // laminar logs every undecodable datagram at error level: anyone could flood our logs
    // with unauthenticated packets. Those are counted in metrics instead; laminar's own
    // lines appear only at debug.
    let laminar_level = if settings.level >= LevelFilter::Debug {
        settings.level
    } else {
        LevelFilter::Off
    };
    env_logger::Builder::new()
        .filter_level(settings.level)
        .filter_module("laminar", laminar_level)
        .target(env_logger::Target::Stdout)
        .write_style(env_logger::WriteStyle::Never)
        .format(move |buf, record| {
            if record.level() == Level::Error {
                ERROR_RECORDS.fetch_add(1, Ordering::Relaxed);
            }
            let now = SystemTime::now();
            let line = match format {
                LogFormat::Json => format_json_line(record, now),
                LogFormat::Text => format_text_line(record, now),
            };
            buf.write_all(line.as_bytes())?;
            buf.write_all(b"\n")
        })
        .try_init()?;
    Ok(())
}

/// RFC 3339 UTC time with milliseconds: `2025-10-29T12:34:56.789Z`.
/// Times before 1970, or past what `jiff` represents (year 9999), are shown as the epoch.
pub fn rfc3339_millis(t: SystemTime) -> String {
    let ts = jiff::Timestamp::try_from(t.max(UNIX_EPOCH)).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    // Truncated, not rounded, to the millisecond: a line never shows a time not yet reached.
    let ms = jiff::Timestamp::from_millisecond(ts.as_millisecond()).unwrap_or(ts);
    format!("{ms:.3}")
}

/// The label for a record: `fatal` if it carries `fatal = true`, else the
/// lowercase level.
pub fn level_label(record: &Record<'_>) -> &'static str {
    let fatal = record
        .key_values()
        .get(Key::from_str(FATAL_KEY))
        .and_then(|v| v.to_bool())
        .unwrap_or(false);
    if fatal {
        return "fatal";
    }
    match record.level() {
        Level::Error => "error",
        Level::Warn => "warn",
        Level::Info => "info",
        Level::Debug => "debug",
        Level::Trace => "trace",
    }
}

/// The component: the `component` key-value, else the target's last `::` segment.
pub fn component(record: &Record<'_>) -> String {
    if let Some(v) = record.key_values().get(Key::from_str(COMPONENT_KEY)) {
        return match v.to_borrowed_str() {
            Some(s) => s.to_owned(),
            None => v.to_string(),
        };
    }
    let target = record.target();
    target.rsplit("::").next().unwrap_or(target).to_owned()
}

/// A key-value as a JSON value with its natural type.
fn kv_to_json(v: &Value<'_>) -> Json {
    if let Some(b) = v.to_bool() {
        return Json::Bool(b);
    }
    if let Some(u) = v.to_u64() {
        return Json::from(u);
    }
    if let Some(i) = v.to_i64() {
        return Json::from(i);
    }
    if let Some(i) = v.to_i128() {
        // Beyond 64 bits JSON readers lose precision: keep it exact as text.
        return Json::String(i.to_string());
    }
    if let Some(u) = v.to_u128() {
        return Json::String(u.to_string());
    }
    if let Some(f) = v.to_f64() {
        // NaN and infinities are not JSON numbers: from_f64 gives None.
        return serde_json::Number::from_f64(f)
            .map(Json::Number)
            .unwrap_or_else(|| Json::String(f.to_string()));
    }
    if let Some(s) = v.to_borrowed_str() {
        return Json::String(s.to_owned());
    }
    Json::String(v.to_string())
}

/// Collects the user's key-values, skipping the ones we consume.
struct Fields(Vec<(String, Json)>);

impl<'kvs> VisitSource<'kvs> for Fields {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), kv::Error> {
        let k = key.as_str();
        if k == COMPONENT_KEY || (k == FATAL_KEY && value.to_bool().is_some()) {
            return Ok(());
        }
        let k = match k {
            "time" | "level" | "msg" => format!("fields.{k}"),
            _ => k.to_owned(),
        };
        self.0.push((k, kv_to_json(&value)));
        Ok(())
    }
}

fn fields(record: &Record<'_>) -> Vec<(String, Json)> {
    let mut f = Fields(Vec::new());
    // Our visitor never fails; a failing source just leaves fields out.
    let _ = record.key_values().visit(&mut f);
    f.0
}

fn push_json_string(out: &mut String, s: &str) {
    // Serialising a &str to a String cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned()));
}

/// One JSON line (without the newline) for a record logged at time `now`.
/// Keys: `time`, `level`, `msg`, `component`, then every key-value field.
pub fn format_json_line(record: &Record<'_>, now: SystemTime) -> String {
    let mut out = String::with_capacity(128);
    out.push_str("{\"time\":");
    push_json_string(&mut out, &rfc3339_millis(now));
    out.push_str(",\"level\":");
    push_json_string(&mut out, level_label(record));
    out.push_str(",\"msg\":");
    push_json_string(&mut out, &record.args().to_string());
    out.push_str(",\"component\":");
    push_json_string(&mut out, &component(record));
    for (k, v) in fields(record) {
        out.push(',');
        push_json_string(&mut out, &k);
        out.push(':');
        out.push_str(&v.to_string());
    }
    out.push('}');
    out
}

/// Escape control characters so a record stays on one line.
fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// One text line (without the newline): `TIME LEVEL component: msg key=value ...`.
/// String values that contain spaces, quotes, `=` or are empty are JSON-quoted.
pub fn format_text_line(record: &Record<'_>, now: SystemTime) -> String {
    let mut out = format!(
        "{} {:<5} {}: {}",
        rfc3339_millis(now),
        level_label(record).to_ascii_uppercase(),
        one_line(&component(record)),
        one_line(&record.args().to_string())
    );
    for (k, v) in fields(record) {
        let shown = match &v {
            Json::String(s)
                if s.is_empty()
                    || s.chars()
                        .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '=') =>
            {
                v.to_string()
            }
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        let _ = write!(out, " {}={}", one_line(&k), shown);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use log::kv::ToValue;
    use std::time::Duration;

    const T: u64 = 1_761_741_296; // 2025-10-29T12:34:56Z

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(T * 1000 + ms)
    }

    fn parse(line: &str) -> serde_json::Map<String, Json> {
        assert!(!line.contains('\n'), "{line}");
        match serde_json::from_str::<Json>(line) {
            Ok(Json::Object(m)) => m,
            other => panic!("not a JSON object: {line}: {other:?}"),
        }
    }

    #[test]
    fn time_format() {
        assert_eq!(rfc3339_millis(at(789)), "2025-10-29T12:34:56.789Z");
        assert_eq!(rfc3339_millis(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(UNIX_EPOCH - Duration::from_secs(5)),
            "1970-01-01T00:00:00.000Z"
        );
        // Leap day and year ends.
        let day = |d: u64| rfc3339_millis(UNIX_EPOCH + Duration::from_secs(d * 86_400));
        assert_eq!(day(11_016), "2000-02-29T00:00:00.000Z");
        assert_eq!(day(11_017), "2000-03-01T00:00:00.000Z");
        assert_eq!(day(10_956), "1999-12-31T00:00:00.000Z");
        assert_eq!(day(19_782), "2024-02-29T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(UNIX_EPOCH + Duration::from_secs(4_102_444_799)),
            "2099-12-31T23:59:59.000Z"
        );
        // Sub-millisecond parts are cut, not rounded up.
        assert_eq!(
            rfc3339_millis(UNIX_EPOCH + Duration::from_nanos(1_999_999_999)),
            "1970-01-01T00:00:01.999Z"
        );
        // Beyond jiff's range (after 9999-12-31): the epoch, not a panic.
        assert_eq!(
            rfc3339_millis(UNIX_EPOCH + Duration::from_secs(300_000_000_000)),
            "1970-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn json_line_required_keys_and_types() {
        let kvs: [(&str, log::kv::Value); 6] = [
            ("playerID", "player_abc123".to_value()),
            ("seed", 12345i64.to_value()),
            ("neg", (-7i32).to_value()),
            ("ratio", 0.5f64.to_value()),
            ("ok", true.to_value()),
            ("big", u128::MAX.to_value()),
        ];
        let line = format_json_line(
            &Record::builder()
                .args(format_args!("player connected"))
                .level(Level::Info)
                .target("venture::net::server")
                .key_values(&kvs)
                .build(),
            at(789),
        );
        let m = parse(&line);
        assert_eq!(m["time"], "2025-10-29T12:34:56.789Z");
        assert_eq!(m["level"], "info");
        assert_eq!(m["msg"], "player connected");
        assert_eq!(m["component"], "server");
        assert_eq!(m["playerID"], "player_abc123");
        assert_eq!(m["seed"], Json::from(12345));
        assert_eq!(m["neg"], Json::from(-7));
        assert_eq!(m["ratio"], Json::from(0.5));
        assert_eq!(m["ok"], Json::Bool(true));
        assert_eq!(m["big"], Json::String(u128::MAX.to_string()));
        assert!(line.starts_with("{\"time\":"), "{line}");
    }

    #[test]
    fn json_escapes_everything() {
        let nasty = "quote \" backslash \\ newline \n tab \t nul \0 unicode é 漢字 🎮 \u{1b}[31m";
        let kvs: [(&str, log::kv::Value); 2] = [
            ("name", nasty.to_value()),
            ("weird \"key\"\n", 1u8.to_value()),
        ];
        let line = format_json_line(
            &Record::builder()
                .args(format_args!("msg {nasty}"))
                .level(Level::Warn)
                .target("t")
                .key_values(&kvs)
                .build(),
            at(0),
        );
        let m = parse(&line);
        assert_eq!(m["msg"], format!("msg {nasty}"));
        assert_eq!(m["name"], nasty);
        assert_eq!(m["weird \"key\"\n"], Json::from(1));
        assert_eq!(m["level"], "warn");
        assert_eq!(m["component"], "t");
    }

    #[test]
    fn component_kv_and_reserved_keys() {
        let kvs: [(&str, log::kv::Value); 4] = [
            ("component", "saves".to_value()),
            ("time", "user time".to_value()),
            ("msg", 3u8.to_value()),
            ("level", "x".to_value()),
        ];
        let m = parse(&format_json_line(
            &Record::builder()
                .args(format_args!("m"))
                .level(Level::Debug)
                .target("venture::server")
                .key_values(&kvs)
                .build(),
            at(1),
        ));
        assert_eq!(m["component"], "saves");
        assert_eq!(m["time"], "2025-10-29T12:34:56.001Z");
        assert_eq!(m["fields.time"], "user time");
        assert_eq!(m["fields.msg"], Json::from(3));
        assert_eq!(m["fields.level"], "x");
        assert_eq!(m["level"], "debug");
    }

    #[test]
    fn fatal_label() {
        let kvs: [(&str, log::kv::Value); 2] =
            [("fatal", true.to_value()), ("port", 8080u16.to_value())];
        let rec = Record::builder()
            .args(format_args!("failed to bind"))
            .level(Level::Error)
            .target("venture_server")
            .key_values(&kvs)
            .build();
        let m = parse(&format_json_line(&rec, at(0)));
        assert_eq!(m["level"], "fatal");
        assert_eq!(m["port"], Json::from(8080));
        assert!(!m.contains_key("fatal"));
        assert!(format_text_line(&rec, at(0))
            .contains(" FATAL venture_server: failed to bind port=8080"));
    }

    #[test]
    fn fatal_macro_compiles_and_marks() {
        // The macro logs through the global logger (none installed: a no-op);
        // this checks both arms expand.
        crate::fatal!("plain {}", 1);
        crate::fatal!(port = 8080, reason = "x"; "with kvs {}", 2);
    }

    #[test]
    fn text_line() {
        let kvs: [(&str, log::kv::Value); 4] = [
            ("seed", 12345i64.to_value()),
            ("genre", "fantasy".to_value()),
            ("note", "two words".to_value()),
            ("empty", "".to_value()),
        ];
        let line = format_text_line(
            &Record::builder()
                .args(format_args!("server started\nsecond line"))
                .level(Level::Info)
                .target("venture::server")
                .key_values(&kvs)
                .build(),
            at(789),
        );
        assert_eq!(
            line,
            "2025-10-29T12:34:56.789Z INFO  server: server started\\nsecond line seed=12345 genre=fantasy note=\"two words\" empty=\"\""
        );
    }

    #[test]
    fn settings() {
        let s = settings_from_values(None, None, false);
        assert_eq!((s.level, s.format), (LevelFilter::Info, LogFormat::Json));
        assert!(s.warnings.is_empty());
        for (v, want) in [
            ("debug", LevelFilter::Debug),
            ("DEBUG", LevelFilter::Debug),
            ("Info", LevelFilter::Info),
            ("warn", LevelFilter::Warn),
            ("WARNING", LevelFilter::Warn),
            ("error", LevelFilter::Error),
            ("FATAL", LevelFilter::Error),
            (" info ", LevelFilter::Info),
            ("", LevelFilter::Info),
        ] {
            let s = settings_from_values(Some(v), None, false);
            assert_eq!(s.level, want, "{v}");
            assert!(s.warnings.is_empty(), "{v}");
        }
        let s = settings_from_values(Some("loud"), Some("xml"), false);
        assert_eq!((s.level, s.format), (LevelFilter::Info, LogFormat::Json));
        assert_eq!(s.warnings.len(), 2);
        assert!(
            s.warnings[0].contains("LOG_LEVEL \"loud\""),
            "{:?}",
            s.warnings
        );
        assert!(
            s.warnings[1].contains("LOG_FORMAT \"xml\""),
            "{:?}",
            s.warnings
        );
        // -verbose wins over LOG_LEVEL, even an invalid one.
        assert_eq!(
            settings_from_values(Some("error"), None, true).level,
            LevelFilter::Debug
        );
        assert_eq!(
            settings_from_values(Some("bad"), None, true).level,
            LevelFilter::Debug
        );
        assert_eq!(
            settings_from_values(None, Some("TEXT"), false).format,
            LogFormat::Text
        );
        assert_eq!(
            settings_from_values(None, Some("json"), false).format,
            LogFormat::Json
        );
    }

    #[test]
    fn level_filtering() {
        // The filter env_logger applies is `record.level() <= settings.level`.
        let allowed = |filter: &str, level: Level| {
            level <= settings_from_values(Some(filter), None, false).level
        };
        assert!(allowed("info", Level::Info));
        assert!(allowed("info", Level::Error));
        assert!(!allowed("info", Level::Debug));
        assert!(!allowed("warn", Level::Info));
        assert!(allowed("warn", Level::Warn));
        assert!(!allowed("fatal", Level::Warn));
        assert!(allowed("fatal", Level::Error));
        assert!(allowed("debug", Level::Debug));
        assert!(!allowed("debug", Level::Trace));
    }

    /// Child half of [`installed_logger_end_to_end`]: a no-op unless the
    /// parent set `VENTURE_LOGGING_CHILD`, in which case it installs the real
    /// global logger from the environment and logs a few records.
    #[test]
    fn child_emits_log_lines() {
        if std::env::var_os("VENTURE_LOGGING_CHILD").is_none() {
            return;
        }
        // Invariant: this process installs the logger exactly once.
        init(false).expect("install logger in child");
        log::debug!(target: "venture::net::server", "hidden debug");
        log::info!(target: "venture::net::server", seed = 12345; "server \"started\"");
        log::warn!(target: "venture::net::server", latency_ms = 500u32; "high latency");
        crate::fatal!(port = 8080; "failed to bind");
    }

    /// Re-run this test binary with only the child test, with the real
    /// env_logger installed, and check what reaches stdout.
    #[test]
    fn installed_logger_end_to_end() {
        let run = |level: &str| -> Vec<serde_json::Map<String, Json>> {
            let exe = std::env::current_exe().expect("test binary path");
            let out = std::process::Command::new(exe)
                .args([
                    "--exact",
                    "ops::logging::tests::child_emits_log_lines",
                    "--nocapture",
                    "--test-threads=1",
                    "-q",
                ])
                .env("VENTURE_LOGGING_CHILD", "1")
                .env("LOG_LEVEL", level)
                .env("LOG_FORMAT", "json")
                .output()
                .expect("spawn child test");
            assert!(out.status.success(), "child failed: {out:?}");
            let stdout = String::from_utf8(out.stdout).expect("utf8 stdout");
            stdout
                .lines()
                .filter_map(|l| l.find("{\"time\"").map(|i| parse(&l[i..])))
                .collect()
        };

        let lines = run("warn");
        let levels: Vec<&str> = lines
            .iter()
            .map(|m| m["level"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(levels, ["warn", "fatal"], "{lines:?}");
        assert_eq!(lines[0]["latency_ms"], Json::from(500));
        assert_eq!(lines[0]["component"], "server");
        assert_eq!(lines[1]["port"], Json::from(8080));

        let lines = run("BOGUS");
        let msgs: Vec<&str> = lines
            .iter()
            .map(|m| m["msg"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(lines.len(), 4, "{msgs:?}");
        assert!(
            msgs[0].starts_with("invalid LOG_LEVEL \"BOGUS\""),
            "{msgs:?}"
        );
        assert_eq!(lines[0]["level"], "warn");
        assert_eq!(lines[0]["component"], "logging");
        assert_eq!(msgs[1], "server \"started\"");
        assert_eq!(lines[1]["seed"], Json::from(12345));
    }
}
