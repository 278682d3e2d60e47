//! The mail half of the Graph stand-in: users' mailboxes with folders and messages, as a
//! watched mailbox reads them.
//!
//! It follows Graph v1.0's published references: "Get mailFolder" (well-known names such as
//! `inbox`), "List mailFolders" (`$filter=displayName eq '…'`), "Create mailFolder"
//! (`ErrorFolderExists`), "message: delta" (`@odata.nextLink` / `@odata.deltaLink`,
//! `Prefer: odata.maxpagesize`, `@removed`, 10 a page unless asked), "Get MIME content of a
//! message" (`/$value`), "Update message" (`categories`), "message: move" (201, a new id
//! unless `Prefer: IdType="ImmutableId"`), "Obtain immutable identifiers for Outlook
//! resources", and the Exchange error codes (`ErrorInvalidUser`, `ErrorItemNotFound`,
//! `ErrorInvalidIdMalformed`).

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::graph_standin::error;

/// The names Graph accepts for a user's standard folders in place of their ids.
const WELL_KNOWN: [&str; 6] = [
    "inbox",
    "sentitems",
    "drafts",
    "deleteditems",
    "archive",
    "junkemail",
];
const DEFAULT_PAGE: usize = 10;

#[derive(Clone, Debug)]
pub struct Message {
    /// Stays the message's for good.
    pub immutable_id: String,
    /// Changes when the message moves to another folder.
    pub id: String,
    pub folder: String,
    pub mime: Vec<u8>,
    pub categories: Vec<String>,
    /// The MIME's Message-ID, with its angle brackets.
    pub internet_message_id: String,
    /// Exchange's conversation: that of the mail it replies to, else its own.
    pub conversation_id: String,
    pub received: String,
}

struct Folder {
    id: String,
    name: String,
}

enum Change {
    Created,
    Removed,
}

#[derive(Default)]
struct Mailbox {
    folders: Vec<Folder>,
    messages: BTreeMap<String, Message>,
    /// Every change to any folder, in order: (sequence, folder id, immutable id, change).
    changes: Vec<(u64, String, String, Change)>,
}

#[derive(Default)]
pub struct Mailboxes {
    users: HashMap<String, Mailbox>,
    next: u64,
    /// Moves made, successful ones only.
    pub moves: usize,
}

impl Mailboxes {
    fn next(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// A mailbox for `user`, with the well-known folders.
    pub fn add_user(&mut self, user: &str) {
        let mut mailbox = Mailbox::default();
        for name in WELL_KNOWN {
            let id = format!("AAMkFolder{}", self.next());
            mailbox.folders.push(Folder {
                id,
                name: name.into(),
            });
        }
        self.users.insert(user.to_lowercase(), mailbox);
    }

    /// A mail arrives in `folder` (a well-known name) of `user`; its immutable id.
    pub fn deliver(&mut self, user: &str, folder: &str, mime: &[u8]) -> String {
        let seq = self.next();
        let mailbox = self.users.get_mut(&user.to_lowercase()).expect("a user");
        let folder = mailbox.folder(folder).expect("a folder").id.clone();
        let immutable_id = format!("AAkALgImmutable{seq}");
        let internet_message_id = header(mime, "message-id").unwrap_or_default();
        let replied_to = header(mime, "in-reply-to").unwrap_or_default();
        let conversation_id = mailbox
            .messages
            .values()
            .find(|m| !replied_to.is_empty() && m.internet_message_id == replied_to)
            .map_or_else(
                || format!("AAQkConversation{seq}"),
                |m| m.conversation_id.clone(),
            );
        mailbox.messages.insert(
            immutable_id.clone(),
            Message {
                immutable_id: immutable_id.clone(),
                id: format!("AAMkMessage{seq}"),
                folder: folder.clone(),
                mime: mime.to_vec(),
                categories: Vec::new(),
                internet_message_id,
                conversation_id,
                received: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            },
        );
        mailbox
            .changes
            .push((seq, folder, immutable_id.clone(), Change::Created));
        immutable_id
    }

    /// The messages in the folder of that name.
    pub fn messages_in(&self, user: &str, folder: &str) -> Vec<Message> {
        let Some(mailbox) = self.users.get(&user.to_lowercase()) else {
            return Vec::new();
        };
        let Some(folder) = mailbox.folder(folder) else {
            return Vec::new();
        };
        mailbox
            .messages
            .values()
            .filter(|m| m.folder == folder.id)
            .cloned()
            .collect()
    }
}

impl Mailbox {
    /// A folder by id, by well-known name, or (for tests) by display name.
    fn folder(&self, name: &str) -> Option<&Folder> {
        self.folders
            .iter()
            .find(|f| f.id == name || f.name.eq_ignore_ascii_case(name))
    }

