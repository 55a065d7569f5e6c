//! The demo's alert rules: the PrometheusRule manifest and the plain rules file hold the same
//! groups, and the real Prometheus tooling (`promtool`, from Debian's `prometheus`, which
//! `.ci/run` installs) accepts them and passes the act-by-act rule unit tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::tools;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(repo().join(path)).expect(path);
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_manifest_and_the_plain_rules_file_hold_the_same_groups() {
    let crd = yaml("demo-scripts/manifests/prometheus-rules.yaml");
    let plain = yaml("demo-scripts/prometheus/alert-rules.yaml");
    assert_eq!(crd["kind"], "PrometheusRule");
    assert_eq!(crd["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(crd["spec"]["groups"], plain["groups"]);
    let names: Vec<&str> = plain["groups"][0]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["alert"].as_str())
        .collect();
    assert_eq!(names, ["IstioAuthZDeny", "BankToAttackerAttempt"]);
}

fn promtool(binary: &Path, args: &[&str]) -> String {
    let out = Command::new(binary)
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} ({e})", binary.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

#[test]
fn promtool_accepts_the_rules_and_their_unit_tests_pass() {
    // Debian's `prometheus` package has it; `.ci/run` installs it.
    let Some(binary) = tools::require_with_override("CONTROL_ROOM_PROMTOOL", "promtool") else {
        return;
    };
    let checked = promtool(
        &binary,
        &["check", "rules", "demo-scripts/prometheus/alert-rules.yaml"],
    );
    assert!(checked.contains("SUCCESS: 2 rules found"), "{checked}");
    let tested = promtool(
        &binary,
        &[
            "test",
            "rules",
            "tests/fixtures/prometheus/alert-rules-test.yaml",
        ],
    );
    assert!(tested.contains("SUCCESS"), "{tested}");
}
