//! Running the real `journaliser` binary in a temporary directory, as an operator would.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const BINARY: &str = env!("CARGO_BIN_EXE_journaliser");

pub fn journaliser(dir: &Path) -> Command {
    let mut command = Command::new(BINARY);
    command
        .current_dir(dir)
        .env("JOURNALISER_DATA_DIR", dir.join("data"))
        .env("JOURNALISER_FILING__INITIAL_BACKOFF_SECS", "1")
        .env("JOURNALISER_FILING__MAX_BACKOFF_SECS", "2")
        .env("JOURNALISER_FILING__POLL_INTERVAL_MS", "50")
        .env("JOURNALISER_INDEX__WRITER_MEMORY_MB", "15")
        .env("JOURNALISER_LOG__FILTER", "warn");
    command
}

pub fn output(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Starts `journaliser serve` on a free port and returns it with its base URL.
pub fn serve(dir: &Path) -> (Child, String) {
    serve_with(journaliser(dir), Stdio::inherit())
}

/// Starts `serve` from a prepared command, its log (stderr) going to `log`.
pub fn serve_with(mut command: Command, log: Stdio) -> (Child, String) {
    let mut child = command
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(
        base.starts_with("http://127.0.0.1:"),
        "unexpected first line {line:?}"
    );
    (child, base)
}
