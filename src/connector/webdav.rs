//! WebDAV targets: a collection per case, each document put once and described by
//! properties in our namespace.
//!
//! Layout: `<url>/<case folder>/<date>_<title>_<key>.<ext>`, separate attachments beside it as
//! `…_<key>-<index>-<name>`. A document is put with `If-None-Match: *`, so a retry never
//! overwrites; its `idempotency-key` property, set after the upload in the one PROPPATCH (all
//! or nothing, RFC 4918) that describes it, marks it complete. A new version of a document is
//! put beside it as `<document name>.v<n>.<ext>`, with `version-of` and `version` properties,
//! and the document keeps its id. Withdrawing a filing deletes the resources carrying its key.

mod xml;

use reqwest::{Method, StatusCode, Url};

use super::http::{self, Credentials};
use super::naming::{case_folder, extension, safe_name};
use super::{
    BoxFuture, Capabilities, CaseDocument, Connector, ConnectorError, DocumentContent,
    FiledDocument, FilingRequest, WithdrawRequest, Withdrawal,
};
use crate::config::WebdavConfig;
use crate::domain::case::{Case, CaseInput};
use crate::domain::filing::AttachmentMode;

const TARGET: &str = "webdav";
/// Our properties on a case's collection.
const CASE_PROPS: [&str; 3] = ["case-id", "case-number", "case-title"];
/// Our properties on a document that `list_documents` reads.
const DOCUMENT_PROPS: [&str; 3] = ["title", "date", "version-of"];

pub struct WebdavConnector {
    /// Ends with `/`.
    base: Url,
    client: reqwest::Client,
    credentials: Credentials,
}

/// One resource to put: its name in the case's collection, its bytes, and its properties.
struct Upload<'a> {
    name: String,
    content_type: &'a str,
    content: &'a [u8],
    /// The property that marks the upload complete.
    key: String,
    props: Vec<(&'static str, String)>,
}

impl WebdavConnector {
    pub fn new(config: &WebdavConfig) -> Result<WebdavConnector, String> {
        let mut base = http::target_url(&config.url)?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        Ok(WebdavConnector {
            base,
            client: http::client(config.timeout_secs)?,
            credentials: Credentials::basic_or_none(&config.username, &config.password),
        })
    }

