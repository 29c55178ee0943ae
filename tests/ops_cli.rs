//! Flags as operators write them (the deployment guide's Go style and argh's GNU style)
//! start the real server; invalid values exit 2 with one line naming the flag.

use std::time::Duration;

use venture_testkit::{bin, free_port, run_to_exit, Server};

fn starts_with(args: &[&str], port: u16) -> serde_json::Value {
    let mut server = Server::builder(bin!("venture-server"))
        .exact_args()
        .port(port)
        .args(args)
        .spawn();
    server.wait_healthy(venture_testkit::server::START_TIMEOUT);
    let (status, body) = server.get("/status");
    assert_eq!(status, 200);
    serde_json::from_str(&body).unwrap()
}

#[test]
fn every_port_flag_form_starts_the_server() {
    for form in ["-port N", "-port=N", "--port N", "--port=N"] {
        let port = free_port();
        let p = port.to_string();
        let args: Vec<String> = ["-bind", "127.0.0.1"]
            .iter()
            .map(|s| s.to_string())
            .chain(form.replace('N', &p).split(' ').map(str::to_string))
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let status = starts_with(&args, port);
        assert!(status["tick"].is_u64(), "{form}: {status}");
    }
}

#[test]
fn the_guides_command_line_is_honoured() {
    let port = free_port();
    let p = port.to_string();
    // ./venture-server -port 8080 -max-players 10 -tick-rate 20 -seed 12345 -genre fantasy (+ -verbose, -aerial-sprites)
    let status = starts_with(
        &[
            "-bind",
            "127.0.0.1",
            "-port",
            &p,
            "-max-players",
            "10",
            "-tick-rate",
            "20",
            "-seed",
            "12345",
            "-genre",
            "fantasy",
            "-verbose",
            "-aerial-sprites",
        ],
        port,
    );
    assert_eq!(status["seed"], 12345);
    assert_eq!(status["genre"], "fantasy");
    assert_eq!(status["max_players"], 10);
    assert_eq!(status["tick_rate"], 20);
    let port = free_port();
    let p = port.to_string();
    let status = starts_with(
        &[
            "--bind=127.0.0.1",
            "--port",
            &p,
            "--seed=-5",
            "--genre=horror",
            "--tick-rate=60",
            "--max-players=64",
        ],
        port,
    );
    assert_eq!(status["seed"], -5);
    assert_eq!(status["genre"], "horror");
    assert_eq!(status["tick_rate"], 60);
}

#[test]
fn invalid_values_exit_2_with_one_line_naming_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["-port", "0"], "-port"),
        (&["-port=70000"], "-port"),
        (&["--port", "-1"], "-port"),
        (&["-port", "http"], "-port"),
        (&["-tick-rate", "0"], "-tick-rate"),
        (&["-tick-rate=61"], "-tick-rate"),
        (&["-genre", "steampunk"], "-genre"),
        (&["--genre=western"], "-genre"),
        (&["-max-players", "-1"], "-max-players"),
        (&["-max-players", "0"], "-max-players"),
        (&["-max-players=65"], "-max-players"),
        (&["-seed", "twelve"], "-seed"),
        (&["-no-such-flag"], "-no-such-flag"),
        (&["-port"], "-port"),
    ];
    for (args, flag) in cases {
        let (code, stdout, stderr) =
            run_to_exit(bin!("venture-server"), args, Duration::from_secs(30));
        assert_eq!(code, Some(2), "{args:?}: stderr {stderr:?}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: one line, got {stderr:?}");
        assert!(
            lines[0].contains(flag),
            "{args:?}: {:?} does not name {flag}",
            lines[0]
        );
        assert!(
            stdout.is_empty(),
            "{args:?}: nothing on stdout, got {stdout:?}"
        );
    }
}

#[test]
fn version_and_help_exit_0() {
    let (code, stdout, _) = run_to_exit(
        bin!("venture-server"),
        &["-version"],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(0));
    assert!(stdout.contains(env!("CARGO_PKG_VERSION")), "{stdout}");
    let (code, stdout, _) =
        run_to_exit(bin!("venture-server"), &["-help"], Duration::from_secs(30));
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("port") && stdout.contains("agones"),
        "{stdout}"
    );
}
