//! Axum extractors that turn a bearer token into a `CurrentUser`, or an `Admin`.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{AuthError, Authenticator, User};

/// Any authenticated user.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

/// A user with the admin role. Only this extractor builds one, so a handler that takes it
/// cannot be reached by anyone else.
#[derive(Debug, Clone)]
pub struct Admin(pub User);

/// A user already admitted for this request (`admit_before_body`), so that the extractor does
/// not take a second request from their budget. Only the service puts it in a request.
#[derive(Debug, Clone)]
struct Admitted(User);

/// The bearer token of a request, if it carries one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)?
        .to_str()
        .ok()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Admits the caller before the handler runs; one over their budget gets 429 only after the
/// request's body (up to `max_body_bytes`) is read and dropped, so that a client still sending
/// an upload reads the answer and its `Retry-After` instead of a broken connection.
pub async fn admit_before_body(
    authenticator: Arc<Authenticator>,
    max_body_bytes: usize,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(token) = bearer(request.headers()) {
        match authenticator.admit(token).await {
            Ok(user) => {
                request.extensions_mut().insert(Admitted(user));
            }
            Err(refused @ AuthError::RateLimited(_)) => {
                let (_, body) = request.into_parts();
                let _ = axum::body::to_bytes(body, max_body_bytes).await;
                return refused.into_response();
            }
            // The extractor gives the answer, as for a request without this layer.
            Err(_) => {}
        }
    }
    next.run(request).await
}

impl<S> FromRequestParts<S> for CurrentUser
where
    Arc<Authenticator>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(Admitted(user)) = parts.extensions.get::<Admitted>() {
            tracing::Span::current().record("user", tracing::field::display(&user.id));
            return Ok(CurrentUser(user.clone()));
        }
        let token = bearer(&parts.headers).ok_or(AuthError::Missing)?;
        let authenticator = Arc::<Authenticator>::from_ref(state);
        let user = authenticator.admit(token).await?;
        tracing::Span::current().record("user", tracing::field::display(&user.id));
        Ok(CurrentUser(user))
    }
}

impl<S> FromRequestParts<S> for Admin
where
    Arc<Authenticator>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        if user.admin {
            Ok(Admin(user))
        } else {
            Err(AuthError::NotAdmin)
        }
    }
}
