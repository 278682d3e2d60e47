//! Microsoft Graph and Entra ID's token endpoint for the tests, on a loopback port, holding
//! one SharePoint site with one document library.
//!
//! It follows Microsoft's published references and nothing else:
//! - the Microsoft identity platform's OAuth 2.0 client credentials flow (learn.microsoft.com,
//!   "OAuth 2.0 client credentials flow": the v2.0 token endpoint, its form parameters, the
//!   `AADSTS` errors);
//! - Graph v1.0: "Get a site resource" (`/sites/{hostname}:/{path}`), "Get metadata for a
//!   list" (`$expand=drive`), "Get a DriveItem" and "List children" (path addressing
//!   `root:/a/b:/children`, `$expand=listItem($expand=fields)`, `@odata.nextLink`),
//!   "Upload or replace the contents of a DriveItem" (`@microsoft.graph.conflictBehavior`),
//!   "Upload large files with an upload session" (`createUploadSession`, `Content-Range`,
//!   320 KiB fragments, `nextExpectedRanges`, 202/201, no `Authorization` on the upload URL),
//!   "Create a new folder in a drive" (`POST …/children` with `name`, `folder` and
//!   `@microsoft.graph.conflictBehavior`; 409 `nameAlreadyExists` for a name taken),
//!   "Update an item in a list" (`PATCH …/items/{id}/fields`), "Delete a DriveItem",
//!   "Download the contents of a DriveItem" (302 to a pre-authenticated URL);
//! - "Microsoft Graph throttling guidance" (429 with `Retry-After`) and the error resource
//!   (`{"error": {"code", "message"}}`, `itemNotFound`, `nameAlreadyExists`,
//!   `InvalidAuthenticationToken`).
//!
//!
//! Users' mailboxes, as a watched mailbox reads them, are in `graph_mail`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::graph_mail::{Mailboxes, Message};

pub const TENANT: &str = "vejstrand.onmicrosoft.com";
pub const CLIENT_ID: &str = "5f1c8a9e-journaliser";
pub const CLIENT_SECRET: &str = "graph-test-secret";
const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
const EXCHANGE_SCOPE: &str = "https://outlook.office365.com/.default";
/// The site as an operator names it.
pub const SITE: &str = "vejstrand.sharepoint.com:/sites/sager";
pub const LIBRARY: &str = "Sager";
const SITE_ID: &str = "vejstrand.sharepoint.com,4f1d,9a2b";
const LIST_ID: &str = "list-sager";
const DRIVE_ID: &str = "b!sager";
/// The library's columns besides `Title`.
const COLUMNS: [&str; 12] = [
    "Sagsnummer",
    "KLE",
    "Facet",
    "Sagsstatus",
    "Parter",
    "Adgang",
    "JournaliserId",
    "Retning",
    "Dokumentdato",
    "JournaliseretAf",
    "BilagTil",
    "JournaliserVersion",
];
/// Children listed per page, small so that paging is exercised.
const PAGE: usize = 3;
const FRAGMENT: usize = 320 * 1024;

/// A file or folder in the library.
#[derive(Clone)]
pub struct Node {
    pub id: String,
    pub name: String,
    pub parent: String,
    pub folder: bool,
    pub content: Vec<u8>,
    pub fields: Map<String, Value>,
    /// Contents it had before the current one.
    pub versions: usize,
}

struct Session {
    parent: String,
    name: String,
    fail: bool,
    received: Vec<u8>,
}

