//! A synthetic organisation shaped like a municipality's filings, the same for every run with
//! the same sizes: cases of skewed sizes, each with a topic and parties, and mails drawn from
//! a Zipf vocabulary in Danish or English, with reused senders, threads, case numbers, CPR
//! numbers and attachments in some.

use std::collections::HashMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::domain::case::{CaseInput, PartyInput};

/// Every run builds the same organisation from this seed.
const SEED: u64 = 0x4a6f_7572_6e61_6c73;
/// Case workers: the users who own the mails.
const WORKERS: usize = 200;
/// Senders outside the authority who write about many cases (suppliers, other authorities).
const EXTERNAL_SENDERS: usize = 20_000;
/// Words in the vocabulary; beyond the real words they are made of syllables.
const VOCABULARY: usize = 40_000;
/// How strongly case sizes are skewed: the share of documents of the n-th largest case goes
/// as n^-SKEW (at 100,000 cases the largest holds about 1 % of them).
const CASE_SKEW: f64 = 0.7;
/// Words a case's own mails keep coming back to; the first `SUBJECT_WORDS` of them are its
/// KLE subject's, shared with every case on that subject.
const TOPIC_WORDS: usize = 12;
/// KLE subjects the organisation's cases are on (a municipality uses on the order of a
/// thousand of the plan's), drawn with a Zipf skew: building permits are common, most
/// subjects rare.
const KLE_SUBJECTS: usize = 1_000;
const SUBJECT_WORDS: usize = 4;
/// The years the filings span, ending at `END`.
const YEARS: i64 = 4;

const DANISH_WORDS: &[&str] = &[
    "og",
    "i",
    "at",
    "det",
    "er",
    "en",
    "til",
    "på",
    "som",
    "med",
    "for",
    "af",
    "den",
    "har",
    "de",
    "ikke",
    "vi",
    "kan",
    "om",
    "vil",
    "jeg",
    "der",
    "et",
    "du",
    "fra",
    "så",
    "men",
    "skal",
    "ansøgning",
    "afgørelse",
    "byggetilladelse",
    "borger",
    "kommune",
    "sagsbehandler",
    "bevilling",
    "klage",
    "partshøring",
    "tilladelse",
    "ejendom",
    "matrikel",
    "skole",
    "institution",
    "handicap",
    "hjælpemiddel",
    "kørestol",
    "bolig",
    "indretning",
    "plejehjem",
    "hjemmehjælp",
    "vej",
    "fortov",
    "snerydning",
    "parkering",
    "affald",
    "renovation",
    "kloak",
    "spildevand",
    "miljø",
    "støj",
    "forurening",
    "tilsyn",
    "dispensation",
    "lokalplan",
    "kommuneplan",
    "regning",
    "faktura",
    "betaling",
    "tilskud",
    "ydelse",
    "kontanthjælp",
    "sygedagpenge",
    "beskæftigelse",
    "jobcenter",
    "praktik",
    "uddannelse",
    "dagtilbud",
    "pasning",
    "plads",
    "venteliste",
    "frister",
    "svar",
    "henvendelse",
    "møde",
    "referat",
    "bilag",
    "notat",
    "vurdering",
    "oplysninger",
    "dokumentation",
    "underskrift",
    "fuldmagt",
    "aktindsigt",
    "journalnummer",
    "høring",
    "udtalelse",
    "indstilling",
    "udvalg",
    "byråd",
    "beslutning",
    "tak",
    "venlig",
    "hilsen",
    "mvh",
    "vedhæftet",
    "venligst",
    "snarest",
    "gerne",
    "hurtigt",
    "carport",
    "tilbygning",
    "garage",
    "skur",
    "hegn",
    "træer",
    "beplantning",
    "facade",
];

