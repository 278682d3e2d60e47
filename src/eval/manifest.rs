//! `MANIFEST.tsv` of a labelled corpus: which user's message lies in which folder, and when.

use std::path::{Component, Path};

use chrono::{DateTime, Utc};

use super::EvalError;

pub const MANIFEST: &str = "MANIFEST.tsv";

/// One message: `<corpus>/<user>/<folder>/<file>`, sent at `date`; the folder is its case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub user: String,
    pub folder: String,
    pub file: String,
    pub date: DateTime<Utc>,
}

impl Entry {
    pub fn path(&self, corpus: &Path) -> std::path::PathBuf {
        corpus.join(&self.user).join(&self.folder).join(&self.file)
    }
}

/// Reads `<corpus>/MANIFEST.tsv`.
pub fn read(corpus: &Path) -> Result<Vec<Entry>, EvalError> {
    let path = corpus.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|source| EvalError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text).map_err(|message| EvalError::Manifest {
        path: path.display().to_string(),
        message,
    })
}

/// Parses a header naming at least the columns `user`, `folder`, `file` and `date_utc` (in
/// any order; others are ignored), then one tab-separated row per message.
pub fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| format!("the header has no {name} column"))
    };
    let (user_column, folder_column, file_column, date_column) = (
        column("user")?,
        column("folder")?,
        column("file")?,
        column("date_utc")?,
    );
    let mut entries = Vec::new();
    for (number, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let line_no = number + 2;
        let cells: Vec<&str> = line.split('\t').collect();
        let cell = |index: usize, name: &str| {
            cells
                .get(index)
                .map(|c| c.trim())
                .filter(|c| !c.is_empty())
                .ok_or_else(|| format!("line {line_no}: no {name}"))
        };
        let name = |index: usize, what: &str| -> Result<String, String> {
            let value = cell(index, what)?;
            // The names become a path under the corpus: one plain component each, no escape.
            match Path::new(value).components().collect::<Vec<_>>()[..] {
                [Component::Normal(_)] => Ok(value.to_string()),
                _ => Err(format!(
                    "line {line_no}: {what} {value:?} is not a plain name"
                )),
            }
        };
        let (user, folder, file) = (
            name(user_column, "user")?,
            name(folder_column, "folder")?,
            name(file_column, "file")?,
        );
        let date_text = cell(date_column, "date_utc")?;
        entries.push(Entry {
            user,
            folder,
            file,
            date: DateTime::parse_from_rfc3339(date_text)
                .map_err(|e| format!("line {line_no}: date_utc {date_text:?}: {e}"))?
                .with_timezone(&Utc),
        });
    }
    Ok(entries)
}

/// The users in order of first appearance, each with their messages in date order (the
/// manifest's order breaks ties).
pub fn by_user(entries: Vec<Entry>) -> Vec<(String, Vec<Entry>)> {
    let mut users: Vec<(String, Vec<Entry>)> = Vec::new();
    for entry in entries {
        match users.iter_mut().find(|(user, _)| *user == entry.user) {
            Some((_, messages)) => messages.push(entry),
            None => users.push((entry.user.clone(), vec![entry])),
        }
    }
    for (_, messages) in &mut users {
        messages.sort_by_key(|m| m.date);
    }
    users
}

/// The distinct folders of one user's messages, sorted.
pub fn folders(messages: &[Entry]) -> Vec<String> {
    let mut folders: Vec<String> = messages.iter().map(|m| m.folder.clone()).collect();
    folders.sort();
    folders.dedup();
    folders
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "user\tfolder\tfile\tdate_utc\tmessage_id\tbytes\r\n\
        b\tx\t1\t2001-01-02T00:00:00Z\t<1@b>\t10\r\n\
        a\ty\t7\t2001-01-03T00:00:00Z\t<7@a>\t10\r\n\
        b\tz\t2\t2001-01-01T00:00:00Z\t<2@b>\t10\r\n\
        \r\n\
        b\tx\t3\t2001-01-02T00:00:00Z\t<3@b>\t10\r\n";

    #[test]
    fn rows_are_grouped_by_user_in_date_order_keeping_ties_in_manifest_order() {
        let users = by_user(parse(SAMPLE).unwrap());
        let files =
            |i: usize| -> Vec<&str> { users[i].1.iter().map(|e| e.file.as_str()).collect() };
        assert_eq!(users[0].0, "b");
        assert_eq!(files(0), ["2", "1", "3"]);
        assert_eq!(users[1].0, "a");
        assert_eq!(files(1), ["7"]);
        assert_eq!(folders(&users[0].1), ["x", "z"]);
        assert_eq!(
            users[1].1[0].path(Path::new("/c")),
            Path::new("/c/a/y/7").to_path_buf()
        );
    }

    #[test]
    fn columns_are_found_by_name() {
        let text = "date_utc\tfile\tfolder\tuser\n2001-01-02T03:04:05+01:00\t9\tf\tu\n";
        let entries = parse(text).unwrap();
        assert_eq!(entries[0].user, "u");
        assert_eq!(entries[0].date.to_rfc3339(), "2001-01-02T02:04:05+00:00");
    }

    #[test]
    fn broken_rows_name_their_line() {
        assert!(
            parse("user\tfolder\tfile\n")
                .unwrap_err()
                .contains("date_utc")
        );
        let bad_date = "user\tfolder\tfile\tdate_utc\nu\tf\t1\tyesterday\n";
        assert!(parse(bad_date).unwrap_err().starts_with("line 2"));
        let missing = "user\tfolder\tfile\tdate_utc\nu\tf\n";
        assert!(parse(missing).unwrap_err().contains("line 2: no file"));
        let escape = "user\tfolder\tfile\tdate_utc\nu\t..\t1\t2001-01-01T00:00:00Z\n";
        assert!(parse(escape).unwrap_err().contains("not a plain name"));
        let nested = "user\tfolder\tfile\tdate_utc\nu\ta/b\t1\t2001-01-01T00:00:00Z\n";
        assert!(parse(nested).is_err());
    }
}
