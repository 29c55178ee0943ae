//! Terminal client benchmarks.
//!
//! 1. Render one frame at 200x60: the pure renderer into a buffer, and a whole
//!    `Terminal::draw` (render, diff, crossterm encoding) into a sink. Target p99 < 2 ms.
//! 2. Client CPU while playing: the real `venture-client` in tmux (interactive, drawing),
//!    through a UDP relay that adds 25 ms each way (50 ms round trip), with three fighting
//!    bots in the world (4 players), the player walking back and forth. CPU is the
//!    client process's utime + stime from /proc/PID/stat over 20 s after a 5 s warm-up.
//!    Target < 10% of one core.
//!
//! `cargo bench --bench tui` (needs tmux for part 2; skipped with a note without it).

#[path = "common/mod.rs"]
mod common;

use std::collections::VecDeque;
use std::net::{SocketAddr, UdpSocket};
use std::process::Command as Cmd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use venture::tui::render;
use venture_play::view::{LogKind, LogLine, ViewState};
use venture_sim::script::scripted_frame;
use venture_sim::{SimConfig, World};
use venture_testkit::{bin, cpu_ticks, Proc, Scratch, Server};

fn render_bench() {
    let mut world = World::new(&SimConfig::default()).expect("default config");
    let mut worlds = Vec::new();
    for t in 1..=400 {
        world.step(&scripted_frame(7, t, 4)).expect("scripted");
        if t > 200 {
            worlds.push(world.clone());
        }
    }
    let mut view = ViewState::following(0);
    view.show_net = true;
    for i in 0..40 {
        view.push_log(LogLine {
            tick: i,
            kind: LogKind::Info,
            text: format!("line {i}: You hit Goblin for {i}."),
        });
    }
    let area = Rect::new(0, 0, 200, 60);
    let mut buf = ratatui::buffer::Buffer::empty(area);
    let mut i = 0;
    common::time_each("render 200x60 (renderer into a buffer)", 200, 5000, || {
        render::render(&worlds[i % worlds.len()], &view, area, &mut buf);
        i += 1;
    })
    .print(Duration::from_millis(2));
    let options = TerminalOptions {
        viewport: Viewport::Fixed(area),
    };
    let mut term = Terminal::with_options(CrosstermBackend::new(std::io::sink()), options)
        .expect("sink terminal");
    let mut i = 0;
    common::time_each(
        "draw 200x60 (render + diff + escape codes)",
        200,
        5000,
        || {
            let w = &worlds[i % worlds.len()];
            term.draw(|f| render::render(w, &view, f.area(), f.buffer_mut()))
                .expect("draw into a sink");
            i += 1;
        },
    )
    .print(Duration::from_millis(2));
}

/// Relays datagrams between one client and the server, each way `delay` late.
fn relay(server: SocketAddr, delay: Duration, stop: Arc<AtomicBool>) -> SocketAddr {
    let front = UdpSocket::bind("127.0.0.1:0").expect("relay front");
    let back = UdpSocket::bind("127.0.0.1:0").expect("relay back");
    let addr = front.local_addr().expect("addr");
    front.set_nonblocking(true).expect("nonblocking");
    back.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let mut client: Option<SocketAddr> = None;
        let mut queue: VecDeque<(Instant, bool, Vec<u8>)> = VecDeque::new();
        let mut buf = [0u8; 2048];
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            while let Ok((n, from)) = front.recv_from(&mut buf) {
                client = Some(from);
                queue.push_back((now + delay, true, buf[..n].to_vec()));
            }
            while let Ok((n, _)) = back.recv_from(&mut buf) {
                queue.push_back((now + delay, false, buf[..n].to_vec()));
            }
            while queue.front().is_some_and(|(t, _, _)| *t <= now) {
                let (_, up, bytes) = queue.pop_front().expect("front exists");
                if up {
                    let _ = back.send_to(&bytes, server);
                } else if let Some(c) = client {
                    let _ = front.send_to(&bytes, c);
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    addr
}

fn tmux(socket: &str, args: &[&str]) -> String {
    let out = Cmd::new("tmux")
        .args(["-L", socket, "-f", "/dev/null"])
        .args(args)
        .output()
        .expect("tmux runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn cpu_bench() {
    if !Cmd::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        println!("client CPU: skipped (tmux not installed)");
        return;
    }
    let scratch = Scratch::new("bench-tui");
    let server = Server::builder(bin!("venture-server"))
        .dir(scratch.path())
        .args(&["-seed", "12345", "--no-replay"])
        .env("LOG_LEVEL", "error")
        .start();
    let _bots = Proc::spawn(
        bin!("venture-client"),
        &[
            "--server",
            &server.addr(),
            "--bots",
            "3",
            "--bot",
            "fight",
            "--duration",
            "60",
            "--status-every",
            "0",
            "--name",
            "bot",
        ],
        scratch.path(),
        "bots",
        &[],
    );
    let stop = Arc::new(AtomicBool::new(false));
    let via = relay(
        server.addr().parse().expect("addr"),
        Duration::from_millis(25),
        stop.clone(),
    );
    let socket = format!("venture-bench-{}", std::process::id());
    let shell = format!(
        "exec env XDG_CONFIG_HOME={} TERM=xterm-256color {} --server {via} --name Bencher",
        scratch.join("cfg").display(),
        bin!("venture-client")
    );
    tmux(
        &socket,
        &[
            "new-session",
            "-d",
            "-s",
            "b",
            "-x",
            "200",
            "-y",
            "60",
            &shell,
        ],
    );
    let pid: u32 = tmux(&socket, &["display", "-p", "-t", "b", "#{pane_pid}"])
        .trim()
        .parse()
        .expect("pane pid");
    let playing = venture_testkit::wait_for(Duration::from_secs(60), || {
        tmux(&socket, &["capture-pane", "-p", "-t", "b"]).contains("Gold")
    });
    assert!(playing, "the client never showed the game");
    let walk = |secs: u64| {
        let end = Instant::now() + Duration::from_secs(secs);
        let mut k = 0u64;
        while Instant::now() < end {
            // Back and forth: 1 s east, 1 s west, as a held key repeats.
            let key = if (k / 33).is_multiple_of(2) { "d" } else { "a" };
            tmux(&socket, &["send-keys", "-t", "b", key]);
            std::thread::sleep(Duration::from_millis(30));
            k += 1;
        }
    };
    walk(5);
    let (t0, c0) = (Instant::now(), cpu_ticks(pid).expect("client stat"));
    walk(20);
    let (t1, c1) = (Instant::now(), cpu_ticks(pid).expect("client stat"));
    let hz = 100.0; // USER_HZ on Linux
    let pct = (c1 - c0) as f64 / hz / (t1 - t0).as_secs_f64() * 100.0;
    let net = tmux(&socket, &["capture-pane", "-p", "-t", "b"]);
    println!(
        "client CPU, interactive, 4 players, 50 ms RTT relay, 20 s: {pct:.1}% of a core  target <10% {}",
        if pct < 10.0 { "PASS" } else { "MISS" }
    );
    tmux(&socket, &["send-keys", "-t", "b", "n"]);
    std::thread::sleep(Duration::from_millis(300));
    let screen = tmux(&socket, &["capture-pane", "-p", "-t", "b"]);
    if let Some(line) = screen.lines().find(|l| l.starts_with("net:")) {
        println!("  {line}");
    }
    let _ = net;
    tmux(&socket, &["kill-server"]);
    stop.store(true, Ordering::Relaxed);
}

fn main() {
    render_bench();
    cpu_bench();
}
