//! cBrain F2's REST service for the tests, on a loopback port.
//!
//! It follows cBrain's "F2-REST Documentation, F2 version 13" (published with
//! itk-dev/f2-api-client as `resources/f2-rest-docs-v13.pdf`), sections Authentication,
//! Service index, Post Once Exactly, Case resource, Create new case, Create new matter, Create
//! new document and Case search resource: an OAuth 2.0 token endpoint (password grant); the
//! service index as the one fixed address, with the `case-by-id`, `case-by-case-number`,
//! `case-search-filter` and `create-case` relations (the case templates redirect to the case;
//! a new case needs a `Title`, takes `KeywordCode` as a KLE number, `ProcessInstructionCode`,
//! `SecurityGroups` and `InvolvedParties`, and gets an id and a case number of F2's own); a case linking `create-matter` unless
//! it is closed; a matter (`Title`, `Type` Inbound/Outbound/Internal, `Text`) linking
//! `create-document`; documents as multipart `Title`, `File`, `Description`; and every create
//! by POE: an empty POST to the `create-*` link answers a fresh POE address in `Location`,
//! and the payload posted there answers 201 the first time and 303 See Other after, both with
//! `Location` naming what was made. The relation names (prefixed
//! `http://cbrain.com/casefile/rel/`) and the property names (`Id`, `CaseNumber`, `Title`,
//! `Keyword`, `ProcessInstruction`, `InvolvedParties`, `CprNumber`, `SecurityGroups`, `Closed`)
//! are the manual's; how its JSON representation lays out a resource's links is not in the
//! sections named, and this stand-in writes them as `Links: [{"Rel", "Href"}]`, as the
//! connector reads them: that layout is to be checked against a real F2.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "journaliser";
pub const USERNAME: &str = "journaliser-service";
pub const PASSWORD: &str = "f2-test-password";
const REL: &str = "http://cbrain.com/casefile/rel/";

pub struct Matter {
    pub case: String,
    pub title: String,
    pub kind: String,
    pub text: String,
    /// Documents: title, file name, bytes.
    pub documents: Vec<(String, String, Vec<u8>)>,
}

enum Poe {
    Case,
    Matter { case: String },
    Document { matter: usize },
}

#[derive(Default)]
struct Registry {
    tokens: HashSet<String>,
    token_requests: usize,
    /// Cases by F2 id: the properties as F2 shows them.
    cases: BTreeMap<String, Value>,
    matters: Vec<Matter>,
    /// POE addresses handed out, and what each made once its payload came.
    poe: HashMap<String, (Poe, Option<String>)>,
    down: bool,
    /// POE payloads still to carry out and then answer 503, as an answer lost on the way.
    lose_answers: usize,
    /// While set, a case is made by its POE payload and the answer never sent.
    hold_case_answers: bool,
    /// Cases made by POE.
    cases_made: usize,
}

#[derive(Clone)]
pub struct F2Standin {
    pub base: String,
    registry: Arc<Mutex<Registry>>,
}

type Shared = (Arc<Mutex<Registry>>, String);

fn links(base: &str, links: &[(&str, String)]) -> Value {
    Value::Array(
        links
            .iter()
            .map(|(rel, href)| json!({"Rel": format!("{REL}{rel}"), "Href": format!("{base}{href}")}))
            .collect(),
    )
}

fn refusal(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"message": message}))).into_response()
}

fn located(status: StatusCode, location: &str) -> Response {
    (status, [(header::LOCATION, location.to_string())]).into_response()
}

