//! The injected desync over real UDP, end to end: a real `venture-server` recording its
//! session log in a scratch directory and a real `venture-client --inject-desync T`. The
//! client detects the mismatch at T, writes its report, resyncs and confirms ticks again,
//! prints `desyncs: 1` and `resyncs: 1` and exits 1; the server counted one desync resync;
//! and `venture-replay diff REPORT SERVER_LOG` (after SIGTERM closed the log) names the
//! altered field, at the same tick and with the same server checksum as the report.

use std::process::Command;
use std::time::Duration;

use venture_testkit::{bin, final_json, Proc, Scratch, Server};

const SEED: &str = "5151";

#[test]
fn an_injected_desync_is_reported_resynced_and_diffed_down_to_the_field() {
    let dir = Scratch::new("desync-udp");
    let mut server = Server::builder(bin!("venture-server"))
        .dir(dir.path())
        .args(&["-seed", SEED])
        .start();
    // Six seconds from now: the client has joined long before, even on a loaded machine.
    let now = server.tick().expect("/status has the tick");
    let inject_at = now + 120;
    let at = inject_at.to_string();
    let reports = dir.join("reports");
    let mut client = Proc::spawn(
        bin!("venture-client"),
        &[
            "--server",
            &server.addr(),
            "--name",
            "watcher",
            "--duration",
            "16",
            "--status-every",
            "1",
            "--secret-dir",
            &dir.arg("secrets"),
            "--desync-dir",
            reports.to_str().expect("utf-8 path"),
            "--inject-desync",
            &at,
        ],
        dir.path(),
        "client",
        &[],
    );
    let status = client
        .wait_exit(Duration::from_secs(60))
        .expect("the client exits after --duration");
    let stderr = client.stderr();
    assert_eq!(
        status.code(),
        Some(1),
        "a desync exits 1; stderr:\n{stderr}"
    );

    // Joined before the injected tick, detected at exactly it.
    let start_tick: u64 = stderr
        .lines()
        .find_map(|l| {
            l.split("joined as slot")
                .nth(1)?
                .rsplit("tick ")
                .next()?
                .trim_end_matches(')')
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no join line:\n{stderr}"));
    assert!(
        start_tick < inject_at,
        "joined at {start_tick}, after {inject_at}:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("DESYNC at tick {inject_at}:")),
        "stderr:\n{stderr}"
    );
    // Playing again after the desync (status lines each second).
    let after = stderr
        .split(&format!("DESYNC at tick {inject_at}:"))
        .nth(1)
        .unwrap_or_default();
    assert!(after.contains("watcher: playing tick"), "stderr:\n{stderr}");

    let json = final_json(&client);
    assert_eq!(json["desyncs"], 1, "{json}");
    assert_eq!(json["resyncs"], 1, "{json}");
    // Ticks start_tick+1 ..= inject_at were confirmed before the resync; at least two
    // seconds' worth (of the ~9 s left) after it.
    let confirmed = json["confirmed"].as_u64().expect("confirmed");
    let after_resync = confirmed.saturating_sub(inject_at - start_tick);
    assert!(
        after_resync >= 40,
        "only {after_resync} ticks confirmed after the resync: {json}"
    );

    // The server saw one desync report and sent one desync resync.
    let (_, metrics) = server.get("/metrics");
    assert!(
        metrics.contains("venture_resyncs_total{reason=\"desync\"} 1"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("resync"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // The report and its snapshot.
    let report_path = reports.join(format!("desync-watcher-t{inject_at}.json"));
    assert!(reports
        .join(format!("desync-watcher-t{inject_at}.snapshot"))
        .is_file());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).expect("the report exists"))
            .expect("the report is JSON");
    assert_eq!(report["tick"], inject_at);
    assert_eq!(
        report["state"]["tick"], inject_at,
        "the state is our world at the tick"
    );
    let server_checksum = report["server_checksum"].as_str().expect("server checksum");

    // The whole log up to the end, then the diff.
    assert!(server.signal("TERM"));
    assert!(
        server.wait_exit(Duration::from_secs(30)).is_some(),
        "the server stops"
    );
    let log = dir.join(format!("replays/{SEED}-fantasy.vrpl"));
    assert!(log.is_file(), "no session log at {}", log.display());
    let out = Command::new(bin!("venture-replay"))
        .arg("diff")
        .arg(&report_path)
        .arg(&log)
        .output()
        .expect("venture-replay runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the states differ:\n{stdout}{stderr}"
    );
    // Same tick, and the log's checksum there is the one the server sent the client.
    assert!(
        stdout.contains(&format!(
            "session log at tick {inject_at}, checksum {server_checksum}"
        )),
        "{stdout}"
    );
    let gold = stdout
        .lines()
        .find(|l| l.starts_with("players[0].gold: "))
        .unwrap_or_else(|| panic!("the diff does not name the gold:\n{stdout}"));
    let values: Vec<u64> = gold
        .trim_start_matches("players[0].gold: ")
        .split(" != ")
        .map(|v| v.parse().expect("gold is a number"))
        .collect();
    assert_eq!(values.len(), 2, "{gold}");
    assert_eq!(values[0], values[1] + 1, "ours has one more gold: {gold}");
    // Nothing else differs but the checksum.
    let fields: Vec<&str> = stdout.lines().filter(|l| l.contains(" != ")).collect();
    assert_eq!(fields.len(), 2, "{stdout}");
    assert!(
        fields.iter().any(|l| l.starts_with("checksum: ")),
        "{stdout}"
    );
}
