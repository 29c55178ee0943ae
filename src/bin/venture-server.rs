//! venture-server: the dedicated server. Flags follow the deployment guide (Go-style
//! `-port 8080` and `--port 8080` both work); `LOG_LEVEL` and `LOG_FORMAT` set logging.
//! Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT) or `-help`/`-version`,
//! 1 when the server cannot start, 2 for invalid flags, 4 when its hot standby took over
//! and told it so (it stops rather than serve the same world twice).

#![forbid(unsafe_code)]

use std::process::ExitCode;

use venture::ops::cli::{self, CliOutcome};
use venture::server::ServerApp;

fn main() -> ExitCode {
    let config = match cli::parse_server_args(std::env::args()) {
        Ok(CliOutcome::Run(config)) => config,
        Ok(CliOutcome::Help(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Ok(CliOutcome::Version) => {
            println!(
                "{}",
                cli::version_string(
                    venture_sim::SIM_VERSION,
                    venture_net::protocol::PROTOCOL_VERSION
                )
            );
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("venture-server: {e}");
            return ExitCode::from(2);
        }
    };
    match venture::ops::logging::init(config.verbose) {
        Ok(settings) => {
            for w in settings.warnings {
                log::warn!(target: "venture::server", component = "server"; "{w}");
            }
        }
        Err(e) => eprintln!("venture-server: logging unavailable: {e}"),
    }
    let result = if config.standby_of.is_some() {
        venture::server::standby::run(config)
    } else {
        ServerApp::bind(config).and_then(ServerApp::run)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ venture::server::ServerError::Replaced(_)) => {
            venture::fatal!(component = "standby", error:% = e; "stopped: this server was replaced by its standby");
            eprintln!("venture-server: {e}");
            ExitCode::from(4)
        }
        Err(e) => {
            // The guide's words: "failed to bind port 8080" at level fatal, exit 1.
            match e.bind_port() {
                Some(port) => {
                    venture::fatal!(component = "server", port = port, error:% = e; "failed to bind port {port}")
                }
                None => {
                    venture::fatal!(component = "server", error:% = e; "failed to start server")
                }
            }
            eprintln!("venture-server: failed to start server: {e}");
            ExitCode::from(1)
        }
    }
}
