//! HTTP edge: the router, its layers and the application state handlers share.
//!
//! Handlers call `store`, `suggest`, `filing` and `extract`; they never hold SQL or business
//! rules of their own.

mod audit;
mod backtest;
mod case_import;
mod cases;
mod changes;
mod charts;
mod connectors;
pub mod error;
mod filings;
mod health;
mod intents;
mod items;
mod kle;
mod metrics;
mod overview;
mod ranker;
mod ranker_backtest;
mod review;
mod rules;
mod stats;
mod sync;
mod threads;
mod views;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::routing::{get, post};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::Authenticator;
use crate::extract::Extractor;
use crate::intake::Intake;
use crate::store::Store;
use crate::suggest::{SearchIndex, Suggester};
use crate::sync::CaseSync;

pub use metrics::Metrics;

/// Everything a handler may need, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub index: Arc<SearchIndex>,
    pub suggester: Suggester,
    pub extractor: Arc<Extractor>,
    pub intake: Intake,
    pub auth: Arc<Authenticator>,
    pub metrics: Arc<Metrics>,
    pub max_body_bytes: usize,
    /// The add-in pages and manifests.
    pub site: Arc<crate::web::Site>,
    pub case_sync: CaseSync,
    pub policy: crate::autofile::Policy,
    /// Whether `[threads.entra]` lets caseworkers follow a thread.
    pub following_threads: bool,
    pub new_case: Arc<crate::config::NewCaseConfig>,
    pub connectors: crate::connector::Connectors,
    /// The connectors' settings as admins see them, secrets hidden.
    pub connector_settings: Arc<[crate::connector::InstanceSettings]>,
}

impl FromRef<AppState> for Arc<crate::web::Site> {
    fn from_ref(state: &AppState) -> Arc<crate::web::Site> {
        state.site.clone()
    }
}

impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Arc<Authenticator> {
        state.auth.clone()
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState, request_timeout: Duration) -> Router {
    let api = Router::new()
        .route(
            "/items",
            post(items::create).layer(DefaultBodyLimit::max(state.max_body_bytes)),
        )
        .route("/items/{id}", get(items::show))
        .route("/items/{id}/suggestions", get(items::suggestions))
        .route("/items/{id}/case-proposal", get(items::case_proposal))
        .route("/cases", get(cases::search).post(cases::create))
        .route("/cases/{id}", get(cases::show))
        .route("/kle", get(kle::search))
        .route("/filings", post(filings::create))
        .route("/intents", post(intents::create))
        .route(
            "/intents/{reference}",
            get(intents::show).delete(intents::cancel),
        )
        .route("/filings/{id}", get(filings::show))
        .route("/filings/{id}/undo", post(filings::undo))
        .route("/threads", get(threads::list).post(threads::follow))
        .route("/threads/{id}", axum::routing::delete(threads::stop))
        .route("/review", get(review::list))
        .route("/review/{item}/claim", post(review::claim))
        .route("/review/{item}/dismiss", post(review::dismiss))
        .route("/admin/rules", get(rules::list).post(rules::create))
        .route("/admin/rules/test", post(rules::test))
        .route("/admin/stats", get(stats::show))
        .route("/admin/overview", get(overview::show))
        .route("/admin/backtest", post(backtest::run))
        .route("/admin/changes", get(changes::list).post(changes::apply))
        .route("/admin/changes/{version}/undo", post(changes::undo))
        .route("/admin/stats/reliability.svg", get(stats::reliability_plot))
        .route(
            "/admin/rules/{id}",
            get(rules::show).put(rules::replace).delete(rules::delete),
        )
        .route("/admin/filings", get(filings::admin_list))
        .route("/admin/filings/{id}/retry", post(filings::admin_retry))
        .route("/admin/audit", get(audit::list))
        .route("/admin/ranker", get(ranker::show).put(ranker::change))
        .route("/admin/ranker/undo", post(ranker::undo))
        .route("/admin/sync", post(sync::run))
        .route(
            "/admin/cases/import",
            post(case_import::run).layer(DefaultBodyLimit::max(case_import::MAX_BYTES)),
        )
        .route("/admin/connectors", get(connectors::list));

    let admitting = (state.auth.clone(), state.max_body_bytes);
    let api = api.layer(axum::middleware::from_fn(move |request, next| {
        let (authenticator, max_body_bytes) = admitting.clone();
        crate::auth::admit_before_body(authenticator, max_body_bytes, request, next)
    }));

    Router::new()
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/metrics", get(metrics::scrape))
        .nest("/api/v1", api)
        .merge(crate::web::routes())
        .fallback(|| async { error::ApiError::NotFound("route") })
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, request_timeout))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let request_id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            // Only the route pattern is logged: raw paths and query strings may carry search
            // text, and search text may carry a CPR number.
            let route = request
                .extensions()
                .get::<axum::extract::MatchedPath>()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default();
            tracing::info_span!("request", request_id, method = %request.method(), route, user = tracing::field::Empty)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        // API answers are personal data: never cached, never sniffed, never sent as referrer.
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(axum::middleware::from_fn(crate::web::frame_guard))
        .with_state(state)
}
