//! Evaluating an [`Expr`] against the [`Tsdb`] at a time, with Prometheus 2.42's semantics:
//! a 5-minute lookback for instant selectors, closed `[t - range, t]` windows for range
//! selectors, `extrapolatedRate` for `rate`/`increase`, `instantValue` for `irate`, and
//! the aggregation and binary-operator rules of its engine.

use std::collections::{BTreeMap, HashMap};

use super::promql::{AggregateOp, BinaryOp, Expr, Function, Selector};
use super::tsdb::{Labels, Samples, Tsdb, is_stale};

/// How far back an instant selector looks for a series' latest sample.
pub const LOOKBACK_MS: i64 = 5 * 60 * 1000;

/// Most samples one query may read (Prometheus' default `--query.max-samples`).
pub const MAX_SAMPLES: usize = 50_000_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    /// `(unix ms, value)`, oldest first.
    pub points: Vec<(i64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(f64),
    Vector(Vec<Sample>),
    Matrix(Vec<Series>),
}

/// Why an expression that parsed could not be evaluated (Prometheus' `execution` errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("query processing would load too many samples into memory in query execution")]
    TooManySamples,
    #[error("vector cannot contain metrics with the same labelset")]
    DuplicateLabelset,
    #[error("{0}")]
    Unsupported(String),
}

/// One query's evaluation (it counts the samples it reads against [`MAX_SAMPLES`]).
pub struct Evaluator<'a> {
    db: &'a Tsdb,
    loaded: usize,
}

impl<'a> Evaluator<'a> {
    pub fn new(db: &'a Tsdb) -> Self {
        Self { db, loaded: 0 }
    }

    /// The value of `expr` at `ts` (unix ms).
    pub fn instant(&mut self, expr: &Expr, ts: i64) -> Result<Value, EvalError> {
        self.eval(expr, ts)
    }

