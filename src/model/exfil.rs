//! The exfil counter: events the mock-attacker logged, the last stolen record, and how many
//! arrived since the current act began.

use chrono::{DateTime, FixedOffset, Utc};

/// A rise keeps the counter flashing this long.
pub const FLASH_SECS: i64 = 4;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExfilModel {
    /// Every event's time, oldest first (counts stay exact; times give "since act").
    pub events: Vec<DateTime<Utc>>,
    pub last_record: Vec<String>,
    pub last_source: Option<String>,
    /// The pods whose logs are read now.
    pub following: Vec<String>,
    pub trouble: Option<String>,
    /// The latest odd-lines note (the count is not affected).
    pub note: Option<String>,
    pub flash_since: Option<DateTime<FixedOffset>>,
    /// Mask the PII in the record on screen (`m`).
    pub masked: bool,
    /// A one-shot read has reached the end of the log (headless `status`).
    pub caught_up: bool,
}

impl ExfilModel {
    pub fn total(&self) -> usize {
        self.events.len()
    }

    pub fn since(&self, t: DateTime<FixedOffset>) -> usize {
        let t = t.with_timezone(&Utc);
        self.events.iter().filter(|e| **e >= t).count()
    }

    pub fn last_at(&self) -> Option<DateTime<Utc>> {
        self.events.last().copied()
    }

    pub fn flashing(&self, now: DateTime<FixedOffset>) -> bool {
        self.flash_since
            .is_some_and(|f| (now - f).num_seconds() < FLASH_SECS)
    }
}

/// `"email": "alex.carter@gmail.com",` → `"email": "a•••••",`: enough to see that PII left,
/// not enough to put it on a projector.
pub fn mask_line(line: &str) -> String {
    match line.split_once(": \"") {
        Some((key, rest)) => {
            let end = rest.rfind('"').unwrap_or(rest.len());
            let value = &rest[..end];
            let first: String = value.chars().take(1).collect();
            format!("{key}: \"{first}•••••{}", &rest[end..])
        }
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_values_not_keys() {
        assert_eq!(
            mask_line("  \"email\": \"alex.carter@gmail.com\","),
            "  \"email\": \"a•••••\","
        );
        assert_eq!(mask_line("  \"stolen_data\": {"), "  \"stolen_data\": {");
        assert_eq!(mask_line("}"), "}");
    }
}
