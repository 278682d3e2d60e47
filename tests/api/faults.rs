//! Delivery under faults: 200 filings to two real targets while the fagsystem answers 503 for
//! a while, the WebDAV server is stopped and started again, and the service is killed twice
//! mid-delivery; the same for the vendor targets' stand-ins. Counted at the targets
//! afterwards: every filing there exactly once.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::f2_standin::F2Standin;
use crate::graph_standin::GraphStandin;
use crate::process::{Remote, journaliser, output, serve_with};
use crate::receiver::{self, Receiver};
use crate::wsgidav::{self, DavServer};

const FILINGS: usize = 200;
const CASES_PER_TARGET: usize = 5;

/// The running service; killed when dropped, so a failing test leaves no server behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(dir: &Path) -> (Running, String) {
    let mut command = journaliser(dir);
    command
        .env("JOURNALISER_FILING__WORKERS", "4")
        .env("JOURNALISER_FILING__LEASE_SECS", "3")
        .env("JOURNALISER_FILING__MAX_ATTEMPTS", "200");
    let (child, base) = serve_with(command, std::process::Stdio::inherit());
    (Running(child), base)
}

/// Filings by state, as the operators' list shows them.
async fn by_state(admin: &Remote) -> BTreeMap<String, Vec<Value>> {
    let listed: Value = admin
        .get("/api/v1/admin/filings?limit=1000")
        .await
        .json()
        .await
        .unwrap();
    let mut states: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for filing in listed["filings"].as_array().unwrap() {
        let state = filing["state"].as_str().unwrap().to_string();
        states.entry(state).or_default().push(filing.clone());
    }
    states
}

