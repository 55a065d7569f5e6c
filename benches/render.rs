//! Render time of one whole frame at 200×60 with 3×1,000 pods and act 3's alert panel
//! (target ≤ 2 ms median); the problems view over 3×10,000 pods with 300 failing (≤ 2 ms
//! median); a keystroke in the `/` filter over 3×10,000 pods, `update` and the frame it
//! causes (≤ 16 ms median).
//!
//! `cargo bench --bench render`

// Tests and benchmarks may unwrap: a panic is their way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use control_room::app::update;
use control_room::config::Theme;
use control_room::model::{Model, PodPhase, PodSummary, ResourceMsg, WorldMode};
use control_room::msg::{ClusterMsg, Msg};
use control_room::ui;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn model(pods_per_cluster: usize) -> Model {
    model_with(pods_per_cluster, |p| {
        if p % 17 == 0 {
            PodPhase::Starting("ContainerCreating".into())
        } else {
            PodPhase::Running
        }
    })
}

fn model_with(pods_per_cluster: usize, phase: impl Fn(usize) -> PodPhase) -> Model {
    let now = DateTime::parse_from_rfc3339("2026-11-27T14:05:09+00:00").expect("time");
    let clusters = ["edge", "bank", "vendor"]
        .iter()
        .map(|n| (n.to_string(), format!("kind-trustusbank-{n}")))
        .collect();
    let mut m = Model::new(WorldMode::Simulated, clusters, now);
    for i in 0..3 {
        let pods = (0..pods_per_cluster)
            .map(|p| PodSummary {
                namespace: format!("load-{:04}", p / 100),
                name: format!("workload-{:03}-7d9f8c6b5-{p:05}", p % 100),
                ready: 1,
                containers: 1,
                phase: phase(p),
                restarts: (p % 5) as u32,
                created: Some(
                    now.with_timezone(&Utc) - chrono::Duration::minutes((p % 300) as i64),
                ),
                image: Some(format!(
                    "registry.example/workload-{:03}:1.{}.0",
                    p % 100,
                    p % 3
                )),
                node: None,
                message: None,
                last_restart: None,
                ready_since: None,
            })
            .collect();
        update(&mut m, Msg::Cluster(i, ClusterMsg::Reachable));
        update(
            &mut m,
            Msg::Cluster(i, ClusterMsg::Pods(ResourceMsg::Reset(pods))),
        );
    }
    with_alerts(&mut m, now.with_timezone(&Utc));
    m.size = (200, 60);
    m
}

/// Act 3's alert panel: two firing alerts and a full deny-rate sparkline.
fn with_alerts(m: &mut Model, at: DateTime<Utc>) {
    use control_room::model::alerts::{AlertRow, AlertState, AlertsMsg, Origin};
    let alert = |name: &str, severity: &str| AlertRow {
        name: name.into(),
        state: AlertState::Firing,
        labels: [
            ("alertname", name),
            ("cluster", "trustusbank-vendor"),
            ("severity", severity),
            (
                "source_principal",
                "spiffe://cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter",
            ),
            ("source_workload", "currency-converter"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        summary: "Istio AuthZ denied a connection — possible attack in progress".into(),
        active_at: Some(at - chrono::Duration::seconds(12)),
        origin: Origin::Prometheus,
    };
    for msg in [
        AlertsMsg::Sources {
            prometheus: Some("forward prometheus".into()),
            alertmanager: None,
            poll_secs: 2,
            timeout_secs: 5,
        },
        AlertsMsg::Prometheus {
            at,
            result: Ok(vec![
                alert("IstioAuthZDeny", "critical"),
                alert("BankToAttackerAttempt", "warning"),
            ]),
        },
        AlertsMsg::DenyRate {
            at,
            result: Ok((0..61).map(|i| f64::from(i % 7) * 0.01).collect()),
        },
    ] {
        update(m, Msg::Alerts(msg));
    }
}

fn key(m: &mut Model, code: KeyCode) {
    update(m, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

/// Each keystroke of typing `text` into the filter box, then clearing it: `update` (which
/// refilters every pane) and the frame drawn after it.
fn measure_filter(label: &str, m: &mut Model, text: &str) {
    let theme = Theme::builtin("default").expect("theme");
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
    let mut samples = Vec::new();
    for round in 0..30 {
        key(m, KeyCode::Char('/'));
        for c in text.chars() {
            let start = Instant::now();
            key(m, KeyCode::Char(c));
            terminal.draw(|f| ui::draw(f, m, &theme)).expect("draw");
            if round > 0 {
                samples.push(start.elapsed());
            }
        }
        for _ in text.chars() {
            let start = Instant::now();
            key(m, KeyCode::Backspace);
            terminal.draw(|f| ui::draw(f, m, &theme)).expect("draw");
            if round > 0 {
                samples.push(start.elapsed());
            }
        }
        key(m, KeyCode::Esc);
    }
    report(label, samples);
}

fn report(label: &str, samples: Vec<Duration>) {
    let p90 = {
        let mut s = samples.clone();
        s.sort();
        s[s.len() * 9 / 10]
    };
    println!(
        "{label:<48} median {:>8.3} ms   p90 {:>8.3} ms",
        median(samples).as_secs_f64() * 1e3,
        p90.as_secs_f64() * 1e3
    );
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn measure(label: &str, m: &mut Model, scroll_to_middle: bool) {
    let theme = Theme::builtin("default").expect("theme");
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
    if scroll_to_middle {
        for c in &mut m.clusters {
            c.scroll = c.row_count() / 2;
        }
    }
    for _ in 0..20 {
        terminal.draw(|f| ui::draw(f, m, &theme)).expect("draw");
    }
    let mut samples = Vec::with_capacity(500);
    for _ in 0..500 {
        let start = Instant::now();
        terminal.draw(|f| ui::draw(f, m, &theme)).expect("draw");
        samples.push(start.elapsed());
    }
    report(label, samples);
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    println!("render one frame at 200x60 (TestBackend, 500 frames after 20 warm-up)");
    let mut m = model(1000);
    measure("3 x 1,000 pods, top of list", &mut m, false);
    measure("3 x 1,000 pods, scrolled to the middle", &mut m, true);
    let mut m = model(10_000);
    measure("3 x 10,000 pods, scrolled to the middle", &mut m, true);

    // 100 failing pods per cluster, the rest Running: the problems view lists 300.
    let mut m = model_with(10_000, |p| {
        if p % 100 == 7 {
            PodPhase::Failing("CrashLoopBackOff".into())
        } else {
            PodPhase::Running
        }
    });
    assert_eq!(m.current_problems().count(), 300);
    key(&mut m, KeyCode::Char('!'));
    measure("problems view, 3 x 10,000 pods, 300 failing", &mut m, false);
    key(&mut m, KeyCode::Esc);

    let mut m = model(10_000);
    measure_filter(
        "filter keystroke, 3 x 10,000 pods, \"workload-05\"",
        &mut m,
        "workload-05",
    );
    measure_filter(
        "filter keystroke, 3 x 10,000 pods, re:",
        &mut m,
        "re:1\\.2\\.0$",
    );
}
