//! One container's log: read to its end, or followed for as long as the pod lives.
//!
//! Lines come off the wire as bytes ([`LineReader`], capped at [`LINE_CAP`]), are decoded
//! lossily and made inert ([`crate::text::inert`]) before anything else sees them, and go
//! out in batches (at most [`BATCH_LINES`], or what arrived within [`BATCH_WAIT`]), so a
//! log at thousands of lines a second costs the app a message per batch, not per line.
//!
//! Every read asks for `timestamps=true`. A follow that ends — the container exited, the
//! connection broke, the API server went away — is resumed from the last stamp read
//! (`sinceTime`, a whole second, as kube-rs sends it) and the lines of that second already
//! shown are skipped ([`Cursor`]), so nothing is shown twice and nothing is lost. Between
//! reads the pod is looked at: gone (or another pod of the same name) ends the stream; a
//! container that waits to restart (a crash loop) is waited for, and said so; one that
//! restarted while no read was open has the unread end of its previous run read first
//! (`previous=true` from the cursor), as the exfil counter does.

use std::time::Duration;

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use kube::Api;
use kube::api::LogParams;
use kube::runtime::utils::Backoff as _;
use tokio::time::Instant;

use super::Sender;
use super::cursor::{Cursor, split_stamp};
use super::lines::{LineReader, decode};
use crate::model::logs::LINE_CAP;
use crate::msg::logs::{LogLine, LogNews, LogWindow};
use crate::sources::backoff::QuickBackoff;
use crate::sources::kubeconfig::describe_error;
use crate::text::inert;

/// Lines sent in one message at most.
pub const BATCH_LINES: usize = 512;
/// How long the first line of a batch waits for more.
pub const BATCH_WAIT: Duration = Duration::from_millis(20);
/// Room for the stamp (`2026-05-11T16:16:28.123456789Z `) on top of the line's own cap.
const STAMP_ROOM: usize = 40;

/// What to read.
#[derive(Clone)]
pub struct Stream {
    pub pods: Api<Pod>,
    /// The stream's number in the messages.
    pub stream: u32,
    pub pod: String,
    /// The pod read; another pod with the same name later is not it.
    pub uid: Option<String>,
    pub container: String,
    pub previous: bool,
    pub window: LogWindow,
}

/// How a stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The log was read to its end (without follow), or the container finished for good.
    Done(String),
    /// The pod is gone.
    Gone(String),
    /// The server refused the read (no such container, no previous run …).
    Refused(String),
    /// Nobody listens any more.
    Closed,
}

/// Why a read gave nothing.
enum Failure {
    NotFound(String),
    Refused(String),
    Unreachable(String),
}

/// The pod between two reads.
enum Check {
    Running {
        restarts: i32,
    },
    /// Not running now; worth waiting for (a crash loop, a pod coming up).
    Waiting(String),
    /// It will not run again.
    Finished(String),
    Gone(String),
    Unreachable(String),
}

impl Stream {
    /// Reads until the end (or for as long as the pod lives, when following).
    pub async fn run(&self, send: &Sender) -> End {
        let follow = self.window.follow && !self.previous;
        let mut cursor = Cursor::default();
        let mut backoff = QuickBackoff::new(Duration::from_millis(300), Duration::from_secs(3));
        let mut restarts: Option<i32> = None;
        let mut opened = false;
        // What was last said, so a retry loop says it once.
        let mut said: Option<String> = None;
        loop {
            // Before each read while following: the pod as it is now. Until a read has
            // answered, a container that is not running is read anyway — a crash-looping
            // one's last run is what the kubelet serves then.
            if follow {
                match self.check().await {
                    Check::Running { restarts: now } => {
                        let restarted = restarts.is_some_and(|seen| now > seen);
                        if restarted && cursor.since().is_some() {
                            // Restarted while no read was open: what its last run wrote
                            // after the cursor first.
                            let params = LogParams {
                                previous: true,
                                ..self.params(&cursor, false)
                            };
                            let read = self.read(&params, &mut cursor, send, &mut said).await;
                            if let Ok(None) = read {
                                return End::Closed;
                            }
                        }
                        restarts = Some(now);
                    }
                    Check::Gone(why) => return End::Gone(why),
                    Check::Finished(why) if opened => return End::Done(why),
                    Check::Waiting(why) | Check::Finished(why) => {
                        if !self.say(send, &mut said, why, false).await {
                            return End::Closed;
                        }
                        if opened {
                            tokio::time::sleep(backoff.next().unwrap_or_default()).await;
                            continue;
                        }
                    }
                    Check::Unreachable(why) => {
                        if !self.say(send, &mut said, why, true).await {
                            return End::Closed;
                        }
                        tokio::time::sleep(backoff.next().unwrap_or_default()).await;
                        continue;
                    }
                }
            }
            let params = self.params(&cursor, follow);
            match self.read(&params, &mut cursor, send, &mut said).await {
                Ok(None) => return End::Closed,
                Ok(Some(progress)) => {
                    opened = true;
                    if !follow {
                        return End::Done("the log ended".into());
                    }
                    if progress {
                        backoff.reset();
                    } else {
                        // A follow that closed at once with nothing new: the container is
                        // not running; look again in a while.
                        tokio::time::sleep(backoff.next().unwrap_or_default()).await;
                    }
                }
                Err(Failure::NotFound(why)) => return End::Gone(why),
                Err(Failure::Refused(why)) if !follow => return End::Refused(why),
                Err(Failure::Refused(why)) => {
                    // Not readable yet (ContainerCreating, an image that cannot be pulled):
                    // said, and tried again.
                    if !self.say(send, &mut said, why, false).await {
                        return End::Closed;
                    }
                    tokio::time::sleep(backoff.next().unwrap_or_default()).await;
                }
                Err(Failure::Unreachable(why)) => {
                    if !self.say(send, &mut said, why, true).await {
                        return End::Closed;
                    }
                    tokio::time::sleep(backoff.next().unwrap_or_default()).await;
                }
            }
        }
    }

