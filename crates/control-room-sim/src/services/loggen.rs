//! The log generator behind the `load-logs/log-generator` pod (flog writing access logs):
//! a log of any size, none of it held in memory. Line `i` is a pure function of `i` (its
//! text, built from a hash of `i`) and of the pod's start (its time), so a request for the
//! last 500 lines of a gigabyte computes 500 lines, `sinceTime` is a division, and a
//! follow at tens of thousands of lines a second formats what is due and nothing else.
//!
//! The log has two parts: the lines written before the simulator started, spread evenly
//! over the time the pod had run by then (about the configured size), and from the start on
//! the configured rate, for as long as the pod lives. A pod made later (its Deployment
//! replacing a deleted one) starts an empty log and writes at the rate.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use crate::store::ids::IdGen;

/// Where the generator runs.
pub const CLUSTER: &str = "bank";
pub const NAMESPACE: &str = "load-logs";
pub const APP: &str = "log-generator";
pub const IMAGE: &str = "docker.io/mingrammer/flog:0.4.3";

/// Lines sampled to learn the average line length the size is reached with.
const SAMPLE: u64 = 4096;

/// The generator as configured for this run.
#[derive(Debug, Clone, Copy)]
pub struct LogGenerator {
    /// Lines already written when the simulator started.
    initial_lines: u64,
    /// Lines per second from then on.
    lines_per_sec: u32,
    sim_start: DateTime<Utc>,
}

impl LogGenerator {
    /// A log of about `initial_mib` MiB at `sim_start`, growing by `lines_per_sec`.
    pub fn new(initial_mib: u64, lines_per_sec: u32, sim_start: DateTime<Utc>) -> Self {
        let sampled: u64 = (0..SAMPLE)
            .map(|i| line(i, sim_start).len() as u64 + 1)
            .sum();
        let average = (sampled / SAMPLE).max(1);
        let bytes = initial_mib.saturating_mul(1024 * 1024);
        Self {
            initial_lines: bytes / average,
            lines_per_sec,
            sim_start,
        }
    }

    /// Whether `pod` (in `cluster`) runs this program.
    pub fn runs(cluster: &str, pod: &Value) -> bool {
        cluster.ends_with(&format!("-{CLUSTER}"))
            && pod.pointer("/metadata/namespace").and_then(Value::as_str) == Some(NAMESPACE)
            && pod.pointer("/metadata/labels/app").and_then(Value::as_str) == Some(APP)
    }

    /// The log of one container run that started at `started`.
    pub fn log(&self, started: DateTime<Utc>) -> Log {
        let (initial, end) = if started < self.sim_start {
            (self.initial_lines, self.sim_start)
        } else {
            (0, started)
        };
        let span = (end - started).num_nanoseconds().unwrap_or(i64::MAX).max(0);
        Log {
            before: Segment {
                origin: started,
                lines: Some(initial),
                num: u128::try_from(span).unwrap_or(0),
                den: u128::from(initial.max(1)),
            },
            after: Segment {
                origin: end,
                lines: (self.lines_per_sec == 0).then_some(0),
                num: 1_000_000_000,
                den: u128::from(self.lines_per_sec.max(1)),
            },
        }
    }
}

/// Lines at `origin + floor(j * num / den)` nanoseconds, `lines` of them (None: no end).
#[derive(Debug, Clone, Copy)]
struct Segment {
    origin: DateTime<Utc>,
    lines: Option<u64>,
    num: u128,
    den: u128,
}

impl Segment {
    fn cap(&self, j: u128) -> u64 {
        let j = u64::try_from(j).unwrap_or(u64::MAX);
        self.lines.map_or(j, |n| j.min(n))
    }

    fn nanos_since(&self, t: DateTime<Utc>) -> Option<u128> {
        let d = (t - self.origin).num_nanoseconds().unwrap_or(i64::MAX);
        u128::try_from(d).ok()
    }

    /// How many lines are stamped at or before `t`.
    fn count_at(&self, t: DateTime<Utc>) -> u64 {
        let Some(d) = self.nanos_since(t) else {
            return 0;
        };
        if self.num == 0 {
            return self.cap(u128::MAX);
        }
        // floor(j·num/den) ≤ d  ⇔  j < (d+1)·den/num
        self.cap(((d + 1) * self.den).div_ceil(self.num))
    }

    /// The first line stamped at or after `t`.
    fn first_from(&self, t: DateTime<Utc>) -> u64 {
        match self.nanos_since(t) {
            None | Some(0) => 0,
            Some(_) if self.num == 0 => self.cap(u128::MAX),
            Some(d) => self.cap((d * self.den).div_ceil(self.num)),
        }
    }

    fn time_of(&self, j: u64) -> DateTime<Utc> {
        let nanos = u128::from(j) * self.num / self.den;
        self.origin + TimeDelta::nanoseconds(i64::try_from(nanos).unwrap_or(i64::MAX))
    }
}

/// One container run's log: its lines before the simulator started, then the rate's.
#[derive(Debug, Clone, Copy)]
pub struct Log {
    before: Segment,
    after: Segment,
}

impl Log {
    fn initial(&self) -> u64 {
        self.before.lines.unwrap_or(0)
    }

    /// How many lines had been written by `now`.
    pub fn count_at(&self, now: DateTime<Utc>) -> u64 {
        self.before
            .count_at(now)
            .saturating_add(self.after.count_at(now))
    }

