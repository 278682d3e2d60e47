//! Names targets can store: case folders, document names and file extensions, the same for
//! every connector that keeps files, and stable across retries.

use sha2::Digest;

/// The folder of a case: its id when that is a safe file name, otherwise a safe rendering of
/// the id plus a short hash of it, so that two ids never share a folder.
pub fn case_folder(id: &str) -> String {
    let safe = safe_name(id, 80);
    if safe == id {
        return safe;
    }
    let digest = sha2::Sha256::digest(id.as_bytes());
    format!("{safe}_{}", &hex::encode(digest)[..8])
}

/// A file-name-safe rendering: letters (æøå included), digits, `-` and `.`; other runs become
/// one `_`; never empty, never `.` or `..`, at most `max` characters.
pub fn safe_name(raw: &str, max: usize) -> String {
    let mut out = String::new();
    for c in raw.chars() {
        if c.is_alphanumeric() || c == '-' || c == '.' {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
        if out.chars().count() >= max {
            break;
        }
    }
    let out = out.trim_matches(['_', '.']).to_string();
    if out.is_empty() { "_".into() } else { out }
}

/// The usual file extension of the content types an item can have.
pub fn extension(content_type: &str) -> &'static str {
    match content_type {
        "message/rfc822" => "eml",
        "application/vnd.ms-outlook" => "msg",
        "application/pdf" => "pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/msword" => "doc",
        "application/rtf" => "rtf",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation" => "pptx",
        "application/vnd.oasis.opendocument.text" => "odt",
        "text/html" => "html",
        "text/plain" => "txt",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn different_case_ids_never_share_a_folder() {
        assert_eq!(case_folder("VK-2026-0007"), "VK-2026-0007");
        assert_ne!(case_folder("A/1"), case_folder("A_1"));
        assert_ne!(case_folder(&"x".repeat(90)), case_folder(&"x".repeat(91)));
        assert!(case_folder("../etc").starts_with("etc_"));
    }

    #[test]
    fn safe_names_cannot_escape_the_archive() {
        assert_eq!(safe_name("../../etc/passwd", 80), "etc_passwd");
        assert_eq!(safe_name("..", 80), "_");
        assert_eq!(safe_name("Ærø / Østergade", 80), "Ærø_Østergade");
    }
}
