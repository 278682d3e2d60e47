//! The Office add-ins' side of the service: the pane files under `/addin/`, the pane's sign-in
//! settings, the manifests rendered for this deployment, and the headers that let Office (and
//! only Office) frame the panes.
//!
//! Nothing served here carries data: the pages and manifests need no sign-in, and the panes
//! call `/api/v1` with a bearer token like any other client.

mod assets;
pub mod console;
pub mod icons;
pub mod manifest;
pub mod xml;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::api::error::ApiError;
use crate::config::Config;
use assets::{Assets, REVALIDATE};
pub use manifest::{ManifestError, ManifestSettings, Manifests};

/// Where scripts may come from besides the service: Microsoft's Office.js CDN, which the
/// Office store requires.
const OFFICE_JS: &str = "https://appsforoffice.microsoft.com";
/// Everything that is not an add-in page: nothing to load, and never in a frame.
const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// The service's public HTTPS origin, e.g. `https://journaliser.kommune.example`, without a
/// trailing slash: what manifests and the allow-list point to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    origin: String,
    authority: String,
}

impl PublicUrl {
    /// Accepts an `https://` address with no path (beyond `/`), query, fragment or user.
    pub fn parse(text: &str) -> Result<PublicUrl, String> {
        let url =
            reqwest::Url::parse(text.trim()).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
        if url.scheme() != "https" {
            return Err(format!(
                "{text:?} must start with https:// (Office loads add-ins only over HTTPS)"
            ));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "{text:?} must be the service's address alone, without a path: the add-in lives under /addin/"
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("{text:?} must not carry a user name or password"));
        }
        let host = url
            .host_str()
            .ok_or_else(|| format!("{text:?} has no host"))?;
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        Ok(PublicUrl {
            origin: format!("https://{authority}"),
            authority,
        })
    }

    /// The address of a service serving HTTPS on this machine.
    pub fn localhost(port: u16) -> PublicUrl {
        PublicUrl::parse(&format!("https://localhost:{port}"))
            .expect("a localhost address with a port is valid")
    }

    /// `https://host[:port]`.
    pub fn as_str(&self) -> &str {
        &self.origin
    }

    /// `host[:port]`.
    pub fn authority(&self) -> &str {
        &self.authority
    }
}

/// What the add-in routes serve, prepared once at start.
pub struct Site {
    files: Assets,
    public_url: Option<PublicUrl>,
    manifests: Option<Manifests>,
    client_config: Value,
    page_policy: HeaderValue,
}

impl Site {
    /// `public_url` is where users reach the service over HTTPS; without one the pages are
    /// served but the manifests are not.
    pub fn new(config: &Config, public_url: Option<PublicUrl>) -> Result<Site, ManifestError> {
        let settings = public_url
            .clone()
            .map(|url| ManifestSettings::new(url, &config.addin))
            .transpose()?;
        let manifests = settings.as_ref().map(Manifests::render).transpose()?;
        Ok(Site {
            files: Assets::embedded(),
            client_config: client_config(config, settings.as_ref()),
            page_policy: page_policy(config),
            public_url,
            manifests,
        })
    }

    pub fn public_url(&self) -> Option<&PublicUrl> {
        self.public_url.as_ref()
    }

    pub fn manifests(&self) -> Option<&Manifests> {
        self.manifests.as_ref()
    }
}

/// The pane's sign-in settings (`/addin/config.json`): Entra ID through nested app
/// authentication when a client id is configured, else the service's development tokens.
/// Nothing secret: a public client id and the scope to ask for.
fn client_config(config: &Config, settings: Option<&ManifestSettings>) -> Value {
    let addin = &config.addin;
    if addin.client_id.is_empty() {
        return json!({"auth": "dev", "client_id": null, "authority": null, "scopes": []});
    }
    let entra = &config.auth.entra;
    let tenant = match entra.tenants.as_slice() {
        [one] => one.as_str(),
        _ => "organizations",
    };
    let app_id_uri = match (
        settings.and_then(|s| s.api.as_ref()),
        addin.app_id_uri.as_str(),
    ) {
        (Some(api), _) => api.app_id_uri.clone(),
        (None, "") => format!("api://{}", addin.client_id),
        (None, uri) => uri.trim_end_matches('/').to_string(),
    };
    json!({
        "auth": "entra",
        "client_id": addin.client_id,
        "authority": format!("{}/{tenant}", entra.authority.trim_end_matches('/')),
        "scopes": [format!("{app_id_uri}/{}", entra.required_scope)],
    })
}

/// The policy of the add-in pages: scripts from the service and Office.js only, sign-in traffic
/// to the Entra ID authority, and framing by the Office hosts alone.
fn page_policy(config: &Config) -> HeaderValue {
    let authority = reqwest::Url::parse(&config.auth.entra.authority)
        .ok()
        .map(|url| url.origin().ascii_serialization())
        .filter(|origin| origin != "null")
        .unwrap_or_else(|| "https://login.microsoftonline.com".into());
    let ancestors = std::iter::once("'self'")
        .chain(
            config
                .addin
                .frame_ancestors
                .iter()
                .map(String::as_str)
                .filter(|a| *a != "'self'"),
        )
        .collect::<Vec<_>>()
        .join(" ");
    let policy = format!(
        "default-src 'self'; script-src 'self' {OFFICE_JS}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' {authority}; \
         frame-src 'self' {authority}; object-src 'none'; base-uri 'self'; form-action 'self'; \
         frame-ancestors {ancestors}"
    );
    // The configuration check refuses ancestors that could break the header.
    HeaderValue::from_str(&policy).expect("the policy is made of checked, printable parts")
}

