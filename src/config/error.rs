//! Errors for config and theme files, and the byte-offset → line/column mapping they share.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A 1-based line and column (counted in characters) inside a source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    /// Position of byte `offset` in `text`. Offsets past the end or inside a multi-byte
    /// character are clamped, so any offset a parser reports is safe to pass.
    pub fn at(text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// " at line L, column C", or nothing when the position is unknown.
fn at(position: &Option<Position>) -> String {
    position.map(|p| format!(" at {p}")).unwrap_or_default()
}

/// Why a config file could not be turned into a [`Config`](super::Config).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read (missing, unreadable, a directory …).
    #[error("cannot read config file {}: {cause}", path.display())]
    Read { path: PathBuf, cause: io::Error },
    /// Not valid TOML, or not valid against the schema (unknown key, wrong type).
    #[error("config error in {origin}{}: {message}", at(position))]
    Parse {
        origin: String,
        position: Option<Position>,
        message: String,
    },
    /// Valid TOML and schema, but the merged config makes no sense (no clusters, duplicates …).
    #[error("config error in {origin}{}: {message}", at(position))]
    Invalid {
        origin: String,
        position: Option<Position>,
        message: String,
    },
}

/// Why a theme could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("unknown theme `{name}`; available themes: {}", available.join(", "))]
    Unknown {
        name: String,
        available: Vec<String>,
    },
    #[error("cannot read theme file {}: {cause}", path.display())]
    Read { path: PathBuf, cause: io::Error },
    #[error("theme error in {origin}{}: {message}", at(position))]
    Parse {
        origin: String,
        position: Option<Position>,
        message: String,
    },
}

/// Position and one-line message of a TOML (syntax or schema) error in `text`.
pub(crate) fn describe_toml_error(err: &toml::de::Error, text: &str) -> (Option<Position>, String) {
    let position = err.span().map(|span| Position::at(text, span.start));
    let message = err
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    (position, message)
}

/// The file's bytes as UTF-8, or where the first invalid byte is.
pub(crate) fn decode_utf8(bytes: &[u8]) -> Result<&str, (Position, String)> {
    std::str::from_utf8(bytes).map_err(|err| {
        let valid = &bytes[..err.valid_up_to()];
        // The prefix is valid by construction; fall back to line 1 rather than panic.
        let prefix = std::str::from_utf8(valid).unwrap_or("");
        (
            Position::at(prefix, prefix.len()),
            "file is not valid UTF-8".to_string(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_counts_lines_and_chars_from_one() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(Position::at(text, 0), Position { line: 1, column: 1 });
        assert_eq!(Position::at(text, 4), Position { line: 1, column: 5 });
        assert_eq!(Position::at(text, 6), Position { line: 2, column: 1 });
        // byte 9 is the space after "bé" (é is two bytes): the third character
        assert_eq!(Position::at(text, 9), Position { line: 2, column: 3 });
    }

    #[test]
    fn position_clamps_out_of_range_and_mid_char_offsets() {
        let text = "é\nx";
        assert_eq!(Position::at(text, 1), Position { line: 1, column: 1 });
        assert_eq!(Position::at(text, 999), Position { line: 2, column: 2 });
        assert_eq!(Position::at("", 5), Position { line: 1, column: 1 });
    }

    #[test]
    fn invalid_utf8_reports_position_of_first_bad_byte() {
        let (pos, msg) = decode_utf8(b"a = 1\nb = \xff").unwrap_err();
        assert_eq!(pos, Position { line: 2, column: 5 });
        assert!(msg.contains("UTF-8"));
    }

    #[test]
    fn display_includes_origin_position_and_message() {
        let err = ConfigError::Parse {
            origin: "/x/bad.toml".into(),
            position: Some(Position { line: 3, column: 8 }),
            message: "invalid type: string \"yes\", expected a boolean".into(),
        };
        assert_eq!(
            err.to_string(),
            "config error in /x/bad.toml at line 3, column 8: invalid type: string \"yes\", expected a boolean"
        );
        let err = ConfigError::Invalid {
            origin: "x".into(),
            position: None,
            message: "m".into(),
        };
        assert_eq!(err.to_string(), "config error in x: m");
    }
}
