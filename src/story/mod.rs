//! The demo's story as data: beats that each wait on the model's state (an act shown, a
//! reply, a tool call in the trace, the exfil counter, a firing alert) or press a key, read
//! from a TOML file (`demo-scripts/story.toml` is embedded as the default). A story is user
//! input: every mistake is reported with its line and field. [`player`] plays one against
//! the model, for `control-room rehearse` and `--autopilot` alike.

pub mod player;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::config::{Action, Key, Position};
use crate::model::ActState;

/// The walkthrough's §9 story, as `demo-scripts/story.toml` tells it.
pub const DEFAULT_STORY_TOML: &str = include_str!("../../demo-scripts/story.toml");

/// How long a beat waits when the file does not say.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How long `exfil = "unchanged"` watches the counter after the reply, unless `hold` says.
pub const DEFAULT_HOLD: Duration = Duration::from_secs(3);

/// Longest timeout, pause or hold a story may ask for: an hour is a typo, not a demo.
const MAX_SECS: f64 = 3600.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Story {
    pub title: String,
    /// How long the autopilot shows an act's confirmation before answering it.
    pub confirm_pause: Duration,
    pub beats: Vec<Beat>,
    /// What leaves the stage at act 1 after the story (or a failure, or Ctrl+C).
    pub reset: Option<Reset>,
}

