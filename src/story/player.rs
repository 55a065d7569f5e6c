//! Plays a [`Story`] against the model, without I/O: [`Player::poll`] reads the model and
//! the time and answers with the keys to press now, when to be asked again, and the beats
//! that just ended. `control-room rehearse` applies the keys through `update` itself; the
//! autopilot sends them into the TUI's loop as if a presenter had pressed them. Both read the
//! same model the screen is drawn from, so a beat passes only when the screen would show it.

use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Serialize;
use tokio::time::Instant;

use super::{Beat, Press, Prompt, Reset, Step, Story, act_state};
use crate::config::{Action, Key};
use crate::model::chat::{Speaker, TraceKind};
use crate::model::{ActKind, ActState, Model, PodPhase};
use crate::msg::Msg;

/// Who plays: the headless rehearsal (no pauses, resets at the end) or the autopilot in the
/// TUI (pauses for viewers, leaves the last act on screen, quits at the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Rehearse,
    Autopilot,
}

/// One beat's end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BeatReport {
    pub name: String,
    /// Where the beat is in the story file (0 for the reset).
    pub line: usize,
    pub passed: bool,
    #[serde(rename = "elapsed_ms", serialize_with = "millis")]
    pub elapsed: Duration,
    /// What was seen (passed) or why it failed.
    pub detail: String,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// How the whole story went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The first beat that failed (the story stops there).
    pub failed: Option<BeatReport>,
    /// The reset after the story, when one was played.
    pub reset: Option<BeatReport>,
    /// A signal cut the story short.
    pub signal: Option<i32>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.failed.is_none()
            && self.signal.is_none()
            && self.reset.as_ref().is_none_or(|r| r.passed)
    }
}

/// What to do now.
#[derive(Debug, Default)]
pub struct Poll {
    /// Messages (keys) to apply now, in order.
    pub input: Vec<Msg>,
    /// Be asked again by then even if nothing happens (a pause, a timeout, a hold).
    pub wake: Option<Instant>,
    /// Beats (and the reset) that ended during this poll.
    pub reports: Vec<BeatReport>,
}

/// How long the autopilot's `q` may take to be seen before it presses it again.
const QUIT_AGAIN: Duration = Duration::from_secs(1);

/// What the last prompt left behind, for the beats that read its exchange.
#[derive(Debug, Clone, Copy)]
struct PromptMark {
    exchanges: usize,
    traced: usize,
    /// The exfil count then, and when it was sent by the model's clock (a tick, so up to a
    /// second behind): an exfil is news when it arrived after the prompt *and* its own
    /// time is not older — an old log read late (a second rehearsal, a reconnect) is not.
    exfil: usize,
    at: DateTime<FixedOffset>,
}

impl PromptMark {
    fn exfil_since(&self, model: &Model) -> usize {
        let arrived = model.exfil.total().saturating_sub(self.exfil);
        arrived.min(model.exfil.since(self.at))
    }
}

#[derive(Debug, Clone)]
enum Phase {
    /// Playing beat `index`.
    Beat {
        index: usize,
        started: Instant,
        wait: Wait,
    },
    /// Beat `next - 1` passed; viewers get until `until`.
    Pause {
        next: usize,
        until: Instant,
    },
    /// Back to act 1, after the story (or its failure, or a signal).
    Reset {
        started: Instant,
        wait: Wait,
    },
    /// The autopilot leaves: `q` (and `y` if it asks), again each second while something
    /// on screen (an overlay, a view) takes the `q` instead.
    Quit {
        pressed: Option<Instant>,
    },
    Done,
}

/// Where a beat is inside itself.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Wait {
    Start,
    /// An act key was pressed; `runs` act scripts had started before.
    Pressed {
        runs: usize,
    },
    /// The act's confirmation is on screen until `until`, then answered.
    Confirming {
        runs: usize,
        until: Instant,
    },
    /// The prompt's keys are on their way.
    Sent,
    /// The exchange ended at `at`; the counter is watched until `at + hold`.
    Holding {
        at: Instant,
    },
    /// The reset found an act running and pressed Ctrl+C to stop it.
    Stopping,
    /// The reset pressed its key; then waits for act 1 like an act beat.
    Resetting {
        runs: usize,
    },
    Answered {
        runs: usize,
    },
}

