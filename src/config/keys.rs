//! The keymap: which keys do what on the main screen. One table (action → keys) with the
//! presenter's muscle-memory defaults, remappable under `[keys]`; `update`, the `?` overlay,
//! the footer and `--help` all read it, so they cannot disagree.
//!
//! Fixed, not remappable: `1`…`9` (focus a pane by position), `Ctrl+C` (cancel an act, else
//! quit, like the signal), and the keys inside the chat box, the links pane and the y/Enter
//! questions.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key can do on the main screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    ActReset,
    ActUpgrade,
    ActPoliciesOn,
    Chat,
    Trace,
    Mask,
    ActLog,
    Links,
    Zoom,
    NextPane,
    PrevPane,
    Down,
    Up,
    PageDown,
    PageUp,
    Top,
    Bottom,
    Detail,
    Logs,
    Events,
    CopyCommand,
    Filter,
    Problems,
    Timeline,
    Images,
    Doctor,
    DeletePod,
    Fold,
    Help,
    Quit,
}

impl Action {
    /// In the order the help overlay lists them.
    pub const ALL: [Action; 30] = [
        Action::ActReset,
        Action::ActUpgrade,
        Action::ActPoliciesOn,
        Action::Chat,
        Action::Trace,
        Action::Mask,
        Action::ActLog,
        Action::Links,
        Action::Zoom,
        Action::NextPane,
        Action::PrevPane,
        Action::Down,
        Action::Up,
        Action::PageDown,
        Action::PageUp,
        Action::Top,
        Action::Bottom,
        Action::Detail,
        Action::Logs,
        Action::Events,
        Action::CopyCommand,
        Action::Filter,
        Action::Problems,
        Action::Timeline,
        Action::Images,
        Action::Doctor,
        Action::DeletePod,
        Action::Fold,
        Action::Help,
        Action::Quit,
    ];

    /// The name under `[keys]`.
    pub fn name(self) -> &'static str {
        match self {
            Action::ActReset => "act_reset",
            Action::ActUpgrade => "act_upgrade",
            Action::ActPoliciesOn => "act_policies_on",
            Action::Chat => "chat",
            Action::Trace => "trace",
            Action::Mask => "mask",
            Action::ActLog => "act_log",
            Action::Links => "links",
            Action::Zoom => "zoom",
            Action::NextPane => "next_pane",
            Action::PrevPane => "prev_pane",
            Action::Down => "down",
            Action::Up => "up",
            Action::PageDown => "page_down",
            Action::PageUp => "page_up",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::Detail => "detail",
            Action::Logs => "logs",
            Action::Events => "events",
            Action::CopyCommand => "copy_command",
            Action::Filter => "filter",
            Action::Problems => "problems",
            Action::Timeline => "timeline",
            Action::Images => "images",
            Action::Doctor => "doctor",
            Action::DeletePod => "delete_pod",
            Action::Fold => "fold",
            Action::Help => "help",
            Action::Quit => "quit",
        }
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    /// What the help overlay says it does.
    pub fn describe(self) -> &'static str {
        match self {
            Action::ActReset => "act 1 · reset-demo (asks y/Enter)",
            Action::ActUpgrade => "act 2 · upgrade-banking-app (asks y/Enter)",
            Action::ActPoliciesOn => "act 3 · policies-on (asks y/Enter)",
            Action::Chat => "type in the chat box (Enter send, Esc leave)",
            Action::Trace => "show / hide the tool-call trace",
            Action::Mask => "mask / show the PII of the stolen record",
            Action::ActLog => "show / hide the act log",
            Action::Links => "links: port-forwards (o open, y copy)",
            Action::Zoom => "zoom the focused pane (Esc leaves)",
            Action::NextPane => "next pane",
            Action::PrevPane => "previous pane",
            Action::Down => "scroll down a row",
            Action::Up => "scroll up a row",
            Action::PageDown => "scroll down a page",
            Action::PageUp => "scroll up a page",
            Action::Top => "to the top",
            Action::Bottom => "to the bottom",
            Action::Detail => "describe the selected pod or deployment (Esc back)",
            Action::Logs => "logs of the selected pod (deployment: newest Ready pod)",
            Action::Events => "events of the selection (a namespace: all its events)",
            Action::CopyCommand => "copy the kubectl command for what is on screen",
            Action::Filter => "filter every pane (text, or re:regex; Esc clears)",
            Action::Problems => "problems in every cluster (Enter opens one)",
            Action::Timeline => "every cluster's events, merged by time",
            Action::Images => "every workload's images, cluster by cluster",
            Action::Doctor => "preflight doctor (Enter evidence + fix, y copy fix)",
            Action::DeletePod => "delete the selected pod (asks y/Enter)",
            Action::Fold => "unfold / fold the platform namespaces (Enter: one)",
            Action::Help => "this help (Esc closes)",
            Action::Quit => "quit (asks while an act runs)",
        }
    }

    fn default_keys(self) -> &'static [&'static str] {
        match self {
            Action::ActReset => &["r"],
            Action::ActUpgrade => &["u"],
            Action::ActPoliciesOn => &["p"],
            Action::Chat => &["i"],
            Action::Trace => &["t"],
            Action::Mask => &["m"],
            Action::ActLog => &["a"],
            Action::Links => &["L"],
            Action::Zoom => &["z"],
            Action::NextPane => &["Tab"],
            Action::PrevPane => &["Shift+Tab"],
            Action::Down => &["j", "Down"],
            Action::Up => &["k", "Up"],
            Action::PageDown => &["PgDn", "Space"],
            Action::PageUp => &["PgUp"],
            Action::Top => &["Home", "g"],
            Action::Bottom => &["End", "G"],
            Action::Detail => &["Enter", "d"],
            Action::Logs => &["l"],
            Action::Events => &["e"],
            Action::CopyCommand => &["y"],
            Action::Filter => &["/"],
            Action::Problems => &["!"],
            Action::Timeline => &["E"],
            Action::Images => &["I"],
            Action::Doctor => &["D"],
            Action::DeletePod => &["Ctrl+D"],
            Action::Fold => &["f"],
            Action::Help => &["?"],
            Action::Quit => &["q"],
        }
    }
}

