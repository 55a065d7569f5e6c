//! Themes: a style per semantic [`Role`], from built-in files or the user's themes dir.
//!
//! Fallback chain per role: user file → built-in theme of the same name → built-in `default`.
//! A theme file may define only some roles.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use ratatui::style::Style;
use serde::Deserialize;

use super::error::{ThemeError, decode_utf8, describe_toml_error};
use super::paths::user_themes_dir;
use super::role::Role;
use super::style::StyleSpec;

/// Built-in themes, `(name, TOML source)`. `default` must define every role.
pub const BUILTIN_THEMES: [(&str, &str); 4] = [
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("video", include_str!("../../themes/video.toml")),
];

/// The name every theme falls back to.
const FALLBACK: &str = "default";

/// A theme file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a theme table")]
struct ThemeFile {
    /// Informational; the theme's name is the file name.
    #[allow(dead_code)]
    name: Option<String>,
    description: Option<String>,
    #[serde(default)]
    roles: BTreeMap<Role, StyleSpec>,
}

impl ThemeFile {
    fn parse(text: &str, origin: &str) -> Result<ThemeFile, ThemeError> {
        toml::from_str(text).map_err(|err| {
            let (position, message) = describe_toml_error(&err, text);
            ThemeError::Parse {
                origin: origin.to_string(),
                position,
                message,
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    name: String,
    description: String,
    styles: [Style; Role::COUNT],
}

impl Default for Theme {
    /// The built-in `default` theme.
    fn default() -> Self {
        Theme::builtin(FALLBACK).unwrap_or_else(|| Theme::empty(FALLBACK))
    }
}

impl Theme {
    /// Theme `name`: `<user_themes_dir>/<name>.toml` if present, else the built-in.
    /// `no_color` (NO_COLOR set) keeps only modifiers, see [`Theme::without_color`].
    pub fn load(name: &str, no_color: bool) -> Result<Theme, ThemeError> {
        Self::load_from(name, no_color, user_themes_dir().as_deref())
    }

    /// [`Theme::load`] with an explicit user themes dir (`None`: built-ins only).
    pub fn load_from(
        name: &str,
        no_color: bool,
        user_dir: Option<&Path>,
    ) -> Result<Theme, ThemeError> {
        let user_file = user_dir
            .filter(|_| is_valid_name(name))
            .map(|dir| dir.join(format!("{name}.toml")))
            .filter(|path| path.exists());
        let theme = match user_file {
            Some(path) => {
                let bytes = fs::read(&path).map_err(|cause| ThemeError::Read {
                    path: path.clone(),
                    cause,
                })?;
                let origin = path.display().to_string();
                let text =
                    decode_utf8(&bytes).map_err(|(position, message)| ThemeError::Parse {
                        origin: origin.clone(),
                        position: Some(position),
                        message,
                    })?;
                Theme::from_toml(name, text, &origin)?
            }
            None => Theme::builtin(name).ok_or_else(|| ThemeError::Unknown {
                name: name.to_string(),
                available: Theme::available_in(user_dir),
            })?,
        };
        Ok(if no_color {
            theme.without_color()
        } else {
            theme
        })
    }

    /// A built-in theme, without looking at the user's dir (for tests and snapshots).
    pub fn builtin(name: &str) -> Option<Theme> {
        let (_, text) = BUILTIN_THEMES.iter().find(|(n, _)| *n == name)?;
        let mut theme = if name == FALLBACK {
            Theme::empty(FALLBACK)
        } else {
            Theme::builtin(FALLBACK)?
        };
        // Built-ins are embedded and tested; a broken one is a build defect, reported as absent.
        let file = ThemeFile::parse(text, name).ok()?;
        theme.name = name.to_string();
        theme.overlay(file);
        Some(theme)
    }

    /// Theme `name` from TOML `text` (`origin` names it in errors), over the built-in of the
    /// same name if there is one, over the built-in `default`.
    pub fn from_toml(name: &str, text: &str, origin: &str) -> Result<Theme, ThemeError> {
        let file = ThemeFile::parse(text, origin)?;
        let mut theme = Theme::builtin(name)
            .or_else(|| Theme::builtin(FALLBACK))
            .unwrap_or_else(|| Theme::empty(name));
        theme.name = name.to_string();
        theme.overlay(file);
        Ok(theme)
    }

    pub fn style(&self, role: Role) -> Style {
        self.styles[role as usize]
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    /// Names of all themes: built-in and the user's themes dir, sorted, without duplicates.
    pub fn available() -> Vec<String> {
        Self::available_in(user_themes_dir().as_deref())
    }

    /// [`Theme::available`] with an explicit user themes dir.
    pub fn available_in(user_dir: Option<&Path>) -> Vec<String> {
        let mut names: Vec<String> = BUILTIN_THEMES.iter().map(|(n, _)| n.to_string()).collect();
        if let Some(entries) = user_dir.and_then(|dir| fs::read_dir(dir).ok()) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|ext| ext == "toml")
                    && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
                    && is_valid_name(stem)
                {
                    names.push(stem.to_string());
                }
            }
        }
        names.sort();
        names.dedup();
        names
    }

    /// The same theme with every colour dropped. Modifiers stay, and roles that colour
    /// alone told apart get bold/reversed/dim (see `Role::no_color_floor`).
    pub fn without_color(mut self) -> Theme {
        for role in Role::ALL {
            let style = self.styles[role as usize];
            let floor = role.no_color_floor();
            self.styles[role as usize] = Style::new()
                .add_modifier(style.add_modifier | floor)
                .remove_modifier(style.sub_modifier - floor);
        }
        self
    }

    fn empty(name: &str) -> Theme {
        Theme {
            name: name.to_string(),
            description: String::new(),
            styles: [Style::new(); Role::COUNT],
        }
    }

    /// Each role the file defines replaces that role's whole style.
    fn overlay(&mut self, file: ThemeFile) {
        if let Some(description) = file.description {
            self.description = description;
        }
        for (role, spec) in file.roles {
            self.styles[role as usize] = spec.to_style();
        }
    }
}

/// Theme names are file names in the user's dir: no separators, no leading dot.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::{Color, Modifier};

    fn builtin_roles(name: &str) -> BTreeMap<Role, StyleSpec> {
        let (_, text) = BUILTIN_THEMES.iter().find(|(n, _)| *n == name).unwrap();
        ThemeFile::parse(text, name).unwrap().roles
    }

    #[test]
    fn every_builtin_parses_and_defines_every_role() {
        for (name, _) in BUILTIN_THEMES {
            let roles = builtin_roles(name);
            for role in Role::ALL {
                assert!(roles.contains_key(&role), "theme {name} lacks role {role}");
            }
            let theme = Theme::builtin(name).unwrap();
            assert_eq!(theme.name(), name);
            assert!(!theme.description().is_empty());
        }
        assert_eq!(Theme::builtin("nope"), None);
        assert_eq!(Theme::default(), Theme::builtin("default").unwrap());
    }

    /// What survives a GIF palette and a beamer: nothing dim or italic, no role left to a
    /// dark grey, and the roles that carry meaning apart in hue (not one colour for two).
    #[test]
    fn the_video_theme_is_made_for_recordings() {
        let theme = Theme::builtin("video").unwrap();
        for role in Role::ALL {
            let style = theme.style(role);
            assert!(
                !style
                    .add_modifier
                    .intersects(Modifier::DIM | Modifier::ITALIC),
                "{role} is dim or italic"
            );
            if let Some(Color::Indexed(i)) = style.fg {
                // The grey ramp below #bcbcbc (250) and the darkest cube colours wash out.
                assert!(
                    i == 16 || !(232..250).contains(&i),
                    "{role} is a dark grey ({i})"
                );
            }
        }
        let hues: Vec<_> = [Role::Ok, Role::Warn, Role::Danger, Role::Accent]
            .map(|r| theme.style(r).fg)
            .to_vec();
        let mut unique = hues.clone();
        unique.dedup();
        assert_eq!(unique.len(), hues.len(), "{hues:?}");
    }

    #[test]
    fn partial_theme_falls_back_to_same_name_builtin_then_default() {
        let light = Theme::builtin("light").unwrap();
        let default = Theme::builtin("default").unwrap();

        let t = Theme::from_toml("light", "[roles]\nok = { fg = \"blue\" }\n", "x").unwrap();
        assert_eq!(t.style(Role::Ok), Style::new().fg(Color::Blue));
        assert_eq!(t.style(Role::Danger), light.style(Role::Danger));
        assert_eq!(t.description(), light.description());

        let t = Theme::from_toml("mine", "description = \"mine\"\n", "x").unwrap();
        assert_eq!(t.name(), "mine");
        assert_eq!(t.description(), "mine");
        for role in Role::ALL {
            assert_eq!(t.style(role), default.style(role));
        }
    }

    #[test]
    fn bad_theme_files_point_at_line_and_column() {
        let e = Theme::from_toml("x", "[roles]\ndnager = { bold = true }\n", "/t/x.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("theme error in /t/x.toml at line 2, column 1: "),
            "{e}"
        );
        assert!(e.contains("unknown variant `dnager`"), "{e}");

        let e = Theme::from_toml("x", "[roles]\nok = { fg = \"nope\" }\n", "/t/x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("at line 2, column 13"), "{e}");
        assert!(e.contains("#rrggbb"), "{e}");

        let e = Theme::from_toml("x", "colour = 1\n", "/t/x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `colour`"), "{e}");
    }

    #[test]
    fn no_color_keeps_only_modifiers_and_badges_stay_distinct() {
        for (name, _) in BUILTIN_THEMES {
            let t = Theme::builtin(name).unwrap().without_color();
            for role in Role::ALL {
                let s = t.style(role);
                assert_eq!((s.fg, s.bg), (None, None), "{name}/{role}");
            }
            for role in [Role::BadgeSim, Role::BadgeLive, Role::Selection] {
                assert!(
                    t.style(role).add_modifier.contains(Modifier::REVERSED),
                    "{name}/{role}"
                );
            }
            assert_ne!(t.style(Role::Selection), t.style(Role::Text));
            assert_ne!(t.style(Role::BorderFocus), t.style(Role::Border));
        }
        let t = Theme::from_toml("x", "[roles]\nbadge_sim = { bold = false }\n", "x")
            .unwrap()
            .without_color();
        assert!(
            t.style(Role::BadgeSim)
                .add_modifier
                .contains(Modifier::BOLD)
        );
        assert!(t.style(Role::BadgeSim).sub_modifier.is_empty());
    }

    #[test]
    fn load_from_user_dir_overrides_adds_and_lists() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("light.toml"),
            "[roles]\ntext = { fg = \"red\" }\n",
        )
        .unwrap();
        fs::write(dir.path().join("neon.toml"), "[roles]\nok = { fg = 46 }\n").unwrap();
        fs::write(dir.path().join("notes.txt"), "not a theme").unwrap();