pub struct Player {
    story: Story,
    mode: Mode,
    /// The chatbot forward a prompt goes through (None: `[chat] url`).
    chat_forward: Option<String>,
    phase: Phase,
    prompt: Option<PromptMark>,
    /// `model.act_runs` once the story's last act key started a script.
    act_run: Option<usize>,
    failed: Option<BeatReport>,
    reset: Option<BeatReport>,
    signal: Option<i32>,
}

impl Player {
    pub fn new(story: Story, mode: Mode, chat_forward: Option<String>, now: Instant) -> Player {
        Player {
            story,
            mode,
            chat_forward,
            phase: Phase::Beat {
                index: 0,
                started: now,
                wait: Wait::Start,
            },
            prompt: None,
            act_run: None,
            failed: None,
            reset: None,
            signal: None,
        }
    }

    pub fn story(&self) -> &Story {
        &self.story
    }

    /// The outcome, once the story (and its reset) is over.
    pub fn outcome(&self) -> Option<Outcome> {
        matches!(self.phase, Phase::Done).then(|| Outcome {
            failed: self.failed.clone(),
            reset: self.reset.clone(),
            signal: self.signal,
        })
    }

    /// The beat being played, for a status line.
    pub fn current(&self) -> Option<&str> {
        match &self.phase {
            Phase::Beat { index, .. } => self.story.beats.get(*index).map(|b| b.name.as_str()),
            Phase::Reset { .. } => self.story.reset.as_ref().map(|r| r.name.as_str()),
            _ => None,
        }
    }

    /// Reads the model at `now`; plays on as far as it can.
    pub fn poll(&mut self, model: &Model, now: Instant) -> Poll {
        let mut out = Poll::default();
        // Each turn of the loop moves at most one beat on; a beat that passes at once lets
        // the next one start in the same poll.
        for _ in 0..=self.story.beats.len() + 4 {
            let before = std::mem::discriminant(&self.phase);
            let before_index = self.index();
            self.step(model, now, &mut out);
            if std::mem::discriminant(&self.phase) == before && self.index() == before_index {
                break;
            }
            // Keys just queued have not reached the model yet: look again next poll.
            if !out.input.is_empty() {
                break;
            }
        }
        out
    }

    fn index(&self) -> Option<usize> {
        match &self.phase {
            Phase::Beat { index, .. } => Some(*index),
            Phase::Pause { next, .. } => Some(*next),
            _ => None,
        }
    }

