//! The ranker's weights from the console: a change is backtested on the choices people made
//! among the suggestions they were shown, replayed from what each case shown was scored by,
//! then switched on and undone exactly, each audited; only admins may.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::{AnyConnection, Connection, Row};

use crate::helpers::*;

const RANKER: &str = "/api/v1/admin/ranker";
const BACKTEST: &str = "/api/v1/admin/backtest";

/// Texts filed after their suggestions were shown, each on the suggestion in the place given
/// (0 the first), or on a case not shown when the list is shorter.
const FILED: [(&str, usize); 6] = [
    ("Vedr. tilbygning på Strandvejen 41: tegningerne følger", 0),
    ("Carport på Skovvej 12 – naboens bemærkninger", 1),
    ("Sne på Engvej er stadig ikke ryddet", 0),
    ("Spørgsmål om udeservering ved Café Mågen", 2),
    ("Tegninger til tilbygningen på Strandvejen 41", 1),
    ("Et notat om parkering ved havnen", 50),
];

type Weights = BTreeMap<String, f64>;

/// A choice as the store keeps it, read with SQL of its own.
struct Recorded {
    filing_id: String,
    chosen: String,
    /// Each case shown, in order, with its feature values by name.
    shown: Vec<(String, Weights)>,
}

/// The choices whose cases shown have their feature values kept.
async fn recorded(store_url: &str) -> Vec<Recorded> {
    sqlx::any::install_default_drivers();
    let mut db = AnyConnection::connect(store_url).await.unwrap();
    let rows = sqlx::query(
        "SELECT fb.filing_id, fb.chosen_case_id, fb.shown_case_ids, fb.shown_features
         FROM feedback fb JOIN filings f ON f.id = fb.filing_id
         WHERE f.decision IS NULL AND fb.shown_features IS NOT NULL",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    db.close().await.unwrap();
    rows.iter()
        .map(|row| {
            let ids: Vec<String> =
                serde_json::from_str(&row.get::<String, _>("shown_case_ids")).unwrap();
            let values: Vec<Weights> =
                serde_json::from_str(&row.get::<String, _>("shown_features")).unwrap();
            assert_eq!(ids.len(), values.len());
            Recorded {
                filing_id: row.get("filing_id"),
                chosen: row.get("chosen_case_id"),
                shown: ids.into_iter().zip(values).collect(),
            }
        })
        .collect()
}

/// The chosen case's place among those shown under `weights`, by hand: a case scoring more,
/// or the same with a smaller id, stands before it.
fn place(weights: &Weights, choice: &Recorded) -> Option<usize> {
    let score = |values: &Weights| -> f64 { values.iter().map(|(f, v)| weights[f] * v).sum() };
    let (_, own) = choice.shown.iter().find(|(id, _)| *id == choice.chosen)?;
    let own = score(own);
    let ahead = choice
        .shown
        .iter()
        .filter(|(id, values)| {
            let other = score(values);
            other > own || (other == own && *id < choice.chosen)
        })
        .count();
    Some(ahead + 1)
}

/// (first, among the first three) under `weights`.
fn places(weights: &Weights, choices: &[Recorded]) -> (usize, usize) {
    let placed: Vec<Option<usize>> = choices.iter().map(|c| place(weights, c)).collect();
    (
        placed.iter().filter(|p| **p == Some(1)).count(),
        placed.iter().filter(|p| p.is_some_and(|p| p <= 3)).count(),
    )
}

/// The filings whose chosen case moves into or out of first place from `today` to `after`.
fn moved(today: &Weights, after: &Weights, choices: &[Recorded]) -> Vec<String> {
    let mut moved: Vec<String> = choices
        .iter()
        .filter(|c| (place(today, c) == Some(1)) != (place(after, c) == Some(1)))
        .map(|c| c.filing_id.clone())
        .collect();
    moved.sort();
    moved
}

async fn weights(app: &TestApp) -> Weights {
    let ranker = app.get_json(RANKER, &app.admin_token).await;
    ranker["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().into(),
                f["weight"].as_f64().unwrap(),
            )
        })
        .collect()
}