/// The add-in routes, for any router state that holds the site.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<Site>: FromRef<S>,
    Arc<crate::auth::Authenticator>: FromRef<S>,
{
    Router::new()
        .route("/addin", get(|| async { Redirect::permanent("/addin/") }))
        .route("/addin/", get(index))
        .route("/addin/config.json", get(sign_in_settings))
        .route("/addin/manifest/{name}", get(manifest))
        .route("/addin/{*path}", get(file))
        .route("/review", get(|| async { Redirect::permanent("/review/") }))
        .route("/review/", get(review))
        .merge(console::routes())
}

/// The review queue's page, among the pane's files so that it shares their look and code.
async fn review(State(site): State<Arc<Site>>, headers: HeaderMap) -> Response {
    serve_file(&site, "review.html", &headers)
}

async fn index(State(site): State<Arc<Site>>, headers: HeaderMap) -> Response {
    serve_file(&site, "index.html", &headers)
}

async fn file(
    State(site): State<Arc<Site>>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve_file(&site, &path, &headers)
}

fn serve_file(site: &Site, path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = site.files.get(path) else {
        return ApiError::NotFound("file").into_response();
    };
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|tag| tag.trim() == file.etag || tag.trim() == "*")
        });
    let (status, body) = if unchanged {
        (StatusCode::NOT_MODIFIED, Body::empty())
    } else {
        (StatusCode::OK, Body::from(file.bytes.clone()))
    };
    let mut response = page(site, status, file.content_type, file.cache_control, body);
    response
        .headers_mut()
        .insert(header::ETAG, file.etag.clone());
    response
}

/// A response for the add-in: the page policy, and no `X-Frame-Options` (Office frames it).
fn page(
    site: &Site,
    status: StatusCode,
    content_type: &'static str,
    cache_control: &'static str,
    body: Body,
) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    if status != StatusCode::NOT_MODIFIED {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    headers.insert(header::CONTENT_SECURITY_POLICY, site.page_policy.clone());
    response
}

async fn sign_in_settings(State(site): State<Arc<Site>>) -> Response {
    let body = Body::from(site.client_config.to_string());
    page(&site, StatusCode::OK, "application/json", REVALIDATE, body)
}

async fn manifest(State(site): State<Arc<Site>>, Path(name): Path<String>) -> Response {
    let Some(manifests) = site.manifests() else {
        return ApiError::Conflict(
            "the add-in manifests need the service's HTTPS address: set addin.public_url, or serve with TLS".into(),
        )
        .into_response();
    };
    let xml = "application/xml; charset=utf-8";
    let (body, content_type) = match name.as_str() {
        "outlook.xml" => (Body::from(manifests.outlook.clone()), xml),
        "word.xml" => (Body::from(manifests.word.clone()), xml),
        "manifest.json" => (Body::from(manifests.unified.clone()), "application/json"),
        "en-us.json" => (Body::from(manifests.unified_en.clone()), "application/json"),
        manifest::PACKAGE => (Body::from(manifests.package()), "application/zip"),
        _ => return ApiError::NotFound("manifest").into_response(),
    };
    page(&site, StatusCode::OK, content_type, REVALIDATE, body)
}

/// Outermost layer: every answer that did not set its own policy (everything but the add-in
/// routes) may not be framed or load anything.
pub async fn frame_guard(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(API_POLICY),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_are_https_origins() {
        let url = PublicUrl::parse("https://Journaliser.Kommune.example:8443/").unwrap();
        assert_eq!(url.as_str(), "https://journaliser.kommune.example:8443");
        assert_eq!(url.authority(), "journaliser.kommune.example:8443");
        assert_eq!(
            PublicUrl::parse("https://host.example:443")
                .unwrap()
                .as_str(),
            "https://host.example"
        );
        for bad in [
            "http://host.example",
            "https://host.example/journaliser",
            "https://host.example/?a=1",
            "https://user:pw@host.example",
            "host.example",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_page_policy_allows_office_and_no_one_else() {
        let config = Config::default();
        let policy = page_policy(&config);
        let policy = policy.to_str().unwrap();
        assert!(
            policy.contains("script-src 'self' https://appsforoffice.microsoft.com;"),
            "{policy}"
        );
        assert!(
            policy.contains("connect-src 'self' https://login.microsoftonline.com;"),
            "{policy}"
        );
        let ancestors = policy.split("frame-ancestors ").nth(1).unwrap();
        for host in [
            "https://outlook.office.com",
            "https://outlook.cloud.microsoft",
            "https://*.sharepoint.com",
        ] {
            assert!(
                ancestors.split(' ').any(|a| a == host),
                "{host} missing: {ancestors}"
            );
        }
        assert!(
            !ancestors
                .split(' ')
                .any(|a| a == "*" || a == "https:" || a == "https://*"),
            "{ancestors}"
        );
    }

    #[test]
    fn the_pane_signs_in_with_entra_only_when_configured() {
        let mut config = Config::default();
        assert_eq!(client_config(&config, None)["auth"], "dev");
        config.addin.client_id = "11111111-2222-3333-4444-555555555555".into();
        config.auth.entra.tenants = vec!["aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee".into()];
        let base = PublicUrl::parse("https://j.example").unwrap();
        let settings = ManifestSettings::new(base, &config.addin).unwrap();
        let shown = client_config(&config, Some(&settings));
        assert_eq!(
            shown,
            json!({
                "auth": "entra",
                "client_id": "11111111-2222-3333-4444-555555555555",
                "authority": "https://login.microsoftonline.com/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                "scopes": ["api://j.example/11111111-2222-3333-4444-555555555555/access_as_user"],
            })
        );
    }
}
