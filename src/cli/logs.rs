//! `control-room logs`: one pod's log (`CLUSTER/NAMESPACE/POD`, printed as `kubectl logs`
//! prints it), or every pod a label selector matches in every configured cluster at once
//! (`-l`, each line prefixed `cluster/pod` — and `/container` when the pod has several —
//! coloured per cluster on a terminal, like stern across contexts). `-f` follows: a pod's
//! restarts and reconnects resume from the last line read, and with `-l` pods that come are
//! read and pods that go end.
//!
//! The reader is the log view's own, opened through `update` (`Msg::ReadLogs`); what is
//! printed is read off the model's ring, every line once, made inert. Stream news (a pod
//! read, gone, a reconnect) goes to stderr, so stdout holds only log lines.
//!
//! Exit status: 0 when the logs were read; 1 when the pod does not exist, nothing
//! matched, or a cluster could not be read; 2 for a usage error; 128 + n on a signal.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal as _, Write as _};
use std::process::ExitCode;

use crate::app::world::World;
use crate::app::{App, Parts, Runtime, RuntimeOptions};
use crate::config::Config;
use crate::model::Model;
use crate::model::logs::LogsModel;
use crate::msg::Msg;
use crate::msg::logs::{LogRequest, LogWindow, PodLogTarget, PodRef};
use crate::text::inert;

/// Lines a selector read shows of each container without `--tail` (as `kubectl logs -l`).
pub const SELECTOR_TAIL: i64 = 10;
/// Messages applied between two prints: well under the ring, so no line is dropped
/// unprinted.
const PRINT_EVERY: usize = 16;
/// Exit status for a usage error (as clap's).
const USAGE: u8 = 2;

#[derive(clap::Args, Debug, Clone)]
pub struct LogsArgs {
    /// CLUSTER/NAMESPACE/POD, the cluster by its configured name (edge, bank, vendor …).
    #[arg(
        value_name = "TARGET",
        required_unless_present = "selector",
        conflicts_with = "selector"
    )]
    pub target: Option<String>,
    /// Every pod this label selector matches, in every configured cluster at once.
    #[arg(short = 'l', long = "selector", value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// With -l: only pods of this namespace (default: every namespace).
    #[arg(short = 'n', long, value_name = "NS", requires = "selector")]
    pub namespace: Option<String>,
    /// The container (default: the pod's only one, or its default-container annotation).
    #[arg(short = 'c', long, value_name = "C")]
    pub container: Option<String>,
    /// Keep following: across reconnects and restarts, and with -l pods that come and go.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// The container's previous run (what crashed), read once.
    #[arg(long)]
    pub previous: bool,
    /// Only lines newer than this: 30s, 5m, 1h30m …
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub since: Option<i64>,
    /// The last N lines of each container (default: all of one pod; 10 of each with -l).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub tail: Option<i64>,
}

/// `30s`, `5m`, `1h30m`, `2h` (Go's units, as kubectl reads `--since`) → whole seconds,
/// rounded up.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?} is not a duration like 30s, 5m or 1h30m");
    let mut total = 0f64;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return Err(bad()),
        };
        total += number * seconds;
        rest = &rest[unit..];
    }
    if !(total > 0.0 && total < 1e12) {
        return Err(format!("{text:?}: the duration must be above zero"));
    }
    Ok(total.ceil() as i64)
}

/// What to read, from the arguments and the configured clusters; a usage error says why.
pub fn request(args: &LogsArgs, clusters: &[String]) -> Result<LogRequest, String> {
    let tail = |default: Option<i64>| match args.tail {
        Some(n) if n < 0 => None,
        Some(n) => Some(n),
        None => default,
    };
    let window = |default_tail| LogWindow {
        follow: args.follow && !args.previous,
        tail: tail(default_tail),
        since_seconds: args.since,
    };
    if let Some(selector) = &args.selector {
        if selector.trim().is_empty() {
            return Err("-l needs a label selector, like app=ztunnel".into());
        }
        return Ok(LogRequest::Selector {
            selector: selector.clone(),
            namespace: args.namespace.clone(),
            container: args.container.clone(),
            previous: args.previous,
            window: window(Some(SELECTOR_TAIL)),
        });
    }
    let target = args.target.as_deref().unwrap_or("");
    let parts: Vec<&str> = target.split('/').collect();
    let [cluster, namespace, pod] = parts[..] else {
        return Err(format!(
            "{target:?} is not CLUSTER/NAMESPACE/POD (like vendor/external-attacker/mock-attacker-6sp2x)"
        ));
    };
    if [cluster, namespace, pod].iter().any(|p| p.is_empty()) {
        return Err(format!("{target:?} is not CLUSTER/NAMESPACE/POD"));
    }
    let Some(index) = clusters.iter().position(|c| c == cluster) else {
        return Err(format!(
            "no cluster named {cluster:?}; the configured ones are: {}",
            clusters.join(", ")
        ));
    };
    Ok(LogRequest::Pod {
        target: PodLogTarget {
            cluster: index,
            namespace: namespace.to_string(),
            pod: PodRef::Pod(pod.to_string()),
            container: args.container.clone(),
            previous: args.previous,
        },
        window: window(None),
    })
}

