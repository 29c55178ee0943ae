//! venture-client: in a terminal, the game a person plays; with --bot/--bots or without a
//! terminal, a headless client that joins a server and plays with a bot.
//! Exit codes: 0 when no desync happened, 1 after a desync, 2 for invalid arguments,
//! 3 when the server could not be reached or refused us, or was lost and did not come back
//! within `--reconnect-for`.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use venture::client::{self, ClientArgs};
use venture::flags::Parsed;

fn main() -> ExitCode {
    let args: ClientArgs = match client::SPEC.parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Help(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("venture-client: {e}");
            return ExitCode::from(2);
        }
    };
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .try_init();
    let result = if client::interactive(&args) {
        client::run_interactive(args)
    } else {
        client::run(args)
    };
    match result {
        Ok(outcome) => {
            if outcome.desynced {
                ExitCode::from(1)
            } else if outcome.connect_failure.is_some() || outcome.server_lost.is_some() {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(client::ClientError::Args(msg)) => {
            eprintln!("venture-client: {msg}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("venture-client: {e}");
            ExitCode::from(3)
        }
    }
}