const ENGLISH_WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "for",
    "that",
    "on",
    "with",
    "as",
    "be",
    "at",
    "this",
    "by",
    "we",
    "you",
    "are",
    "from",
    "have",
    "will",
    "can",
    "please",
    "regarding",
    "request",
    "application",
    "decision",
    "permit",
    "invoice",
    "payment",
    "contract",
    "tender",
    "supplier",
    "delivery",
    "schedule",
    "meeting",
    "minutes",
    "agenda",
    "report",
    "review",
    "approval",
    "complaint",
    "response",
    "deadline",
    "budget",
    "project",
    "proposal",
    "attached",
    "draft",
    "final",
    "version",
    "update",
    "question",
    "answer",
    "thanks",
    "regards",
    "kind",
    "best",
    "council",
    "citizen",
    "resident",
    "property",
    "building",
    "school",
    "student",
    "care",
    "support",
    "service",
    "office",
    "department",
    "manager",
    "policy",
    "guidance",
    "notice",
];

const SYLLABLES: &[&str] = &[
    "an", "be", "bor", "by", "da", "de", "der", "dom", "ef", "er", "for", "ge", "hed", "hus",
    "ind", "ing", "kom", "lig", "lov", "mark", "ne", "ning", "og", "om", "over", "ram", "ret",
    "sag", "sel", "skab", "sko", "ste", "sted", "tal", "te", "ter", "til", "ud", "vej", "vis",
];

const FIRST_NAMES: &[&str] = &[
    "anne", "bo", "camilla", "dorthe", "erik", "freja", "gustav", "hanne", "ida", "jens", "karen",
    "lars", "mette", "niels", "ole", "pia", "rasmus", "sofie", "thomas", "ulla",
];

const DOMAINS: &[&str] = &[
    "mail.dk",
    "gmail.com",
    "hotmail.com",
    "outlook.dk",
    "firma.example",
    "rådgiver.example",
];

/// A case as the import reads it, and who works on it.
pub struct BenchCase {
    pub input: CaseInput,
    /// Index of the case worker who owns its mails.
    pub worker: usize,
    danish: bool,
    topic: Vec<usize>,
    /// The citizens or companies who write about it.
    parties: Vec<String>,
    cpr: Option<String>,
}

/// A mail as it would arrive, and the case it belongs on.
pub struct BenchMail {
    pub owner: String,
    pub case: usize,
    pub bytes: Vec<u8>,
}

/// Draws ranks 0..n with probability proportional to (rank + 1)^-s.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Zipf {
        let mut total = 0.0;
        let cumulative = (1..=n.max(1))
            .map(|rank| {
                total += (rank as f64).powf(-s);
                total
            })
            .collect();
        Zipf { cumulative }
    }

    fn sample(&self, rng: &mut StdRng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let target = rng.random::<f64>() * total;
        self.cumulative
            .partition_point(|c| *c < target)
            .min(self.cumulative.len() - 1)
    }
}

/// The organisation: its cases, then as many mails as asked for, in date order.
pub struct Organisation {
    rng: StdRng,
    words: Vec<String>,
    word_ranks: Zipf,
    pub cases: Vec<BenchCase>,
    case_sizes: Zipf,
    /// Case order by size: `by_size[rank]` is a case index, so that big cases are spread
    /// over the numbering rather than all at the start.
    by_size: Vec<usize>,
    externals: Zipf,
    /// Per case, the latest mail's Message-ID and subject, for replies.
    threads: HashMap<usize, (String, String)>,
    written: usize,
    documents: usize,
}

impl Organisation {
    pub fn new(cases: usize, documents: usize) -> Organisation {
        let mut rng = StdRng::seed_from_u64(SEED);
        let words = vocabulary(&mut rng);
        let word_ranks = Zipf::new(words.len(), 1.05);
        let mut subjects: Vec<Subject> = Vec::with_capacity(KLE_SUBJECTS);
        let mut numbers = std::collections::HashSet::new();
        while subjects.len() < KLE_SUBJECTS {
            let subject = Subject::new(&mut rng);
            if numbers.insert(subject.kle.clone()) {
                subjects.push(subject);
            }
        }
        let subject_ranks = Zipf::new(subjects.len(), 1.0);
        let mut made = Vec::with_capacity(cases);
        for n in 0..cases {
            let subject = &subjects[subject_ranks.sample(&mut rng)];
            made.push(make_case(&mut rng, &words, &word_ranks, subject, n));
        }
        let mut by_size: Vec<usize> = (0..cases).collect();
        for i in (1..by_size.len()).rev() {
            by_size.swap(i, rng.random_range(0..=i));
        }
        Organisation {
            rng,
            words,
            word_ranks,
            case_sizes: Zipf::new(cases, CASE_SKEW),
            by_size,
            cases: made,
            externals: Zipf::new(EXTERNAL_SENDERS, 1.0),
            threads: HashMap::new(),
            written: 0,
            documents: documents.max(1),
        }
    }

