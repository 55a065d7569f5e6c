//! One role's style as written in a theme file, and colour parsing.

use std::fmt;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// `{ fg = "...", bg = "...", bold = true, ... }`. `false` removes a modifier when the style
/// is patched over another (e.g. a non-bold cell in a bold row).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a style table like { fg = \"red\", bold = true }"
)]
pub(crate) struct StyleSpec {
    fg: Option<ColorSpec>,
    bg: Option<ColorSpec>,
    bold: Option<bool>,
    dim: Option<bool>,
    italic: Option<bool>,
    underlined: Option<bool>,
    reversed: Option<bool>,
}

impl StyleSpec {
    pub(crate) fn to_style(&self) -> Style {
        let mut style = Style::new();
        if let Some(ColorSpec(fg)) = self.fg {
            style = style.fg(fg);
        }
        if let Some(ColorSpec(bg)) = self.bg {
            style = style.bg(bg);
        }
        for (flag, modifier) in [
            (self.bold, Modifier::BOLD),
            (self.dim, Modifier::DIM),
            (self.italic, Modifier::ITALIC),
            (self.underlined, Modifier::UNDERLINED),
            (self.reversed, Modifier::REVERSED),
        ] {
            style = match flag {
                Some(true) => style.add_modifier(modifier),
                Some(false) => style.remove_modifier(modifier),
                None => style,
            };
        }
        style
    }
}

/// A colour: a ratatui name (`red`, `light_blue`, `dark gray` …), `#rrggbb`, or a 0-255
/// index (as a number or a string).
pub fn parse_color(text: &str) -> Option<Color> {
    text.trim().parse().ok()
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct ColorSpec(Color);

const EXPECTED_COLOR: &str =
    "a colour name (e.g. \"red\", \"light_blue\"), \"#rrggbb\" or a 0-255 index";

impl<'de> Deserialize<'de> for ColorSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ColorVisitor;
        impl Visitor<'_> for ColorVisitor {
            type Value = ColorSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED_COLOR)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ColorSpec, E> {
                parse_color(v)
                    .map(ColorSpec)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ColorSpec, E> {
                u8::try_from(v)
                    .map(|i| ColorSpec(Color::Indexed(i)))
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ColorSpec, E> {
                u8::try_from(v)
                    .map(|i| ColorSpec(Color::Indexed(i)))
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
        }
        deserializer.deserialize_any(ColorVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Result<Style, String> {
        #[derive(Deserialize)]
        struct Wrap {
            s: StyleSpec,
        }
        toml::from_str::<Wrap>(&format!("s = {text}"))
            .map(|w| w.s.to_style())
            .map_err(|e| e.message().to_string())
    }

    #[test]
    fn colours_parse_by_name_hex_and_index() {
        assert_eq!(parse_color("red"), Some(Color::Red));
        assert_eq!(parse_color("light_blue"), Some(Color::LightBlue));
        assert_eq!(parse_color("Dark Gray"), Some(Color::DarkGray));
        assert_eq!(parse_color("grey"), Some(Color::Gray));
        assert_eq!(parse_color("#ff5f00"), Some(Color::Rgb(255, 95, 0)));
        assert_eq!(parse_color("208"), Some(Color::Indexed(208)));
        assert_eq!(parse_color("reset"), Some(Color::Reset));
        for bad in ["", "#ff", "#gggggg", "256", "blurple", "#éééé", "-1"] {
            assert_eq!(parse_color(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn style_spec_builds_a_style() {
        assert_eq!(
            spec(r##"{ fg = "#ff5f5f", bg = 236, bold = true }"##).unwrap(),
            Style::new()
                .fg(Color::Rgb(255, 95, 95))
                .bg(Color::Indexed(236))
                .add_modifier(Modifier::BOLD)
        );
        assert_eq!(
            spec("{ reversed = true, dim = true, italic = true, underlined = true }").unwrap(),
            Style::new().add_modifier(
                Modifier::REVERSED | Modifier::DIM | Modifier::ITALIC | Modifier::UNDERLINED
            )
        );
        assert_eq!(
            spec("{ bold = false }").unwrap(),
            Style::new().remove_modifier(Modifier::BOLD)
        );
        assert_eq!(spec("{}").unwrap(), Style::new());
    }

    #[test]
    fn bad_style_specs_say_what_was_expected() {
        let e = spec(r#"{ fg = "blurple" }"#).unwrap_err();
        assert!(e.contains("invalid value: string \"blurple\""), "{e}");
        assert!(e.contains("#rrggbb"), "{e}");
        let e = spec("{ fg = 300 }").unwrap_err();
        assert!(e.contains("300"), "{e}");
        let e = spec("{ fg = true }").unwrap_err();
        assert!(e.contains("invalid type: boolean"), "{e}");
        let e = spec("{ blink = true }").unwrap_err();
        assert!(e.contains("unknown field `blink`"), "{e}");
        let e = spec(r#"{ bold = "yes" }"#).unwrap_err();
        assert!(e.contains("expected a boolean"), "{e}");
    }
}