    fn step(&mut self, model: &Model, now: Instant, out: &mut Poll) {
        if let Some(n) = model.exit_signal
            && self.signal.is_none()
        {
            self.signal = Some(n);
            if let Phase::Beat { index, started, .. } = &self.phase
                && let Some(beat) = self.story.beats.get(*index)
            {
                let report = report(
                    beat,
                    now - *started,
                    false,
                    format!("interrupted by signal {n}"),
                );
                self.failed = Some(report.clone());
                out.reports.push(report);
            }
            self.phase = self.after_story(now);
            return;
        }
        match self.phase.clone() {
            Phase::Beat {
                index,
                started,
                wait,
            } => {
                let Some(beat) = self.story.beats.get(index).cloned() else {
                    self.phase = self.after_story(now);
                    return;
                };
                match self.play(&beat, wait, model, now, started, out) {
                    Verdict::Wait(wait, wake) => {
                        let deadline = started + beat.timeout;
                        if now >= deadline {
                            let why = format!(
                                "timed out after {} — {}",
                                secs(beat.timeout),
                                self.why_not(&beat.step, model)
                            );
                            self.fail(&beat, now - started, why, out, now);
                            return;
                        }
                        out.wake =
                            earliest(out.wake, Some(wake.map_or(deadline, |w| w.min(deadline))));
                        self.phase = Phase::Beat {
                            index,
                            started,
                            wait,
                        };
                    }
                    Verdict::Pass(detail) => {
                        out.reports.push(report(&beat, now - started, true, detail));
                        let pause = match self.mode {
                            Mode::Autopilot => beat.pause,
                            Mode::Rehearse => Duration::ZERO,
                        };
                        self.phase = if pause.is_zero() {
                            self.next_beat(index + 1, now)
                        } else {
                            out.wake = earliest(out.wake, Some(now + pause));
                            Phase::Pause {
                                next: index + 1,
                                until: now + pause,
                            }
                        };
                    }
                    Verdict::Fail(why) => self.fail(&beat, now - started, why, out, now),
                }
            }
            Phase::Pause { next, until } => {
                if now >= until {
                    self.phase = self.next_beat(next, now);
                } else {
                    out.wake = earliest(out.wake, Some(until));
                }
            }
            Phase::Reset { started, wait } => self.play_reset(wait, model, now, started, out),
            Phase::Quit { pressed } => {
                if model.quitting {
                    self.phase = Phase::Done;
                } else if model.confirming_quit {
                    out.input.push(key(KeyCode::Char('y'), KeyModifiers::NONE));
                    self.phase = Phase::Done;
                } else if pressed.is_none_or(|at| now >= at + QUIT_AGAIN) {
                    out.input.push(action_key(model, Action::Quit));
                    out.wake = earliest(out.wake, Some(now + QUIT_AGAIN));
                    self.phase = Phase::Quit { pressed: Some(now) };
                } else {
                    out.wake = earliest(out.wake, pressed.map(|at| at + QUIT_AGAIN));
                }
            }
            Phase::Done => {}
        }
    }

    fn next_beat(&self, index: usize, now: Instant) -> Phase {
        if index < self.story.beats.len() {
            Phase::Beat {
                index,
                started: now,
                wait: Wait::Start,
            }
        } else {
            self.after_story(now)
        }
    }

    fn after_story(&self, now: Instant) -> Phase {
        match self.mode {
            Mode::Autopilot if self.signal.is_some() => Phase::Done,
            Mode::Autopilot => Phase::Quit { pressed: None },
            Mode::Rehearse if self.story.reset.is_some() => Phase::Reset {
                started: now,
                wait: Wait::Start,
            },
            Mode::Rehearse => Phase::Done,
        }
    }

    fn fail(&mut self, beat: &Beat, elapsed: Duration, why: String, out: &mut Poll, now: Instant) {
        let report = report(beat, elapsed, false, why);
        out.reports.push(report.clone());
        self.failed = Some(report);
        self.phase = self.after_story(now);
    }

