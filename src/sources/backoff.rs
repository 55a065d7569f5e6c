//! Retry pacing for watchers: quick first retries so a returning cluster is picked up
//! within seconds, capped so a dead one is not hammered.

use std::time::Duration;

use kube::runtime::utils::Backoff;

#[derive(Debug, Clone)]
pub struct QuickBackoff {
    next: Duration,
    initial: Duration,
    max: Duration,
}

impl QuickBackoff {
    pub fn new(initial: Duration, max: Duration) -> QuickBackoff {
        QuickBackoff {
            next: initial,
            initial,
            max,
        }
    }
}

impl Default for QuickBackoff {
    fn default() -> Self {
        QuickBackoff::new(Duration::from_millis(250), Duration::from_secs(3))
    }
}

impl Iterator for QuickBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let now = self.next;
        self.next = (self.next * 2).min(self.max);
        Some(now)
    }
}

impl Backoff for QuickBackoff {
    fn reset(&mut self) {
        self.next = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_cap_and_resets() {
        let mut b = QuickBackoff::new(Duration::from_millis(100), Duration::from_millis(350));
        let got: Vec<_> = (0..4).filter_map(|_| b.next()).collect();
        assert_eq!(got, [100, 200, 350, 350].map(Duration::from_millis));
        b.reset();
        assert_eq!(b.next(), Some(Duration::from_millis(100)));
    }
}
