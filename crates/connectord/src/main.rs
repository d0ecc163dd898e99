use std::process::ExitCode;

use clap::Parser;
use connectord::{cli, config::Settings, telemetry};

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    // Generated from the command line itself: no settings needed.
    match args.command {
        cli::Command::Completions { shell } => {
            cli::generate::completions(shell);
            return ExitCode::from(cli::EXIT_OK);
        }
        cli::Command::Man => {
            return match cli::generate::man() {
                Ok(()) => ExitCode::from(cli::EXIT_OK),
                Err(error) => {
                    eprintln!("connectord: cannot write the man page: {error}");
                    ExitCode::from(cli::EXIT_FAILURE)
                }
            };
        }
        _ => {}
    }
    // `--config FILE` is `CONNECTORD_CONFIG` (clap already read the variable into it).
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(name, _)| name != "CONNECTORD_CONFIG")
        .collect();
    if let Some(file) = &args.config {
        env.push(("CONNECTORD_CONFIG".into(), file.display().to_string()));
    }
    let settings = match Settings::load_from(env) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("connectord: {error}");
            return ExitCode::from(cli::EXIT_BAD_INPUT);
        }
    };
    // The demo prints its own story on stdout; only warnings are logged unless RUST_LOG says.
    let log = match args.command {
        #[cfg(feature = "demo")]
        cli::Command::Demo => connectord::config::LogSettings {
            format: connectord::config::LogFormat::Pretty,
            filter: "warn".into(),
        },
        _ => settings.log.clone(),
    };
    telemetry::init(&log);
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
