//! How far one pod's log has been read, and which lines of a resumed read are new.
//!
//! The API resumes a log only from a whole second (`sinceTime` is inclusive and kube-rs
//! sends seconds), so the cursor is the latest stamp counted, its second, and how many lines
//! stamped in that second or later were counted. A resumed read asks from that second and
//! skips the replayed prefix — up to that many lines, none stamped after the latest — then
//! counts everything: equal stamps (a burst), and a line stamped a little before the one
//! above it (stdout and stderr are stamped apart), alike. A line stamped after the latest is
//! always new, so one cursor also serves a restarted container, whose lines all come after
//! the old one's: the previous container is read on from it, then the current one.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    last: Option<Last>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Last {
    /// The latest stamp counted.
    latest: DateTime<Utc>,
    /// Its second: where a resumed read starts.
    second: DateTime<Utc>,
    /// Lines counted that are stamped in that second or later.
    counted: usize,
}

impl Cursor {
    /// Where a resumed read starts: the cursor's second. `None`: from the beginning.
    pub fn since(&self) -> Option<DateTime<Utc>> {
        self.last.map(|l| l.second)
    }

    /// A read starting now, from [`Cursor::since`].
    pub fn replay(&self) -> Replay {
        Replay {
            skip: self.last,
            skipped: 0,
        }
    }

    fn advance(&mut self, at: DateTime<Utc>) {
        let second = DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at);
        self.last = Some(match self.last {
            Some(l) if second == l.second => Last {
                latest: l.latest.max(at),
                counted: l.counted + 1,
                ..l
            },
            // Out of order into an earlier second: counted, but no resumed read will see it
            // again (it is before `since`).
            Some(l) if second < l.second => l,
            _ => Last {
                latest: at,
                second,
                counted: 1,
            },
        });
    }
}

/// One read's view of the cursor as it was when the read began.
#[derive(Debug, Clone)]
pub struct Replay {
    skip: Option<Last>,
    skipped: usize,
}

impl Replay {
    /// Whether the next line, stamped `at`, is new; a new one moves `cursor` over it.
    pub fn admit(&mut self, cursor: &mut Cursor, at: DateTime<Utc>) -> bool {
        if let Some(last) = self.skip {
            // Before the second asked for: a server that ignored `sinceTime`.
            if at < last.second {
                return false;
            }
            if at <= last.latest && self.skipped < last.counted {
                self.skipped += 1;
                return false;
            }
            self.skip = None;
        }
        cursor.advance(at);
        true
    }
}