    /// One look at a beat.
    fn play(
        &mut self,
        beat: &Beat,
        wait: Wait,
        model: &Model,
        now: Instant,
        _started: Instant,
        out: &mut Poll,
    ) -> Verdict {
        match &beat.step {
            Step::Act(n) => self.act_shown(*n, model),
            Step::Press(press) => self.press(press, wait, model, now, out),
            Step::Prompt(prompt) => self.send(prompt, wait, model, out),
            Step::ReplyContains(text) => {
                let Some(mark) = self.prompt else {
                    return Verdict::Fail("no prompt was sent before this beat".into());
                };
                if model.chat.exchanges <= mark.exchanges {
                    return Verdict::Wait(wait, None);
                }
                let (reply, error) = model.chat.last_reply();
                if let Some(e) = error {
                    return Verdict::Fail(format!("the agent answered with an error: {e}"));
                }
                if reply.contains(text.as_str()) {
                    Verdict::Pass(format!("reply: {}", clip(&reply, 120)))
                } else {
                    Verdict::Fail(format!("the reply was: {}", clip(&reply, 300)))
                }
            }
            Step::TraceCalls(tool) => {
                let Some(mark) = self.prompt else {
                    return Verdict::Fail("no prompt was sent before this beat".into());
                };
                let calls = calls_since(model, mark.traced);
                if calls.iter().any(|c| c == tool) {
                    return Verdict::Pass(format!("calls: {}", calls.join(", ")));
                }
                if model.chat.exchanges > mark.exchanges {
                    return Verdict::Fail(format!(
                        "the exchange is over without {tool}; {}",
                        said_calls(&calls)
                    ));
                }
                Verdict::Wait(wait, None)
            }
            Step::TraceLacks(tool) => {
                let Some(mark) = self.prompt else {
                    return Verdict::Fail("no prompt was sent before this beat".into());
                };
                let calls = calls_since(model, mark.traced);
                if calls.iter().any(|c| c == tool) {
                    return Verdict::Fail(format!(
                        "the exchange called {tool}; {}",
                        said_calls(&calls)
                    ));
                }
                if model.chat.exchanges > mark.exchanges {
                    return Verdict::Pass(said_calls(&calls));
                }
                Verdict::Wait(wait, None)
            }
            Step::ExfilRise(n) => {
                let Some(mark) = self.prompt else {
                    return Verdict::Fail("no prompt was sent before this beat".into());
                };
                let since = mark.exfil_since(model);
                if since >= *n {
                    Verdict::Pass(format!(
                        "exfil +{since} since the prompt ({} in all)",
                        model.exfil.total()
                    ))
                } else {
                    Verdict::Wait(wait, None)
                }
            }
            Step::ExfilUnchanged { hold } => {
                let Some(mark) = self.prompt else {
                    return Verdict::Fail("no prompt was sent before this beat".into());
                };
                let total = model.exfil.total();
                let since = mark.exfil_since(model);
                if since > 0 {
                    let record = model
                        .exfil
                        .last_record
                        .first()
                        .map(|l| format!(": {}", clip(l, 120)));
                    return Verdict::Fail(format!(
                        "the exfil counter rose by {since} since the prompt{}",
                        record.unwrap_or_default()
                    ));
                }
                if model.exfil.following.is_empty() {
                    // Not reading the attacker's log proves nothing: wait for it to be read.
                    return Verdict::Wait(wait, None);
                }
                match wait {
                    _ if model.chat.exchanges <= mark.exchanges => Verdict::Wait(wait, None),
                    Wait::Holding { at } if now >= at + *hold => Verdict::Pass(format!(
                        "no exfil since the prompt, {} after the reply ({total} in all)",
                        secs(*hold)
                    )),
                    Wait::Holding { at } => Verdict::Wait(wait, Some(at + *hold)),
                    _ => Verdict::Wait(Wait::Holding { at: now }, Some(now + *hold)),
                }
            }
            Step::Alert { name, labels } => {
                let found = model.alerts.alerts.iter().find(|a| {
                    a.name == *name
                        && a.state == crate::model::alerts::AlertState::Firing
                        && labels.iter().all(|(k, v)| a.label(k) == v)
                });
                match found {
                    Some(a) => Verdict::Pass(format!(
                        "{name} firing{}",
                        a.labels
                            .get("source_principal")
                            .map(|p| format!(" from {}", clip(p, 200)))
                            .unwrap_or_default()
                    )),
                    None => Verdict::Wait(wait, None),
                }
            }
        }
    }

    /// The header shows act `n` and the act script the story started is over (and went well).
    fn act_shown(&self, n: u8, model: &Model) -> Verdict {
        let target = act_state(n);
        let reading = &model.act.reading;
        let script = self.act_run.and_then(|runs| {
            (model.act_runs == runs)
                .then_some(model.act_run.as_ref())
                .flatten()
        });
        if let Some(run) = script
            && let Some((outcome, elapsed)) = &run.outcome
            && !outcome.success()
        {
            let mut why = format!(
                "act {}'s script {} ended {} after {:.1} s",
                run.kind.number(),
                run.program,
                outcome.describe(),
                elapsed.as_secs_f64()
            );
            if let Some(line) = run.lines.iter().rev().find(|l| !l.text.trim().is_empty()) {
                why.push_str(&format!(" (last said: {})", clip(line.text.trim(), 160)));
            }
            if reading.state != target {
                why.push_str(&format!("; {}", act_diagnosis(model)));
            }
            return Verdict::Fail(why);
        }
        if reading.state == target && !model.act_running() {
            Verdict::Pass(format!(
                "{}{}",
                reading.state.label(),
                reading
                    .tool_image
                    .as_ref()
                    .map(|i| format!(" · {i}"))
                    .unwrap_or_default()
            ))
        } else {
            Verdict::Wait(Wait::Start, None)
        }
    }

