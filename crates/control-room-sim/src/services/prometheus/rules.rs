//! Alerting rules as Prometheus 2.42 loads and evaluates them: a rules file (`groups:` of
//! `alert:` rules with `expr`, `for`, `labels`, `annotations`), and per rule its alerts, keyed
//! by label set, going `pending` → `firing` after `for` and away once the expression no
//! longer returns their series.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;

use super::eval::{Evaluator, Sample, Value};
use super::gofmt;
use super::parser::parse;
use super::promql::Expr;
use super::tsdb::{Labels, Tsdb};

/// How long a resolved alert is remembered (inactive, not shown), as in Prometheus.
const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

/// The label every alert carries with its rule's name.
const ALERT_NAME: &str = "alertname";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    #[error("{file}: {message}")]
    Yaml { file: String, message: String },
    #[error("{file}: group {group:?}, rule {index}, {name:?}: {message}")]
    Rule {
        file: String,
        group: String,
        index: usize,
        name: String,
        message: String,
    },
    #[error("{file}: {message}")]
    Group { file: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    groups: Vec<GroupSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupSpec {
    name: String,
    interval: Option<String>,
    limit: Option<usize>,
    rules: Vec<RuleSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    alert: Option<String>,
    record: Option<String>,
    expr: Option<String>,
    #[serde(rename = "for")]
    hold: Option<String>,
    keep_firing_for: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertState {
    Inactive,
    Pending,
    Firing,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inactive => "inactive",
            Self::Pending => "pending",
            Self::Firing => "firing",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Not evaluated yet.
    Unknown,
    Ok,
    Err,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Ok => "ok",
            Self::Err => "err",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The series' labels without `__name__`, the rule's labels, and `alertname`.
    pub labels: Labels,
    pub annotations: Labels,
    pub state: AlertState,
    pub active_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The expression's value for the series at the latest evaluation.
    pub value: f64,
}

#[derive(Debug, Clone)]
pub struct AlertingRule {
    pub name: String,
    pub expr: Expr,
    /// `for`, in milliseconds.
    pub hold_ms: i64,
    /// As written (values may be templates).
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// Alerts by label set, resolved ones included for a while.
    pub active: BTreeMap<Labels, Alert>,
    pub health: Health,
    pub last_error: Option<String>,
    pub last_evaluation: Option<DateTime<Utc>>,
    pub evaluation_secs: f64,
}

#[derive(Debug, Clone)]
pub struct RuleGroup {
    pub name: String,
    pub file: String,
    pub interval_ms: i64,
    /// Most alerts a rule may have (0: no limit).
    pub limit: usize,
    pub rules: Vec<AlertingRule>,
    pub last_evaluation: Option<DateTime<Utc>>,
    pub evaluation_secs: f64,
}

/// Load a rules file; `default_interval_ms` applies to groups without `interval`.
pub fn load(
    yaml: &str,
    file: &str,
    default_interval_ms: i64,
) -> Result<Vec<RuleGroup>, RulesError> {
    let spec: FileSpec = serde_saphyr::from_str(yaml).map_err(|e| RulesError::Yaml {
        file: file.to_string(),
        message: e.to_string(),
    })?;
    let mut names = HashSet::new();
    let mut groups = Vec::new();
    for group in spec.groups {
        let group_error = |message: String| RulesError::Group {
            file: file.to_string(),
            message,
        };
        if group.name.is_empty() {
            return Err(group_error("Groupname must not be empty".to_string()));
        }
        if !names.insert(group.name.clone()) {
            return Err(group_error(format!(
                "groupname: {:?} is repeated in the same file",
                group.name
            )));
        }
        let interval_ms = match &group.interval {
            Some(text) => gofmt::parse_duration(text).map_err(group_error)?,
            None => default_interval_ms,
        };
        let mut rules = Vec::new();
        for (i, rule) in group.rules.into_iter().enumerate() {
            let name = rule
                .alert
                .clone()
                .or_else(|| rule.record.clone())
                .unwrap_or_default();
            let rule_error = |message: String| RulesError::Rule {
                file: file.to_string(),
                group: group.name.clone(),
                index: i + 1,
                name: name.clone(),
                message,
            };
            rules.push(alerting_rule(rule).map_err(rule_error)?);
        }
        groups.push(RuleGroup {
            name: group.name,
            file: file.to_string(),
            interval_ms,
            limit: group.limit.unwrap_or(0),
            rules,
            last_evaluation: None,
            evaluation_secs: 0.0,
        });
    }
    Ok(groups)
}

fn alerting_rule(rule: RuleSpec) -> Result<AlertingRule, String> {
    let name = match (rule.alert, rule.record) {
        (Some(_), Some(_)) => return Err("only one of 'record' and 'alert' must be set".into()),
        (None, None) => return Err("one of 'record' or 'alert' must be set".into()),
        (None, Some(_)) => {
            return Err("recording rules are not supported by the control-room simulator".into());
        }
        (Some(name), None) => name,
    };
    let text = rule.expr.unwrap_or_default();
    if text.trim().is_empty() {
        return Err("field 'expr' must be set in rule".into());
    }
    let expr = parse(&text).map_err(|e| format!("could not parse expression: {e}"))?;
    let hold_ms = match &rule.hold {
        Some(text) => gofmt::parse_duration(text)?,
        None => 0,
    };
    if let Some(text) = &rule.keep_firing_for
        && gofmt::parse_duration(text)? != 0
    {
        return Err("keep_firing_for is not supported by the control-room simulator".into());
    }
    for label in rule.labels.keys().chain(rule.annotations.keys()) {
        let valid = label.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!("invalid label name: {label}"));
        }
    }
    Ok(AlertingRule {
        name,
        expr,
        hold_ms,
        labels: rule.labels,
        annotations: rule.annotations,
        active: BTreeMap::new(),
        health: Health::Unknown,
        last_error: None,
        last_evaluation: None,
        evaluation_secs: 0.0,
    })
}

