//! `control-room problems [--json]`: the `!` view once, for scripts and pre-flight checks.
//! It runs the cluster watchers until every cluster has listed what the view reads (or is
//! found unreachable), through `update`, and prints the model's problems — the same list,
//! judged the same way, as the screen. Exit status 1 when there is any problem.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::status::CLUSTER_TIMEOUT;
use crate::app::world::World;
use crate::app::{Parts, Runtime, RuntimeOptions};
use crate::config::Config;
use crate::model::problems::Severity;
use crate::model::{Model, Reachability};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProblemLine {
    pub cluster: String,
    /// Empty for a cluster-wide problem.
    pub namespace: String,
    pub object: String,
    pub what: String,
    pub severity: &'static str,
    pub since: DateTime<Utc>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problems {
    pub clusters: usize,
    pub problems: Vec<ProblemLine>,
}

impl Problems {
    /// The list as the `!` view shows it, newest first; a cluster that neither listed nor
    /// failed in time counts as one that does not answer.
    pub fn of(model: &Model) -> Problems {
        let mut problems: Vec<ProblemLine> = model
            .current_problems()
            .map(|p| ProblemLine {
                cluster: model
                    .clusters
                    .get(p.key.cluster)
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
                namespace: p.key.namespace.clone(),
                object: p.object.clone(),
                what: p.what.clone(),
                severity: match p.severity {
                    Severity::Danger => "danger",
                    Severity::Warn => "warning",
                },
                since: p.since,
                message: p.message.clone(),
            })
            .collect();
        for c in &model.clusters {
            if !c.fully_synced() && !matches!(c.reach, Reachability::Unreachable { .. }) {
                problems.push(ProblemLine {
                    cluster: c.name.clone(),
                    namespace: String::new(),
                    object: "cluster".into(),
                    what: "no answer".into(),
                    severity: "danger",
                    since: model.now.with_timezone(&Utc),
                    message: c.last_error.clone().unwrap_or_else(|| {
                        format!("not listed within {}s", CLUSTER_TIMEOUT.as_secs())
                    }),
                });
            }
        }
        Problems {
            clusters: model.clusters.len(),
            problems,
        }
    }

    /// One line per problem, columns as the view's.
    pub fn to_text(&self, now: DateTime<Utc>) -> String {
        if self.problems.is_empty() {
            return format!("no problems in {} clusters\n", self.clusters);
        }
        let width = |f: fn(&ProblemLine) -> usize| self.problems.iter().map(f).max().unwrap_or(0);
        let cluster_w = width(|p| p.cluster.chars().count()).max(7);
        let object_w =
            width(|p| p.namespace.chars().count() + p.object.chars().count() + 1).max(16);
        let what_w = width(|p| p.what.chars().count()).max(4);
        let mut out = format!(
            "{:<cluster_w$}  {:<object_w$}  {:<what_w$}  {:>5}  MESSAGE\n",
            "CLUSTER", "NAMESPACE/OBJECT", "WHAT", "SINCE"
        );
        for p in &self.problems {
            let object = if p.namespace.is_empty() {
                p.object.clone()
            } else {
                format!("{}/{}", p.namespace, p.object)
            };
            let since = crate::ui::age(Some(p.since), now.fixed_offset());
            out.push_str(&format!(
                "{:<cluster_w$}  {object:<object_w$}  {:<what_w$}  {since:>5}  {}\n",
                p.cluster, p.what, p.message
            ));
        }
        out
    }
}

/// The model once every cluster has listed pods, workloads and events, or was found
/// unreachable, or [`CLUSTER_TIMEOUT`] passed.
pub async fn read(world: World, config: &Config) -> Model {
    let parts = Parts {
        clusters: true,
        signals: true,
        ..Parts::none()
    };
    let (mut app, runtime) = Runtime::start(world, config, parts, RuntimeOptions::default()).await;
    app.pump_until(CLUSTER_TIMEOUT, |m| {
        m.exit_signal.is_some()
            || m.clusters
                .iter()
                .all(|c| c.fully_synced() || matches!(c.reach, Reachability::Unreachable { .. }))
    })
    .await;
    runtime.shutdown().await;
    app.model
}

pub async fn run(world: World, config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let model = read(world, config).await;
    let problems = Problems::of(&model);
    if json {
        println!("{}", crate::text::json_pretty(&problems)?);
    } else {
        print!(
            "{}",
            crate::text::inert(&problems.to_text(model.now.with_timezone(&Utc)))
        );
    }
    let otherwise = if problems.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    Ok(super::exit_code(&model, otherwise))
}
