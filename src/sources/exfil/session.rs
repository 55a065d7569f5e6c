//! One read of one attacker pod: what its old container wrote after the cursor when the
//! container restarted (`previous=true`), then the current container from the cursor —
//! followed in the TUI, up to a byte limit for `status`. Every line counted moves the
//! pod's cursor; the state goes back to the follower when the read ends.

use std::time::Duration;

use futures::AsyncBufRead;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::LogParams;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::record::Record;
use crate::msg::{ExfilMsg, Msg};
use crate::sources::backoff::QuickBackoff;
use crate::sources::kubeconfig::describe_error;
use crate::sources::logs::cursor::{Cursor, split_stamp};
use crate::sources::logs::lines::{LINE_CAP, LineReader, decode, printable, shorten};

/// A one-shot read (`status`) takes at most this much of each pod's log, from its start:
/// the bound is in bytes, so a log of megabyte lines costs no more than one of short lines,
/// and the read is known to be cut when it reaches it.
pub const ONCE_LIMIT: usize = 16 * 1024 * 1024;
/// An event line as shown.
const EVENT_LINE: usize = 1024;
/// Notes about odd lines go out at most this often per pod.
const NOTE_EVERY: Duration = Duration::from_secs(1);

/// An attacker pod as the follower lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodInfo {
    pub name: String,
    pub uid: String,
    /// The container read (the first); its restart count.
    pub container: Option<String>,
    pub restarts: i32,
    pub ready: bool,
}

/// What the follower keeps per pod between reads.
#[derive(Debug, Clone)]
pub struct PodState {
    pub name: String,
    pub cursor: Cursor,
    /// The restart count when a read of this pod last began; `None`: never read.
    pub restarts: Option<i32>,
    pub record: Record,
    odd: OddLines,
    pub backoff: QuickBackoff,
    /// Read again no sooner than this (after a read ended); `None`: not waiting to.
    pub resume_at: Option<Instant>,
    /// The last time the pod was listed.
    pub seen: Instant,
}

impl PodState {
    pub fn new(name: String, now: Instant) -> Self {
        Self {
            name,
            cursor: Cursor::default(),
            restarts: None,
            record: Record::default(),
            odd: OddLines::default(),
            backoff: QuickBackoff::new(Duration::from_millis(300), Duration::from_secs(3)),
            resume_at: None,
            seen: now,
        }
    }
}

/// Lines that were read, but not as written.
#[derive(Debug, Clone, Default)]
struct OddLines {
    not_utf8: u64,
    cut: u64,
    unstamped: u64,
    /// What the last note said, and when.
    noted: (u64, u64, u64),
    noted_at: Option<Instant>,
}

impl OddLines {
    fn counts(&self) -> (u64, u64, u64) {
        (self.not_utf8, self.cut, self.unstamped)
    }

    /// When the note about news should go: at once, or a while after the last one.
    fn due(&self) -> Option<Instant> {
        (self.counts() != self.noted)
            .then(|| self.noted_at.map_or_else(Instant::now, |t| t + NOTE_EVERY))
    }

    /// The note to send now, if one is due (`force`: any news at all, at the end of a read).
    fn note(&mut self, pod: &str, force: bool) -> Option<String> {
        let due = self.due()?;
        if !force && due > Instant::now() {
            return None;
        }
        let before = self.noted;
        self.noted = self.counts();
        self.noted_at = Some(Instant::now());
        let lines = |n: u64| {
            if n == 1 {
                "1 line".to_string()
            } else {
                format!("{n} lines")
            }
        };
        // (is news, text): the news first and the pod's name last, as a narrow pane cuts
        // the end.
        let mut parts = Vec::new();
        if self.not_utf8 > 0 {
            let text = format!("{} not UTF-8 (shown with �)", lines(self.not_utf8));
            parts.push((self.not_utf8 == before.0, text));
        }
        if self.cut > 0 {
            let text = format!("{} cut at {} KiB", lines(self.cut), LINE_CAP / 1024);
            parts.push((self.cut == before.1, text));
        }
        if self.unstamped > 0 {
            let text = format!("{} without a timestamp, skipped", lines(self.unstamped));
            parts.push((self.unstamped == before.2, text));
        }
        parts.sort_by_key(|(old, _)| *old);
        let parts: Vec<String> = parts.into_iter().map(|(_, text)| text).collect();
        Some(format!("{} in {pod}'s log", parts.join(", ")))
    }
}

