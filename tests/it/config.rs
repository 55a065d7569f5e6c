//! End-to-end tests of config and theme loading against fixture files.
//!
//! `tests/fixtures/config/valid/*.toml` must load. Each `tests/fixtures/config/invalid/X.toml`
//! must fail with an error naming the file and containing every line of `X.expected`.

use std::fs;
use std::path::{Path, PathBuf};

use control_room::config::{
    Action, BUILTIN_THEMES, ClusterConfig, Config, ConfigError, Role, Theme, ThemeError,
};

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(kind);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

fn fixture(kind: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(kind)
        .join(name)
}

#[test]
fn every_valid_fixture_loads() {
    for path in fixtures("valid") {
        let config = Config::load(Some(&path))
            .unwrap_or_else(|e| panic!("{} should load: {e}", path.display()));
        config.validate("loaded").unwrap();
    }
}

#[test]
fn valid_fixtures_override_what_they_say() {
    let defaults = Config::defaults();

    assert_eq!(
        Config::load(Some(&fixture("valid", "empty.toml"))).unwrap(),
        defaults
    );

    let c = Config::load(Some(&fixture("valid", "two-clusters.toml"))).unwrap();
    let names: Vec<_> = c.clusters.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["bank", "vendor"]);
    assert_eq!(c.ui, defaults.ui);

    let c = Config::load(Some(&fixture("valid", "theme-only.toml"))).unwrap();
    assert_eq!(c.ui.theme, "light");
    assert_eq!(c.ui.max_fps, defaults.ui.max_fps);
    assert_eq!(c.clusters, defaults.clusters);

    let c = Config::load(Some(&fixture("valid", "sim-written.toml"))).unwrap();
    assert!(c.simulated);
    assert_eq!(
        c.kubeconfig,
        Some(PathBuf::from("/tmp/control-room-sim/kubeconfig"))
    );
    assert_eq!(
        c.clusters,
        ["edge", "bank", "vendor"].map(|n| ClusterConfig {
            name: n.into(),
            context: format!("sim-{n}"),
        })
    );

    let c = Config::load(Some(&fixture("valid", "inline-array.toml"))).unwrap();
    assert_eq!(c.clusters.len(), 1);
    assert_eq!(c.ui.theme, "high-contrast");

    let c = Config::load(Some(&fixture("valid", "keys-and-act-env.toml"))).unwrap();
    assert_eq!(c.keys.all(Action::ActReset), "F1");
    assert_eq!(c.keys.all(Action::Quit), "Ctrl+Q q");
    assert_eq!(
        c.keys.all(Action::Zoom),
        "z",
        "unnamed actions keep their keys"
    );
    assert_eq!(c.acts.log_dir, Some(PathBuf::from("/tmp/demo-act-logs")));
    assert_eq!(
        c.acts.env.get("ROLLOUT_TIMEOUT").map(String::as_str),
        Some("300s")
    );
    assert_eq!(defaults.keys, control_room::config::Keymap::default());
}

#[test]
fn every_invalid_fixture_fails_with_its_expected_message() {
    for path in fixtures("invalid") {
        let expected_path = path.with_extension("expected");
        let expected = fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        let err = match Config::load(Some(&path)) {
            Ok(c) => panic!("{} should fail, loaded {c:?}", path.display()),
            Err(err) => err,
        };
        assert!(
            matches!(err, ConfigError::Parse { .. } | ConfigError::Invalid { .. }),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("config error in {}", path.display())),
            "{}: error does not name the file: {message}",
            path.display()
        );
        for want in expected.lines().filter(|l| !l.trim().is_empty()) {
            assert!(
                message.contains(want),
                "{}: expected {want:?} in {message:?}",
                path.display()
            );
        }
    }
}

#[test]
fn missing_explicit_file_names_path_and_os_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    let err = Config::load(Some(&path)).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("os error"), "{message}");

    let err = Config::load(Some(dir.path())).unwrap_err();
    assert!(
        matches!(err, ConfigError::Read { .. }),
        "a directory is not a file: {err}"
    );
}

#[test]
fn relative_kubeconfig_is_resolved_against_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    fs::write(&path, "kubeconfig = \"sim/kubeconfig\"\n").unwrap();
    let c = Config::load(Some(&path)).unwrap();
    assert_eq!(c.kubeconfig, Some(dir.path().join("sim/kubeconfig")));
}

