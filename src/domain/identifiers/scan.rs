//! Finding identifiers in free text, and masking CPR numbers in it.

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::Hash;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::{CprHasher, CprNumber, CvrNumber};
use crate::extract::Identifiers;

static CPR: LazyLock<Regex> = LazyLock::new(|| literal_regex(r"[0-9]{6}-?[0-9]{4}"));
static CVR_BARE: LazyLock<Regex> = LazyLock::new(|| literal_regex(r"[0-9]{8}"));
static CVR_LABELLED: LazyLock<Regex> = LazyLock::new(|| {
    literal_regex(r"(?i)\bcvr(?:[\s.-]*(?:nr|nummer))?[\s.:]*((?:[0-9][ \u{a0}]?){7}[0-9])")
});
static KLE: LazyLock<Regex> = LazyLock::new(|| literal_regex(r"[0-9]{2}\.[0-9]{2}\.[0-9]{2}"));
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    literal_regex(r"[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}")
});
static DEFAULT_JOURNAL: LazyLock<Regex> = LazyLock::new(|| literal_regex(DEFAULT_JOURNAL_PATTERN));

/// KLE subject, handling facet (letter and two digits), serial number, two- or four-digit year:
/// `27.24.00-G01-12-23`.
const DEFAULT_JOURNAL_PATTERN: &str =
    r"\b[0-9]{2}\.[0-9]{2}\.[0-9]{2}-[A-Za-zÆØÅæøå][0-9]{2}-[0-9]{1,6}-(?:[0-9]{4}|[0-9]{2})\b";

fn literal_regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in identifier patterns are valid")
}

/// Whether a number found at `range` stands on its own: not part of a longer digit run, and
/// not one group of a longer number written with separators (`2021-111111-1118`, `1.12345678`).
/// Letters do not count: `CPR1111111118` and `DK29189838` are still identifiers.
fn stands_alone(text: &str, range: &Range<usize>) -> bool {
    let mut before = text[..range.start].chars().rev();
    let mut after = text[range.end..].chars();
    let continues = |next: Option<char>, beyond: Option<char>| match next {
        Some(c) if c.is_ascii_digit() => true,
        Some('-' | '.' | '/') => beyond.is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    };
    !continues(before.next(), before.next()) && !continues(after.next(), after.next())
}

/// Whether a bare eight-digit number looks like a phone number (`Tlf. 12345678`) or part of a
/// longer digit sequence written in groups (`+45 12345678`, `12345678 90`). Danish phone
/// numbers have eight digits too, and one in eleven passes the CVR check.
fn phone_like(text: &str, range: &Range<usize>) -> bool {
    let mut before = text[..range.start].chars().rev().skip_while(|&c| c == ' ');
    let mut after = text[range.end..].chars().skip_while(|&c| c == ' ');
    let grouped = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit() || c == '+');
    let label_start = text[..range.start]
        .char_indices()
        .rev()
        .nth(15)
        .map_or(0, |(i, _)| i);
    let label = text[label_start..range.start].to_lowercase();
    let labelled = ["tlf", "telefon", "mobil", "fax", "phone", "tel.", "tel:"]
        .iter()
        .any(|word| label.contains(word));
    labelled || grouped(before.next()) || grouped(after.next())
}

/// CPR numbers written `DDMMYY-SSSS` or `DDMMYYSSSS` standing on their own, with a valid date:
/// the ones worth matching against case parties.
fn cpr_matches(text: &str) -> impl Iterator<Item = (Range<usize>, CprNumber)> + '_ {
    CPR.find_iter(text)
        .map(|m| m.range())
        .filter(|range| stands_alone(text, range))
        .filter_map(|range| {
            CprNumber::parse(&text[range.clone()])
                .ok()
                .map(|cpr| (range, cpr))
        })
}

