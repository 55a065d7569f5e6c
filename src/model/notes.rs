//! What the presenter-notes view works out from the model: which act's notes to show (the
//! act read from the clusters; while a rollout runs, the act it started from), how long the
//! act has run against its budget, and which beat is next.

use chrono::{DateTime, FixedOffset};

use super::{ActState, Model};
use crate::config::{ActNotes, BeatDone};

/// Time spent in an act against its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    Within,
    /// Past the budget.
    Over,
    /// Past one and a half times the budget.
    WellOver,
}

pub fn budget(elapsed_secs: u64, budget_secs: u64) -> Budget {
    if elapsed_secs.saturating_mul(2) > budget_secs.saturating_mul(3) {
        Budget::WellOver
    } else if elapsed_secs > budget_secs {
        Budget::Over
    } else {
        Budget::Within
    }
}

/// The act whose notes are shown: the one the clusters are in, or — while rolling out or
/// unknown — the last act they were in.
pub fn shown_act(state: ActState, previous: ActState) -> ActState {
    match state {
        ActState::Clean | ActState::Compromised | ActState::Defended => state,
        ActState::RollingOut | ActState::Unknown => previous,
    }
}

/// Seconds the current act has lasted on stage: since the clusters say it began (as the
/// header's `since`), or since the notes started watching when that is later — a world
/// reset an hour before the talk is not an hour over act 1's budget.
pub fn seconds_in_act(model: &Model, watching_since: DateTime<FixedOffset>) -> u64 {
    let began = model.act.since.max(watching_since);
    u64::try_from((model.now - began).num_seconds()).unwrap_or(0)
}

/// Whether the clusters show `what` in the current act.
pub fn happened(model: &Model, what: BeatDone) -> bool {
    match what {
        BeatDone::ExfilRise => model.exfil.since(model.act.since) > 0,
        BeatDone::AlertFiring => model.alerts.firing() > 0,
    }
}

/// The next beat: the first one not done. A beat with `until` is done when the clusters
/// show it happened; one without is done once the following beat is due. The last beat
/// (the key to the next act) stays next until the act changes.
pub fn next_beat(
    act: &ActNotes,
    elapsed_secs: u64,
    done: impl Fn(BeatDone) -> bool,
) -> Option<usize> {
    (0..act.beats.len()).find(|&i| match act.beats[i].until {
        Some(what) => !done(what),
        None => act
            .beats
            .get(i + 1)
            .is_none_or(|next| elapsed_secs < next.at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Notes;

    #[test]
    fn the_budget_turns_over_then_well_over() {
        assert_eq!(budget(0, 30), Budget::Within);
        assert_eq!(budget(30, 30), Budget::Within);
        assert_eq!(budget(31, 30), Budget::Over);
        assert_eq!(budget(45, 30), Budget::Over);
        assert_eq!(budget(46, 30), Budget::WellOver);
        assert_eq!(budget(180, 120), Budget::Over);
        assert_eq!(budget(181, 120), Budget::WellOver);
        assert_eq!(budget(u64::MAX, 1), Budget::WellOver);
    }

    #[test]
    fn a_rollout_keeps_the_act_it_started_from() {
        assert_eq!(
            shown_act(ActState::Compromised, ActState::Clean),
            ActState::Compromised
        );
        assert_eq!(
            shown_act(ActState::RollingOut, ActState::Clean),
            ActState::Clean
        );
        assert_eq!(
            shown_act(ActState::Unknown, ActState::Defended),
            ActState::Defended
        );
    }

    #[test]
    fn beats_follow_their_cues_and_wait_for_the_clusters() {
        let notes = Notes::defaults().unwrap();
        let act2 = notes.act(ActState::Compromised).unwrap();
        let keys = |elapsed, rose: bool| {
            next_beat(act2, elapsed, |w| w == BeatDone::ExfilRise && rose)
                .map(|i| act2.beats[i].key.as_str())
        };
        assert_eq!(keys(0, false), Some("3"), "point at the rollout first");
        assert_eq!(keys(20, false), Some("i  Ctrl+P  Enter"));
        assert_eq!(
            keys(200, false),
            Some("i  Ctrl+P  Enter"),
            "no exfil yet: still the prompt"
        );
        assert_eq!(
            keys(20, true),
            Some("m"),
            "the exfil rose: the record is next"
        );
        assert_eq!(keys(100, true), Some("p"));
        assert_eq!(keys(10_000, true), Some("p"), "the last beat stays next");
    }
}
