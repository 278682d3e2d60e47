//! The replay loop: each user's messages in date order, step by step as the protocol says.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::EvalError;
use super::manifest::{self, Entry};
use super::metrics::{Outcome, POLICIES};
use super::organisation::Organisation;
use super::report::{Report, UserRun};
use super::schedule::{Protocol, schedule};
use crate::config::ExtractConfig;
use crate::domain::identifiers::{CprHasher, IdentifierPatterns};
use crate::extract::Extractor;
use crate::intake::Intake;

pub struct ReplayOptions {
    /// `<corpus>/<user>/<folder>/<message>` with `<corpus>/MANIFEST.tsv`.
    pub corpus: PathBuf,
    /// Users to replay; empty means all in the manifest.
    pub users: Vec<String>,
    pub protocol: Protocol,
    /// Whether case titles are the folder names (or opaque numbers).
    pub case_titles: bool,
    /// Show a progress bar on stderr (when it is a terminal).
    pub progress: bool,
    /// A PostgreSQL server to keep each organisation's store on, in a schema of its own,
    /// instead of SQLite in memory.
    pub store: Option<String>,
}

/// Replays the corpus, taking messages in as configured in `extract`, and reports how well
/// the suggestions did.
pub async fn replay(options: &ReplayOptions, extract: &ExtractConfig) -> Result<Report, EvalError> {
    // The replay's stores live in memory and are gone when it ends, so a CPR hash key of its
    // own never needs to match anything.
    let cpr_hasher = CprHasher::new(&rand::random::<[u8; 32]>());
    let extractor = Extractor {
        patterns: IdentifierPatterns::new(&extract.journal_number_patterns)?,
        cpr_hasher: cpr_hasher.clone(),
        max_depth: extract.max_depth,
    };
    let extractor = Arc::new(extractor);
    let intake = Intake::new(
        extractor.clone(),
        extract.max_concurrent,
        Duration::from_secs(extract.timeout_secs),
    );
    let pipeline = Pipeline {
        intake: &intake,
        extractor: &extractor,
    };
    let mut users = manifest::by_user(manifest::read(&options.corpus)?);
    if let Some(missing) = options
        .users
        .iter()
        .find(|wanted| !users.iter().any(|(user, _)| user == *wanted))
    {
        return Err(EvalError::UnknownUser(missing.clone()));
    }
    if !options.users.is_empty() {
        users.retain(|(user, _)| options.users.contains(user));
    }

    let total: usize = users.iter().map(|(_, messages)| messages.len()).sum();
    let bar = if options.progress {
        ProgressBar::new(total as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg:<12} {bar:40} {pos}/{len} {per_sec} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut runs = Vec::with_capacity(users.len());
    for (user, messages) in &users {
        bar.set_message(user.clone());
        runs.push(replay_user(options, &pipeline, user, messages, &bar).await?);
    }
    bar.finish_and_clear();
    let mut report = Report::new(options.protocol, !options.case_titles, runs);
    if options.store.is_some() {
        report.store = "postgres";
    }
    Ok(report)
}

/// What every user's organisation shares.
struct Pipeline<'a> {
    intake: &'a Intake,
    extractor: &'a Arc<Extractor>,
}

async fn replay_user(
    options: &ReplayOptions,
    pipeline: &Pipeline<'_>,
    user: &str,
    messages: &[Entry],
    bar: &ProgressBar,
) -> Result<UserRun, EvalError> {
    let started = Instant::now();
    let folders = manifest::folders(messages);
    let organisation = Organisation::open(
        user,
        &folders,
        options.case_titles,
        pipeline.extractor,
        options.store.as_deref(),
    )
    .await?;
    let mut outcomes = Vec::new();
    let mut skipped = 0;
    let mut filed_on: HashSet<&str> = HashSet::new();
    for step in schedule(options.protocol, messages.len()) {
        let mut received = Vec::with_capacity(step.messages.len());
        for entry in &messages[step.messages] {
            match organisation
                .receive(pipeline.intake, &entry.path(&options.corpus))
                .await?
            {
                Some((item, bytes)) => received.push((item, bytes, entry.folder.as_str())),
                None => {
                    skipped += 1;
                    bar.inc(1);
                }
            }
        }
        // The whole step is suggested for before any of it is filed: in the batch protocol a
        // message must not learn from the others of its own batch.
        if step.scored {
            for (item, bytes, folder) in &received {
                let (suggestions, took) = organisation.suggest(item).await?;
                let mut outcome =
                    Outcome::of(&suggestions, folder, took, filed_on.contains(folder));
                let first = suggestions
                    .first()
                    .map(|s| (s.case.id.as_str(), s.confidence));
                for (i, (_, threshold)) in POLICIES.iter().enumerate() {
                    outcome.autofiled[i] = organisation
                        .autofile(item, bytes, *threshold, first)
                        .await?
                        .map(|case| case == **folder);
                }
                outcomes.push(outcome);
            }
        }
        for (item, _, folder) in &received {
            organisation.file(item, folder).await?;
            filed_on.insert(folder);
            bar.inc(1);
        }
        organisation.settle().await?;
    }
    let weights = organisation.weights()?;
    organisation.close().await;
    Ok(UserRun {
        user: user.to_string(),
        cases: folders.len(),
        replayed: messages.len(),
        skipped,
        seconds: started.elapsed().as_secs_f64(),
        outcomes,
        weights,
    })
}