/// One key: a code and whether Ctrl or Alt is held. Shift is part of the code (`L`, `?`,
/// `Shift+Tab`), because that is how terminals report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub fn of(event: &KeyEvent) -> Key {
        Key {
            code: event.code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
            alt: event.modifiers.contains(KeyModifiers::ALT),
        }
    }

    /// `u`, `Ctrl+P`, `Shift+Tab`, `PgDn`, `F5`, `Space` …
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut shift = false;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("ctrl+").or(lower.strip_prefix("c-")) {
                ctrl = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("alt+").or(lower.strip_prefix("m-")) {
                alt = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("shift+") {
                shift = true;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let bad = || {
            format!(
                "`{text}` is not a key; write a character (`u`, `L`, `?`) or a name \
                 (Enter, Esc, Tab, Space, Up, Down, Left, Right, Home, End, PgUp, PgDn, \
                 Backspace, Delete, Insert, F1…F12), optionally after Ctrl+ / Alt+ / Shift+"
            )
        };
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (None, _) => return Err(bad()),
            (Some(c), None) => {
                if c.is_control() {
                    return Err(bad());
                }
                if shift {
                    KeyCode::Char(c.to_ascii_uppercase())
                } else if ctrl {
                    // Terminals report Ctrl+P as `p` with Ctrl held.
                    KeyCode::Char(c.to_ascii_lowercase())
                } else {
                    KeyCode::Char(c)
                }
            }
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" if shift => KeyCode::BackTab,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "space" => KeyCode::Char(' '),
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pgup" | "pageup" => KeyCode::PageUp,
                "pgdn" | "pagedown" => KeyCode::PageDown,
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "insert" | "ins" => KeyCode::Insert,
                f if f.starts_with('f') => match f[1..].parse::<u8>() {
                    Ok(n @ 1..=12) => KeyCode::F(n),
                    _ => return Err(bad()),
                },
                _ => return Err(bad()),
            },
        };
        Ok(Key { code, ctrl, alt })
    }

    /// Keys the keymap cannot take: the digits that focus panes, and Ctrl+C.
    fn reserved(&self) -> Option<&'static str> {
        match self.code {
            KeyCode::Char('1'..='9') if !self.ctrl && !self.alt => {
                Some("the digits 1-9 focus the panes")
            }
            KeyCode::Char('c') if self.ctrl && !self.alt => {
                Some("Ctrl+C cancels the running act (or quits)")
            }
            _ => None,
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl+")?;
        }
        if self.alt {
            f.write_str("Alt+")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) if self.ctrl => write!(f, "{}", c.to_ascii_uppercase()),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift+Tab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Backspace => f.write_str("Backspace"),
            KeyCode::Delete => f.write_str("Delete"),
            KeyCode::Insert => f.write_str("Insert"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// Action → keys, and the reverse for lookups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: BTreeMap<Action, Vec<Key>>,
}