    fn press(
        &mut self,
        press: &Press,
        wait: Wait,
        model: &Model,
        now: Instant,
        out: &mut Poll,
    ) -> Verdict {
        let event = match press {
            Press::Action(a) => action_key(model, *a),
            Press::Key(k) => Msg::Key(key_event(*k)),
        };
        let Msg::Key(ev) = event.clone() else {
            return Verdict::Fail("no key".into());
        };
        let act = model.keys.action(&ev).and_then(act_of);
        match (wait, act) {
            (Wait::Start, None) => {
                out.input.push(event);
                Verdict::Pass(format!("pressed {}", Key::of(&ev)))
            }
            (Wait::Start, Some(_)) => {
                out.input.push(event);
                Verdict::Wait(
                    Wait::Pressed {
                        runs: model.act_runs,
                    },
                    None,
                )
            }
            (
                Wait::Pressed { runs } | Wait::Confirming { runs, .. } | Wait::Answered { runs },
                Some(kind),
            ) if model.act_runs > runs => {
                self.act_run = Some(model.act_runs);
                Verdict::Pass(format!("act {} ({}) started", kind.number(), kind.key()))
            }
            (Wait::Pressed { runs }, Some(kind)) if model.confirming == Some(kind) => {
                let pause = match self.mode {
                    Mode::Autopilot => self.story.confirm_pause,
                    Mode::Rehearse => Duration::ZERO,
                };
                if pause.is_zero() {
                    out.input.push(key(KeyCode::Char('y'), KeyModifiers::NONE));
                    Verdict::Wait(Wait::Answered { runs }, None)
                } else {
                    Verdict::Wait(
                        Wait::Confirming {
                            runs,
                            until: now + pause,
                        },
                        Some(now + pause),
                    )
                }
            }
            (Wait::Confirming { runs, until }, Some(kind)) => {
                if now < until {
                    return Verdict::Wait(wait, Some(until));
                }
                if model.confirming == Some(kind) {
                    out.input.push(key(KeyCode::Char('y'), KeyModifiers::NONE));
                    Verdict::Wait(Wait::Answered { runs }, None)
                } else {
                    Verdict::Fail(format!(
                        "act {}'s confirmation went away before it was answered",
                        kind.number()
                    ))
                }
            }
            (Wait::Pressed { .. }, Some(kind)) if model.confirming.is_none() && refused(model) => {
                Verdict::Fail(format!(
                    "act {} did not start: {}",
                    kind.number(),
                    model.notice.as_ref().map_or("", |(n, _)| n.as_str())
                ))
            }
            _ => Verdict::Wait(wait, None),
        }
    }

