//! The browser client's figures (issue 22), in Debian's headless chromium (playwright-core,
//! `tests/browser/figures.mjs`) against the real release server with three fighting bots:
//!
//! 1. page weight: the wasm module gzipped (`web/dist`, target < 1 MB);
//! 2. navigation to the first drawn frame on loopback (median and worst of 7 loads, target
//!    < 1 s);
//! 3. canvas frame time p99 at 1920x1080 while playing (build the shapes and issue the
//!    canvas calls, as the client measures it with `performance.now()`; target < 4 ms);
//! 4. the browser's CPU with 4 players (every chromium process of the test's profile,
//!    utime + stime from /proc over 20 s of walking and attacking), as % of one core.
//!
//! The wasm step time against native's is `scripts/wasm-determinism.sh`'s last line.
//! `cargo bench --bench web` (needs chromium, node and `npm ci --prefix tests/browser`).

use std::path::Path;
use std::process::Command;

use venture_testkit::{bin, Scratch, Server};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let wasm = std::fs::read(root.join("web/dist/venture_web_bg.wasm")).expect("web/dist");
    let gz = Command::new("gzip")
        .arg("-9c")
        .arg(root.join("web/dist/venture_web_bg.wasm"))
        .output()
        .expect("gzip");
    let gzipped = gz.stdout.len();
    println!(
        "page weight: wasm {} bytes, {} bytes gzipped (target < 1 MB)",
        wasm.len(),
        gzipped
    );

    let browser = root.join("tests/browser");
    if !browser.join("node_modules/playwright-core").is_dir() {
        println!("skipped the browser figures: npm ci --prefix tests/browser first");
        return;
    }
    let scratch = Scratch::new("bench-web");
    let server = Server::builder(bin!("venture-server"))
        .persisting_in(scratch.path())
        .args(&["-seed", "99", "-no-replay"])
        .start();
    let _bots = venture_testkit::burst::fighting_bots(bin!("venture-client"), &server, &scratch, 3);
    let shots = root.join("target/screens");
    std::fs::create_dir_all(&shots).expect("target/screens");
    let out = Command::new("node")
        .arg(browser.join("figures.mjs"))
        .current_dir(&browser)
        .env("VENTURE_URL", format!("http://{}/", server.addr()))
        .env("VENTURE_SHOTS", &shots)
        .output()
        .expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("JSON");
    println!(
        "navigation to first frame: median {:.0} ms, worst {:.0} ms of 7 loads (target < 1 s)",
        v["first_frame_ms"]["median"].as_f64().unwrap_or(f64::NAN),
        v["first_frame_ms"]["worst"].as_f64().unwrap_or(f64::NAN)
    );
    println!(
        "canvas frame p99 at 1920x1080 while playing: {:.2} ms ({:.0} fps, {} frames; target < 4 ms)",
        v["frame_p99_ms"].as_f64().unwrap_or(f64::NAN),
        v["fps"].as_f64().unwrap_or(f64::NAN),
        v["frames"]
    );
    println!(
        "browser CPU with 4 players (all chromium processes): {:.1}% of one core",
        v["browser_cpu_percent"].as_f64().unwrap_or(f64::NAN)
    );
    println!("live: {}", v["live"]);
}
