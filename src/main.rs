use std::process::ExitCode;

use clap::Parser;
use connectord::{cli, config::Settings, telemetry};

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("connectord: {error}");
            return ExitCode::from(cli::EXIT_BAD_INPUT);
        }
    };
    telemetry::init(&settings.log);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("connectord: cannot start the async runtime: {error}");
            return ExitCode::from(cli::EXIT_FAILURE);
        }
    };
    match runtime.block_on(cli::run(args, settings)) {
        Ok(()) => ExitCode::from(cli::EXIT_OK),
        Err(error) => {
            // One line, with the whole cause chain.
            eprintln!("connectord: {error:#}");
            ExitCode::from(cli::exit_code(&error))
        }
    }
}
