//! Watched functional mailboxes in Exchange Online, through Microsoft Graph (the stand-in):
//! mail in the watched folder is filed or queued for review, given a category and moved;
//! with the service SIGKILLed twice while it works through 200 mails, each is handled
//! exactly once.

use journaliser::config::{MailboxConfig, MailboxProtocol};

use crate::graph_standin::{CLIENT_ID, CLIENT_SECRET, GraphStandin, TENANT};
use crate::helpers::*;
use crate::mailboxes::{
    each_handled_once, mail, one_queued_and_one_filed_by_thread, reply_question_and_auto_reply,
    start, two_building_cases, two_hundred_mails, until,
};

pub const MAILBOX: &str = "byg@vejstrand.example";

/// The mailbox `byg` at the stand-in, read every second.
pub fn watched(standin: &GraphStandin) -> MailboxConfig {
    MailboxConfig {
        name: "byg".into(),
        protocol: MailboxProtocol::Graph,
        entra: Some(standin.entra_app()),
        username: MAILBOX.into(),
        groups: vec!["byg".into()],
        poll_secs: 1,
        ..MailboxConfig::default()
    }
}

/// The categories of each mail moved out of the watched folder, in order.
pub fn moved_categories(standin: &GraphStandin) -> Vec<Vec<String>> {
    let mut categories: Vec<Vec<String>> = standin
        .mails_in(MAILBOX, "Journaliseret")
        .into_iter()
        .map(|m| m.categories)
        .collect();
    categories.sort();
    categories
}

#[tokio::test]
async fn mail_in_an_exchange_online_mailbox_is_filed_or_queued_then_categorised_and_moved() {
    let standin = GraphStandin::start().await;
    standin.add_mail_user(MAILBOX);
    let config = watched(&standin);
    let app = TestApp::spawn_with(move |c| c.mailboxes = vec![config]).await;
    for mail in reply_question_and_auto_reply() {
        standin.deliver_mail(MAILBOX, "inbox", &mail);
    }

    until(60, "two mails moved", async || {
        standin.mails_in(MAILBOX, "Journaliseret").len() == 2
    })
    .await;
    assert_eq!(
        moved_categories(&standin),
        [
            vec!["Journaliseret".to_string()],
            vec!["Til gennemsyn".to_string()]
        ]
    );
    // The auto-reply stays where it was, with no category.
    let left = standin.mails_in(MAILBOX, "inbox");
    assert_eq!(left.len(), 1);
    assert!(left[0].categories.is_empty());

    one_queued_and_one_filed_by_thread(&app).await;

    // A mail arriving later is read from where the delta query stood.
    standin.deliver_mail(
        MAILBOX,
        "inbox",
        &mail("Vedr. VK-2026-0001", "", "senere@example.dk"),
    );
    until(60, "the later mail moved", async || {
        standin.mails_in(MAILBOX, "Journaliseret").len() == 3
    })
    .await;
}

#[tokio::test]
async fn two_hundred_exchange_online_mails_are_each_handled_once_across_two_kills() {
    let standin = GraphStandin::start().await;
    standin.add_mail_user(MAILBOX);
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[[mailboxes]]\nname = \"byg\"\nprotocol = \"graph\"\nusername = \"{MAILBOX}\"\n\
         groups = [\"byg\"]\npoll_secs = 1\n[mailboxes.entra]\ntenant_id = \"{TENANT}\"\n\
         client_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n\
         login_url = \"{}\"\ngraph_url = \"{}\"\n",
        standin.login_url(),
        standin.graph_url()
    );
    let admin = two_building_cases(dir.path(), &config);
    for mail in two_hundred_mails() {
        standin.deliver_mail(MAILBOX, "inbox", &mail);
    }

    let moved = |standin: &GraphStandin| standin.mails_in(MAILBOX, "Journaliseret").len();
    let (running, _) = start(dir.path());
    until(300, "the first mails taken", async || moved(&standin) >= 30).await;
    drop(running);
    let (running, _) = start(dir.path());
    until(300, "more mails taken", async || moved(&standin) >= 110).await;
    drop(running);
    let (_running, base) = start(dir.path());
    until(600, "every mail moved", async || moved(&standin) == 200).await;
    assert!(standin.mails_in(MAILBOX, "inbox").is_empty());
    for mail in standin.mails_in(MAILBOX, "Journaliseret") {
        assert_eq!(mail.categories.len(), 1, "one category each: {mail:?}");
    }

    each_handled_once(&base, &admin, dir.path()).await;
}