impl F2Standin {
    pub async fn start() -> F2Standin {
        let registry = Arc::new(Mutex::new(Registry::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/oauth2/token", post(token))
            .route("/f2/api", get(index))
            .route("/f2/api/cases", post(create_case))
            .route("/f2/api/cases/id/{id}", get(case_by_id))
            .route("/f2/api/cases/number/{number}", get(case_by_number))
            .route("/f2/api/cases/search", get(case_search))
            .route("/f2/api/cases/{id}", get(case))
            .route("/f2/api/cases/{id}/matters", post(create_matter))
            .route("/f2/api/matters/{n}", get(matter))
            .route("/f2/api/matters/{n}/documents", post(create_document))
            .route("/f2/api/poe/{id}", post(poe))
            .layer(axum::middleware::from_fn_with_state(
                (registry.clone(), base.clone()),
                guard,
            ))
            .with_state((registry.clone(), base.clone()));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        F2Standin { base, registry }
    }

    pub fn url(&self) -> String {
        format!("{}/f2/api", self.base)
    }

    pub fn token_url(&self) -> String {
        format!("{}/oauth2/token", self.base)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap()
    }

    /// A case as a caseworker made it in F2.
    pub fn add_case(&self, id: &str, properties: Value) {
        let mut case = properties;
        case["Id"] = json!(id);
        self.lock().cases.insert(id.into(), case);
    }

    /// Matters on a case, with their documents.
    pub fn matters(&self, case: &str) -> Vec<(String, String, String, usize)> {
        self.lock()
            .matters
            .iter()
            .filter(|m| m.case == case)
            .map(|m| {
                (
                    m.title.clone(),
                    m.kind.clone(),
                    m.text.clone(),
                    m.documents.len(),
                )
            })
            .collect()
    }

    pub fn matter_documents(&self, index: usize) -> Vec<(String, String, Vec<u8>)> {
        self.lock().matters[index].documents.clone()
    }

    /// The matter a document id (a matter URL) names.
    pub fn matter_index(&self, url: &str) -> Option<usize> {
        url.strip_prefix(&format!("{}/f2/api/matters/", self.base))?
            .parse()
            .ok()
    }

    /// Makes cases by POE without answering (`true`) until told otherwise.
    pub fn hold_case_answers(&self, held: bool) {
        self.lock().hold_case_answers = held;
    }

    /// How many cases were made by POE.
    pub fn cases_made(&self) -> usize {
        self.lock().cases_made
    }

    /// A case's properties by F2 id.
    pub fn case(&self, id: &str) -> Option<Value> {
        self.lock().cases.get(id).cloned()
    }

    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    pub fn lose_answers(&self, posts: usize) {
        self.lock().lose_answers = posts;
    }

    pub fn expire_tokens(&self) {
        self.lock().tokens.clear();
    }

    pub fn token_requests(&self) -> usize {
        self.lock().token_requests
    }
}

/// Every request: 503 while down; a valid bearer token on everything but the token endpoint.
async fn guard(
    State((registry, _)): State<Shared>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    {
        let registry = registry.lock().unwrap();
        if registry.down {
            return refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "F2 er midlertidigt utilgængelig",
            );
        }
        if request.uri().path() != "/oauth2/token" {
            let valid = request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .is_some_and(|token| registry.tokens.contains(token));
            if !valid {
                return refusal(
                    StatusCode::UNAUTHORIZED,
                    "The access token is invalid or has expired",
                );
            }
        }
    }
    next.run(request).await
}

async fn token(State((registry, _)): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut registry = registry.lock().unwrap();
    registry.token_requests += 1;
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let params: HashMap<String, String> =
        reqwest::Url::parse(&format!("http://x/?{}", String::from_utf8_lossy(&body)))
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect();
    let bad = |error: &str, description: &str| {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": error, "error_description": description})),
        )
            .into_response()
    };
    if !form || params.get("grant_type").map(String::as_str) != Some("password") {
        return bad(
            "unsupported_grant_type",
            "Only the password grant is offered to services",
        );
    }
    if params.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return bad("invalid_client", "Unknown client");
    }
    if params.get("username").map(String::as_str) != Some(USERNAME)
        || params.get("password").map(String::as_str) != Some(PASSWORD)
    {
        return bad("invalid_grant", "Bad credentials");
    }
    let token = uuid::Uuid::new_v4().to_string();
    registry.tokens.insert(token.clone());
    axum::Json(json!({"access_token": token, "token_type": "bearer", "expires_in": 3600}))
        .into_response()
}

async fn index(State((_, base)): State<Shared>) -> Response {
    axum::Json(json!({"Title": "F2", "Links": links(&base, &[
        ("case-by-id", "/f2/api/cases/id/{id}".into()),
        ("case-by-case-number", "/f2/api/cases/number/{caseNumber}".into()),
        ("case-search-filter", "/f2/api/cases/search".into()),
        ("create-case", "/f2/api/cases".into()),
    ])}))
    .into_response()
}

async fn case_by_id(State((registry, base)): State<Shared>, Path(id): Path<String>) -> Response {
    if !registry.lock().unwrap().cases.contains_key(&id) {
        return refusal(StatusCode::NOT_FOUND, "Sagen findes ikke");
    }
    let encoded: String = reqwest::Url::parse("http://x/")
        .map(|mut url| {
            url.path_segments_mut().unwrap().push(&id);
            url.path()[1..].to_string()
        })
        .unwrap();
    located(
        StatusCode::SEE_OTHER,
        &format!("{base}/f2/api/cases/{encoded}"),
    )
}

async fn case_by_number(
    State((registry, base)): State<Shared>,
    Path(number): Path<String>,
) -> Response {
    let registry = registry.lock().unwrap();
    match registry
        .cases
        .values()
        .find(|c| c["CaseNumber"].as_str() == Some(number.as_str()))
    {
        Some(case) => located(
            StatusCode::SEE_OTHER,
            &format!(
                "{base}/f2/api/cases/{}",
                case["Id"].as_str().unwrap_or_default()
            ),
        ),
        None => refusal(StatusCode::NOT_FOUND, "Sagen findes ikke"),
    }
}

