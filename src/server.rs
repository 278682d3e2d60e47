//! Starting and stopping the service: store, index, worker and HTTP server, in that order,
//! and a graceful shutdown that lets in-flight requests and deliveries finish.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::api::{self, AppState, Metrics};
use crate::auth::{Authenticator, EntraVerifier, RateLimiter, TokenKeys, load_or_create_secret};
use crate::autofile::Policy;
use crate::config::Config;
use crate::connector::Connectors;
use crate::domain::identifiers::{CprHasher, IdentifierPatterns};
use crate::extract::Extractor;
use crate::filing::Worker;
use crate::intake::Intake;
use crate::store::Store;
use crate::suggest::{SearchIndex, Suggester};
use crate::sync::CaseSync;

/// The parts every command works with, opened from the configuration.
pub struct Services {
    pub config: Config,
    pub store: Store,
    pub index: Arc<SearchIndex>,
    /// The ranker; it learns from every filing accepted through it.
    pub suggester: Suggester,
    pub extractor: Arc<Extractor>,
    pub intake: Intake,
    pub auth: Arc<Authenticator>,
    /// Present when Entra ID tenants are configured; its keys are refreshed while serving.
    pub entra: Option<Arc<EntraVerifier>>,
    pub connectors: Connectors,
    /// Auto-journalisation: what becomes of each new item.
    pub policy: Policy,
}

impl Services {
    pub async fn open(config: Config) -> anyhow::Result<Services> {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                config.data_dir.display()
            )
        })?;
        let store = Store::open(&config.store_url()).await.with_context(|| {
            format!(
                "cannot open the store at {}",
                crate::store::redacted_url(&config.store_url())
            )
        })?;
        let index_dir = config.index_dir();
        let index = SearchIndex::open(&index_dir, config.index.writer_memory_mb)
            .with_context(|| format!("cannot open the search index in {}", index_dir.display()))?;
        let cpr_key = if config.privacy.cpr_hash_key.is_empty() {
            load_or_create_secret(&config.data_dir.join("cpr-hash.key"))
                .context("cannot read or create the CPR hash key")?
        } else {
            config.privacy.cpr_hash_key.expose().as_bytes().to_vec()
        };
        let extractor = Extractor {
            patterns: IdentifierPatterns::new(&config.extract.journal_number_patterns)?,
            cpr_hasher: CprHasher::new(&cpr_key),
            max_depth: config.extract.max_depth,
        };
        let dev = match config.auth.dev_tokens {
            true => Some(
                TokenKeys::load_or_create(&config.data_dir)
                    .context("cannot read or create the token signing key")?,
            ),
            false => None,
        };
        let entra = match config.auth.entra.tenants.is_empty() {
            true => None,
            false => Some(Arc::new(
                EntraVerifier::new(config.auth.entra.clone())
                    .context("cannot set up the HTTP client for Entra ID")?,
            )),
        };
        let connectors = Connectors::from_config(&config)?;
        let extractor = Arc::new(extractor);
        let requests_per_minute = config.server.requests_per_minute;
        let intake = Intake::new(
            extractor.clone(),
            config.extract.max_concurrent,
            Duration::from_secs(config.extract.timeout_secs),
        );
        let index = Arc::new(index);
        let suggester =
            Suggester::open(store.clone(), index.clone(), Some(config.memory_snapshot()))
                .await
                .context("cannot load the ranker")?;
        let policy = Policy::new(
            store.clone(),
            suggester.clone(),
            extractor.clone(),
            config.autofile.clone(),
            crate::mailboxes::policies(&config.mailboxes),
        );
        let services = Services {
            policy,
            config,
            store,
            index,
            suggester,
            extractor,
            intake,
            auth: Arc::new(Authenticator::new(
                dev,
                entra.clone(),
                RateLimiter::new(requests_per_minute),
            )),
            entra,
            connectors,
        };
        services.sync_index().await?;
        Ok(services)
    }

    /// The index is derived from the store. If they disagree (a fresh or deleted index, or a
    /// crash between a store commit and an index commit), rebuild the index from the store.
    async fn sync_index(&self) -> anyhow::Result<()> {
        let (indexed_cases, indexed_items) = self.index.counts()?;
        let stored = (
            self.store.count_cases().await?,
            self.store.count_live_filings().await?,
        );
        if (indexed_cases as i64, indexed_items as i64) == stored {
            return Ok(());
        }
        let cases = self.store.all_cases().await?;
        tracing::info!(
            cases = cases.len(),
            filed = stored.1,
            "rebuilding the search index from the store"
        );
        self.index.clear()?;
        for case in &cases {
            self.index.put_case(case)?;
        }
        let by_id: std::collections::HashMap<&str, &crate::domain::case::Case> =
            cases.iter().map(|c| (c.id.as_str(), c)).collect();
        let mut after = None;
        loop {
            let page = self.store.live_filed_items(after.as_ref(), 2_000).await?;
            let Some((_, _, last)) = page.last() else {
                break;
            };
            after = Some(last.clone());
            for (item, case_id, _) in &page {
                if let Some(case) = by_id.get(case_id.as_str()) {
                    self.index.put_filed_item(&item.id, case, &item.extracted)?;
                }
            }
        }
        self.index.commit()?;
        Ok(())
    }
}

