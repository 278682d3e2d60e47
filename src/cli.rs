//! Command-line interface: `serve`, `token`, `manifest`, `backup`, `restore`, `import cases`,
//! `import documents`, `import kle`, `eval replay`, `eval kle` and `bench`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::auth::{TokenKeys, User};
use crate::config::Config;
use crate::eval::{Protocol, ReplayOptions};
use crate::import::Parties;
use crate::server::{Server, Services, shutdown_signal};

#[derive(Parser)]
#[command(
    name = "journaliser",
    version,
    about = "Files e-mails and documents into the right case"
)]
pub struct Cli {
    /// Configuration file (default: journaliser.toml in the working directory, if present).
    #[arg(long, global = true, env = "JOURNALISER_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Common {
    /// Where the store, index, keys and archive live (overrides the configuration).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API and the filing worker.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long)]
        bind: Option<std::net::SocketAddr>,
        /// Seed a demo organisation if the store has no cases.
        #[arg(long)]
        demo: bool,
        /// Serve HTTPS with a certificate for localhost, made once and kept in the data
        /// directory (`tls/`); Office loads add-ins only over HTTPS.
        #[arg(long)]
        tls_self_signed: bool,
    },
    /// Write the Office add-in manifests for a deployment: outlook.xml, word.xml, the unified
    /// manifest.json with its en-us.json, the icons they name, and the app package
    /// journaliser-app.zip.
    Manifest {
        /// The service's public HTTPS address, e.g. https://journaliser.kommune.example.
        #[arg(long)]
        base_url: String,
        /// Folder to write them in (made if missing).
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Copy the data directory of a service, running or not, into one file: the store (when it
    /// is SQLite), the search index, the keys and TLS material, and the local archive.
    Backup {
        #[command(flatten)]
        common: Common,
        /// The backup file to write (a zip); an older file there is replaced once it is done.
        #[arg(long)]
        out: PathBuf,
    },
    /// Bring a backup back into a new or empty data directory.
    Restore {
        /// The file `journaliser backup` wrote.
        file: PathBuf,
        /// The directory to restore into; it must be missing or empty.
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Print a bearer token for the API.
    Token {
        #[command(flatten)]
        common: Common,
        /// User id (the token's subject).
        #[arg(long)]
        user: String,
        /// Display name; defaults to the user id.
        #[arg(long)]
        name: Option<String>,
        /// Give the admin role.
        #[arg(long)]
        admin: bool,
        /// A group the user belongs to (repeatable); decides which restricted cases they see.
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Lifetime in hours (default from configuration).
        #[arg(long)]
        ttl_hours: Option<u64>,
    },
    /// Load data into the store and index.
    #[command(subcommand)]
    Import(Import),
    /// Measure the suggestions.
    #[command(subcommand)]
    Eval(Eval),
    /// Build a synthetic organisation in a fresh data directory through the bulk paths and
    /// measure the service on it: bulk load, sizes on disk, start-up, memory, uploads,
    /// suggestions and filings over HTTP.
    Bench {
        /// Cases in the organisation.
        #[arg(long, default_value_t = 100_000)]
        cases: usize,
        /// Documents filed on them before the service starts.
        #[arg(long, default_value_t = 1_000_000)]
        documents: usize,
        /// 2,000 cases and 20,000 documents, and fewer requests: a quick check.
        #[arg(long, conflicts_with_all = ["cases", "documents"])]
        small: bool,
        /// Build the organisations here (missing or empty); default a temporary directory,
        /// removed afterwards.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Measure the same organisation on this PostgreSQL server too; a database
        /// `journaliser_bench_<documents>` is made anew there.
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
        /// Also measure 10,000, 100,000 and 1,000,000 documents (those below --documents) and
        /// draw suggestion p99 against documents into this SVG file.
        #[arg(long, value_name = "FILE")]
        plot: Option<PathBuf>,
        /// Print the results as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum Import {
    /// Import cases from a JSON array or CSV file, or from a connector's case list.
    Cases {
        #[command(flatten)]
        common: Common,
        /// JSON or CSV file; see the README for the columns.
        #[arg(required_unless_present = "from_connector")]
        file: Option<PathBuf>,
        /// List the cases of this connector instead (e.g. `archive`).
        #[arg(long, conflicts_with = "file")]
        from_connector: Option<String>,
        /// The connector instance the file's cases live in, where their filings go.
        #[arg(long, conflicts_with = "from_connector", default_value = crate::connector::ARCHIVE)]
        connector: String,
    },
    /// Learn from the documents already on a connector's cases (the archive, WebDAV): their
    /// text and metadata go into the store, the index and the ranker as past filings, and
    /// nothing is filed again. Import the cases first; a second run passes over what is there.
    Documents {
        #[command(flatten)]
        common: Common,
        /// The connector whose cases' documents are read (e.g. `archive`).
        #[arg(long)]
        from_connector: String,
        /// Only documents dated on or after this day (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        since: Option<chrono::NaiveDate>,
    },
    /// Import KL's KLE plan (KLE-XML 2.0): the subjects, and the action facets if given. A
    /// newer plan updates the one imported before; what it removes or moves is kept as history.
    Kle {
        #[command(flatten)]
        common: Common,
        /// KLE-Emneplan file.
        emneplan: PathBuf,
        /// KLE-Handlingsfacetter file.
        facetter: Option<PathBuf>,
        /// The files are excerpts of a plan: only numbers, titles and dates are required, not
        /// every element KL's schema requires.
        #[arg(long)]
        excerpt: bool,
    },
}

#[derive(Subcommand)]
enum Eval {
    /// Replay a labelled, time-ordered corpus through extraction, index, ranker and filing on
    /// a temporary store, and report accuracy, calibration and speed.
    Replay {
        /// `DIR/<user>/<folder>/<message>` with `DIR/MANIFEST.tsv`; each folder is a case.
        #[arg(long, value_name = "DIR")]
        corpus: PathBuf,
        /// Replay only this user (repeatable; default: every user in the manifest).
        #[arg(long = "user", value_name = "NAME")]
        users: Vec<String>,
        /// Which messages only train and which are scored.
        #[arg(long, value_enum)]
        protocol: Protocol,
        /// Give cases opaque titles, so that folder names do not help the text match.
        #[arg(long)]
        no_case_titles: bool,
        /// Print the report as one JSON object.
        #[arg(long)]
        json: bool,
        /// Keep each user's store on this PostgreSQL server (`postgres://…`, a role that may
        /// create schemas), in a schema of its own dropped afterwards, instead of SQLite in
        /// memory: the same replay measured on PostgreSQL.
        #[arg(long, value_name = "URL")]
        store: Option<String>,
    },
    /// Propose a KLE subject for every case with one and a filed document, from its first
    /// document as if the case did not exist, and report top-1 and top-3 at subject and group
    /// level.
    Kle {
        /// `demo` for the demo organisation, `bench` for the scale bench's small one (2,000
        /// cases, 20,000 documents; both made in a temporary directory), or the data
        /// directory of an organisation (its store and index are only read).
        #[arg(long, value_name = "demo|bench|DIR")]
        corpus: String,
        /// Print the report as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        let load = |common: &Common| -> anyhow::Result<Config> {
            let mut config = Config::load(self.config.as_deref(), std::env::vars())?;
            if let Some(dir) = &common.data_dir {
                config.data_dir = dir.clone();
            }
            crate::telemetry::init(&config.log);
            Ok(config)
        };
        match &self.command {
            Command::Serve {
                common,
                bind,
                demo,
                tls_self_signed,
            } => {
                let mut config = load(common)?;
                if let Some(bind) = bind {
                    config.server.bind = *bind;
                }
                if *tls_self_signed {
                    anyhow::ensure!(
                        config.tls.cert_file.as_os_str().is_empty(),
                        "--tls-self-signed and tls.cert_file exclude each other"
                    );
                    config.tls.self_signed = true;
                }
                let server = Server::build(config).await?;
                // The first line on stdout says where to connect; scripts and tests read it.
                println!("journaliser listening on {}", server.local_url()?);
                #[cfg(unix)]
                notify_ready(&server).await?;
                if *demo {
                    if crate::demo::seed_if_empty(server.services()).await? {
                        eprintln!(
                            "Demo organisation seeded. Get a token with: journaliser token --user anna"
                        );
                    }
                    if let Some(link) = try_it_link(&server)? {
                        eprintln!("Prøv det: {link}");
                    }
                }
                server.run_until_stopped(shutdown_signal()).await
            }
            Command::Manifest { base_url, out } => {
                let config = Config::load(self.config.as_deref(), std::env::vars())?;
                let base = crate::web::PublicUrl::parse(base_url).map_err(anyhow::Error::msg)?;
                let settings = crate::web::ManifestSettings::new(base, &config.addin)?;
                let manifests = crate::web::Manifests::render(&settings)?;
                std::fs::create_dir_all(out)
                    .with_context(|| format!("cannot create {}", out.display()))?;
                for (name, bytes) in manifests.files() {
                    let path = out.join(name);
                    if let Some(folder) = path.parent() {
                        std::fs::create_dir_all(folder)
                            .with_context(|| format!("cannot create {}", folder.display()))?;
                    }
                    std::fs::write(&path, bytes)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!("wrote {}", path.display());
                }
                Ok(())
            }
            Command::Backup { common, out } => {
                let config = load(common)?;
                let summary = crate::backup::backup(&config, out).await?;
                eprintln!(
                    "backed up {} files ({} bytes) to {}",
                    summary.files,
                    summary.bytes,
                    out.display()
                );
                if !summary.store_included {
                    eprintln!(
                        "the PostgreSQL store is not in the backup: back it up with pg_dump (docs/OPERATIONS.md)"
                    );
                }
                Ok(())
            }
            Command::Restore { file, data_dir } => {
                let summary = crate::backup::restore(file, data_dir)?;
                eprintln!(
                    "restored {} files from a backup of {} (Journaliser {}) into {}",
                    summary.files,
                    summary.manifest.created_at,
                    summary.manifest.version,
                    data_dir.display()
                );
                Ok(())
            }
            Command::Token {
                common,
                user,
                name,
                admin,
                groups,
                ttl_hours,
            } => {
                let config = load(common)?;
                let keys = TokenKeys::load_or_create(&config.data_dir)
                    .context("cannot read the token signing key")?;
                let ttl =
                    Duration::from_secs(ttl_hours.unwrap_or(config.auth.token_ttl_hours) * 3600);
                let user = User {
                    id: user.clone(),
                    name: name.clone().unwrap_or_else(|| user.clone()),
                    groups: groups.clone(),
                    admin: *admin,
                };
                println!("{}", keys.issue(&user, ttl));
                Ok(())
            }
            Command::Import(Import::Cases {
                common,
                file,
                from_connector,
                connector,
            }) => {
                let config = load(common)?;
                let services = Services::open(config).await?;
                let named = |name: &str| {
                    services.connectors.get(name).with_context(|| {
                        let known: Vec<_> = services.connectors.names().collect();
                        format!(
                            "no connector named {name:?} (configured: {})",
                            known.join(", ")
                        )
                    })
                };
                let (connector, inputs, parties) = match (file, from_connector) {
                    (Some(file), _) => {
                        named(connector)?;
                        (
                            connector.clone(),
                            crate::import::read_cases(file)?,
                            Parties::Replace,
                        )
                    }
                    (None, Some(name)) => {
                        let source = named(name)?;
                        anyhow::ensure!(
                            source.capabilities().list_cases,
                            "connector {name:?} cannot list its cases; import them from a file with --connector {name}"
                        );
                        (name.clone(), source.list_cases().await?, Parties::Merge)
                    }
                    (None, None) => anyhow::bail!("give a FILE or --from-connector"),
                };
                let count = crate::import::import_cases(
                    &services.store,
                    &services.index,
                    &services.extractor.cpr_hasher,
                    &connector,
                    inputs,
                    parties,
                    true,
                )
                .await?;
                services.store.close().await;
                eprintln!("imported {count} cases");
                Ok(())
            }
            Command::Import(Import::Documents {
                common,
                from_connector,
                since,
            }) => {
                let mut config = Config::load(self.config.as_deref(), std::env::vars())?;
                if let Some(dir) = &common.data_dir {
                    config.data_dir = dir.clone();
                }
                // Warnings (a document skipped) still show over the progress bar.
                config.log.filter = "warn".into();
                crate::telemetry::init(&config.log);
                let services = Services::open(config).await?;
                let stop = tokio_util::sync::CancellationToken::new();
                let stopping = stop.clone();
                tokio::spawn(async move {
                    shutdown_signal().await;
                    stopping.cancel();
                });
                let import = crate::import::documents::DocumentImport {
                    connector: from_connector,
                    since: *since,
                    progress: true,
                };
                let summary =
                    crate::import::documents::import_documents(&services, &import, &stop).await;
                services.store.close().await;
                eprintln!("{}", summary?);
                Ok(())
            }
            Command::Import(Import::Kle {
                common,
                emneplan,
                facetter,
                excerpt,
            }) => {
                let config = load(common)?;
                let strictness = if *excerpt {
                    crate::kle::Strictness::Excerpt
                } else {
                    crate::kle::Strictness::Schema
                };
                let mut plans = vec![crate::kle::read_file(
                    emneplan,
                    crate::kle::PlanKind::Subjects,
                    strictness,
                )?];
                if let Some(facetter) = facetter {
                    plans.push(crate::kle::read_file(
                        facetter,
                        crate::kle::PlanKind::Facets,
                        strictness,
                    )?);
                }
                std::fs::create_dir_all(&config.data_dir).with_context(|| {
                    format!(
                        "cannot create the data directory {}",
                        config.data_dir.display()
                    )
                })?;
                let store = crate::store::Store::open(&config.store_url()).await?;
                for plan in &plans {
                    let summary = crate::kle::import(&store, plan).await?;
                    eprintln!(
                        "imported the KLE {} plan published {}: {} new, {} changed, {} unchanged, {} now history",
                        plan.kind.as_str(),
                        plan.published,
                        summary.added,
                        summary.changed,
                        summary.unchanged,
                        summary.now_historic
                    );
                }
                store.close().await;
                Ok(())
            }
            Command::Eval(Eval::Kle { corpus, json }) => {
                let mut config = Config::load(self.config.as_deref(), std::env::vars())?;
                config.log.filter = "warn".into();
                crate::telemetry::init(&config.log);
                let made = matches!(corpus.as_str(), "demo" | "bench");
                let temporary = std::env::temp_dir().join(format!(
                    "journaliser-eval-kle-{}",
                    uuid::Uuid::new_v4().simple()
                ));
                config.data_dir = match made {
                    true => temporary.clone(),
                    false => PathBuf::from(corpus),
                };
                if !made {
                    anyhow::ensure!(config.data_dir.is_dir(), "no data directory {corpus}");
                }
                let services = Services::open(config).await?;
                let built = match corpus.as_str() {
                    "demo" => crate::demo::seed_if_empty(&services).await.map(|_| ()),
                    "bench" => crate::bench::build(&services, 2_000, 20_000, !*json).await,
                    _ => Ok(()),
                };
                let report = match built {
                    Ok(()) => {
                        Ok(crate::eval::kle::evaluate(&services.store, &services.index).await)
                    }
                    Err(error) => Err(error),
                };
                services.store.close().await;
                if made {
                    let _ = std::fs::remove_dir_all(&temporary);
                }
                let report = report??;
                if *json {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                } else {
                    print!("{report}");
                }
                Ok(())
            }
            Command::Eval(Eval::Replay {
                corpus,
                users,
                protocol,
                no_case_titles,
                json,
                store,
            }) => {
                let mut config = Config::load(self.config.as_deref(), std::env::vars())?;
                // Thousands of filings would each log a line over the progress bar; warnings
                // (such as a skipped message) still show, and RUST_LOG overrides.
                config.log.filter = "warn".into();
                crate::telemetry::init(&config.log);
                let options = ReplayOptions {
                    corpus: corpus.clone(),
                    users: users.clone(),
                    protocol: *protocol,
                    case_titles: !*no_case_titles,
                    progress: true,
                    store: store.clone(),
                };
                let report = crate::eval::replay(&options, &config.extract).await?;
                if *json {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                } else {
                    print!("{report}");
                }
                Ok(())
            }
            Command::Bench {
                cases,
                documents,
                small,
                dir,
                postgres,
                plot,
                json,
            } => {
                let mut config = Config::load(self.config.as_deref(), std::env::vars())?;
                // A million filings would each log a line over the progress bar.
                config.log.filter = "warn".into();
                crate::telemetry::init(&config.log);
                let (cases, documents) = match small {
                    true => (2_000, 20_000),
                    false => (*cases, *documents),
                };
                let options = crate::bench::BenchOptions {
                    cases,
                    documents,
                    small: *small,
                    dir: dir.clone(),
                    postgres: postgres.clone(),
                    plot: plot.is_some(),
                    config_file: self.config.clone(),
                    progress: !*json,
                };
                let report = crate::bench::run(&options, &config).await?;
                if let Some(file) = plot {
                    std::fs::write(file, crate::bench::plot(&report.plot))
                        .with_context(|| format!("cannot write {}", file.display()))?;
                }
                if *json {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                } else {
                    print!("{report}");
                }
                Ok(())
            }
        }
    }
}

/// Tells systemd the service is up once `/readyz` would say so: the listener is bound, the
/// store answers and the index can be searched.
#[cfg(unix)]
async fn notify_ready(server: &Server) -> anyhow::Result<()> {
    let services = server.services();
    services
        .store
        .ping()
        .await
        .context("the store does not answer")?;
    services
        .index
        .counts()
        .context("the index cannot be searched")?;
    crate::notify::notify("READY=1").context("cannot tell systemd the service is ready")?;
    Ok(())
}

/// A link that opens the drop-zone page signed in as the demo user `anna`, for trying the
/// product from the README; none when the service's own tokens are off.
fn try_it_link(server: &Server) -> anyhow::Result<Option<String>> {
    let config = &server.services().config;
    if !config.auth.dev_tokens {
        return Ok(None);
    }
    let keys =
        TokenKeys::load_or_create(&config.data_dir).context("cannot read the token signing key")?;
    let user = User {
        id: "anna".into(),
        name: "anna".into(),
        groups: vec!["social".into(), "boern".into()],
        admin: false,
    };
    let token = keys.issue(
        &user,
        Duration::from_secs(config.auth.token_ttl_hours * 3600),
    );
    let mut address = server.local_addr()?;
    // Listening on every interface; the browser on this machine goes to the loopback one.
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let scheme = if config.tls.enabled() {
        "https"
    } else {
        "http"
    };
    Ok(Some(format!("{scheme}://{address}/addin/#token={token}")))
}