/// Replaces every CPR number in `text` by its masked form `DDMMYY-XXXX`.
///
/// Deliberately more eager than identification: any six digits with a valid date, then an
/// optional hyphen, dash or space, then four digits, wherever they stand (`2021-111111-1118`
/// included). Masking a number that was not a CPR number costs little; missing one leaks it.
pub fn redact_cpr(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        match cpr_at(text, i) {
            Some((end, masked)) => {
                let buffer = out.get_or_insert_with(|| String::with_capacity(text.len()));
                buffer.push_str(&text[copied..i]);
                buffer.push_str(&masked);
                copied = end;
                i = end;
            }
            None => i += 1,
        }
    }
    match out {
        Some(mut buffer) => {
            buffer.push_str(&text[copied..]);
            Cow::Owned(buffer)
        }
        None => Cow::Borrowed(text),
    }
}

/// A CPR-shaped number starting at byte `start`: its end and masked form.
fn cpr_at(text: &str, start: usize) -> Option<(usize, String)> {
    let rest = text.get(start..)?;
    let digits =
        |s: &str, n: usize| s.len() >= n && s.as_bytes()[..n].iter().all(u8::is_ascii_digit);
    if !digits(rest, 6) {
        return None;
    }
    let (date, after) = rest.split_at(6);
    let separator = after
        .chars()
        .next()
        .filter(|c| {
            matches!(
                c,
                '-' | '\u{2010}' | '\u{2011}' | '\u{2013}' | ' ' | '\u{a0}'
            )
        })
        .map_or(0, char::len_utf8);
    let serial = &after[separator..];
    if !digits(serial, 4) {
        return None;
    }
    let cpr = CprNumber::parse(&format!("{date}-{}", &serial[..4])).ok()?;
    Some((start + 6 + separator + 4, cpr.masked()))
}

/// Recognises identifiers in free text; journal-number patterns come from configuration.
#[derive(Debug, Clone)]
pub struct IdentifierPatterns {
    journal: Vec<Regex>,
}

impl IdentifierPatterns {
    /// Compiles the configured journal-number patterns (regular expressions; the whole match is
    /// the case number).
    pub fn new(journal_number_patterns: &[String]) -> Result<IdentifierPatterns, regex::Error> {
        let journal = journal_number_patterns
            .iter()
            .map(|p| Regex::new(p))
            .collect::<Result<_, _>>()?;
        Ok(IdentifierPatterns { journal })
    }

    /// The KLE-style journal number, e.g. `27.24.00-G01-12-23`.
    pub fn default_journal_patterns() -> Vec<String> {
        vec![DEFAULT_JOURNAL_PATTERN.to_owned()]
    }

    /// All identifiers in `text`, each list without duplicates in order of first appearance.
    /// CPR numbers come back only as keyed hashes and masked forms.
    pub fn find(&self, text: &str, hasher: &CprHasher) -> Identifiers {
        let mut cases = Found::default();
        let mut kle = Found::default();
        for pattern in &self.journal {
            for m in pattern.find_iter(text).filter(|m| !m.is_empty()) {
                cases.push(m.start(), m.as_str().to_owned());
                if let Some(k) = KLE.find(m.as_str()) {
                    kle.push(m.start() + k.start(), k.as_str().to_owned());
                }
            }
        }
        for m in KLE
            .find_iter(text)
            .filter(|m| stands_alone(text, &m.range()))
        {
            kle.push(m.start(), m.as_str().to_owned());
        }

        let mut cvr = Found::default();
        for m in CVR_BARE.find_iter(text) {
            let range = m.range();
            if stands_alone(text, &range)
                && !phone_like(text, &range)
                && let Ok(number) = CvrNumber::parse(m.as_str())
            {
                cvr.push(m.start(), number.0);
            }
        }
        for group in CVR_LABELLED.captures_iter(text).filter_map(|c| c.get(1)) {
            if stands_alone(text, &group.range())
                && let Ok(number) = CvrNumber::parse(group.as_str())
            {
                cvr.push(group.start(), number.0);
            }
        }

        let mut emails = Found::default();
        for m in EMAIL.find_iter(text) {
            let address = m.as_str().trim_start_matches('.');
            // An address may itself carry a CPR number; only its masked form is kept.
            emails.push(m.start(), redact_cpr(&address.to_lowercase()).into_owned());
        }

        let mut cpr = Found::default();
        for (range, number) in cpr_matches(text) {
            cpr.push(range.start, hasher.reference(&number));
        }

        Identifiers {
            case_numbers: cases.into_ordered(),
            kle: kle.into_ordered(),
            cvr: cvr.into_ordered(),
            emails: emails.into_ordered(),
            cpr: cpr.into_ordered(),
        }
    }
}