/// What a session says to the follower while it runs.
#[derive(Debug)]
pub enum News {
    /// The pod's log answered: any trouble it had is over.
    Opened(String),
    /// Reading the pod's log failed; it is tried again.
    Trouble(String, String),
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The log ended (a one-shot read, or the stream was closed); `progress`: it gave
    /// new lines.
    Done { progress: bool },
    /// The app is gone.
    Closed,
}

/// What a session needs to know.
#[derive(Clone)]
pub struct Reader {
    pub pods: Api<Pod>,
    pub pattern: String,
    pub follow: bool,
    pub tx: mpsc::Sender<Msg>,
    pub news: mpsc::Sender<News>,
}

impl Reader {
    /// Reads `pod` from `state`'s cursor; gives the state back with how it ended.
    pub async fn session(&self, pod: PodInfo, mut state: PodState) -> (PodState, Ended) {
        let mut progress = false;
        let restarted = state.restarts.is_some_and(|seen| pod.restarts > seen);
        if restarted {
            let gap = state.restarts.map_or(0, |seen| pod.restarts - seen);
            let params = LogParams {
                previous: true,
                ..self.params(&pod, &state.cursor)
            };
            match self.read(&pod, &mut state, &params).await {
                Ok(Some(p)) => progress |= p,
                Ok(None) => return (state, Ended::Closed),
                // The old container's log is gone (or never was): nothing more to get.
                Err(Failure::Refused(why)) => {
                    let note = format!("{}: the restarted container's log: {why}", pod.name);
                    if !self
                        .send(ExfilMsg::Note(printable(&note).into_owned()))
                        .await
                    {
                        return (state, Ended::Closed);
                    }
                }
                Err(Failure::Unreachable) => return (state, Ended::Done { progress }),
            }
            if gap > 1 {
                let note = format!(
                    "{}: {gap} restarts since the last read; only the last container's log was left",
                    pod.name
                );
                if !self
                    .send(ExfilMsg::Note(printable(&note).into_owned()))
                    .await
                {
                    return (state, Ended::Closed);
                }
            }
        }
        state.restarts = Some(pod.restarts);
        let mut params = self.params(&pod, &state.cursor);
        params.follow = self.follow;
        if !self.follow {
            params.limit_bytes = i64::try_from(ONCE_LIMIT).ok();
        }
        match self.read(&pod, &mut state, &params).await {
            Ok(Some(p)) => progress |= p,
            Ok(None) => return (state, Ended::Closed),
            Err(_) => {}
        }
        (state, Ended::Done { progress })
    }

    fn params(&self, pod: &PodInfo, cursor: &Cursor) -> LogParams {
        LogParams {
            container: pod.container.clone(),
            timestamps: true,
            since_time: cursor
                .since()
                .and_then(|s| k8s_openapi::jiff::Timestamp::from_second(s.timestamp()).ok()),
            ..LogParams::default()
        }
    }

    async fn send(&self, msg: ExfilMsg) -> bool {
        self.tx.send(Msg::Exfil(msg)).await.is_ok()
    }

