//! A mail's subject reduced to what stays the same along a thread, for finding the thread when
//! a mail carries no In-Reply-To or References.

/// Reply and forward markers in the languages Danish authorities' mail arrives in.
const MARKERS: &[&str] = &[
    "re", "sv", "aw", "fw", "fwd", "vs", "wg", "tr", "vb", "antw", "ref",
];

/// Reply markers some mail systems put at the end of the subject.
const SUFFIX_MARKERS: &[&str] = &["-reply"];

/// The subject without reply/forward markers, lower-cased with runs of space collapsed;
/// `None` when too little is left to tell threads apart.
pub fn thread_subject(subject: &str) -> Option<String> {
    let mut words: Vec<String> = bare_subject(subject)
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    // Some mail systems (GroupWise, Notes) mark a reply at the end: "Wolf -Reply -Reply".
    while words
        .last()
        .is_some_and(|w| SUFFIX_MARKERS.contains(&w.as_str()))
    {
        words.pop();
    }
    let key = words.join(" ");
    (key.chars().filter(|c| c.is_alphanumeric()).count() >= 5).then_some(key)
}

/// The subject without the reply and forward markers and tags at its start, as written.
pub fn bare_subject(subject: &str) -> &str {
    let mut rest = subject.trim();
    while let Some(shorter) = strip_marker(rest).or_else(|| strip_tag(rest)) {
        rest = shorter.trim_start();
    }
    rest
}

/// `Re:`, `SV:`, `Fwd[2]:` and the like at the start.
fn strip_marker(text: &str) -> Option<&str> {
    let (head, tail) = text.split_once(':')?;
    let word = head
        .trim()
        .split('[')
        .next()
        .unwrap_or_default()
        .trim()
        .to_lowercase();
    MARKERS.contains(&word.as_str()).then_some(tail)
}

/// A bracketed tag at the start, like `[EXTERNAL]`.
fn strip_tag(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('[')?;
    let close = inner.find(']')?;
    (close <= 20).then(|| &inner[close + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_and_forward_markers_go_in_any_language_and_depth() {
        let key = thread_subject("Carport på Skovvej 12");
        assert_eq!(key.as_deref(), Some("carport på skovvej 12"));
        for reply in [
            "SV: Carport på Skovvej 12",
            "Re: RE: Fwd: Carport  på Skovvej 12",
            "VS:SV: carport på skovvej 12",
            "[EXTERN] Re[2]: Carport på Skovvej 12",
            "Carport på Skovvej 12 -Reply -Reply",
            "FW: Carport på Skovvej 12 -Reply",
        ] {
            assert_eq!(thread_subject(reply), key, "{reply}");
        }
    }

    #[test]
    fn subjects_too_short_to_tell_threads_apart_give_nothing() {
        assert_eq!(thread_subject("Re: hej"), None);
        assert_eq!(thread_subject(""), None);
        assert_eq!(thread_subject("SV: SV:"), None);
    }
}