impl Default for IdentifierPatterns {
    fn default() -> Self {
        IdentifierPatterns {
            journal: vec![DEFAULT_JOURNAL.clone()],
        }
    }
}

/// Identifiers with the position they were found at; different patterns find them out of order.
struct Found<T>(Vec<(usize, T)>);

impl<T> Default for Found<T> {
    fn default() -> Self {
        Found(Vec::new())
    }
}

impl<T: Eq + Hash + Clone> Found<T> {
    fn push(&mut self, position: usize, value: T) {
        self.0.push((position, value));
    }

    fn into_ordered(mut self) -> Vec<T> {
        self.0.sort_by_key(|(position, _)| *position);
        let mut seen = HashSet::new();
        self.0
            .into_iter()
            .map(|(_, value)| value)
            .filter(|value| seen.insert(value.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::identifiers::{CprHasher, CprNumber, KleNumber};

    fn hasher() -> CprHasher {
        CprHasher::new(b"test key")
    }

    #[test]
    fn finds_every_kind_in_order_without_duplicates() {
        let text = "Vedr. sag 27.24.00-G01-12-23 og 00.01.00-A00-4711-2024 (KLE 27.24.00).\n\
                    Ansøger: CPR 111111-1118, også skrevet 1111111118. Ring +45 29189838.\n\
                    Firma CVR-nr. 2518 9838? Nej: CVR 10150817 og 29189838; kopi til \
                    Sagsbehandler@Kommune.DK og sagsbehandler@kommune.dk.";
        let found = IdentifierPatterns::default().find(text, &hasher());
        assert_eq!(
            found.case_numbers,
            ["27.24.00-G01-12-23", "00.01.00-A00-4711-2024"]
        );
        assert_eq!(found.kle, ["27.24.00", "00.01.00"]);
        assert_eq!(found.cvr, ["10150817", "29189838"]);
        assert_eq!(found.emails, ["sagsbehandler@kommune.dk"]);
        assert_eq!(found.cpr.len(), 1);
        assert_eq!(found.cpr[0].masked, "111111-XXXX");
    }

    #[test]
    fn phone_numbers_are_not_cvr_numbers() {
        // 29189838 passes modulus-11; as a phone number it is still not a company.
        let text = "Tlf. 29189838, mobil: 29189838, +45 29189838, 29 18 98 38";
        let found = IdentifierPatterns::default().find(text, &hasher());
        assert!(found.cvr.is_empty(), "{:?}", found.cvr);
    }

    #[test]
    fn labelled_cvr_may_be_written_in_groups() {
        let found = IdentifierPatterns::default().find("CVR-nr. 2918 9838", &hasher());
        assert_eq!(found.cvr, ["29189838"]);
        let found = IdentifierPatterns::default().find("cvr: 29 18 98 38.", &hasher());
        assert_eq!(found.cvr, ["29189838"]);
    }

    #[test]
    fn numbers_inside_longer_numbers_are_not_identifiers() {
        let text = "Konto 12345678901234, ref 2021-111111-1118, bilag 1111111118-2, \
                    nr 129189838, 29189838 12, dato 01.02.2021";
        let found = IdentifierPatterns::default().find(text, &hasher());
        assert_eq!(found, Identifiers::default());
    }

    #[test]
    fn configured_patterns_replace_the_default() {
        let patterns = IdentifierPatterns::new(&[r"\bSAG-\d{4}-\d+\b".to_owned()]).unwrap();
        let found = patterns.find("SAG-2024-17 og 27.24.00-G01-12-23", &hasher());
        assert_eq!(found.case_numbers, ["SAG-2024-17"]);
        assert_eq!(found.kle, ["27.24.00"]);
        assert!(IdentifierPatterns::new(&["(".to_owned()]).is_err());
        let empty_matches = IdentifierPatterns::new(&["x*".to_owned()]).unwrap();
        assert!(empty_matches.find("abc", &hasher()).case_numbers.is_empty());
    }

    #[test]
    fn redaction_also_masks_cpr_numbers_that_identification_ignores() {
        assert_eq!(redact_cpr("sag 2021-111111-1118"), "sag 2021-111111-XXXX");
        assert_eq!(redact_cpr("1111111118-2"), "111111-XXXX-2");
        assert_eq!(
            redact_cpr("111111 1118 og 111111\u{2013}1118"),
            "111111-XXXX og 111111-XXXX"
        );
        assert_eq!(redact_cpr("111111-1118@x.dk"), "111111-XXXX@x.dk");
        assert_eq!(
            redact_cpr("tlf. 12 34 56 78, 999999-1234"),
            "tlf. 12 34 56 78, 999999-1234"
        );
        assert_eq!(redact_cpr("æø 0101901234"), "æø 010190-XXXX");
    }

    #[test]
    fn redaction_masks_every_cpr_and_leaves_the_rest() {
        assert_eq!(
            redact_cpr("CPR: 1111111118, 111111-1118."),
            "CPR: 111111-XXXX, 111111-XXXX."
        );
        assert!(matches!(
            redact_cpr("ingen numre 321190-1234"),
            Cow::Borrowed(_)
        ));
        assert_eq!(redact_cpr("æø 010190-1234å"), "æø 010190-XXXXå");
    }

    /// A tiny deterministic generator: the tests need variety, not quality.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn string(&mut self) -> String {
            const ALPHABET: &[char] = &[
                '0',
                '1',
                '1',
                '2',
                '3',
                '8',
                '9',
                '-',
                ' ',
                '.',
                '/',
                '+',
                '@',
                'a',
                'K',
                'æ',
                'Ø',
                '\n',
                '\u{a0}',
                '\u{1F600}',
                'c',
                'v',
                'r',
                ':',
            ];
            let len = (self.next() % 40) as usize;
            (0..len)
                .map(|_| ALPHABET[(self.next() % ALPHABET.len() as u64) as usize])
                .collect()
        }
    }

    #[test]
    fn parsers_never_panic_and_redaction_is_complete() {
        let patterns = IdentifierPatterns::default();
        let hasher = hasher();
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let input = rng.string();
            let _ = CprNumber::parse(&input);
            let _ = CvrNumber::parse(&input);
            let _ = KleNumber::parse(&input);
            let found = patterns.find(&input, &hasher);
            let redacted = redact_cpr(&input);
            assert!(
                patterns.find(&redacted, &hasher).cpr.is_empty(),
                "{input:?}"
            );
            assert_eq!(redact_cpr(&redacted), redacted);
            if found.cpr.is_empty() {
                assert_eq!(redacted, input);
            }
        }
    }

    #[test]
    fn generated_valid_numbers_round_trip() {
        let mut rng = XorShift(42);
        for _ in 0..2_000 {
            let day = rng.next() % 31 + 1;
            let month = rng.next() % 12 + 1;
            let rest = rng.next() % 1_000_000;
            let text = format!(
                "{day:02}{month:02}{:02}-{:04}",
                rest / 10_000,
                rest % 10_000
            );
            let cpr = CprNumber::parse(&text).unwrap();
            assert_eq!(cpr.masked(), format!("{}-XXXX", &text[..6]));
            let found = IdentifierPatterns::default().find(&format!("cpr {text}."), &hasher());
            assert_eq!(found.cpr, [hasher().reference(&cpr)]);
        }
    }
}
