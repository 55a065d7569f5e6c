//! Prometheus on bank (`trustusbank-observability/prometheus`, and the Gloo Mesh
//! `prometheus-server`, port 9090), simulated faithfully enough for the demo: every
//! [`INTERVAL`] it scrapes the simulated ztunnels' TCP counters, as the telemetry pipeline
//! delivers them (`services::collector`: each cluster's collector and its metric allow-list,
//! bank's telemetry gateway), into a 15-minute sample store and evaluates `demo-scripts/prometheus/alert-rules.yaml`; it answers the HTTP API the way
//! Prometheus 2.42 does (`/api/v1/query`, `query_range`, `alerts`, `rules`) for the PromQL
//! subset in [`promql`], and shows an `/alerts` page that says it is the simulator.
//!
//! [`Engine`] owns the samples and the rule state; its time is always passed in, so tests
//! drive the clock. [`spawn_scrape_loop`] runs it on the wall clock.

mod api;
mod eval;
mod gofmt;
mod lexer;
mod page;
mod parser;
mod promql;
mod rules;
mod tsdb;

pub use eval::{EvalError, Series, Value};
pub use rules::{Alert, AlertState, RuleGroup, RulesError};
pub use tsdb::Labels;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use axum::Router;
use chrono::{DateTime, TimeDelta, Utc};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::{MetricSample, Services};
use eval::Evaluator;
use promql::ValueType;
use tsdb::Tsdb;

/// Scrape and rule-evaluation interval.
pub const INTERVAL: Duration = Duration::from_secs(1);
const INTERVAL_MS: i64 = 1000;

/// Where the rules file sits in the simulated Prometheus pod (the `file` of `/api/v1/rules`).
pub const RULES_FILE: &str = "/etc/prometheus/rules/alert-rules.yaml";

/// The demo's rules, as CI loads them into a real Prometheus.
const RULES_YAML: &str = include_str!("../../../../../demo-scripts/prometheus/alert-rules.yaml");

/// Most points per series a range query may return, as in Prometheus.
pub const MAX_POINTS_PER_SERIES: i128 = 11_000;

/// The simulated Prometheus at `services`' bank cluster, on the wall clock.
pub fn router(services: Arc<Services>) -> Router {
    api::routes(services.prometheus.clone(), Arc::new(Utc::now))
}

/// Scrape and evaluate every [`INTERVAL`] until `services` is dropped or the task aborted.
pub fn spawn_scrape_loop(services: &Arc<Services>) -> JoinHandle<()> {
    let services: Weak<Services> = Arc::downgrade(services);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(services) = services.upgrade() else {
                return;
            };
            let samples = services.exported_samples();
            let now = Utc::now();
            services.prometheus.scrape_and_evaluate_at(now, samples);
            // Prometheus then notifies Alertmanager, when it has one to notify.
            let reachable = super::alertmanager::running(&services);
            services
                .delivery()
                .send(&services.prometheus.alerts(), reachable, now);
        }
    })
}

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// The request or the query text is wrong (Prometheus' `bad_data`, HTTP 400).
    #[error("{0}")]
    BadData(String),
    /// The query could not be evaluated (`execution`, HTTP 422).
    #[error("{0}")]
    Execution(#[from] EvalError),
}

/// The sample store and the rules' state (cheap clone, shared).
#[derive(Debug, Clone)]
pub struct Engine {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    tsdb: Tsdb,
    groups: Vec<RuleGroup>,
    /// Why the rules did not load, if they did not.
    rules_error: Option<String>,
}