async fn create_case(State((registry, base)): State<Shared>, body: Bytes) -> Response {
    hand_out(&mut registry.lock().unwrap(), &base, Poe::Case, &body)
}

/// A case from a `create-case` payload, as F2 makes it: an id and a number of its own.
fn new_case(registry: &mut Registry, payload: &Value) -> Result<String, &'static str> {
    let Some(title) = payload["Title"].as_str().filter(|t| !t.trim().is_empty()) else {
        return Err("Title er påkrævet");
    };
    let kle_shaped = |code: &str| {
        code.len() == 8
            && code.char_indices().all(|(i, c)| {
                if i == 2 || i == 5 {
                    c == '.'
                } else {
                    c.is_ascii_digit()
                }
            })
    };
    if let Some(code) = payload.get("KeywordCode")
        && !code.as_str().is_some_and(kle_shaped)
    {
        return Err("KeywordCode skal være et KLE-nummer (##.##.##)");
    }
    registry.cases_made += 1;
    let id = (9000 + registry.cases_made).to_string();
    let case = json!({
        "Id": id, "CaseNumber": format!("2026 - {}", 900 + registry.cases_made), "Title": title,
        "Keyword": payload["KeywordCode"], "ProcessInstruction": payload["ProcessInstructionCode"],
        "SecurityGroups": payload["SecurityGroups"], "InvolvedParties": payload["InvolvedParties"],
        "Closed": false, "CreatedDate": "2026-12-04T09:00:00",
    });
    registry.cases.insert(id.clone(), case);
    Ok(id)
}

fn case_json(case: &Value, base: &str) -> Value {
    let mut case = case.clone();
    let id = case["Id"].as_str().unwrap_or_default().to_string();
    let closed = case["Closed"].as_bool() == Some(true);
    let mut own = vec![("self", format!("/f2/api/cases/{id}"))];
    if !closed {
        own.push(("create-matter", format!("/f2/api/cases/{id}/matters")));
    }
    case["Links"] = links(base, &own);
    case
}

async fn case(State((registry, base)): State<Shared>, Path(id): Path<String>) -> Response {
    match registry.lock().unwrap().cases.get(&id) {
        Some(case) => axum::Json(case_json(case, &base)).into_response(),
        None => refusal(StatusCode::NOT_FOUND, "Sagen findes ikke"),
    }
}

async fn case_search(State((registry, base)): State<Shared>) -> Response {
    let registry = registry.lock().unwrap();
    let cases: Vec<Value> = registry
        .cases
        .values()
        .map(|c| case_json(c, &base))
        .collect();
    axum::Json(json!({"Cases": cases})).into_response()
}

