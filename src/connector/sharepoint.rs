//! SharePoint document libraries through Microsoft Graph: a folder per case in one library,
//! each document uploaded once under a name made from its filing id and described in the
//! library's columns.
//!
//! Layout: `<library>/<folder>/<case id>/<date>_<title>_<key>.<ext>`, separate attachments
//! beside it as `…_<key>-<index>-<name>`. Every upload says
//! `@microsoft.graph.conflictBehavior=fail`, so a repeat meets the first upload (409) and
//! finds it by name: the name is the filing's. Files over 4 MiB go through an upload session
//! in slices; a retry resumes the session where it stopped. A new version replaces the content
//! of the same driveItem (SharePoint keeps the earlier one as a version). Withdrawing deletes the
//! document and its separate attachments, which puts them in the site's recycle bin. A case
//! ordered here is a new folder named by its id (a repeat meets the first, 409) with its
//! columns.

mod columns;
mod upload;

use reqwest::{StatusCode, Url};
use serde_json::{Map, Value};
use tokio::sync::OnceCell;

use super::naming::{extension, safe_name};
use super::{
    BoxFuture, Capabilities, Connector, ConnectorError, FiledDocument, FilingRequest,
    WithdrawRequest, Withdrawal, shareable_parties,
};
use crate::config::{SharepointColumns, SharepointConfig};
use crate::domain::case::{Case, CaseInput, CaseStatus};
use crate::domain::filing::AttachmentMode;
use crate::graph::{AppCredentials, GraphClient, GraphError};
use upload::{Sessions, Uploaded};

const TARGET: &str = "sharepoint";
/// Selects a driveItem with its list item's columns.
const WITH_FIELDS: (&str, &str) = ("$expand", "listItem($expand=fields)");

pub struct SharepointConnector {
    graph: GraphClient,
    /// `site` split into path segments: `["vejstrand.sharepoint.com:", "sites", "sager"]`.
    site: Vec<String>,
    library: String,
    /// The case folders' parent in the library, as path segments; empty for its top.
    folder: Vec<String>,
    columns: SharepointColumns,
    location: OnceCell<Location>,
    sessions: Sessions,
}

/// Where the library is, found once from the site and library names.
struct Location {
    site_id: String,
    list_id: String,
    drive_id: String,
}

/// A driveItem as Graph describes it, with its list item.
struct Item {
    id: String,
    parent_id: String,
    size: u64,
    list_item_id: String,
    fields: Map<String, Value>,
}

impl Item {
    fn read(json: &Value) -> Result<Item, ConnectorError> {
        let text = |pointer: &str| json.pointer(pointer).and_then(Value::as_str);
        let id = text("/id").ok_or_else(|| unreadable("a driveItem without an id"))?;
        Ok(Item {
            id: id.to_string(),
            parent_id: text("/parentReference/id").unwrap_or_default().to_string(),
            size: json.get("size").and_then(Value::as_u64).unwrap_or(0),
            list_item_id: text("/listItem/id").unwrap_or_default().to_string(),
            fields: json
                .pointer("/listItem/fields")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
        })
    }

    fn field(&self, column: &str) -> Option<&str> {
        if column.is_empty() {
            return None;
        }
        self.fields.get(column).and_then(Value::as_str)
    }
}

/// One file to upload into a case folder, and the columns that describe it.
struct Upload<'a> {
    name: String,
    content_type: &'a str,
    content: &'a [u8],
    key: String,
    fields: Map<String, Value>,
}

fn unreadable(what: &str) -> ConnectorError {
    ConnectorError::Transient(format!("{TARGET}: unreadable answer: {what}"))
}

