//! cBrain F2 through its REST service ("F2-REST Documentation", F2 version 13): the service
//! index and link relations, a matter per filing on the case (Inbound, Outbound or Internal,
//! with the mail's text), the files as the matter's documents, every create by Post Once
//! Exactly.
//!
//! Only the service index is configured; cases, matters and documents are reached by the links
//! F2 gives. Creating is two posts: an empty one to the `create-*` link, which answers a fresh
//! POE address, then the payload to that address, which F2 answers with 201 the first time and
//! 303 See Other once it has made it, `Location` naming what was made either way. The POE
//! addresses are kept on disk (`poe.rs`) before their payload goes, so a delivery repeated
//! after a crash posts to the same one and makes nothing twice. F2 keeps what is filed: a new
//! version is one more document on the same matter, and nothing is withdrawn.
//!
//! A case ordered here is made the same way, by POE on the index's `create-case`. F2 gives it
//! an id and a number of its own; our case keeps its id and takes F2's number, and the address
//! F2 answered is kept beside the POE addresses, where a filing on the case finds it.

mod poe;

use std::path::Path;

use reqwest::{StatusCode, Url};
use serde_json::{Value, json};

use super::http;
use super::http::oauth::{Grant, OAuthToken};
use super::naming::{extension, safe_name};
use super::{
    BoxFuture, Capabilities, Connector, ConnectorError, Direction, FiledDocument, FilingRequest,
    shareable_parties,
};
use crate::config::F2Config;
use crate::domain::case::{Case, CaseInput, PartyInput};
use crate::domain::filing::AttachmentMode;
use poe::PoeLog;

const TARGET: &str = "f2";
/// Where F2's link relations are named.
const REL: &str = "http://cbrain.com/casefile/rel/";

pub struct F2Connector {
    index: Url,
    client: reqwest::Client,
    token: OAuthToken,
    poe: PoeLog,
}

/// What a resource links to, by relation name without the prefix.
fn link(resource: &Value, rel: &str) -> Option<String> {
    resource["Links"].as_array()?.iter().find_map(|link| {
        let name = link["Rel"].as_str()?;
        (name.strip_prefix(REL) == Some(rel))
            .then(|| link["Href"].as_str().map(str::to_owned))
            .flatten()
    })
}

fn unreadable(what: &str) -> ConnectorError {
    ConnectorError::Transient(format!("{TARGET}: unreadable answer: {what}"))
}

/// One file to make a document of on a matter.
struct Document<'a> {
    step: String,
    title: String,
    file_name: String,
    content_type: &'a str,
    content: &'a [u8],
    description: String,
}

impl F2Connector {
    /// `state` is where the POE addresses are kept (one folder per instance).
    pub fn new(config: &F2Config, state: &Path) -> Result<F2Connector, String> {
        let index = http::target_url(&config.url)?;
        let token_url = http::target_url(&config.token_url).map_err(|e| format!("token_{e}"))?;
        let grant = if config.username.is_empty() {
            Grant::ClientCredentials {
                client_id: config.client_id.clone(),
                client_secret: config.client_secret.clone(),
                scope: config.scope.clone(),
            }
        } else {
            Grant::Password {
                client_id: config.client_id.clone(),
                client_secret: config.client_secret.clone(),
                username: config.username.clone(),
                password: config.password.clone(),
                scope: config.scope.clone(),
            }
        };
        Ok(F2Connector {
            index,
            client: http::client(config.timeout_secs)?,
            token: OAuthToken::new("F2 sign-in", token_url, grant),
            poe: PoeLog::open(state)?,
        })
    }

