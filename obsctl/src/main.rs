//! `obsctl`: render and lint the dashboards and alarms of ddb-stream-processor.
//!
//! Exit codes: 0 when everything is as it should be, 1 when `render --check` finds a stale file or
//! `lint` finds a problem, 2 when the command cannot run (a file cannot be read, a definition is
//! broken).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use obsctl::definitions::Definitions;
use obsctl::lint::{Problem, contract, dashboard};
use obsctl::render;

/// Render, lint, diff and apply the dashboards and alarms kept next to the code.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// The repository root (where template.yaml, dashboards/ and alarms/ are).
    #[arg(long, global = true, default_value = ".")]
    repo: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write template.yaml's generated regions and the README's alarm table from dashboards/ and alarms/.
    Render {
        /// Change nothing; exit 1 when a generated region is stale.
        #[arg(long)]
        check: bool,
    },
    /// Check dashboards/ and alarms/ offline: dashboard rules and the metric catalog contract.
    Lint,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Render { check } => run_render(&cli.repo, check),
        Command::Lint => run_lint(&cli.repo),
    }
}

fn run_render(repo: &std::path::Path, check: bool) -> ExitCode {
    let files = match render::render(repo) {
        Ok(files) => files,
        Err(error) => {
            eprintln!("obsctl render: {error}");
            return ExitCode::from(2);
        }
    };
    let stale: Vec<_> = files.iter().filter(|file| file.is_stale()).collect();
    if check {
        if stale.is_empty() {
            println!(
                "up to date: {}",
                files
                    .iter()
                    .map(|file| file.path.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return ExitCode::SUCCESS;
        }
        for file in stale {
            eprintln!(
                "obsctl render --check: {} is stale; run `cargo run -p obsctl -- render` and commit the result",
                file.path.display()
            );
        }
        return ExitCode::from(1);
    }
    match render::write(&files) {
        Ok(written) if written.is_empty() => {
            println!("nothing to do: the generated regions are up to date");
            ExitCode::SUCCESS
        }
        Ok(written) => {
            for path in written {
                println!("wrote {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("obsctl render: {error}");
            ExitCode::from(2)
        }
    }
}

fn run_lint(repo: &std::path::Path) -> ExitCode {
    let definitions = match Definitions::load(repo) {
        Ok(definitions) => definitions,
        Err(error) => {
            eprintln!("obsctl lint: {error}");
            return ExitCode::from(2);
        }
    };
    let mut problems: Vec<Problem> = Vec::new();
    for board in &definitions.dashboards {
        problems.extend(dashboard::lint(
            &board.body,
            &format!("dashboards/{}.json", board.name),
        ));
    }
    problems.extend(contract::check(&definitions));
    if problems.is_empty() {
        println!(
            "{} dashboard(s) and {} alarm(s): no problem",
            definitions.dashboards.len(),
            definitions.alarms.len()
        );
        return ExitCode::SUCCESS;
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    eprintln!("{} problem(s)", problems.len());
    ExitCode::from(1)
}
