//! Prometheus metrics: request counts and latencies, items received, suggestion latency, and
//! the filing outbox by state and the age of its oldest queued filing (read from the store at
//! scrape time).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::AppState;
use super::error::{ApiError, ApiResult};
use crate::auth::CurrentUser;
use crate::domain::filing::FilingState;
use crate::domain::now_millis;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    queue: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QualityLabels {
    figure: String,
    /// `all`, or the connector the figure is of.
    connector: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MailboxLabels {
    mailbox: String,
    outcome: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RequestLabels, Histogram>,
    items: Family<KindLabels, Counter>,
    suggest_seconds: Histogram,
    filings: Family<StateLabels, Gauge>,
    oldest_queued_seconds: Gauge,
    review_waiting: Family<QueueLabels, Gauge>,
    mailbox_mails: Family<MailboxLabels, Gauge>,
    quality: Family<QualityLabels, Gauge<f64, AtomicU64>>,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("journaliser");
        let requests = Family::<RequestLabels, Counter>::default();
        let request_seconds = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 16))
        });
        let items = Family::<KindLabels, Counter>::default();
        let suggest_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        let filings = Family::<StateLabels, Gauge>::default();
        let oldest_queued_seconds = Gauge::default();
        let review_waiting = Family::<QueueLabels, Gauge>::default();
        let mailbox_mails = Family::<MailboxLabels, Gauge>::default();
        let quality = Family::<QualityLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "quality",
            "The admin console's quality figures over the last 90 days (GET /api/v1/admin/stats): filings, shown, top1, top3, not_in_list, auto_filed, undone; overall and per connector",
            quality.clone(),
        );
        registry.register(
            "review_waiting",
            "Items waiting (or taken) in each review queue",
            review_waiting.clone(),
        );
        registry.register(
            "mailbox_mails",
            "Mails taken from each watched mailbox, by what became of them (undecided: taken, not yet decided)",
            mailbox_mails.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            request_seconds.clone(),
        );
        registry.register("items_received", "Items uploaded, by kind", items.clone());
        registry.register(
            "suggest_duration_seconds",
            "Time to compute suggestions for an item",
            suggest_seconds.clone(),
        );
        registry.register(
            "filings",
            "Filings in the outbox, by state",
            filings.clone(),
        );
        registry.register(
            "oldest_queued_filing_age_seconds",
            "How long the longest-waiting queued filing has waited (0 when none is queued)",
            oldest_queued_seconds.clone(),
        );
        Arc::new(Metrics {
            registry,
            requests,
            request_seconds,
            items,
            suggest_seconds,
            filings,
            oldest_queued_seconds,
            review_waiting,
            mailbox_mails,
            quality,
        })
    }

    pub fn item_received(&self, kind: &str) {
        self.items
            .get_or_create(&KindLabels { kind: kind.into() })
            .inc();
    }

    pub fn observe_suggest(&self, seconds: f64) {
        self.suggest_seconds.observe(seconds);
    }
}

/// Counts and times every request under its route pattern (never the raw path, which may
/// carry ids or search text).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = RequestLabels {
        method,
        route,
        status: response.status().as_u16(),
    };
    state.metrics.requests.get_or_create(&labels).inc();
    state
        .metrics
        .request_seconds
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`: Prometheus text format. Needs a token like every other route.
pub async fn scrape(State(state): State<AppState>, _user: CurrentUser) -> ApiResult<Response> {
    let counts = state.store.count_filings_by_state().await?;
    for filing_state in [FilingState::Queued, FilingState::Filed, FilingState::Failed] {
        let count = counts
            .iter()
            .find(|(s, _)| *s == filing_state)
            .map_or(0, |(_, n)| *n);
        state
            .metrics
            .filings
            .get_or_create(&StateLabels {
                state: filing_state.as_str().into(),
            })
            .set(count);
    }
    let waited_ms = match state.store.oldest_queued_filing().await? {
        Some(created_at) => (now_millis() - created_at).max(0),
        None => 0,
    };
    state.metrics.oldest_queued_seconds.set(waited_ms / 1000);
    // A queue emptied since the last scrape says 0 rather than keeping its old count.
    state.metrics.review_waiting.clear();
    for (queue, waiting) in state.store.review_backlog().await? {
        state
            .metrics
            .review_waiting
            .get_or_create(&QueueLabels { queue })
            .set(waiting);
    }
    let now = now_millis();
    let report = state
        .store
        .quality(
            now - super::stats::DEFAULT_DAYS * 24 * 3600 * 1000,
            now,
            None,
        )
        .await?;
    state.metrics.quality.clear();
    let scopes = std::iter::once(("all", &report.overall)).chain(
        report
            .connectors
            .iter()
            .map(|c| (c.name.as_str(), &c.quality)),
    );
    for (connector, quality) in scopes {
        for (figure, value) in [
            ("filings", quality.filings as f64),
            ("shown", quality.shown as f64),
            ("top1", quality.top1),
            ("top3", quality.top3),
            ("not_in_list", quality.not_in_list),
            ("auto_filed", quality.auto_filed as f64),
            ("undone", quality.undone as f64),
        ] {
            let labels = QualityLabels {
                figure: figure.into(),
                connector: connector.into(),
            };
            state.metrics.quality.get_or_create(&labels).set(value);
        }
    }
    for mailbox in state.policy.mailboxes() {
        for (outcome, n) in state.store.mailbox_outcomes(&mailbox.name).await? {
            state
                .metrics
                .mailbox_mails
                .get_or_create(&MailboxLabels {
                    mailbox: mailbox.name.clone(),
                    outcome,
                })
                .set(n);
        }
    }
    let mut body = String::new();
    encode(&mut body, &state.metrics.registry)
        .map_err(|e| ApiError::Internal(format!("metrics: {e}")))?;
    Ok((
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response())
}