    /// `expr` at `start`, `start + step`, … up to `end`, one series per label set (a scalar
    /// becomes a series without labels), in label order.
    pub fn range(
        &mut self,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Vec<Series>, EvalError> {
        let mut series: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
        let mut ts = start;
        while ts <= end {
            match self.eval(expr, ts)? {
                Value::Scalar(v) => series.entry(Labels::default()).or_default().push((ts, v)),
                Value::Vector(samples) => {
                    for sample in samples {
                        series
                            .entry(sample.labels)
                            .or_default()
                            .push((ts, sample.value));
                    }
                }
                Value::Matrix(_) => {
                    return Err(EvalError::Unsupported(
                        "invalid expression type \"range vector\" for range query, must be \
                         Scalar or instant Vector"
                            .to_string(),
                    ));
                }
            }
            let Some(next) = ts.checked_add(step.max(1)) else {
                break;
            };
            ts = next;
        }
        Ok(series
            .into_iter()
            .map(|(labels, points)| Series { labels, points })
            .collect())
    }

    fn count(&mut self, n: usize) -> Result<(), EvalError> {
        self.loaded = self.loaded.saturating_add(n);
        if self.loaded > MAX_SAMPLES {
            return Err(EvalError::TooManySamples);
        }
        Ok(())
    }

    fn eval(&mut self, expr: &Expr, ts: i64) -> Result<Value, EvalError> {
        Ok(match expr {
            Expr::Number(v) => Value::Scalar(*v),
            Expr::Paren(inner) => self.eval(inner, ts)?,
            Expr::Selector(selector) => Value::Vector(self.select_instant(selector, ts)?),
            Expr::Range { selector, range_ms } => {
                let end = ts - selector.offset_ms;
                let series = self.select_range(selector, end - range_ms, end)?;
                Value::Matrix(
                    series
                        .into_iter()
                        .filter(|s| !s.points.is_empty())
                        .collect(),
                )
            }
            Expr::Call { func, arg } => Value::Vector(self.call(*func, arg, ts)?),
            Expr::Aggregate {
                op,
                without,
                grouping,
                expr,
            } => {
                let Value::Vector(input) = self.eval(expr, ts)? else {
                    return Err(EvalError::Unsupported(
                        "expected type instant vector in aggregation expression".to_string(),
                    ));
                };
                Value::Vector(aggregate(*op, *without, grouping, input))
            }
            Expr::Binary {
                op,
                lhs,
                rhs,
                return_bool,
            } => {
                let lhs = self.eval(lhs, ts)?;
                let rhs = self.eval(rhs, ts)?;
                binary(*op, lhs, rhs, *return_bool)?
            }
            Expr::Unary { negate, expr } => match self.eval(expr, ts)? {
                Value::Scalar(v) if *negate => Value::Scalar(-v),
                Value::Vector(samples) if *negate => {
                    let negated: Vec<Sample> = samples
                        .into_iter()
                        .map(|s| Sample {
                            labels: s.labels.without_name(),
                            value: -s.value,
                        })
                        .collect();
                    unique(&negated)?;
                    Value::Vector(negated)
                }
                value => value,
            },
        })
    }

    /// Each matching series' latest sample at or before `ts` (minus the offset), if it is at
    /// most [`LOOKBACK_MS`] old and not a stale marker.
    fn select_instant(&mut self, selector: &Selector, ts: i64) -> Result<Vec<Sample>, EvalError> {
        let reference = ts - selector.offset_ms;
        let mut out = Vec::new();
        for (labels, samples) in self.db.select(|l| matches(selector, l)) {
            let i = samples.partition_point(|(t, _)| *t <= reference);
            let Some(&(t, v)) = i.checked_sub(1).and_then(|i| samples.get(i)) else {
                continue;
            };
            if t < reference - LOOKBACK_MS || is_stale(v) {
                continue;
            }
            out.push(Sample {
                labels: labels.clone(),
                value: v,
            });
        }
        self.count(out.len())?;
        Ok(out)
    }

    /// Each matching series' samples in `[start, end]`, stale markers left out.
    fn select_range(
        &mut self,
        selector: &Selector,
        start: i64,
        end: i64,
    ) -> Result<Vec<Series>, EvalError> {
        let mut out = Vec::new();
        for (labels, samples) in self.db.select(|l| matches(selector, l)) {
            let points = window(samples, start, end);
            self.count(points.len())?;
            out.push(Series {
                labels: labels.clone(),
                points,
            });
        }
        Ok(out)
    }

    fn call(&mut self, func: Function, arg: &Expr, ts: i64) -> Result<Vec<Sample>, EvalError> {
        let Expr::Range { selector, range_ms } = arg else {
            return Err(EvalError::Unsupported(format!(
                "expected type range vector in call to function {:?}",
                func.name()
            )));
        };
        let end = ts - selector.offset_ms;
        let start = end - range_ms;
        let mut out = Vec::new();
        for series in self.select_range(selector, start, end)? {
            let value = match func {
                Function::Rate => extrapolated_rate(&series.points, start, end, *range_ms, true),
                Function::Increase => {
                    extrapolated_rate(&series.points, start, end, *range_ms, false)
                }
                Function::Irate => instant_rate(&series.points),
            };
            if let Some(value) = value {
                out.push(Sample {
                    labels: series.labels.without_name(),
                    value,
                });
            }
        }
        unique(&out)?;
        Ok(out)
    }
}

fn matches(selector: &Selector, labels: &Labels) -> bool {
    selector
        .matchers
        .iter()
        .all(|m| m.matches(labels.get(&m.name)))
}

fn window(samples: &Samples, start: i64, end: i64) -> Vec<(i64, f64)> {
    let from = samples.partition_point(|(t, _)| *t < start);
    let to = samples.partition_point(|(t, _)| *t <= end);
    samples
        .range(from..to.max(from))
        .filter(|(_, v)| !is_stale(*v))
        .copied()
        .collect()
}

/// Go's `time.Duration.Seconds()` of a millisecond duration (same rounding).
fn seconds(ms: i64) -> f64 {
    (ms / 1000) as f64 + ((ms % 1000) * 1_000_000) as f64 / 1e9
}

/// Prometheus 2.42's `extrapolatedRate` for a counter: the increase over the window
/// corrected for resets, extrapolated towards the window's edges (all the way when the
/// first/last sample is within 1.1 average sample intervals of it, else half an interval,
/// and never below the counter's zero point); per second when `is_rate`. `None` with fewer
/// than two samples.
pub fn extrapolated_rate(
    points: &[(i64, f64)],
    range_start: i64,
    range_end: i64,
    range_ms: i64,
    is_rate: bool,
) -> Option<f64> {
    let (&(first_t, first_v), &(last_t, last_v)) = (points.first()?, points.last()?);
    if points.len() < 2 {
        return None;
    }
    let mut result = last_v - first_v;
    let mut previous = first_v;
    for &(_, v) in &points[1..] {
        if v < previous {
            result += previous;
        }
        previous = v;
    }
    let mut duration_to_start = (first_t - range_start) as f64 / 1000.0;
    let duration_to_end = (range_end - last_t) as f64 / 1000.0;
    let sampled_interval = (last_t - first_t) as f64 / 1000.0;
    let average_interval = sampled_interval / (points.len() - 1) as f64;
    if result > 0.0 && first_v >= 0.0 {
        // A counter cannot have been below zero: do not extrapolate past its zero point.
        let duration_to_zero = sampled_interval * (first_v / result);
        if duration_to_zero < duration_to_start {
            duration_to_start = duration_to_zero;
        }
    }
    let threshold = average_interval * 1.1;
    let mut extrapolate_to = sampled_interval;
    extrapolate_to += if duration_to_start < threshold {
        duration_to_start
    } else {
        average_interval / 2.0
    };
    extrapolate_to += if duration_to_end < threshold {
        duration_to_end
    } else {
        average_interval / 2.0
    };
    let mut factor = extrapolate_to / sampled_interval;
    if is_rate {
        factor /= seconds(range_ms);
    }
    Some(result * factor)
}

/// Prometheus' `instantValue` for `irate`: the per-second rate between the last two samples
/// (after a reset, the last value counts as the increase).
pub fn instant_rate(points: &[(i64, f64)]) -> Option<f64> {
    let [.., (previous_t, previous_v), (last_t, last_v)] = points else {
        return None;
    };
    let increase = if last_v < previous_v {
        *last_v
    } else {
        last_v - previous_v
    };
    let interval = last_t - previous_t;
    if interval == 0 {
        return None;
    }
    Some(increase / (interval as f64 / 1000.0))
}

fn unique(samples: &[Sample]) -> Result<(), EvalError> {
    let mut seen = std::collections::HashSet::with_capacity(samples.len());
    if samples.iter().all(|s| seen.insert(&s.labels)) {
        Ok(())
    } else {
        Err(EvalError::DuplicateLabelset)
    }
}

/// Prometheus 2.42's aggregation: groups in order of first appearance; `avg` as its running
/// mean.
fn aggregate(
    op: AggregateOp,
    without: bool,
    grouping: &[String],
    input: Vec<Sample>,
) -> Vec<Sample> {
    struct Group {
        labels: Labels,
        value: f64,
        mean: f64,
        count: usize,
    }
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for sample in input {
        let key = if without {
            sample.labels.filtered(grouping, false).without_name()
        } else {
            sample.labels.filtered(grouping, true)
        };
        let v = sample.value;
        let Some(&i) = index.get(&key) else {
            index.insert(key.clone(), groups.len());
            groups.push(Group {
                labels: key,
                value: v,
                mean: v,
                count: 1,
            });
            continue;
        };
        let group = &mut groups[i];
        group.count += 1;
        match op {
            AggregateOp::Sum => group.value += v,
            AggregateOp::Count => {}
            AggregateOp::Max => {
                if group.value < v || group.value.is_nan() {
                    group.value = v;
                }
            }
            AggregateOp::Min => {
                if group.value > v || group.value.is_nan() {
                    group.value = v;
                }
            }
            AggregateOp::Avg => {
                if group.mean.is_infinite() {
                    let same_infinity = v.is_infinite() && (group.mean > 0.0) == (v > 0.0);
                    if same_infinity || (!v.is_infinite() && !v.is_nan()) {
                        continue;
                    }
                }
                let n = group.count as f64;
                group.mean += v / n - group.mean / n;
            }
        }
    }
    groups
        .into_iter()
        .map(|g| Sample {
            value: match op {
                AggregateOp::Avg => g.mean,
                AggregateOp::Count => g.count as f64,
                _ => g.value,
            },
            labels: g.labels,
        })
        .collect()
}

/// A binary operation between two evaluated operands (the parser let only scalar–scalar and
/// vector–scalar pairs through).
fn binary(op: BinaryOp, lhs: Value, rhs: Value, return_bool: bool) -> Result<Value, EvalError> {
    match (lhs, rhs) {
        (Value::Scalar(a), Value::Scalar(b)) => {
            let (value, holds) = op.apply(a, b);
            Ok(Value::Scalar(if op.is_comparison() {
                if holds { 1.0 } else { 0.0 }
            } else {
                value
            }))
        }
        (Value::Vector(v), Value::Scalar(s)) => vector_scalar(op, v, s, false, return_bool),
        (Value::Scalar(s), Value::Vector(v)) => vector_scalar(op, v, s, true, return_bool),
        _ => Err(EvalError::Unsupported(
            "binary operations between two vectors are not supported by the control-room \
             simulator's Prometheus"
                .to_string(),
        )),
    }
}

/// Prometheus' `VectorscalarBinop`: comparisons filter (or give 0/1 with `bool`) and keep
/// the vector's value; arithmetic drops the metric name.
fn vector_scalar(
    op: BinaryOp,
    vector: Vec<Sample>,
    scalar: f64,
    scalar_on_left: bool,
    return_bool: bool,
) -> Result<Value, EvalError> {
    let drop_name = !op.is_comparison() || return_bool;
    let mut out = Vec::with_capacity(vector.len());
    for sample in vector {
        let (lhs, rhs) = if scalar_on_left {
            (scalar, sample.value)
        } else {
            (sample.value, scalar)
        };
        let (mut value, mut keep) = op.apply(lhs, rhs);
        if op.is_comparison() && scalar_on_left {
            value = rhs;
        }
        if return_bool {
            value = if keep { 1.0 } else { 0.0 };
            keep = true;
        }
        if keep {
            out.push(Sample {
                labels: if drop_name {
                    sample.labels.without_name()
                } else {
                    sample.labels
                },
                value,
            });
        }
    }
    if drop_name {
        unique(&out)?;
    }
    Ok(Value::Vector(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::MetricSample;
    use crate::services::prometheus::parser::parse;

    const S: i64 = 1000;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    /// Samples every second from 0 s to `last` s.
    fn every_second(last: i64, value: impl Fn(i64) -> f64) -> Vec<(i64, f64)> {
        (0..=last).map(|s| (s * S, value(s))).collect()
    }

    #[test]
    fn rate_table() {
        let five_min = 300 * S;
        struct Case {
            name: &'static str,
            points: Vec<(i64, f64)>,
            at: i64,
            range: i64,
            rate: Option<f64>,
            increase: Option<f64>,
        }
        let cases = [
            Case {
                // Prometheus cannot see a series' first increment.
                name: "appears at 1 and stays",
                points: every_second(60, |_| 1.0),
                at: 60 * S,
                range: five_min,
                rate: Some(0.0),
                increase: Some(0.0),
            },
            Case {
                // 1 → 2 after 30 s; the zero point (60 s before the first sample) limits the
                // start, which is beyond 1.1 intervals, so half an interval; the end is at the
                // last sample: 1 × (60 + 0.5 + 0) / 60.
                name: "1 to 2 inside the window",
                points: every_second(60, |s| if s <= 30 { 1.0 } else { 2.0 }),
                at: 60 * S,
                range: five_min,
                rate: Some(60.5 / 60.0 / 300.0),
                increase: Some(60.5 / 60.0),
            },
            Case {
                name: "steady 1/s over the whole window",
                points: every_second(600, |s| s as f64),
                at: 600 * S,
                range: five_min,
                rate: Some(1.0),
                increase: Some(300.0),
            },
            Case {
                // 5, 10, 2, 4, 6: 6 - 5 + 10 (the reset) = 11 over exactly the window.
                name: "counter reset",
                points: vec![
                    (0, 5.0),
                    (10 * S, 10.0),
                    (20 * S, 2.0),
                    (30 * S, 4.0),
                    (40 * S, 6.0),
                ],
                at: 40 * S,
                range: 40 * S,
                rate: Some(11.0 / 40.0),
                increase: Some(11.0),
            },
            Case {
                // 2.42: the zero point (10 s before the first sample) is within 1.1 × 10 s,
                // so extrapolate 10 s back; the end is 80 s away: half an interval.
                // 20 × (20 + 10 + 5) / 20 = 35.
                name: "extrapolation limited",
                points: vec![(100 * S, 10.0), (110 * S, 20.0), (120 * S, 30.0)],
                at: 200 * S,
                range: 200 * S,
                rate: Some(35.0 / 200.0),
                increase: Some(35.0),
            },
            Case {
                name: "one sample",
                points: vec![(10 * S, 3.0)],
                at: 20 * S,
                range: five_min,
                rate: None,
                increase: None,
            },
            Case {
                name: "no samples",
                points: vec![],
                at: 20 * S,
                range: five_min,
                rate: None,
                increase: None,
            },
        ];
        for case in cases {
            let start = case.at - case.range;
            let points: Vec<_> = case
                .points
                .iter()
                .copied()
                .filter(|(t, _)| (start..=case.at).contains(t))
                .collect();
            for (is_rate, expected) in [(true, case.rate), (false, case.increase)] {
                let got = extrapolated_rate(&points, start, case.at, case.range, is_rate);
                match (got, expected) {
                    (Some(g), Some(e)) => assert!(close(g, e), "{}: {g} != {e}", case.name),
                    (g, e) => assert_eq!(g, e, "{}", case.name),
                }
            }
        }
    }

    #[test]
    fn irate_uses_the_last_two_samples() {
        assert_eq!(instant_rate(&[(0, 1.0), (10 * S, 3.0)]), Some(0.2));
        assert_eq!(
            instant_rate(&[(0, 5.0), (10 * S, 10.0), (20 * S, 2.0)]),
            Some(0.2)
        );
        assert_eq!(instant_rate(&[(0, 5.0)]), None);
    }

    /// A metric name, a `w` label value, and the samples.
    type SeriesSpec<'a> = (&'static str, &'a str, Vec<(i64, f64)>);

    fn db_with(series: &[SeriesSpec<'_>]) -> Tsdb {
        let mut times: Vec<i64> = series
            .iter()
            .flat_map(|(_, _, points)| points.iter().map(|(t, _)| *t))
            .collect();
        times.sort();
        times.dedup();
        let mut db = Tsdb::default();
        for t in times {
            let scrape = series
                .iter()
                .filter_map(|(name, workload, points)| {
                    let (_, v) = points.iter().find(|(pt, _)| *pt == t)?;
                    Some(MetricSample {
                        name,
                        labels: vec![("w", workload.to_string()), ("ns", "n".to_string())],
                        value: *v,
                    })
                })
                .collect();
            db.append_scrape(t, scrape);
        }
        db
    }

    fn query(db: &Tsdb, q: &str, at: i64) -> Result<Value, EvalError> {
        Evaluator::new(db).instant(&parse(q).unwrap(), at)
    }

    fn vector(db: &Tsdb, q: &str, at: i64) -> Vec<(String, f64)> {
        let Ok(Value::Vector(samples)) = query(db, q, at) else {
            panic!("{q} is not a vector")
        };
        samples
            .into_iter()
            .map(|s| {
                let labels: Vec<String> =
                    s.labels.iter().map(|(n, v)| format!("{n}={v}")).collect();
                (labels.join(","), s.value)
            })
            .collect()
    }

    #[test]
    fn instant_selectors_look_back_five_minutes_and_respect_staleness() {
        let db = db_with(&[("a_total", "x", vec![(0, 1.0)])]);
        assert_eq!(
            vector(&db, "a_total", 300 * S),
            [("__name__=a_total,ns=n,w=x".into(), 1.0)]
        );
        assert!(vector(&db, "a_total", 300 * S + 1).is_empty());
        assert!(
            vector(&db, "a_total", -1).is_empty(),
            "nothing before the first sample"
        );
        assert_eq!(vector(&db, "a_total offset 1m", 360 * S).len(), 1);
        assert!(vector(&db, "a_total offset 1m", 360 * S + 1).is_empty());
        // Here a_total leaves the scrape at 1 s: stale from then on.
        let db = db_with(&[
            ("a_total", "x", vec![(0, 1.0)]),
            ("b_total", "y", vec![(S, 7.0)]),
        ]);
        assert_eq!(vector(&db, "a_total", S - 1).len(), 1);
        assert!(vector(&db, "a_total", S).is_empty());
        assert_eq!(vector(&db, "{w=~\"x|y\"}", 1).len(), 1);
        assert_eq!(
            vector(&db, "{__name__=~\".+_total\", w!=\"x\"}", S).len(),
            1
        );
    }

    #[test]
    fn aggregations_and_binary_operators() {
        let db = db_with(&[
            ("a_total", "x", vec![(0, 1.0)]),
            ("a_total", "y", vec![(0, 3.0)]),
            ("b_total", "y", vec![(0, 8.0)]),
        ]);
        let at = S;
        assert_eq!(vector(&db, "sum(a_total)", at), [(String::new(), 4.0)]);
        assert_eq!(vector(&db, "count(a_total)", at), [(String::new(), 2.0)]);
        assert_eq!(vector(&db, "avg(a_total)", at), [(String::new(), 2.0)]);
        assert_eq!(vector(&db, "max(a_total)", at), [(String::new(), 3.0)]);
        assert_eq!(vector(&db, "min(a_total)", at), [(String::new(), 1.0)]);
        assert_eq!(
            vector(&db, "sum by (w) ({ns=\"n\"})", at),
            [("w=x".into(), 1.0), ("w=y".into(), 11.0)]
        );
        assert_eq!(
            vector(&db, "sum({ns=\"n\"}) without (w)", at),
            [("ns=n".into(), 12.0)]
        );
        assert_eq!(
            vector(&db, "a_total > 2", at),
            [("__name__=a_total,ns=n,w=y".into(), 3.0)]
        );
        assert_eq!(
            vector(&db, "2 < a_total", at),
            [("__name__=a_total,ns=n,w=y".into(), 3.0)]
        );
        assert_eq!(
            vector(&db, "a_total > bool 2", at),
            [("ns=n,w=x".into(), 0.0), ("ns=n,w=y".into(), 1.0)]
        );
        assert_eq!(
            vector(&db, "a_total * 2 - 1", at),
            [("ns=n,w=x".into(), 1.0), ("ns=n,w=y".into(), 5.0)]
        );
        assert_eq!(vector(&db, "-a_total", at)[0], ("ns=n,w=x".into(), -1.0));
        assert_eq!(query(&db, "1 + 2 * 3 ^ 2", at), Ok(Value::Scalar(19.0)));
        assert_eq!(query(&db, "2 > bool 1", at), Ok(Value::Scalar(1.0)));
        assert_eq!(query(&db, "7 % 4 / 2", at), Ok(Value::Scalar(1.5)));
        // Two series equal once the name is gone.
        assert_eq!(
            query(&db, "{w=\"y\"} * 1", at),
            Err(EvalError::DuplicateLabelset)
        );
        assert_eq!(query(&db, "{w=\"y\"} > 0", at).map(|_| ()), Ok(()));
    }

    #[test]
    fn rate_drops_the_name_and_range_queries_collect_series() {
        let db = db_with(&[("a_total", "x", every_second(120, |s| s as f64))]);
        assert_eq!(
            vector(&db, "rate(a_total[1m])", 120 * S),
            [("ns=n,w=x".into(), 1.0)]
        );
        assert_eq!(
            vector(&db, "increase(a_total[1m])", 120 * S),
            [("ns=n,w=x".into(), 60.0)]
        );
        assert_eq!(
            vector(&db, "irate(a_total[1m])", 120 * S),
            [("ns=n,w=x".into(), 1.0)]
        );
        let Ok(Value::Matrix(m)) = query(&db, "a_total[2s]", 120 * S) else {
            panic!("not a matrix")
        };
        assert_eq!(
            m[0].points,
            [(118 * S, 118.0), (119 * S, 119.0), (120 * S, 120.0)]
        );
        let series = Evaluator::new(&db)
            .range(
                &parse("sum(rate(a_total[1m]))").unwrap(),
                60 * S,
                120 * S,
                30 * S,
            )
            .unwrap();
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].labels, Labels::default());
        assert_eq!(
            series[0].points.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
            [60 * S, 90 * S, 120 * S]
        );
        let scalar = Evaluator::new(&db)
            .range(&parse("1").unwrap(), 0, 2 * S, S)
            .unwrap();
        assert_eq!(scalar[0].points, [(0, 1.0), (S, 1.0), (2 * S, 1.0)]);
        assert!(
            Evaluator::new(&db)
                .range(&parse("a_total[1m]").unwrap(), 0, S, S)
                .is_err()
        );
    }
}
