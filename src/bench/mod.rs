//! `journaliser bench`: builds a synthetic organisation of a given size in a fresh data
//! directory through the bulk paths, then measures `serve` on it as a user meets it (start-up,
//! memory, uploads, suggestions, filings over HTTP), on SQLite and, when given, PostgreSQL.
//! See `docs/PERFORMANCE.md`.

mod corpus;
mod load;
mod measure;
mod report;

use std::path::{Path, PathBuf};

use anyhow::Context;
use sqlx::{Connection, Executor};

use crate::config::Config;
use crate::server::Services;
use corpus::Organisation;
use measure::Rounds;

pub use report::{Point, Report, Row, plot};

/// The sizes the plot is drawn at, as far as the organisation asked for goes.
const PLOT_SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];

pub struct BenchOptions {
    pub cases: usize,
    pub documents: usize,
    /// Fewer requests per phase, for the small organisation.
    pub small: bool,
    /// Where the organisations are built; a temporary directory, removed afterwards, if none.
    pub dir: Option<PathBuf>,
    /// A PostgreSQL server to measure the same organisation on (a database of its own is
    /// made there).
    pub postgres: Option<String>,
    /// Also measure smaller organisations for the plot of suggestion latency against size.
    pub plot: bool,
    /// The configuration file `serve` is started with.
    pub config_file: Option<PathBuf>,
    pub progress: bool,
}

/// Fills `services` (a fresh data directory) with the bench's organisation of `cases` and
/// `documents` through the bulk paths, and nothing else: for evaluations that need an
/// organisation of that shape without measuring the service on it.
pub async fn build(
    services: &Services,
    cases: usize,
    documents: usize,
    progress: bool,
) -> anyhow::Result<()> {
    let mut organisation = Organisation::new(cases, documents);
    load::load(services, &mut organisation, documents, progress).await?;
    Ok(())
}

/// Builds and measures the organisation (and the smaller ones for the plot).
pub async fn run(options: &BenchOptions, config: &Config) -> anyhow::Result<Report> {
    anyhow::ensure!(
        options.cases > 0 && options.documents > 0,
        "--cases and --documents must be at least 1"
    );
    let (base, temporary) = match &options.dir {
        Some(dir) => {
            let empty = std::fs::read_dir(dir).map_or(true, |mut d| d.next().is_none());
            anyhow::ensure!(empty, "{} must be missing or empty", dir.display());
            (dir.clone(), false)
        }
        None => (
            std::env::temp_dir().join(format!("journaliser-bench-{}", std::process::id())),
            true,
        ),
    };
    std::fs::create_dir_all(&base).with_context(|| format!("cannot create {}", base.display()))?;
    let result = run_in(options, config, &base).await;
    if temporary {
        let _ = std::fs::remove_dir_all(&base);
    }
    result
}

async fn run_in(options: &BenchOptions, config: &Config, base: &Path) -> anyhow::Result<Report> {
    let rounds = match options.small {
        true => Rounds {
            uploads: 400,
            suggestions: 200,
            accepts: 100,
        },
        false => Rounds {
            uploads: 2_000,
            suggestions: 1_000,
            accepts: 300,
        },
    };
    let size = (options.documents, options.cases);
    let sqlite = measure_one(options, config, base, size, None, rounds).await?;
    let postgres = match &options.postgres {
        Some(server) => Some(measure_one(options, config, base, size, Some(server), rounds).await?),
        None => None,
    };
    let mut plot = Vec::new();
    if options.plot {
        for documents in PLOT_SIZES.into_iter().filter(|d| *d < options.documents) {
            let cases = (options.cases * documents / options.documents).max(10);
            let row = measure_one(options, config, base, (documents, cases), None, rounds).await?;
            plot.push(Point::of(&row));
        }
        plot.push(Point::of(&sqlite));
    }
    Ok(Report {
        sqlite,
        postgres,
        plot,
    })
}

/// One organisation of `documents` on `cases`, built in a data directory of its own under
/// `base` (and a fresh database on the PostgreSQL `server`, if given), then measured.
async fn measure_one(
    options: &BenchOptions,
    config: &Config,
    base: &Path,
    (documents, cases): (usize, usize),
    server: Option<&str>,
    rounds: Rounds,
) -> anyhow::Result<Row> {
    let store = if server.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let data_dir = base.join(format!("{store}-{documents}"));
    let database = format!("journaliser_bench_{documents}");
    let mut config = config.clone();
    config.data_dir = data_dir.clone();
    config.store.url = match server {
        Some(server) => {
            let mut admin = admin_connection(server).await?;
            admin
                .execute(format!("DROP DATABASE IF EXISTS {database}").as_str())
                .await?;
            admin
                .execute(format!("CREATE DATABASE {database}").as_str())
                .await?;
            admin.close().await?;
            with_database(server, &database)
        }
        None => String::new(),
    };
    let store_url = config.store.url.clone();
    let mut organisation = Organisation::new(cases, documents);
    let services = Services::open(config.clone()).await?;
    let loaded = load::load(&services, &mut organisation, documents, options.progress).await?;
    let store_mb = match server {
        Some(_) => services.store.size_on_disk().await? as f64,
        None => files_size(&data_dir, |name| name.starts_with("journaliser.db")) as f64,
    } / 1e6;
    services.store.close().await;
    drop(services);
    let index_mb = files_size(&config.index_dir(), |_| true) as f64 / 1e6;
    let measured = measure::measure(
        options.config_file.as_deref(),
        &data_dir,
        &store_url,
        &mut organisation,
        &loaded.cases,
        rounds,
    )
    .await?;
    if let Some(server) = server {
        admin_connection(server)
            .await?
            .execute(format!("DROP DATABASE {database}").as_str())
            .await?;
    }
    Ok(Row::new(
        store,
        (loaded.documents, loaded.cases.len()),
        loaded.documents as f64 / loaded.seconds.max(1e-9),
        (store_mb, index_mb),
        &measured,
    ))
}

/// Bytes of the files in `dir` (not below) whose names `wanted` says.
fn files_size(dir: &Path, wanted: impl Fn(&str) -> bool) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| wanted(&entry.file_name().to_string_lossy()))
        .filter_map(|entry| entry.metadata().ok())
        .filter(|meta| meta.is_file())
        .map(|meta| meta.len())
        .sum()
}

/// A connection to the PostgreSQL server of `url`, for making and dropping the bench's
/// database.
async fn admin_connection(url: &str) -> anyhow::Result<sqlx::postgres::PgConnection> {
    sqlx::postgres::PgConnection::connect(url)
        .await
        .with_context(|| format!("cannot reach {}", crate::store::redacted_url(url)))
}

/// `url` naming database `name` instead of its own.
fn with_database(url: &str, name: &str) -> String {
    let (address, query) = url
        .split_once('?')
        .map_or((url, None), |(a, q)| (a, Some(q)));
    let authority_start = address.find("://").map_or(0, |i| i + 3);
    let path_start = address[authority_start..]
        .find('/')
        .map_or(address.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &address[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_url_names_another_database() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "b"),
            "postgres://postgres@127.0.0.1:5432/b"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "b"),
            "postgres://u:p@h/b?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "b"), "postgres://h/b");
    }
}
