//! PostgreSQL as the store: the whole flow against a real server, each test in a database of
//! its own that it drops at the end. The server is the one at `JOURNALISER_TEST_POSTGRES`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`, a role that may create
//! databases). Without one the tests fail under `CI=true` (`.ci/run` installs and starts
//! PostgreSQL) and are skipped otherwise.

use journaliser::store::Store;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection};

use crate::helpers::*;

const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const DATA_PROTECTION_CASE: &str = "VK-2026-0031";
const FIXTURE_MESSAGE_ID: &str =
    "CAP6xULFuEzdY+Mj5WY5nt=9TfRuaWroy6-4LWmhpp9G2+vfzLw@mail.gmail.com";

/// A fresh database on the test server.
struct Database {
    server: String,
    name: String,
    url: String,
}

impl Database {
    /// `None` (the test is skipped) when no server answers and this is not CI.
    async fn create() -> Option<Database> {
        let server =
            std::env::var("JOURNALISER_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_SERVER.into());
        let mut admin = match PgConnection::connect(&server).await {
            Ok(connection) => connection,
            Err(error) => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "no PostgreSQL at {server} ({error}); CI needs it (.ci/run starts one)"
                );
                eprintln!("skipped: no PostgreSQL at {server}: {error}");
                return None;
            }
        };
        let name = format!("journaliser_test_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        admin.close().await.unwrap();
        let (base, _) = server
            .rsplit_once('/')
            .expect("the server URL names a database");
        let url = format!("{base}/{name}");
        Some(Database { server, name, url })
    }

    async fn spawn_app(&self) -> TestApp {
        let url = self.url.clone();
        TestApp::spawn_with(move |config| config.store.url = url).await
    }

    async fn drop(self) {
        let mut admin = PgConnection::connect(&self.server).await.unwrap();
        admin
            .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await
            .unwrap();
    }
}