    fn message(&self, id: &str) -> Option<&Message> {
        self.messages
            .get(id)
            .or_else(|| self.messages.values().find(|m| m.id == id))
    }
}

/// A header's value in a MIME message (unfolded lines are enough here).
fn header(mime: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(mime);
    let head = text.split("\r\n\r\n").next()?;
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_string())
    })
}

fn invalid_user(user: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "ErrorInvalidUser",
        &format!("The requested user '{user}' is invalid."),
    )
}

fn item_not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}

fn bad(code: &str, message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, code, message)
}

/// The `Prefer` header's preferences, lower-cased names.
fn prefers(headers: &HeaderMap) -> HashMap<String, String> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|p| {
            let (name, value) = p.trim().split_once('=')?;
            Some((
                name.trim().to_lowercase(),
                value.trim().trim_matches('"').to_string(),
            ))
        })
        .collect()
}

fn message_json(message: &Message, immutable: bool, select: Option<&str>) -> Value {
    let id = match immutable {
        true => &message.immutable_id,
        false => &message.id,
    };
    let all = json!({
        "@odata.type": "#microsoft.graph.message",
        "id": id,
        "categories": message.categories,
        "parentFolderId": message.folder,
        "internetMessageId": message.internet_message_id,
        "conversationId": message.conversation_id,
        "receivedDateTime": message.received,
    });
    match select {
        None => all,
        Some(fields) => {
            let mut picked = serde_json::Map::new();
            picked.insert("id".into(), json!(id));
            for field in fields.split(',').map(str::trim) {
                if let Some(value) = all.get(field) {
                    picked.insert(field.into(), value.clone());
                }
            }
            Value::Object(picked)
        }
    }
}

