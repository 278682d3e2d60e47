//! What the ranker remembers of the filings so far: the text classifier, who wrote to and from
//! which case, which subjects ran on which case, and how busy each case has been lately.
//!
//! Like the index it is derived from the store: it lives in memory, learns from each filing as
//! it is accepted, and is rebuilt from the filed items when the service starts, from its
//! snapshot on disk (`snapshot.rs`) onwards where one holds.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::classifier::{Class, Classifier};
use super::features::Clues;

/// How much of a case's activity is left after one more filing elsewhere: activity halves
/// over about 70 filings, so "busy lately" means the last few weeks of an office's filings.
const ACTIVITY_DECAY: f64 = 0.99;
/// How many of a user's latest cases are remembered as recent.
const RECENT_CASES: usize = 5;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct CaseMemory {
    id: String,
    /// Decayed count of filings, as of filing number `activity_at`.
    activity: f64,
    activity_at: u64,
    /// Date of the newest item filed on the case.
    latest: Option<DateTime<Utc>>,
}

/// How often a key (an address, a subject) went with each case.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct Tally {
    keys: HashMap<String, KeyCounts>,
}

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct KeyCounts {
    total: u32,
    cases: Vec<(Class, u32)>,
}

impl Tally {
    fn add(&mut self, key: &str, class: Class) {
        let counts = self.keys.entry(key.to_string()).or_default();
        counts.total += 1;
        match counts.cases.iter_mut().find(|(c, _)| *c == class) {
            Some((_, n)) => *n += 1,
            None => counts.cases.push((class, 1)),
        }
    }

    /// For each case, the share of the key's filings that went to it, shrunk towards nothing
    /// for keys seen only once or twice: n / (total + 1).
    fn remove(&mut self, key: &str, class: Class) {
        let Some(counts) = self.keys.get_mut(key) else {
            return;
        };
        if let Some(position) = counts.cases.iter().position(|(c, _)| *c == class) {
            counts.total = counts.total.saturating_sub(1);
            counts.cases[position].1 -= 1;
            if counts.cases[position].1 == 0 {
                counts.cases.swap_remove(position);
            }
        }
        if counts.total == 0 {
            self.keys.remove(key);
        }
    }

    fn shares(&self, key: &str) -> impl Iterator<Item = (Class, f64)> + '_ {
        self.keys.get(key).into_iter().flat_map(|counts| {
            let total = f64::from(counts.total) + 1.0;
            counts
                .cases
                .iter()
                .map(move |(class, n)| (*class, f64::from(*n) / total))
        })
    }
}

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    cases: Vec<CaseMemory>,
    classes: HashMap<String, Class>,
    pub classifier: Classifier,
    senders: Tally,
    /// The case each sender's latest filed mail went to.
    sender_latest: HashMap<String, Class>,
    recipients: Tally,
    subjects: Tally,
    /// Each user's latest cases, the latest first.
    recent: HashMap<String, VecDeque<Class>>,
    /// Filings learnt from: the clock of the activity decay.
    filings: u64,
}

impl Memory {
    /// Remembers that an item with these clues was filed on `case_id`.
    pub fn learn(&mut self, clues: &Clues, case_id: &str) {
        let class = self.class_for(case_id);
        self.filings += 1;
        let now = self.filings;
        let case = &mut self.cases[class as usize];
        case.activity = decayed(case.activity, case.activity_at, now) + 1.0;
        case.activity_at = now;
        if let Some(date) = clues.date {
            case.latest = Some(case.latest.map_or(date, |latest| latest.max(date)));
        }
        self.classifier.learn(&clues.terms, class);
        for sender in &clues.senders {
            self.senders.add(sender, class);
            self.sender_latest.insert(sender.clone(), class);
        }
        for recipient in &clues.recipients {
            self.recipients.add(recipient, class);
        }
        if let Some(subject) = &clues.subject {
            self.subjects.add(subject, class);
        }
        let recent = self.recent.entry(clues.owner.clone()).or_default();
        recent.retain(|c| *c != class);
        recent.push_front(class);
        recent.truncate(RECENT_CASES);
    }

    /// Takes back a filing of `clues` on `case_id` that was undone: the counts of sender,
    /// recipients and subject, the owner's latest cases, and the classifier's lesson.
    pub fn unlearn(&mut self, clues: &Clues, case_id: &str) {
        let Some(class) = self.class(case_id) else {
            return;
        };
        self.classifier.unlearn(&clues.terms, class);
        for sender in &clues.senders {
            self.senders.remove(sender, class);
            if self.sender_latest.get(sender) == Some(&class) {
                self.sender_latest.remove(sender);
            }
        }
        for recipient in &clues.recipients {
            self.recipients.remove(recipient, class);
        }
        if let Some(subject) = &clues.subject {
            self.subjects.remove(subject, class);
        }
        if let Some(recent) = self.recent.get_mut(&clues.owner) {
            recent.retain(|c| *c != class);
        }
        let case = &mut self.cases[class as usize];
        case.activity = (decayed(case.activity, case.activity_at, self.filings) - 1.0).max(0.0);
        case.activity_at = self.filings;
    }