    /// The cases as an import takes them.
    pub fn case_inputs(&self) -> Vec<CaseInput> {
        self.cases.iter().map(|c| c.input.clone()).collect()
    }

    /// The next mail, dated after the previous one; the last of `documents` is dated `END`.
    pub fn next_mail(&mut self) -> BenchMail {
        let case = self.by_size[self.case_sizes.sample(&mut self.rng)];
        let n = self.written;
        self.written += 1;
        let span = Duration::days(365 * YEARS).num_seconds();
        let date = end() - Duration::seconds(span - span * n as i64 / self.documents as i64);
        self.mail(case, n, date)
    }

    /// A mail on `case` that is not part of the archive: what a user uploads today.
    pub fn new_mail(&mut self, case: usize) -> BenchMail {
        let n = self.written;
        self.written += 1;
        self.mail(case, n, end())
    }

    /// A case drawn as the filings are: busy cases more often.
    pub fn busy_case(&mut self) -> usize {
        self.by_size[self.case_sizes.sample(&mut self.rng)]
    }

    fn mail(&mut self, case: usize, n: usize, date: DateTime<Utc>) -> BenchMail {
        let rng = &mut self.rng;
        let c = &self.cases[case];
        let worker = format!("sagsbehandler{:03}", c.worker);
        let worker_address = format!("{worker}@kommune.example");
        let incoming = rng.random_bool(0.6);
        let outsider = match rng.random_bool(0.7) && !c.parties.is_empty() {
            true => c.parties[rng.random_range(0..c.parties.len())].clone(),
            false => external(self.externals.sample(rng)),
        };
        let (from, to) = match incoming {
            true => (outsider, worker_address),
            false => (worker_address, outsider),
        };
        let message_id = format!("<{n}.bench@journaliser.example>");
        let reply = match self.threads.get(&case) {
            Some((parent, subject)) if rng.random_bool(0.3) => {
                Some((parent.clone(), format!("Re: {subject}")))
            }
            _ => None,
        };
        let (in_reply_to, subject) = match reply {
            Some((parent, subject)) => (format!("In-Reply-To: {parent}\r\n"), subject),
            None => {
                let mut subject = capitalised(&self.phrase_of(case, 3, 6));
                if self.rng.random_bool(0.1) {
                    subject.push_str(&format!(" (sag {})", self.cases[case].input.number));
                }
                (String::new(), subject)
            }
        };
        self.threads
            .insert(case, (message_id.clone(), subject.clone()));
        let length = self.rng.random_range(40..220);
        let mut body = self.phrase_of(case, length, length);
        if let Some(cpr) = &self.cases[case].cpr
            && self.rng.random_bool(0.3)
        {
            body.push_str(&format!("\r\n\r\nCPR-nr. {cpr}"));
        }
        let headers = format!(
            "Message-ID: {message_id}\r\n{in_reply_to}Date: {}\r\nFrom: {from}\r\nTo: {to}\r\n\
             Subject: {subject}\r\nMIME-Version: 1.0\r\n",
            date.to_rfc2822()
        );
        let mail = match self.rng.random_bool(0.15) {
            true => {
                let attachment = self.phrase_of(case, 150, 400);
                format!(
                    "{headers}Content-Type: multipart/mixed; boundary=\"b{n}\"\r\n\r\n\
                     --b{n}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n\
                     --b{n}\r\nContent-Type: text/plain; charset=utf-8\r\n\
                     Content-Disposition: attachment; filename=\"notat-{n}.txt\"\r\n\r\n\
                     {attachment}\r\n--b{n}--\r\n"
                )
            }
            false => format!("{headers}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"),
        };
        BenchMail {
            owner: worker,
            case,
            bytes: mail.into_bytes(),
        }
    }

