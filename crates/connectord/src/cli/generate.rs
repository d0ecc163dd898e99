//! `connectord completions SHELL` and `connectord man`: generated from the command line's own
//! definition (clap_complete, clap_mangen), so they never drift from it. Both print to
//! standard output and need no settings.

use clap::CommandFactory as _;

use super::Cli;

/// Shells `completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

/// The completion script for `shell` on standard output.
pub fn completions(shell: Shell) {
    use clap_complete::Shell as S;
    let shell = match shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
        Shell::Elvish => S::Elvish,
        Shell::Powershell => S::PowerShell,
    };
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "connectord", &mut std::io::stdout());
}

/// The man page (roff, section 1) on standard output.
pub fn man() -> std::io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every subcommand and every argument of every subcommand, with no help text.
    fn undescribed(command: &clap::Command, path: &str, out: &mut Vec<String>) {
        for arg in command.get_arguments() {
            let builtin = matches!(arg.get_id().as_str(), "help" | "version");
            if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                out.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in command.get_subcommands() {
            let here = format!("{path} {}", sub.get_name());
            if sub.get_name() != "help" && sub.get_about().is_none() {
                out.push(here.clone());
            }
            undescribed(sub, &here, out);
        }
    }

    #[test]
    fn help_describes_every_command_and_every_argument() {
        let mut missing = Vec::new();
        undescribed(&Cli::command(), "connectord", &mut missing);
        assert!(missing.is_empty(), "undescribed in --help: {missing:?}");
        Cli::command().debug_assert();
    }
}
