//! A fagsystem's webhook endpoint for the tests: an axum app on a loopback port that files
//! each JSON document once per `Idempotency-Key`, counts every delivery, and can be told to
//! answer 503 for a while or to refuse a case. It makes cases too, once per `Idempotency-Key`,
//! and can be told to hold back its answer to a case it has made.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

pub const TOKEN: &str = "fagsystem-test-token";

#[derive(Default)]
pub struct Inbox {
    /// Requests that reached the endpoint, answered or not.
    pub deliveries: usize,
    /// Filed documents by idempotency key: the id given and the body received.
    pub documents: BTreeMap<String, (String, Value)>,
    /// Requests still to answer with 503.
    unavailable: usize,
    /// Case ids whose documents are refused with 422.
    closed: BTreeSet<String>,
    /// Made cases by idempotency key: the number given and the body received.
    pub cases: BTreeMap<String, (String, Value)>,
    /// Requests to make a case that reached the endpoint.
    pub case_requests: usize,
    /// While set, a case is made but its answer never sent.
    case_answers_held: bool,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inbox: Arc<Mutex<Inbox>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let app = axum::Router::new()
            .route("/journal", post(receive))
            .route("/journal/withdraw", post(withdraw))
            .route("/journal/cases", post(make_case))
            .with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/journal", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, inbox }
    }

    /// Answers the next `requests` requests with 503.
    /// Where the fagsystem takes documents back.
    pub fn withdraw_url(&self) -> String {
        format!("{}/withdraw", self.url)
    }

    /// Where the fagsystem makes cases.
    pub fn cases_url(&self) -> String {
        format!("{}/cases", self.url)
    }

    /// Makes cases without answering (`true`) until told otherwise.
    pub fn hold_case_answers(&self, held: bool) {
        self.inbox.lock().unwrap().case_answers_held = held;
    }

    /// The cases made: idempotency key, number, body.
    pub fn cases(&self) -> Vec<(String, String, Value)> {
        let inbox = self.inbox.lock().unwrap();
        inbox
            .cases
            .iter()
            .map(|(key, (number, body))| (key.clone(), number.clone(), body.clone()))
            .collect()
    }

    pub fn case_requests(&self) -> usize {
        self.inbox.lock().unwrap().case_requests
    }

    pub fn unavailable_for(&self, requests: usize) {
        self.inbox.lock().unwrap().unavailable = requests;
    }

    pub fn close_case(&self, case_id: &str) {
        self.inbox.lock().unwrap().closed.insert(case_id.into());
    }

    pub fn deliveries(&self) -> usize {
        self.inbox.lock().unwrap().deliveries
    }

    /// Documents filed on a case.
    pub fn documents(&self, case_id: &str) -> usize {
        let inbox = self.inbox.lock().unwrap();
        inbox
            .documents
            .values()
            .filter(|(_, body)| body["case"]["id"] == case_id)
            .count()
    }

    /// The bodies of the documents filed on a case.
    pub fn document_bodies(&self, case_id: &str) -> Vec<Value> {
        let inbox = self.inbox.lock().unwrap();
        inbox
            .documents
            .values()
            .filter(|(_, body)| body["case"]["id"] == case_id)
            .map(|(_, body)| body.clone())
            .collect()
    }

    /// The body of the document filed under a key.
    pub fn document(&self, key: &str) -> Option<Value> {
        let inbox = self.inbox.lock().unwrap();
        inbox.documents.get(key).map(|(_, body)| body.clone())
    }
}

fn authorised(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(format!("Bearer {TOKEN}").as_str())
}

async fn receive(
    State(inbox): State<Arc<Mutex<Inbox>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut inbox = inbox.lock().unwrap();
    inbox.deliveries += 1;
    let message = |status: StatusCode, text: &str| (status, Json(json!({"message": text})));
    if !authorised(&headers) {
        return message(StatusCode::UNAUTHORIZED, "ukendt adgangsnøgle").into_response();
    }
    if inbox.unavailable > 0 {
        inbox.unavailable -= 1;
        return (StatusCode::SERVICE_UNAVAILABLE, "prøv igen senere").into_response();
    }
    let Some(key) = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return message(StatusCode::BAD_REQUEST, "Idempotency-Key mangler").into_response();
    };
    if body["case"]["id"]
        .as_str()
        .is_some_and(|id| inbox.closed.contains(id))
    {
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Sagen er afsluttet og kan ikke modtage dokumenter",
        )
        .into_response();
    }
    if let Some((id, _)) = inbox.documents.get(&key) {
        return (StatusCode::OK, Json(json!({"document": {"id": id}}))).into_response();
    }
    let id = format!("FS-{}", inbox.documents.len() + 1);
    inbox.documents.insert(key, (id.clone(), body));
    (StatusCode::CREATED, Json(json!({"document": {"id": id}}))).into_response()
}

/// Makes a case once per key: 201 with its number, 200 with the same number when asked again.
async fn make_case(
    State(inbox): State<Arc<Mutex<Inbox>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let (held, status, number) = {
        let mut inbox = inbox.lock().unwrap();
        inbox.case_requests += 1;
        if inbox.unavailable > 0 {
            inbox.unavailable -= 1;
            return (StatusCode::SERVICE_UNAVAILABLE, "prøv igen senere").into_response();
        }
        if !authorised(&headers) {
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({"message": "ukendt adgangsnøgle"})),
            )
                .into_response();
        }
        let Some(key) = headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
        else {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"message": "Idempotency-Key mangler"})),
            )
                .into_response();
        };
        if body["title"].as_str().is_none_or(str::is_empty) {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({"message": "Sagen skal have en titel"})),
            )
                .into_response();
        }
        let (status, number) = match inbox.cases.get(&key) {
            Some((number, _)) => (StatusCode::OK, number.clone()),
            None => {
                let number = format!("FS-SAG-{}", inbox.cases.len() + 1);
                inbox.cases.insert(key, (number.clone(), body));
                (StatusCode::CREATED, number)
            }
        };
        (inbox.case_answers_held, status, number)
    };
    if held {
        std::future::pending::<()>().await;
    }
    (status, Json(json!({"sag": {"nummer": number}}))).into_response()
}

/// Takes a document back, by the filing's key: it leaves the inbox (and is gone if asked again).
async fn withdraw(
    State(inbox): State<Arc<Mutex<Inbox>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut inbox = inbox.lock().unwrap();
    if !authorised(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "ukendt adgangsnøgle"})),
        )
            .into_response();
    }
    let Some(key) = body["idempotency_key"].as_str() else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "idempotency_key mangler"})),
        )
            .into_response();
    };
    let ours: Vec<String> = inbox
        .documents
        .keys()
        .filter(|k| {
            *k == key
                || k.strip_prefix(key)
                    .is_some_and(|rest| rest.starts_with('-'))
        })
        .cloned()
        .collect();
    if ours.is_empty() {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "ukendt dokument"})),
        )
            .into_response();
    }
    for k in ours {
        inbox.documents.remove(&k);
    }
    StatusCode::NO_CONTENT.into_response()
}
