//! `/`: the one filter every pane applies. Typing applies it at once (a regex that does not
//! compile keeps the last good filter and says why), Enter keeps it and closes the box, Esc
//! clears it.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::model::Model;
use crate::model::filter::{Filter, MAX_FILTER_CHARS};
use crate::msg::Effect;

/// `/`: opens the box on the filter in force, to edit it.
pub(super) fn open(model: &mut Model) -> Vec<Effect> {
    let current = model.active_filter().unwrap_or_default().to_string();
    model.filter_input = Some(current);
    model.filter_error = None;
    Vec::new()
}

/// Every pane takes `filter`.
pub(super) fn apply(model: &mut Model, filter: Option<Filter>) {
    for c in &mut model.clusters {
        c.set_filter(filter.clone());
    }
}

pub(super) fn clear(model: &mut Model) {
    model.filter_input = None;
    model.filter_error = None;
    if model.active_filter().is_some() {
        apply(model, None);
    }
}

/// Keys while the box is open: they type, nothing else happens.
pub(super) fn on_key(model: &mut Model, key: &KeyEvent) -> Vec<Effect> {
    let Some(text) = model.filter_input.as_mut() else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Esc => {
            clear(model);
            return Vec::new();
        }
        KeyCode::Enter => {
            model.filter_input = None;
            model.filter_error = None;
            return Vec::new();
        }
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => text.clear(),
        KeyCode::Char(c)
            if !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
                && !c.is_control() =>
        {
            if text.chars().count() >= MAX_FILTER_CHARS {
                return Vec::new();
            }
            text.push(c);
        }
        _ => return Vec::new(),
    }
    let typed = text.clone();
    match Filter::parse(&typed) {
        Ok(filter) => {
            model.filter_error = None;
            if filter.as_ref().map(|f| f.text.as_str()) != model.active_filter() {
                apply(model, filter);
            }
        }
        Err(why) => model.filter_error = Some(why),
    }
    Vec::new()
}