    /// The URL of a case's collection (`name` none) or of a resource in it.
    fn url(&self, folder: &str, name: Option<&str>) -> Url {
        let mut url = self.base.clone();
        // Never an error: `new` accepts only http and https URLs, which have paths.
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .push(folder)
                .push(name.unwrap_or(""));
        }
        url
    }

    fn request(&self, method: &'static str, url: Url) -> reqwest::RequestBuilder {
        let method =
            Method::from_bytes(method.as_bytes()).expect("WebDAV method names are valid tokens");
        self.credentials.apply(self.client.request(method, url))
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ConnectorError> {
        request
            .send()
            .await
            .map_err(|e| http::send_error(TARGET, e))
    }

    async fn file_request(&self, request: &FilingRequest) -> Result<FiledDocument, ConnectorError> {
        let folder = case_collection(&request.case.id);
        let stem = format!(
            "{}_{}_{}",
            request.accepted_at.format("%Y-%m-%d"),
            safe_name(&request.title, 60),
            safe_name(&request.idempotency_key, 64)
        );
        let (main, document_id) = match &request.new_version_of {
            None => {
                let main = format!("{stem}.{}", extension(&request.content_type));
                let document_id = format!("{folder}/{main}");
                (main, document_id)
            }
            Some(version) => (
                self.version_name(&folder, &version.document_id, version.version)
                    .await?,
                version.document_id.clone(),
            ),
        };
        let described = |title: &str| {
            vec![
                ("title", title.to_string()),
                ("case-id", request.case.id.clone()),
                ("case-number", request.case.number.clone()),
                ("direction", request.direction().as_str().to_string()),
                ("date", request.document_date().to_rfc3339()),
                ("filed-by", request.filed_by.clone()),
            ]
        };
        // Separate attachments go first: the main document, put last, then means the whole
        // filing is there.
        let mut put: Vec<Url> = Vec::new();
        for attachment in &request.attachments {
            if attachment.mode != AttachmentMode::Separate {
                continue;
            }
            let mut props = described(&attachment.name);
            props.push(("attachment-of", document_id.clone()));
            let upload = Upload {
                name: format!(
                    "{stem}-{:02}-{}",
                    attachment.index,
                    safe_name(&attachment.name, 80)
                ),
                content_type: &attachment.content_type,
                content: &attachment.content,
                key: format!("{}-{:02}", request.idempotency_key, attachment.index),
                props,
            };
            if let Err(error) = self
                .put_once(&folder, &request.case, upload, &mut put)
                .await
            {
                return Err(self.undo_if_final(error, &put).await);
            }
        }
        let mut props = described(&request.title);
        if let Some(version) = &request.new_version_of {
            props.push(("version-of", version.document_id.clone()));
            props.push(("version", version.version.to_string()));
        }
        let upload = Upload {
            name: main,
            content_type: &request.content_type,
            content: &request.content,
            key: request.idempotency_key.clone(),
            props,
        };
        if let Err(error) = self
            .put_once(&folder, &request.case, upload, &mut put)
            .await
        {
            return Err(self.undo_if_final(error, &put).await);
        }
        Ok(FiledDocument::filed(document_id))
    }

    /// The name of version `version` of the document `document_id` in the case's collection,
    /// once the document is known to be there.
    async fn version_name(
        &self,
        folder: &str,
        document_id: &str,
        version: u32,
    ) -> Result<String, ConnectorError> {
        let refused =
            |why: &str| ConnectorError::Permanent(format!("{TARGET}: {document_id:?} {why}"));
        let name = document_id
            .strip_prefix(folder)
            .and_then(|rest| rest.strip_prefix('/'))
            .filter(|name| !name.is_empty() && !name.contains('/'))
            .ok_or_else(|| refused("is not a document of this case"))?;
        let found = self
            .properties(&self.url(folder, Some(name)), "0", &["idempotency-key"])
            .await?;
        if found.is_empty() {
            return Err(refused("is no longer on the server"));
        }
        Ok(match name.rsplit_once('.') {
            Some((stem, extension)) => format!("{stem}.v{version}.{extension}"),
            None => format!("{name}.v{version}"),
        })
    }

    /// A filing refused for good must leave nothing behind, or filing the item again would
    /// make copies: what this attempt put is deleted (as far as the server lets us). A
    /// passing failure leaves it, for the retry to find and complete.
    async fn undo_if_final(&self, error: ConnectorError, put: &[Url]) -> ConnectorError {
        if let ConnectorError::Permanent(_) = error {
            for url in put {
                let deleted = self.send(self.request("DELETE", url.clone())).await;
                if !deleted
                    .as_ref()
                    .is_ok_and(|r| r.status().is_success() || r.status() == StatusCode::NOT_FOUND)
                {
                    tracing::warn!(
                        "could not remove a partly filed document from the WebDAV server"
                    );
                }
            }
        }
        error
    }

    /// Puts a resource unless it is there, then describes it, the key among its properties.
    /// Its URL joins `ours` once the resource there is known to be ours, so that undoing a
    /// refused filing never removes another filing's document.
    async fn put_once(
        &self,
        folder: &str,
        case: &Case,
        upload: Upload<'_>,
        ours: &mut Vec<Url>,
    ) -> Result<(), ConnectorError> {
        let url = self.url(folder, Some(&upload.name));
        let put = || {
            self.request("PUT", url.clone())
                .header(reqwest::header::IF_NONE_MATCH, "*")
                .header(reqwest::header::CONTENT_TYPE, upload.content_type)
                .body(upload.content.to_vec())
        };
        let mut response = self.send(put()).await?;
        // 409: the case's collection is not there yet (some servers say 404).
        if matches!(
            response.status(),
            StatusCode::CONFLICT | StatusCode::NOT_FOUND
        ) {
            self.make_case_collection(folder, case).await?;
            response = self.send(put()).await?;
        }
        match response.status() {
            status if status.is_success() => ours.push(url.clone()),
            StatusCode::PRECONDITION_FAILED => {
                let complete = self.already_complete(&url, &upload).await?;
                ours.push(url.clone());
                if complete {
                    return Ok(());
                }
            }
            _ => return Err(http::failure(TARGET, response).await),
        }
        let mut props = upload.props;
        props.push(("idempotency-key", upload.key));
        self.set_properties(&url, &props).await
    }

    /// After a 412: whether the resource there is our complete upload. One that an earlier
    /// attempt put without its properties is complete when its length is ours; a shorter one
    /// (an upload cut off) is ours to remove, and the next attempt puts it again. One that
    /// carries another filing's key is that filing's (two filings given the same version
    /// number): it is neither taken nor removed, and the filing is refused.
    async fn already_complete(
        &self,
        url: &Url,
        upload: &Upload<'_>,
    ) -> Result<bool, ConnectorError> {
        let found = self
            .properties(url, "0", &["idempotency-key"])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                ConnectorError::Transient(format!("{TARGET}: {url} was there and is gone"))
            })?;
        match found.ours("idempotency-key") {
            Some(key) if key == upload.key => return Ok(true),
            Some(_) => {
                return Err(ConnectorError::Permanent(format!(
                    "{TARGET}: {} is already another filing's document; it is left as it is",
                    upload.name
                )));
            }
            None => {}
        }
        if found.content_length() == Some(upload.content.len() as u64) {
            return Ok(false);
        }
        let response = self.send(self.request("DELETE", url.clone())).await?;
        if !response.status().is_success() {
            return Err(http::failure(TARGET, response).await);
        }
        Err(ConnectorError::Transient(format!(
            "{TARGET}: an incomplete earlier upload of {} was removed to be put again",
            upload.name
        )))
    }

    /// Makes a case's collection (405 means it is there) and describes the case on it.
    async fn make_case_collection(&self, folder: &str, case: &Case) -> Result<(), ConnectorError> {
        let url = self.url(folder, None);
        let response = self.send(self.request("MKCOL", url.clone())).await?;
        if !(response.status().is_success() || response.status() == StatusCode::METHOD_NOT_ALLOWED)
        {
            return Err(http::failure(TARGET, response).await);
        }
        let props = [case.id.clone(), case.number.clone(), case.title.clone()];
        let props: Vec<_> = CASE_PROPS.into_iter().zip(props).collect();
        self.set_properties(&url, &props).await
    }

    async fn set_properties(
        &self,
        url: &Url,
        props: &[(&str, String)],
    ) -> Result<(), ConnectorError> {
        let request = self
            .request("PROPPATCH", url.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/xml; charset=utf-8",
            )
            .body(xml::propertyupdate(props));
        let response = self.send(request).await?;
        if !response.status().is_success() {
            return Err(http::failure(TARGET, response).await);
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| http::send_error(TARGET, e))?;
        let refused: Vec<String> = xml::multistatus(&body)
            .map_err(|e| ConnectorError::Transient(format!("{TARGET}: unreadable answer: {e}")))?
            .into_iter()
            .flat_map(|resource| resource.failed)
            .collect();
        if refused.is_empty() {
            Ok(())
        } else {
            Err(ConnectorError::Permanent(format!(
                "{TARGET}: the server refused the properties {}",
                refused.join(", ")
            )))
        }
    }

    /// PROPFIND with the given depth; nothing for a resource that is not there.
    async fn properties(
        &self,
        url: &Url,
        depth: &str,
        props: &[&str],
    ) -> Result<Vec<xml::Resource>, ConnectorError> {
        let request = self
            .request("PROPFIND", url.clone())
            .header("Depth", depth)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/xml; charset=utf-8",
            )
            .body(xml::propfind(props));
        let response = self.send(request).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(Vec::new());
        }
        if response.status() != StatusCode::MULTI_STATUS {
            return Err(http::failure(TARGET, response).await);
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| http::send_error(TARGET, e))?;
        xml::multistatus(&body)
            .map_err(|e| ConnectorError::Transient(format!("{TARGET}: unreadable answer: {e}")))
    }

    /// The case a collection describes, or one named after the collection (made by hand).
    fn case_of(&self, resource: &xml::Resource) -> Option<CaseInput> {
        let url = self.base.join(&resource.href).ok()?;
        let name = url
            .path_segments()?
            .rev()
            .find(|segment| !segment.is_empty())
            .map(percent_decode)?;
        let id = resource.ours("case-id").unwrap_or(&name).to_string();
        let number = resource.ours("case-number").unwrap_or(&id).to_string();
        let title = resource.ours("case-title").unwrap_or(&id).to_string();
        Some(CaseInput::plain(id, number, title))
    }

    /// Deletes every resource of the filing in its case's collection, found by its key: the
    /// document (or the version it added) and its separate attachments (`<key>-<index>`).
    async fn withdraw_request(
        &self,
        request: &WithdrawRequest,
    ) -> Result<Withdrawal, ConnectorError> {
        let folder = case_collection(&request.case.id);
        let resources = self
            .properties(&self.url(&folder, None), "1", &["idempotency-key"])
            .await?;
        let key = &request.idempotency_key;
        for resource in resources.iter().filter(|r| !r.collection) {
            let ours = resource.ours("idempotency-key").is_some_and(|found| {
                found == key
                    || found
                        .strip_prefix(key.as_str())
                        .and_then(|rest| rest.strip_prefix('-'))
                        .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
            });
            if !ours {
                continue;
            }
            let url = self.base.join(&resource.href).map_err(|e| {
                ConnectorError::Permanent(format!("{TARGET}: unusable href in an answer: {e}"))
            })?;
            let response = self.send(self.request("DELETE", url)).await?;
            if !(response.status().is_success() || response.status() == StatusCode::NOT_FOUND) {
                return Err(http::failure(TARGET, response).await);
            }
        }
        Ok(Withdrawal::Removed)
    }

    async fn list(&self) -> Result<Vec<CaseInput>, ConnectorError> {
        let resources = self.properties(&self.base, "1", &CASE_PROPS).await?;
        let base = percent_decode(self.base.path());
        let mut cases: Vec<CaseInput> = resources
            .iter()
            .filter(|r| r.collection)
            .filter(|r| {
                self.base
                    .join(&r.href)
                    .is_ok_and(|url| percent_decode(url.path()) != base)
            })
            .filter_map(|r| self.case_of(r))
            .collect();
        cases.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(cases)
    }

    /// The resources in a case's collection, each fetched, but for new versions of a
    /// document; titled and dated by our properties, else by the resource's name and last
    /// change.
    async fn documents(&self, case_id: &str) -> Result<Vec<CaseDocument>, ConnectorError> {
        let folder = case_collection(case_id);
        let resources = self
            .properties(&self.url(&folder, None), "1", &DOCUMENT_PROPS)
            .await?;
        let mut documents = Vec::new();
        for resource in resources
            .iter()
            .filter(|r| !r.collection && r.ours("version-of").is_none())
        {
            let url = self.base.join(&resource.href).map_err(|e| {
                ConnectorError::Permanent(format!("{TARGET}: unusable href in an answer: {e}"))
            })?;
            let name = url
                .path_segments()
                .and_then(|mut segments| segments.next_back())
                .map(percent_decode)
                .unwrap_or_default();
            let response = self.send(self.request("GET", url)).await?;
            // Removed since the listing: no longer on the case.
            if response.status() == StatusCode::NOT_FOUND {
                continue;
            }
            if !response.status().is_success() {
                return Err(http::failure(TARGET, response).await);
            }
            let content = response
                .bytes()
                .await
                .map_err(|e| http::send_error(TARGET, e))?;
            documents.push(CaseDocument {
                case_id: case_id.to_string(),
                document_id: format!("{folder}/{name}"),
                title: resource.ours("title").unwrap_or(&name).to_string(),
                content_type: resource
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_string(),
                date: resource
                    .ours("date")
                    .and_then(|date| chrono::DateTime::parse_from_rfc3339(date).ok())
                    .map(|date| date.to_utc())
                    .or_else(|| resource.last_modified()),
                content: DocumentContent::Original(content.to_vec()),
            });
        }
        documents.sort_by(|a, b| a.document_id.cmp(&b.document_id));
        Ok(documents)
    }

    async fn read(&self, id: &str) -> Result<Option<CaseInput>, ConnectorError> {
        let url = self.url(&case_collection(id), None);
        let resources = self.properties(&url, "0", &CASE_PROPS).await?;
        Ok(resources
            .iter()
            .find(|r| r.collection)
            .and_then(|r| self.case_of(r)))
    }
}