    pub fn recent(&self, user: &str) -> impl Iterator<Item = Class> + '_ {
        self.recent.get(user).into_iter().flatten().copied()
    }

    pub fn class(&self, case_id: &str) -> Option<Class> {
        self.classes.get(case_id).copied()
    }

    pub fn case_id(&self, class: Class) -> &str {
        &self.cases[class as usize].id
    }

    /// The case's share of the recent filings, each filing counting less the longer ago it was.
    pub fn activity(&self, class: Class) -> f64 {
        if self.filings == 0 {
            return 0.0;
        }
        let case = &self.cases[class as usize];
        let total = (1.0 - ACTIVITY_DECAY.powf(self.filings as f64)) / (1.0 - ACTIVITY_DECAY);
        decayed(case.activity, case.activity_at, self.filings) / total
    }

    pub fn latest(&self, class: Class) -> Option<DateTime<Utc>> {
        self.cases[class as usize].latest
    }

    /// For each case, the largest share of a sender's earlier filings that went to it.
    pub fn sender_shares(&self, clues: &Clues) -> HashMap<Class, f64> {
        let mut out: HashMap<Class, f64> = HashMap::new();
        for sender in &clues.senders {
            for (class, share) in self.senders.shares(sender) {
                let best = out.entry(class).or_default();
                *best = best.max(share);
            }
        }
        out
    }

    /// The cases the senders' latest filed mails went to.
    pub fn sender_latest(&self, clues: &Clues) -> Vec<Class> {
        clues
            .senders
            .iter()
            .filter_map(|sender| self.sender_latest.get(sender).copied())
            .collect()
    }

    /// For each case, the mean share of the recipients' earlier filings that went to it,
    /// over the recipients seen before.
    pub fn recipient_shares(&self, clues: &Clues) -> HashMap<Class, f64> {
        let mut sums: HashMap<Class, f64> = HashMap::new();
        let mut known = 0;
        for recipient in &clues.recipients {
            if !self.recipients.keys.contains_key(recipient) {
                continue;
            }
            known += 1;
            for (class, share) in self.recipients.shares(recipient) {
                *sums.entry(class).or_default() += share;
            }
        }
        for sum in sums.values_mut() {
            *sum /= f64::from(known);
        }
        sums
    }

    /// For each case, the share of earlier mails with the same thread subject filed on it.
    pub fn subject_shares(&self, clues: &Clues) -> HashMap<Class, f64> {
        match &clues.subject {
            Some(subject) => self.subjects.shares(subject).collect(),
            None => HashMap::new(),
        }
    }

    fn class_for(&mut self, case_id: &str) -> Class {
        if let Some(class) = self.classes.get(case_id) {
            return *class;
        }
        let class = Class::try_from(self.cases.len()).expect("fewer than 2³² cases");
        self.cases.push(CaseMemory {
            id: case_id.to_string(),
            activity: 0.0,
            activity_at: 0,
            latest: None,
        });
        self.classes.insert(case_id.to_string(), class);
        class
    }
}

fn decayed(value: f64, at: u64, now: u64) -> f64 {
    value * ACTIVITY_DECAY.powf(now.saturating_sub(at) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clues(sender: &str, recipients: &[&str], subject: Option<&str>) -> Clues {
        Clues {
            senders: vec![sender.into()],
            recipients: recipients.iter().map(|r| r.to_string()).collect(),
            subject: subject.map(String::from),
            ..Clues::default()
        }
    }

    #[test]
    fn shares_follow_what_was_filed_and_shrink_for_the_rarely_seen() {
        let mut memory = Memory::default();
        for _ in 0..3 {
            memory.learn(&clues("anna@a.dk", &["bo@b.dk"], Some("carport")), "A");
        }
        memory.learn(&clues("anna@a.dk", &["carl@c.dk"], Some("vej")), "B");
        let (a, b) = (memory.class("A").unwrap(), memory.class("B").unwrap());

        let asked = clues(
            "anna@a.dk",
            &["bo@b.dk", "carl@c.dk", "new@x.dk"],
            Some("carport"),
        );
        let senders = memory.sender_shares(&asked);
        assert_eq!((senders[&a], senders[&b]), (3.0 / 5.0, 1.0 / 5.0));
        let recipients = memory.recipient_shares(&asked);
        // bo: A 3/4; carl: B 1/2; the new address is not counted.
        assert_eq!((recipients[&a], recipients[&b]), (3.0 / 8.0, 1.0 / 4.0));
        let subjects = memory.subject_shares(&asked);
        assert_eq!((subjects.get(&a), subjects.get(&b)), (Some(&0.75), None));
        assert_eq!(memory.case_id(b), "B");
        assert_eq!(memory.recent("").collect::<Vec<_>>(), [b, a]);
        assert_eq!(memory.recent("someone else").count(), 0);
    }

    #[test]
    fn activity_is_a_share_of_recent_filings_that_fades() {
        let mut memory = Memory::default();
        memory.learn(&Clues::default(), "old");
        let old = memory.class("old").unwrap();
        assert!((memory.activity(old) - 1.0).abs() < 1e-12);
        for _ in 0..200 {
            memory.learn(&Clues::default(), "new");
        }
        let new = memory.class("new").unwrap();
        let (a_old, a_new) = (memory.activity(old), memory.activity(new));
        assert!((a_old + a_new - 1.0).abs() < 1e-9, "shares of one whole");
        assert!(a_old < 0.01 && a_old > 0.0, "{a_old}");
    }

    #[test]
    fn the_latest_date_is_kept_whatever_the_order() {
        let mut memory = Memory::default();
        let at = |day: u32| Clues {
            date: Some(
                DateTime::parse_from_rfc3339(&format!("2001-05-{day:02}T10:00:00Z"))
                    .unwrap()
                    .into(),
            ),
            ..Clues::default()
        };
        memory.learn(&at(12), "A");
        memory.learn(&at(3), "A");
        let a = memory.class("A").unwrap();
        assert_eq!(memory.latest(a), at(12).date);
    }
}