/// A bound, not yet running server.
pub struct Server {
    listener: TcpListener,
    services: Services,
    /// Present when serving HTTPS.
    tls: Option<tokio_rustls::TlsAcceptor>,
    site: Arc<crate::web::Site>,
}

impl Server {
    /// Opens everything and binds the listener; port 0 picks a free port (see `local_addr`).
    pub async fn build(config: Config) -> anyhow::Result<Server> {
        let bind = config.server.bind;
        let services = Services::open(config).await?;
        let listener = TcpListener::bind(bind)
            .await
            .with_context(|| format!("cannot listen on {bind}"))?;
        let tls = crate::tls::acceptor(&services.config)?;
        // The manifests point to the configured public address, or on this machine to the
        // port just bound.
        let public_url = match services.config.addin.public_url.as_str() {
            "" if tls.is_some() => Some(crate::web::PublicUrl::localhost(
                listener.local_addr()?.port(),
            )),
            "" => None,
            configured => {
                Some(crate::web::PublicUrl::parse(configured).map_err(anyhow::Error::msg)?)
            }
        };
        let site = crate::web::Site::new(&services.config, public_url)
            .context("cannot prepare the add-in manifests")?;
        Ok(Server {
            listener,
            services,
            tls,
            site: Arc::new(site),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// `http://ADDR` or `https://ADDR`: where this machine reaches the server.
    pub fn local_url(&self) -> std::io::Result<String> {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        Ok(format!("{scheme}://{}", self.local_addr()?))
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Serves until `shutdown` completes, then stops taking connections, lets in-flight
    /// requests and the current delivery finish, and closes the store.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Services {
            config,
            store,
            index,
            suggester,
            extractor,
            intake,
            auth,
            entra,
            connectors,
            policy,
        } = self.services;
        let case_sync = CaseSync::new(
            store.clone(),
            index.clone(),
            extractor.cpr_hasher.clone(),
            connectors.clone(),
        );
        let (state_intake, state_policy) = (intake.clone(), policy.clone());
        let state = AppState {
            suggester,
            store: store.clone(),
            index: index.clone(),
            extractor,
            intake,
            auth,
            metrics: Metrics::new(),
            max_body_bytes: config.server.max_body_bytes,
            case_sync: case_sync.clone(),
            site: self.site,
            policy,
            following_threads: config.threads.entra.is_some(),
            new_case: Arc::new(config.new_case.clone()),
            connectors: connectors.clone(),
            connector_settings: crate::connector::settings(&config).into(),
        };
        let router = api::router(state, config.request_timeout());
        let stop = CancellationToken::new();
        if let Some(entra) = entra {
            entra.spawn_refresher(stop.clone());
        }
        tokio::spawn(
            index
                .clone()
                .commit_periodically(config.index.commit_interval(), stop.clone()),
        );
        if config.sync.interval_minutes > 0 {
            let interval = Duration::from_secs(config.sync.interval_minutes.saturating_mul(60));
            tokio::spawn(case_sync.run(interval, stop.clone()));
        }
        tokio::spawn(crate::retention::run(
            store.clone(),
            config.privacy.clone(),
            stop.clone(),
        ));
        let intakes = crate::mailboxes::Intakes {
            store: store.clone(),
            intake: state_intake,
            policy: state_policy,
        };
        let mut watchers =
            crate::mailboxes::spawn_all(&config.mailboxes, intakes.clone(), stop.clone())
                .map_err(anyhow::Error::msg)?;
        if let Some(follower) = crate::mailboxes::ThreadFollower::new(&config.threads, intakes)
            .map_err(anyhow::Error::msg)?
        {
            watchers.push(tokio::spawn(follower.run(stop.clone())));
        }
        let creator = crate::newcase::create::Creator {
            store: store.clone(),
            index: index.clone(),
            connectors: connectors.clone(),
            config: config.filing.clone(),
        };
        let creating = tokio::spawn(creator.run(stop.clone()));
        let worker = Worker::new(store.clone(), connectors, config.filing.clone());
        let workers: Vec<_> = (0..config.filing.workers.max(1))
            .map(|_| tokio::spawn(worker.clone().run(stop.clone())))
            .collect();

        tracing::info!(address = %self.listener.local_addr()?, https = self.tls.is_some(), "serving");
        let http_stop = stop.clone();
        let stopping = async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
            http_stop.cancel();
        };
        match self.tls {
            Some(acceptor) => {
                let listener = crate::tls::TlsListener::new(self.listener, acceptor)?;
                axum::serve(listener, router)
                    .with_graceful_shutdown(stopping)
                    .await
            }
            None => {
                axum::serve(self.listener, router)
                    .with_graceful_shutdown(stopping)
                    .await
            }
        }
        .context("HTTP server failed")?;
        stop.cancel();
        // A delivery in progress may finish; one that hangs is abandoned; its lease makes
        // the next start (or another instance) deliver it.
        let grace = Duration::from_secs(config.filing.lease_secs.max(1));
        let all_stopped = async {
            for worker in workers {
                worker.await?;
            }
            creating.await?;
            Ok::<_, tokio::task::JoinError>(())
        };
        for watcher in watchers {
            let _ = watcher.await;
        }
        match tokio::time::timeout(grace, all_stopped).await {
            Ok(joined) => joined.context("filing worker panicked")?,
            Err(_) => tracing::warn!("a delivery did not finish in time; it will be retried"),
        }
        store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
