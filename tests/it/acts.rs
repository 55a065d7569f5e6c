//! The three acts end to end: the real app headless with the in-process simulator, the
//! real demo scripts and the real kubectl. The act indicator must follow what the
//! clusters report: rolling out, then compromised; defended; clean again.

use std::time::Duration;

use control_room::config::Config;
use control_room::model::{ActKind, ActOutcome, ActState, Model};

use crate::support::{self, Harness, all_synced, tools};

/// The app with the act states the screen showed, in order, without repeats.
struct Acts {
    h: Harness,
    states: Vec<ActState>,
}

impl Acts {
    async fn key(&mut self, c: char) {
        self.h.key(c).await;
    }

    /// Pumps, redraws and records act states until `done`, or panics with the screen.
    async fn until(
        &mut self,
        within: Duration,
        what: &str,
        done: impl Fn(&Model, &str) -> bool,
    ) -> String {
        let states = std::cell::RefCell::new(std::mem::take(&mut self.states));
        let screen = self
            .h
            .until(within, what, |m, s| {
                let state = m.act.reading.state;
                let mut states = states.borrow_mut();
                if states.last() != Some(&state) {
                    states.push(state);
                }
                done(m, s)
            })
            .await;
        self.states = states.into_inner();
        screen
    }

    /// Presses the act key, confirms, and waits for the script to finish successfully.
    async fn run_act(&mut self, key: char, kind: ActKind) -> String {
        self.key(key).await;
        self.until(Duration::from_secs(5), "the confirmation", |m, s| {
            m.confirming == Some(kind) && s.contains("yes")
        })
        .await;
        self.key('y').await;
        let screen = self
            .until(Duration::from_secs(90), "the act to finish", |m, _| {
                m.act_run
                    .as_ref()
                    .is_some_and(|r| r.kind == kind && r.outcome.is_some())
            })
            .await;
        let run = self.h.app.model.act_run.as_ref().expect("run");
        let outcome = run.outcome.as_ref().map(|(o, _)| o.clone());
        assert_eq!(
            outcome,
            Some(ActOutcome::Exited(0)),
            "act {} failed: {:#?}\n{screen}",
            kind.key(),
            run.lines
        );
        screen
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_keys_play_the_three_acts_and_the_screen_follows_the_clusters() {
    // The demo scripts drive kubectl; `.ci/run` installs it.
    if tools::require("kubectl").is_none() {
        return;
    }
    let (work, sim) = support::start_with(Duration::from_millis(150)).await;
    let config = support::config_in(work.path());
    let mut h = Acts {
        h: Harness::on_sim(sim, &config).await,
        states: Vec::new(),
    };
    h.until(Duration::from_secs(20), "panes populated", |m, _| {
        all_synced(m) && m.act.reading.state == ActState::Clean
    })
    .await;

    // Act 2: the rugpull rollout shows as such, then as compromised.
    let screen = h.run_act('u', ActKind::Upgrade).await;
    assert!(
        screen.contains("act 2 ready"),
        "script output not in the act log:\n{screen}"
    );
    let screen = h
        .until(Duration::from_secs(20), "ACT 2", |m, _| {
            m.act.reading.state == ActState::Compromised
        })
        .await;
    assert!(screen.contains("ACT 2 · compromised"), "{screen}");
    assert!(
        h.states.contains(&ActState::RollingOut),
        "never showed the rollout: {:?}",
        h.states
    );
    assert!(
        screen.contains("rugpull"),
        "vendor pane should show the new tag:\n{screen}"
    );

    // Act 3: policies appear in the vendor pane.
    h.run_act('p', ActKind::PoliciesOn).await;
    let screen = h
        .until(Duration::from_secs(20), "ACT 3", |m, _| {
            m.act.reading.state == ActState::Defended
        })
        .await;
    assert!(screen.contains("ACT 3 · defended"), "{screen}");
    assert!(screen.contains("AuthorizationPolicies (3)"), "{screen}");
    assert!(screen.contains("default-deny"), "{screen}");

    // Act 1: back to clean.
    h.run_act('r', ActKind::Reset).await;
    let screen = h
        .until(Duration::from_secs(20), "ACT 1", |m, _| {
            m.act.reading.state == ActState::Clean
        })
        .await;
    assert!(screen.contains("ACT 1 · clean"), "{screen}");
    assert!(
        !screen.contains("AuthorizationPolicies ("),
        "policies still listed:\n{screen}"
    );
    let image = h.h.app.model.act.reading.tool_image.clone();
    assert_eq!(image.as_deref(), Some("currency-converter:1.0.0"));
    h.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_act_output_keeps_the_screen_responsive_and_bounded() {
    let (work, sim) = support::start().await;
    let mut config: Config = support::config_in(work.path());
    config.acts.upgrade.command = vec!["seq".into(), "1".into(), "100000".into()];
    config.acts.confirm = false;
    let mut h = Harness::on_sim(sim, &config).await;
    h.key('u').await;
    h.until(Duration::from_secs(20), "the flood to start", |m, _| {
        m.act_run.as_ref().is_some_and(|r| !r.lines.is_empty())
    })
    .await;
    // Keys still get through while the output pours in.
    h.key('3').await;
    h.until(
        Duration::from_secs(3),
        "the focus key during the flood",
        |m, _| m.focus == 2,
    )
    .await;
    let screen = h
        .until(Duration::from_secs(60), "the flood to end", |m, _| {
            m.act_run.as_ref().is_some_and(|r| r.outcome.is_some())
        })
        .await;
    let run = h.app.model.act_run.as_ref().expect("run");
    assert_eq!(run.lines.len(), control_room::model::act::ACT_LOG_LINES);
    assert_eq!(run.lines.len() + run.dropped, 100_000);
    assert!(screen.contains("100000"), "last line on screen:\n{screen}");
    assert!(screen.contains("earlier lines"), "{screen}");
    let log_path = run.log_path.clone().expect("log");
    assert!(
        log_path.starts_with(&work.path().join("acts").display().to_string()),
        "the run's log goes where [acts] log_dir says: {log_path}"
    );
    let log = std::fs::read_to_string(log_path).expect("log file");
    assert_eq!(log.lines().filter(|l| !l.starts_with('#')).count(), 100_000);
    h.shutdown().await;
}

/// `[keys]` remaps an act: the new key drives it, the old one does nothing, and the footer
/// and help say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remapped_key_runs_the_act() {
    let (work, sim) = support::start().await;
    let text = format!(
        "[keys]\nact_upgrade = \"U\"\nhelp = [\"?\", \"F1\"]\n[acts]\nconfirm = false\nlog_dir = {:?}\n[acts.upgrade]\ncommand = [\"echo\", \"remapped act 2\"]\n",
        work.path().join("acts").display().to_string()
    );
    let path = work.path().join("config.toml");
    std::fs::write(&path, text).expect("write config");
    let config = Config::load(Some(&path)).expect("config loads");
    let mut h = Harness::on_sim(sim, &config).await;
    let screen = h
        .until(Duration::from_secs(10), "the footer", |_, s| {
            s.contains("quit")
        })
        .await;
    assert!(
        screen.contains(" U act 2 "),
        "the footer shows the new key:\n{screen}"
    );

    h.key('u').await;
    h.key('U').await;
    h.until(
        Duration::from_secs(20),
        "the remapped act to run",
        |m, _| m.act_run.as_ref().is_some_and(|r| r.outcome.is_some()),
    )
    .await;
    let run = h.app.model.act_run.as_ref().expect("run");
    assert_eq!(run.kind, ActKind::Upgrade);
    assert_eq!(
        run.outcome.as_ref().map(|(o, _)| o),
        Some(&ActOutcome::Exited(0))
    );
    assert_eq!(
        run.lines.back().map(|l| l.text.as_str()),
        Some("remapped act 2")
    );

    h.press(
        crossterm::event::KeyCode::F(1),
        crossterm::event::KeyModifiers::NONE,
    )
    .await;
    let screen = h
        .until(Duration::from_secs(5), "the help overlay", |m, _| {
            m.show_help
        })
        .await;
    assert!(screen.contains("? F1"), "help lists both keys:\n{screen}");
    assert!(
        screen.contains("U  act 2 · upgrade-banking-app"),
        "help shows the remapped act:\n{screen}"
    );
    h.shutdown().await;
}
