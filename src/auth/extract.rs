//! Axum extractors that turn a bearer token into a `CurrentUser`, or an `Admin`.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::{AuthError, Authenticator, User};

/// Any authenticated user.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

/// A user with the admin role. Only this extractor builds one, so a handler that takes it
/// cannot be reached by anyone else.
#[derive(Debug, Clone)]
pub struct Admin(pub User);

impl<S> FromRequestParts<S> for CurrentUser
where
    Arc<Authenticator>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).ok_or(AuthError::Missing)?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Missing)?;
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