/// `[reset]`: an act key and the act it must lead to.
#[derive(Debug, Clone, PartialEq)]
pub struct Reset {
    pub name: String,
    pub press: Press,
    pub act: u8,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Beat {
    pub name: String,
    pub step: Step,
    pub timeout: Duration,
    /// For viewers: the autopilot waits this long after the beat passes.
    pub pause: Duration,
    /// Where the beat starts in the file (1-based), for messages.
    pub line: usize,
}

/// What a beat does or waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The header shows act 1, 2 or 3 and the story's act script has finished.
    Act(u8),
    Press(Press),
    /// Send this prompt through the chat box (`canonical` = Ctrl+P's prompt).
    Prompt(Prompt),
    ReplyContains(String),
    TraceCalls(String),
    TraceLacks(String),
    /// The counter rose by at least this much since the last prompt.
    ExfilRise(usize),
    /// The last exchange is over and the counter has not moved since the prompt, for this
    /// long after the reply.
    ExfilUnchanged {
        hold: Duration,
    },
    Alert {
        name: String,
        labels: BTreeMap<String, String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Press {
    /// Whatever key the keymap binds to this action now.
    Action(Action),
    Key(Key),
}

impl Press {
    fn parse(text: &str) -> Result<Press, String> {
        if let Some(action) = Action::from_name(text) {
            return Ok(Press::Action(action));
        }
        Key::parse(text).map(Press::Key).map_err(|e| {
            format!("{e}; or an action name such as act_upgrade, act_policies_on, act_reset")
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    /// The customer prompt of the walkthrough, inserted with Ctrl+P as a presenter does.
    Canonical,
    Text(String),
}

impl Prompt {
    pub fn text(&self) -> &str {
        match self {
            Prompt::Canonical => crate::model::chat::CANONICAL_PROMPT,
            Prompt::Text(t) => t,
        }
    }
}

/// The act number's state as the header derives it.
pub fn act_state(act: u8) -> ActState {
    match act {
        1 => ActState::Clean,
        2 => ActState::Compromised,
        _ => ActState::Defended,
    }
}

/// Why a story file was refused: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("story error in {origin}{}: {message}", position.map(|p| format!(" at {p}")).unwrap_or_default())]
pub struct StoryError {
    pub origin: String,
    pub position: Option<Position>,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoryFile {
    story: Option<toml::Spanned<Header>>,
    reset: Option<toml::Spanned<RawBeat>>,
    #[serde(default)]
    beat: Vec<toml::Spanned<RawBeat>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Header {
    title: Option<String>,
    confirm_pause: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBeat {
    name: Option<String>,
    timeout: Option<f64>,
    pause: Option<f64>,
    hold: Option<f64>,
    act: Option<i64>,
    press: Option<String>,
    prompt: Option<String>,
    reply_contains: Option<String>,
    trace_calls: Option<String>,
    trace_lacks: Option<String>,
    exfil: Option<String>,
    alert: Option<String>,
    labels: Option<BTreeMap<String, String>>,
}

impl Story {
    /// The embedded default story.
    pub fn default_story() -> Result<Story, StoryError> {
        Story::parse(
            DEFAULT_STORY_TOML,
            "the built-in story (demo-scripts/story.toml)",
        )
    }

    /// `--story FILE`, or the embedded default.
    pub fn load(path: Option<&Path>) -> Result<Story, StoryError> {
        let Some(path) = path else {
            return Story::default_story();
        };
        let origin = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| StoryError {
            origin: origin.clone(),
            position: None,
            message: format!("cannot read it: {e}"),
        })?;
        let text =
            crate::config::decode_utf8(&bytes).map_err(|(position, message)| StoryError {
                origin: origin.clone(),
                position: Some(position),
                message,
            })?;
        Story::parse(text, &origin)
    }

    /// Parses and checks `text`; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Story, StoryError> {
        let fail = |offset: Option<usize>, message: String| StoryError {
            origin: origin.to_string(),
            position: offset.map(|o| Position::at(text, o)),
            message,
        };
        let file: StoryFile = toml::from_str(text).map_err(|err| {
            let (position, message) = crate::config::describe_toml_error(&err, text);
            StoryError {
                origin: origin.to_string(),
                position,
                message,
            }
        })?;
        let (title, confirm_pause) = match &file.story {
            Some(header) => {
                let at = header.span().start;
                let h = header.get_ref();
                let pause = seconds(h.confirm_pause, Duration::from_millis(1500))
                    .map_err(|m| fail(Some(at), format!("[story] confirm_pause: {m}")))?;
                (h.title.clone().unwrap_or_default(), pause)
            }
            None => (String::new(), Duration::from_millis(1500)),
        };
        if file.beat.is_empty() {
            return Err(fail(
                None,
                "the story has no beats: add [[beat]] tables (see demo-scripts/story.toml)"
                    .to_string(),
            ));
        }
        let mut beats = Vec::with_capacity(file.beat.len());
        for (i, raw) in file.beat.iter().enumerate() {
            let at = raw.span().start;
            let beat = beat(raw.get_ref(), i + 1, Position::at(text, at).line)
                .map_err(|m| fail(Some(at), m))?;
            beats.push(beat);
        }
        let reset = match &file.reset {
            None => None,
            Some(raw) => {
                let at = raw.span().start;
                Some(reset(raw.get_ref()).map_err(|m| fail(Some(at), format!("[reset]: {m}")))?)
            }
        };
        Ok(Story {
            title,
            confirm_pause,
            beats,
            reset,
        })
    }
}

/// A number of seconds from the file: finite, not negative, at most an hour.
fn seconds(value: Option<f64>, default: Duration) -> Result<Duration, String> {
    match value {
        None => Ok(default),
        Some(v) if v.is_finite() && (0.0..=MAX_SECS).contains(&v) => Ok(Duration::from_secs_f64(v)),
        Some(v) => Err(format!(
            "{v} is not a number of seconds between 0 and {MAX_SECS}"
        )),
    }
}

fn act_number(value: i64) -> Result<u8, String> {
    match value {
        1..=3 => Ok(value as u8),
        _ => Err(format!(
            "act = {value}: the story has acts 1 (clean), 2 (compromised) and 3 (defended)"
        )),
    }
}

fn beat(raw: &RawBeat, number: usize, line: usize) -> Result<Beat, String> {
    let name = match raw.name.as_deref().map(str::trim) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => return Err(format!("beat {number} has no `name`")),
    };
    let at = |m: String| format!("beat {number} ({name}): {m}");
    let mut steps: Vec<(&str, Step)> = Vec::new();
    if let Some(act) = raw.act {
        steps.push(("act", Step::Act(act_number(act).map_err(at)?)));
    }
    if let Some(press) = &raw.press {
        steps.push((
            "press",
            Step::Press(Press::parse(press).map_err(|m| at(format!("press: {m}")))?),
        ));
    }
    if let Some(prompt) = &raw.prompt {
        let prompt = match prompt.trim() {
            "" => return Err(at("prompt is empty".into())),
            "canonical" => Prompt::Canonical,
            text => {
                if text.chars().count() > crate::model::chat::MAX_PROMPT_CHARS {
                    return Err(at(format!(
                        "prompt is longer than the chat box takes ({} characters)",
                        crate::model::chat::MAX_PROMPT_CHARS
                    )));
                }
                if text.chars().any(|c| c.is_control() && c != '\n') {
                    return Err(at("prompt holds a control character".into()));
                }
                Prompt::Text(text.to_string())
            }
        };
        steps.push(("prompt", Step::Prompt(prompt)));
    }
    let nonempty = |field: &str, v: &String| -> Result<String, String> {
        if v.trim().is_empty() {
            Err(at(format!("{field} is empty")))
        } else {
            Ok(v.clone())
        }
    };
    if let Some(v) = &raw.reply_contains {
        steps.push((
            "reply_contains",
            Step::ReplyContains(nonempty("reply_contains", v)?),
        ));
    }
    if let Some(v) = &raw.trace_calls {
        steps.push(("trace_calls", Step::TraceCalls(nonempty("trace_calls", v)?)));
    }
    if let Some(v) = &raw.trace_lacks {
        steps.push(("trace_lacks", Step::TraceLacks(nonempty("trace_lacks", v)?)));
    }
    if let Some(v) = &raw.exfil {
        let hold = seconds(raw.hold, DEFAULT_HOLD).map_err(|m| at(format!("hold: {m}")))?;
        steps.push((
            "exfil",
            exfil(v, hold).map_err(|m| at(format!("exfil: {m}")))?,
        ));
    } else if raw.hold.is_some() {
        return Err(at("`hold` only applies to exfil = \"unchanged\"".into()));
    }
    if let Some(name) = &raw.alert {
        steps.push((
            "alert",
            Step::Alert {
                name: nonempty("alert", name)?,
                labels: raw.labels.clone().unwrap_or_default(),
            },
        ));
    } else if raw.labels.is_some() {
        return Err(at("`labels` only applies to an `alert` beat".into()));
    }
    let step = match steps.len() {
        1 => steps.remove(0).1,
        0 => {
            return Err(at(
                "says nothing to do or wait for: give one of act, press, prompt, \
                 reply_contains, trace_calls, trace_lacks, exfil, alert"
                    .into(),
            ));
        }
        _ => {
            let fields: Vec<&str> = steps.iter().map(|(f, _)| *f).collect();
            return Err(at(format!(
                "does more than one thing ({}): split it into one beat each",
                fields.join(", ")
            )));
        }
    };
    Ok(Beat {
        name: name.clone(),
        step,
        timeout: seconds(raw.timeout, DEFAULT_TIMEOUT).map_err(|m| at(format!("timeout: {m}")))?,
        pause: seconds(raw.pause, Duration::ZERO).map_err(|m| at(format!("pause: {m}")))?,
        line,
    })
}

fn exfil(text: &str, hold: Duration) -> Result<Step, String> {
    let text = text.trim();
    if text == "unchanged" || text == "+0" {
        return Ok(Step::ExfilUnchanged { hold });
    }
    match text.strip_prefix('+').map(str::parse::<usize>) {
        Some(Ok(n)) if n > 0 => Ok(Step::ExfilRise(n)),
        _ => Err(format!(
            "`{text}`: write \"+N\" (rose by at least N since the last prompt) or \"unchanged\""
        )),
    }
}

fn reset(raw: &RawBeat) -> Result<Reset, String> {
    let press = raw
        .press
        .as_deref()
        .ok_or("needs `press` (the reset key, e.g. act_reset)")?;
    let press = Press::parse(press).map_err(|m| format!("press: {m}"))?;
    let act = act_number(raw.act.ok_or("needs `act` (the act it leads to, 1)")?)?;
    let others = [
        raw.prompt.is_some(),
        raw.reply_contains.is_some(),
        raw.trace_calls.is_some(),
        raw.trace_lacks.is_some(),
        raw.exfil.is_some(),
        raw.alert.is_some(),
        raw.pause.is_some(),
        raw.hold.is_some(),
        raw.labels.is_some(),
    ];
    if others.into_iter().any(|o| o) {
        return Err("takes only name, press, act and timeout".into());
    }
    Ok(Reset {
        name: raw.name.clone().unwrap_or_else(|| "reset".into()),
        press,
        act,
        timeout: seconds(raw.timeout, Duration::from_secs(120))
            .map_err(|m| format!("timeout: {m}"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_story_is_the_walkthroughs() {
        let story = Story::default_story().unwrap();
        let names: Vec<&str> = story.beats.iter().map(|b| b.name.as_str()).collect();
        for beat in [
            "ACT 1 shown",
            "send the customer prompt",
            "reply contains £4,287.55",
            "press u",
            "ACT 2 shown",
            "trace shows get_profile",
            "exfil +1",
            "press p",
            "ACT 3 shown",
            "exfil unchanged after the prompt",
            "IstioAuthZDeny firing with the converter's SPIFFE id",
        ] {
            assert!(names.contains(&beat), "{beat} missing from {names:?}");
        }
        let act2 = story
            .beats
            .iter()
            .find(|b| b.name == "ACT 2 shown")
            .unwrap();
        assert_eq!(act2.step, Step::Act(2));
        assert_eq!(act2.timeout, Duration::from_secs(90));
        assert_eq!(act2.pause, Duration::from_secs(2));
        let press = story.beats.iter().find(|b| b.name == "press u").unwrap();
        assert_eq!(press.step, Step::Press(Press::Action(Action::ActUpgrade)));
        let alert = story.beats.last().unwrap();
        assert_eq!(
            alert.step,
            Step::Alert {
                name: "IstioAuthZDeny".into(),
                labels: [(
                    "source_principal".to_string(),
                    "spiffe://cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter"
                        .to_string()
                )]
                .into()
            }
        );
        let reset = story.reset.unwrap();
        assert_eq!(
            (reset.press, reset.act),
            (Press::Action(Action::ActReset), 1)
        );
        assert_eq!(story.confirm_pause, Duration::from_millis(1500));
    }

    fn error(text: &str) -> StoryError {
        Story::parse(text, "s.toml").unwrap_err()
    }

    #[test]
    fn each_kind_of_beat_parses() {
        let story = Story::parse(
            r#"
[[beat]]
name = "a"
press = "Ctrl+P"
[[beat]]
name = "b"
prompt = "  hello there "
[[beat]]
name = "c"
exfil = "+2"
[[beat]]
name = "d"
exfil = "unchanged"
hold = 0.5
[[beat]]
name = "e"
trace_lacks = "get_profile"
timeout = 2.5
"#,
            "s.toml",
        )
        .unwrap();
        let steps: Vec<&Step> = story.beats.iter().map(|b| &b.step).collect();
        assert_eq!(
            steps,
            [
                &Step::Press(Press::Key(Key::parse("Ctrl+P").unwrap())),
                &Step::Prompt(Prompt::Text("hello there".into())),
                &Step::ExfilRise(2),
                &Step::ExfilUnchanged {
                    hold: Duration::from_millis(500)
                },
                &Step::TraceLacks("get_profile".into()),
            ]
        );
        assert_eq!(story.beats[4].timeout, Duration::from_millis(2500));
        assert_eq!(story.beats[0].timeout, DEFAULT_TIMEOUT);
        assert_eq!(story.beats[2].line, 8);
        assert_eq!(story.reset, None);
    }

    #[test]
    fn mistakes_name_the_line_and_the_field() {
        let e = error("[[beat]]\nname = \"x\"\nact = 4\n");
        assert_eq!(e.position.map(|p| p.line), Some(1));
        assert!(
            e.message.contains("beat 1 (x)") && e.message.contains("act = 4"),
            "{e}"
        );

        let e = error(
            "[[beat]]\nname = \"x\"\nact = 1\n\n[[beat]]\nname = \"y\"\nact = 2\nprompt = \"hi\"\n",
        );
        assert_eq!(e.position.map(|p| p.line), Some(5));
        assert!(
            e.message.contains("more than one thing (act, prompt)"),
            "{e}"
        );

        let e = error("[[beat]]\nname = \"x\"\nwait = 3\n");
        assert_eq!(e.position.map(|p| p.line), Some(3), "{e}");
        assert!(e.message.contains("wait"), "{e}");

        let e = error("[[beat]]\nname = \"x\"\nexfil = \"lots\"\n");
        assert!(e.message.contains("exfil: `lots`"), "{e}");

        let e = error("[[beat]]\nname = \"x\"\npress = \"act_upgrad\"\n");
        assert!(
            e.message.contains("press: `act_upgrad` is not a key"),
            "{e}"
        );

        let e = error("[[beat]]\nname = \"x\"\nact = 1\ntimeout = -1\n");
        assert!(e.message.contains("timeout: -1"), "{e}");

        let e = error("[[beat]]\nact = 1\n");
        assert!(e.message.contains("beat 1 has no `name`"), "{e}");

        let e = error("[[beat]]\nname = \"x\"\n");
        assert!(e.message.contains("says nothing to do"), "{e}");

        let e = error("[story]\ntitle = \"t\"\n");
        assert!(e.message.contains("no beats"), "{e}");

        let e = error("[[beat]\nname = 1\n");
        assert_eq!(e.position.map(|p| p.line), Some(1), "{e}");

        let e = error("[reset]\nname = \"r\"\nact = 1\n[[beat]]\nname = \"x\"\nact = 1\n");
        assert!(e.message.contains("[reset]: needs `press`"), "{e}");

        let e = error("[[beat]]\nname = \"x\"\nact = 1\nlabels = { a = \"b\" }\n");
        assert!(e.message.contains("`labels` only applies"), "{e}");

        let shown = error("[[beat]]\nname = \"x\"\nact = 9\n").to_string();
        assert!(
            shown.starts_with("story error in s.toml at line 1, column 1: "),
            "{shown}"
        );
    }

    #[test]
    fn a_file_that_is_not_there_or_not_utf8_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let missing = Story::load(Some(&dir.path().join("nope.toml"))).unwrap_err();
        assert!(missing.message.contains("cannot read it"), "{missing}");
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, b"[[beat]]\nname = \"\xff\"\n").unwrap();
        let e = Story::load(Some(&bad)).unwrap_err();
        assert!(e.message.contains("UTF-8"), "{e}");
        assert_eq!(Story::load(None).unwrap(), Story::default_story().unwrap());
    }
}
