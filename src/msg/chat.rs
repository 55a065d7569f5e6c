//! News from the chat exchange under way: what the agent said, the tool calls it made, how
//! it ended.

use std::time::Duration;

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    /// The agent's name from its card.
    Agent {
        name: String,
        streaming: bool,
    },
    /// Reply text; `append` continues the previous text.
    Text {
        text: String,
        append: bool,
    },
    ToolCall {
        id: String,
        name: String,
        args: Value,
        /// The agent that made the call (kagent's message metadata), when the server says.
        author: Option<String>,
    },
    ToolResult {
        id: String,
        name: String,
        response: Value,
    },
    /// A task state change (`working`, `completed`, …).
    State(String),
    /// A part or event this client does not know: shown as it came, never dropped.
    Raw(Value),
    Done {
        latency: Duration,
    },
    Error(String),
}