    /// A note or trouble, unless it was the last thing said. False once nobody listens.
    async fn say(
        &self,
        send: &Sender,
        said: &mut Option<String>,
        text: String,
        trouble: bool,
    ) -> bool {
        if said.as_deref() == Some(text.as_str()) {
            return true;
        }
        *said = Some(text.clone());
        let text = inert(&text);
        let stream = self.stream;
        let news = if trouble {
            LogNews::Trouble { stream, why: text }
        } else {
            LogNews::Note { stream, text }
        };
        send.news(news).await
    }

    fn params(&self, cursor: &Cursor, follow: bool) -> LogParams {
        let since = cursor.since();
        LogParams {
            container: Some(self.container.clone()),
            follow,
            previous: self.previous,
            timestamps: true,
            // The window applies to the first lines read; later reads go on from the cursor.
            tail_lines: if since.is_none() {
                self.window.tail
            } else {
                None
            },
            since_seconds: if since.is_none() {
                self.window.since_seconds
            } else {
                None
            },
            since_time: since
                .and_then(|s| k8s_openapi::jiff::Timestamp::from_second(s.timestamp()).ok()),
            ..LogParams::default()
        }
    }

    /// The pod now: is the container running, waiting, done, or the pod gone?
    async fn check(&self) -> Check {
        let pod = match self.pods.get_opt(&self.pod).await {
            Ok(Some(pod)) => pod,
            Ok(None) => return Check::Gone(format!("pod {} is gone", self.pod)),
            Err(e) => return Check::Unreachable(describe_error(&e)),
        };
        if self.uid.is_some() && pod.metadata.uid != self.uid {
            return Check::Gone(format!(
                "pod {} is gone (another has its name now)",
                self.pod
            ));
        }
        let status = pod.status.as_ref();
        let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("");
        let container = status.and_then(|s| {
            s.container_statuses
                .iter()
                .chain(s.init_container_statuses.iter())
                .flatten()
                .find(|c| c.name == self.container)
        });
        let Some(c) = container else {
            return Check::Waiting(format!("container {} has not started", self.container));
        };
        if c.state.as_ref().is_some_and(|s| s.running.is_some()) {
            return Check::Running {
                restarts: c.restart_count,
            };
        }
        let said = container_state(c);
        if matches!(phase, "Succeeded" | "Failed") {
            return Check::Finished(format!("{said}; the pod is {phase}"));
        }
        if pod.metadata.deletion_timestamp.is_some() {
            return Check::Waiting(format!("{said}; the pod is terminating"));
        }
        Check::Waiting(format!("{said}; waiting for it to restart"))
    }

    /// One log request, read to its end. `Ok(None)`: nobody listens; `Ok(Some(progress))`.
    async fn read(
        &self,
        params: &LogParams,
        cursor: &mut Cursor,
        send: &Sender,
        said: &mut Option<String>,
    ) -> Result<Option<bool>, Failure> {
        let stream = match self.pods.log_stream(&self.pod, params).await {
            Ok(stream) => stream,
            Err(e) => {
                let why = describe_error(&e);
                return Err(match &e {
                    kube::Error::Api(s) if s.code == 404 => Failure::NotFound(why),
                    kube::Error::Api(s) if s.code == 400 => Failure::Refused(why),
                    _ => Failure::Unreachable(why),
                });
            }
        };
        if said.take().is_some()
            && !send
                .news(LogNews::Connected {
                    stream: self.stream,
                })
                .await
        {
            return Ok(None);
        }
        let mut reader = LineReader::new(Box::pin(stream), LINE_CAP + STAMP_ROOM);
        let mut replay = cursor.replay();
        let mut batch: Vec<LogLine> = Vec::new();
        let mut deadline = Instant::now();
        let mut progress = false;
        loop {
            let next = if batch.is_empty() {
                reader.next_line().await
            } else {
                // `next_line` is cancel-safe: a line half read waits in the reader.
                match tokio::time::timeout_at(deadline, reader.next_line()).await {
                    Ok(next) => next,
                    Err(_) => {
                        if !self.flush(send, &mut batch).await {
                            return Ok(None);
                        }
                        continue;
                    }
                }
            };
            // A stream that breaks ends like one that closes: the next read resumes from
            // the cursor, and a line cut by the break is read whole then.
            let Ok(Some(raw)) = next else { break };
            let (at, text) = match split_stamp(&raw.bytes) {
                Some((at, rest)) => {
                    if !replay.admit(cursor, at) {
                        continue;
                    }
                    (Some(at), rest)
                }
                None => (None, &raw.bytes[..]),
            };
            progress = true;
            batch.push(log_line(self.stream, at, text, raw.dropped));
            if batch.len() == 1 {
                deadline = Instant::now() + BATCH_WAIT;
            }
            if batch.len() >= BATCH_LINES && !self.flush(send, &mut batch).await {
                return Ok(None);
            }
        }
        if !self.flush(send, &mut batch).await {
            return Ok(None);
        }
        Ok(Some(progress))
    }