struct Library {
    /// Valid tokens and when they expire.
    tokens: HashMap<String, Instant>,
    /// The scope each token was issued for: Graph's, or Exchange Online's.
    scopes: HashMap<String, String>,
    /// The mailbox the app was given (`Add-MailboxPermission`) for IMAP.
    imap_mailbox: Option<String>,
    token_lifetime: u64,
    token_requests: usize,
    nodes: BTreeMap<String, Node>,
    next_id: u64,
    sessions: HashMap<String, Session>,
    /// Every request answers 503 (no `Retry-After`).
    down: bool,
    /// Graph requests still to answer 429 with `Retry-After: 1`.
    throttle: usize,
    /// The first byte of a fragment to answer 503 once.
    failing_fragment: Option<usize>,
    /// The fragments received, as (first byte, last byte).
    fragments: Vec<(usize, usize)>,
    /// Graph requests answered 429.
    throttled: usize,
    /// The certificate registered with the app: its public key (PKCS#1 DER) and SHA-256
    /// thumbprint (base64url).
    certificate: Option<(Vec<u8>, String)>,
    mail: Mailboxes,
    /// Folders made by `POST …/children`.
    folders_made: usize,
    /// While set, a folder is made and its answer never sent.
    hold_folder_answers: bool,
    /// The answer being made is not to be sent.
    hold_this_answer: bool,
}

#[derive(Clone)]
pub struct GraphStandin {
    pub base: String,
    library: Arc<Mutex<Library>>,
}

pub fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

fn not_found(what: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "itemNotFound",
        &format!("The {what} could not be found."),
    )
}

fn sign_in_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