    fn send(&mut self, prompt: &Prompt, wait: Wait, model: &Model, out: &mut Poll) -> Verdict {
        match wait {
            Wait::Start => {
                if let Some(name) = &self.chat_forward {
                    let listening = model
                        .forwards
                        .iter()
                        .find(|f| f.name == *name)
                        .is_some_and(|f| f.base_url().is_some());
                    if !listening {
                        return Verdict::Wait(wait, None);
                    }
                }
                if model.chat.pending {
                    return Verdict::Wait(wait, None);
                }
                self.prompt = Some(PromptMark {
                    exchanges: model.chat.exchanges,
                    traced: model.chat.traced,
                    exfil: model.exfil.total(),
                    at: model.now,
                });
                if !model.chat.focused {
                    out.input.push(action_key(model, Action::Chat));
                }
                match prompt {
                    Prompt::Canonical => out
                        .input
                        .push(key(KeyCode::Char('p'), KeyModifiers::CONTROL)),
                    Prompt::Text(text) => {
                        for c in text.chars() {
                            out.input.push(if c == '\n' {
                                key(KeyCode::Enter, KeyModifiers::ALT)
                            } else {
                                key(KeyCode::Char(c), KeyModifiers::NONE)
                            });
                        }
                    }
                }
                out.input.push(key(KeyCode::Enter, KeyModifiers::NONE));
                out.input.push(key(KeyCode::Esc, KeyModifiers::NONE));
                Verdict::Wait(Wait::Sent, None)
            }
            _ => {
                let Some(mark) = self.prompt else {
                    return Verdict::Fail("the prompt was not sent".into());
                };
                let sent = model
                    .chat
                    .transcript
                    .iter()
                    .rev()
                    .find(|e| e.speaker == Speaker::Customer)
                    .is_some_and(|e| e.text == prompt.text().trim());
                if model.chat.exchanges > mark.exchanges {
                    if let (_, Some(e)) = model.chat.last_reply() {
                        return Verdict::Fail(format!("the agent answered with an error: {e}"));
                    }
                    return Verdict::Pass("sent; the agent answered".into());
                }
                if model.chat.pending && sent {
                    return Verdict::Pass(format!(
                        "sent to {}",
                        model
                            .chat
                            .agent
                            .as_deref()
                            .unwrap_or(&model.chat.configured_agent)
                    ));
                }
                Verdict::Wait(wait, None)
            }
        }
    }

    fn play_reset(
        &mut self,
        wait: Wait,
        model: &Model,
        now: Instant,
        started: Instant,
        out: &mut Poll,
    ) {
        let Some(reset) = self.story.reset.clone() else {
            self.phase = Phase::Done;
            return;
        };
        let done = |player: &mut Player, passed: bool, detail: String, out: &mut Poll| {
            let report = BeatReport {
                name: reset.name.clone(),
                line: 0,
                passed,
                elapsed: now - started,
                detail,
            };
            out.reports.push(report.clone());
            player.reset = Some(report);
            player.phase = Phase::Done;
        };
        let deadline = started + reset.timeout;
        if now >= deadline {
            let why = format!(
                "timed out after {} — {}",
                secs(reset.timeout),
                self.why_not(&Step::Act(reset.act), model)
            );
            done(self, false, why, out);
            return;
        }
        let wake = Some(deadline);
        let next = match wait {
            Wait::Start | Wait::Stopping if model.act_running() => {
                if wait == Wait::Start && !model.act_run.as_ref().is_some_and(|r| r.cancelling) {
                    // An act still running (a failed beat's, or one Ctrl+C is stopping):
                    // stop it the way a presenter would, then reset.
                    out.input
                        .push(key(KeyCode::Char('c'), KeyModifiers::CONTROL));
                }
                Wait::Stopping
            }
            Wait::Start | Wait::Stopping => {
                out.input.push(press_key(model, &reset));
                Wait::Resetting {
                    runs: model.act_runs,
                }
            }
            Wait::Resetting { runs } if model.act_runs > runs => {
                self.act_run = Some(model.act_runs);
                Wait::Answered { runs: usize::MAX }
            }
            Wait::Resetting { runs } => {
                if model.confirming.is_some() {
                    out.input.push(key(KeyCode::Char('y'), KeyModifiers::NONE));
                    Wait::Answered { runs }
                } else if refused(model) {
                    let why = model
                        .notice
                        .as_ref()
                        .map_or(String::new(), |(n, _)| n.clone());
                    done(self, false, format!("the reset did not start: {why}"), out);
                    return;
                } else {
                    wait
                }
            }
            Wait::Answered { runs } if runs != usize::MAX && model.act_runs > runs => {
                self.act_run = Some(model.act_runs);
                Wait::Answered { runs: usize::MAX }
            }
            Wait::Answered { runs: usize::MAX } => match self.act_shown(reset.act, model) {
                Verdict::Pass(detail) => return done(self, true, detail, out),
                Verdict::Fail(why) => return done(self, false, why, out),
                Verdict::Wait(..) => wait,
            },
            other => other,
        };
        out.wake = earliest(out.wake, wake);
        self.phase = Phase::Reset {
            started,
            wait: next,
        };
    }