#[test]
fn sim_written_config_round_trips_through_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let mut config = Config::defaults();
    config.simulated = true;
    config.kubeconfig = Some(dir.path().join("kubeconfig"));
    fs::write(&path, config.to_toml().unwrap()).unwrap();
    // The written file lists the forwards, so reading it back they are the file's own.
    config.forwards_from_user = true;
    assert_eq!(Config::load(Some(&path)).unwrap(), config);
}

/// A small deterministic generator, so failures reproduce without a `rand` dependency.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u8 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u8
    }
}

#[test]
fn garbage_and_truncated_files_error_instead_of_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz.toml");

    let mut rng = Lcg(0x5eed);
    for len in 0..300 {
        let bytes: Vec<u8> = (0..len).map(|_| rng.next()).collect();
        fs::write(&path, &bytes).unwrap();
        let _ = Config::load(Some(&path));
        let text = String::from_utf8_lossy(&bytes);
        let _ = Config::from_toml_overlay(&text, "fuzz");
        let _ = Theme::from_toml("fuzz", &text, "fuzz");
    }

    // Every prefix of every fixture and built-in file, cut at every byte.
    let mut configs: Vec<Vec<u8>> = fixtures("valid")
        .into_iter()
        .chain(fixtures("invalid"))
        .map(|p| fs::read(p).unwrap())
        .collect();
    configs.push(
        control_room::config::DEFAULT_CONFIG_TOML
            .as_bytes()
            .to_vec(),
    );
    for source in &configs {
        for cut in 0..=source.len() {
            fs::write(&path, &source[..cut]).unwrap();
            if let Err(err) = Config::load(Some(&path)) {
                assert!(err.to_string().contains("fuzz.toml"), "{err}");
            }
        }
    }
    for (name, text) in BUILTIN_THEMES {
        for cut in 0..=text.len() {
            let prefix = String::from_utf8_lossy(&text.as_bytes()[..cut]);
            if let Err(err) = Theme::from_toml(name, &prefix, "fuzz") {
                assert!(err.to_string().contains("fuzz"), "{err}");
            }
        }
    }
}

#[test]
fn every_builtin_theme_file_defines_every_role() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("themes");
    let mut on_disk = Vec::new();
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let table: toml::Table = toml::from_str(&fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            table.get("name").and_then(|v| v.as_str()),
            Some(name.as_str())
        );
        let roles = table["roles"].as_table().unwrap();
        for role in Role::ALL {
            assert!(roles.contains_key(role.key()), "{name} lacks {role}");
        }
        assert_eq!(roles.len(), Role::COUNT, "{name} has unknown roles");
        let theme = Theme::builtin(&name).unwrap_or_else(|| panic!("{name} is not built in"));
        assert_eq!(theme.name(), name);
        on_disk.push(name);
    }
    on_disk.sort();
    let mut builtin: Vec<_> = BUILTIN_THEMES.iter().map(|(n, _)| n.to_string()).collect();
    builtin.sort();
    assert_eq!(on_disk, builtin, "themes/ and BUILTIN_THEMES differ");
}

#[test]
fn theme_errors_name_the_user_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    fs::write(
        &path,
        "name = \"broken\"\n[roles]\nok = { fg = \"green\", blink = true }\n",
    )
    .unwrap();
    let err = Theme::load_from("broken", false, Some(dir.path())).unwrap_err();
    assert!(matches!(err, ThemeError::Parse { .. }));
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "theme error in {} at line 3, column 22: ",
            path.display()
        )),
        "{message}"
    );
    assert!(message.contains("unknown field `blink`"), "{message}");

    let err = Theme::load_from("nope", false, Some(dir.path())).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown theme `nope`; available themes: broken, default, high-contrast, light, video"
    );
}

#[test]
fn configured_default_theme_loads() {
    let config = Config::defaults();
    let theme = Theme::load_from(&config.ui.theme, false, None).unwrap();
    assert_eq!(theme.name(), "default");
    let theme = Theme::load_from(&config.ui.theme, true, None).unwrap();
    assert!(
        Role::ALL
            .iter()
            .all(|&r| theme.style(r).fg.is_none() && theme.style(r).bg.is_none())
    );
}