impl Connector for WebdavConnector {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            list_cases: true,
            read_case: true,
            withdraw: true,
            list_documents: true,
        }
    }

    fn creates_cases(&self) -> bool {
        true
    }

    /// The case's collection with its properties; MKCOL on one already there is answered 405,
    /// which counts as made.
    fn create_case<'a>(&'a self, case: &'a Case) -> BoxFuture<'a, Result<String, ConnectorError>> {
        Box::pin(async move {
            self.make_case_collection(&case_collection(&case.id), case)
                .await?;
            Ok(case.number.clone())
        })
    }

    fn file(&self, request: FilingRequest) -> BoxFuture<'_, Result<FiledDocument, ConnectorError>> {
        Box::pin(async move { self.file_request(&request).await })
    }

    fn withdraw(
        &self,
        request: WithdrawRequest,
    ) -> BoxFuture<'_, Result<Withdrawal, ConnectorError>> {
        Box::pin(async move { self.withdraw_request(&request).await })
    }

    fn list_cases(&self) -> BoxFuture<'_, Result<Vec<CaseInput>, ConnectorError>> {
        Box::pin(self.list())
    }

    fn read_case<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<CaseInput>, ConnectorError>> {
        Box::pin(self.read(id))
    }

    fn list_documents<'a>(
        &'a self,
        case_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<CaseDocument>, ConnectorError>> {
        Box::pin(self.documents(case_id))
    }
}