    /// Why a beat's state has not come, for its timeout message.
    fn why_not(&self, step: &Step, model: &Model) -> String {
        match step {
            Step::Act(n) => {
                let mut why = format!("waiting for ACT {n}: {}", act_diagnosis(model));
                // The story starts at act 1: a stage left at another act needs a reset first.
                let elsewhere = matches!(
                    model.act.reading.state,
                    ActState::Compromised | ActState::Defended
                );
                if *n == 1 && self.act_run.is_none() && elsewhere {
                    why.push_str(" — reset the stage first (r, or `control-room act reset`)");
                }
                why
            }
            Step::Press(_) => match &model.notice {
                Some((n, _)) => format!("the act did not start: {n}"),
                None => "the act did not start".into(),
            },
            Step::Prompt(_) => {
                let forward = self
                    .chat_forward
                    .as_ref()
                    .and_then(|name| model.forwards.iter().find(|f| f.name == *name));
                match forward {
                    Some(f) if f.base_url().is_none() => format!(
                        "the {} forward is not listening{}",
                        f.name,
                        f.last_error
                            .as_ref()
                            .map(|(_, e)| format!(": {}", clip(e, 200)))
                            .unwrap_or_default()
                    ),
                    _ if model.chat.pending => {
                        "the agent is still answering an earlier prompt".into()
                    }
                    _ => "the prompt did not reach the agent".into(),
                }
            }
            Step::ReplyContains(_) | Step::TraceCalls(_) | Step::TraceLacks(_) => {
                let calls = self
                    .prompt
                    .map(|m| calls_since(model, m.traced))
                    .unwrap_or_default();
                format!(
                    "the agent has not finished answering; {}",
                    said_calls(&calls)
                )
            }
            Step::ExfilRise(_) | Step::ExfilUnchanged { .. } => {
                let e = &model.exfil;
                let since = self.prompt.map_or(0, |m| m.exfil_since(model));
                let mut why = format!("{since} exfil since the prompt ({} in all)", e.total());
                if e.following.is_empty() {
                    why.push_str("; the attacker's log is not being read");
                }
                if let Some(t) = &e.trouble {
                    why.push_str(&format!(": {}", clip(t, 200)));
                }
                why
            }
            Step::Alert { name, .. } => {
                let a = &model.alerts;
                let mut active: Vec<String> = a
                    .alerts
                    .iter()
                    .map(|r| format!("{} {}", r.name, r.state.as_str()))
                    .collect();
                active.dedup();
                let mut why = if active.is_empty() {
                    format!("{name} is not firing; no alert is active")
                } else {
                    format!(
                        "{name} is not firing (with those labels); active: {}",
                        clip(&active.join(", "), 300)
                    )
                };
                if a.prometheus.describe.is_none() {
                    why.push_str("; no Prometheus is configured");
                } else if let Some((_, e)) = &a.prometheus.error {
                    why.push_str(&format!("; Prometheus: {}", clip(e, 200)));
                }
                why
            }
        }
    }
}

enum Verdict {
    Wait(Wait, Option<Instant>),
    Pass(String),
    Fail(String),
}