/// A fresh POE address for `what`; the request that asks for it carries no payload.
fn hand_out(registry: &mut Registry, base: &str, what: Poe, body: &[u8]) -> Response {
    if !body.is_empty() {
        return refusal(
            StatusCode::BAD_REQUEST,
            "Opret-linket tager ingen data; send dem til POE-adressen",
        );
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    registry.poe.insert(id.clone(), (what, None));
    located(StatusCode::CREATED, &format!("{base}/f2/api/poe/{id}"))
}

async fn create_matter(
    State((registry, base)): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let mut registry = registry.lock().unwrap();
    match registry.cases.get(&id) {
        None => refusal(StatusCode::NOT_FOUND, "Sagen findes ikke"),
        Some(case) if case["Closed"].as_bool() == Some(true) => {
            refusal(StatusCode::CONFLICT, "Sagen er afsluttet")
        }
        Some(_) => hand_out(&mut registry, &base, Poe::Matter { case: id }, &body),
    }
}

async fn matter(State((registry, base)): State<Shared>, Path(n): Path<usize>) -> Response {
    let registry = registry.lock().unwrap();
    let Some(matter) = registry.matters.get(n) else {
        return refusal(StatusCode::NOT_FOUND, "Akten findes ikke");
    };
    axum::Json(json!({
        "Id": n.to_string(), "CaseId": matter.case, "Title": matter.title, "Type": matter.kind,
        "Links": links(&base, &[("self", format!("/f2/api/matters/{n}")),
                                ("create-document", format!("/f2/api/matters/{n}/documents"))]),
    }))
    .into_response()
}

async fn create_document(
    State((registry, base)): State<Shared>,
    Path(n): Path<usize>,
    body: Bytes,
) -> Response {
    let mut registry = registry.lock().unwrap();
    if n >= registry.matters.len() {
        return refusal(StatusCode::NOT_FOUND, "Akten findes ikke");
    }
    hand_out(&mut registry, &base, Poe::Document { matter: n }, &body)
}

/// A POE payload: carried out once; repeated, answered with what it made.
async fn poe(
    State((registry, base)): State<Shared>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let kind = {
        let registry = registry.lock().unwrap();
        match registry.poe.get(&id) {
            None => return refusal(StatusCode::NOT_FOUND, "Ukendt POE-adresse"),
            Some((_, Some(made))) => return located(StatusCode::SEE_OTHER, made),
            Some((Poe::Case, None)) => None,
            Some((Poe::Matter { case }, None)) => Some(Err(case.clone())),
            Some((Poe::Document { matter }, None)) => Some(Ok(*matter)),
        }
    };
    let Some(kind) = kind else {
        let Ok(body) = Bytes::from_request(request, &()).await else {
            return refusal(StatusCode::BAD_REQUEST, "Ulæselig forespørgsel");
        };
        let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
            return refusal(StatusCode::BAD_REQUEST, "Ulæselig JSON");
        };
        let (made, held) = {
            let mut registry = registry.lock().unwrap();
            let made = match new_case(&mut registry, &payload) {
                Ok(id) => format!("{base}/f2/api/cases/{id}"),
                Err(refused) => return refusal(StatusCode::BAD_REQUEST, refused),
            };
            if let Some((_, slot)) = registry.poe.get_mut(&id) {
                *slot = Some(made.clone());
            }
            (made, registry.hold_case_answers)
        };
        if held {
            std::future::pending::<()>().await;
        }
        return located(StatusCode::CREATED, &made);
    };
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let made = match kind {
        Err(case) => {
            if !content_type.starts_with("application/json") {
                return refusal(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Akten sendes som JSON, formular eller multipart",
                );
            }
            let Ok(body) = Bytes::from_request(request, &()).await else {
                return refusal(StatusCode::BAD_REQUEST, "Ulæselig forespørgsel");
            };
            let Ok(matter) = serde_json::from_slice::<Value>(&body) else {
                return refusal(StatusCode::BAD_REQUEST, "Ulæselig JSON");
            };
            let Some(title) = matter["Title"].as_str().filter(|t| !t.trim().is_empty()) else {
                return refusal(StatusCode::BAD_REQUEST, "Title er påkrævet");
            };
            let kind = matter["Type"].as_str().unwrap_or("Internal");
            if !["Inbound", "Outbound", "Internal"].contains(&kind) {
                return refusal(
                    StatusCode::BAD_REQUEST,
                    "Type skal være Inbound, Outbound eller Internal",
                );
            }
            let mut registry = registry.lock().unwrap();
            registry.matters.push(Matter {
                case,
                title: title.into(),
                kind: kind.into(),
                text: matter["Text"].as_str().unwrap_or_default().into(),
                documents: Vec::new(),
            });
            format!("{base}/f2/api/matters/{}", registry.matters.len() - 1)
        }
        Ok(matter) => {
            if !content_type.starts_with("multipart/form-data") {
                return refusal(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Dokumentet sendes som multipart",
                );
            }
            let Ok(mut form) = Multipart::from_request(request, &()).await else {
                return refusal(StatusCode::BAD_REQUEST, "Ulæselig multipart");
            };
            let (mut title, mut file) = (None, None);
            while let Ok(Some(field)) = form.next_field().await {
                match field.name() {
                    Some("Title") => title = field.text().await.ok(),
                    Some("File") => {
                        let name = field.file_name().unwrap_or_default().to_string();
                        file = field.bytes().await.ok().map(|bytes| (name, bytes.to_vec()));
                    }
                    _ => {}
                }
            }
            let (Some(title), Some((name, bytes))) = (title, file) else {
                return refusal(StatusCode::BAD_REQUEST, "Title og File er påkrævet");
            };
            if !name.contains('.') {
                return refusal(StatusCode::BAD_REQUEST, "Filnavnet skal have en filtype");
            }
            let mut registry = registry.lock().unwrap();
            registry.matters[matter]
                .documents
                .push((title, name, bytes));
            let n = registry.matters[matter].documents.len();
            format!("{base}/f2/api/matters/{matter}/documents/{n}")
        }
    };
    let mut registry = registry.lock().unwrap();
    if let Some((_, slot)) = registry.poe.get_mut(&id) {
        *slot = Some(made.clone());
    }
    if registry.lose_answers > 0 {
        registry.lose_answers -= 1;
        return refusal(StatusCode::SERVICE_UNAVAILABLE, "Svaret gik tabt");
    }
    located(StatusCode::CREATED, &made)
}