    /// `min..=max` words, two in five from the case's topic and the rest from the whole
    /// vocabulary, in the case's language.
    fn phrase_of(&mut self, case: usize, min: usize, max: usize) -> String {
        let count = self.rng.random_range(min..=max.max(min));
        let c = &self.cases[case];
        let mut words = Vec::with_capacity(count);
        for _ in 0..count {
            let rank = match self.rng.random_bool(0.4) {
                true => c.topic[self.rng.random_range(0..c.topic.len())],
                false => self.word_ranks.sample(&mut self.rng),
            };
            words.push(word_in(&self.words, rank, c.danish));
        }
        words.join(" ")
    }
}

/// The date of the newest filing: a fixed day, so runs agree.
fn end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

/// The vocabulary by rank: Danish and English words first (alternating, so both languages
/// have frequent words), then made-up words of two to four syllables.
fn vocabulary(rng: &mut StdRng) -> Vec<String> {
    let mut words: Vec<String> = Vec::with_capacity(VOCABULARY);
    let (mut danish, mut english) = (DANISH_WORDS.iter(), ENGLISH_WORDS.iter());
    loop {
        match (danish.next(), english.next()) {
            (None, None) => break,
            (d, e) => words.extend(d.into_iter().chain(e).map(|w| w.to_string())),
        }
    }
    let mut seen: std::collections::HashSet<String> = words.iter().cloned().collect();
    while words.len() < VOCABULARY {
        let syllables = rng.random_range(2..=4);
        let word: String = (0..syllables)
            .map(|_| SYLLABLES[rng.random_range(0..SYLLABLES.len())])
            .collect();
        if seen.insert(word.clone()) {
            words.push(word);
        }
    }
    words
}

/// The word of `rank`, in the case's language where the real words are concerned: a Danish
/// case's mail skips English words and the other way round.
fn word_in(words: &[String], rank: usize, danish: bool) -> &str {
    let real = DANISH_WORDS.len() + ENGLISH_WORDS.len();
    if rank >= real {
        return &words[rank];
    }
    let is_danish = DANISH_WORDS.contains(&words[rank].as_str());
    match is_danish == danish {
        true => &words[rank],
        false => {
            let list = if danish { DANISH_WORDS } else { ENGLISH_WORDS };
            list[rank % list.len()]
        }
    }
}

/// A KLE subject: its number and the words its cases share.
struct Subject {
    kle: String,
    words: Vec<usize>,
}

impl Subject {
    fn new(rng: &mut StdRng) -> Subject {
        Subject {
            kle: format!(
                "{:02}.{:02}.{:02}",
                rng.random_range(0..30),
                rng.random_range(0..50),
                rng.random_range(0..20)
            ),
            words: (0..SUBJECT_WORDS).map(|_| topic_word(rng)).collect(),
        }
    }
}

/// Topic words are the middle of the vocabulary: rare enough to tell cases apart.
fn topic_word(rng: &mut StdRng) -> usize {
    rng.random_range(200..VOCABULARY)
}