/// `/users/{user}/…` below Graph's root.
pub fn users(
    mail: &mut Mailboxes,
    base: &str,
    method: &Method,
    segments: &[String],
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let Some(user) = segments.first() else {
        return bad("BadRequest", "Resource not found for the segment 'users'.");
    };
    let immutable = prefers(headers)
        .get("idtype")
        .is_some_and(|v| v == "ImmutableId");
    let page = prefers(headers)
        .get("odata.maxpagesize")
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_PAGE);
    let Some(mailbox) = mail.users.get_mut(&user.to_lowercase()) else {
        return invalid_user(user);
    };
    let rest: Vec<&str> = segments[1..].iter().map(String::as_str).collect();
    match (method.as_str(), rest.as_slice()) {
        ("GET", ["mailFolders"]) => {
            let wanted = match query.get("$filter") {
                None => None,
                Some(filter) => match filter
                    .strip_prefix("displayName eq '")
                    .and_then(|f| f.strip_suffix('\''))
                {
                    Some(name) => Some(name.replace("''", "'")),
                    None => {
                        return bad("ErrorInvalidUrlQueryFilter", "The query filter is invalid.");
                    }
                },
            };
            let folders: Vec<Value> = mailbox
                .folders
                .iter()
                .filter(|f| wanted.as_ref().is_none_or(|w| *w == f.name))
                .map(|f| json!({"id": f.id, "displayName": f.name}))
                .collect();
            axum::Json(json!({"value": folders})).into_response()
        }
        ("POST", ["mailFolders"]) => {
            let Some(name) = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|b| b["displayName"].as_str().map(str::to_owned))
                .filter(|n| !n.trim().is_empty())
            else {
                return bad("ErrorInvalidRequest", "displayName is required.");
            };
            if mailbox
                .folders
                .iter()
                .any(|f| f.name.eq_ignore_ascii_case(&name))
            {
                return error(
                    StatusCode::CONFLICT,
                    "ErrorFolderExists",
                    "A folder with the specified name already exists.",
                );
            }
            let id = format!("AAMkFolder{}", mail.next);
            mail.next += 1;
            let mailbox = mail.users.get_mut(&user.to_lowercase()).unwrap();
            mailbox.folders.push(Folder {
                id: id.clone(),
                name: name.clone(),
            });
            (
                StatusCode::CREATED,
                axum::Json(json!({"id": id, "displayName": name})),
            )
                .into_response()
        }
        ("GET", ["mailFolders", folder]) => match mailbox.folder(folder) {
            Some(f) => axum::Json(json!({"id": f.id, "displayName": f.name})).into_response(),
            None => item_not_found(),
        },
        ("GET", ["mailFolders", folder, "messages", "delta"]) => {
            let Some(folder) = mailbox.folder(folder).map(|f| f.id.clone()) else {
                return item_not_found();
            };
            if query.contains_key("$filter") || query.contains_key("$orderby") {
                return bad(
                    "ErrorInvalidUrlQuery",
                    "The following parameters are not supported with change tracking over the 'Messages' resource: '$orderby, $filter'.",
                );
            }
            delta(mailbox, base, user, &folder, query, immutable, page)
        }
        ("GET", ["messages"]) => {
            // Exchange filters messages on one property compared with a string literal.
            let filter = query.get("$filter").map(String::as_str).unwrap_or_default();
            let wanted = ["internetMessageId", "conversationId"]
                .into_iter()
                .find_map(|p| {
                    let literal = filter
                        .strip_prefix(p)?
                        .strip_prefix(" eq '")?
                        .strip_suffix('\'')?;
                    Some((p, literal.replace("''", "'")))
                });
            if !filter.is_empty() && wanted.is_none() {
                return bad("ErrorInvalidUrlQueryFilter", "The query filter is invalid.");
            }
            let select = query.get("$select").map(String::as_str);
            let found: Vec<Value> = mailbox
                .messages
                .values()
                .filter(|m| match &wanted {
                    Some(("internetMessageId", v)) => m.internet_message_id == *v,
                    Some((_, v)) => m.conversation_id == *v,
                    None => true,
                })
                .map(|m| message_json(m, immutable, select))
                .collect();
            axum::Json(json!({"value": found})).into_response()
        }
        ("GET", ["messages", id, "$value"]) => match mailbox.message(id) {
            Some(m) => (
                StatusCode::OK,
                [("content-type", "text/plain")],
                m.mime.clone(),
            )
                .into_response(),
            None => item_not_found(),
        },
        ("PATCH", ["messages", id]) => {
            let Ok(Value::Object(changes)) = serde_json::from_slice::<Value>(&body) else {
                return bad("ErrorInvalidRequest", "The request body is not valid JSON.");
            };
            let Some(key) = mailbox.message(id).map(|m| m.immutable_id.clone()) else {
                return item_not_found();
            };
            let message = mailbox.messages.get_mut(&key).unwrap();
            for (field, value) in changes {
                match (field.as_str(), value) {
                    ("categories", Value::Array(names)) if names.iter().all(Value::is_string) => {
                        message.categories = names
                            .iter()
                            .filter_map(|n| n.as_str().map(str::to_owned))
                            .collect();
                    }
                    _ => {
                        return bad(
                            "ErrorInvalidProperty",
                            &format!("The property '{field}' cannot be set this way."),
                        );
                    }
                }
            }
            axum::Json(message_json(message, immutable, None)).into_response()
        }
        ("POST", ["messages", id, "move"]) => {
            let Some(destination) = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|b| b["destinationId"].as_str().map(str::to_owned))
            else {
                return bad("ErrorInvalidRequest", "destinationId is required.");
            };
            let Some(destination) = mailbox.folder(&destination).map(|f| f.id.clone()) else {
                return bad("ErrorInvalidIdMalformed", "Id is malformed.");
            };
            let Some(key) = mailbox.message(id).map(|m| m.immutable_id.clone()) else {
                return item_not_found();
            };
            mail.next += 1;
            let seq = mail.next;
            mail.moves += 1;
            let mailbox = mail.users.get_mut(&user.to_lowercase()).unwrap();
            let message = mailbox.messages.get_mut(&key).unwrap();
            let from = std::mem::replace(&mut message.folder, destination.clone());
            message.id = format!("AAMkMessage{seq}");
            let answer = message_json(message, immutable, None);
            if from != destination {
                mailbox
                    .changes
                    .push((seq, from, key.clone(), Change::Removed));
                mailbox
                    .changes
                    .push((seq, destination, key, Change::Created));
            }
            (StatusCode::CREATED, axum::Json(answer)).into_response()
        }
        _ => error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Resource not found for the segment.",
        ),
    }
}