#[cfg(test)]
mod tests {
    use std::fmt::Write;
    use std::path::Path;

    use super::*;

    /// Each folder has its own vocabulary, so a working pipeline finds it almost always.
    const FOLDERS: [(&str, &[&str]); 3] = [
        (
            "garden",
            &["roses", "tulips", "compost", "hedge", "lawn", "seedlings"],
        ),
        (
            "invoices",
            &[
                "invoice",
                "payment",
                "overdue",
                "remittance",
                "ledger",
                "receipt",
            ],
        ),
        (
            "travel",
            &[
                "flight",
                "hotel",
                "airport",
                "itinerary",
                "boarding",
                "luggage",
            ],
        ),
    ];

    /// Writes `count` messages cycling through the folders, one hour apart, with the
    /// manifest rows deliberately not in date order, and one empty (unreadable) message last.
    fn write_corpus(dir: &Path, count: usize) {
        let mut manifest = String::from("user\tfolder\tfile\tdate_utc\tmessage_id\tbytes\n");
        let mut rows = Vec::new();
        for i in 0..count {
            let (folder, words) = FOLDERS[i % FOLDERS.len()];
            let date =
                chrono::DateTime::from_timestamp(1_000_000_000 + 3600 * i as i64, 0).unwrap();
            let body: Vec<&str> = (0..4).map(|j| words[(i + j) % words.len()]).collect();
            // Every tenth message answers the one three before it, in the same folder.
            let answers = match i % 10 == 9 {
                true => format!("In-Reply-To: <{}@test>\r\n", i - 3),
                false => String::new(),
            };
            let mail = format!(
                "Message-ID: <{i}@test>\r\n{answers}Date: {}\r\nFrom: someone{i}@example.com\r\n\
                 To: user@example.com\r\nSubject: about {}\r\n\r\nPlease see {}.\r\n",
                date.to_rfc2822(),
                body[0],
                body.join(" and ")
            );
            std::fs::create_dir_all(dir.join("u").join(folder)).unwrap();
            std::fs::write(dir.join("u").join(folder).join(i.to_string()), mail).unwrap();
            rows.push(format!(
                "u\t{folder}\t{i}\t{}\t<{i}@test>\t0\n",
                date.to_rfc3339()
            ));
        }
        std::fs::write(dir.join("u/garden/empty"), "").unwrap();
        rows.push("u\tgarden\tempty\t2001-10-01T00:00:00Z\t<e@test>\t0\n".into());
        rows.reverse();
        for row in rows {
            write!(manifest, "{row}").unwrap();
        }
        std::fs::write(dir.join("MANIFEST.tsv"), manifest).unwrap();
    }

    async fn run(dir: &Path, protocol: Protocol) -> Report {
        let options = ReplayOptions {
            corpus: dir.to_path_buf(),
            users: vec!["u".into()],
            protocol,
            case_titles: false,
            progress: false,
            store: None,
        };
        replay(&options, &ExtractConfig::default()).await.unwrap()
    }

    #[tokio::test]
    async fn a_synthetic_corpus_replays_through_the_real_pipeline() {
        let dir = tempfile::tempdir().unwrap();
        write_corpus(dir.path(), 130);

        let online = run(dir.path(), Protocol::Online).await;
        let user = &online.users[0];
        assert_eq!((user.user.as_str(), user.cases), ("u", 3));
        assert_eq!((user.totals.replayed, user.totals.skipped), (131, 1));
        assert_eq!(user.totals.summary.messages, 129, "all but the first");
        // Only a folder's first message cannot be found (no title, nothing filed yet).
        assert!(
            user.totals.summary.top1 >= 0.95,
            "{}",
            user.totals.summary.top1
        );
        assert!(user.totals.summary.suggest_p99_ms > 0.0);
        // The answers follow their threads, and the policy files nothing else by default.
        let by_default = &user.totals.summary.autofile[0];
        assert_eq!(
            (by_default.auto_filed, by_default.wrong),
            (13, 0),
            "{by_default:?}"
        );
        assert!(user.totals.items_per_second > 0.0);

        let batch = run(dir.path(), Protocol::Batch).await;
        let summary = &batch.overall.summary;
        assert_eq!(summary.messages, 30, "131 read, 1 skipped, 100 only train");
        assert!(summary.top1 >= 0.95, "{}", summary.top1);
        assert!(summary.mrr >= summary.top1 && summary.top5 >= summary.top3);
        assert!((0.0..=1.0).contains(&summary.ece));
        assert_eq!(
            summary.reliability.iter().map(|b| b.count).sum::<usize>(),
            30
        );

        let unknown = ReplayOptions {
            corpus: dir.path().to_path_buf(),
            users: vec!["nobody".into()],
            protocol: Protocol::Online,
            case_titles: true,
            progress: false,
            store: None,
        };
        assert!(matches!(
            replay(&unknown, &ExtractConfig::default()).await,
            Err(EvalError::UnknownUser(user)) if user == "nobody"
        ));
    }
}