impl GraphStandin {
    pub async fn start() -> GraphStandin {
        let mut nodes = BTreeMap::new();
        nodes.insert(
            "root".to_string(),
            Node {
                id: "root".into(),
                name: "root".into(),
                parent: String::new(),
                folder: true,
                content: Vec::new(),
                fields: Map::new(),
                versions: 0,
            },
        );
        let library = Arc::new(Mutex::new(Library {
            tokens: HashMap::new(),
            scopes: HashMap::new(),
            imap_mailbox: None,
            token_lifetime: 3600,
            token_requests: 0,
            nodes,
            next_id: 1,
            sessions: HashMap::new(),
            down: false,
            throttle: 0,
            failing_fragment: None,
            fragments: Vec::new(),
            throttled: 0,
            certificate: None,
            mail: Mailboxes::default(),
            folders_made: 0,
            hold_folder_answers: false,
            hold_this_answer: false,
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(handle)
            // Graph takes fragments of up to 60 MiB.
            .layer(axum::extract::DefaultBodyLimit::max(60 * 1024 * 1024))
            .with_state((library.clone(), base.clone()));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        GraphStandin { base, library }
    }

    pub fn login_url(&self) -> String {
        self.base.clone()
    }

    pub fn graph_url(&self) -> String {
        format!("{}/v1.0", self.base)
    }

    /// The app registration the stand-in knows, as the service is configured with it.
    pub fn entra_app(&self) -> journaliser::config::EntraAppConfig {
        journaliser::config::EntraAppConfig {
            tenant_id: TENANT.into(),
            client_id: CLIENT_ID.into(),
            client_secret: serde_json::from_value(json!(CLIENT_SECRET)).unwrap(),
            login_url: self.login_url(),
            graph_url: self.graph_url(),
            ..journaliser::config::EntraAppConfig::default()
        }
    }

    /// Gives the app an Exchange Online mailbox over IMAP (`Add-MailboxPermission`), and
    /// the URL the IMAP server checks the app's tokens at.
    pub fn grant_imap(&self, mailbox: &str) -> String {
        self.lock().imap_mailbox = Some(mailbox.into());
        format!("{}/introspect", self.base)
    }

    /// A user with a mailbox holding Exchange's well-known folders.
    pub fn add_mail_user(&self, user: &str) {
        self.lock().mail.add_user(user);
    }

    /// A mail arriving in a folder of a user's mailbox.
    pub fn deliver_mail(&self, user: &str, folder: &str, mime: &[u8]) -> String {
        self.lock().mail.deliver(user, folder, mime)
    }

    pub fn mails_in(&self, user: &str, folder: &str) -> Vec<Message> {
        self.lock().mail.messages_in(user, folder)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Library> {
        self.library.lock().unwrap()
    }

    /// A case folder at the top of the library, as caseworkers make them, with its columns.
    pub fn add_case_folder(&self, name: &str, fields: Value) {
        self.add_folder("root", name, fields);
    }

    /// A folder in the folder `parent` (an id, `root` for the top); answers its id.
    pub fn add_folder(&self, parent: &str, name: &str, fields: Value) -> String {
        let mut library = self.lock();
        let id = library.new_id();
        let fields = fields.as_object().cloned().unwrap_or_default();
        library.nodes.insert(
            id.clone(),
            Node {
                id: id.clone(),
                name: name.into(),
                parent: parent.into(),
                folder: true,
                content: Vec::new(),
                fields,
                versions: 0,
            },
        );
        id
    }

    /// A folder by name, wherever it is.
    pub fn folder(&self, name: &str) -> Option<Node> {
        let library = self.lock();
        library
            .nodes
            .values()
            .find(|n| n.folder && n.name == name)
            .cloned()
    }

    /// The files in a case folder, by name, wherever the folder is.
    pub fn files(&self, case: &str) -> Vec<Node> {
        let library = self.lock();
        let Some(folder) = library.nodes.values().find(|n| n.folder && n.name == case) else {
            return Vec::new();
        };
        let folder = folder.id.clone();
        library
            .nodes
            .values()
            .filter(|n| n.parent == folder && !n.folder)
            .cloned()
            .collect()
    }

    pub fn node(&self, id: &str) -> Option<Node> {
        self.lock().nodes.get(id).cloned()
    }

    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// Makes folders without answering (`true`) until told otherwise.
    pub fn hold_folder_answers(&self, held: bool) {
        self.lock().hold_folder_answers = held;
    }

    /// How many folders were made by request.
    pub fn folders_made(&self) -> usize {
        self.lock().folders_made
    }

    /// Answers the next `requests` Graph requests with 429 and `Retry-After: 1`.
    pub fn throttle(&self, requests: usize) {
        self.lock().throttle = requests;
    }

    pub fn throttled(&self) -> usize {
        self.lock().throttled
    }

    /// Answers the upload fragment starting at `first_byte` with 503, once.
    pub fn fail_fragment_at(&self, first_byte: usize) {
        self.lock().failing_fragment = Some(first_byte);
    }

    pub fn fragments(&self) -> Vec<(usize, usize)> {
        self.lock().fragments.clone()
    }

    /// Registers a certificate with the app, as an administrator uploads one in Entra ID.
    pub fn register_certificate(&self, public_key_der: Vec<u8>, thumbprint: String) {
        self.lock().certificate = Some((public_key_der, thumbprint));
    }

    /// Makes every token issued so far expired.
    pub fn expire_tokens(&self) {
        self.lock().tokens.clear();
    }

    pub fn token_requests(&self) -> usize {
        self.lock().token_requests
    }
}

impl Library {
    /// A client assertion (RFC 7523) signed by the certificate registered with the app, for
    /// this token endpoint, from the app itself.
    fn accepts_assertion(&self, assertion: &str, audience: &str) -> bool {
        let Some((public_key, thumbprint)) = &self.certificate else {
            return false;
        };
        let named = jsonwebtoken::decode_header(assertion)
            .is_ok_and(|header| header.x5t_s256.as_deref() == Some(thumbprint.as_str()));
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::PS256);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
        let claims = jsonwebtoken::decode::<Value>(
            assertion,
            &jsonwebtoken::DecodingKey::from_rsa_der(public_key),
            &validation,
        );
        named
            && claims.is_ok_and(|data| {
                data.claims["iss"] == CLIENT_ID
                    && data.claims["sub"] == CLIENT_ID
                    && data.claims["jti"].is_string()
            })
    }

    fn is_valid(&self, token: &str) -> bool {
        self.tokens
            .get(token)
            .is_some_and(|expires| Instant::now() < *expires)
    }

    fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("01SAGER{:06}", self.next_id)
    }

    fn child(&self, parent: &str, name: &str) -> Option<&Node> {
        self.nodes
            .values()
            .find(|n| n.parent == parent && n.name.eq_ignore_ascii_case(name))
    }

    fn item_json(&self, node: &Node, base: &str, with_fields: bool) -> Value {
        let mut item = json!({
            "id": node.id, "name": node.name,
            "createdDateTime": "2026-03-02T08:15:00Z",
            "parentReference": {"driveId": DRIVE_ID, "id": node.parent},
            "webUrl": format!("{base}/sites/sager/{LIBRARY}/{}", node.name),
        });
        if node.folder {
            let children = self.nodes.values().filter(|n| n.parent == node.id).count();
            item["folder"] = json!({"childCount": children});
        } else {
            item["size"] = json!(node.content.len());
            item["file"] = json!({"mimeType": "application/octet-stream"});
        }
        if with_fields {
            let mut fields = node.fields.clone();
            fields.insert("FileLeafRef".into(), json!(node.name));
            item["listItem"] = json!({"id": node.id, "fields": fields});
        }
        item
    }

    fn create_file(&mut self, parent: &str, name: &str, content: Vec<u8>) -> String {
        let id = self.new_id();
        self.nodes.insert(
            id.clone(),
            Node {
                id: id.clone(),
                name: name.into(),
                parent: parent.into(),
                folder: false,
                content,
                fields: Map::new(),
                versions: 0,
            },
        );
        id
    }
}

fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&segment[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An item address in a drive: `root` or `items/{id}`, a path below it, and what to do there.
struct Address {
    base: String,
    path: Vec<String>,
    action: Option<String>,
}

fn address(segments: &[String]) -> Option<Address> {
    let (base, rest) = match segments.first()?.as_str() {
        "root" => ("root".to_string(), &segments[1..]),
        "root:" => ("root:".to_string(), &segments[1..]),
        "items" => (segments.get(1)?.clone(), &segments[2..]),
        _ => return None,
    };
    let mut path = Vec::new();
    let mut action = None;
    let opens_path = base.ends_with(':');
    let base = base.trim_end_matches(':').to_string();
    let mut in_path = opens_path;
    for segment in rest {
        if in_path {
            match segment.strip_suffix(':') {
                Some(last) => {
                    path.push(last.to_string());
                    in_path = false;
                }
                None => path.push(segment.clone()),
            }
        } else if action.is_none() {
            action = Some(segment.clone());
        } else {
            return None;
        }
    }
    Some(Address { base, path, action })
}

type Shared = (Arc<Mutex<Library>>, String);

async fn handle(
    State((library, base)): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = answer(&library, &base, &method, &uri, &headers, body);
    if std::mem::take(&mut library.lock().unwrap().hold_this_answer) {
        std::future::pending::<()>().await;
    }
    answer
}

fn answer(
    library: &Mutex<Library>,
    base: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let url = reqwest::Url::parse(&format!("{base}{uri}")).unwrap();
    let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    let segments: Vec<String> = url
        .path_segments()
        .map(|s| s.map(percent_decode).collect())
        .unwrap_or_default();
    let mut library = library.lock().unwrap();
    if library.down {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "serviceNotAvailable",
            "The service is temporarily unavailable.",
        );
    }
    match segments.first().map(String::as_str) {
        Some(tenant) if segments[1..] == ["oauth2", "v2.0", "token"] && method == Method::POST => {
            let tenant = tenant.to_string();
            sign_in(&mut library, base, &tenant, headers, &body)
        }
        Some("introspect") if segments.len() == 1 && method == Method::POST => {
            introspect(&library, &body)
        }
        Some("upload") if segments.len() == 2 => {
            upload_fragment(&mut library, base, method, &segments[1], headers, body)
        }
        Some("download") if segments.len() == 2 && method == Method::GET => {
            match library.nodes.get(&segments[1]) {
                Some(node) => (StatusCode::OK, node.content.clone()).into_response(),
                None => not_found("resource"),
            }
        }
        Some("v1.0") => {
            let bearer = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            // A token for another resource (Exchange's IMAP) is not Graph's.
            let valid = bearer.is_some_and(|token| {
                library.is_valid(token)
                    && library.scopes.get(token).map(String::as_str) == Some(GRAPH_SCOPE)
            });
            if !valid {
                return error(
                    StatusCode::UNAUTHORIZED,
                    "InvalidAuthenticationToken",
                    if bearer.is_none() {
                        "Access token is empty."
                    } else {
                        "Access token has expired or is not yet valid."
                    },
                );
            }
            if library.throttle > 0 {
                library.throttle -= 1;
                library.throttled += 1;
                let mut answer = error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequests",
                    "Too many requests. Please try again later.",
                );
                answer
                    .headers_mut()
                    .insert("retry-after", "1".parse().unwrap());
                return answer;
            }
            graph(
                &mut library,
                base,
                method,
                &segments[1..],
                &query,
                headers,
                body,
            )
        }
        _ => error(StatusCode::BAD_REQUEST, "BadRequest", "Invalid version."),
    }
}

/// RFC 7662 token introspection, as the IMAP server (dovecot, in Exchange Online's place)
/// asks of a token it was offered: active when issued for Exchange's IMAP and unexpired, and
/// then naming the mailbox the app was given.
fn introspect(library: &Library, body: &[u8]) -> Response {
    let token = reqwest::Url::parse(&format!("http://x/?{}", String::from_utf8_lossy(body)))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let active = library.is_valid(&token)
        && library.scopes.get(&token).map(String::as_str) == Some(EXCHANGE_SCOPE);
    match (active, &library.imap_mailbox) {
        (true, Some(mailbox)) => axum::Json(json!({"active": true, "username": mailbox})),
        _ => axum::Json(json!({"active": false})),
    }
    .into_response()
}

fn sign_in(
    library: &mut Library,
    base: &str,
    tenant: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    library.token_requests += 1;
    let form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let params: HashMap<String, String> = if form {
        reqwest::Url::parse(&format!("http://x/?{}", String::from_utf8_lossy(body)))
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect()
    } else {
        HashMap::new()
    };
    let param = |name: &str| params.get(name).map(String::as_str);
    let bad =
        |error: &str, description: &str| sign_in_error(StatusCode::BAD_REQUEST, error, description);
    if tenant != TENANT {
        return bad(
            "invalid_request",
            &format!("AADSTS90002: Tenant '{tenant}' not found."),
        );
    }
    let Some(grant) = param("grant_type") else {
        return bad(
            "invalid_request",
            "AADSTS900144: The request body must contain the following parameter: 'grant_type'.",
        );
    };
    if grant != "client_credentials" {
        return bad(
            "unsupported_grant_type",
            "AADSTS70003: The app requested an unsupported grant type.",
        );
    }
    if param("client_id") != Some(CLIENT_ID) {
        return bad(
            "unauthorized_client",
            "AADSTS700016: Application was not found in the directory.",
        );
    }
    if !param("scope").is_some_and(|scope| scope.ends_with("/.default")) {
        return bad(
            "invalid_scope",
            "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.",
        );
    }
    if let Some(assertion) = param("client_assertion") {
        let audience = format!("{base}/{tenant}/oauth2/v2.0/token");
        if param("client_assertion_type")
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            || !library.accepts_assertion(assertion, &audience)
        {
            return sign_in_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "AADSTS700027: Client assertion contains an invalid signature.",
            );
        }
    } else if param("client_secret") != Some(CLIENT_SECRET) {
        return sign_in_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
        );
    }
    let token = uuid::Uuid::new_v4().to_string();
    library.scopes.insert(
        token.clone(),
        param("scope").unwrap_or_default().to_string(),
    );
    let lifetime = library.token_lifetime;
    library.tokens.insert(
        token.clone(),
        Instant::now() + Duration::from_secs(lifetime),
    );
    axum::Json(json!({"token_type": "Bearer", "expires_in": lifetime,
                       "ext_expires_in": lifetime, "access_token": token}))
    .into_response()
}

