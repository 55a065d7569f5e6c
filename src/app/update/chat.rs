//! The chat box: typing, history, sending a prompt, and folding the agent's events into the
//! transcript and the trace.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::notice;
use crate::model::Model;
use crate::model::chat::{CANONICAL_PROMPT, ChatEntry, MAX_PROMPT_CHARS, Speaker, TraceEntry};
use crate::msg::{ChatEvent, Effect};

pub(super) fn on_chat_event(model: &mut Model, event: ChatEvent) {
    let now = model.now;
    let chat = &mut model.chat;
    match event {
        ChatEvent::Agent { name, .. } => chat.agent = Some(name),
        ChatEvent::Text { text, append } => match chat.transcript.last_mut() {
            Some(last) if last.speaker == Speaker::Agent && chat.pending => {
                if !append && !last.text.is_empty() {
                    last.text.push('\n');
                }
                last.text.push_str(&text);
            }
            _ => chat.push_entry(ChatEntry {
                speaker: Speaker::Agent,
                text,
                at: now,
                latency_ms: None,
            }),
        },
        ChatEvent::ToolCall {
            id,
            name,
            args,
            author,
        } => chat.push_trace(TraceEntry::call(now, &id, &name, &args, author.as_deref())),
        ChatEvent::ToolResult { id, name, response } => {
            chat.push_trace(TraceEntry::result(now, &id, &name, &response))
        }
        ChatEvent::Raw(v) => chat.push_trace(TraceEntry::raw(now, &v)),
        ChatEvent::State(_) => {}
        ChatEvent::Done { latency } => {
            let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
            match chat.transcript.last_mut() {
                Some(last) if last.speaker == Speaker::Agent && chat.pending => {
                    last.latency_ms = Some(ms)
                }
                _ => chat.push_entry(ChatEntry {
                    speaker: Speaker::Agent,
                    text: "(no text)".into(),
                    at: now,
                    latency_ms: Some(ms),
                }),
            }
            chat.pending = false;
            chat.exchanges += 1;
        }
        ChatEvent::Error(e) => {
            chat.push_entry(ChatEntry {
                speaker: Speaker::Error,
                text: e,
                at: now,
                latency_ms: None,
            });
            chat.pending = false;
            chat.exchanges += 1;
        }
    }
}

pub(super) fn on_chat_key(model: &mut Model, key: KeyEvent) -> Vec<Effect> {
    let chat = &mut model.chat;
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc => chat.focused = false,
        KeyCode::Enter if !alt => {
            let prompt = chat.prompt();
            if prompt.trim().is_empty() || chat.pending {
                // The box keeps what was typed while the agent is still answering.
                return send_prompt(model, prompt);
            }
            chat.set_prompt("");
            return send_prompt(model, prompt);
        }
        KeyCode::Char('p') if ctrl => chat.set_prompt(CANONICAL_PROMPT),
        KeyCode::Up if chat.input.len() <= 1 && !chat.history.is_empty() => {
            let pos = chat
                .history_pos
                .map_or(chat.history.len() - 1, |p| p.saturating_sub(1));
            chat.history_pos = Some(pos);
            let text = chat.history[pos].clone();
            chat.set_prompt(&text);
        }
        KeyCode::Down if chat.input.len() <= 1 && chat.history_pos.is_some() => {
            let next = chat
                .history_pos
                .map(|p| p + 1)
                .filter(|p| *p < chat.history.len());
            chat.history_pos = next;
            let text = next.map(|p| chat.history[p].clone()).unwrap_or_default();
            chat.set_prompt(&text);
        }
        _ => edit_prompt(chat, key),
    }
    Vec::new()
}

/// One exchange at a time: the prompt goes into the transcript and the history, and out as
/// an effect. The chat box's Enter and a headless prompt both come here.
pub(super) fn send_prompt(model: &mut Model, prompt: String) -> Vec<Effect> {
    let prompt = prompt.trim().to_string();
    if prompt.is_empty() {
        return Vec::new();
    }
    if model.chat.pending {
        notice(model, "the agent is still answering");
        return Vec::new();
    }
    let now = model.now;
    let chat = &mut model.chat;
    chat.history.retain(|h| *h != prompt);
    chat.history.push(prompt.clone());
    chat.history_pos = None;
    chat.pending = true;
    chat.push_entry(ChatEntry {
        speaker: Speaker::Customer,
        text: prompt.clone(),
        at: now,
        latency_ms: None,
    });
    vec![Effect::SendPrompt(prompt)]
}

/// Ordinary editing goes through the text-area widget's own key handling, on a copy built
/// from the model's lines, so the model stays plain data.
fn edit_prompt(chat: &mut crate::model::chat::ChatModel, key: KeyEvent) {
    // A full box takes no more characters, cheaply: a pasted megabyte is a million keys.
    let typing = matches!(key.code, KeyCode::Char(_) | KeyCode::Tab) || key.code == KeyCode::Enter;
    if typing
        && chat
            .input
            .iter()
            .map(|l| l.chars().count() + 1)
            .sum::<usize>()
            >= MAX_PROMPT_CHARS
    {
        return;
    }
    let mut area = ratatui_textarea::TextArea::new(if chat.input.is_empty() {
        vec![String::new()]
    } else {
        chat.input.clone()
    });
    area.move_cursor(ratatui_textarea::CursorMove::Jump(
        u16::try_from(chat.cursor.0).unwrap_or(u16::MAX),
        u16::try_from(chat.cursor.1).unwrap_or(u16::MAX),
    ));
    if key.code == KeyCode::Enter {
        area.insert_newline();
    } else {
        area.input(key);
    }
    let lines = area.lines().to_vec();
    let chars: usize = lines.iter().map(|l| l.chars().count() + 1).sum();
    if chars > MAX_PROMPT_CHARS {
        return;
    }
    chat.input = lines;
    let cursor = area.cursor();
    chat.cursor = (cursor.0, cursor.1);
}
