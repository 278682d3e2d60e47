//! `journaliser bench` at a size the debug build runs in seconds: the command builds its
//! organisation and measures every figure, on SQLite and, when a PostgreSQL server answers
//! (always under `CI=true`), on PostgreSQL. Results only; timings are never asserted.

use serde_json::Value;
use sqlx::{Connection, PgConnection};

use crate::process::{journaliser, output};

const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const CASES: u64 = 50;
const DOCUMENTS: u64 = 500;

const FIGURES: [&str; 14] = [
    "bulk_docs_per_s",
    "store_mb",
    "index_mb",
    "startup_s",
    "rss_mb",
    "rss_after_mb",
    "uploads_per_s",
    "suggest_p50_ms_1",
    "suggest_p99_ms_1",
    "suggest_p50_ms_8",
    "suggest_p99_ms_8",
    "accept_p50_ms",
    "accept_p99_ms",
    "suggest_top1",
];

fn assert_row(row: &Value, store: &str) {
    assert_eq!(row["store"], store, "{row}");
    assert_eq!(
        (row["documents"].as_u64(), row["cases"].as_u64()),
        (Some(DOCUMENTS), Some(CASES))
    );
    for figure in FIGURES {
        let value = row[figure].as_f64();
        assert!(value.is_some_and(|v| v > 0.0), "{store} {figure}: {row}");
    }
    let requests = &row["requests"];
    assert!(requests["uploads"].as_u64().is_some_and(|n| n > 0), "{row}");
    assert_eq!(
        (
            requests["suggestions_1"].as_u64(),
            requests["suggestions_8"].as_u64()
        ),
        (Some(1_000), Some(1_000))
    );
    assert_eq!(requests["accepts"], 300, "{row}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bench_measures_every_figure_at_a_size_the_debug_build_runs_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        std::env::var("JOURNALISER_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_SERVER.into());
    let postgres = match PgConnection::connect(&server).await {
        Ok(connection) => {
            connection.close().await.unwrap();
            true
        }
        Err(error) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "no PostgreSQL at {server} ({error}); CI needs it (.ci/run starts one)"
            );
            eprintln!("PostgreSQL row skipped: no server at {server}: {error}");
            false
        }
    };
    let plot = dir.path().join("plot.svg");
    let mut command = journaliser(dir.path());
    command
        .args([
            "--config",
            "/dev/null",
            "bench",
            "--cases",
            &CASES.to_string(),
            "--documents",
            &DOCUMENTS.to_string(),
            "--json",
            "--dir",
        ])
        .arg(dir.path().join("bench"))
        .arg("--plot")
        .arg(&plot);
    if postgres {
        command.args(["--postgres", &server]);
    }
    let report: Value = serde_json::from_str(&output(&mut command)).unwrap();
    assert_row(&report, "sqlite");
    if postgres {
        assert_row(&report["postgres"], "postgres");
    }
    // The plot: no standard size lies below the documents asked for, so only that one.
    let points: Vec<u64> = report["plot"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["documents"].as_u64().unwrap())
        .collect();
    assert_eq!(points, [DOCUMENTS]);
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains(">500<"), "{svg}");
}