pub async fn run(world: World, config: &Config, args: &LogsArgs) -> anyhow::Result<ExitCode> {
    let names: Vec<String> = world.clusters.iter().map(|c| c.name.clone()).collect();
    let request = match request(args, &names) {
        Ok(r) => r,
        Err(why) => {
            eprintln!("control-room logs: {}", inert(&why));
            world.close().await;
            return Ok(ExitCode::from(USAGE));
        }
    };
    let (mut app, runtime) =
        Runtime::start(world, config, Parts::logs(), RuntimeOptions::default()).await;
    let colour =
        io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut printer = Printer::new(colour, matches!(request, LogRequest::Selector { .. }));
    app.apply_now(Msg::ReadLogs(request.clone()));
    let outcome = follow(&mut app, &mut printer, &request).await;
    runtime.shutdown().await;
    let code = match outcome {
        Outcome::Read => ExitCode::SUCCESS,
        Outcome::Nothing(why) => {
            eprintln!("control-room logs: {}", inert(&why));
            ExitCode::FAILURE
        }
        Outcome::Usage(why) => {
            eprintln!("control-room logs: {}", inert(&why));
            ExitCode::from(USAGE)
        }
    };
    Ok(super::exit_code(&app.model, code))
}

enum Outcome {
    Read,
    /// Nothing to read, or not all of it could be: exit 1.
    Nothing(String),
    Usage(String),
}

/// Pumps the reader's news, printing as it goes, until the read is over.
async fn follow(app: &mut App, printer: &mut Printer, request: &LogRequest) -> Outcome {
    let mut asked_default = false;
    loop {
        let pumped = app.pump_up_to(None, PRINT_EVERY).await;
        let Some(logs) = app.model.logs.as_ref() else {
            return Outcome::Nothing("the log reader did not start".into());
        };
        if printer.print(&app.model, logs).is_err() {
            // stdout closed (`| head`): nothing more to do.
            return Outcome::Read;
        }
        if app.model.quitting || pumped.closed {
            return Outcome::Read;
        }
        if let Some(why) = &logs.refused {
            return Outcome::Nothing(why.clone());
        }
        if logs.picker.is_some() {
            // Several containers and none named: the pod's default, as kubectl takes it.
            if let (Some(default), false) = (logs.default_container.clone(), asked_default)
                && let LogRequest::Pod { target, window } = request
            {
                asked_default = true;
                let target = PodLogTarget {
                    container: Some(default),
                    ..target.clone()
                };
                let window = *window;
                app.apply_now(Msg::ReadLogs(LogRequest::Pod { target, window }));
                continue;
            }
            let names: Vec<&str> = logs.containers.iter().map(|c| c.name.as_str()).collect();
            return Outcome::Usage(format!(
                "pod {} has several containers; name one with -c: {}",
                logs.pod.as_deref().unwrap_or("?"),
                names.join(", ")
            ));
        }
        match request {
            LogRequest::Pod { .. } => {
                if logs.stream().is_some_and(|s| s.ended.is_some()) {
                    return Outcome::Read;
                }
            }
            LogRequest::Selector { selector, .. } => {
                if logs.done {
                    if logs.streams.is_empty() {
                        let mut why = format!("no pod matches {selector} in any cluster");
                        if !logs.cluster_trouble.is_empty() {
                            why.push_str(" that could be read");
                        }
                        return Outcome::Nothing(why);
                    }
                    if !logs.cluster_trouble.is_empty() {
                        return Outcome::Nothing("not every cluster could be read".into());
                    }
                    return Outcome::Read;
                }
            }
        }
    }
}

#[derive(Default)]
struct Said {
    announced: bool,
    /// The trouble or note last said.
    last: Option<String>,
    ended: bool,
}

/// ANSI colours for the clusters' prefixes, in pane order.
const COLOURS: [&str; 6] = ["36", "35", "33", "32", "34", "31"];

/// Prints what the model holds that was not printed yet.
struct Printer {
    /// The number of the next line to print.
    next: u64,
    /// The request being printed (a new one, after the default container was asked for,
    /// starts over).
    id: u64,
    colour: bool,
    prefixed: bool,
    /// What was said on stderr per stream.
    said: BTreeMap<u32, Said>,
    clusters_said: BTreeMap<usize, String>,
}

impl Printer {
    fn new(colour: bool, prefixed: bool) -> Printer {
        Printer {
            next: 0,
            id: 0,
            colour,
            prefixed,
            said: BTreeMap::new(),
            clusters_said: BTreeMap::new(),
        }
    }

