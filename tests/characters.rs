//! Saved characters across a crash: a character saved under `saves/players/NAME.json` is
//! restored to the client holding its secret (level and items), survives a kill -9 of the
//! server, and cannot be taken by a client with another secret.

use std::path::Path;
use std::time::Duration;

use venture_testkit::characters;
use venture_testkit::{bin, Proc, Scratch, Server};

const CLIENT: &str = bin!("venture-client");
const SECRET: [u8; 16] = *b"0123456789abcdef";

fn server(dir: &Path, port: u16, tag: &str) -> Server {
    Server::builder(bin!("venture-server"))
        .persisting_in(dir)
        .port(port)
        .tag(tag)
        .args(&["-seed", "5", "--autosave", "1"])
        .start()
}

fn client(dir: &Path, port: u16, secret_dir: &Path, tag: &str, secs: &str) -> Proc {
    let server = format!("127.0.0.1:{port}");
    let secrets = secret_dir.display().to_string();
    Proc::spawn(
        CLIENT,
        &[
            "--server",
            &server,
            "--name",
            "hero",
            "--duration",
            secs,
            "--status-every",
            "0",
            "--secret-dir",
            &secrets,
            "--bot",
            "explore",
        ],
        dir,
        tag,
        &[],
    )
}

#[test]
fn a_saved_character_is_restored_survives_kill_9_and_is_not_stolen() {
    let dir = Scratch::new("characters");
    // The character on disk before the server ever starts: level 7, 555 gold, a weapon
    // equipped and two more items carried, owned by SECRET.
    let before = characters::veteran();
    let mine = dir.path().join("mine");
    characters::plant(dir.path(), &mine, "hero", &SECRET, &before);

    let port = venture_testkit::free_port();
    let mut s1 = server(dir.path(), port, "server1");
    let mut c1 = client(dir.path(), port, &mine, "c1", "30");
    // Restored, then saved again by the autosave: the file still has level >= 7 and the items.
    std::thread::sleep(Duration::from_secs(5));
    let during = characters::saved(dir.path(), "hero");
    assert!(during.progress.level >= 7, "{:?}", during.progress);
    characters::assert_keeps_items(&during, &before);

    s1.signal("KILL");
    let _ = s1.wait_timeout(Duration::from_secs(20));
    drop(c1.child.kill());
    let _ = c1.wait_timeout(Duration::from_secs(20));

    let mut s2 = server(dir.path(), port, "server2");
    // Someone else with the same name: refused, the character stays with its owner.
    let thief_dir = dir.path().join("thief");
    let mut thief = client(dir.path(), port, &thief_dir, "thief", "10");
    assert_eq!(
        thief.wait_timeout(Duration::from_secs(20)).expect("exits"),
        Some(3),
        "{}",
        thief.stderr()
    );
    assert!(
        thief.stderr().contains("belongs to another player"),
        "{}",
        thief.stderr()
    );

    // The owner comes back after the crash: level and items are still there.
    let mut c2 = client(dir.path(), port, &mine, "c2", "4");
    assert_eq!(
        c2.wait_timeout(Duration::from_secs(30)).expect("exits"),
        Some(0),
        "{}",
        c2.stderr()
    );
    std::thread::sleep(Duration::from_millis(500));
    s2.signal("TERM");
    assert_eq!(s2.wait_timeout(Duration::from_secs(20)), Some(Some(0)));
    let after = characters::saved(dir.path(), "hero");
    assert!(after.progress.level >= 7, "{:?}", after.progress);
    characters::assert_keeps_items(&after, &before);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("saves/players/hero.json"))
            .expect("file")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
}
