//! Logs of a short real run: every stdout line is JSON with `time` (RFC 3339 UTC with
//! milliseconds), `level`, `msg`, `component`; `LOG_FORMAT=text` gives text lines;
//! `LOG_LEVEL=warn` hides info; `-verbose` shows debug.

use std::net::UdpSocket;
use std::time::Duration;

use venture_testkit::{bin, Bot, Server};

/// Start, make some traffic (a client joins and leaves, junk arrives), stop with SIGTERM.
fn short_run(args: &[&str], env: &[(&str, &str)]) -> Vec<String> {
    let mut server = Server::builder(bin!("venture-server"))
        .args(args)
        .envs(env)
        .spawn();
    server.wait_healthy(venture_testkit::server::START_TIMEOUT);
    let bot = Bot::join("log-bot", server.port);
    let mut bot2 = Bot::new("junk", server.port);
    bot2.send_raw(vec![0xff; 16]);
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.send_to(b"junk", ("127.0.0.1", server.port)).unwrap();
    bot.leave();
    std::thread::sleep(Duration::from_millis(200));
    server.signal("TERM");
    let status = server
        .wait_exit(Duration::from_secs(20))
        .expect("exits on SIGTERM");
    assert!(status.success());
    server.stdout_lines()
}

fn is_rfc3339_utc_millis(t: &str) -> bool {
    // 2025-10-29T12:34:56.789Z
    let b = t.as_bytes();
    t.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

#[test]
fn every_line_is_json_with_the_fixed_fields() {
    let lines = short_run(&[], &[("LOG_FORMAT", "json")]);
    assert!(lines.len() >= 4, "{lines:?}");
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let time = v["time"]
            .as_str()
            .unwrap_or_else(|| panic!("no time: {line}"));
        assert!(is_rfc3339_utc_millis(time), "time {time:?} in {line}");
        let level = v["level"]
            .as_str()
            .unwrap_or_else(|| panic!("no level: {line}"));
        assert!(
            ["debug", "info", "warn", "error", "fatal"].contains(&level),
            "{line}"
        );
        assert!(v["msg"].as_str().is_some_and(|m| !m.is_empty()), "{line}");
        assert!(
            v["component"].as_str().is_some_and(|m| !m.is_empty()),
            "{line}"
        );
    }
    let msgs: Vec<&str> = lines.iter().map(|l| l.as_str()).collect();
    for needle in [
        "Starting Venture Game Server",
        "player connected",
        "player disconnected",
        "server stopped",
    ] {
        assert!(
            msgs.iter().any(|l| l.contains(needle)),
            "{needle} not logged: {lines:?}"
        );
    }
    // The guide's fields on the connect line.
    let connected: serde_json::Value = serde_json::from_str(
        lines
            .iter()
            .find(|l| l.contains("\"player connected\""))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(connected["playerID"], "log-bot");
    assert_eq!(connected["component"], "server");
}

#[test]
fn default_format_is_json_and_text_format_is_not() {
    let lines = short_run(&[], &[]);
    assert!(
        lines
            .iter()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "{lines:?}"
    );

    let lines = short_run(&[], &[("LOG_FORMAT", "text")]);
    assert!(lines.len() >= 3, "{lines:?}");
    for line in &lines {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_err(),
            "JSON in text mode: {line}"
        );
        assert!(
            is_rfc3339_utc_millis(&line[..24.min(line.len())]),
            "text lines start with the time: {line}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("INFO") && l.contains("server stopped")),
        "{lines:?}"
    );
}

#[test]
fn log_level_warn_hides_info_and_verbose_shows_debug() {
    let lines = short_run(&[], &[("LOG_LEVEL", "warn")]);
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            ["warn", "error", "fatal"].contains(&v["level"].as_str().unwrap()),
            "{line}"
        );
    }
    assert!(
        !lines.iter().any(|l| l.contains("server stopped")),
        "{lines:?}"
    );

    let lines = short_run(&["-verbose"], &[("LOG_LEVEL", "warn")]);
    assert!(
        lines.iter().any(|l| l.contains("\"level\":\"debug\"")),
        "-verbose shows debug: {lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("server stopped")),
        "{lines:?}"
    );

    let lines = short_run(&[], &[("LOG_LEVEL", "debug")]);
    assert!(
        lines.iter().any(|l| l.contains("\"level\":\"debug\"")),
        "LOG_LEVEL=debug shows debug: {lines:?}"
    );
    let lines = short_run(&[], &[]);
    assert!(
        !lines.iter().any(|l| l.contains("\"level\":\"debug\"")),
        "info by default: {lines:?}"
    );
}

