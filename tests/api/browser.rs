//! The add-in panes in a real browser: the Node scripts in `tests/browser` drive Debian's
//! Chromium (with an injected fake `Office`) against this server's pages and API.
//!
//! Missing Node.js or Chromium fails the test under `CI=true` and skips it with a note
//! otherwise. Screenshots of the panes at 320 px, and of the admin console's pages, go to
//! `<target>/tmp/browser-screenshots/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::graph_standin::GraphStandin;
use crate::helpers::*;

/// Long enough for every scenario on a slow machine, short enough to end a hung browser.
const DEADLINE: Duration = Duration::from_secs(300);

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

fn runs(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Whether the browser tests can run here; `None` with the reason when they cannot.
fn missing_tools() -> Option<String> {
    let mut missing = Vec::new();
    if !runs("node", "--version") || !runs("npm", "--version") {
        missing.push("Node.js and npm".to_string());
    }
    if !chromium().is_file() {
        missing.push(format!("Chromium ({})", chromium().display()));
    }
    (!missing.is_empty()).then(|| missing.join(" and "))
}

/// Whether to go on: missing tools fail under `CI=true` and skip the test with a note otherwise.
fn tools_at_hand() -> bool {
    let Some(missing) = missing_tools() else {
        return true;
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the browser tests need {missing}; CI must install them"
    );
    eprintln!("skipped: the browser tests need {missing}");
    false
}

fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// `npm ci` once, when the pinned Playwright is not installed yet.
fn install(project: &Path) {
    if project.join("node_modules/playwright-core").is_dir() {
        return;
    }
    let output = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(project)
        .output()
        .expect("npm runs");
    assert!(
        output.status.success(),
        "npm ci failed in tests/browser:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs the scenarios against `base` (the panes', or with `suite` `["admin"]` the admin
/// console's); returns whether they passed, and what they printed.
fn run_scenarios(
    suite: &[&str],
    base: &str,
    token: &str,
    admin_token: &str,
    screenshots: &Path,
) -> (bool, String) {
    let project = project();
    install(&project);
    let log_dir = tempfile::tempdir().unwrap();
    let log_path = log_dir.path().join("browser.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new("node")
        .arg("run.js")
        .args(suite)
        .current_dir(&project)
        .env("JOURNALISER_URL", base)
        .env("JOURNALISER_TOKEN", token)
        .env("JOURNALISER_ADMIN_TOKEN", admin_token)
        .env("SCREENSHOT_DIR", screenshots)
        .env("CHROMIUM", chromium())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("node runs");
    let started = Instant::now();
    let mut timed_out = false;
    let passed = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.success();
        }
        if started.elapsed() > DEADLINE {
            timed_out = true;
            let _ = child.kill();
            let _ = child.wait();
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut output = std::fs::read_to_string(&log_path).unwrap_or_default();
    if timed_out {
        output.push_str(&format!("\nstopped after {} s\n", DEADLINE.as_secs()));
    }
    (passed, output)
}

#[tokio::test]
async fn the_add_in_panes_work_in_chromium() {
    if !tools_at_hand() {
        return;
    }
    // The service may read Anna's mailbox (the Graph stand-in), so the pane offers to follow
    // a thread.
    let graph = GraphStandin::start().await;
    graph.add_mail_user("anna");
    let entra = graph.entra_app();
    let app = TestApp::spawn_with(move |c| c.threads.entra = Some(entra)).await;
    // The plan's excerpt, for choosing a new case's subject by searching it.
    let plan = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/kle/openesdh");
    let imported = Command::new(env!("CARGO_BIN_EXE_journaliser"))
        .args([
            "--config",
            "/dev/null",
            "import",
            "kle",
            "--excerpt",
            "--data-dir",
        ])
        .arg(&app.data_dir)
        .arg(plan.join("test-kle-emneplan.xml"))
        .arg(plan.join("test-kle-facetter.xml"))
        .output()
        .unwrap();
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    let (base, token, admin) = (app.base.clone(), app.token.clone(), app.admin_token.clone());
    let target = screenshots.clone();
    // The scripts run on a blocking thread while this runtime keeps serving their requests.
    let (passed, output) =
        tokio::task::spawn_blocking(move || run_scenarios(&[], &base, &token, &admin, &target))
            .await
            .unwrap();
    assert!(passed, "the browser scenarios failed:\n{output}");
    eprintln!("{output}screenshots in {}", screenshots.display());
}

/// Texts filed after their suggestions were shown, and the case each was filed on: the first
/// suggestion, another, or one that may not have been suggested, so that the quality page has
/// every kind of figure to show.
const REPLAYED: [(&str, &str); 4] = [
    (
        "Vedr. tilbygning på Strandvejen 41: tegningerne følger",
        "VK-2026-0001",
    ),
    (
        "Carport på Skovvej 12 – naboens bemærkninger",
        "VK-2026-0007",
    ),
    ("Sne på Engvej er stadig ikke ryddet", "VK-2026-0014"),
    ("Spørgsmål om udeservering ved Café Mågen", "VK-2026-0036"),
];

#[tokio::test]
async fn the_admin_console_works_in_chromium() {
    if !tools_at_hand() {
        return;
    }
    let app = TestApp::spawn_with(|config| config.filing.max_attempts = 1).await;
    for (text, case) in REPLAYED {
        let item: Value = app
            .post_item(text.as_bytes().to_vec(), "text/plain")
            .await
            .json()
            .await
            .unwrap();
        let id = item["id"].as_str().unwrap();
        app.suggestions(id).await;
        let filing: Value = app.file(filing_body(id, case)).await.json().await.unwrap();
        app.wait_settled(filing["id"].as_str().unwrap()).await;
    }
    // One filing fails for good, for the overview to retry.
    app.fail_one_filing("VK-2026-0031").await;
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    let (base, token, admin) = (app.base.clone(), app.token.clone(), app.admin_token.clone());
    let target = screenshots.clone();
    let (passed, output) = tokio::task::spawn_blocking(move || {
        run_scenarios(&["admin"], &base, &token, &admin, &target)
    })
    .await
    .unwrap();
    assert!(passed, "the admin console's scenarios failed:\n{output}");
    eprintln!("{output}screenshots in {}", screenshots.display());
}
