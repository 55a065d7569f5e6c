//! The log-generator pod (`SimOptions::big_log_mb`, `log_lines_per_sec`): a log far too big
//! to hold or scan — 64 GiB here — answers a tail, `sinceTime` and `limitBytes` with just
//! what was asked, through kube-rs and kubectl, and a follow gets new lines at the configured
//! rate (their stamps exactly 1/rate apart). Off by default.

use futures::{AsyncBufReadExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};

use control_room_sim::{SimHandle, SimOptions};

use crate::support::{Kubectl, client, fast_tuning};

const BANK: &str = "kind-trustusbank-bank";
const NS: &str = "load-logs";
/// 64 GiB: a server that read it to find its end would not answer in any test's lifetime.
const HUGE_MIB: u64 = 64 * 1024;

async fn start(opts: SimOptions) -> (tempfile::TempDir, SimHandle) {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = SimOptions {
        state_dir: dir.path().to_path_buf(),
        ..opts
    };
    let sim = control_room_sim::start_with(opts, fast_tuning())
        .await
        .expect("sim starts");
    (dir, sim)
}

async fn generator(pods: &Api<Pod>) -> String {
    let list = pods
        .list(&ListParams::default().labels("app=log-generator"))
        .await
        .expect("list");
    assert_eq!(list.items.len(), 1, "one generator pod");
    list.items[0].metadata.name.clone().expect("named")
}

/// flog's access-log shape: `ip - user [time] "METHOD /path HTTP/1.1" status size`.
fn is_access_line(line: &str) -> bool {
    let parts: Vec<&str> = line.split_whitespace().collect();
    parts.len() == 10
        && parts[0].split('.').count() == 4
        && parts[1] == "-"
        && parts[3].starts_with('[')
        && parts[7] == "HTTP/1.1\""
        && parts[8].parse::<u16>().is_ok()
        && parts[9].parse::<u64>().is_ok()
}

fn stamp(line: &str) -> (chrono::DateTime<chrono::Utc>, &str) {
    let (ts, text) = line.split_once(' ').expect("timestamped line");
    let at = chrono::DateTime::parse_from_rfc3339(ts)
        .expect("RFC3339Nano")
        .to_utc();
    (at, text)
}

#[tokio::test]
async fn a_huge_log_answers_tail_since_and_limit_with_only_what_was_asked() {
    let (_dir, sim) = start(SimOptions {
        big_log_mb: Some(HUGE_MIB),
        ..SimOptions::default()
    })
    .await;
    let bank = client(&sim, "bank").await;
    let pods: Api<Pod> = Api::namespaced(bank, NS);
    let name = generator(&pods).await;

    let tail = pods
        .logs(
            &name,
            &LogParams {
                tail_lines: Some(500),
                timestamps: true,
                ..LogParams::default()
            },
        )
        .await
        .expect("tail");
    let lines: Vec<_> = tail.lines().map(stamp).collect();
    assert_eq!(lines.len(), 500);
    assert!(lines.iter().all(|(_, text)| is_access_line(text)), "{tail}");
    assert!(lines.windows(2).all(|w| w[0].0 <= w[1].0), "in order");
    assert!(lines[499].0 <= chrono::Utc::now());

    // sinceTime is inclusive: from the start of a line's second (kube-rs rounds a time to
    // the nearest second; the floor is exact), the first line is that second's first.
    let (at, text) = lines[100];
    let second = chrono::DateTime::from_timestamp(at.timestamp(), 0).unwrap();
    let since = pods
        .logs(
            &name,
            &LogParams {
                since_time: Some(second.to_rfc3339().parse().expect("timestamp")),
                timestamps: true,
                limit_bytes: Some(4096),
                ..LogParams::default()
            },
        )
        .await
        .expect("since");
    // The last line is cut at the limit: only whole ones are read.
    let whole = since.lines().count() - 1;
    let first: Vec<_> = since.lines().take(whole).map(stamp).collect();
    assert!(
        first[0].0 >= second && first[0].0.timestamp() == second.timestamp(),
        "{since}"
    );
    let through = first.iter().position(|(t, _)| *t == at);
    assert!(
        through.is_none_or(|i| first[i].1 == text),
        "the same line at the same time: {since}"
    );
    assert_eq!(since.len(), 4096, "limitBytes cuts at the byte");

    let limited = pods
        .logs(
            &name,
            &LogParams {
                limit_bytes: Some(100),
                ..LogParams::default()
            },
        )
        .await
        .expect("limited");
    assert_eq!(limited.len(), 100);
    let previous = pods
        .logs(
            &name,
            &LogParams {
                previous: true,
                ..LogParams::default()
            },
        )
        .await;
    assert!(previous.is_err(), "the generator never restarted");
}

#[tokio::test]
async fn kubectl_tails_a_huge_log() {
    let Some(k) = Kubectl::start_with(
        SimOptions {
            big_log_mb: Some(HUGE_MIB),
            ..SimOptions::default()
        },
        fast_tuning(),
    )
    .await
    else {
        return;
    };
    let out = k
        .ok(
            BANK,
            &[
                "logs",
                "-n",
                NS,
                "deploy/log-generator",
                "--tail",
                "5",
                "--request-timeout=30s",
            ],
        )
        .await;
    assert_eq!(out.lines().count(), 5, "{out}");
    assert!(out.lines().all(is_access_line), "{out}");
    let limited = k
        .ok(
            BANK,
            &[
                "logs",
                "-n",
                NS,
                "deploy/log-generator",
                "--limit-bytes=100",
            ],
        )
        .await;
    assert_eq!(limited.len(), 100, "{limited}");
}

#[tokio::test]
async fn a_follow_gets_new_lines_at_the_configured_rate() {
    let (_dir, sim) = start(SimOptions {
        big_log_mb: Some(1),
        log_lines_per_sec: Some(400),
        ..SimOptions::default()
    })
    .await;
    let bank = client(&sim, "bank").await;
    let pods: Api<Pod> = Api::namespaced(bank, NS);
    let name = generator(&pods).await;
    let began = chrono::Utc::now();
    let mut follow = pods
        .log_stream(
            &name,
            &LogParams {
                follow: true,
                tail_lines: Some(0),
                timestamps: true,
                ..LogParams::default()
            },
        )
        .await
        .expect("follow")
        .lines();
    let mut seen = Vec::new();
    while seen.len() < 200 {
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), follow.try_next())
            .await
            .expect("lines keep coming")
            .expect("read")
            .expect("not ended");
        seen.push(line);
    }
    let stamps: Vec<_> = seen.iter().map(|l| stamp(l).0).collect();
    // Written after the follow began, 2.5 ms apart: 400 lines a second.
    assert!(
        stamps[0] >= began - chrono::TimeDelta::milliseconds(3),
        "{:?}",
        stamps[0]
    );
    let gaps: Vec<i64> = stamps
        .windows(2)
        .map(|w| (w[1] - w[0]).num_nanoseconds().unwrap())
        .collect();
    assert!(
        gaps.iter().all(|g| (2_499_999..=2_500_001).contains(g)),
        "{gaps:?}"
    );
    assert!(seen.iter().all(|l| is_access_line(stamp(l).1)), "{seen:?}");
}

#[tokio::test]
async fn no_generator_unless_asked_for() {
    let (_dir, sim) = start(SimOptions::default()).await;
    let bank = sim.store("bank").unwrap();
    assert!(bank.get("v1", "Namespace", None, NS).is_none());
    assert_eq!(bank.list("v1", "Pod", Some(NS)).0.len(), 0);
}