impl Default for Keymap {
    fn default() -> Self {
        let bindings = Action::ALL
            .into_iter()
            .map(|a| {
                let keys = a
                    .default_keys()
                    .iter()
                    .map(|k| Key::parse(k).unwrap_or_else(|e| unreachable!("default key: {e}")))
                    .collect();
                (a, keys)
            })
            .collect();
        Keymap { bindings }
    }
}

/// Why a `[keys]` entry was refused; the index is the entry's place in the user's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeymapError {
    pub entry: usize,
    /// The action's name is wrong (else its keys are).
    pub at_name: bool,
    pub message: String,
}

impl Keymap {
    /// The defaults with the user's entries (`action name`, `keys`) in place of theirs.
    /// Unknown actions, unparseable keys, reserved keys and a key bound to two actions are
    /// refused.
    pub fn with_overrides(entries: &[(String, Vec<String>)]) -> Result<Keymap, KeymapError> {
        let mut map = Keymap::default();
        let mut set_by = BTreeMap::new();
        for (i, (name, keys)) in entries.iter().enumerate() {
            let fail = |message: String| KeymapError {
                entry: i,
                at_name: false,
                message,
            };
            let action = Action::from_name(name).ok_or_else(|| KeymapError {
                entry: i,
                at_name: true,
                message: format!(
                    "unknown action `{name}` in [keys]; actions: {}",
                    Action::ALL.map(Action::name).join(", ")
                ),
            })?;
            if keys.is_empty() {
                return Err(fail(format!("keys.{name} needs at least one key")));
            }
            let mut parsed = Vec::new();
            for text in keys {
                let key = Key::parse(text).map_err(|e| fail(format!("keys.{name}: {e}")))?;
                if let Some(why) = key.reserved() {
                    return Err(fail(format!("keys.{name}: `{text}` is reserved: {why}")));
                }
                if !parsed.contains(&key) {
                    parsed.push(key);
                }
            }
            map.bindings.insert(action, parsed);
            set_by.insert(action, i);
        }
        // A key doing two things: name both. Blame the user's entry (the later one if both are).
        let mut owner: BTreeMap<String, Action> = BTreeMap::new();
        for (action, keys) in &map.bindings {
            for key in keys {
                let id = format!("{key:?}");
                if let Some(first) = owner.insert(id, *action) {
                    let entry = set_by
                        .get(action)
                        .or_else(|| set_by.get(&first))
                        .copied()
                        .unwrap_or(0);
                    return Err(KeymapError {
                        entry,
                        at_name: false,
                        message: format!(
                            "`{key}` is bound to both {} and {}; a key does one thing",
                            first.name(),
                            action.name()
                        ),
                    });
                }
            }
        }
        Ok(map)
    }

    /// The action this key does on the main screen, if any.
    pub fn action(&self, event: &KeyEvent) -> Option<Action> {
        let key = Key::of(event);
        self.bindings
            .iter()
            .find(|(_, keys)| keys.contains(&key))
            .map(|(a, _)| *a)
    }