impl RuleGroup {
    /// Whether the group should be evaluated at `now`, ticking every `tick_ms`.
    pub fn due(&self, now: DateTime<Utc>, tick_ms: i64) -> bool {
        self.last_evaluation.is_none_or(|last| {
            // Half a tick of slack, so a timer firing a little early does not skip a turn.
            (now - last).num_milliseconds() + tick_ms / 2 >= self.interval_ms
        })
    }

    pub fn evaluate(&mut self, db: &Tsdb, now: DateTime<Utc>) {
        let started = Instant::now();
        for rule in &mut self.rules {
            rule.evaluate(db, now, self.limit);
        }
        self.last_evaluation = Some(now);
        self.evaluation_secs = started.elapsed().as_secs_f64();
    }
}

impl AlertingRule {
    /// The highest state of its alerts.
    pub fn state(&self) -> AlertState {
        self.active
            .values()
            .map(|a| a.state)
            .max()
            .unwrap_or(AlertState::Inactive)
    }

    /// Its pending and firing alerts.
    pub fn active_alerts(&self) -> impl Iterator<Item = &Alert> {
        self.active
            .values()
            .filter(|a| a.state != AlertState::Inactive)
    }

    pub fn evaluate(&mut self, db: &Tsdb, now: DateTime<Utc>, limit: usize) {
        let started = Instant::now();
        let samples = match Evaluator::new(db).instant(&self.expr, now.timestamp_millis()) {
            Ok(Value::Vector(samples)) => Ok(samples),
            Ok(Value::Scalar(value)) => Ok(vec![Sample {
                labels: Labels::default(),
                value,
            }]),
            Ok(Value::Matrix(_)) => Err("rule result is not a vector or scalar".to_string()),
            Err(e) => Err(e.to_string()),
        };
        match samples.and_then(|samples| self.update(samples, now, limit)) {
            Ok(()) => {
                self.health = Health::Ok;
                self.last_error = None;
            }
            Err(e) => {
                self.health = Health::Err;
                self.last_error = Some(e);
            }
        }
        self.last_evaluation = Some(now);
        self.evaluation_secs = started.elapsed().as_secs_f64();
    }