    /// One log request, read to its end. `Ok(None)`: the app is gone; `Ok(Some(progress))`.
    async fn read(
        &self,
        pod: &PodInfo,
        state: &mut PodState,
        params: &LogParams,
    ) -> Result<Option<bool>, Failure> {
        let stream = match self.pods.log_stream(&pod.name, params).await {
            Ok(stream) => stream,
            Err(e) => {
                let why = describe_error(&e);
                let refused = matches!(&e, kube::Error::Api(s) if s.code == 400 || s.code == 404);
                if refused && params.previous {
                    return Err(Failure::Refused(why));
                }
                let why = printable(&format!("log of {}: {why}", pod.name)).into_owned();
                let _ = self.news.send(News::Trouble(pod.uid.clone(), why)).await;
                return Err(Failure::Unreachable);
            }
        };
        if self.news.send(News::Opened(pod.uid.clone())).await.is_err() {
            return Ok(None);
        }
        let mut reader = LineReader::new(Box::pin(stream), LINE_CAP);
        let progress = match self.lines(pod, state, &mut reader).await {
            Some(p) => p,
            None => return Ok(None),
        };
        if let Some(note) = state.odd.note(&pod.name, true)
            && !self
                .send(ExfilMsg::Note(printable(&note).into_owned()))
                .await
        {
            return Ok(None);
        }
        if params.limit_bytes.is_some_and(|l| reader.read >= l as u64) {
            let why = format!(
                "read only the first {} MiB of {}'s log: the count may be short",
                ONCE_LIMIT / (1024 * 1024),
                pod.name
            );
            let why = printable(&why).into_owned();
            let _ = self.news.send(News::Trouble(pod.uid.clone(), why)).await;
        }
        Ok(Some(progress))
    }

    /// Every line of one stream; `None`: the app is gone.
    async fn lines<R: AsyncBufRead + Unpin>(
        &self,
        pod: &PodInfo,
        state: &mut PodState,
        reader: &mut LineReader<R>,
    ) -> Option<bool> {
        let mut replay = state.cursor.replay();
        let mut progress = false;
        loop {
            // A note about odd lines waits a while for more, but not for the next line.
            let due = state.odd.due();
            let next = tokio::select! {
                next = reader.next_line() => next,
                () = sleep_until_some(due) => {
                    let note = state.odd.note(&pod.name, true);
                    if let Some(note) = note
                        && !self.send(ExfilMsg::Note(printable(&note).into_owned())).await
                    {
                        return None;
                    }
                    continue;
                }
            };
            // A stream that breaks ends like one that closes: the follower reads on from the
            // cursor; a line cut by the break is read whole then.
            let Ok(Some(raw)) = next else { break };
            let Some((at, text)) = split_stamp(&raw.bytes) else {
                state.odd.unstamped += 1;
                continue;
            };
            if !replay.admit(&mut state.cursor, at) {
                continue;
            }
            progress = true;
            let (text, not_utf8) = decode(text, raw.dropped > 0);
            state.odd.not_utf8 += u64::from(not_utf8);
            state.odd.cut += u64::from(raw.dropped > 0);
            let shown = printable(&text);
            let mut out = Vec::new();
            if text.contains(&self.pattern) {
                out.extend(state.record.event().map(|lines| ExfilMsg::Record { lines }));
                out.push(ExfilMsg::Event {
                    pod: pod.name.clone(),
                    at,
                    line: shorten(&shown, EVENT_LINE),
                });
            } else {
                out.extend(
                    state
                        .record
                        .line(&shown)
                        .map(|lines| ExfilMsg::Record { lines }),
                );
            }
            if let Some(note) = state.odd.note(&pod.name, false) {
                out.push(ExfilMsg::Note(printable(&note).into_owned()));
            }
            for msg in out {
                if !self.send(msg).await {
                    return None;
                }
            }
        }
        Some(progress)
    }
}

/// Completes at `at`; never when there is none.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Why a log request gave nothing.
#[derive(Debug)]
enum Failure {
    /// The server answered no (a `previous` container that is not there).
    Refused(String),
    /// Not reached, or an error it reported as trouble.
    Unreachable,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_puts_the_news_first_and_waits_between_notes() {
        let mut odd = OddLines::default();
        assert_eq!(odd.note("p", true), None, "nothing to say");
        odd.not_utf8 = 2;
        assert_eq!(
            odd.note("p", false).as_deref(),
            Some("2 lines not UTF-8 (shown with �) in p's log")
        );
        odd.cut = 1;
        assert_eq!(odd.note("p", false), None, "too soon after the last");
        assert!(odd.due().is_some_and(|t| t > Instant::now()));
        assert_eq!(
            odd.note("p", true).as_deref(),
            Some("1 line cut at 64 KiB, 2 lines not UTF-8 (shown with �) in p's log")
        );
        assert_eq!(odd.due(), None);
    }
}
