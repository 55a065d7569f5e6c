//! `control-room doctor [--json]`: the `D` view once, for the pre-flight. It runs every check
//! through the same doctor source and `update` as the screen and prints the model's results.
//!
//! Exit status: 1 when any check fails; 0 otherwise — a warning (the demo is mid-act) or an
//! unknown (a check that could not read, a cluster that did not answer in time) is printed
//! but does not fail the pre-flight on its own, because a cluster that does not answer
//! already fails `contexts`.

use std::process::ExitCode;
use std::time::Duration;

use serde::Serialize;

use crate::app::world::World;
use crate::app::{Parts, Runtime, RuntimeOptions};
use crate::config::Config;
use crate::model::Model;
use crate::msg::Msg;
use crate::msg::doctor::{CheckResult, Evidence, Verdict};

/// Every check has its own timeout well inside this; it only guards against a bug.
const WHOLE_RUN: Duration = Duration::from_secs(10);

/// One line of `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorLine<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub result: Verdict,
    pub cluster: &'a str,
    pub clusters: &'a [String],
    pub evidence: &'a [Evidence],
    pub fix: &'a [String],
}

impl<'a> DoctorLine<'a> {
    fn of(r: &'a CheckResult) -> DoctorLine<'a> {
        DoctorLine {
            id: r.id,
            title: r.title,
            result: r.result,
            cluster: &r.cluster,
            clusters: &r.clusters,
            evidence: &r.evidence,
            fix: &r.fix,
        }
    }
}

/// The table: one line per check and cluster, then the evidence and fix of every check
/// that did not pass.
pub fn to_text(results: &[CheckResult]) -> String {
    let id_w = results.iter().map(|r| r.id.len()).max().unwrap_or(5).max(5);
    let cluster_w = results
        .iter()
        .map(|r| r.cluster.chars().count())
        .max()
        .unwrap_or(7)
        .max(7);
    let mut out = format!(
        "{:<7}  {:<id_w$}  {:<cluster_w$}  WHAT\n",
        "RESULT", "CHECK", "CLUSTER"
    );
    for r in results {
        out.push_str(&format!(
            "{:<7}  {:<id_w$}  {:<cluster_w$}  {}\n",
            format!("{} {}", r.result.glyph(), r.result.word()),
            r.id,
            r.cluster,
            r.title
        ));
    }
    for r in results.iter().filter(|r| r.result != Verdict::Pass) {
        out.push_str(&format!(
            "\n{} {} on {}: {}\n",
            r.result.glyph(),
            r.id,
            r.cluster,
            r.title
        ));
        for e in &r.evidence {
            out.push_str(&format!("  · {}  {} = {}\n", e.object, e.field, e.value));
        }
        for f in &r.fix {
            out.push_str(&format!("  $ {f}\n"));
        }
    }
    let count = |v| results.iter().filter(|r| r.result == v).count();
    out.push_str(&format!(
        "\n{} pass · {} warn · {} fail · {} unknown\n",
        count(Verdict::Pass),
        count(Verdict::Warn),
        count(Verdict::Fail),
        count(Verdict::Unknown)
    ));
    out
}

/// The model once every check of one run is in (or a signal came).
pub async fn read(world: World, config: &Config) -> Model {
    // The doctor's own forwards: free local ports, so it never collides with the
    // presenter's `forward` or the TUI on the same laptop.
    let mut config = config.clone();
    for f in &mut config.forwards {
        f.local_port = None;
    }
    config.forwards_from_user = true;
    let parts = Parts::doctor(&config);
    let (mut app, runtime) = Runtime::start(world, &config, parts, RuntimeOptions::default()).await;
    app.apply_now(Msg::RunDoctor);
    app.pump_until(WHOLE_RUN, |m| m.exit_signal.is_some() || m.doctor.done())
        .await;
    runtime.shutdown().await;
    app.model
}

pub async fn run(world: World, config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let model = read(world, config).await;
    let results = &model.doctor.results;
    if json {
        let lines: Vec<DoctorLine> = results.iter().map(DoctorLine::of).collect();
        println!("{}", crate::text::json_pretty(&lines)?);
    } else {
        print!("{}", crate::text::inert(&to_text(results)));
    }
    let failed = !model.doctor.done() || results.iter().any(|r| r.result == Verdict::Fail);
    let otherwise = if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    Ok(super::exit_code(&model, otherwise))
}