    /// Prometheus' `AlertingRule.Eval` after the query.
    fn update(
        &mut self,
        samples: Vec<Sample>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<(), String> {
        let mut current: BTreeMap<Labels, Alert> = BTreeMap::new();
        for sample in samples {
            let series = sample.labels.without_name();
            let expand = |text: &str| expand(text, &series, sample.value);
            let mut labels = series.clone();
            for (name, value) in &self.labels {
                labels = labels.with(name, &expand(value));
            }
            labels = labels.with(ALERT_NAME, &self.name);
            let annotations = Labels::new(
                self.annotations
                    .iter()
                    .map(|(name, value)| (name.clone(), expand(value))),
            );
            if current.contains_key(&labels) {
                return Err(
                    "vector contains metrics with the same labelset after applying alert labels"
                        .to_string(),
                );
            }
            current.insert(
                labels.clone(),
                Alert {
                    labels,
                    annotations,
                    state: AlertState::Pending,
                    active_at: now,
                    resolved_at: None,
                    value: sample.value,
                },
            );
        }
        for (labels, alert) in &current {
            match self.active.get_mut(labels) {
                Some(known) if known.state != AlertState::Inactive => {
                    known.value = alert.value;
                    known.annotations = alert.annotations.clone();
                }
                _ => {
                    self.active.insert(labels.clone(), alert.clone());
                }
            }
        }
        let hold = TimeDelta::milliseconds(self.hold_ms);
        let resolved_retention = TimeDelta::milliseconds(RESOLVED_RETENTION_MS);
        let mut active_or_pending = 0;
        self.active.retain(|labels, alert| {
            if !current.contains_key(labels) {
                let forget = alert.state == AlertState::Pending
                    || alert
                        .resolved_at
                        .is_some_and(|at| now - at > resolved_retention);
                if alert.state != AlertState::Inactive {
                    alert.state = AlertState::Inactive;
                    alert.resolved_at = Some(now);
                }
                return !forget;
            }
            active_or_pending += 1;
            if alert.state == AlertState::Pending && now - alert.active_at >= hold {
                alert.state = AlertState::Firing;
            }
            true
        });
        if limit > 0 && active_or_pending > limit {
            self.active.clear();
            return Err(format!(
                "exceeded limit of {limit} with {active_or_pending} alerts"
            ));
        }
        Ok(())
    }
}

/// Expand the templates Prometheus users write in rule labels and annotations:
/// `{{ $labels.NAME }}`, `{{ .Labels.NAME }}`, `{{ $value }}`, `{{ .Value }}`. Any other
/// `{{ … }}` stays as written.
pub fn expand(text: &str, labels: &Labels, value: f64) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            rest = &rest[open..];
            break;
        };
        let action = after[..close].trim();
        let label = action
            .strip_prefix("$labels.")
            .or_else(|| action.strip_prefix(".Labels."))
            .filter(|name| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
        match (action, label) {
            ("$value" | ".Value", _) => out.push_str(&gofmt::float_g(value)),
            (_, Some(name)) => out.push_str(labels.get(name)),
            _ => out.push_str(&rest[open..open + 2 + close + 2]),
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_expand_labels_and_value() {
        let labels = Labels::new([("cluster".to_string(), "vendor".to_string())]);
        assert_eq!(
            expand(
                "on {{ $labels.cluster }}/{{.Labels.cluster}} = {{$value}} ({{ .Value }})",
                &labels,
                0.5
            ),
            "on vendor/vendor = 0.5 (0.5)"
        );
        assert_eq!(expand("{{ $labels.missing }}!", &labels, 1.0), "!");
        assert_eq!(
            expand(
                "{{ humanize $value }} {{ if x }} {{ $labels. }} {{ open",
                &labels,
                1.0
            ),
            "{{ humanize $value }} {{ if x }} {{ $labels. }} {{ open"
        );
        assert_eq!(expand("{{$value}}", &labels, 1e6), "1e+06");
    }

    #[test]
    fn bad_rule_files_are_clear_errors() {
        for (yaml, expected) in [
            ("groups: [", "rules.yaml"),
            (
                "groups:\n- name: g\n  rules:\n  - alert: A\n",
                "field 'expr' must be set",
            ),
            (
                "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: 'sum('\n",
                "could not parse expression",
            ),
            (
                "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    for: 5x\n",
                "not a valid duration",
            ),
            (
                "groups:\n- name: g\n  rules:\n  - record: r\n    expr: up\n",
                "recording rules",
            ),
            (
                "groups:\n- name: g\n  rules:\n  - alert: A\n    record: r\n    expr: up\n",
                "only one of",
            ),
            (
                "groups:\n- name: g\n  rules: []\n- name: g\n  rules: []\n",
                "repeated",
            ),
            (
                "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    labels:\n      bad-name: x\n",
                "invalid label name",
            ),
            (
                "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    typo: 1\n",
                "rules.yaml",
            ),
        ] {
            let error = load(yaml, "rules.yaml", 1000).err().map(|e| e.to_string());
            assert!(
                error.as_deref().is_some_and(|e| e.contains(expected)),
                "{yaml:?}: {error:?} lacks {expected:?}"
            );
        }
        let groups = load(
            "groups:\n- name: g\n  interval: 30s\n  rules:\n  - alert: A\n    expr: up > 1\n    for: 1m30s\n",
            "rules.yaml",
            1000,
        )
        .unwrap();
        assert_eq!(groups[0].interval_ms, 30_000);
        assert_eq!(groups[0].rules[0].hold_ms, 90_000);
    }
}