fn graph(
    library: &mut Library,
    base: &str,
    method: &Method,
    segments: &[String],
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let site_path = SITE.split('/').collect::<Vec<_>>();
    let with_fields = query
        .get("$expand")
        .is_some_and(|e| e.starts_with("listItem"));
    match segments.first().map(String::as_str) {
        Some("users") => crate::graph_mail::users(
            &mut library.mail,
            base,
            method,
            &segments[1..],
            query,
            headers,
            body,
        ),
        Some("sites") if segments[1..] == site_path[..] && method == Method::GET => {
            axum::Json(json!({"id": SITE_ID, "name": "sager", "displayName": "Sager"}))
                .into_response()
        }
        Some("sites") if segments.get(1).map(String::as_str) == Some(SITE_ID) => {
            match (method.as_str(), &segments[2..]) {
                ("GET", [lists, name]) if lists == "lists" => {
                    if name != LIBRARY && name != LIST_ID {
                        return not_found("resource");
                    }
                    let mut list = json!({"id": LIST_ID, "displayName": LIBRARY,
                                          "list": {"template": "documentLibrary"}});
                    if query.get("$expand").is_some_and(|e| e == "drive") {
                        list["drive"] = json!({"id": DRIVE_ID, "driveType": "documentLibrary"});
                    }
                    axum::Json(list).into_response()
                }
                ("PATCH", [lists, list, items, id, fields])
                    if lists == "lists"
                        && items == "items"
                        && fields == "fields"
                        && list == LIST_ID =>
                {
                    update_fields(library, id, headers, &body)
                }
                _ => not_found("resource"),
            }
        }
        Some("drives") if segments.get(1).map(String::as_str) == Some(DRIVE_ID) => {
            let Some(address) = address(&segments[2..]) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalidRequest",
                    "Invalid request.",
                );
            };
            drive(library, base, method, address, query, with_fields, body)
        }
        _ => not_found("resource"),
    }
}