    /// Sends what `build` makes with the token, fetching a new one once if F2 refuses it,
    /// and answers whatever F2 answered.
    async fn send_raw(
        &self,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ConnectorError> {
        let mut refreshed = false;
        loop {
            let token = self.token.get(&self.client).await?;
            let response = build(&self.client)
                .bearer_auth(token.expose())
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await
                .map_err(|e| http::send_error(TARGET, e))?;
            if response.status() == StatusCode::UNAUTHORIZED && !refreshed {
                self.token.forget(&token).await;
                refreshed = true;
                continue;
            }
            return Ok(response);
        }
    }

    /// As `send_raw`, a failure an error. A redirect is answered as it is: F2 answers a
    /// repeated POE with 303.
    async fn send(
        &self,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ConnectorError> {
        let response = self.send_raw(build).await?;
        if response.status().is_success() || response.status().is_redirection() {
            Ok(response)
        } else {
            Err(http::failure(TARGET, response).await)
        }
    }

    /// A URL F2 gave, only where it is F2's own: the token goes to nothing else.
    fn own_url(&self, raw: &str) -> Result<Url, ConnectorError> {
        let url = self
            .index
            .join(raw)
            .map_err(|_| unreadable("a link that is not a URL"))?;
        if url.origin() != self.index.origin() {
            return Err(ConnectorError::Permanent(format!(
                "{TARGET}: a link leads away from the F2 server ({})",
                url.origin().ascii_serialization()
            )));
        }
        Ok(url)
    }

    /// A resource as JSON, following one redirect (F2's `case-by-*` templates redirect to the
    /// case); `None` for 404.
    async fn get(&self, url: &Url) -> Result<Option<Value>, ConnectorError> {
        let mut url = url.clone();
        for _ in 0..2 {
            let response = self.send_raw(|http| http.get(url.clone())).await?;
            if response.status() == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !(response.status().is_success() || response.status().is_redirection()) {
                return Err(http::failure(TARGET, response).await);
            }
            if response.status().is_redirection() {
                url = self.location(&response)?;
                continue;
            }
            let json = response
                .json()
                .await
                .map_err(|e| unreadable(&e.without_url().to_string()))?;
            return Ok(Some(json));
        }
        Err(unreadable("a redirect to a redirect"))
    }

    fn location(&self, response: &reqwest::Response) -> Result<Url, ConnectorError> {
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| unreadable("an answer without its Location"))?;
        self.own_url(location)
    }

    async fn service_index(&self) -> Result<Value, ConnectorError> {
        self.get(&self.index)
            .await?
            .ok_or_else(|| ConnectorError::Permanent(format!("{TARGET}: no service index at url")))
    }

    /// A case by its F2 id, through the index's `case-by-id` template.
    async fn case(&self, id: &str) -> Result<Option<Value>, ConnectorError> {
        let index = self.service_index().await?;
        let template = link(&index, "case-by-id")
            .ok_or_else(|| unreadable("a service index without case-by-id"))?;
        let encoded: String = url_encode(id);
        self.get(&self.own_url(&template.replace("{id}", &encoded))?)
            .await
    }

    /// The case a filing goes on: by its id, or, for a case ordered here (which F2 gave an id
    /// of its own), at the address F2 answered when it made it.
    async fn case_of(&self, case: &Case) -> Result<Option<Value>, ConnectorError> {
        if let Some(found) = self.case(&case.id).await? {
            return Ok(Some(found));
        }
        match self.poe.get(&made_step(&case.id)).await {
            Some(made) => self.get(&made).await,
            None => Ok(None),
        }
    }

    /// Makes an ordered case by POE on the index's `create-case`, its POE address kept under
    /// the case id; answers the number F2 gave it.
    async fn make_case(&self, case: &Case) -> Result<String, ConnectorError> {
        let index = self.service_index().await?;
        let create = link(&index, "create-case").ok_or_else(|| {
            ConnectorError::Permanent(format!(
                "{TARGET}: the service index offers no create-case: this user may not create cases"
            ))
        })?;
        let mut body = json!({"Title": case.title});
        if let Some(kle) = &case.kle {
            body["KeywordCode"] = json!(kle);
        }
        if let Some(facet) = &case.facet {
            body["ProcessInstructionCode"] = json!(facet);
        }
        if !case.groups.is_empty() {
            body["SecurityGroups"] = case.groups.iter().map(|g| json!({"Name": g})).collect();
        }
        let parties: Vec<Value> = shareable_parties(case)
            .map(|p| json!({"Name": p.display}))
            .collect();
        if !parties.is_empty() {
            body["InvolvedParties"] = Value::Array(parties);
        }
        let made_at = self
            .post_once_exactly(&format!("{}/case", case.id), &create, |post| {
                post.json(&body)
            })
            .await?;
        if self.poe.get(&made_step(&case.id)).await.is_none() {
            self.poe.record(&made_step(&case.id), &made_at).await?;
        }
        let made = self.get(&made_at).await?.ok_or_else(|| {
            ConnectorError::Transient(format!("{TARGET}: the case made is not there yet"))
        })?;
        Ok(case_input(&made)?.number)
    }

    /// Makes something by POE: the address for `step` (asked for at `create` unless kept from
    /// an earlier attempt), then the payload to it. Answers where F2 says the made thing is.
    async fn post_once_exactly(
        &self,
        step: &str,
        create: &str,
        payload: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Url, ConnectorError> {
        let poe = match self.poe.get(step).await {
            Some(poe) => poe,
            None => {
                let create = self.own_url(create)?;
                let answer = self
                    .send(|http| {
                        http.post(create.clone())
                            .header(
                                reqwest::header::CONTENT_TYPE,
                                "application/x-www-form-urlencoded",
                            )
                            .body("")
                    })
                    .await?;
                let poe = self.location(&answer)?;
                self.poe.record(step, &poe).await?;
                poe
            }
        };
        let answer = self.send(|http| payload(http.post(poe.clone()))).await?;
        if answer.status() == StatusCode::SEE_OTHER {
            tracing::debug!(step, "F2 had made this already");
        }
        self.location(&answer)
    }

    async fn file_request(&self, request: &FilingRequest) -> Result<FiledDocument, ConnectorError> {
        let matter_url = match &request.new_version_of {
            None => self.make_matter(request).await?,
            Some(version) => {
                self.matter_of_case(&version.document_id, &request.case.id)
                    .await?
            }
        };
        let matter = self.get(&matter_url).await?.ok_or_else(|| {
            ConnectorError::Transient(format!("{TARGET}: the matter made is not there yet"))
        })?;
        let create = link(&matter, "create-document")
            .ok_or_else(|| unreadable("a matter without create-document"))?;
        let key = &request.idempotency_key;
        let title = match &request.new_version_of {
            None => request.title.clone(),
            Some(version) => format!("{} (version {})", request.title, version.version),
        };
        let mut documents = vec![Document {
            step: format!("{key}/document"),
            file_name: format!(
                "{}.{}",
                safe_name(&request.title, 80),
                extension(&request.content_type)
            ),
            title,
            content_type: &request.content_type,
            content: &request.content,
            description: format!("Journaliseret af {} ({key})", request.filed_by),
        }];
        for attachment in &request.attachments {
            if attachment.mode != AttachmentMode::Separate {
                continue;
            }
            documents.push(Document {
                step: format!("{key}/document-{:02}", attachment.index),
                title: attachment.name.clone(),
                file_name: safe_name(&attachment.name, 80),
                content_type: &attachment.content_type,
                content: &attachment.content,
                description: format!("Bilag til {}", request.title),
            });
        }
        for document in documents {
            self.post_once_exactly(&document.step, &create, |post| {
                let form = reqwest::multipart::Form::new()
                    .text("Title", document.title.clone())
                    .text("Description", document.description.clone())
                    .part("File", file_part(&document));
                post.multipart(form)
            })
            .await?;
        }
        Ok(FiledDocument::filed(matter_url.as_str()))
    }

    /// The matter of a filing on its case, made once.
    async fn make_matter(&self, request: &FilingRequest) -> Result<Url, ConnectorError> {
        let case = self.case_of(&request.case).await?.ok_or_else(|| {
            ConnectorError::Permanent(format!("{TARGET}: F2 has no case {:?}", request.case.id))
        })?;
        let create = link(&case, "create-matter").ok_or_else(|| {
            ConnectorError::Permanent(format!(
                "{TARGET}: case {:?} takes no matters (closed, or not ours to write)",
                request.case.id
            ))
        })?;
        let body = json!({
            "Title": request.title,
            "Type": matter_type(request.direction()),
            "Text": html_text(&request.text),
        });
        self.post_once_exactly(
            &format!("{}/matter", request.idempotency_key),
            &create,
            |post| post.json(&body),
        )
        .await
    }

    /// The matter a new version goes on: one of the case's.
    async fn matter_of_case(
        &self,
        document_id: &str,
        case_id: &str,
    ) -> Result<Url, ConnectorError> {
        let refused = || {
            ConnectorError::Permanent(format!(
                "{TARGET}: {document_id:?} is not a matter of this case"
            ))
        };
        let url = Url::parse(document_id).map_err(|_| refused())?;
        let url = self.own_url(url.as_str()).map_err(|_| refused())?;
        let matter = self.get(&url).await?.ok_or_else(refused)?;
        if matter["CaseId"].as_str() != Some(case_id) {
            return Err(refused());
        }
        Ok(url)
    }

    async fn cases(&self) -> Result<Vec<CaseInput>, ConnectorError> {
        let index = self.service_index().await?;
        let search = link(&index, "case-search-filter")
            .ok_or_else(|| unreadable("a service index without case-search-filter"))?;
        let found = self
            .get(&self.own_url(&search)?)
            .await?
            .ok_or_else(|| unreadable("no case search"))?;
        found["Cases"]
            .as_array()
            .into_iter()
            .flatten()
            .map(case_input)
            .collect()
    }
}

/// Where the address of a case made here is kept, beside its POE address.
fn made_step(case_id: &str) -> String {
    format!("{case_id}/case-made")
}

/// A document's file as a form part; a content type the part cannot carry is left out (the
/// file name's extension tells F2 the type).
fn file_part(document: &Document<'_>) -> reqwest::multipart::Part {
    let part = || {
        reqwest::multipart::Part::bytes(document.content.to_vec())
            .file_name(document.file_name.clone())
    };
    part()
        .mime_str(document.content_type)
        .unwrap_or_else(|_| part())
}

fn url_encode(text: &str) -> String {
    let mut url = Url::parse("http://x/").expect("a valid URL");
    url.path_segments_mut().expect("an http URL").push(text);
    url.path()[1..].to_string()
}

/// F2's matter types.
fn matter_type(direction: Direction) -> &'static str {
    match direction {
        Direction::Incoming => "Inbound",
        Direction::Outgoing => "Outbound",
        Direction::Internal => "Internal",
    }
}

/// The mail's text as the matter's HTML body: escaped, a paragraph a line.
fn html_text(text: &str) -> String {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| format!("<p>{}</p>", quick_xml::escape::escape(line.trim())))
        .collect()
}

