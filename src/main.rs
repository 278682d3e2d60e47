//! The `journaliser` binary: parse the command line and run it; errors end as one line.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match journaliser::cli::Cli::parse().run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("journaliser: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