#[test]
fn invalid_log_settings_warn_once_and_fall_back() {
    let lines = short_run(&[], &[("LOG_LEVEL", "chatty"), ("LOG_FORMAT", "xml")]);
    let warns: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("\"level\":\"warn\""))
        .collect();
    assert!(warns.iter().any(|l| l.contains("LOG_LEVEL")), "{lines:?}");
    assert!(warns.iter().any(|l| l.contains("LOG_FORMAT")), "{lines:?}");
    assert!(
        lines.iter().any(|l| l.contains("server stopped")),
        "falls back to info: {lines:?}"
    );
}

#[test]
fn text_lines_carry_key_value_fields() {
    let lines = short_run(&["-seed", "4242"], &[("LOG_FORMAT", "text")]);
    let start = lines
        .iter()
        .find(|l| l.contains("Starting Venture Game Server"))
        .unwrap_or_else(|| panic!("{lines:?}"));
    // `TIME LEVEL component: msg key=value ...`
    assert!(
        start.contains(" INFO  server: Starting Venture Game Server "),
        "{start}"
    );
    assert!(start.contains(" seed=4242"), "{start}");
    assert!(start.contains(" genre=fantasy"), "{start}");
    let joined = lines
        .iter()
        .find(|l| l.contains("player connected"))
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(joined.contains(" playerID=log-bot"), "{joined}");
    assert!(joined.contains(" slot=0"), "{joined}");
    for line in &lines {
        // Every field after the message is key=value.
        let fields = line.split_once(": ").map_or("", |(_, rest)| rest);
        assert!(!fields.contains('\n'), "{line}");
    }
}

/// Runs the binary on a port already taken: (exit code, stdout lines, stderr).
fn bind_failure(env: &[(&str, &str)]) -> (Option<i32>, Vec<String>, String) {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut s = Server::builder(bin!("venture-server"))
        .port(port)
        .envs(env)
        .spawn();
    let status = s.wait_exit(Duration::from_secs(20)).expect("exits");
    drop(taken);
    (status.code(), s.stdout_lines(), s.stderr())
}

#[test]
fn bind_failure_logs_fatal_with_the_guides_message_and_exits_1() {
    let (code, lines, stderr) = bind_failure(&[]);
    assert_eq!(code, Some(1), "{lines:?} {stderr}");
    let fatal = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["level"] == "fatal")
        .unwrap_or_else(|| panic!("no fatal line: {lines:?}"));
    let port = fatal["port"].as_u64().expect("port field");
    assert_eq!(fatal["msg"], format!("failed to bind port {port}"));
    assert_eq!(fatal["component"], "server");
    assert!(
        fatal["error"]
            .as_str()
            .is_some_and(|e| e.contains("in use")),
        "{fatal}"
    );
    assert!(
        stderr.starts_with("venture-server: failed to start server: failed to bind"),
        "{stderr}"
    );

    let (code, lines, _) = bind_failure(&[("LOG_FORMAT", "text")]);
    assert_eq!(code, Some(1));
    assert!(
        lines
            .iter()
            .any(|l| l.contains(" FATAL server: failed to bind port ") && l.contains(" port=")),
        "{lines:?}"
    );
}