/// What the `/alerts` page says about scraping.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapeStatus {
    pub series: usize,
    pub last_scrape: Option<DateTime<Utc>>,
    pub rules_error: Option<String>,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine {
    /// An engine with the demo's rules.
    pub fn new() -> Self {
        Self::with_rules(RULES_YAML, RULES_FILE).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the simulated Prometheus has no rules");
            Self::from_groups(Vec::new(), Some(e.to_string()))
        })
    }

    /// An engine evaluating the rules file `yaml` (reported as `file`).
    pub fn with_rules(yaml: &str, file: &str) -> Result<Self, RulesError> {
        Ok(Self::from_groups(
            rules::load(yaml, file, INTERVAL_MS)?,
            None,
        ))
    }

    fn from_groups(groups: Vec<RuleGroup>, rules_error: Option<String>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(State {
                tsdb: Tsdb::default(),
                groups,
                rules_error,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Store one scrape taken at `now`, then evaluate the rule groups that are due.
    pub fn scrape_and_evaluate_at(&self, now: DateTime<Utc>, samples: Vec<MetricSample>) {
        let mut state = self.lock();
        let State { tsdb, groups, .. } = &mut *state;
        tsdb.append_scrape(now.timestamp_millis(), samples);
        for group in groups.iter_mut().filter(|g| g.due(now, INTERVAL_MS)) {
            group.evaluate(tsdb, now);
        }
    }

    /// An instant query at `at`.
    pub fn query(&self, query: &str, at: DateTime<Utc>) -> Result<Value, QueryError> {
        let expr = parse_query(query)?;
        let state = self.lock();
        Ok(Evaluator::new(&state.tsdb).instant(&expr, at.timestamp_millis())?)
    }

    /// A range query, with Prometheus' checks of its parameters in Prometheus' order.
    pub fn query_range(
        &self,
        query: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        step: TimeDelta,
    ) -> Result<Vec<Series>, QueryError> {
        if end < start {
            return Err(QueryError::BadData(
                "invalid parameter \"end\": end timestamp must not be before start time".into(),
            ));
        }
        let step_ns = nanos(step);
        if step_ns <= 0 {
            return Err(QueryError::BadData(
                "invalid parameter \"step\": zero or negative query resolution step widths are \
                 not accepted. Try a positive integer"
                    .into(),
            ));
        }
        if nanos(end - start) / step_ns > MAX_POINTS_PER_SERIES {
            return Err(QueryError::BadData(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing \
                 the query resolution (?step=XX)"
                    .into(),
            ));
        }
        let expr = parse_query(query)?;
        if expr.value_type() == ValueType::Matrix {
            return Err(QueryError::BadData(
                "invalid parameter \"query\": invalid expression type \"range vector\" for range \
                 query, must be Scalar or instant Vector"
                    .into(),
            ));
        }
        let step_ms = i64::try_from(step_ns / 1_000_000)
            .unwrap_or(i64::MAX)
            .max(1);
        let state = self.lock();
        Ok(Evaluator::new(&state.tsdb).range(
            &expr,
            start.timestamp_millis(),
            end.timestamp_millis(),
            step_ms,
        )?)
    }

    /// The pending and firing alerts of every rule, rule by rule, in label order.
    pub fn alerts(&self) -> Vec<Alert> {
        self.lock()
            .groups
            .iter()
            .flat_map(|g| &g.rules)
            .flat_map(|r| r.active_alerts().cloned())
            .collect()
    }

    /// The rule groups with their rules' state as of their latest evaluation.
    pub fn rule_groups(&self) -> Vec<RuleGroup> {
        self.lock().groups.clone()
    }

    pub fn scrape_status(&self) -> ScrapeStatus {
        let state = self.lock();
        ScrapeStatus {
            series: state.tsdb.series_count(),
            last_scrape: state
                .tsdb
                .last_scrape_ms()
                .and_then(DateTime::from_timestamp_millis),
            rules_error: state.rules_error.clone(),
        }
    }
}

fn parse_query(query: &str) -> Result<promql::Expr, QueryError> {
    parser::parse(query)
        .map_err(|e| QueryError::BadData(format!("invalid parameter \"query\": {e}")))
}

/// A duration in nanoseconds, without overflow.
fn nanos(d: TimeDelta) -> i128 {
    i128::from(d.num_seconds()) * 1_000_000_000 + i128::from(d.subsec_nanos())
}

#[cfg(test)]
mod tests;