    fn print(&mut self, model: &Model, logs: &LogsModel) -> io::Result<()> {
        if logs.id != self.id {
            self.id = logs.id;
            self.next = 0;
            self.said.clear();
        }
        let cluster_name = |i: usize| model.clusters.get(i).map_or("?", |c| c.name.as_str());
        let mut err = io::stderr().lock();
        for (cluster, why) in &logs.cluster_trouble {
            if self.clusters_said.get(cluster) != Some(why) {
                self.clusters_said.insert(*cluster, why.clone());
                writeln!(
                    err,
                    "control-room logs: {}: {}",
                    cluster_name(*cluster),
                    why
                )?;
            }
        }
        for (stream, state) in &logs.streams {
            let info = &state.info;
            let name = format!(
                "{}/{}/{}",
                cluster_name(info.cluster),
                info.pod,
                info.container
            );
            let said = self.said.entry(*stream).or_default();
            let follow = logs.request.window().follow;
            if !said.announced && self.prefixed && follow {
                // Each stream announced once, as stern does: `+ cluster/pod/container`.
                writeln!(err, "+ {name}")?;
            }
            said.announced = true;
            let now = state.trouble.clone().or_else(|| state.note.clone());
            if now.is_some() && now != said.last {
                writeln!(
                    err,
                    "control-room logs: {name}: {}",
                    now.as_deref().unwrap_or("")
                )?;
            }
            said.last = now;
            if let Some(why) = &state.ended
                && !said.ended
            {
                said.ended = true;
                // A read without -f ends every stream: only a follow's ends are news.
                if follow && self.prefixed {
                    writeln!(err, "- {name}: {why}")?;
                } else if follow {
                    writeln!(err, "control-room logs: {why}")?;
                }
            }
        }
        let ring = &logs.ring;
        if self.next < ring.first() {
            writeln!(
                err,
                "control-room logs: {} lines dropped: the output did not keep up",
                ring.first() - self.next
            )?;
        }
        drop(err);
        let mut out = io::BufWriter::new(io::stdout().lock());
        for (seq, line) in ring.from(self.next) {
            if self.prefixed
                && let Some(state) = logs.streams.get(&line.stream)
            {
                let info = &state.info;
                let mut prefix = format!("{}/{}", cluster_name(info.cluster), info.pod);
                if info.several {
                    prefix.push('/');
                    prefix.push_str(&info.container);
                }
                if self.colour {
                    let colour = COLOURS[info.cluster % COLOURS.len()];
                    write!(out, "\x1b[{colour}m{}\x1b[0m ", inert(&prefix))?;
                } else {
                    write!(out, "{} ", inert(&prefix))?;
                }
            }
            // The model's text is inert already; this keeps the promise where it is kept.
            out.write_all(inert(&line.text).as_bytes())?;
            if line.cut > 0 {
                write!(out, " …[{} bytes cut]", line.cut)?;
            }
            out.write_all(b"\n")?;
            self.next = seq + 1;
        }
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(target: Option<&str>, selector: Option<&str>) -> LogsArgs {
        LogsArgs {
            target: target.map(str::to_string),
            selector: selector.map(str::to_string),
            namespace: None,
            container: None,
            follow: false,
            previous: false,
            since: None,
            tail: None,
        }
    }

    #[test]
    fn durations_read_as_kubectl_reads_them() {
        assert_eq!(parse_duration("30s"), Ok(30));
        assert_eq!(parse_duration("5m"), Ok(300));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration("1.5s"), Ok(2), "rounded up to whole seconds");
        assert_eq!(parse_duration("250ms"), Ok(1));
        for bad in ["", "5", "m", "5d", "-5s", "0s", "1h 30m"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn targets_name_a_configured_cluster() {
        let clusters = vec!["edge".to_string(), "bank".into(), "vendor".into()];
        let r = request(
            &args(Some("vendor/external-attacker/mock-1"), None),
            &clusters,
        );
        let Ok(LogRequest::Pod { target, window }) = r else {
            panic!("{r:?}");
        };
        assert_eq!(target.cluster, 2);
        assert_eq!(target.pod, PodRef::Pod("mock-1".into()));
        assert_eq!(window.tail, None, "a pod's whole log, as kubectl");
        for bad in ["vendor/mock-1", "vendor//x", "moon/ns/pod", "a/b/c/d"] {
            assert!(request(&args(Some(bad), None), &clusters).is_err(), "{bad}");
        }
        let r = request(&args(None, Some("app=ztunnel")), &clusters);
        let Ok(LogRequest::Selector { window, .. }) = r else {
            panic!("{r:?}");
        };
        assert_eq!(window.tail, Some(SELECTOR_TAIL));
        let mut all = args(None, Some("app=ztunnel"));
        all.tail = Some(-1);
        all.follow = true;
        let Ok(LogRequest::Selector { window, .. }) = request(&all, &clusters) else {
            panic!("selector");
        };
        assert_eq!((window.tail, window.follow), (None, true));
    }
}