        let t = Theme::load_from("light", false, Some(dir.path())).unwrap();
        assert_eq!(t.style(Role::Text), Style::new().fg(Color::Red));
        assert_eq!(
            t.style(Role::Danger),
            Theme::builtin("light").unwrap().style(Role::Danger)
        );
        let t = Theme::load_from("neon", false, Some(dir.path())).unwrap();
        assert_eq!(t.style(Role::Ok), Style::new().fg(Color::Indexed(46)));

        assert_eq!(
            Theme::available_in(Some(dir.path())),
            ["default", "high-contrast", "light", "neon", "video"]
        );
        let e = Theme::load_from("../neon", false, Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "unknown theme `../neon`; available themes: default, high-contrast, light, neon, video"
        );
        assert!(Theme::load_from("neon", false, None).is_err());
        assert!(
            Theme::load_from("light", true, None)
                .unwrap()
                .style(Role::Text)
                .fg
                .is_none()
        );
    }

    /// Approximate sRGB of a colour as xterm draws it by default.
    fn rgb(c: Color) -> (u8, u8, u8) {
        const ANSI: [(u8, u8, u8); 16] = [
            (0, 0, 0),
            (205, 0, 0),
            (0, 205, 0),
            (205, 205, 0),
            (0, 0, 238),
            (205, 0, 205),
            (0, 205, 205),
            (229, 229, 229),
            (127, 127, 127),
            (255, 0, 0),
            (0, 255, 0),
            (255, 255, 0),
            (92, 92, 255),
            (255, 0, 255),
            (0, 255, 255),
            (255, 255, 255),
        ];
        let level = |i: u8| if i == 0 { 0 } else { 55 + 40 * i };
        match c {
            Color::Rgb(r, g, b) => (r, g, b),
            Color::Indexed(i @ 0..=15) => ANSI[i as usize],
            Color::Indexed(i @ 16..=231) => {
                let i = i - 16;
                (level(i / 36), level(i / 6 % 6), level(i % 6))
            }
            Color::Indexed(i) => {
                let v = 8 + 10 * (i - 232);
                (v, v, v)
            }
            Color::Black => ANSI[0],
            Color::Red => ANSI[1],
            Color::Green => ANSI[2],
            Color::Yellow => ANSI[3],
            Color::Blue => ANSI[4],
            Color::Magenta => ANSI[5],
            Color::Cyan => ANSI[6],
            Color::Gray => ANSI[7],
            Color::DarkGray => ANSI[8],
            Color::LightRed => ANSI[9],
            Color::LightGreen => ANSI[10],
            Color::LightYellow => ANSI[11],
            Color::LightBlue => ANSI[12],
            Color::LightMagenta => ANSI[13],
            Color::LightCyan => ANSI[14],
            Color::White | Color::Reset => ANSI[15],
        }
    }

    /// WCAG contrast ratio.
    fn contrast(a: Color, b: Color) -> f64 {
        let lum = |c: Color| {
            let (r, g, b) = rgb(c);
            let lin = |v: u8| {
                let v = f64::from(v) / 255.0;
                if v <= 0.04045 {
                    v / 12.92
                } else {
                    ((v + 0.055) / 1.055).powf(2.4)
                }
            };
            0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
        };
        let (x, y) = (lum(a), lum(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    /// Every role but `border` must be readable on the background it is designed for.
    #[test]
    fn builtin_themes_are_readable_on_their_background() {
        for (name, terminal_bg, min) in [
            ("default", Color::Black, 4.5),
            ("light", Color::White, 4.5),
            ("high-contrast", Color::Black, 5.0),
        ] {
            let t = Theme::builtin(name).unwrap();
            let text_fg = t.style(Role::Text).fg.unwrap();
            for role in Role::ALL {
                if role == Role::Border {
                    continue;
                }
                let s = t.style(role);
                let (mut fg, mut bg) = (s.fg.unwrap_or(text_fg), s.bg.unwrap_or(terminal_bg));
                if s.add_modifier.contains(Modifier::REVERSED) {
                    std::mem::swap(&mut fg, &mut bg);
                }
                let ratio = contrast(fg, bg);
                assert!(ratio >= min, "{name}/{role}: contrast {ratio:.2} < {min}");
            }
        }
    }

    #[test]
    fn light_theme_has_no_yellow_text() {
        let t = Theme::builtin("light").unwrap();
        for role in Role::ALL {
            let fg = t.style(role).fg;
            assert!(
                !matches!(fg, Some(Color::Yellow | Color::LightYellow)),
                "light/{role} is yellow"
            );
        }
    }
}
