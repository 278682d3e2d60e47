//! Following a thread ("Journalisér også svar i tråden"): later mails of a filed mail's
//! conversation in the caseworker's own mailbox (the Graph stand-in) are filed on the case
//! without a click, until they stop it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::graph_standin::GraphStandin;
use crate::helpers::*;
use crate::mailboxes::until;

const CASE: &str = "VK-2026-0004";

fn citizen_mail(message_id: &str, in_reply_to: Option<&str>, subject: &str) -> Vec<u8> {
    let reply = in_reply_to.map_or(String::new(), |to| {
        format!("In-Reply-To: <{to}>\r\nReferences: <{to}>\r\n")
    });
    format!(
        "From: Borger <borger@example.dk>\r\nTo: anna@vejstrand.example\r\nSubject: {subject}\r\n\
         Date: Wed, 25 Nov 2026 10:00:00 +0100\r\nMessage-ID: <{message_id}>\r\n{reply}\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHej Anna.\r\n"
    )
    .into_bytes()
}

async fn follow(app: &TestApp, token: &str, filing_id: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/api/v1/threads"))
        .bearer_auth(token)
        .json(&json!({"filing_id": filing_id}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_followed_thread_files_its_later_mails_on_the_case_until_stopped() {
    let standin = GraphStandin::start().await;
    standin.add_mail_user("anna");
    let entra = standin.entra_app();
    let app = TestApp::spawn_with(move |c| {
        c.threads.entra = Some(entra);
        c.threads.poll_secs = 1;
    })
    .await;
    let first = citizen_mail("koerestol-1@example.dk", None, "Ansøgning om kørestol");
    standin.deliver_mail("anna", "inbox", &first);
    let item = app.post_mail(first).await;
    let filing: Value = app
        .file(json!({"item_id": item["id"], "case_id": CASE, "title": "Ansøgning om kørestol"}))
        .await
        .json()
        .await
        .unwrap();

    // Someone else cannot follow Anna's filing.
    let other = app.token_for("bo", &["social"]);
    assert_eq!(
        follow(&app, &other, &filing["id"]).await.status(),
        StatusCode::NOT_FOUND
    );
    let started = follow(&app, &app.token, &filing["id"]).await;
    assert_eq!(started.status(), StatusCode::CREATED);
    let started: Value = started.json().await.unwrap();
    assert_eq!(
        (started["case_id"].as_str(), &started["following"]),
        (Some(CASE), &json!(true))
    );
    let again = follow(&app, &app.token, &filing["id"]).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Value>().await.unwrap()["id"], started["id"]);

    let reply = citizen_mail(
        "koerestol-2@example.dk",
        Some("koerestol-1@example.dk"),
        "SV: Ansøgning om kørestol",
    );
    let elsewhere = citizen_mail("affald-1@example.dk", None, "Spørgsmål om affald");
    standin.deliver_mail("anna", "inbox", &elsewhere);
    standin.deliver_mail("anna", "inbox", &reply);
    let categorised = |subject: &str| {
        standin
            .mails_in("anna", "inbox")
            .into_iter()
            .filter(|m| String::from_utf8_lossy(&m.mime).contains(subject))
            .any(|m| m.categories == ["Journaliseret"])
    };
    until(60, "the reply filed and marked", async || {
        categorised("SV: Ansøgning om kørestol")
    })
    .await;
    let audit: Value = app
        .get_json(
            &format!("/api/v1/admin/audit?kind=filing_accepted&actor=anna&case_id={CASE}"),
            &app.admin_token,
        )
        .await;
    let automatic: Vec<&Value> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["details"]["automatic"]["evidence"] == "thread")
        .collect();
    assert_eq!(automatic.len(), 1, "{audit}");
    // A mail of another conversation is not the follow's to file.
    assert!(!categorised("Spørgsmål om affald"));

    let stopped: Value = reqwest::Client::new()
        .delete(app.url(&format!(
            "/api/v1/threads/{}",
            started["id"].as_str().unwrap()
        )))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&stopped["following"], &stopped["ended_why"]),
        (&json!(false), &json!("stopped"))
    );
    let mine: Value = app.get_json("/api/v1/threads", &app.token).await;
    assert_eq!(mine["threads"], json!([]));
    assert_eq!(mine["available"], true);

    // Followed again, the thread is let go by itself once the case closes in the archive.
    let again = follow(&app, &app.token, &filing["id"]).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    app.wait_settled(filing["id"].as_str().unwrap()).await;
    std::fs::write(
        app.archive().join(CASE).join("case.json"),
        json!({"id": CASE, "number": "27.60.04-P20-21-26", "status": "closed",
               "title": "Ansøgning om hjælpemiddel – kørestol", "groups": ["social"]})
        .to_string(),
    )
    .unwrap();
    let synced = reqwest::Client::new()
        .post(app.url("/api/v1/admin/sync"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert!(synced.status().is_success(), "{}", synced.status());
    until(60, "the follow ended with its case", async || {
        let mine: Value = app.get_json("/api/v1/threads", &app.token).await;
        mine["threads"] == json!([])
    })
    .await;
    let changes: Value = app
        .get_json(
            "/api/v1/admin/audit?kind=thread_follow_changed",
            &app.admin_token,
        )
        .await;
    let whys: Vec<&Value> = changes["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["details"]["why"])
        .collect();
    assert_eq!(
        whys,
        [
            &json!("case_closed"),
            &Value::Null,
            &json!("stopped"),
            &Value::Null
        ],
        "{changes}"
    );
}

#[tokio::test]
async fn following_a_thread_needs_the_service_set_up_for_it() {
    let app = TestApp::spawn().await;
    let item = app
        .post_mail(citizen_mail("koerestol-9@example.dk", None, "Ansøgning"))
        .await;
    let filing: Value = app
        .file(json!({"item_id": item["id"], "case_id": CASE, "title": "Ansøgning"}))
        .await
        .json()
        .await
        .unwrap();
    let refused = follow(&app, &app.token, &filing["id"]).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
}
