//! Measuring the service as a user meets it: `serve` started as its own process on the
//! loaded data directory, and clients over HTTP on loopback.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::corpus::Organisation;
use crate::auth::{TokenKeys, User};
use crate::domain::case::Case;

/// How long `serve` may take to answer `/readyz` before the bench gives up.
const STARTUP_LIMIT: Duration = Duration::from_secs(1800);

/// How many requests each phase makes.
#[derive(Debug, Clone, Copy)]
pub struct Rounds {
    pub uploads: usize,
    pub suggestions: usize,
    pub accepts: usize,
}

/// What the clients measured.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub startup_s: f64,
    pub uploads: usize,
    pub rss_start_mb: f64,
    pub rss_end_mb: f64,
    pub uploads_per_s: f64,
    pub suggest_ms_1: Vec<f64>,
    pub suggest_ms_8: Vec<f64>,
    pub accept_ms: Vec<f64>,
    /// Share of the uploads whose first suggestion was their true case.
    pub top1: f64,
}

/// A `serve` process of the bench's own.
struct Instance {
    child: Child,
    url: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Instance {
    /// Starts `serve` on `data_dir` (and `store_url`, when not the default SQLite) and
    /// waits for `/readyz`; returns it with the seconds that took.
    async fn start(
        config: Option<&Path>,
        data_dir: &Path,
        store_url: &str,
        client: &reqwest::Client,
    ) -> anyhow::Result<(Instance, f64)> {
        let exe = std::env::current_exe().context("cannot find the journaliser program")?;
        let mut command = Command::new(exe);
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        command
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--bind")
            .arg("127.0.0.1:0")
            .env("JOURNALISER_STORE__URL", store_url)
            .env("JOURNALISER_LOG__FILTER", "warn")
            // The clients are a handful of users making thousands of requests.
            .env("JOURNALISER_SERVER__REQUESTS_PER_MINUTE", "100000000")
            .env("JOURNALISER_SYNC__INTERVAL_MINUTES", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let started = Instant::now();
        let mut child = command.spawn().context("cannot start journaliser serve")?;
        let stdout = child.stdout.take().context("no stdout from serve")?;
        let mut instance = Instance {
            child,
            url: String::new(),
        };
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            std::io::BufReader::new(stdout)
                .read_line(&mut line)
                .map(|_| line)
        })
        .await??;
        instance.url = line
            .trim()
            .strip_prefix("journaliser listening on ")
            .with_context(|| format!("serve did not start: {line:?}"))?
            .to_string();
        loop {
            let ready = client
                .get(format!("{}/readyz", instance.url))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                break;
            }
            if started.elapsed() > STARTUP_LIMIT {
                bail!("serve did not become ready within {STARTUP_LIMIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok((instance, started.elapsed().as_secs_f64()))
    }

    /// Resident memory of the process, in MiB.
    fn rss_mb(&self) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .context("cannot read the service's memory use")?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmRSS in /proc")?;
        Ok(kib / 1024.0)
    }
}

/// An upload the clients made, and the case it belongs on.
struct Uploaded {
    token: Arc<str>,
    item_id: String,
    case_id: String,
}

/// Starts `serve`, then uploads new mails with 4 clients, asks for their suggestions with 1
/// and with 8 clients, and files some of them.
pub async fn measure(
    config: Option<&Path>,
    data_dir: &Path,
    store_url: &str,
    organisation: &mut Organisation,
    cases: &[Case],
    rounds: Rounds,
) -> anyhow::Result<Measured> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(16)
        .build()?;
    let (instance, startup_s) = Instance::start(config, data_dir, store_url, &client).await?;
    let mut measured = Measured {
        startup_s,
        rss_start_mb: instance.rss_mb()?,
        ..Measured::default()
    };
    let keys = TokenKeys::load_or_create(data_dir).context("cannot read the token key")?;
    let mut tokens: std::collections::HashMap<String, Arc<str>> = Default::default();
    let mails: Vec<_> = (0..rounds.uploads)
        .map(|_| {
            let case = organisation.busy_case();
            organisation.new_mail(case)
        })
        .collect();
    let mut work = Vec::with_capacity(mails.len());
    for mail in mails {
        let token = tokens
            .entry(mail.owner.clone())
            .or_insert_with(|| {
                let user = User {
                    id: mail.owner.clone(),
                    name: mail.owner.clone(),
                    groups: vec!["social".into()],
                    admin: false,
                };
                keys.issue(&user, Duration::from_secs(24 * 3600)).into()
            })
            .clone();
        work.push((token, mail.bytes, cases[mail.case].id.clone()));
    }

