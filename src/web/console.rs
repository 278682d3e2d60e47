//! The admin console's pages at `/admin/`: one page among the pane's files, whose script shows
//! the section the address names. The page holds no data; every figure on it comes from
//! `/api/v1/admin/*` with the admin's bearer token. A request that does carry a token is
//! checked as the API checks it, so a user's token gets the API's own 403 here too.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use super::{Site, serve_file};
use crate::auth::{Admin, AuthError, Authenticator};

/// The console's sections, each its own address below `/admin/`.
pub const SECTIONS: [&str; 7] = [
    "overview", "cases", "quality", "backtest", "ranker", "rules", "audit",
];

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<Site>: FromRef<S>,
    Arc<Authenticator>: FromRef<S>,
{
    let mut router = Router::new()
        .route("/admin", get(|| async { Redirect::permanent("/admin/") }))
        .route("/admin/", get(page));
    for section in SECTIONS {
        router = router.route(&format!("/admin/{section}"), get(page));
    }
    router
}

async fn page(
    State(site): State<Arc<Site>>,
    headers: HeaderMap,
    admin: Result<Admin, AuthError>,
) -> Response {
    if headers.contains_key(header::AUTHORIZATION)
        && let Err(refused) = admin
    {
        return refused.into_response();
    }
    serve_file(&site, "admin.html", &headers)
}