    async fn flush(&self, send: &Sender, batch: &mut Vec<LogLine>) -> bool {
        if batch.is_empty() {
            return true;
        }
        let lines = std::mem::take(batch);
        send.news(LogNews::Lines {
            stream: self.stream,
            lines,
        })
        .await
    }
}

/// A line off the wire as the model keeps it: lossily decoded (a line cut at the cap may
/// end inside a character, which is not counted as invalid), a CRLF's CR dropped, made
/// inert — escape sequences become one `␛`, other controls their pictures — so nothing in
/// it can act on a terminal, and nothing a search highlights can split a sequence.
pub fn log_line(
    stream: u32,
    at: Option<chrono::DateTime<chrono::Utc>>,
    bytes: &[u8],
    cut: usize,
) -> LogLine {
    // The reader's cap leaves room for the stamp; the text itself is held to the cap.
    let keep = bytes.len().min(LINE_CAP);
    let cut = cut + (bytes.len() - keep);
    let (text, not_utf8) = decode(&bytes[..keep], cut > 0);
    let text = text.strip_suffix('\r').unwrap_or(&text);
    LogLine {
        stream,
        at,
        text: inert(text),
        cut,
        not_utf8,
    }
}

/// `container c exited (Error, exit code 1)`, `container c is waiting: CrashLoopBackOff`.
fn container_state(c: &ContainerStatus) -> String {
    let state = c.state.as_ref();
    if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
        let reason = t.reason.as_deref().unwrap_or("exited");
        return format!(
            "container {} exited ({reason}, exit code {})",
            c.name, t.exit_code
        );
    }
    if let Some(w) = state.and_then(|s| s.waiting.as_ref()) {
        let reason = w.reason.as_deref().unwrap_or("waiting");
        let last = c
            .last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .map(|t| {
                format!(
                    " after its last run exited ({}, exit code {})",
                    t.reason.as_deref().unwrap_or("exited"),
                    t.exit_code
                )
            })
            .unwrap_or_default();
        return format!("container {} is waiting: {reason}{last}", c.name);
    }
    format!("container {} is not running", c.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_inert_lossy_and_keeps_its_cut() {
        let l = log_line(3, None, b"red \x1b[31mALERT\x1b[0m \xff\x07 done\r", 0);
        assert_eq!(l.text, "red ␛ALERT␛ �␇ done");
        assert!(l.not_utf8);
        assert_eq!((l.stream, l.cut), (3, 0));
        assert!(!l.text.chars().any(|c| c.is_control() && c != '\t'));
        // An OSC 52 clipboard write, cut off by the cap in the middle of its payload.
        let l = log_line(0, None, b"x\x1b]52;c;ZXZpbA", 100);
        assert_eq!(l.text, "x␛");
        assert_eq!(l.cut, 100);
        // A character cut by the cap is not "invalid UTF-8".
        let fox = "ab🦊".as_bytes();
        let l = log_line(0, None, &fox[..4], 2);
        assert_eq!(l.text, "ab");
        assert!(!l.not_utf8);
    }

    #[tokio::test]
    async fn a_megabyte_line_is_capped_with_its_stamp_and_the_rest_counted() {
        let mut wire = b"2026-12-01T14:05:09.123456789Z ".to_vec();
        wire.extend(std::iter::repeat_n(b'x', 1024 * 1024));
        wire.extend_from_slice(b"\n2026-12-01T14:05:10Z next\n");
        let chunks: Vec<std::io::Result<Vec<u8>>> =
            wire.chunks(4096).map(|c| Ok(c.to_vec())).collect();
        let stream = futures::TryStreamExt::into_async_read(futures::stream::iter(chunks));
        let mut reader = LineReader::new(stream, LINE_CAP + STAMP_ROOM);
        let raw = reader.next_line().await.expect("read").expect("a line");
        let (at, text) = split_stamp(&raw.bytes).expect("stamped");
        let line = log_line(0, Some(at), text, raw.dropped);
        assert_eq!(line.text.len(), LINE_CAP);
        assert_eq!(
            line.text.len() + line.cut,
            1024 * 1024,
            "every byte kept or counted"
        );
        let next = reader
            .next_line()
            .await
            .expect("read")
            .expect("the next line");
        assert_eq!(split_stamp(&next.bytes).map(|(_, t)| t), Some(&b"next"[..]));
    }
}