    let started = Instant::now();
    let per_client = work.len().div_ceil(4).max(1);
    let mut clients = Vec::new();
    let mut chunks = Vec::new();
    while !work.is_empty() {
        let rest = work.split_off(per_client.min(work.len()));
        chunks.push(std::mem::replace(&mut work, rest));
    }
    for chunk in chunks {
        let (client, url) = (client.clone(), instance.url.clone());
        clients.push(tokio::spawn(async move {
            let mut uploaded = Vec::with_capacity(chunk.len());
            for (token, bytes, case_id) in chunk {
                let response = client
                    .post(format!("{url}/api/v1/items"))
                    .bearer_auth(&*token)
                    .header("content-type", "message/rfc822")
                    .body(bytes)
                    .send()
                    .await?;
                let body = answer(response, "upload").await?;
                let item_id = body["id"].as_str().context("no item id")?.to_string();
                uploaded.push(Uploaded {
                    token,
                    item_id,
                    case_id,
                });
            }
            anyhow::Ok(uploaded)
        }));
    }
    let mut uploaded = Vec::new();
    for client in clients {
        uploaded.extend(client.await??);
    }
    measured.uploads = uploaded.len();
    measured.uploads_per_s = uploaded.len() as f64 / started.elapsed().as_secs_f64();
    let uploaded = Arc::new(uploaded);

    let (one, hits) = suggest(&client, &instance.url, &uploaded, 1, rounds.suggestions).await?;
    measured.suggest_ms_1 = one;
    measured.top1 = hits as f64 / rounds.suggestions.min(uploaded.len()).max(1) as f64;
    measured.suggest_ms_8 = suggest(&client, &instance.url, &uploaded, 8, rounds.suggestions)
        .await?
        .0;

    for upload in uploaded.iter().take(rounds.accepts) {
        let started = Instant::now();
        let response = client
            .post(format!("{}/api/v1/filings", instance.url))
            .bearer_auth(&*upload.token)
            .json(&json!({"item_id": upload.item_id, "case_id": upload.case_id}))
            .send()
            .await?;
        answer(response, "filing").await?;
        measured.accept_ms.push(millis(started));
    }
    measured.rss_end_mb = instance.rss_mb()?;
    Ok(measured)
}

/// `total` suggestion requests spread over `clients` concurrent clients, cycling through the
/// uploads; the latency of each in ms, and how many had the true case first.
async fn suggest(
    client: &reqwest::Client,
    url: &str,
    uploaded: &Arc<Vec<Uploaded>>,
    clients: usize,
    total: usize,
) -> anyhow::Result<(Vec<f64>, usize)> {
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, url, uploaded) = (client.clone(), url.to_string(), uploaded.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut hits = 0;
            for n in (c..total).step_by(clients) {
                let upload = &uploaded[n % uploaded.len()];
                let started = Instant::now();
                let response = client
                    .get(format!("{url}/api/v1/items/{}/suggestions", upload.item_id))
                    .bearer_auth(&*upload.token)
                    .send()
                    .await?;
                let body = answer(response, "suggestions").await?;
                latencies.push(millis(started));
                if body["suggestions"][0]["case"]["id"].as_str() == Some(&upload.case_id) {
                    hits += 1;
                }
            }
            anyhow::Ok((latencies, hits))
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    let mut hits = 0;
    for task in tasks {
        let (some, h) = task.await??;
        latencies.extend(some);
        hits += h;
    }
    Ok((latencies, hits))
}

/// The JSON of a successful answer, or an error naming what was asked and the status.
async fn answer(response: reqwest::Response, what: &str) -> anyhow::Result<Value> {
    let status = response.status();
    let body = response.text().await?;
    if !status.is_success() {
        bail!("{what} answered {status}: {body}");
    }
    Ok(serde_json::from_str(&body)?)
}

fn millis(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}