impl SharepointConnector {
    pub fn new(config: &SharepointConfig) -> Result<SharepointConnector, String> {
        let credentials = AppCredentials::of(&config.entra())?;
        let segments = |path: &str| -> Vec<String> {
            path.split('/')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        Ok(SharepointConnector {
            graph: GraphClient::new(TARGET, &config.graph_url, credentials, config.timeout_secs)?,
            site: segments(&config.site),
            library: config.library.clone(),
            folder: segments(&config.folder),
            columns: config.columns.clone(),
            location: OnceCell::new(),
            sessions: Sessions::default(),
        })
    }

    async fn location(&self) -> Result<&Location, ConnectorError> {
        self.location
            .get_or_try_init(|| async {
                let mut segments = vec!["sites"];
                segments.extend(self.site.iter().map(String::as_str));
                let site = self
                    .graph
                    .get_json(&self.graph.url(segments))
                    .await
                    .map_err(GraphError::into_connector_error)?;
                let site_id = site["id"]
                    .as_str()
                    .ok_or_else(|| unreadable("a site without an id"))?
                    .to_string();
                let mut url =
                    self.graph
                        .url(["sites", site_id.as_str(), "lists", self.library.as_str()]);
                url.query_pairs_mut().append_pair("$expand", "drive");
                let list = self.graph.get_json(&url).await.map_err(|e| {
                    if e.is(StatusCode::NOT_FOUND) {
                        ConnectorError::Permanent(format!(
                            "{TARGET}: the site has no library {:?}",
                            self.library
                        ))
                    } else {
                        e.into_connector_error()
                    }
                })?;
                let (Some(list_id), Some(drive_id)) = (
                    list["id"].as_str(),
                    list.pointer("/drive/id").and_then(Value::as_str),
                ) else {
                    return Err(ConnectorError::Permanent(format!(
                        "{TARGET}: {:?} is a list, not a document library",
                        self.library
                    )));
                };
                Ok(Location {
                    site_id,
                    list_id: list_id.to_string(),
                    drive_id: drive_id.to_string(),
                })
            })
            .await
    }

    /// The URL of a path in the library (`path` below the drive's root), followed by
    /// `then` (`children`), Graph's path addressing: `root:/a/b:/children`.
    fn path_url(&self, location: &Location, path: &[&str], then: Option<&str>) -> Url {
        if path.is_empty() {
            return self.graph.url(
                ["drives", location.drive_id.as_str(), "root"]
                    .into_iter()
                    .chain(then),
            );
        }
        let mut segments: Vec<String> =
            vec!["drives".into(), location.drive_id.clone(), "root:".into()];
        segments.extend(path.iter().map(|s| s.to_string()));
        if let Some(then) = then {
            if let Some(last) = segments.last_mut() {
                last.push(':');
            }
            segments.push(then.to_string());
        }
        self.graph.url(segments.iter().map(String::as_str))
    }

    /// The URL of `name` in the folder `parent` (an item id), followed by `then`.
    fn child_url(&self, location: &Location, parent: &str, name: &str, then: Option<&str>) -> Url {
        let parent = format!("{parent}:");
        let name = match then {
            Some(_) => format!("{name}:"),
            None => name.to_string(),
        };
        self.graph.url(
            [
                "drives",
                location.drive_id.as_str(),
                "items",
                parent.as_str(),
                name.as_str(),
            ]
            .into_iter()
            .chain(then),
        )
    }

    fn item_url(&self, location: &Location, id: &str, then: Option<&str>) -> Url {
        self.graph.url(
            ["drives", location.drive_id.as_str(), "items", id]
                .into_iter()
                .chain(then),
        )
    }

    /// An item with its columns; `None` when there is none.
    async fn item(&self, mut url: Url) -> Result<Option<Item>, ConnectorError> {
        url.query_pairs_mut()
            .append_pair(WITH_FIELDS.0, WITH_FIELDS.1);
        match self.graph.get_json(&url).await {
            Ok(json) => Item::read(&json).map(Some),
            Err(e) if e.is(StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(e.into_connector_error()),
        }
    }

    /// The items of a folder (`url` its `children`), each with its columns.
    async fn children(&self, mut url: Url) -> Result<Vec<Value>, ConnectorError> {
        url.query_pairs_mut()
            .append_pair(WITH_FIELDS.0, WITH_FIELDS.1);
        self.graph
            .get_all(url)
            .await
            .map_err(GraphError::into_connector_error)
    }

    /// The case folder's path segments in the library.
    fn case_path<'a>(&'a self, case_id: &'a str) -> Vec<&'a str> {
        self.folder
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(case_id))
            .collect()
    }

    /// The case's folder; a case without one is refused: cases are made in SharePoint.
    async fn case_folder(
        &self,
        location: &Location,
        case_id: &str,
    ) -> Result<Item, ConnectorError> {
        let url = self.path_url(location, &self.case_path(case_id), None);
        self.item(url).await?.ok_or_else(|| {
            ConnectorError::Permanent(format!(
                "{TARGET}: the library has no folder for case {case_id:?}"
            ))
        })
    }

    async fn file_request(&self, request: &FilingRequest) -> Result<FiledDocument, ConnectorError> {
        let location = self.location().await?;
        let folder = self.case_folder(location, &request.case.id).await?;
        if let Some(version) = &request.new_version_of {
            return self.file_version(location, &folder, request, version).await;
        }
        let stem = format!(
            "{}_{}_{}",
            request.accepted_at.format("%Y-%m-%d"),
            safe_name(&request.title, 60),
            safe_name(&request.idempotency_key, 64)
        );
        let mut put = Vec::new();
        // Separate attachments first: the mail, uploaded last, then means the whole filing
        // is there.
        for attachment in &request.attachments {
            if attachment.mode != AttachmentMode::Separate {
                continue;
            }
            let key = format!("{}-{:02}", request.idempotency_key, attachment.index);
            let mut fields = self.document_fields(request, &attachment.name, &key);
            columns::set(
                &mut fields,
                &self.columns.attachment_of,
                &request.idempotency_key,
            );
            let upload = Upload {
                name: format!(
                    "{stem}-{:02}-{}",
                    attachment.index,
                    safe_name(&attachment.name, 80)
                ),
                content_type: &attachment.content_type,
                content: &attachment.content,
                key,
                fields,
            };
            if let Err(error) = self
                .upload_once(location, &folder.id, upload, &mut put)
                .await
            {
                return Err(self.undo_if_final(location, error, &put).await);
            }
        }
        let upload = Upload {
            name: format!("{stem}.{}", extension(&request.content_type)),
            content_type: &request.content_type,
            content: &request.content,
            key: request.idempotency_key.clone(),
            fields: self.document_fields(request, &request.title, &request.idempotency_key),
        };
        match self
            .upload_once(location, &folder.id, upload, &mut put)
            .await
        {
            Ok(id) => Ok(FiledDocument::filed(id)),
            Err(error) => Err(self.undo_if_final(location, error, &put).await),
        }
    }

    fn document_fields(
        &self,
        request: &FilingRequest,
        title: &str,
        key: &str,
    ) -> Map<String, Value> {
        let columns = &self.columns;
        let mut fields = Map::new();
        columns::set(&mut fields, "Title", title);
        columns::set(&mut fields, &columns.case_number, &request.case.number);
        columns::set(&mut fields, &columns.filing_id, key);
        columns::set(
            &mut fields,
            &columns.direction,
            columns::direction(request.direction()),
        );
        columns::set(
            &mut fields,
            &columns.document_date,
            &request.document_date().to_rfc3339(),
        );
        columns::set(&mut fields, &columns.filed_by, &request.filed_by);
        fields
    }

    /// Uploads a file unless it is there, then writes its columns; answers its item id. The
    /// id joins `ours` once the file is known to be this filing's.
    async fn upload_once(
        &self,
        location: &Location,
        parent: &str,
        upload: Upload<'_>,
        ours: &mut Vec<String>,
    ) -> Result<String, ConnectorError> {
        let uploaded = self.upload(location, parent, &upload).await?;
        if uploaded == Uploaded::AlreadyThere {
            tracing::debug!("the document was uploaded by an earlier attempt");
        }
        // Graph makes a file appear whole or not at all, and its name carries the filing id:
        // what is there is this filing's upload.
        let item = self
            .item(self.child_url(location, parent, &upload.name, None))
            .await?
            .ok_or_else(|| {
                ConnectorError::Transient(format!(
                    "{TARGET}: {} was there and is gone",
                    upload.name
                ))
            })?;
        ours.push(item.id.clone());
        // The columns go in one request: the filing id there means they all are.
        if item.field(&self.columns.filing_id) != Some(upload.key.as_str()) {
            self.describe(location, &item, &upload.fields).await?;
        }
        Ok(item.id)
    }

    async fn upload(
        &self,
        location: &Location,
        parent: &str,
        upload: &Upload<'_>,
    ) -> Result<Uploaded, ConnectorError> {
        if upload.content.len() > upload::SIMPLE_UPLOAD_MAX {
            let url = self.child_url(location, parent, &upload.name, Some("createUploadSession"));
            return self.sessions.upload(&self.graph, url, upload.content).await;
        }
        let mut url = self.child_url(location, parent, &upload.name, Some("content"));
        url.query_pairs_mut()
            .append_pair("@microsoft.graph.conflictBehavior", "fail");
        let sent = self
            .graph
            .send(|http| {
                http.put(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, upload.content_type)
                    .body(upload.content.to_vec())
            })
            .await;
        match sent {
            Ok(_) => Ok(Uploaded::Now),
            Err(e) if e.is(StatusCode::CONFLICT) => Ok(Uploaded::AlreadyThere),
            Err(e) => Err(e.into_connector_error()),
        }
    }

    /// Writes an item's columns.
    async fn describe(
        &self,
        location: &Location,
        item: &Item,
        fields: &Map<String, Value>,
    ) -> Result<(), ConnectorError> {
        if item.list_item_id.is_empty() {
            return Err(unreadable("a document without its list item"));
        }
        let url = self.graph.url([
            "sites",
            location.site_id.as_str(),
            "lists",
            location.list_id.as_str(),
            "items",
            item.list_item_id.as_str(),
            "fields",
        ]);
        let body = Value::Object(fields.clone());
        self.graph
            .send(|http| http.patch(url.clone()).json(&body))
            .await
            .map_err(GraphError::into_connector_error)?;
        Ok(())
    }

    /// A filing refused for good leaves nothing behind, or filing the item again would make
    /// copies: what this attempt uploaded is deleted. A passing failure leaves it for the
    /// retry to find.
    async fn undo_if_final(
        &self,
        location: &Location,
        error: ConnectorError,
        put: &[String],
    ) -> ConnectorError {
        if let ConnectorError::Permanent(_) = error {
            for id in put {
                if let Err(e) = self.delete(location, id).await {
                    tracing::warn!(error = %e, "could not remove a partly filed document from SharePoint");
                }
            }
        }
        error
    }

    /// Deletes an item (into the recycle bin); one already gone counts as deleted.
    async fn delete(&self, location: &Location, id: &str) -> Result<(), ConnectorError> {
        let url = self.item_url(location, id, None);
        match self.graph.send(|http| http.delete(url.clone())).await {
            Ok(_) => Ok(()),
            Err(e) if e.is(StatusCode::NOT_FOUND) => Ok(()),
            Err(e) => Err(e.into_connector_error()),
        }
    }

    /// A new version: the same driveItem's content replaced, once per version number.
    async fn file_version(
        &self,
        location: &Location,
        folder: &Item,
        request: &FilingRequest,
        version: &super::NewVersion,
    ) -> Result<FiledDocument, ConnectorError> {
        let refused = |why: &str| {
            ConnectorError::Permanent(format!("{TARGET}: {:?} {why}", version.document_id))
        };
        let document = match self
            .item(self.item_url(location, &version.document_id, None))
            .await
        {
            Ok(Some(item)) => item,
            Ok(None) => return Err(refused("is no longer in the library")),
            // An id Graph cannot read is not one it gave.
            Err(ConnectorError::Permanent(_)) => {
                return Err(refused("is not a document of this case"));
            }
            Err(error) => return Err(error),
        };
        if document.parent_id != folder.id {
            return Err(refused("is not a document of this case"));
        }
        let recorded = document
            .field(&self.columns.version)
            .and_then(|v| v.parse::<u32>().ok())
            .or_else(|| {
                document
                    .fields
                    .get(&self.columns.version)
                    .and_then(Value::as_f64)
                    .map(|v| v as u32)
            });
        if recorded.is_some_and(|recorded| recorded >= version.version) {
            return Ok(FiledDocument::filed(&version.document_id));
        }
        // The columns are written after the content: a retry after the content went in finds
        // the same bytes there and only writes the columns.
        if !self
            .has_content(location, &document, &request.content)
            .await?
        {
            let url = self.item_url(location, &document.id, Some("content"));
            self.graph
                .send(|http| {
                    http.put(url.clone())
                        .header(reqwest::header::CONTENT_TYPE, &request.content_type)
                        .body(request.content.clone())
                })
                .await
                .map_err(GraphError::into_connector_error)?;
        }
        let mut fields = Map::new();
        columns::set(
            &mut fields,
            &self.columns.version,
            &version.version.to_string(),
        );
        columns::set(
            &mut fields,
            &self.columns.document_date,
            &request.document_date().to_rfc3339(),
        );
        columns::set(&mut fields, &self.columns.filed_by, &request.filed_by);
        self.describe(location, &document, &fields).await?;
        Ok(FiledDocument::filed(&version.document_id))
    }

    /// Whether the document's content is `content` already.
    async fn has_content(
        &self,
        location: &Location,
        document: &Item,
        content: &[u8],
    ) -> Result<bool, ConnectorError> {
        if document.size != content.len() as u64 {
            return Ok(false);
        }
        // Graph answers a download with a redirect to a short-lived URL that carries its own
        // authorisation.
        let url = self.item_url(location, &document.id, Some("content"));
        let answer = self
            .graph
            .send(|http| http.get(url.clone()))
            .await
            .map_err(GraphError::into_connector_error)?;
        let body = if answer.status().is_redirection() {
            let location = answer
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| Url::parse(v).ok())
                .ok_or_else(|| unreadable("a download redirect without a location"))?;
            self.graph
                .send_unauthenticated(|http| http.get(location.clone()))
                .await
                .map_err(GraphError::into_connector_error)?
                .bytes()
                .await
        } else {
            answer.bytes().await
        };
        let body =
            body.map_err(|e| ConnectorError::Transient(format!("{TARGET}: {}", e.without_url())))?;
        Ok(body.as_ref() == content)
    }