/// Waits until at least `count` filings are filed, for at most two minutes.
async fn until_filed(admin: &Remote, count: usize) -> usize {
    let started = Instant::now();
    loop {
        let states = by_state(admin).await;
        let filed = states.get("filed").map_or(0, Vec::len);
        assert!(
            !states.contains_key("failed"),
            "a filing failed: {:#}",
            json!(states["failed"])
        );
        if filed >= count {
            return filed;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "only {filed} of {count} filings were filed within two minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Files `FILINGS` notes round the cases; answers the filing ids in the order they were
/// accepted, per case.
async fn accept_filings(remote: &Remote, cases: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut accepted: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for n in 0..FILINGS {
        let case = &cases[n % cases.len()];
        let item = remote
            .post_item("text/plain", format!("Notat nummer {n} om sagen {case}."))
            .await;
        let id = remote
            .accepted(
                json!({"item_id": item["id"], "case_id": case, "title": format!("Notat {n}")}),
            )
            .await;
        accepted.entry(case.clone()).or_default().push(id);
    }
    accepted
}

/// Starts the service once more and waits until every filing is filed; answers the
/// filings by id.
async fn all_filed(dir: &Path, admin_token: &str) -> (Running, BTreeMap<String, Value>) {
    let (server, base) = start(dir);
    let admin = Remote::new(&base, admin_token);
    until_filed(&admin, FILINGS).await;
    let states = by_state(&admin).await;
    assert_eq!(states.keys().collect::<Vec<_>>(), ["filed"], "{states:#?}");
    let filed: BTreeMap<String, Value> = states["filed"]
        .iter()
        .map(|f| (f["id"].as_str().unwrap().to_string(), f.clone()))
        .collect();
    assert_eq!(filed.len(), FILINGS);
    (server, filed)
}

/// SIGKILL: no shutdown, deliveries cut off wherever they are.
fn kill(server: Running) {
    drop(server);
}

#[tokio::test]
async fn two_hundred_filings_survive_outages_and_two_kills_exactly_once() {
    let Some(mut dav) = DavServer::start() else {
        return;
    };
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dav.root().join("sager")).unwrap();
    let config = format!(
        "[[connectors]]\nname = \"fagsystem\"\nkind = \"webhook\"\nurl = \"{}\"\nbearer_token = \"{}\"\n\
         id_pointer = \"/document/id\"\n\n\
         [[connectors]]\nname = \"esdh\"\nkind = \"webdav\"\nurl = \"{}sager/\"\n\
         username = \"{}\"\npassword = \"{}\"\n",
        receiver.url,
        receiver::TOKEN,
        dav.url(),
        wsgidav::USER,
        wsgidav::PASSWORD
    );
    std::fs::write(dir.path().join("journaliser.toml"), config).unwrap();
    let mut cases = Vec::new();
    for (target, prefix) in [("fagsystem", "FAG"), ("esdh", "ESDH")] {
        let list: Vec<Value> = (1..=CASES_PER_TARGET)
            .map(|n| {
                json!({"id": format!("{prefix}-{n}"), "number": format!("00.01.00-G01-{n}-26"),
                       "title": format!("Sag {n} i {target}")})
            })
            .collect();
        let file = dir.path().join(format!("{target}.json"));
        std::fs::write(&file, Value::Array(list).to_string()).unwrap();
        output(
            journaliser(dir.path())
                .args(["import", "cases", "--connector", target])
                .arg(&file),
        );
        cases.extend((1..=CASES_PER_TARGET).map(|n| format!("{prefix}-{n}")));
    }
    let user = output(journaliser(dir.path()).args(["token", "--user", "anna"]));
    let root = output(journaliser(dir.path()).args(["token", "--user", "root", "--admin"]));

    // Both targets are out when delivery starts: the fagsystem refuses its next 60 requests,
    // the WebDAV server is down.
    receiver.unavailable_for(60);
    dav.stop();

    let (server, base) = start(dir.path());
    let remote = Remote::new(&base, user.trim());
    let accepted = accept_filings(&remote, &cases).await;

    // First kill, with the fagsystem's filings under way and the WebDAV server still down.
    let admin = Remote::new(&base, root.trim());
    until_filed(&admin, 30).await;
    kill(server);
    dav.resume();

    // Second kill, with both targets taking documents.
    let (server, base) = start(dir.path());
    let admin = Remote::new(&base, root.trim());
    until_filed(&admin, 120).await;
    kill(server);

    let (server, filed) = all_filed(dir.path(), root.trim()).await;

    // At the fagsystem: one document per filing, under the id the filing records, and each
    // case's documents arrived in the order they were accepted.
    for (case, ids) in accepted.iter().filter(|(case, _)| case.starts_with("FAG")) {
        assert_eq!(receiver.documents(case), ids.len(), "{case}");
        let mut previous = 0;
        for id in ids {
            let given = filed[id]["target_document_id"].as_str().unwrap();
            let number: usize = given.trim_start_matches("FS-").parse().unwrap();
            assert!(
                number > previous,
                "{case}: {id} arrived as {given}, before an earlier filing"
            );
            previous = number;
            let body = receiver
                .document(id)
                .expect("the fagsystem has the document");
            assert_eq!(body["case"]["id"], case.as_str());
        }
    }
    // Every refusal was answered by a retry.
    assert!(
        receiver.deliveries() >= FILINGS / 2 + 60,
        "the fagsystem was asked {} times",
        receiver.deliveries()
    );

    // At the WebDAV server: one file per filing, where the filing says it is.
    for (case, ids) in accepted.iter().filter(|(case, _)| case.starts_with("ESDH")) {
        let folder = dav.root().join("sager").join(case);
        let files: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| !name.starts_with('.'))
            .collect();
        assert_eq!(files.len(), ids.len(), "{case}: {files:?}");
        for id in ids {
            let given = filed[id]["target_document_id"].as_str().unwrap();
            let name = given.strip_prefix(&format!("{case}/")).unwrap();
            assert!(
                files.iter().any(|f| f == name),
                "{given} is not in {files:?}"
            );
        }
    }
    kill(server);
}

/// The same under faults for the vendor targets: 200 filings into a SharePoint library and
/// F2 while both are down, then Graph throttles and F2 loses answers to payloads it carried
/// out, then every token is expired, and the service is killed twice. Counted at the targets
/// afterwards: every filing there exactly once, where it says it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_filings_reach_sharepoint_and_f2_through_outages_and_two_kills_exactly_once() {
    let graph = GraphStandin::start().await;
    let f2 = F2Standin::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{}\n{}",
        crate::sharepoint::toml_instance(&graph, "bibliotek"),
        crate::f2::toml_instance(&f2, "f2")
    );
    std::fs::write(dir.path().join("journaliser.toml"), config).unwrap();
    let mut cases = Vec::new();
    for (target, prefix) in [("bibliotek", "SP"), ("f2", "F2")] {
        let ids: Vec<String> = (1..=CASES_PER_TARGET)
            .map(|n| format!("{prefix}-{n}"))
            .collect();
        let list: Vec<Value> = ids
            .iter()
            .enumerate()
            .map(|(n, id)| json!({"id": id, "number": format!("00.01.00-G01-{n}-26"), "title": id}))
            .collect();
        for id in &ids {
            match prefix {
                "SP" => graph.add_case_folder(id, json!({"Title": id})),
                _ => f2.add_case(id, json!({"CaseNumber": id, "Title": id})),
            }
        }
        let file = dir.path().join(format!("{target}.json"));
        std::fs::write(&file, Value::Array(list).to_string()).unwrap();
        output(
            journaliser(dir.path())
                .args(["import", "cases", "--connector", target])
                .arg(&file),
        );
        cases.extend(ids);
    }
    let user = output(journaliser(dir.path()).args(["token", "--user", "anna"]));
    let root = output(journaliser(dir.path()).args(["token", "--user", "root", "--admin"]));

    // Both are out when delivery starts.
    graph.set_down(true);
    f2.set_down(true);
    let (server, base) = start(dir.path());
    let remote = Remote::new(&base, user.trim());
    let accepted = accept_filings(&remote, &cases).await;
    let admin = Remote::new(&base, root.trim());

    // Both come back, Graph throttling and F2 losing answers; first kill mid-delivery.
    graph.throttle(40);
    f2.lose_answers(25);
    graph.set_down(false);
    f2.set_down(false);
    until_filed(&admin, 40).await;
    kill(server);

    // Every token held is expired; second kill mid-delivery.
    graph.expire_tokens();
    f2.expire_tokens();
    let (server, base) = start(dir.path());
    let admin = Remote::new(&base, root.trim());
    until_filed(&admin, 120).await;
    kill(server);

    let (server, filed) = all_filed(dir.path(), root.trim()).await;
    assert!(graph.throttled() > 0, "the throttling was met");

    for (case, ids) in &accepted {
        let given = |id: &String| {
            filed[id]["target_document_id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        if case.starts_with("SP") {
            let files = graph.files(case);
            assert_eq!(files.len(), ids.len(), "{case}: lost or doubled documents");
            for id in ids {
                let file = files
                    .iter()
                    .find(|f| f.id == given(id))
                    .unwrap_or_else(|| panic!("{id} is not in {case}"));
                assert_eq!(file.fields["JournaliserId"], id.as_str());
            }
        } else {
            let matters = f2.matters(case);
            assert_eq!(matters.len(), ids.len(), "{case}: lost or doubled matters");
            for id in ids {
                let matter = f2
                    .matter_index(&given(id))
                    .unwrap_or_else(|| panic!("{id} names no matter"));
                let documents = f2.matter_documents(matter);
                assert_eq!(documents.len(), 1, "{id}: one document on its matter");
            }
        }
    }
    kill(server);
}
