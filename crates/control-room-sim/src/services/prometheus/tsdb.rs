//! The samples Prometheus scraped: per series (a label set with `__name__`) its samples of
//! the last [`RETENTION_MS`], oldest first, and a stale marker when a series left the scrape.

use std::collections::{BTreeMap, VecDeque};

use super::promql::METRIC_NAME;
use crate::services::MetricSample;

/// How long samples are kept.
pub const RETENTION_MS: i64 = 15 * 60 * 1000;

/// Most samples kept per series whatever the scrape rate (15 min at 4 scrapes a second).
const MAX_SAMPLES_PER_SERIES: usize = 3600;

/// Most series kept; a scrape adds no new ones beyond it.
pub const MAX_SERIES: usize = 10_000;

/// Prometheus' stale marker: a NaN no computation produces.
const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

pub fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// A label set, sorted by label name, without empty values; ordered like Prometheus orders
/// series.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut pairs: Vec<_> = pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        // The last of a repeated name wins, as when setting labels one after the other.
        let mut unique: Vec<(String, String)> = Vec::with_capacity(pairs.len());
        for (name, value) in pairs {
            match unique.last_mut() {
                Some(last) if last.0 == name => last.1 = value,
                _ => unique.push((name, value)),
            }
        }
        Self(unique)
    }

    /// The value of `name`, `""` when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .map_or("", |i| self.0[i].1.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The same labels without the metric name.
    pub fn without_name(&self) -> Self {
        Self(
            self.0
                .iter()
                .filter(|(n, _)| n != METRIC_NAME)
                .cloned()
                .collect(),
        )
    }

    /// Only the labels named in `names` (`keep`) or all but those (`!keep`).
    pub fn filtered(&self, names: &[String], keep: bool) -> Self {
        Self(
            self.0
                .iter()
                .filter(|(n, _)| names.contains(n) == keep)
                .cloned()
                .collect(),
        )
    }

    /// `self` with `name` set to `value` (removed when empty).
    pub fn with(&self, name: &str, value: &str) -> Self {
        Self::new(
            self.0
                .iter()
                .filter(|(n, _)| n != name)
                .cloned()
                .chain([(name.to_string(), value.to_string())]),
        )
    }
}

/// The stored samples: `(unix ms, value)`, oldest first.
pub type Samples = VecDeque<(i64, f64)>;

#[derive(Debug, Default)]
struct Series {
    samples: Samples,
    /// Whether the latest scrape had this series (a series that leaves gets a stale marker).
    in_last_scrape: bool,
}

#[derive(Debug, Default)]
pub struct Tsdb {
    series: BTreeMap<Labels, Series>,
    last_scrape_ms: Option<i64>,
}

impl Tsdb {
    /// Append one scrape taken at `t` (unix ms). Samples not newer than a series' latest are
    /// dropped, as Prometheus drops out-of-order samples.
    pub fn append_scrape(&mut self, t: i64, samples: Vec<MetricSample>) {
        if self.last_scrape_ms.is_some_and(|last| t <= last) {
            return;
        }
        self.last_scrape_ms = Some(t);
        let mut seen = Vec::with_capacity(samples.len());
        for sample in samples {
            let labels = Labels::new(
                sample
                    .labels
                    .into_iter()
                    .map(|(n, v)| (n.to_string(), v))
                    .chain([(METRIC_NAME.to_string(), sample.name.to_string())]),
            );
            if !self.series.contains_key(&labels) && self.series.len() >= MAX_SERIES {
                continue;
            }
            let series = self.series.entry(labels.clone()).or_default();
            if series.samples.back().is_none_or(|(last, _)| *last < t) {
                push(&mut series.samples, t, sample.value);
            }
            seen.push(labels);
        }
        seen.sort();
        for (labels, series) in &mut self.series {
            let now_in = seen.binary_search(labels).is_ok();
            if series.in_last_scrape && !now_in {
                push(&mut series.samples, t, f64::from_bits(STALE_NAN_BITS));
            }
            series.in_last_scrape = now_in;
        }
        let oldest = t - RETENTION_MS;
        self.series.retain(|_, series| {
            while series.samples.front().is_some_and(|(at, _)| *at < oldest) {
                series.samples.pop_front();
            }
            !series.samples.is_empty()
        });
    }

    /// Every series whose labels satisfy `matches`, in label order.
    pub fn select<'a>(
        &'a self,
        matches: impl Fn(&Labels) -> bool + 'a,
    ) -> impl Iterator<Item = (&'a Labels, &'a Samples)> + 'a {
        self.series
            .iter()
            .filter(move |(labels, _)| matches(labels))
            .map(|(labels, series)| (labels, &series.samples))
    }

    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    pub fn last_scrape_ms(&self) -> Option<i64> {
        self.last_scrape_ms
    }
}

fn push(samples: &mut Samples, t: i64, v: f64) {
    if samples.len() == MAX_SAMPLES_PER_SERIES {
        samples.pop_front();
    }
    samples.push_back((t, v));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &'static str, workload: &str, value: f64) -> MetricSample {
        MetricSample {
            name,
            labels: vec![
                ("source_workload", workload.to_string()),
                ("empty", String::new()),
            ],
            value,
        }
    }

    #[test]
    fn keeps_fifteen_minutes_and_marks_series_that_leave() {
        let mut db = Tsdb::default();
        for i in 0..1000 {
            let mut scrape = vec![sample("a_total", "x", i as f64)];
            if i < 10 {
                scrape.push(sample("a_total", "y", 1.0));
            }
            db.append_scrape(i * 1000, scrape);
        }
        // y left at the 11th scrape (a stale marker) and has aged out since.
        let all: Vec<_> = db.select(|_| true).collect();
        assert_eq!(all.len(), 1);
        let (labels, x) = all[0];
        assert_eq!(labels.get("source_workload"), "x");
        assert_eq!(labels.get(METRIC_NAME), "a_total");
        assert_eq!(labels.get("empty"), "", "empty labels are dropped");
        assert_eq!(labels.iter().count(), 2);
        assert_eq!(
            x.front(),
            Some(&(99_000, 99.0)),
            "15 min before the last scrape"
        );
        assert_eq!(x.len(), 901);
        let mut db = Tsdb::default();
        db.append_scrape(0, vec![sample("a_total", "y", 1.0)]);
        db.append_scrape(1000, vec![]);
        db.append_scrape(2000, vec![]);
        let y: Vec<_> = db
            .select(|_| true)
            .flat_map(|(_, s)| s.iter().copied())
            .collect();
        assert_eq!(y.len(), 2);
        assert!(is_stale(y[1].1) && y[1].0 == 1000);
        db.append_scrape(2000, vec![sample("a_total", "y", 5.0)]);
        assert_eq!(
            db.select(|_| true).next().unwrap().1.len(),
            2,
            "not newer: dropped"
        );
    }

    #[test]
    fn labels_sort_and_filter() {
        let l = Labels::new([
            ("b".to_string(), "2".to_string()),
            ("a".to_string(), "1".to_string()),
            (METRIC_NAME.to_string(), "m".to_string()),
        ]);
        let names: Vec<_> = l.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["__name__", "a", "b"]);
        assert_eq!(l.without_name().iter().count(), 2);
        assert_eq!(l.filtered(&["a".into()], true).iter().count(), 1);
        assert_eq!(l.filtered(&["a".into()], false).iter().count(), 2);
        assert_eq!(l.with("a", "9").get("a"), "9");
        assert_eq!(l.with("a", "").get("a"), "");
    }
}