fn update_fields(library: &mut Library, id: &str, headers: &HeaderMap, body: &[u8]) -> Response {
    let json_body = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_body {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalidRequest",
            "A supported MIME type could not be found that matches the content type of the response.",
        );
    }
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            "Invalid request body.",
        );
    };
    if let Some(unknown) = fields
        .keys()
        .find(|k| k.as_str() != "Title" && !COLUMNS.contains(&k.as_str()))
    {
        return error(
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            &format!("Field '{unknown}' is not recognized"),
        );
    }
    let Some(node) = library.nodes.get_mut(id) else {
        return not_found("resource");
    };
    for (key, value) in fields {
        node.fields.insert(key, value);
    }
    axum::Json(Value::Object(node.fields.clone())).into_response()
}

fn drive(
    library: &mut Library,
    base: &str,
    method: &Method,
    address: Address,
    query: &HashMap<String, String>,
    with_fields: bool,
    body: Bytes,
) -> Response {
    let Some(mut current) = library.nodes.get(&address.base).map(|n| n.id.clone()) else {
        return not_found("resource");
    };
    // The last name of a path may be the file to make.
    let makes = matches!(
        (method.as_str(), address.action.as_deref()),
        ("PUT", Some("content")) | ("POST", Some("createUploadSession"))
    );
    let mut new_name = None;
    for (i, name) in address.path.iter().enumerate() {
        match library.child(&current, name) {
            Some(node) => current = node.id.clone(),
            None if makes && i + 1 == address.path.len() => new_name = Some(name.clone()),
            None => return not_found("resource"),
        }
    }
    match (method.as_str(), address.action.as_deref()) {
        ("GET", None) => {
            let node = &library.nodes[&current];
            axum::Json(library.item_json(node, base, with_fields)).into_response()
        }
        ("GET", Some("children")) => {
            let skip: usize = query
                .get("$skiptoken")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let children: Vec<&Node> = library
                .nodes
                .values()
                .filter(|n| n.parent == current)
                .collect();
            let value: Vec<Value> = children
                .iter()
                .skip(skip)
                .take(PAGE)
                .map(|n| library.item_json(n, base, with_fields))
                .collect();
            let mut page = json!({"value": value});
            if skip + PAGE < children.len() {
                let mut next = reqwest::Url::parse(&format!(
                    "{base}/v1.0/drives/{DRIVE_ID}/items/{current}/children"
                ))
                .unwrap();
                {
                    let mut pairs = next.query_pairs_mut();
                    for (k, v) in query.iter().filter(|(k, _)| *k != "$skiptoken") {
                        pairs.append_pair(k, v);
                    }
                    pairs.append_pair("$skiptoken", &(skip + PAGE).to_string());
                }
                page["@odata.nextLink"] = json!(next.as_str());
            }
            axum::Json(page).into_response()
        }
        ("GET", Some("content")) => {
            let mut answer = StatusCode::FOUND.into_response();
            answer.headers_mut().insert(
                "location",
                format!("{base}/download/{current}").parse().unwrap(),
            );
            answer
        }
        ("PUT", Some("content")) => {
            let conflict = query
                .get("@microsoft.graph.conflictBehavior")
                .map(String::as_str)
                .unwrap_or("replace");
            match new_name {
                Some(name) => {
                    if !library.nodes[&current].folder {
                        return error(
                            StatusCode::BAD_REQUEST,
                            "invalidRequest",
                            "The parent is not a folder.",
                        );
                    }
                    let id = library.create_file(&current, &name, body.to_vec());
                    let node = &library.nodes[&id];
                    (
                        StatusCode::CREATED,
                        axum::Json(library.item_json(node, base, false)),
                    )
                        .into_response()
                }
                None if library.nodes[&current].folder => error(
                    StatusCode::CONFLICT,
                    "nameAlreadyExists",
                    "The specified item name already exists.",
                ),
                None if conflict == "fail" && !address.path.is_empty() => error(
                    StatusCode::CONFLICT,
                    "nameAlreadyExists",
                    "The specified item name already exists. Please use conflictBehavior to rename or replace the item.",
                ),
                None => {
                    let node = library.nodes.get_mut(&current).unwrap();
                    node.content = body.to_vec();
                    node.versions += 1;
                    let node = library.nodes[&current].clone();
                    axum::Json(library.item_json(&node, base, false)).into_response()
                }
            }
        }
        ("POST", Some("children")) => {
            // "Create a new folder in a drive": a driveItem with `name` and `folder`.
            let Ok(request) = serde_json::from_slice::<Value>(&body) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalidRequest",
                    "Invalid request body.",
                );
            };
            let (Some(name), true) = (
                request["name"].as_str().filter(|n| !n.is_empty()),
                request.get("folder").is_some_and(Value::is_object),
            ) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalidRequest",
                    "A folder needs a name and a folder facet.",
                );
            };
            if !library.nodes[&current].folder {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalidRequest",
                    "The parent is not a folder.",
                );
            }
            if library.child(&current, name).is_some() {
                // Graph's default for a new folder, and what "fail" asks for.
                if request["@microsoft.graph.conflictBehavior"].as_str() != Some("replace") {
                    return error(
                        StatusCode::CONFLICT,
                        "nameAlreadyExists",
                        "The specified item name already exists.",
                    );
                }
            }
            let id = library.new_id();
            library.nodes.insert(
                id.clone(),
                Node {
                    id: id.clone(),
                    name: name.into(),
                    parent: current.clone(),
                    folder: true,
                    content: Vec::new(),
                    fields: Map::new(),
                    versions: 0,
                },
            );
            library.folders_made += 1;
            library.hold_this_answer = library.hold_folder_answers;
            let node = &library.nodes[&id];
            (
                StatusCode::CREATED,
                axum::Json(library.item_json(node, base, false)),
            )
                .into_response()
        }
        ("POST", Some("createUploadSession")) => {
            let Some(name) = new_name.or_else(|| address.path.last().cloned()) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalidRequest",
                    "An upload session needs a file name.",
                );
            };
            let parent = if address.path.is_empty() || library.child(&current, &name).is_none() {
                current.clone()
            } else {
                library.nodes[&current].parent.clone()
            };
            let Ok(request) = serde_json::from_slice::<Value>(&body) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalidRequest",
                    "Invalid request body.",
                );
            };
            let fail = request
                .pointer("/item/@microsoft.graph.conflictBehavior")
                .and_then(Value::as_str)
                == Some("fail");
            let session = uuid::Uuid::new_v4().simple().to_string();
            library.sessions.insert(
                session.clone(),
                Session {
                    parent,
                    name,
                    fail,
                    received: Vec::new(),
                },
            );
            axum::Json(json!({"uploadUrl": format!("{base}/upload/{session}"),
                               "expirationDateTime": "2026-12-31T00:00:00Z",
                               "nextExpectedRanges": ["0-"]}))
            .into_response()
        }
        ("DELETE", None) if current != "root" => {
            let mut gone = vec![current.clone()];
            while let Some(id) = gone.pop() {
                library.nodes.remove(&id);
                gone.extend(
                    library
                        .nodes
                        .values()
                        .filter(|n| n.parent == id)
                        .map(|n| n.id.clone()),
                );
            }
            StatusCode::NO_CONTENT.into_response()
        }
        _ => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalidRequest",
            "The method is not allowed here.",
        ),
    }
}

