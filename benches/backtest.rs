//! How long `POST /api/v1/admin/backtest` takes over 10,000 filings, on the real service with
//! a SQLite store: the demo organisation, 10,000 items each filed by a person after being shown
//! three suggestions with a recorded confidence and feature values, then the backtest of a
//! threshold and of a change of ranker weights over all of them, answered over HTTP. Prints the
//! time of each of three runs of each; exits 1 if one takes 10 s or more.
//!
//! `cargo bench --locked --profile dev --bench backtest` (the dev profile's dependencies are
//! optimised; a release build takes the same path).

use std::path::Path;
use std::time::{Duration, Instant};

use journaliser::auth::{TokenKeys, User};
use journaliser::config::Config;
use journaliser::extract::Format;
use journaliser::server::Server;
use journaliser::store::{FilingOptions, NewFiling, NewItem, ShownCase};
use journaliser::suggest::{Feature, FeatureValues};
use serde_json::{Value, json};

const FILINGS: usize = 10_000;
const BUDGET: Duration = Duration::from_secs(10);
const CASES: usize = 36;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = Config::load(Some(Path::new("/dev/null")), Vec::new())?;
    config.data_dir = dir.path().to_path_buf();
    config.server.bind = "127.0.0.1:0".parse()?;
    config.sync.interval_minutes = 0;
    let server = Server::build(config).await?;
    journaliser::demo::seed_if_empty(server.services()).await?;
    let services = server.services();
    let store = services.store.clone();

    let seeding = Instant::now();
    let text = b"Henvendelse om byggesagen: vi sender de reviderede tegninger.";
    let extracted = services.extractor.extract(text, Format::Text)?;
    for n in 0..FILINGS {
        let case = |k: usize| format!("VK-2026-{:04}", (n + k) % CASES + 1);
        let sha = format!("{n:064x}");
        let (item, _) = store
            .insert_item(NewItem {
                owner: "bench",
                sha256: &sha,
                original: text,
                extracted: &extracted,
            })
            .await?;
        let ids = [case(0), case(1), case(2)];
        // Confidence spread over 0.3–1; the first suggestion right about as often as it says.
        let confidence = 0.3 + 0.7 * ((n as f64 * 0.618_033_988_75) % 1.0);
        // The first case most like the text, the others known by the sender, more or less.
        let features: Vec<FeatureValues> = (0..ids.len())
            .map(|place| {
                let mut values = [0.0; Feature::ALL.len()];
                values[Feature::Classifier as usize] = confidence / (place + 1) as f64;
                values[Feature::TextDocuments as usize] = 1.0 / (place + 1) as f64;
                values[Feature::Sender as usize] = ((n + place) % 5) as f64 / 5.0;
                values[Feature::Recency as usize] = 0.5;
                FeatureValues::of(&values)
            })
            .collect();
        let shown: Vec<ShownCase> = ids
            .iter()
            .zip(&features)
            .map(|(case_id, features)| ShownCase {
                case_id,
                confidence,
                features,
            })
            .collect();
        store.record_shown(&item.id, "bench", &shown).await?;
        let right = if (n % 100) as f64 / 100.0 < confidence {
            case(0)
        } else if n % 3 == 0 {
            case(1)
        } else {
            case(7)
        };
        store
            .create_filing_with(
                NewFiling {
                    item_id: &item.id,
                    case_id: &right,
                    dedupe_key: format!("bench-{n}"),
                    title: "Henvendelse om byggesagen",
                    attachments: &[],
                    created_by: "bench",
                },
                &FilingOptions::default(),
            )
            .await?;
    }
    println!(
        "seeded {FILINGS} filings in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let keys = TokenKeys::load_or_create(dir.path())?;
    let admin = User {
        id: "root".into(),
        name: "root".into(),
        groups: Vec::new(),
        admin: true,
    };
    let token = keys.issue(&admin, Duration::from_secs(3600));
    let base = format!("http://{}", server.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let mut over = false;
    let changes = [
        json!({"confidence_threshold": 0.9}),
        json!({"ranker_weights": {"sender": 3.0, "classifier": 1.0}}),
    ];
    for change in changes {
        for run in 1..=3 {
            let started = Instant::now();
            let answer: Value = client
                .post(format!("{base}/api/v1/admin/backtest"))
                .bearer_auth(&token)
                .json(&json!({"change": change, "limit": FILINGS}))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let took = started.elapsed();
            over |= took >= BUDGET;
            println!(
                "backtest {change} {run}: {} filings in {:.3} s (changed: {})",
                answer["examined"],
                took.as_secs_f64(),
                answer["changed_count"],
            );
            assert_eq!(answer["examined"], FILINGS, "{answer}");
        }
    }
    let _ = stop.send(());
    let _ = running.await;
    if over {
        eprintln!("a backtest took {} s or more", BUDGET.as_secs());
        std::process::exit(1);
    }
    Ok(())
}