/// The collection of a case: the id itself where servers take it as a name, so that a
/// collection made by hand and listed under its name is found again when filing; otherwise the
/// archive's safe name. The refused characters are SharePoint's, the strictest of the servers.
fn case_collection(id: &str) -> String {
    let plain = !id.is_empty()
        && id.chars().count() <= 120
        && !id.starts_with([' ', '.'])
        && !id.ends_with([' ', '.'])
        && !id
            .chars()
            .any(|c| c.is_control() || "\"*:<>?/\\|#%~&{}".contains(c));
    if plain {
        id.to_string()
    } else {
        case_folder(id)
    }
}

/// `%C3%86r%C3%B8` → `Ærø`; malformed escapes are kept as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connector(url: &str) -> WebdavConnector {
        WebdavConnector::new(&WebdavConfig {
            url: url.into(),
            ..WebdavConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn case_and_document_urls_are_encoded_segments_under_the_base() {
        let dav = connector("http://dav.example/sager");
        assert_eq!(dav.base.as_str(), "http://dav.example/sager/");
        assert_eq!(
            dav.url("Ærø_sag", Some("a b.eml")).as_str(),
            "http://dav.example/sager/%C3%86r%C3%B8_sag/a%20b.eml"
        );
        assert_eq!(
            dav.url("S-1", None).as_str(),
            "http://dav.example/sager/S-1/"
        );
    }

    #[test]
    fn case_ids_name_their_collection_unless_servers_refuse_them() {
        assert_eq!(
            case_collection("Byggesag Skovvej 12"),
            "Byggesag Skovvej 12"
        );
        assert_eq!(case_collection("VK-2026-0007"), "VK-2026-0007");
        for refused in ["Sag 7/2026", "..", "a:b", " x", "x.", ""] {
            assert_ne!(case_collection(refused), refused, "{refused:?}");
            assert!(!case_collection(refused).contains(['/', ':']));
        }
    }

    #[test]
    fn percent_escapes_are_decoded() {
        assert_eq!(percent_decode("%C3%86r%C3%B8%20sag"), "Ærø sag");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