fn upload_fragment(
    library: &mut Library,
    base: &str,
    method: &Method,
    session_id: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    if headers.contains_key("authorization") {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "The upload URL is pre-authenticated; an Authorization header is not accepted.",
        );
    }
    match method.as_str() {
        "GET" => match library.sessions.get(session_id) {
            Some(session) => axum::Json(json!({"expirationDateTime": "2026-12-31T00:00:00Z",
                                                "nextExpectedRanges": [format!("{}-", session.received.len())]}))
            .into_response(),
            None => not_found("upload session"),
        },
        "DELETE" => {
            library.sessions.remove(session_id);
            StatusCode::NO_CONTENT.into_response()
        }
        "PUT" => {
            let range = headers
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes "))
                .and_then(|v| {
                    let (span, total) = v.split_once('/')?;
                    let (first, last) = span.split_once('-')?;
                    Some((first.parse::<usize>().ok()?, last.parse::<usize>().ok()?, total.parse::<usize>().ok()?))
                });
            let Some((first, last, total)) = range else {
                return error(StatusCode::BAD_REQUEST, "invalidRequest", "Content-Range is missing or malformed.");
            };
            if library.failing_fragment == Some(first) {
                library.failing_fragment = None;
                return error(StatusCode::SERVICE_UNAVAILABLE, "serviceNotAvailable", "The service is temporarily unavailable.");
            }
            let Some(session) = library.sessions.get_mut(session_id) else {
                return not_found("upload session");
            };
            if first != session.received.len() || last < first || body.len() != last - first + 1 {
                return error(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "invalidRange",
                    "The uploaded fragment does not start at the next expected byte or does not match its Content-Range.",
                );
            }
            let is_last = last + 1 == total;
            if !is_last && !body.len().is_multiple_of(FRAGMENT) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalidRange",
                    "Fragments other than the last must be a multiple of 320 KiB.",
                );
            }
            session.received.extend_from_slice(&body);
            library.fragments.push((first, last));
            if !is_last {
                let next = library.sessions[session_id].received.len();
                return (
                    StatusCode::ACCEPTED,
                    axum::Json(json!({"expirationDateTime": "2026-12-31T00:00:00Z",
                                      "nextExpectedRanges": [format!("{next}-")]})),
                )
                    .into_response();
            }
            let session = library.sessions.remove(session_id).unwrap();
            if let Some(existing) = library.child(&session.parent, &session.name) {
                if session.fail || existing.folder {
                    return error(
                        StatusCode::CONFLICT,
                        "nameAlreadyExists",
                        "The specified item name already exists.",
                    );
                }
                let id = existing.id.clone();
                let node = library.nodes.get_mut(&id).unwrap();
                node.content = session.received;
                node.versions += 1;
                let node = library.nodes[&id].clone();
                return axum::Json(library.item_json(&node, base, false)).into_response();
            }
            let id = library.create_file(&session.parent, &session.name, session.received);
            let node = &library.nodes[&id];
            (StatusCode::CREATED, axum::Json(library.item_json(node, base, false))).into_response()
        }
        _ => error(StatusCode::METHOD_NOT_ALLOWED, "invalidRequest", "The method is not allowed here."),
    }
}
