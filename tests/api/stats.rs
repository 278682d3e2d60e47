//! The admins' quality figures from real use: top-1, top-3 and "not in the list" over the
//! filings whose users were shown suggestions, and the automatic filings with those undone.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn stats_count_what_people_chose_against_what_they_were_shown() {
    let app = TestApp::spawn().await;
    let demo: Value = app
        .get("/api/v1/admin/stats", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let before = demo["overall"]["filings"].as_u64().unwrap();
    assert_eq!(
        demo["overall"]["shown"], 0,
        "the demo's filings were made without suggestions"
    );

    // One filed on the first suggestion, one on a case that was not suggested.
    let first = app.post_mail(fixture(FIXTURE_MAIL)).await;
    let shown = app.suggestions(first["id"].as_str().unwrap()).await;
    let top = shown["suggestions"][0]["case"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let response = app
        .file(filing_body(first["id"].as_str().unwrap(), &top))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let other = app
        .post_item(b"Et notat om parkering ved havnen".to_vec(), "text/plain")
        .await;
    let other: Value = other.json().await.unwrap();
    let shown = app.suggestions(other["id"].as_str().unwrap()).await;
    let listed: Vec<&str> = shown["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["case"]["id"].as_str())
        .collect();
    let elsewhere = (1..=36)
        .map(|n| format!("VK-2026-{n:04}"))
        .find(|c| !listed.contains(&c.as_str()))
        .unwrap();
    let response = app
        .file(filing_body(other["id"].as_str().unwrap(), &elsewhere))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    // One filed automatically (a reply in a filed thread), then undone.
    let reply = app
        .post_mail(reply_to(
            "tilbygning-strandvejen41-1@borger.example",
            "Tilbygning",
        ))
        .await;
    let automatic = reply["filings"][0]["id"].as_str().unwrap().to_string();
    let response = app
        .client
        .post(app.url(&format!("/api/v1/filings/{automatic}/undo")))
        .bearer_auth(&app.token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let stats: Value = app
        .get("/api/v1/admin/stats", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let overall = &stats["overall"];
    assert_eq!(overall["filings"].as_u64().unwrap(), before + 3, "{stats}");
    assert_eq!(
        (
            &overall["shown"],
            &overall["top1"],
            &overall["top3"],
            &overall["not_in_list"]
        ),
        (&json!(2), &json!(0.5), &json!(0.5), &json!(0.5)),
        "{stats}"
    );
    assert_eq!(
        (&overall["auto_filed"], &overall["undone"]),
        (&json!(1), &json!(1)),
        "{stats}"
    );
    let weeks = stats["weeks"].as_array().unwrap();
    let this_week = weeks.last().unwrap();
    assert_eq!(this_week["shown"], 2, "{stats}");
    let total: u64 = weeks.iter().map(|w| w["filings"].as_u64().unwrap()).sum();
    assert_eq!(total, before + 3, "the weeks add up");

    // Admins only, and a bad time is named.
    let refused = app.get("/api/v1/admin/stats", &app.token).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let bad = app
        .get("/api/v1/admin/stats?from=igår", &app.admin_token)
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json::<Value>().await.unwrap()["field"], "from");
}

/// A corpus of `anna`'s mail in three folders, as `eval replay` reads one: each message mixes
/// words of its folder with words of another and comes from a sender several folders share,
/// so that the ranker is right often but not always.
pub fn write_corpus(dir: &std::path::Path) -> Vec<(String, String, Vec<u8>)> {
    const FOLDERS: [(&str, [&str; 6]); 3] = [
        (
            "garden",
            [
                "pruning",
                "mulch",
                "orchard",
                "greenhouse",
                "weeds",
                "bulbs",
            ],
        ),
        (
            "invoices",
            [
                "billing",
                "vat",
                "creditor",
                "statement",
                "dunning",
                "refund",
            ],
        ),
        (
            "travel",
            ["train", "visa", "ferry", "booking", "passport", "rental"],
        ),
    ];
    const SENDERS: [&str; 4] = [
        "lee@corpus.example",
        "kim@corpus.example",
        "sam@corpus.example",
        "alex@corpus.example",
    ];
    let mut seed: u64 = 7;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n
    };
    let mut manifest = String::from("user\tfolder\tfile\tdate_utc\n");
    let mut messages = Vec::new();
    for n in 0..36 {
        let folder = next(FOLDERS.len());
        let other = (folder + 1 + next(FOLDERS.len() - 1)) % FOLDERS.len();
        let mut words: Vec<&str> = (0..4).map(|_| FOLDERS[folder].1[next(6)]).collect();
        words.extend((0..3).map(|_| FOLDERS[other].1[next(6)]));
        let date = chrono::DateTime::from_timestamp(1_700_000_000 + n * 3_600, 0).unwrap();
        let name = FOLDERS[folder].0;
        let file = format!("{n}.");
        let mail = format!(
            "From: {}\r\nTo: anna@vejstrand.example\r\nSubject: note {n} {}\r\n\
             Message-ID: <{n}@corpus.example>\r\nDate: {}\r\n\r\n{}\r\n",
            SENDERS[(folder + next(2)) % SENDERS.len()],
            words[0],
            date.to_rfc2822(),
            words.join(" ")
        )
        .into_bytes();
        std::fs::create_dir_all(dir.join("anna").join(name)).unwrap();
        std::fs::write(dir.join("anna").join(name).join(&file), &mail).unwrap();
        manifest.push_str(&format!("anna\t{name}\t{file}\t{}\n", date.to_rfc3339()));
        messages.push((name.to_string(), file, mail));
    }
    std::fs::write(dir.join("MANIFEST.tsv"), manifest).unwrap();
    messages
}

/// `eval replay --protocol online --json` of `corpus`, run in `dir`, with the store on
/// `store` where given.
pub fn replay_online(
    dir: &std::path::Path,
    corpus: &std::path::Path,
    store: Option<&str>,
) -> Value {
    let mut command = crate::process::journaliser(dir);
    command
        .args([
            "eval",
            "replay",
            "--protocol",
            "online",
            "--json",
            "--corpus",
        ])
        .arg(corpus);
    if let Some(store) = store {
        command.args(["--store", store]);
    }
    serde_json::from_str(&crate::process::output(&mut command)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stats_of_mail_filed_through_the_api_agree_with_eval_replay_of_it() {
    use crate::process::{Remote, import_and_token, journaliser, output, serve};
    let corpus = tempfile::tempdir().unwrap();
    let messages = write_corpus(corpus.path());
    let dir = tempfile::tempdir().unwrap();
    let replay = replay_online(dir.path(), corpus.path(), None);

    // The same organisation as the replay's: one case per folder, numbered in folder order.
    let cases: Vec<Value> = ["garden", "invoices", "travel"]
        .iter()
        .enumerate()
        .map(
            |(i, folder)| json!({"id": folder, "number": format!("{:03}", i + 1), "title": folder}),
        )
        .collect();
    let token = import_and_token(dir.path(), &json!(cases));
    let admin = output(journaliser(dir.path()).args(["token", "--user", "root", "--admin"]));
    let (mut server, base) = serve(dir.path());
    let remote = Remote::new(&base, &token);
    // As the replay does, the first message only trains: nothing is filed before it.
    for (n, (folder, _, mail)) in messages.iter().enumerate() {
        let item = remote.post_item("message/rfc822", mail.clone()).await;
        let id = item["id"].as_str().unwrap();
        if n > 0 {
            let shown = remote
                .get(&format!("/api/v1/items/{id}/suggestions?limit=10"))
                .await;
            assert_eq!(shown.status(), StatusCode::OK);
        }
        remote
            .accepted(json!({"item_id": id, "case_id": folder}))
            .await;
    }
    let stats: Value = Remote::new(&base, admin.trim())
        .get("/api/v1/admin/stats")
        .await
        .json()
        .await
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();

    let (ours, theirs) = (&stats["overall"], &replay["overall"]);
    assert_eq!(ours["filings"], messages.len(), "{stats:#}");
    assert_eq!(ours["shown"], messages.len() - 1, "{stats:#}");
    assert_eq!(theirs["messages"], messages.len() - 1, "{replay:#}");
    for figure in ["top1", "top3"] {
        let (ours, theirs) = (
            ours[figure].as_f64().unwrap(),
            theirs[figure].as_f64().unwrap(),
        );
        assert!(
            (ours - theirs).abs() < 1e-9,
            "{figure}: {ours} through the API, {theirs} replayed"
        );
    }
    // Not a corpus every ranker gets right: the figures compared say something.
    assert!(theirs["top1"].as_f64().unwrap() < 1.0, "{replay:#}");
}