async fn put(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.client
        .put(app.url(RANKER))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn backtest(app: &TestApp, weights: &Weights) -> Value {
    let response = app
        .post_json(
            BACKTEST,
            &app.admin_token,
            &json!({"change": {"ranker_weights": weights}}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn newest_ranker_change(app: &TestApp) -> Value {
    let audit = app
        .get_json("/api/v1/admin/audit?kind=ranker_changed", &app.admin_token)
        .await;
    audit["events"][0].clone()
}

/// The whole round on `app`, whose store is at `store_url`: shared with the PostgreSQL tests.
pub async fn weights_are_backtested_switched_on_and_undone(app: &TestApp, store_url: &str) {
    let mut filings = Vec::new();
    for (text, place) in FILED {
        let item = app.post_text(text).await;
        let id = item["id"].as_str().unwrap();
        let suggestions = app.suggestions(id).await;
        let listed: Vec<&str> = suggestions["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["case"]["id"].as_str().unwrap())
            .collect();
        let case = match listed.get(place) {
            Some(case) => case.to_string(),
            None => (1..=36)
                .map(|n| format!("VK-2026-{n:04}"))
                .find(|c| !listed.contains(&c.as_str()))
                .unwrap(),
        };
        let filing: Value = app.file(filing_body(id, &case)).await.json().await.unwrap();
        filings.push(filing["id"].as_str().unwrap().to_string());
    }
    // The first filing stands for one shown before the values were kept.
    sqlx::any::install_default_drivers();
    let mut db = AnyConnection::connect(store_url).await.unwrap();
    sqlx::query("UPDATE feedback SET shown_features = NULL WHERE filing_id = $1")
        .bind(&filings[0])
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();

    let today = weights(app).await;
    let choices = recorded(store_url).await;
    assert_eq!(choices.len(), FILED.len() - 1);
    for choice in &choices {
        for (_, values) in &choice.shown {
            assert!(
                values.keys().all(|name| today.contains_key(name)),
                "only feature values are kept: {values:?}"
            );
        }
    }
    // A change of one weight that moves some chosen case into or out of first place.
    let (name, weight) = today
        .keys()
        .flat_map(|name| [(name.clone(), 20.0), (name.clone(), -20.0)])
        .find(|(name, weight)| {
            let mut after = today.clone();
            after.insert(name.clone(), *weight);
            !moved(&today, &after, &choices).is_empty()
        })
        .expect("some weight moves a choice");
    let mut after = today.clone();
    after.insert(name.clone(), weight);
    let proposal: Weights = [(name.clone(), weight)].into_iter().collect();

    let answer = backtest(app, &proposal).await;
    assert_eq!(
        (&answer["examined"], &answer["skipped"]),
        (&json!(choices.len()), &json!(1)),
        "{answer}"
    );
    for (side, weights) in [("today", &today), ("after", &after)] {
        let (first, top3) = places(weights, &choices);
        assert_eq!(
            (&answer[side]["first"], &answer[side]["in_top3"]),
            (&json!(first), &json!(top3)),
            "{side}: {answer}"
        );
        assert_eq!(
            answer[side]["top1"].as_f64().unwrap(),
            first as f64 / choices.len() as f64
        );
        assert_eq!(answer[side]["ranker_weights"][&name], json!(weights[&name]));
    }
    let expected = moved(&today, &after, &choices);
    let mut listed: Vec<String> = answer["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["filing_id"].as_str().unwrap().to_string())
        .collect();
    listed.sort();
    assert_eq!(listed, expected, "{answer}");
    assert_eq!(answer["changed_count"], expected.len());

    // Users may neither try, switch on nor undo; a feature that does not exist is named.
    let change = json!({"change": {"ranker_weights": proposal}});
    let refused = app.post_json(BACKTEST, &app.token, &change).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused = put(app, &app.token, json!({"weights": proposal})).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused = app
        .post_json(&format!("{RANKER}/undo"), &app.token, &json!({}))
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let unknown = app
        .post_json(
            BACKTEST,
            &app.admin_token,
            &json!({"change": {"ranker_weights": {"nope": 1.0}}}),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        unknown.json::<Value>().await.unwrap()["field"],
        "change.ranker_weights.nope"
    );
    let nothing_to_undo = app
        .post_json(&format!("{RANKER}/undo"), &app.admin_token, &json!({}))
        .await;
    assert_eq!(nothing_to_undo.status(), StatusCode::CONFLICT);

    // Switched on: today is the change, so nothing would move, and the audit log has it.
    let switched = put(app, &app.admin_token, json!({"weights": proposal})).await;
    assert_eq!(switched.status(), StatusCode::OK);
    let switched: Value = switched.json().await.unwrap();
    let feature = |ranker: &Value| {
        ranker["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name.as_str())
            .cloned()
            .unwrap()
    };
    assert_eq!(feature(&switched)["weight"], json!(weight));
    assert_eq!(feature(&switched)["previous_weight"], json!(today[&name]));
    assert_eq!(weights(app).await, after);
    let again = backtest(app, &proposal).await;
    assert_eq!(again["today"]["first"], answer["after"]["first"], "{again}");
    assert_eq!(again["changed_count"], 0, "{again}");
    let audited = newest_ranker_change(app).await;
    assert_eq!(audited["actor"], "root");
    assert_eq!(audited["details"]["after"]["weights"][&name], json!(weight));
    assert_eq!(audited["details"]["before"]["weights"], json!(today));

    // Undone: every weight exactly as before, audited as an undo; undone again, the change.
    let undone = app
        .post_json(&format!("{RANKER}/undo"), &app.admin_token, &json!({}))
        .await;
    assert_eq!(undone.status(), StatusCode::OK);
    assert_eq!(weights(app).await, today);
    let audited = newest_ranker_change(app).await;
    assert_eq!(
        (
            &audited["details"]["undo"],
            &audited["details"]["after"]["weights"]
        ),
        (&json!(true), &json!(today))
    );
    let redone = app
        .post_json(&format!("{RANKER}/undo"), &app.admin_token, &json!({}))
        .await;
    assert_eq!(redone.status(), StatusCode::OK);
    assert_eq!(weights(app).await, after);
}

#[tokio::test]
async fn a_weight_change_is_backtested_on_recorded_choices_switched_on_and_undone() {
    let app = TestApp::spawn().await;
    let store_url = format!("sqlite://{}", app.data_dir.join("journaliser.db").display());
    weights_are_backtested_switched_on_and_undone(&app, &store_url).await;
}
