//! Large files through Graph upload sessions: slices of a multiple of 320 KiB, and a session
//! kept between attempts so that a retry sends only what did not arrive.

use std::collections::HashMap;
use std::sync::Mutex;

use reqwest::{StatusCode, Url};
use serde_json::{Value, json};

use super::{ConnectorError, TARGET, unreadable};
use crate::graph::{GraphClient, GraphError};

/// Larger files go through an upload session.
pub(super) const SIMPLE_UPLOAD_MAX: usize = 4 * 1024 * 1024;
/// Graph wants slices in multiples of 320 KiB; ten make about 3 MiB a request.
const SLICE: usize = 10 * 320 * 1024;
const _: () = assert!(SLICE.is_multiple_of(320 * 1024) && SLICE < SIMPLE_UPLOAD_MAX);

/// Whether an upload put the file there or found it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Uploaded {
    Now,
    AlreadyThere,
}

/// Upload sessions in progress, by the URL they were created for (which names the file).
#[derive(Default)]
pub(super) struct Sessions(Mutex<HashMap<String, Url>>);

impl Sessions {
    fn remembered(&self, create: &Url) -> Option<Url> {
        self.lock().get(create.as_str()).cloned()
    }

    fn remember(&self, create: &Url, session: Url) {
        self.lock().insert(create.as_str().to_string(), session);
    }

    fn forget(&self, create: &Url) {
        self.lock().remove(create.as_str());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Url>> {
        // A panic elsewhere while holding the map leaves it usable.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Uploads `content` through a session made at `create` (`…:/createUploadSession`), or
    /// continues the one an earlier attempt left.
    pub(super) async fn upload(
        &self,
        graph: &GraphClient,
        create: Url,
        content: &[u8],
    ) -> Result<Uploaded, ConnectorError> {
        let (session, mut offset) = match self.resume(graph, &create).await? {
            Some(resumed) => resumed,
            None => match self.start(graph, &create).await? {
                Some(session) => (session, 0),
                None => return Ok(Uploaded::AlreadyThere),
            },
        };
        let total = content.len();
        loop {
            let end = (offset + SLICE).min(total);
            let range = format!("bytes {offset}-{}/{total}", end - 1);
            let slice = &content[offset..end];
            let sent = graph
                .send_unauthenticated(|http| {
                    http.put(session.clone())
                        .header(reqwest::header::CONTENT_RANGE, &range)
                        .body(slice.to_vec())
                })
                .await;
            let answer = match sent {
                Ok(answer) => answer,
                Err(e) if e.is(StatusCode::CONFLICT) => {
                    self.forget(&create);
                    return Ok(Uploaded::AlreadyThere);
                }
                Err(e) if e.is(StatusCode::NOT_FOUND) => {
                    self.forget(&create);
                    return Err(ConnectorError::Transient(format!(
                        "{TARGET}: the upload session has expired; the next attempt starts another"
                    )));
                }
                Err(e) => return Err(self.failed(graph, &create, &session, e).await),
            };
            if answer.status() != StatusCode::ACCEPTED {
                self.forget(&create);
                return Ok(Uploaded::Now);
            }
            let progress = graph
                .json(answer)
                .await
                .map_err(GraphError::into_connector_error)?;
            offset = next_expected(&progress)
                .filter(|next| *next < total)
                .ok_or_else(|| unreadable("an upload session that expects no further bytes"))?;
        }
    }

    /// Where an earlier attempt's session stands; `None` when there is none (any more).
    async fn resume(
        &self,
        graph: &GraphClient,
        create: &Url,
    ) -> Result<Option<(Url, usize)>, ConnectorError> {
        let Some(session) = self.remembered(create) else {
            return Ok(None);
        };
        match graph
            .send_unauthenticated(|http| http.get(session.clone()))
            .await
        {
            Ok(answer) => {
                let progress = graph
                    .json(answer)
                    .await
                    .map_err(GraphError::into_connector_error)?;
                match next_expected(&progress) {
                    Some(offset) => {
                        tracing::info!(offset, "resuming an upload session");
                        Ok(Some((session, offset)))
                    }
                    None => {
                        self.forget(create);
                        Ok(None)
                    }
                }
            }
            Err(e) if e.is(StatusCode::NOT_FOUND) => {
                self.forget(create);
                Ok(None)
            }
            Err(e) => Err(e.into_connector_error()),
        }
    }

    /// A new session, or `None` when the file is there already.
    async fn start(
        &self,
        graph: &GraphClient,
        create: &Url,
    ) -> Result<Option<Url>, ConnectorError> {
        let body = json!({"item": {"@microsoft.graph.conflictBehavior": "fail"}});
        let answer = match graph
            .send(|http| http.post(create.clone()).json(&body))
            .await
        {
            Ok(answer) => answer,
            Err(e) if e.is(StatusCode::CONFLICT) => return Ok(None),
            Err(e) => return Err(e.into_connector_error()),
        };
        let session = graph
            .json(answer)
            .await
            .map_err(GraphError::into_connector_error)?;
        let url = session["uploadUrl"]
            .as_str()
            .and_then(|url| Url::parse(url).ok())
            .filter(|url| matches!(url.scheme(), "https" | "http"))
            .ok_or_else(|| unreadable("an upload session without its uploadUrl"))?;
        self.remember(create, url.clone());
        Ok(Some(url))
    }

    /// A slice that failed: a passing failure keeps the session for the retry; a final one
    /// cancels it.
    async fn failed(
        &self,
        graph: &GraphClient,
        create: &Url,
        session: &Url,
        error: GraphError,
    ) -> ConnectorError {
        if !error.transient {
            self.forget(create);
            let cancelled = graph
                .send_unauthenticated(|http| http.delete(session.clone()))
                .await;
            if cancelled.is_err() {
                tracing::debug!("an upload session refused could not be cancelled; it expires");
            }
        }
        error.into_connector_error()
    }
}

/// The first byte a session still expects: `nextExpectedRanges: ["26-"]`.
fn next_expected(progress: &Value) -> Option<usize> {
    progress["nextExpectedRanges"]
        .as_array()?
        .first()?
        .as_str()?
        .split('-')
        .next()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_range_is_where_to_go_on() {
        assert_eq!(
            next_expected(&json!({"nextExpectedRanges": ["3276800-"]})),
            Some(3276800)
        );
        assert_eq!(
            next_expected(&json!({"nextExpectedRanges": ["12-55", "77-"]})),
            Some(12)
        );
        assert_eq!(next_expected(&json!({"nextExpectedRanges": []})), None);
    }
}