    pub fn keys(&self, action: Action) -> &[Key] {
        self.bindings.get(&action).map_or(&[], Vec::as_slice)
    }

    /// The first key, as shown in the footer (`u`).
    pub fn first(&self, action: Action) -> String {
        self.keys(action)
            .first()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// Every key, as the help overlay shows them (`j ↓`).
    pub fn all(&self, action: Action) -> String {
        self.keys(action)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// One line for `--help`: `r/u/p acts 1-3 · i chat · …`.
    pub fn summary(&self) -> String {
        let k = |a| self.first(a);
        format!(
            "{}/{}/{} acts 1-3 · {} chat · {} trace · {} mask · 1-9 focus · {} next · {}/{} select · {} zoom · {} act log · {} links · {} describe · {} logs · {} events · {} copy kubectl · {} filter · {} problems · {} timeline · {} images · {} doctor · {} delete pod · {} help · {} quit",
            k(Action::ActReset),
            k(Action::ActUpgrade),
            k(Action::ActPoliciesOn),
            k(Action::Chat),
            k(Action::Trace),
            k(Action::Mask),
            k(Action::NextPane),
            k(Action::Down),
            k(Action::Up),
            k(Action::Zoom),
            k(Action::ActLog),
            k(Action::Links),
            self.all(Action::Detail).replace(' ', "/"),
            k(Action::Logs),
            k(Action::Events),
            k(Action::CopyCommand),
            k(Action::Filter),
            k(Action::Problems),
            k(Action::Timeline),
            k(Action::Images),
            k(Action::Doctor),
            k(Action::DeletePod),
            k(Action::Help),
            k(Action::Quit),
        )
    }

    /// `[keys]` as TOML, every action with its keys (what `Config::to_toml` writes).
    pub fn entries(&self) -> Vec<(String, Vec<String>)> {
        self.bindings
            .iter()
            .map(|(a, keys)| {
                (
                    a.name().to_string(),
                    keys.iter().map(|k| k.spec()).collect(),
                )
            })
            .collect()
    }
}

impl Key {
    /// How the key is written in `[keys]` (parses back to itself).
    pub fn spec(&self) -> String {
        let mut out = String::new();
        if self.ctrl {
            out.push_str("Ctrl+");
        }
        if self.alt {
            out.push_str("Alt+");
        }
        let name = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Up => "Up".into(),
            KeyCode::Down => "Down".into(),
            KeyCode::Left => "Left".into(),
            KeyCode::Right => "Right".into(),
            _ => self
                .to_string()
                .trim_start_matches("Ctrl+")
                .trim_start_matches("Alt+")
                .to_string(),
        };
        out.push_str(&name);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn defaults_are_the_presenters_keys() {
        let map = Keymap::default();
        let none = KeyModifiers::NONE;
        assert_eq!(
            map.action(&press(KeyCode::Char('u'), none)),
            Some(Action::ActUpgrade)
        );
        assert_eq!(
            map.action(&press(KeyCode::Char('L'), KeyModifiers::SHIFT)),
            Some(Action::Links),
            "terminals report L with Shift held"
        );
        assert_eq!(
            map.action(&press(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Action::PrevPane)
        );
        assert_eq!(
            map.action(&press(KeyCode::Char(' '), none)),
            Some(Action::PageDown)
        );
        assert_eq!(map.action(&press(KeyCode::Down, none)), Some(Action::Down));
        assert_eq!(
            map.action(&press(KeyCode::Char('r'), KeyModifiers::CONTROL)),
            None,
            "Ctrl+R is not r"
        );
        assert_eq!(map.action(&press(KeyCode::Char('1'), none)), None);
        assert_eq!(map.first(Action::Down), "j");
        assert_eq!(map.all(Action::Down), "j ↓");
    }

    #[test]
    fn keys_parse_and_print_back() {
        for (text, shown) in [
            ("u", "u"),
            ("L", "L"),
            ("Shift+l", "L"),
            ("Ctrl+P", "Ctrl+P"),
            ("ctrl+p", "Ctrl+P"),
            ("Alt+x", "Alt+x"),
            ("Shift+Tab", "Shift+Tab"),
            ("PgDn", "PgDn"),
            ("pagedown", "PgDn"),
            ("Space", "Space"),
            ("F5", "F5"),
            ("?", "?"),
        ] {
            let key = Key::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(key.to_string(), shown, "{text}");
            assert_eq!(Key::parse(&key.spec()), Ok(key), "{text} round-trips");
        }
        for bad in ["", "Ctrl+", "F13", "F0", "nope", "\u{7}", "Hyper+x"] {
            assert!(Key::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn a_remapped_key_moves_and_the_old_one_is_free() {
        let map = Keymap::with_overrides(&[("act_upgrade".into(), vec!["U".into()])]).unwrap();
        let shift = KeyModifiers::SHIFT;
        assert_eq!(
            map.action(&press(KeyCode::Char('U'), shift)),
            Some(Action::ActUpgrade)
        );
        assert_eq!(
            map.action(&press(KeyCode::Char('u'), KeyModifiers::NONE)),
            None
        );
        assert!(
            map.summary().starts_with("r/U/p acts 1-3"),
            "{}",
            map.summary()
        );
    }

    #[test]
    fn bad_bindings_are_refused_with_the_entry() {
        let err = |entries: &[(&str, &[&str])]| {
            let entries: Vec<(String, Vec<String>)> = entries
                .iter()
                .map(|(a, k)| (a.to_string(), k.iter().map(|s| s.to_string()).collect()))
                .collect();
            Keymap::with_overrides(&entries).unwrap_err()
        };
        let e = err(&[("trace", &["x"]), ("act_upgrade", &["r"])]);
        assert_eq!(e.entry, 1);
        assert!(
            e.message
                .contains("`r` is bound to both act_reset and act_upgrade"),
            "{}",
            e.message
        );
        let e = err(&[("acts", &["x"])]);
        assert!(
            e.message.starts_with("unknown action `acts` in [keys]"),
            "{}",
            e.message
        );
        let e = err(&[("quit", &["3"])]);
        assert!(e.message.contains("reserved"), "{}", e.message);
        let e = err(&[("quit", &["Ctrl+C"])]);
        assert!(e.message.contains("reserved"), "{}", e.message);
        let e = err(&[("quit", &[])]);
        assert!(e.message.contains("at least one key"), "{}", e.message);
        let e = err(&[("zoom", &["Ctrl+Banana"])]);
        assert!(e.message.contains("is not a key"), "{}", e.message);
        // Swapping two defaults is fine.
        let entries = vec![
            ("act_reset".to_string(), vec!["u".to_string()]),
            ("act_upgrade".to_string(), vec!["r".to_string()]),
        ];
        assert!(Keymap::with_overrides(&entries).is_ok());
    }
}

/// `[keys]` in a file: one key or a list of keys per action.
#[derive(Debug, Clone)]
pub enum KeysValue {
    One(String),
    Many(Vec<String>),
}

impl<'de> serde::Deserialize<'de> for KeysValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = KeysValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"a key like "u" or a list of keys like ["j", "Down"]"#)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<KeysValue, E> {
                Ok(KeysValue::One(v.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<KeysValue, A::Error> {
                let mut keys = Vec::new();
                while let Some(k) = seq.next_element::<String>()? {
                    keys.push(k);
                }
                Ok(KeysValue::Many(keys))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl KeysValue {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            KeysValue::One(k) => vec![k],
            KeysValue::Many(ks) => ks,
        }
    }
}

impl serde::Serialize for Keymap {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let entries = self.entries();
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (name, keys) in &entries {
            map.serialize_entry(name, keys)?;
        }
        map.end()
    }
}

impl<'de> serde::Deserialize<'de> for Keymap {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let table: BTreeMap<String, KeysValue> = BTreeMap::deserialize(deserializer)?;
        let entries: Vec<(String, Vec<String>)> = table
            .into_iter()
            .map(|(name, keys)| (name, keys.into_vec()))
            .collect();
        Keymap::with_overrides(&entries).map_err(|e| serde::de::Error::custom(e.message))
    }
}
