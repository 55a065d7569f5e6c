//! What `--record` adds to a frame: the same frames drawn at 200×60 through the real
//! crossterm backend into a sink, once with the writer only passing bytes through and once
//! teed into an asciicast file (one `o` event per frame, flushed), plus the markers' look at
//! the model after each frame. Two kinds of frame: the clock and act changing (a small diff)
//! and a full redraw (every cell written). Target: recording adds ≤ 0.5 ms median per frame.
//!
//! `cargo bench --bench record`

// Tests and benchmarks may unwrap: a panic is their way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::time::{Duration, Instant};

use control_room::app::FrameObserver as _;
use control_room::config::Theme;
use control_room::model::{ActState, Model, WorldMode};
use control_room::record::{Recording, Tee};
use control_room::ui;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

const FRAMES: usize = 500;
const SIZE: (u16, u16) = (200, 60);

fn model() -> Model {
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-27T14:05:09+00:00").expect("time");
    let clusters = ["edge", "bank", "vendor"]
        .iter()
        .map(|n| (n.to_string(), format!("kind-trustusbank-{n}")))
        .collect();
    let mut m = Model::new(WorldMode::Simulated, clusters, now);
    m.size = SIZE;
    m
}

fn terminal(tee: Tee<std::io::Sink>) -> Terminal<CrosstermBackend<Tee<std::io::Sink>>> {
    Terminal::with_options(
        CrosstermBackend::new(tee),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, SIZE.0, SIZE.1)),
        },
    )
    .expect("terminal")
}

/// Frame `i`: a second later, and the act flips every tenth frame (so markers are written).
fn step(m: &mut Model, i: usize) {
    m.now += chrono::Duration::seconds(1);
    m.act.reading.state = if (i / 10).is_multiple_of(2) {
        ActState::Compromised
    } else {
        ActState::Defended
    };
}

fn run(recording: Option<&Recording>, full_redraw: bool) -> Vec<Duration> {
    let theme = Theme::builtin("default").expect("theme");
    let mut t = terminal(Tee::new(std::io::sink(), recording));
    let mut recorder = recording.map(Recording::recorder);
    let mut m = model();
    let mut samples = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES + 20 {
        step(&mut m, i);
        if full_redraw {
            // The next frame is diffed against nothing: every cell is written.
            t.current_buffer_mut().reset();
            t.swap_buffers();
            t.current_buffer_mut().reset();
        }
        let start = Instant::now();
        if let Some(r) = recorder.as_mut() {
            r.before_frame(&m);
        }
        t.draw(|f| ui::draw(f, &m, &theme)).expect("draw");
        if let Some(r) = recorder.as_mut() {
            assert!(r.after_frame(&m).is_empty(), "the recording keeps writing");
        }
        let took = start.elapsed();
        if i >= 20 {
            samples.push(took);
        }
    }
    samples
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    println!("a frame at 200x60 through the crossterm backend ({FRAMES} frames after 20)");
    for (label, full) in [("clock and act change", false), ("full redraw", true)] {
        let plain = median(run(None, full));
        let path = dir.path().join(format!("bench-{full}.cast"));
        let recording = Recording::create(&path, SIZE).expect("recording");
        let recorded = median(run(Some(&recording), full));
        recording.finish();
        let bytes = std::fs::metadata(&path).expect("cast").len();
        let mut out = std::io::stdout();
        writeln!(
            out,
            "{label:<22} plain {:>7.3} ms   recording {:>7.3} ms   adds {:>7.3} ms   file {:>6} bytes/frame",
            ms(plain),
            ms(recorded),
            ms(recorded.saturating_sub(plain)),
            bytes / (FRAMES as u64 + 20)
        )
        .expect("stdout");
    }
}