fn make_case(
    rng: &mut StdRng,
    words: &[String],
    ranks: &Zipf,
    subject: &Subject,
    n: usize,
) -> BenchCase {
    let danish = rng.random_bool(0.8);
    let mut topic = subject.words.clone();
    topic.extend((SUBJECT_WORDS..TOPIC_WORDS).map(|_| topic_word(rng)));
    // A title names the subject and what sets the case apart, as "Byggetilladelse –
    // Strandvejen 41" does.
    let title_words: Vec<&str> = [topic[0], topic[SUBJECT_WORDS], topic[SUBJECT_WORDS + 1]]
        .iter()
        .chain(std::iter::once(&ranks.sample(rng)))
        .map(|rank| word_in(words, *rank, danish))
        .collect();
    let kle = subject.kle.clone();
    let year = 22 + n % 5;
    let number = format!("{kle}-G01-{}-{year}", n + 1);
    let parties: Vec<String> = (0..rng.random_range(0..=3)).map(|_| citizen(rng)).collect();
    let mut inputs: Vec<PartyInput> = parties
        .iter()
        .map(|address| PartyInput {
            kind: "email".into(),
            value: address.clone(),
        })
        .collect();
    let cpr = rng.random_bool(0.2).then(|| {
        format!(
            "{:02}{:02}{:02}-{:04}",
            rng.random_range(1..=28),
            rng.random_range(1..=12),
            rng.random_range(40..=99),
            rng.random_range(1000..=9999)
        )
    });
    if let Some(cpr) = &cpr {
        inputs.push(PartyInput {
            kind: "cpr".into(),
            value: cpr.clone(),
        });
    }
    // One case in ten is for a restricted group, as social cases are.
    let groups = match rng.random_bool(0.1) {
        true => vec!["social".to_string()],
        false => Vec::new(),
    };
    BenchCase {
        input: CaseInput {
            id: format!("BENCH-{}", n + 1),
            number,
            title: capitalised(&title_words.join(" ")),
            kle: Some(kle),
            parties: inputs,
            groups,
            ..CaseInput::plain("", "", "")
        },
        worker: rng.random_range(0..WORKERS),
        danish,
        topic,
        parties,
        cpr,
    }
}

fn citizen(rng: &mut StdRng) -> String {
    let name = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
    let domain = DOMAINS[rng.random_range(0..DOMAINS.len())];
    format!("{name}.{}@{domain}", rng.random_range(1..100_000))
}

fn external(rank: usize) -> String {
    format!("kontakt{rank}@leverandor{}.example", rank % 997)
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_sizes_build_the_same_organisation() {
        let mut a = Organisation::new(50, 200);
        let mut b = Organisation::new(50, 200);
        for _ in 0..200 {
            let (x, y) = (a.next_mail(), b.next_mail());
            assert_eq!((x.case, &x.bytes), (y.case, &y.bytes));
        }
        assert_eq!(a.cases[7].input.title, b.cases[7].input.title);
    }

    #[test]
    fn case_sizes_are_skewed_and_words_follow_zipf() {
        let mut organisation = Organisation::new(1_000, 20_000);
        let mut sizes = vec![0usize; 1_000];
        for _ in 0..20_000 {
            sizes[organisation.next_mail().case] += 1;
        }
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        assert!(sizes[0] > 10 * sizes[500].max(1), "{:?}", &sizes[..5]);

        let zipf = Zipf::new(1_000, 1.0);
        let mut rng = StdRng::seed_from_u64(1);
        let draws: Vec<usize> = (0..10_000).map(|_| zipf.sample(&mut rng)).collect();
        let first = draws.iter().filter(|r| **r == 0).count();
        let tenth = draws.iter().filter(|r| **r == 9).count();
        assert!(first > 5 * tenth, "{first} {tenth}");
    }

    #[test]
    fn cases_on_one_kle_subject_share_its_words() {
        let organisation = Organisation::new(2_000, 2_000);
        let mut by_subject: HashMap<&str, Vec<&BenchCase>> = HashMap::new();
        for case in &organisation.cases {
            by_subject
                .entry(case.input.kle.as_deref().unwrap())
                .or_default()
                .push(case);
        }
        let largest = by_subject.values().map(Vec::len).max().unwrap();
        assert!(largest >= 20, "the commonest subject has {largest} cases");
        assert!(by_subject.len() > 200, "{} subjects used", by_subject.len());
        for cases in by_subject.values() {
            for pair in cases.windows(2) {
                assert_eq!(
                    pair[0].topic[..SUBJECT_WORDS],
                    pair[1].topic[..SUBJECT_WORDS]
                );
                assert_ne!(
                    pair[0].topic[SUBJECT_WORDS..],
                    pair[1].topic[SUBJECT_WORDS..]
                );
            }
        }
    }
}