    /// The case folders in the library, with their columns.
    async fn folders(&self) -> Result<Vec<CaseInput>, ConnectorError> {
        let location = self.location().await?;
        let parent: Vec<&str> = self.folder.iter().map(String::as_str).collect();
        let children = self
            .children(self.path_url(location, &parent, Some("children")))
            .await?;
        let mut cases = Vec::new();
        for item in children.iter().filter(|item| item.get("folder").is_some()) {
            cases.push(columns::case(&self.columns, item)?);
        }
        Ok(cases)
    }

    async fn folder_case(&self, id: &str) -> Result<Option<CaseInput>, ConnectorError> {
        let location = self.location().await?;
        let mut url = self.path_url(location, &self.case_path(id), None);
        url.query_pairs_mut()
            .append_pair(WITH_FIELDS.0, WITH_FIELDS.1);
        match self.graph.get_json(&url).await {
            Ok(item) if item.get("folder").is_some() => {
                columns::case(&self.columns, &item).map(Some)
            }
            Ok(_) => Ok(None),
            Err(e) if e.is(StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(e.into_connector_error()),
        }
    }

    /// An ordered case's folder, named by its id so that a repeat meets the first (409), then
    /// its columns; answers its number, which SharePoint, having none of its own, leaves ours.
    async fn make_case_folder(&self, case: &Case) -> Result<String, ConnectorError> {
        let location = self.location().await?;
        let parent: Vec<&str> = self.folder.iter().map(String::as_str).collect();
        let url = self.path_url(location, &parent, Some("children"));
        let body = serde_json::json!({
            "name": case.id, "folder": {}, "@microsoft.graph.conflictBehavior": "fail",
        });
        match self
            .graph
            .send(|http| http.post(url.clone()).json(&body))
            .await
        {
            Ok(_) => {}
            Err(e) if e.is(StatusCode::CONFLICT) => {
                tracing::debug!(case = %case.id, "the case folder was made by an earlier attempt");
            }
            Err(e) if e.is(StatusCode::NOT_FOUND) => {
                return Err(ConnectorError::Permanent(format!(
                    "{TARGET}: the library has no folder {:?} to make cases in",
                    self.folder.join("/")
                )));
            }
            Err(e) => return Err(e.into_connector_error()),
        }
        let folder = self.case_folder(location, &case.id).await?;
        let columns = &self.columns;
        let mut fields = Map::new();
        columns::set(&mut fields, "Title", &case.title);
        columns::set(&mut fields, &columns.case_number, &case.number);
        if let Some(kle) = &case.kle {
            columns::set(&mut fields, &columns.kle, kle);
        }
        if let Some(facet) = &case.facet {
            columns::set(&mut fields, &columns.facet, facet);
        }
        columns::set(
            &mut fields,
            &columns.status,
            match case.status {
                CaseStatus::Open => "Åben",
                CaseStatus::Closed => "Lukket",
            },
        );
        let parties: Vec<String> = shareable_parties(case)
            .map(|p| format!("{}:{}", p.kind.as_str(), p.display))
            .collect();
        if !parties.is_empty() {
            columns::set(&mut fields, &columns.parties, &parties.join("; "));
        }
        if !case.groups.is_empty() {
            columns::set(&mut fields, &columns.groups, &case.groups.join(";"));
        }
        // Written whole in one request: the number there means the columns all are.
        if folder.field(&columns.case_number) != Some(case.number.as_str()) {
            self.describe(location, &folder, &fields).await?;
        }
        Ok(case.number.clone())
    }

    async fn take_back(&self, request: &WithdrawRequest) -> Result<Withdrawal, ConnectorError> {
        let location = self.location().await?;
        if !self.columns.attachment_of.is_empty() {
            let folder = self.case_folder(location, &request.case.id).await?;
            let children = self
                .children(self.item_url(location, &folder.id, Some("children")))
                .await?;
            for json in &children {
                let item = Item::read(json)?;
                if item.field(&self.columns.attachment_of) == Some(request.idempotency_key.as_str())
                {
                    self.delete(location, &item.id).await?;
                }
            }
        }
        self.delete(location, &request.document_id).await?;
        Ok(Withdrawal::Removed)
    }
}

impl Connector for SharepointConnector {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            list_cases: true,
            read_case: true,
            withdraw: true,
            list_documents: false,
        }
    }

    fn creates_cases(&self) -> bool {
        true
    }

    fn create_case<'a>(&'a self, case: &'a Case) -> BoxFuture<'a, Result<String, ConnectorError>> {
        Box::pin(self.make_case_folder(case))
    }

    fn file(&self, request: FilingRequest) -> BoxFuture<'_, Result<FiledDocument, ConnectorError>> {
        Box::pin(async move { self.file_request(&request).await })
    }

    fn list_cases(&self) -> BoxFuture<'_, Result<Vec<CaseInput>, ConnectorError>> {
        Box::pin(self.folders())
    }

    fn read_case<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<CaseInput>, ConnectorError>> {
        Box::pin(self.folder_case(id))
    }

    fn withdraw(
        &self,
        request: WithdrawRequest,
    ) -> BoxFuture<'_, Result<Withdrawal, ConnectorError>> {
        Box::pin(async move { self.take_back(&request).await })
    }
}
