//! Lists of identifiers: a set that tolerates duplicates, and a reader for files of one
//! identifier per line that reports every bad line.
//!
//! An officer's list usually comes from a spreadsheet or an export; a line that fails to parse
//! must be reported with its number and reason, never dropped, or the officer would believe a
//! number was checked when it was not. A file with any bad line is refused whole, so a partial
//! list is never matched by mistake.

use std::collections::BTreeSet;
use std::fmt;
use std::io::BufRead;

use crate::error::IdentifierError;
use crate::ident::{Identifier, IdentifierKind, ParseOptions};

/// A set of identifiers. Adding one already present is not an error; it is counted, so the
/// officer can be told how many duplicates the list had.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentifierSet {
    items: BTreeSet<Identifier>,
    duplicates: usize,
}

impl IdentifierSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an identifier; returns `false` when it was already present.
    pub fn insert(&mut self, id: Identifier) -> bool {
        let fresh = self.items.insert(id);
        if !fresh {
            self.duplicates += 1;
        }
        fresh
    }

    /// Whether the set holds `id`.
    pub fn contains(&self, id: &Identifier) -> bool {
        self.items.contains(id)
    }

    /// The number of distinct identifiers.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many insertions were duplicates of an identifier already present.
    pub fn duplicates(&self) -> usize {
        self.duplicates
    }

    /// The identifiers, ordered by kind, then by canonical string.
    pub fn iter(&self) -> impl Iterator<Item = &Identifier> {
        self.items.iter()
    }

    /// The identifiers, ordered by kind then canonical string, as a vector (what the PSI parties take).
    pub fn to_vec(&self) -> Vec<Identifier> {
        self.items.iter().cloned().collect()
    }
}

impl FromIterator<Identifier> for IdentifierSet {
    fn from_iter<T: IntoIterator<Item = Identifier>>(iter: T) -> Self {
        let mut set = IdentifierSet::new();
        for id in iter {
            set.insert(id);
        }
        set
    }
}

/// How lines of an identifier file are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// The kind of lines written without a `kind:` prefix; when `None` every line must be
    /// tagged (`phone:+52 55 1234 5678`).
    pub default_kind: Option<IdentifierKind>,
    /// Parsing options (default phone country).
    pub parse: ParseOptions,
}

/// One line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// The line number, counting from 1.
    pub line: usize,
    /// Why it was refused.
    pub error: IdentifierError,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.error)
    }
}

/// Why an identifier file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("could not read the identifier file: {0}")]
    Io(#[from] std::io::Error),
    /// Some lines are not valid identifiers; all of them are listed.
    #[error("{} bad line(s) in the identifier file; fix them and read it again:\n{}", .0.len(), display_lines(.0))]
    BadLines(Vec<LineError>),
}

fn display_lines(lines: &[LineError]) -> String {
    lines
        .iter()
        .map(LineError::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads a file of identifiers, one per line (UTF-8, `\n` or `\r\n`, an optional leading
/// byte-order mark). Blank lines and lines starting with `#` are skipped. A line is `kind:value`, or just a value when `options.default_kind` is set. Every
/// bad line is reported; if there is any, no set is returned.
pub fn read_identifiers<R: BufRead>(
    reader: R,
    options: &ReadOptions,
) -> Result<IdentifierSet, ReadError> {
    let mut set = IdentifierSet::new();
    let mut bad = Vec::new();
    for (index, line) in reader.split(b'\n').enumerate() {
        let line_no = index + 1;
        let raw = line?;
        let result = match std::str::from_utf8(&raw) {
            // Spreadsheet exports often start with a byte-order mark; it is not part of the
            // first identifier.
            Ok(text) if line_no == 1 => parse_line(text.trim_start_matches('\u{feff}'), options),
            Ok(text) => parse_line(text, options),
            Err(_) => Err(IdentifierError::NotUtf8),
        };
        match result {
            Ok(Some(id)) => {
                set.insert(id);
            }
            Ok(None) => {}
            Err(error) => bad.push(LineError {
                line: line_no,
                error,
            }),
        }
    }
    if bad.is_empty() {
        Ok(set)
    } else {
        Err(ReadError::BadLines(bad))
    }
}

/// Parses one line; `Ok(None)` for blank and comment lines.
fn parse_line(text: &str, options: &ReadOptions) -> Result<Option<Identifier>, IdentifierError> {
    let text = text.strip_suffix('\r').unwrap_or(text).trim();
    if text.is_empty() || text.starts_with('#') {
        return Ok(None);
    }
    // A known kind name before the first `:` is a tag; otherwise the whole line is a value of
    // the default kind (so a default-kind value containing `:` still parses).
    if let Some((tag, value)) = text.split_once(':')
        && let Ok(kind) = IdentifierKind::from_name(tag)
    {
        return Identifier::parse(kind, value, &options.parse).map(Some);
    }
    match options.default_kind {
        Some(kind) => Identifier::parse(kind, text, &options.parse).map(Some),
        None => Identifier::parse_tagged(text, &options.parse).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tagged_lines_skips_comments_counts_duplicates() {
        let text = "# seized phones\n\
                    phone: 55 1234 5678\n\
                    \n\
                    phone:+52 1 55 1234 5678\r\n\
                    firearm: Glock / ab-123\n\
                    plate:MX/CMX/ABC-123-4\n";
        let set = read_identifiers(text.as_bytes(), &ReadOptions::default()).unwrap();
        assert_eq!(set.len(), 3);
        assert_eq!(set.duplicates(), 1);
        let canon: Vec<_> = set.iter().map(Identifier::canonical).collect();
        assert_eq!(
            canon,
            [
                "phone:+525512345678",
                "firearm:GLOCK/AB123",
                "plate:MX/CMX/ABC1234"
            ]
        );
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number() {
        let text =
            b"phone:5512345678\nphone:12\nfax:1\n\xff\xfe\nclabe:002010077777777772\nnothing\n";
        let err = read_identifiers(&text[..], &ReadOptions::default()).unwrap_err();
        let ReadError::BadLines(lines) = &err else {
            panic!("expected bad lines, got {err}");
        };
        let numbers: Vec<usize> = lines.iter().map(|l| l.line).collect();
        assert_eq!(numbers, [2, 3, 4, 5, 6]);
        assert!(matches!(lines[1].error, IdentifierError::UnknownKind(_)));
        assert_eq!(lines[2].error, IdentifierError::NotUtf8);
        assert!(matches!(lines[4].error, IdentifierError::MissingKind(_)));
        let message = err.to_string();
        assert!(message.contains("line 5: invalid clabe"), "{message}");
    }

    #[test]
    fn a_leading_byte_order_mark_is_ignored() {
        let text = "\u{feff}phone:+52 55 1234 5678\nphone:+1 202 555 0143\n";
        let set = read_identifiers(text.as_bytes(), &ReadOptions::default()).unwrap();
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn default_kind_allows_untagged_values() {
        let options = ReadOptions {
            default_kind: Some(IdentifierKind::Email),
            ..ReadOptions::default()
        };
        let set = read_identifiers(
            "a@Example.org\nemail:a@EXAMPLE.org\nphone:+12025550143\n".as_bytes(),
            &options,
        )
        .unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(set.duplicates(), 1);
    }
}
