//! Semantic roles: what a piece of the UI means. Widgets ask the theme for a role, never a colour.

use std::fmt;

use ratatui::style::Modifier;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Ordinary text.
    Text,
    /// Secondary text: ages, hints, labels.
    Muted,
    /// Something to look at: the current act, key names.
    Accent,
    /// The focused pane or item.
    Focus,
    /// Healthy, running, succeeded.
    Ok,
    /// Degraded, pending, restarting.
    Warn,
    /// Failed, compromised, exfiltration seen.
    Danger,
    /// Neutral notices.
    Info,
    /// Pane borders.
    Border,
    /// The focused pane's border.
    BorderFocus,
    /// Table headers and the top bar.
    Header,
    /// The SIMULATED badge.
    BadgeSim,
    /// The LIVE badge.
    BadgeLive,
    /// The selected row.
    Selection,
    /// A cluster that cannot be reached, and its stale rows.
    Unreachable,
    /// Pane titles.
    Title,
}

impl Role {
    pub const COUNT: usize = 16;

    /// Every role, in declaration order (`ALL[r as usize] == r`).
    pub const ALL: [Role; Role::COUNT] = [
        Role::Text,
        Role::Muted,
        Role::Accent,
        Role::Focus,
        Role::Ok,
        Role::Warn,
        Role::Danger,
        Role::Info,
        Role::Border,
        Role::BorderFocus,
        Role::Header,
        Role::BadgeSim,
        Role::BadgeLive,
        Role::Selection,
        Role::Unreachable,
        Role::Title,
    ];

    /// The key used in theme files.
    pub fn key(self) -> &'static str {
        match self {
            Role::Text => "text",
            Role::Muted => "muted",
            Role::Accent => "accent",
            Role::Focus => "focus",
            Role::Ok => "ok",
            Role::Warn => "warn",
            Role::Danger => "danger",
            Role::Info => "info",
            Role::Border => "border",
            Role::BorderFocus => "border_focus",
            Role::Header => "header",
            Role::BadgeSim => "badge_sim",
            Role::BadgeLive => "badge_live",
            Role::Selection => "selection",
            Role::Unreachable => "unreachable",
            Role::Title => "title",
        }
    }

    pub fn from_key(key: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.key() == key)
    }

    /// Modifiers a role keeps without colour (NO_COLOR), so that what colour told apart
    /// (badges, the selection, focus, danger) is still told apart.
    pub(crate) fn no_color_floor(self) -> Modifier {
        match self {
            Role::BadgeSim | Role::BadgeLive => Modifier::REVERSED | Modifier::BOLD,
            Role::Selection => Modifier::REVERSED,
            Role::Focus | Role::BorderFocus | Role::Title | Role::Header | Role::Danger => {
                Modifier::BOLD
            }
            Role::Muted => Modifier::DIM,
            Role::Unreachable => Modifier::DIM | Modifier::ITALIC,
            _ => Modifier::empty(),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_declaration_order_and_keys_round_trip() {
        for (i, role) in Role::ALL.into_iter().enumerate() {
            assert_eq!(role as usize, i);
            assert_eq!(Role::from_key(role.key()), Some(role));
        }
        assert_eq!(Role::from_key("nope"), None);
    }

    #[test]
    fn serde_names_match_keys() {
        for role in Role::ALL {
            let parsed: std::collections::BTreeMap<Role, u8> =
                toml::from_str(&format!("{} = 1", role.key())).unwrap();
            assert_eq!(parsed.keys().next(), Some(&role));
        }
    }
}
