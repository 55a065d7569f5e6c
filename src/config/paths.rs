//! Where control-room looks for its files: user config, user themes, logs.

use std::path::PathBuf;

/// Directory name under the platform config/state directories.
const APP_DIR: &str = "control-room";

/// `$XDG_CONFIG_HOME/control-room/config.toml` (platform equivalent elsewhere).
pub fn default_config_path() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join(APP_DIR).join("config.toml"))
}

/// `$XDG_CONFIG_HOME/control-room/themes`: `<name>.toml` here overrides or adds a theme.
pub fn user_themes_dir() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join(APP_DIR).join("themes"))
}

/// Where logs and other state go: the state dir, else the cache dir. Never a fixed shared
/// path such as `/tmp/control-room`: without a home there is no state dir (no log file, no
/// kept act output), and the screen says so.
pub fn state_dir() -> Option<PathBuf> {
    dirs::state_dir()
        .or_else(dirs::cache_dir)
        .map(|dir| dir.join(APP_DIR))
}

/// `state_dir()/control-room.log`.
pub fn log_file_path() -> Option<PathBuf> {
    state_dir().map(|dir| dir.join("control-room.log"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_end_in_the_app_dir() {
        if let Some(dir) = state_dir() {
            assert!(dir.ends_with(APP_DIR));
        }
        if let Some(log) = log_file_path() {
            assert!(log.ends_with("control-room/control-room.log"));
        }
        if let Some(p) = default_config_path() {
            assert!(p.ends_with("control-room/config.toml"));
        }
        if let Some(p) = user_themes_dir() {
            assert!(p.ends_with("control-room/themes"));
        }
    }
}
