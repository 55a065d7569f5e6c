//! Presenter notes (`control-room notes`): per act, what to say and point at, its timing
//! budget, and its beats with their keys. TOML, because the notes are structured (a budget
//! and beats with keys, cues and conditions per act) and the config already speaks it with
//! precise errors; the embedded default is `demo-scripts/notes.toml`, `--notes FILE` reads
//! another.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::{Position, decode_utf8, describe_toml_error};
use crate::model::ActState;

pub const DEFAULT_NOTES_TOML: &str = include_str!("../../demo-scripts/notes.toml");

/// What the clusters must show for a beat to count as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BeatDone {
    /// The exfil counter rose in this act.
    ExfilRise,
    /// An alert is firing.
    AlertFiring,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Beat {
    /// Seconds into the act when the beat is due.
    #[serde(default)]
    pub at: u64,
    pub key: String,
    #[serde(rename = "do")]
    pub what: String,
    #[serde(default)]
    pub say: Option<String>,
    #[serde(default)]
    pub until: Option<BeatDone>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotesAct {
    Clean,
    Compromised,
    Defended,
}

impl NotesAct {
    pub fn state(self) -> ActState {
        match self {
            NotesAct::Clean => ActState::Clean,
            NotesAct::Compromised => ActState::Compromised,
            NotesAct::Defended => ActState::Defended,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActNotes {
    pub state: NotesAct,
    /// Seconds the act should take on stage.
    pub budget: u64,
    #[serde(default)]
    pub notes: Vec<String>,
    #[serde(default, rename = "beat")]
    pub beats: Vec<Beat>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notes {
    #[serde(rename = "act")]
    pub acts: Vec<ActNotes>,
}

#[derive(Debug, thiserror::Error)]
pub enum NotesError {
    #[error("cannot read notes file {}: {cause}", path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("notes error in {origin}{}: {message}", position.map(|p| format!(" at {p}")).unwrap_or_default())]
    Parse {
        origin: String,
        position: Option<Position>,
        message: String,
    },
}

impl Notes {
    /// The embedded notes.
    pub fn defaults() -> Result<Notes, NotesError> {
        Notes::parse(DEFAULT_NOTES_TOML, "the embedded notes")
    }

    /// The notes in `path`, or the embedded ones.
    pub fn load(path: Option<&Path>) -> Result<Notes, NotesError> {
        let Some(path) = path else {
            return Notes::defaults();
        };
        let bytes = std::fs::read(path).map_err(|cause| NotesError::Read {
            path: path.to_path_buf(),
            cause,
        })?;
        let origin = path.display().to_string();
        let text = decode_utf8(&bytes).map_err(|(position, message)| NotesError::Parse {
            origin: origin.clone(),
            position: Some(position),
            message,
        })?;
        Notes::parse(text, &origin)
    }

    pub fn parse(text: &str, origin: &str) -> Result<Notes, NotesError> {
        let notes: Notes = toml::from_str(text).map_err(|err| {
            let (position, message) = describe_toml_error(&err, text);
            NotesError::Parse {
                origin: origin.to_string(),
                position,
                message,
            }
        })?;
        let invalid = |message: String| NotesError::Parse {
            origin: origin.to_string(),
            position: None,
            message,
        };
        for (i, act) in notes.acts.iter().enumerate() {
            if notes.acts[..i].iter().any(|a| a.state == act.state) {
                return Err(invalid(format!(
                    "act `{}` has notes twice",
                    act.state.state().as_str()
                )));
            }
            if act.budget == 0 {
                return Err(invalid(format!(
                    "act `{}`: budget must be at least 1 second",
                    act.state.state().as_str()
                )));
            }
            if act.beats.windows(2).any(|w| w[1].at < w[0].at) {
                return Err(invalid(format!(
                    "act `{}`: beats must be in the order of their `at`",
                    act.state.state().as_str()
                )));
            }
        }
        Ok(notes)
    }

    /// The notes for `state`, if it is an act the notes cover.
    pub fn act(&self, state: ActState) -> Option<&ActNotes> {
        self.acts.iter().find(|a| a.state.state() == state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_notes_cover_every_act_with_the_walkthrough_budgets() {
        let notes = Notes::defaults().unwrap();
        let budgets: Vec<(ActState, u64)> = notes
            .acts
            .iter()
            .map(|a| (a.state.state(), a.budget))
            .collect();
        assert_eq!(
            budgets,
            [
                (ActState::Clean, 30),
                (ActState::Compromised, 120),
                (ActState::Defended, 120)
            ]
        );
        for act in &notes.acts {
            assert!(!act.notes.is_empty() && !act.beats.is_empty(), "{act:?}");
        }
        let last_keys: Vec<&str> = notes
            .acts
            .iter()
            .filter_map(|a| a.beats.last())
            .map(|b| b.key.as_str())
            .collect();
        assert_eq!(
            last_keys,
            ["u", "p", "r"],
            "each act ends on the next act's key"
        );
        assert!(
            notes.acts[0].beats[0]
                .say
                .as_deref()
                .is_some_and(|s| s.contains(crate::model::chat::CANONICAL_PROMPT)),
            "act 1 opens with the walkthrough's prompt"
        );
    }

    #[test]
    fn bad_notes_are_reported_with_where_and_what() {
        let err = Notes::parse("[[act]]\nstate = \"clean\"\nbudget = \"soon\"\n", "n.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("notes error in n.toml at line 3"), "{err}");
        let err = Notes::parse("[[act]]\nstate = \"act4\"\nbudget = 3\n", "n.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("act4"), "{err}");
        let twice =
            "[[act]]\nstate = \"clean\"\nbudget = 3\n[[act]]\nstate = \"clean\"\nbudget = 3\n";
        let err = Notes::parse(twice, "n.toml").unwrap_err().to_string();
        assert!(err.contains("twice"), "{err}");
        let order = "[[act]]\nstate = \"clean\"\nbudget = 3\n[[act.beat]]\nat = 5\nkey = \"a\"\ndo = \"x\"\n[[act.beat]]\nat = 1\nkey = \"b\"\ndo = \"y\"\n";
        let err = Notes::parse(order, "n.toml").unwrap_err().to_string();
        assert!(err.contains("order"), "{err}");
    }
}