fn report(beat: &Beat, elapsed: Duration, passed: bool, detail: String) -> BeatReport {
    BeatReport {
        name: beat.name.clone(),
        line: beat.line,
        passed,
        elapsed,
        detail,
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `90 s`, `2.5 s`.
fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

fn clip(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > max {
        format!("{}…", one_line.chars().take(max).collect::<String>())
    } else {
        one_line
    }
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> Msg {
    Msg::Key(KeyEvent::new(code, modifiers))
}

fn key_event(k: Key) -> KeyEvent {
    let mut modifiers = KeyModifiers::NONE;
    if k.ctrl {
        modifiers |= KeyModifiers::CONTROL;
    }
    if k.alt {
        modifiers |= KeyModifiers::ALT;
    }
    if matches!(k.code, KeyCode::Char(c) if c.is_ascii_uppercase()) || k.code == KeyCode::BackTab {
        modifiers |= KeyModifiers::SHIFT;
    }
    KeyEvent::new(k.code, modifiers)
}

/// The key the keymap binds to `action` now (what the footer shows for it).
fn action_key(model: &Model, action: Action) -> Msg {
    let k = model.keys.keys(action).first().copied().unwrap_or(Key {
        code: KeyCode::Null,
        ctrl: false,
        alt: false,
    });
    Msg::Key(key_event(k))
}

fn press_key(model: &Model, reset: &Reset) -> Msg {
    match reset.press {
        Press::Action(a) => action_key(model, a),
        Press::Key(k) => Msg::Key(key_event(k)),
    }
}

fn act_of(action: Action) -> Option<ActKind> {
    match action {
        Action::ActReset => Some(ActKind::Reset),
        Action::ActUpgrade => Some(ActKind::Upgrade),
        Action::ActPoliciesOn => Some(ActKind::PoliciesOn),
        _ => None,
    }
}

/// The footer says the act key was refused (read-only, an act already running).
fn refused(model: &Model) -> bool {
    model.notice.as_ref().is_some_and(|(n, _)| {
        n.starts_with("read-only") || n.starts_with("an act is already running")
    })
}

/// Tool calls in the trace since `traced` entries had been pushed.
fn calls_since(model: &Model, traced: usize) -> Vec<String> {
    let chat = &model.chat;
    let fresh = chat.traced.saturating_sub(traced).min(chat.trace.len());
    chat.trace[chat.trace.len() - fresh..]
        .iter()
        .filter(|t| t.kind == TraceKind::Call)
        .map(|t| t.name.clone())
        .collect()
}

fn said_calls(calls: &[String]) -> String {
    if calls.is_empty() {
        "no tool was called".into()
    } else {
        format!("it called {}", calls.join(", "))
    }
}

/// What the clusters say about the act, and what holds the tool's rollout back:
/// `the header shows rolling out… (0/1 updated); currency-converter rollout stuck:
/// currency-converter-5c7d-x2k ImagePullBackOff (Back-off pulling image …)`.
pub fn act_diagnosis(model: &Model) -> String {
    let reading = &model.act.reading;
    let mut why = format!("the header shows {}", reading.state.label());
    if let Some(d) = &reading.detail {
        why.push_str(&format!(" ({d})"));
    }
    if let Some(image) = &reading.tool_image {
        why.push_str(&format!(", tool image {image}"));
    }
    let tool = &model.demo.tool;
    for c in model.clusters.iter().filter(|c| c.name == tool.cluster) {
        if let crate::model::Reachability::Unreachable { error, .. } = &c.reach {
            why.push_str(&format!(
                "; {} is unreachable: {}",
                c.name,
                clip(error, 200)
            ));
        } else if let Some(e) = c.last_error.as_ref().filter(|_| !c.pods_synced) {
            why.push_str(&format!("; {}: {}", c.name, clip(e, 200)));
        }
    }
    let stuck: Vec<String> = model
        .clusters
        .iter()
        .filter(|c| c.name == tool.cluster)
        .flat_map(|c| c.pods_in(&tool.namespace))
        .filter(|p| p.name.starts_with(&format!("{}-", tool.deployment)))
        .filter(|p| p.phase != PodPhase::Terminating && !p.is_ready())
        .map(|p| {
            let mut s = format!("{} {}", p.name, p.phase.label());
            if let Some(m) = &p.message {
                s.push_str(&format!(" ({})", clip(m, 160)));
            }
            s
        })
        .collect();
    if !stuck.is_empty() {
        let verb = if reading.state == ActState::RollingOut {
            "rollout stuck"
        } else {
            "not ready"
        };
        why.push_str(&format!(
            "; {} {verb}: {}",
            tool.deployment,
            stuck.join(", ")
        ));
    }
    why
}

#[cfg(test)]
#[path = "player_tests.rs"]
mod tests;
