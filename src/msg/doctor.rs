//! The preflight doctor's records: one result per check and cluster, with the evidence it
//! read and the commands that would fix it (printed, never run).

use serde::Serialize;

/// What one check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    /// Not wrong for certain: the presenter may be mid-demo.
    Warn,
    Fail,
    /// The check could not read what it needs (no answer in time, 403, a kind not served).
    Unknown,
}

impl Verdict {
    pub fn glyph(self) -> &'static str {
        match self {
            Verdict::Pass => "✓",
            Verdict::Warn => "!",
            Verdict::Fail => "✗",
            Verdict::Unknown => "?",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
            Verdict::Unknown => "unknown",
        }
    }
}

/// One thing a check read: which object, which field, what it said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// `kind/name` with its namespace and cluster: `Secret istio-system/istio-remote-secret-x (edge)`.
    pub object: String,
    pub field: String,
    pub value: String,
}

/// The result of one check on one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    pub id: &'static str,
    pub title: &'static str,
    pub result: Verdict,
    /// The cluster this result is about (config name).
    pub cluster: String,
    /// Every cluster the check read to decide.
    pub clusters: Vec<String>,
    pub evidence: Vec<Evidence>,
    /// Commands that would fix it, in order; empty when nothing needs fixing.
    pub fix: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum DoctorMsg {
    /// One check finished (run number, result).
    Checked(u64, CheckResult),
    /// Every check of that run finished.
    Finished(u64),
}

/// Every check id, in the walkthrough's order: how results are listed everywhere.
pub const ORDER: &[&str] = &[
    "contexts",
    "remote-secrets",
    "network-labels",
    "trust-domain",
    "eastwest-gateway",
    "autogen-endpoints",
    "global-services",
    "gloo-registration",
    "alert-rules",
    "prometheus",
    "collector-allowlist",
    "alertmanager",
    "agent-card",
    "agent-tools",
    "agentregistry",
    "demo-start",
    "license",
];