/// The kinds of the audit events about a filing.
async fn audit_kinds(app: &TestApp, filing_id: &str) -> Vec<String> {
    let audit: Value = app
        .get(
            &format!("/api/v1/admin/audit?filing_id={filing_id}"),
            &app.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn instances_starting_together_make_the_schema_once() {
    let Some(database) = Database::create().await else {
        return;
    };
    let url = database.url.as_str();
    let (a, b, c) = tokio::join!(Store::open(url), Store::open(url), Store::open(url));
    for store in [a, b, c] {
        store.unwrap().close().await;
    }
    let mut connection = PgConnection::connect(url).await.unwrap();
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM schema_version ORDER BY version")
            .fetch_all(&mut connection)
            .await
            .unwrap();
    assert_eq!(versions, (1..=19).collect::<Vec<i64>>());
    connection.close().await.unwrap();
    database.drop().await;
}

#[tokio::test]
async fn the_whole_flow_runs_on_postgres_and_a_second_instance_takes_over() {
    let Some(database) = Database::create().await else {
        return;
    };
    let app = database.spawn_app().await;
    let item = app.post_mail(fixture(FIXTURE_MAIL)).await;
    let item_id = item["id"].as_str().unwrap();
    let suggestions = app.suggestions(item_id).await;
    assert_eq!(
        suggestions["suggestions"][0]["case"]["id"], DATA_PROTECTION_CASE,
        "{suggestions:#}"
    );
    let response = app.file(filing_body(item_id, DATA_PROTECTION_CASE)).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let filing: Value = response.json().await.unwrap();
    let filing_id = filing["id"].as_str().unwrap().to_string();
    let settled = app.wait_settled(&filing_id).await;
    assert_eq!(settled["state"], "filed", "{settled:#}");
    let document = app
        .archive()
        .join(settled["target_document_id"].as_str().unwrap());
    assert_eq!(
        std::fs::read(document.join("original.eml")).unwrap(),
        fixture(FIXTURE_MAIL)
    );
    drop(app);

    // Another instance on the same database, with an index and a data folder of its own:
    // it rebuilds its index and ranker from the store, knows the filing and the thread.
    let second = database.spawn_app().await;
    let known = second.filing(&filing_id).await;
    assert_eq!(known["state"], "filed", "{known:#}");
    let again = second
        .file(filing_body(item_id, DATA_PROTECTION_CASE))
        .await;
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "the same filing, not a new one"
    );
    assert_eq!(again.json::<Value>().await.unwrap()["id"], filing_id);
    let reply = second
        .post_mail(reply_to(FIXTURE_MESSAGE_ID, "Mail med inline billede"))
        .await;
    // The reply follows its thread: filed on the same case by itself.
    let automatic = &reply["filings"][0];
    assert_eq!(automatic["case_id"], DATA_PROTECTION_CASE, "{reply:#}");
    assert_eq!(automatic["automatic"]["evidence"], "thread", "{reply:#}");
    let suggestions = second.suggestions(reply["id"].as_str().unwrap()).await;
    let first = &suggestions["suggestions"][0];
    assert_eq!(first["case"]["id"], DATA_PROTECTION_CASE, "{suggestions:#}");

    let kinds = audit_kinds(&second, &filing_id).await;
    assert!(kinds.iter().any(|k| k == "filing_accepted"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "filing_delivered"), "{kinds:?}");
    drop(second);
    database.drop().await;
}

#[tokio::test]
async fn a_nul_character_in_a_mail_does_not_stop_its_filing() {
    let Some(database) = Database::create().await else {
        return;
    };
    let app = database.spawn_app().await;
    // SQLite takes U+0000 in text; PostgreSQL refuses it, so the store leaves it out.
    let mail = "From: Borger <borger@borger.example>\r\nTo: post@vejstrand.example\r\n\
                Subject: =?utf-8?q?Ans=C3=B8gning=00_om_carport?=\r\n\
                Message-ID: <nul=00@borger.example>\r\nDate: Tue, 12 Oct 2021 10:00:00 +0200\r\n\
                Content-Type: text/plain; charset=utf-8\r\n\r\nJeg s\u{f8}ger om lov til en carport.\r\n";
    let item = app.post_mail(mail.as_bytes().to_vec()).await;
    let item_id = item["id"].as_str().unwrap();
    assert!(app.suggestions(item_id).await["suggestions"].is_array());
    let response = app
        .file(serde_json::json!({"item_id": item_id, "case_id": "VK-2026-0007"}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let filing: Value = response.json().await.unwrap();
    let title = filing["title"].as_str().unwrap();
    assert!(
        title.contains("carport") && !title.contains('\0'),
        "{title:?}"
    );
    let settled = app.wait_settled(filing["id"].as_str().unwrap()).await;
    assert_eq!(settled["state"], "filed", "{settled:#}");
    drop(app);
    database.drop().await;
}

#[tokio::test]
async fn simultaneous_filings_of_one_item_make_one_filing_and_the_audit_log_stays_put() {
    let Some(database) = Database::create().await else {
        return;
    };
    let app = database.spawn_app().await;
    let response = app
        .post_item(
            "Referat af mødet om kommunens styrelse."
                .as_bytes()
                .to_vec(),
            "text/plain",
        )
        .await;
    let item: Value = response.json().await.unwrap();
    let body = filing_body(item["id"].as_str().unwrap(), DATA_PROTECTION_CASE);
    let attempts = (0..8).map(|_| {
        let request = app
            .client
            .post(app.url("/api/v1/filings"))
            .bearer_auth(&app.token)
            .json(&body);
        tokio::spawn(async move { request.send().await.unwrap() })
    });
    let mut ids = Vec::new();
    let mut created = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        let response = attempt.await.unwrap();
        match response.status() {
            StatusCode::ACCEPTED => created += 1,
            StatusCode::OK => {}
            other => panic!("{other}: {}", response.text().await.unwrap()),
        }
        ids.push(response.json::<Value>().await.unwrap()["id"].clone());
    }
    assert_eq!(created, 1, "{ids:?}");
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let filing_id = ids[0].as_str().unwrap();
    let settled = app.wait_settled(filing_id).await;
    assert_eq!(settled["state"], "filed", "{settled:#}");
    // Delivered once: one document in the archive (the demo's own documents aside), and one
    // delivery in the audit log.
    let documents: Vec<_> = archived_documents(&app.archive(), DATA_PROTECTION_CASE)
        .into_iter()
        .filter(|d| d.to_string_lossy().ends_with(filing_id))
        .collect();
    assert_eq!(documents.len(), 1, "{documents:?}");
    let kinds = audit_kinds(&app, filing_id).await;
    let count = |kind: &str| kinds.iter().filter(|k| *k == kind).count();
    assert_eq!(count("filing_accepted"), 1, "{kinds:?}");
    assert_eq!(count("filing_duplicate"), 7, "{kinds:?}");
    assert_eq!(count("filing_delivered"), 1, "{kinds:?}");

    // The demo's documents, filed at start, went through the same workers side by side:
    // every one of them delivered, none twice.
    let mut operator = PgConnection::connect(&database.url).await.unwrap();
    let mut queued = i64::MAX;
    for _ in 0..300 {
        queued = sqlx::query_scalar("SELECT COUNT(*) FROM filings WHERE state <> 'filed'")
            .fetch_one(&mut operator)
            .await
            .unwrap();
        if queued == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(queued, 0, "filings still not filed after 30 s");
    let (filed, delivered, deliveries): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM filings),
                (SELECT COUNT(DISTINCT filing_id) FROM audit_events WHERE kind = 'filing_delivered'),
                (SELECT COUNT(*) FROM audit_events WHERE kind = 'filing_delivered')",
    )
    .fetch_one(&mut operator)
    .await
    .unwrap();
    assert!(filed > 50, "the demo's filings and this one: {filed}");
    assert_eq!((delivered, deliveries), (filed, filed));

    // Not even an operator's SQL prompt may change or remove an audit record.
    for statement in [
        "UPDATE audit_events SET actor = 'someone else'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ] {
        let refused = operator.execute(statement).await.unwrap_err();
        assert!(
            refused.to_string().contains("append-only"),
            "{statement}: {refused}"
        );
    }
    operator.close().await.unwrap();
    drop(app);
    database.drop().await;
}

#[tokio::test]
async fn thresholds_are_applied_and_undone_on_postgres_and_changes_made_at_once_are_numbered_apart()
{
    let Some(database) = Database::create().await else {
        return;
    };
    let app = database.spawn_app().await;
    crate::changes::a_threshold_is_applied_live_undone_and_audited(&app).await;

    let changes = (0..8)
        .map(|unit| serde_json::json!({"confidence_threshold": 0.9, "group": format!("enhed-{unit}")}))
        .collect();
    let versions = applied_at_once(&app, changes).await;
    // The two of the round before, then one each.
    assert_eq!(versions, (3..=10).collect::<Vec<i64>>());
    database.drop().await;
}

/// Applies `changes` all at once; the versions they got, in order.
async fn applied_at_once(app: &TestApp, changes: Vec<Value>) -> Vec<i64> {
    let attempts = changes.into_iter().map(|change| {
        let request = app
            .client
            .post(app.url("/api/v1/admin/changes"))
            .bearer_auth(&app.admin_token)
            .json(&serde_json::json!({ "change": change }));
        tokio::spawn(async move { request.send().await.unwrap() })
    });
    let mut versions = Vec::new();
    for attempt in attempts.collect::<Vec<_>>() {
        let response = attempt.await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        versions.push(
            response.json::<Value>().await.unwrap()["version"]
                .as_i64()
                .unwrap(),
        );
    }
    versions.sort();
    versions
}

#[tokio::test]
async fn rules_are_backtested_applied_and_undone_on_postgres_numbered_with_the_thresholds() {
    let Some(database) = Database::create().await else {
        return;
    };
    let app = database.spawn_app().await;
    crate::rule_changes::a_rule_is_backtested_switched_on_undone_and_audited(&app).await;

    // Rules and thresholds switched on at once are numbered apart.
    let changes = (0..8)
        .map(|n| match n % 2 {
            0 => serde_json::json!({"rule": {
                "name": format!("Regel {n}"),
                "when": {"from": format!("afsender-{n}.example")},
                "then": {"action": "review", "queue": "byg"}
            }}),
            _ => serde_json::json!({"confidence_threshold": 0.9, "group": format!("enhed-{n}")}),
        })
        .collect();
    let versions = applied_at_once(&app, changes).await;
    // The two of the round before, then one each.
    assert_eq!(versions, (3..=10).collect::<Vec<i64>>());
    database.drop().await;
}

#[tokio::test]
async fn new_versions_of_one_document_filed_at_the_same_moment_all_get_numbers_of_their_own() {
    let Some(database) = Database::create().await else {
        return;
    };
    let app = database.spawn_app().await;
    let upload = async |text: String| -> String {
        let response = app.post_item(text.into_bytes(), "text/plain").await;
        let item: Value = response.json().await.unwrap();
        item["id"].as_str().unwrap().to_string()
    };
    let first = upload("Afgørelse om tilskud. Udkast 1.".into()).await;
    let response = app
        .file(serde_json::json!({"item_id": first, "case_id": DATA_PROTECTION_CASE, "title": "Afgørelse"}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let filing: Value = response.json().await.unwrap();
    let filed = app.wait_settled(filing["id"].as_str().unwrap()).await;
    let document = filed["target_document_id"].as_str().unwrap().to_string();

    let mut revisions = Vec::new();
    for n in 2..=9 {
        revisions.push(upload(format!("Afgørelse om tilskud. Udkast {n}.")).await);
    }
    let attempts: Vec<_> = revisions
        .iter()
        .map(|item| {
            let request = app
                .client
                .post(app.url("/api/v1/filings"))
                .bearer_auth(&app.token)
                .json(
                    &serde_json::json!({"item_id": item, "case_id": DATA_PROTECTION_CASE,
                                          "title": "Afgørelse", "version_of": document}),
                );
            tokio::spawn(async move { request.send().await.unwrap() })
        })
        .collect();
    let mut versions = Vec::new();
    for attempt in attempts {
        let response = attempt.await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::ACCEPTED, "{body:#}");
        versions.push(body["version"].as_u64().unwrap());
    }
    versions.sort_unstable();
    assert_eq!(versions, (2..=9).collect::<Vec<u64>>());
    database.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_replay_on_postgres_measures_what_it_measures_in_memory_and_leaves_nothing() {
    let Some(database) = Database::create().await else {
        return;
    };
    let corpus = tempfile::tempdir().unwrap();
    crate::stats::write_corpus(corpus.path());
    let dir = tempfile::tempdir().unwrap();
    let replay = |store| crate::stats::replay_online(dir.path(), corpus.path(), store);
    let (in_memory, on_postgres) = (replay(None), replay(Some(&database.url)));
    assert_eq!(
        (&in_memory["store"], &on_postgres["store"]),
        (
            &serde_json::json!("sqlite-memory"),
            &serde_json::json!("postgres")
        )
    );
    for figure in ["messages", "top1", "top3", "top5", "mrr"] {
        assert_eq!(
            in_memory["overall"][figure], on_postgres["overall"][figure],
            "{figure}: {in_memory:#} {on_postgres:#}"
        );
    }
    let mut connection = PgConnection::connect(&database.url).await.unwrap();
    let schemas: Vec<String> = sqlx::query_scalar(
        "SELECT schema_name::text FROM information_schema.schemata WHERE schema_name LIKE 'replay_%'",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    assert!(schemas.is_empty(), "{schemas:?}");
    // The tables were made in the replay's schema, not beside it.
    let public: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_one(&mut connection)
    .await
    .unwrap();
    assert_eq!(public, 0);
    connection.close().await.unwrap();
    database.drop().await;
}

#[tokio::test]
async fn ranker_weights_are_backtested_switched_on_and_undone_on_postgres() {
    let Some(database) = Database::create().await else {
        return;
    };
    let app = database.spawn_app().await;
    crate::ranker::weights_are_backtested_switched_on_and_undone(&app, &database.url).await;
    drop(app);
    database.drop().await;
}

#[tokio::test]
async fn an_archives_documents_are_imported_once_into_postgres() {
    let Some(database) = Database::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("journaliser.toml"),
        format!("[store]\nurl = \"{}\"\n", database.url),
    )
    .unwrap();
    let archive = journaliser::connector::ArchiveConnector::new(dir.path().join("data/archive"));
    crate::import_documents::learns_from_the_target(dir.path(), &archive, "archive").await;
    database.drop().await;
}
