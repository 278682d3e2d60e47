//! HTTPS from the real binary: `serve --tls-self-signed` makes a local certificate authority
//! and a localhost certificate once, serves with them, keeps them across restarts, and stops
//! gracefully; `--demo` prints a sign-in link for trying the pane.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

use reqwest::StatusCode;
use serde_json::Value;

use crate::process::journaliser;

struct Started {
    child: Child,
    /// `https://127.0.0.1:PORT`.
    base: String,
    /// What the service wrote on stderr up to its "Prøv det" line.
    log: Vec<String>,
}

/// Starts `serve --tls-self-signed --demo` and reads its address and its sign-in link.
fn start(dir: &Path) -> Started {
    let mut child = journaliser(dir)
        .args([
            "serve",
            "--tls-self-signed",
            "--demo",
            "--bind",
            "127.0.0.1:0",
        ])
        .env("JOURNALISER_LOG__FILTER", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(base.starts_with("https://127.0.0.1:"), "{line:?}");
    // The log is read to its end on a thread of its own, so the service never writes into a
    // closed pipe.
    let (lines, read) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let _ = lines.send(line);
        }
    });
    let mut log = Vec::new();
    for line in read.iter() {
        let done = line.starts_with("Prøv det: ");
        log.push(line);
        if done {
            break;
        }
    }
    assert!(
        log.last().is_some_and(|l| l.starts_with("Prøv det: ")),
        "no sign-in link: {log:?}"
    );
    Started { child, base, log }
}

fn stop(mut started: Started) {
    let pid = started.child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = started.child.wait().unwrap();
    assert!(status.success(), "a graceful stop exits cleanly: {status}");
}

fn trusting(authority: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(authority).unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_binary_serves_https_with_a_certificate_it_makes_once() {
    let dir = tempfile::tempdir().unwrap();
    let started = start(dir.path());
    let tls = dir.path().join("data/tls");
    let authority = std::fs::read(tls.join("journaliser-local-ca.pem")).unwrap();
    let port = started.base.rsplit(':').next().unwrap().to_string();

    // A client that trusts the local authority reaches the service by name and by address.
    let client = trusting(&authority);
    for base in [format!("https://localhost:{port}"), started.base.clone()] {
        let health = client.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(health.status(), StatusCode::OK, "{base}");
    }
    // One that does not, does not: this is real TLS.
    let stranger = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    assert!(
        stranger
            .get(format!("{}/healthz", started.base))
            .send()
            .await
            .is_err()
    );

    // The manifests point to this address, as Office will load them from it.
    let manifest = client
        .get(format!(
            "https://localhost:{port}/addin/manifest/outlook.xml"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(manifest.status(), StatusCode::OK);
    let manifest = manifest.text().await.unwrap();
    assert!(manifest.contains(&format!("https://localhost:{port}/addin/outlook.html")));

    // The demo's sign-in link opens the pane and carries a working token, and nothing else.
    let link = started
        .log
        .last()
        .unwrap()
        .trim_start_matches("Prøv det: ")
        .to_string();
    assert!(
        link.starts_with(&format!("https://127.0.0.1:{port}/addin/#token=")),
        "{link}"
    );
    let cpr_shaped = regex::Regex::new(r"\b\d{6}-?\d{4}\b").unwrap();
    for line in &started.log {
        assert!(
            !cpr_shaped.is_match(line),
            "a CPR-shaped number in the log: {line}"
        );
    }
    let token = link.split("#token=").nth(1).unwrap();
    let cases: Value = client
        .get(format!("{}/api/v1/cases?q=carport", started.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!cases["cases"].as_array().unwrap().is_empty(), "{cases}");
    stop(started);

    // A restart keeps the certificate users have come to trust.
    let certificate = std::fs::read(tls.join("localhost.pem")).unwrap();
    let again = start(dir.path());
    assert_eq!(
        std::fs::read(tls.join("localhost.pem")).unwrap(),
        certificate
    );
    assert_eq!(
        std::fs::read(tls.join("journaliser-local-ca.pem")).unwrap(),
        authority
    );
    let health = trusting(&authority)
        .get(format!("{}/healthz", again.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    stop(again);
}
