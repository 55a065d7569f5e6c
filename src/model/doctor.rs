//! The preflight doctor as the screen and `control-room doctor` see it: the latest result of
//! every check, the run under way, and when to run again. Results of an older run than the
//! one asked for last are ignored, so a slow run never overwrites a newer one.

use chrono::{DateTime, FixedOffset};

use crate::msg::doctor::{CheckResult, DoctorMsg, Verdict};

/// The badge re-runs the doctor this often.
pub const EVERY_SECS: i64 = 60;

#[derive(Debug, Clone, Default)]
pub struct DoctorModel {
    /// The doctor can run here (its effect runner knows the clusters).
    pub enabled: bool,
    /// The run asked for last.
    pub run: u64,
    /// That run's results so far, in check order; the previous run's while it has none yet.
    pub results: Vec<CheckResult>,
    /// Results of the run under way (shown as they arrive once the first is in).
    pending: Vec<CheckResult>,
    pub running: bool,
    /// When the last run was asked for / finished.
    pub started: Option<DateTime<FixedOffset>>,
    pub finished: Option<DateTime<FixedOffset>>,
    /// The selected line of the doctor view, and whether its detail is open.
    pub selected: usize,
    pub detail: bool,
    /// First line shown of the detail (a long fix scrolls).
    pub detail_scroll: usize,
    /// The cluster order the results are sorted by.
    pub cluster_order: Vec<String>,
}

impl DoctorModel {
    /// A new run: its number, for the effect.
    pub fn start(&mut self, now: DateTime<FixedOffset>) -> u64 {
        self.run += 1;
        self.running = true;
        self.pending.clear();
        self.started = Some(now);
        self.run
    }

    pub fn apply(&mut self, msg: DoctorMsg, now: DateTime<FixedOffset>) {
        match msg {
            DoctorMsg::Checked(run, result) if run == self.run => {
                self.pending.push(result);
                self.sort_pending();
                self.results = self.pending.clone();
            }
            DoctorMsg::Finished(run) if run == self.run => {
                self.running = false;
                self.finished = Some(now);
                self.results = std::mem::take(&mut self.pending);
                self.selected = self.selected.min(self.results.len().saturating_sub(1));
            }
            _ => {}
        }
    }

    fn sort_pending(&mut self) {
        let order = self.cluster_order.clone();
        let ids = crate::msg::doctor::ORDER;
        self.pending.sort_by_key(|r| {
            (
                ids.iter().position(|i| *i == r.id).unwrap_or(usize::MAX),
                order.iter().position(|c| *c == r.cluster).unwrap_or(usize::MAX),
            )
        });
    }

    /// Whether the badge's minute is up.
    pub fn due(&self, now: DateTime<FixedOffset>) -> bool {
        self.enabled
            && !self.running
            && self
                .started
                .is_none_or(|s| (now - s).num_seconds() >= EVERY_SECS)
    }

    pub fn count(&self, verdict: Verdict) -> usize {
        self.results.iter().filter(|r| r.result == verdict).count()
    }

    /// Whether every check of a finished run is in.
    pub fn done(&self) -> bool {
        !self.running && self.finished.is_some()
    }

    pub fn selected_result(&self) -> Option<&CheckResult> {
        self.results.get(self.selected)
    }
}
