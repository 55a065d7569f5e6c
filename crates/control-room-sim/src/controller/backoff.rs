//! The kubelet's back-off (client-go's `flowcontrol.Backoff`): per pod and container, the
//! first failure waits the base period, each later one twice the last, up to 30 times the
//! base (10 s → 20 s → 40 s … 300 s on a real kubelet); a container quiet for twice the
//! maximum starts again from the base.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// The maximum is this many base periods (300 s over 10 s).
const MAX_FACTOR: u32 = 30;

/// What is backing off: a container's image pull, or its restarts after a crash.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub pod_uid: String,
    pub container: String,
    pub pulls: bool,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    current: Duration,
    last_update: DateTime<Utc>,
}

#[derive(Debug)]
pub struct Backoff {
    base: Duration,
    entries: HashMap<Key, Entry>,
}

impl Backoff {
    pub fn new(base: Duration) -> Self {
        Self {
            base: base.max(Duration::from_millis(1)),
            entries: HashMap::new(),
        }
    }

    pub fn base(&self) -> Duration {
        self.base
    }

    fn max(&self) -> Duration {
        self.base.saturating_mul(MAX_FACTOR)
    }

    fn expired(&self, entry: &Entry, at: DateTime<Utc>) -> bool {
        let quiet = (at - entry.last_update).to_std().unwrap_or_default();
        quiet > self.max().saturating_mul(2)
    }

    /// Another failure at `at`: the next wait (the base, or twice the last, capped).
    pub fn next(&mut self, key: &Key, at: DateTime<Utc>) -> Duration {
        let current = match self.entries.get(key) {
            Some(entry) if !self.expired(entry, at) => {
                entry.current.saturating_mul(2).min(self.max())
            }
            _ => self.base,
        };
        self.entries.insert(
            key.clone(),
            Entry {
                current,
                last_update: at,
            },
        );
        current
    }

    /// The wait in force, if any (`backOff.Get`).
    pub fn current(&self, key: &Key) -> Option<Duration> {
        self.entries.get(key).map(|e| e.current)
    }

    /// Whether something that happened at `since` is still within its wait at `now`
    /// (`IsInBackOffSince`).
    pub fn in_backoff_since(&self, key: &Key, since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        match self.entries.get(key) {
            Some(entry) if !self.expired(entry, since) => {
                (now - since).to_std().unwrap_or_default() < entry.current
            }
            _ => false,
        }
    }

    /// How much of the wait set by the last failure is left at `now`, if any
    /// (`IsInBackOffSinceUpdate`).
    pub fn remaining(&self, key: &Key, now: DateTime<Utc>) -> Option<Duration> {
        let entry = self.entries.get(key)?;
        let waited = (now - entry.last_update).to_std().unwrap_or_default();
        entry
            .current
            .checked_sub(waited)
            .filter(|left| !left.is_zero())
    }

    /// Forget a pod that is gone.
    pub fn forget(&mut self, pod_uid: &str) {
        self.entries.retain(|k, _| k.pod_uid != pod_uid);
    }
}

/// A duration as Go's `time.Duration.String()` writes it (`10s`, `1m20s`, `5m0s`, `250ms`),
/// which is how the kubelet's `back-off 5m0s restarting failed container` reads.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000_000_000 {
        let (unit, scale) = if nanos < 1_000 {
            ("ns", 1)
        } else if nanos < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{}{unit}", fraction(nanos, scale));
    }
    let total_secs = d.as_secs();
    let hours = total_secs / 3600;
    let minutes = (total_secs / 60) % 60;
    let seconds = fraction(
        u128::from(total_secs % 60) * 1_000_000_000 + u128::from(d.subsec_nanos()),
        1_000_000_000,
    );
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&format!("{seconds}s"));
    out
}

/// `value / scale` with the fraction's trailing zeros dropped (`1.5`, `20`).
fn fraction(value: u128, scale: u128) -> String {
    let whole = value / scale;
    let rest = value % scale;
    if rest == 0 {
        return whole.to_string();
    }
    let digits = scale.ilog10() as usize;
    let frac = format!("{rest:0digits$}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn key() -> Key {
        Key {
            pod_uid: "u".into(),
            container: "c".into(),
            pulls: false,
        }
    }

    #[test]
    fn doubles_caps_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(10));
        let t0: DateTime<Utc> = "2026-05-11T17:00:00Z".parse().unwrap();
        let waits: Vec<u64> = (0..8)
            .map(|i| b.next(&key(), t0 + TimeDelta::seconds(i)).as_secs())
            .collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 300, 300, 300]);
        assert!(b.in_backoff_since(&key(), t0, t0 + TimeDelta::seconds(299)));
        assert!(!b.in_backoff_since(&key(), t0, t0 + TimeDelta::seconds(300)));
        let last = t0 + TimeDelta::seconds(7);
        assert_eq!(
            b.remaining(&key(), last + TimeDelta::seconds(100)),
            Some(Duration::from_secs(200))
        );
        assert_eq!(b.remaining(&key(), last + TimeDelta::seconds(300)), None);
        // Quiet for more than twice the maximum: back to the base.
        let later = t0 + TimeDelta::seconds(8 + 601);
        assert!(!b.in_backoff_since(&key(), later, later));
        assert_eq!(b.next(&key(), later).as_secs(), 10);
        b.forget("u");
        assert_eq!(b.current(&key()), None);
    }

    #[test]
    fn durations_read_like_go() {
        for (d, want) in [
            (Duration::from_secs(10), "10s"),
            (Duration::from_secs(80), "1m20s"),
            (Duration::from_secs(300), "5m0s"),
            (Duration::from_secs(3700), "1h1m40s"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_millis(1600), "1.6s"),
            (Duration::from_micros(1500), "1.5ms"),
            (Duration::ZERO, "0s"),
        ] {
            assert_eq!(go_duration(d), want);
        }
    }
}
