//! venture-client: in a terminal, the game a person plays; with --bot/--bots or without a
//! terminal, a headless client that joins a server and plays with a bot.
//! Exit codes: 0 when no desync happened, 1 after a desync, 2 for invalid arguments,
//! 3 when the server could not be reached or refused us.

use std::process::ExitCode;

use venture::client::{self, ClientArgs};

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let normalised = venture::cli::normalise_args(argv.iter().skip(1).cloned());
    let strs: Vec<&str> = normalised.iter().map(String::as_str).collect();
    let args = match <ClientArgs as argh::FromArgs>::from_args(&["venture-client"], &strs) {
        Ok(a) => a,
        Err(early) => {
            return match early.status {
                Ok(()) => {
                    print!("{}", early.output);
                    ExitCode::SUCCESS
                }
                Err(()) => {
                    eprintln!("venture-client: {}", early.output.trim());
                    ExitCode::from(2)
                }
            };
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
            } else if outcome.connect_failure.is_some() {
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