    /// The first line written at or after `t` (`sinceTime` is inclusive).
    pub fn first_from(&self, t: DateTime<Utc>) -> u64 {
        if t <= self.after.origin {
            self.before.first_from(t)
        } else {
            self.initial().saturating_add(self.after.first_from(t))
        }
    }

    /// When line `i` was written.
    pub fn time_of(&self, i: u64) -> DateTime<Utc> {
        match i.checked_sub(self.initial()) {
            None => self.before.time_of(i),
            Some(j) => self.after.time_of(j),
        }
    }

    /// Line `i`'s text, without its newline.
    pub fn line(&self, i: u64) -> String {
        line(i, self.time_of(i))
    }
}

const USERS: &[&str] = &[
    "-",
    "-",
    "-",
    "-",
    "wuckert3",
    "bauch7",
    "kuhic5",
    "schimmel4",
];
const METHODS: &[&str] = &[
    "GET", "GET", "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD",
];
const WORDS: &[&str] = &[
    "synergize",
    "e-markets",
    "enterprise",
    "cultivate",
    "deliverables",
    "architect",
    "portals",
    "bandwidth",
    "mindshare",
    "scalable",
    "infrastructures",
    "monetize",
    "paradigms",
    "streamline",
    "channels",
    "front-end",
    "web-readiness",
    "leverage",
    "interfaces",
    "benchmark",
    "eyeballs",
    "innovate",
    "vortals",
    "revolutionary",
];
const STATUSES: &[u16] = &[
    200, 200, 200, 200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 500, 502, 503,
];

/// flog's `apache_common` line for index `i`, stamped `at`.
fn line(i: u64, at: DateTime<Utc>) -> String {
    let mut rng = IdGen::new(i ^ 0x5157_4c4f_4747_454e);
    let mut pick = |list: &[&'static str]| list[rng.below(list.len() as u64) as usize];
    let user = pick(USERS);
    let method = pick(METHODS);
    let depth = 1 + (i % 3) as usize;
    let path: Vec<&str> = (0..depth).map(|_| pick(WORDS)).collect();
    let ip = rng.next_u64();
    let status = STATUSES[rng.below(STATUSES.len() as u64) as usize];
    let size = 200 + rng.below(48_000);
    format!(
        "{}.{}.{}.{} - {user} [{}] \"{method} /{} HTTP/1.1\" {status} {size}",
        ip >> 56,
        (ip >> 48) & 0xff,
        (ip >> 40) & 0xff,
        (ip >> 32) & 0xff,
        at.format("%d/%b/%Y:%H:%M:%S %z"),
        path.join("/"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> DateTime<Utc> {
        "2026-05-11T17:00:00Z".parse().unwrap()
    }

    #[test]
    fn the_size_is_about_what_was_asked_for() {
        let g = LogGenerator::new(8, 0, start());
        let log = g.log(start() - TimeDelta::hours(2));
        let n = log.count_at(start());
        assert_eq!(n, g.initial_lines);
        let bytes: u64 = (0..n)
            .step_by(97)
            .map(|i| log.line(i).len() as u64 + 1)
            .sum::<u64>()
            * 97;
        let want = 8 * 1024 * 1024;
        assert!(bytes.abs_diff(want) < want / 50, "{bytes} vs {want}");
    }

    #[test]
    fn times_counts_and_since_agree() {
        let g = LogGenerator::new(1, 1000, start());
        let log = g.log(start() - TimeDelta::minutes(10));
        let n = log.count_at(start());
        assert!(n > 1000);
        for i in [0, 1, n / 2, n - 1, n, n + 1, n + 5000] {
            let t = log.time_of(i);
            assert!(log.first_from(t) <= i, "{i}");
            assert!(log.count_at(t) > i, "line {i} is counted at its own time");
            if i > 0 {
                assert!(log.time_of(i - 1) <= t, "{i}");
            }
        }
        // The rate's lines: the first at the start itself, one a millisecond after.
        assert_eq!(n, g.initial_lines + 1);
        let later = start() + TimeDelta::seconds(3);
        assert_eq!(log.count_at(later) - n, 3000);
        assert_eq!(
            log.first_from(start() + TimeDelta::seconds(1)),
            g.initial_lines + 1000
        );
        assert_eq!(log.count_at(start() - TimeDelta::hours(1)), 0);
        // Deterministic text, stamped with its own time.
        assert_eq!(log.line(42), log.line(42));
        assert!(
            log.line(n + 7)
                .contains(&log.time_of(n + 7).format("%d/%b/%Y:%H:%M:%S").to_string())
        );
    }

    #[test]
    fn a_pod_made_later_starts_empty_and_a_quiet_one_stays_put() {
        let g = LogGenerator::new(64, 10, start());
        let log = g.log(start() + TimeDelta::seconds(30));
        assert_eq!(log.count_at(start() + TimeDelta::seconds(30)), 1);
        assert_eq!(log.count_at(start() + TimeDelta::seconds(31)), 11);
        let quiet = LogGenerator::new(1, 0, start()).log(start() - TimeDelta::hours(1));
        let n = quiet.count_at(start());
        assert_eq!(quiet.count_at(start() + TimeDelta::days(1)), n);
        // An empty log, and a pod created this instant, never divide by zero.
        let empty = LogGenerator::new(0, 0, start()).log(start());
        assert_eq!(empty.count_at(start() + TimeDelta::days(1)), 0);
        assert_eq!(empty.first_from(start() + TimeDelta::days(1)), 0);
        let instant = LogGenerator::new(1, 0, start()).log(start() - TimeDelta::nanoseconds(1));
        let _ = instant.count_at(start());
        let _ = instant.first_from(start());
    }
}
