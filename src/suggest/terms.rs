//! An item as a bag of hashed terms for the text classifier: its sender, recipients, subject
//! and text, tokenised the same way in any language.
//!
//! The index's Danish analyzer stems and drops Danish stop words, which suits Danish case text
//! and hurts on English mail; the classifier learns per case which words matter, so it takes
//! plain lower-cased words and needs no stemmer or stop list.

use std::collections::HashMap;

use crate::extract::{Extracted, Metadata};

/// A term: the FNV-1a hash of its field and text. Collisions among a few million distinct
/// terms in a 32-bit space are rare enough not to matter to a linear model.
pub type Term = u32;

/// Words longer than this are rarely words (base64, long identifiers).
const MAX_WORD_CHARS: usize = 40;
/// Only this much of a long item's text counts: the start of a mail says what it is about.
const MAX_TEXT_CHARS: usize = 20_000;
/// A mail to a whole department says little through each of its many addresses.
const MAX_ADDRESSES: usize = 50;
/// A word of the subject or an address counts as this many words of the text: a few header
/// terms say as much about the case as a whole body does.
const HEADER_OCCURRENCES: u32 = 3;

/// Which part of the item a term came from; the same word in the subject and in the body are
/// two terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    From,
    To,
    Cc,
    Subject,
    Text,
}

/// The item's terms with how often each occurs.
pub fn term_counts(item: &Extracted) -> HashMap<Term, u32> {
    let mut counts: HashMap<Term, u32> = HashMap::new();
    let mut add = |field: Field, text: &str| {
        let occurrences = if field == Field::Text {
            1
        } else {
            HEADER_OCCURRENCES
        };
        *counts.entry(hash(field, text)).or_default() += occurrences;
    };
    if let Metadata::Mail(mail) = &item.metadata {
        let fields = [
            (Field::From, &mail.from),
            (Field::To, &mail.to),
            (Field::Cc, &mail.cc),
        ];
        for (field, addresses) in fields {
            for address in addresses.iter().take(MAX_ADDRESSES) {
                if let Some(email) = &address.email {
                    add(field, email);
                }
            }
        }
        if let Some(subject) = &mail.subject {
            for word in words(subject) {
                add(Field::Subject, &word);
            }
        }
    }
    let text: String = item.text.chars().take(MAX_TEXT_CHARS).collect();
    for word in words(&text) {
        add(Field::Text, &word);
    }
    counts
}

/// Lower-cased runs of letters and digits, keeping `@ . - _` inside a run so that addresses,
/// dotted numbers and hyphenated names stay whole.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '@' | '.' | '-' | '_')))
        .map(|run| run.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|word| {
            let chars = word.chars().count();
            (2..=MAX_WORD_CHARS).contains(&chars)
        })
        .map(str::to_lowercase)
}

fn hash(field: Field, text: &str) -> Term {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for byte in std::iter::once(field as u8).chain(text.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(PRIME);
    }
    (hash ^ (hash >> 32)) as Term
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{Address, ItemKind, MailMetadata};

    fn mail(subject: &str, from: &str, text: &str) -> Extracted {
        let address = |email: &str| Address {
            name: None,
            email: Some(email.into()),
        };
        Extracted {
            kind: ItemKind::Mail,
            content_type: "message/rfc822".into(),
            metadata: Metadata::Mail(MailMetadata {
                subject: Some(subject.into()),
                from: vec![address(from)],
                to: vec![address("sagsbehandler@kommune.dk")],
                ..Default::default()
            }),
            text: text.into(),
            identifiers: Default::default(),
            truncated: Vec::new(),
        }
    }

    #[test]
    fn words_keep_addresses_and_numbers_whole_and_drop_punctuation() {
        let found: Vec<String> =
            words("Re: Møde om J.nr. 27.24.00 - se mail fra Anna.Holm@vejstrand.dk, tak!")
                .collect();
        assert_eq!(
            found,
            [
                "re",
                "møde",
                "om",
                "j.nr",
                "27.24.00",
                "se",
                "mail",
                "fra",
                "anna.holm@vejstrand.dk",
                "tak"
            ]
        );
        assert_eq!(
            words("a - x").count(),
            0,
            "one-letter words and dashes alone"
        );
    }

    #[test]
    fn the_same_word_counts_per_field_and_letter_case_does_not_matter() {
        let counts = term_counts(&mail(
            "Carport",
            "borger@example.dk",
            "carport CARPORT tegning",
        ));
        assert_eq!(counts[&hash(Field::Text, "carport")], 2);
        assert_eq!(counts[&hash(Field::Subject, "carport")], HEADER_OCCURRENCES);
        assert_eq!(
            counts[&hash(Field::From, "borger@example.dk")],
            HEADER_OCCURRENCES
        );
        assert_eq!(
            counts[&hash(Field::To, "sagsbehandler@kommune.dk")],
            HEADER_OCCURRENCES
        );
        assert!(!counts.contains_key(&hash(Field::From, "sagsbehandler@kommune.dk")));
        assert_ne!(
            hash(Field::Text, "carport"),
            hash(Field::Subject, "carport")
        );
    }
}
