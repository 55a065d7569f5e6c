//! Configuration: embedded defaults, user file, themes.
//!
//! Nothing here is global: callers load a [`Config`] and a [`Theme`] once and pass them in.

mod error;
mod keys;
mod notes;
mod paths;
mod role;
mod settings;
mod style;
mod theme;

pub use error::{ConfigError, Position, ThemeError};
pub(crate) use error::{decode_utf8, describe_toml_error};
pub use keys::{Action, Key, Keymap, KeymapError};
pub use notes::{ActNotes, Beat, BeatDone, DEFAULT_NOTES_TOML, Notes, NotesAct, NotesError};
pub use paths::{default_config_path, log_file_path, state_dir, user_themes_dir};
pub use role::Role;
pub use settings::{
    ActConfig, ActsConfig, AlertsConfig, AttackerRef, ChatConfig, ClusterConfig, Config,
    DEFAULT_CONFIG_TOML, DemoConfig, ForwardConfig, MAX_FPS_RANGE, UiConfig, WorkloadRef,
    ZtunnelScrape,
};
pub use style::parse_color;
pub use theme::{BUILTIN_THEMES, Theme};