/// A case as F2 describes it.
fn case_input(case: &Value) -> Result<CaseInput, ConnectorError> {
    let text = |name: &str| {
        case[name]
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    let id = text("Id")
        .or_else(|| case["Id"].as_i64().map(|id| id.to_string()))
        .ok_or_else(|| unreadable("a case without an Id"))?;
    let mut parties: Vec<PartyInput> = case["InvolvedParties"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|party| party["Name"].as_str())
        .map(|name| PartyInput {
            kind: "name".into(),
            value: name.into(),
        })
        .collect();
    // CPR or CVR, told apart by length as F2 keeps both in the one property.
    if let Some(number) = text("CprNumber") {
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        let kind = if digits.len() == 8 { "cvr" } else { "cpr" };
        parties.push(PartyInput {
            kind: kind.into(),
            value: number,
        });
    }
    Ok(CaseInput {
        number: text("CaseNumber").unwrap_or_else(|| id.clone()),
        title: text("Title").unwrap_or_else(|| id.clone()),
        kle: text("Keyword"),
        facet: text("ProcessInstruction"),
        status: if case["Closed"].as_bool() == Some(true) {
            "closed"
        } else {
            "open"
        }
        .into(),
        parties,
        groups: case["SecurityGroups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|group| group["Name"].as_str().map(String::from))
            .collect(),
        opened: text("CreatedDate").and_then(|date| date.get(..10).map(String::from)),
        id,
    })
}

impl Connector for F2Connector {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            list_cases: true,
            read_case: true,
            withdraw: false,
            list_documents: false,
        }
    }

    fn creates_cases(&self) -> bool {
        true
    }

    fn create_case<'a>(&'a self, case: &'a Case) -> BoxFuture<'a, Result<String, ConnectorError>> {
        Box::pin(self.make_case(case))
    }

    fn file(&self, request: FilingRequest) -> BoxFuture<'_, Result<FiledDocument, ConnectorError>> {
        Box::pin(async move { self.file_request(&request).await })
    }

    fn list_cases(&self) -> BoxFuture<'_, Result<Vec<CaseInput>, ConnectorError>> {
        Box::pin(self.cases())
    }

    fn read_case<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<CaseInput>, ConnectorError>> {
        Box::pin(async move {
            match self.case(id).await? {
                Some(case) => case_input(&case).map(Some),
                None => Ok(None),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_found_by_relation() {
        let resource = json!({"Links": [
            {"Rel": "self", "Href": "/cases/7"},
            {"Rel": "http://cbrain.com/casefile/rel/create-matter", "Href": "/cases/7/matters"}
        ]});
        assert_eq!(
            link(&resource, "create-matter").as_deref(),
            Some("/cases/7/matters")
        );
        assert_eq!(link(&resource, "create-document"), None);
    }

    #[test]
    fn a_case_reads_with_its_parties_and_groups() {
        let case = case_input(&json!({
            "Id": "812", "CaseNumber": "2026 - 60", "Title": "Carport", "Keyword": "02.34.02",
            "ProcessInstruction": "G01", "Closed": false, "CprNumber": "29189846",
            "InvolvedParties": [{"Name": "Skovvej 12 ApS"}], "SecurityGroups": [{"Name": "Byg"}]
        }))
        .unwrap();
        assert_eq!(
            (case.id.as_str(), case.number.as_str()),
            ("812", "2026 - 60")
        );
        assert_eq!(case.parties[1].kind, "cvr");
        assert_eq!(case.groups, ["Byg"]);
        assert_eq!(case.status, "open");
    }

    #[test]
    fn the_text_is_escaped_html() {
        assert_eq!(
            html_text("Hej <du>\n\n& tak"),
            "<p>Hej &lt;du&gt;</p><p>&amp; tak</p>"
        );
    }
}