/// One page of a folder's changes since a delta token (all of them without one). A
/// `$skiptoken` names a window `(from, to]` fixed by the first page and where in it to go on.
fn delta(
    mailbox: &Mailbox,
    base: &str,
    user: &str,
    folder: &str,
    query: &HashMap<String, String>,
    immutable: bool,
    page: usize,
) -> Response {
    let newest = mailbox.changes.last().map_or(0, |c| c.0);
    let parse = |token: &str| -> Option<Vec<u64>> {
        token
            .strip_prefix("sync")?
            .split('.')
            .map(|n| n.parse().ok())
            .collect()
    };
    let (from, to, offset) = match (query.get("$skiptoken"), query.get("$deltatoken")) {
        (Some(skip), _) => match parse(skip).as_deref() {
            Some([from, to, offset]) => (*from, *to, *offset as usize),
            _ => return sync_state_not_found(),
        },
        (None, Some(delta)) => match parse(delta).as_deref() {
            Some([from]) if *from <= newest => (*from, newest, 0),
            _ => return sync_state_not_found(),
        },
        (None, None) => (0, newest, 0),
    };
    // The last change to each message in the window, in the order of those changes.
    let mut last: Vec<(&str, bool)> = Vec::new();
    for (seq, in_folder, id, change) in &mailbox.changes {
        if *seq <= from || *seq > to || in_folder != folder {
            continue;
        }
        last.retain(|(other, _)| other != id);
        last.push((id, matches!(change, Change::Created)));
    }
    // A first sync has nothing to remove.
    if from == 0 {
        last.retain(|(_, present)| *present);
    }
    let select = query.get("$select").map(String::as_str);
    let values: Vec<Value> = last
        .iter()
        .skip(offset)
        .take(page)
        .map(|(id, present)| match (present, mailbox.messages.get(*id)) {
            (true, Some(message)) => message_json(message, immutable, select),
            _ => json!({"@odata.type": "#microsoft.graph.message", "id": id,
                        "@removed": {"reason": "deleted"}}),
        })
        .collect();
    let link = format!("{base}/v1.0/users/{user}/mailFolders/{folder}/messages/delta");
    let mut answer = json!({"value": values});
    if offset + page < last.len() {
        answer["@odata.nextLink"] = json!(format!(
            "{link}?$skiptoken=sync{from}.{to}.{}",
            offset + page
        ));
    } else {
        answer["@odata.deltaLink"] = json!(format!("{link}?$deltatoken=sync{to}"));
    }
    axum::Json(answer).into_response()
}

fn sync_state_not_found() -> Response {
    error(
        StatusCode::GONE,
        "SyncStateNotFound",
        "The sync state generation is not found.",
    )
}
