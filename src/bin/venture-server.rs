//! venture-server: the dedicated server. The network engine (issue 5) is not in this build
//! yet, so the binary says so and exits non-zero rather than pretending to serve.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("venture-server: the network engine is not built yet; use venture-world to generate and simulate worlds");
    ExitCode::from(1)
}