/// `2026-05-11T16:16:28.123456789Z rest` → the stamp and the rest.
pub fn split_stamp(line: &[u8]) -> Option<(DateTime<Utc>, &[u8])> {
    let space = line.iter().position(|b| *b == b' ');
    let (stamp, rest) = match space {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, &[][..]),
    };
    let stamp = std::str::from_utf8(stamp).ok()?;
    let at = DateTime::parse_from_rfc3339(stamp).ok()?.to_utc();
    Some((at, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").to_utc()
    }

    /// What a server returns for `sinceTime`: every line at or after it (inclusive).
    fn served(log: &[DateTime<Utc>], since: Option<DateTime<Utc>>) -> Vec<DateTime<Utc>> {
        log.iter()
            .copied()
            .filter(|at| since.is_none_or(|s| *at >= s))
            .collect()
    }

    /// A log with bursts (equal stamps), a second boundary and an out-of-order line.
    fn log() -> Vec<DateTime<Utc>> {
        let mut log = vec![t("2026-05-11T16:00:00.5Z")];
        log.extend(std::iter::repeat_n(t("2026-05-11T16:00:01.25Z"), 4));
        log.push(t("2026-05-11T16:00:01.75Z"));
        log.push(t("2026-05-11T16:00:01.5Z"));
        log.extend(std::iter::repeat_n(t("2026-05-11T16:00:01.75Z"), 3));
        log.push(t("2026-05-11T16:00:02Z"));
        log.extend(std::iter::repeat_n(t("2026-05-11T16:00:02.000000001Z"), 2));
        log
    }

    #[test]
    fn a_cut_anywhere_resumes_exactly() {
        let log = log();
        for cut in 0..=log.len() {
            for second_cut in cut..=log.len() {
                let mut cursor = Cursor::default();
                let mut counted = 0;
                // Three reads, each cut where the connection dropped.
                let read_upto = |cursor: &mut Cursor, upto: usize| {
                    // Only what had been written by then is served.
                    let written = &log[..upto];
                    let mut replay = cursor.replay();
                    served(written, cursor.since())
                        .into_iter()
                        .filter(|at| replay.admit(cursor, *at))
                        .count()
                };
                counted += read_upto(&mut cursor, cut);
                counted += read_upto(&mut cursor, second_cut);
                counted += read_upto(&mut cursor, log.len());
                assert_eq!(counted, log.len(), "cuts at {cut} and {second_cut}");
                // Reading again finds nothing new.
                assert_eq!(read_upto(&mut cursor, log.len()), 0);
            }
        }
    }

    #[test]
    fn equal_stamps_in_new_data_all_count() {
        let at = t("2026-05-11T16:00:01.25Z");
        let mut cursor = Cursor::default();
        let mut replay = cursor.replay();
        assert!((0..50).all(|_| replay.admit(&mut cursor, at)));
        assert_eq!(cursor.since(), Some(t("2026-05-11T16:00:01Z")));
        // Resumed after all 50: another burst at the same stamp is new, all of it.
        let mut replay = cursor.replay();
        let again: Vec<bool> = (0..80).map(|_| replay.admit(&mut cursor, at)).collect();
        assert_eq!(again.iter().filter(|new| **new).count(), 30);
        assert!(again[..50].iter().all(|new| !new));
    }

    #[test]
    fn a_restarted_container_is_read_on_from_the_same_cursor() {
        // The old container logged three lines in one second; the new one starts later.
        let old = [
            t("2026-05-11T16:00:01.1Z"),
            t("2026-05-11T16:00:01.2Z"),
            t("2026-05-11T16:00:01.3Z"),
        ];
        let new = [t("2026-05-11T16:00:03Z"), t("2026-05-11T16:00:03.5Z")];
        let mut cursor = Cursor::default();
        let mut replay = cursor.replay();
        assert!(replay.admit(&mut cursor, old[0]), "read before the restart");
        // previous=true from the cursor: the old container's two unread lines.
        let mut replay = cursor.replay();
        let got: Vec<bool> = served(&old, cursor.since())
            .iter()
            .map(|at| replay.admit(&mut cursor, *at))
            .collect();
        assert_eq!(got, [false, true, true]);
        // The current container from the same cursor: everything, nothing skipped.
        let mut replay = cursor.replay();
        let got: Vec<bool> = served(&new, cursor.since())
            .iter()
            .map(|at| replay.admit(&mut cursor, *at))
            .collect();
        assert_eq!(got, [true, true]);
    }

    #[test]
    fn a_fresh_cursor_reads_from_the_beginning() {
        let cursor = Cursor::default();
        assert_eq!(cursor.since(), None);
        let mut c = cursor;
        assert!(cursor.replay().admit(&mut c, t("2020-01-01T00:00:00Z")));
    }

    #[test]
    fn stamps_split_off() {
        let (at, rest) = split_stamp(b"2026-05-11T16:16:28.123456789Z hello \xff").expect("stamp");
        assert_eq!(at, t("2026-05-11T16:16:28.123456789Z"));
        assert_eq!(rest, b"hello \xff");
        assert_eq!(
            split_stamp(b"2026-05-11T16:16:28Z").map(|(_, r)| r.len()),
            Some(0)
        );
        assert!(split_stamp(b"no stamp here").is_none());
        assert!(split_stamp(b"\xff\xfe x").is_none());
    }
}
