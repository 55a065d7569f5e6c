//! `GET /api/v1/namespaces/{ns}/pods/{name}/log`: container logs, generated on request.
//!
//! Nothing is stored per pod. A container's log is a pure function of the pod (its
//! creationTimestamp, labels, containers, restarts), the wall clock and, for the
//! mock-attacker, the shared [`ExfilLedger`]: a start banner and a few lines per kind of
//! workload at fixed offsets after the container started, a heartbeat line every 30 s for
//! long-running infrastructure (only the last [`HEARTBEATS_KEPT`] of them, as if older ones
//! were rotated away), and for the mock-attacker what that pod printed (the ledger says which
//! pod received each event) while this container ran. Lines whose time has not come yet are
//! not shown; `follow` streams them when it does.
//!
//! A container restart splits the log: the current container starts at its
//! `state.running.startedAt`, and `previous=true` serves the one before it (from
//! `lastState.terminated.startedAt`, or the pod's creation for the first one) up to there, as
//! the kubelet keeps the last terminated container's log. A `follow` ends when its container
//! does (the restart count moves), after the old container's last lines.
//!
//! Lines are bytes, served as written (a program may print invalid UTF-8 or a megabyte
//! without a break; the kubelet joins the runtime's partial lines back into one). Timestamps
//! never go backwards and are unique (nanoseconds are bumped where two would collide), except
//! within one burst the program wrote faster than the runtime's clock ticks
//! ([`ExfilLedger::record_burst`], [`ExfilLedger::print`]): those lines share one stamp.
//! `timestamps=true` prints it as RFC3339Nano with nine digits, as the kubelet does.
//! `sinceTime` is inclusive, as on a real kubelet (a line is shown unless its time is before
//! `sinceTime`); fractional seconds are accepted. A client reconnecting after the line stamped
//! `T` asks for `sinceTime=T` (kube-rs rounds it to the second: pass the floor) and drops the
//! lines it already read up to `T` — counting those stamped `T`, which may be several.
//! `limitBytes` cuts at that byte, mid-character if need be, as the kubelet's writer does.

use crate::store::resources;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::api::query::Query;
use crate::api::responses;
use crate::api::router::ServerCtx;
use crate::services::{ExfilLedger, MeshTelemetry, Printed};
use crate::store::ids::fnv1a;

/// Heartbeat lines kept per container (older ones are "rotated").
pub const HEARTBEATS_KEPT: i64 = 500;
const HEARTBEAT: TimeDelta = TimeDelta::seconds(30);
/// Longest a follow waits before looking again without being woken.
const IDLE_POLL: Duration = Duration::from_secs(1);

/// One log line.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    at: DateTime<Utc>,
    /// As written, without the newline.
    text: Bytes,
    /// Written in one burst with the line before it: shares its stamp.
    joined: bool,
}

impl Line {
    fn new(at: DateTime<Utc>, text: impl Into<Bytes>) -> Self {
        Self {
            at,
            text: text.into(),
            joined: false,
        }
    }
}

/// What the request asked for, once validated.
#[derive(Debug)]
pub(crate) struct Params {
    pub container: String,
    pub follow: bool,
    pub previous: bool,
    pub timestamps: bool,
    pub tail: Option<usize>,
    pub since: Option<DateTime<Utc>>,
    pub limit_bytes: Option<usize>,
}

pub async fn handle(
    State(ctx): State<Arc<ServerCtx>>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let response = serve(&ctx, &namespace, &name, query.as_deref());
    tracing::debug!(
        cluster = ctx.store.cluster(),
        %namespace,
        pod = %name,
        status = response.status().as_u16(),
        "sim logs"
    );
    response
}

fn serve(ctx: &ServerCtx, namespace: &str, name: &str, raw: Option<&str>) -> Response {
    let Some(def) = resources::lookup_kind("v1", "Pod") else {
        return responses::no_route();
    };
    let Some(pod) = ctx.store.get("v1", "Pod", Some(namespace), name) else {
        return responses::not_found_in(def, name);
    };
    let now = Utc::now();
    let params = match params(&pod, name, raw, now) {
        Ok(p) => p,
        Err(message) => return responses::bad_request(&message),
    };
    if let Some(message) = not_started(&pod, name, &params.container) {
        return responses::bad_request(&message);
    }
    if let Some(generator) = ctx.services.log_generator_of(ctx.store.cluster(), &pod) {
        let started = container_status(&pod, &params.container)
            .and_then(|s| time_at(s, "/state/running/startedAt"))
            .unwrap_or_else(|| created_at(&pod, now));
        let log = generator.log(started);
        return crate::api::generated_log::serve(ctx, &pod, params, log, now);
    }
    let ledger = ctx.services.exfil().clone();
    let mesh = ctx.services.mesh_telemetry().clone();
    let denies = ztunnel_denies(&mesh, &ctx.store, &pod);
    let all = history(
        &pod,
        &params.container,
        params.previous,
        &ledger,
        &denies,
        now,
    );
    let cursor = all.last().map(|l| l.at);
    let mut shown: Vec<&Line> = all
        .iter()
        .filter(|l| params.since.is_none_or(|s| l.at >= s))
        .collect();
    if let Some(tail) = params.tail {
        let skip = shown.len().saturating_sub(tail);
        shown.drain(..skip);
    }
    let mut budget = params.limit_bytes.unwrap_or(usize::MAX);
    let first = render(shown.into_iter(), params.timestamps, &mut budget);
    // A container that has exited has nothing more to write: a follow ends at once.
    let exited = run_window(&pod, &params.container, false, created_at(&pod, now))
        .1
        .is_some();
    if !params.follow || params.previous || budget == 0 || exited {
        return text_response(Body::from(first));
    }
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(16);
    let uid = pod.pointer("/metadata/uid").cloned();
    let restarts = restart_count(&pod, &params.container);
    let follow = Follow {
        mesh,
        store: ctx.store.clone(),
        stop: ctx.stop.clone(),
        ledger,
        namespace: namespace.to_string(),
        name: name.to_string(),
        uid,
        restarts,
        params,
        cursor,
        budget,
    };
    tokio::spawn(async move {
        if !first.is_empty() && tx.send(Ok(Bytes::from(first))).await.is_err() {
            return;
        }
        follow.run(tx).await;
    });
    text_response(Body::from_stream(
        tokio_stream::wrappers::ReceiverStream::new(rx),
    ))
}

pub(crate) fn text_response(body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// Lines as the client reads them, within `budget` bytes (what is left is written back).
fn render<'a>(
    lines: impl Iterator<Item = &'a Line>,
    timestamps: bool,
    budget: &mut usize,
) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        if *budget == 0 {
            break;
        }
        let start = out.len();
        if timestamps {
            out.extend_from_slice(stamp(line.at).as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(&line.text);
        out.push(b'\n');
        // The kubelet's limit counts bytes, characters notwithstanding.
        let kept = (out.len() - start).min(*budget);
        out.truncate(start + kept);
        *budget -= kept;
    }
    out
}

/// RFC3339Nano with all nine digits, UTC (`2026-05-11T16:16:28.123456789Z`).
pub fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn params(
    pod: &Value,
    name: &str,
    raw: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Params, String> {
    let query = Query::parse(raw)?;
    let containers: Vec<&str> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| cs.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    let container = match query.get("container").filter(|c| !c.is_empty()) {
        Some(c) if containers.contains(&c) => c.to_string(),
        Some(c) => return Err(format!("container {c} is not valid for pod {name}")),
        None if containers.len() == 1 => containers[0].to_string(),
        None => {
            return Err(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                containers.join(" ")
            ));
        }
    };
    let previous = query.flag("previous")?;
    if previous && restart_count(pod, &container) == 0 {
        return Err(format!(
            "previous terminated container \"{container}\" in pod \"{name}\" not found"
        ));
    }
    let since_seconds = query.number("sinceSeconds")?;
    let since_time = match query.get("sinceTime").filter(|s| !s.is_empty()) {
        Some(s) => Some(
            DateTime::parse_from_rfc3339(s)
                .map_err(|_| format!("invalid value for sinceTime: {s:?}"))?
                .with_timezone(&Utc),
        ),
        None => None,
    };
    if since_seconds.is_some() && since_time.is_some() {
        return Err("at most one of `sinceTime` or `sinceSeconds` may be specified".into());
    }
    if since_seconds == Some(0) {
        return Err("sinceSeconds: Invalid value: 0: must be greater than 0".into());
    }
    let since = since_time.or_else(|| {
        since_seconds
            .map(|s| now - TimeDelta::seconds(i64::try_from(s).unwrap_or(i64::MAX / 2_000_000)))
    });
    let tail = signed(&query, "tailLines")?.map(|n| usize::try_from(n.max(0)).unwrap_or(0));
    let limit_bytes = match signed(&query, "limitBytes")? {
        Some(n) if n < 1 => {
            return Err(format!(
                "limitBytes: Invalid value: {n}: must be greater than 0"
            ));
        }
        Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        None => None,
    };
    Ok(Params {
        container,
        follow: query.flag("follow")?,
        previous,
        timestamps: query.flag("timestamps")?,
        tail,
        since,
        limit_bytes,
    })
}

/// The kubelet's refusal for a container that never ran because its image cannot be pulled
/// (`validateContainerLogStatus`).
fn not_started(pod: &Value, name: &str, container: &str) -> Option<String> {
    let status = container_status(pod, container)?;
    if status.pointer("/lastState/terminated").is_some() {
        return None;
    }
    let why = match status.pointer("/state/waiting/reason")?.as_str()? {
        "ErrImagePull" => "image can't be pulled",
        "ImagePullBackOff" => "trying and failing to pull image",
        _ => return None,
    };
    Some(format!(
        "container \"{container}\" in pod \"{name}\" is waiting to start: {why}"
    ))
}

fn signed(query: &Query, key: &str) -> Result<Option<i64>, String> {
    match query.get(key) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| format!("invalid value for {key}: {v:?}")),
    }
}

fn container_status<'a>(pod: &'a Value, container: &str) -> Option<&'a Value> {
    pod.pointer("/status/containerStatuses")?
        .as_array()?
        .iter()
        .find(|s| s["name"] == container)
}

fn restart_count(pod: &Value, container: &str) -> u64 {
    container_status(pod, container)
        .and_then(|s| s["restartCount"].as_u64())
        .unwrap_or(0)
}

fn created_at(pod: &Value, now: DateTime<Utc>) -> DateTime<Utc> {
    time_at(pod, "/metadata/creationTimestamp").unwrap_or(now)
}

fn time_at(value: &Value, pointer: &str) -> Option<DateTime<Utc>> {
    let s = value.pointer(pointer)?.as_str()?;
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// What sort of program runs in the container, by its pod's `app` label, name and image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    MockAttacker,
    Istiod,
    Ztunnel,
    Gateway,
    Nginx,
    Prometheus,
    Grafana,
    Agent,
    Mcp,
    Other,
}

impl Workload {
    fn of(pod: &Value, container: &str) -> Self {
        let app = pod
            .pointer("/metadata/labels/app")
            .and_then(Value::as_str)
            .unwrap_or("");
        let ns = pod
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("");
        if ns == "external-attacker" && app == "mock-attacker" {
            return Self::MockAttacker;
        }
        let image = pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .and_then(|cs| cs.iter().find(|c| c["name"] == container))
            .and_then(|c| c["image"].as_str())
            .unwrap_or("");
        let name = pod
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let hay = format!("{app} {container} {image} {name}").to_lowercase();
        let has = |s: &str| hay.contains(s);
        if has("istiod") || has("pilot") {
            Self::Istiod
        } else if has("ztunnel") {
            Self::Ztunnel
        } else if has("gateway") || has("envoy") || has("waypoint") {
            Self::Gateway
        } else if has("prometheus") || has("alertmanager") {
            Self::Prometheus
        } else if has("grafana") {
            Self::Grafana
        } else if has("mcp") {
            Self::Mcp
        } else if has("agent") {
            Self::Agent
        } else if has("nginx") || has("chatbot") || has("frontend") || has("ui") {
            Self::Nginx
        } else {
            Self::Other
        }
    }

    /// Lines after the banner, as (milliseconds after start, text).
    fn startup(self, container: &str, seed: u64) -> Vec<(i64, String)> {
        let n = seed % 7 + 1;
        let lines: Vec<String> = match self {
            Self::MockAttacker => vec!["mock-attacker listening on :8080".into()],
            Self::Istiod => vec![
                "info\tFLAG: --domain=\"cluster.local\"".into(),
                "info\tklog\tWaiting for caches to sync".into(),
                "info\tads\tAll caches have been synced up, marking server ready".into(),
                format!("info\tads\tADS: new connection for node:ztunnel-{n}"),
                "info\tvalidationController\tReconcile(enter): retry dry-run creation of invalid config".into(),
            ],
            Self::Ztunnel => vec![
                "INFO ztunnel::app: version: 1.27.0".into(),
                "INFO xds::client: Stream established".into(),
                "INFO ztunnel::readiness: Task 'state manager' complete, marking server ready".into(),
                format!("INFO ztunnel::inpod::statemanager: pod received, starting proxy ({n} workloads)"),
            ],
            Self::Gateway => vec![
                "info\tEnvoy proxy is ready".into(),
                "info\txdsproxy\tconnected to upstream XDS server: istiod.istio-system.svc:15012".into(),
                "info\tads\tADS: \"\" received LDS, RDS, CDS; listeners: 2 routes: 3".into(),
            ],
            Self::Nginx => vec![
                "/docker-entrypoint.sh: Configuration complete; ready for start up".into(),
                "nginx/1.27.3 start worker processes".into(),
                format!("10.30.{n}.1 - - \"GET /healthz HTTP/1.1\" 200 2 \"-\" \"kube-probe/1.33\""),
            ],
            Self::Prometheus => vec![
                "level=info msg=\"Starting Prometheus Server\" mode=server version=2.55.0".into(),
                "level=info msg=\"TSDB started\"".into(),
                "level=info msg=\"Completed loading of configuration file\" filename=/etc/config/prometheus.yml".into(),
                "level=info msg=\"Server is ready to receive web requests.\"".into(),
            ],
            Self::Grafana => vec![
                "logger=settings level=info msg=\"Starting Grafana\" version=11.3.0".into(),
                "logger=sqlstore level=info msg=\"Connecting to DB\" dbtype=sqlite3".into(),
                "logger=http.server level=info msg=\"HTTP Server Listen\" address=[::]:3000".into(),
            ],
            Self::Agent => vec![
                format!("INFO agent {container}: loading agent configuration"),
                format!("INFO agent {container}: connected to {n} MCP tool server(s)"),
                "INFO uvicorn: Application startup complete.".into(),
                "INFO uvicorn: Uvicorn running on http://0.0.0.0:8080".into(),
            ],
            Self::Mcp => vec![
                format!("INFO mcp {container}: registering tools"),
                "INFO mcp: MCP server listening on :8080 (streamable-http)".into(),
                format!("INFO mcp: session initialized (client {n})"),
            ],
            Self::Other => vec![
                format!("{container}: configuration loaded"),
                format!("{container}: ready"),
            ],
        };
        lines
            .into_iter()
            .enumerate()
            .map(|(i, text)| {
                let i = i as i64;
                // Close behind the banner: creationTimestamp has whole seconds, so a pod
                // read just after it was created must already show its startup lines.
                let jitter = i64::try_from((seed >> (i * 5)) % 10).unwrap_or(0);
                (1 + i * 20 + jitter, text)
            })
            .collect()
    }

    fn heartbeat(self, k: i64) -> Option<String> {
        Some(match self {
            Self::Istiod => format!(
                "info\tads\tPush debounce stable[{k}] 1 for config ServiceEntry: 100.1ms since last change"
            ),
            Self::Ztunnel => format!(
                "INFO xds::client: received response type_url=\"type.googleapis.com/istio.workload.Address\" size={}",
                1 + k % 9
            ),
            Self::Gateway => format!(
                "info\tads\tXDS: Pushing Services:{} ConnectedEndpoints:2",
                10 + k % 5
            ),
            Self::Prometheus => format!(
                "level=info component=tsdb msg=\"head GC completed\" series={}",
                1200 + k % 50
            ),
            _ => return None,
        })
    }
}

/// Every line of one container instance up to `now`, oldest first, timestamps unique and
/// strictly increasing.
fn history(
    pod: &Value,
    container: &str,
    previous: bool,
    ledger: &ExfilLedger,
    denies: &[Line],
    now: DateTime<Utc>,
) -> Vec<Line> {
    let created = created_at(pod, now);
    let ns = pod
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let name = pod
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = Workload::of(pod, container);
    let seed = fnv1a(format!("{ns}/{name}/{container}").as_bytes());
    let (start, end) = run_window(pod, container, previous, created);
    let image = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["name"] == container))
        .and_then(|c| c["image"].as_str())
        .unwrap_or("unknown");
    let node = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or("-");
    let mut lines = vec![Line::new(
        start,
        format!("starting container {container} (image {image}) of pod {ns}/{name} on {node}"),
    )];
    for (ms, text) in kind.startup(container, seed) {
        lines.push(Line::new(start + TimeDelta::milliseconds(ms), text));
    }
    let until = end.unwrap_or(now).min(now);
    if kind.heartbeat(0).is_some() && until > start {
        let elapsed = (until - start).num_seconds() / HEARTBEAT.num_seconds();
        let first = (elapsed - HEARTBEATS_KEPT + 1).max(1);
        for k in first..=elapsed {
            if let Some(text) = kind.heartbeat(k) {
                let at = start + HEARTBEAT * i32::try_from(k).unwrap_or(i32::MAX);
                lines.push(Line::new(at, text));
            }
        }
    }
    if kind == Workload::MockAttacker {
        let uid = pod.pointer("/metadata/uid").and_then(Value::as_str);
        let gone = time_at(pod, "/metadata/deletionTimestamp");
        let printed = ledger
            .printed()
            .into_iter()
            .filter(|p| p.pod.is_none() || p.pod.as_deref() == uid)
            .filter(|p| p.at >= start && end.is_none_or(|e| p.at < e))
            .filter(|p| p.pod.is_some() || gone.is_none_or(|g| p.at < g));
        for p in printed {
            lines.extend(printed_lines(&p));
        }
    }
    if !previous {
        lines.extend(denies.iter().filter(|l| l.at >= start).cloned());
    }
    // Stable: the lines of one write stay together, in order.
    lines.sort_by_key(|l| l.at);
    let mut last: Option<DateTime<Utc>> = None;
    for line in &mut lines {
        if let Some(prev) = last {
            if line.joined {
                line.at = prev;
            } else if line.at <= prev {
                line.at = prev + TimeDelta::nanoseconds(1);
            }
        }
        last = Some(line.at);
    }
    lines.retain(|l| l.at <= now);
    if let Some(end) = end {
        // A program told to exit says so; anything else was stopped by the kubelet.
        let last = if pod
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(crate::controller::EXIT_AFTER))
            .is_some()
        {
            let state = if previous { "lastState" } else { "state" };
            let code = container_status(pod, container)
                .and_then(|s| s.pointer(&format!("/{state}/terminated/exitCode")))
                .or_else(|| {
                    container_status(pod, container)
                        .and_then(|s| s.pointer("/lastState/terminated/exitCode"))
                })
                .and_then(Value::as_i64)
                .unwrap_or(1);
            format!("exiting with status {code}")
        } else {
            "received SIGTERM, shutting down".to_string()
        };
        // The last line, just before the end — or after the lines the program printed,
        // when its whole run fell within the second its statuses round to.
        let at = match lines.last() {
            Some(l) if l.at >= end - TimeDelta::milliseconds(1) => l.at + TimeDelta::nanoseconds(1),
            _ => end - TimeDelta::milliseconds(1),
        };
        lines.push(Line::new(at, last));
    }
    lines
}

/// When the run of `container` a request reads began, and when it ended (None while it
/// runs). Runs are counted by restarts: the first began when the pod was created (its log
/// holds what the program printed while the pod came up), each later one at its own
/// `startedAt`; a run ends at its `finishedAt`, or else when the next one started. The
/// current run is the running one, or the one that just exited, or — while the kubelet
/// backs off a crash — the last one, as the kubelet serves it; `previous` is the one before
/// (the last one again during a back-off: `lastState` is all the kubelet keeps).
fn run_window(
    pod: &Value,
    container: &str,
    previous: bool,
    created: DateTime<Utc>,
) -> (DateTime<Utc>, Option<DateTime<Utc>>) {
    let status = container_status(pod, container);
    let restarts = restart_count(pod, container);
    let at = |p: &str| status.and_then(|s| time_at(s, p));
    // Run `index` began at `started`, the first at the pod's creation.
    let began = |index: u64, started: Option<DateTime<Utc>>| match started {
        Some(t) if index > 0 && t > created => t,
        _ => created,
    };
    let running = at("/state/running/startedAt");
    let exited = status.is_some_and(|s| s.pointer("/state/terminated").is_some());
    let has_last = status.is_some_and(|s| s.pointer("/lastState/terminated").is_some());
    // The run in `lastState`: the one before the current, or during a back-off the last.
    let last_index = if running.is_some() || exited {
        restarts.saturating_sub(1)
    } else {
        restarts
    };
    let last_start = began(last_index, at("/lastState/terminated/startedAt"));
    let last_end = at("/lastState/terminated/finishedAt");
    let restarted = running.filter(|t| *t > created && restarts > 0);
    let window = match (previous, running, exited, has_last) {
        (false, Some(_), _, _) => (restarted.unwrap_or(created), None),
        (false, None, true, _) => {
            let start = began(restarts, at("/state/terminated/startedAt"));
            (
                start,
                Some(at("/state/terminated/finishedAt").unwrap_or(start)),
            )
        }
        (_, None, false, true) => (last_start, Some(last_end.unwrap_or(last_start))),
        (false, None, false, false) => (created, None),
        (true, _, _, true) => {
            let end = last_end.or(restarted).unwrap_or(last_start);
            (last_start.min(end), Some(end))
        }
        (true, _, _, false) => match restarted {
            Some(r) => (created.min(r), Some(r)),
            None => (created, Some(created + TimeDelta::minutes(2))),
        },
    };
    (window.0, window.1.map(|end| end.max(window.0)))
}

/// The lines of one write of the program, stamped as the runtime would.
fn printed_lines(p: &Printed) -> impl Iterator<Item = Line> + '_ {
    p.lines.iter().enumerate().map(|(i, text)| {
        let step = if p.one_stamp { 0 } else { i as i64 };
        Line {
            at: p.at + TimeDelta::nanoseconds(step),
            text: text.clone(),
            joined: p.one_stamp && i > 0,
        }
    })
}

/// For a ztunnel pod: the policy denies its cluster recorded for connections from pods on its
/// node — the source-side ztunnel logs the rejected connection, as in ambient mesh.
fn ztunnel_denies(
    mesh: &MeshTelemetry,
    store: &crate::store::ClusterStore,
    pod: &Value,
) -> Vec<Line> {
    if pod.pointer("/metadata/labels/app").and_then(Value::as_str) != Some("ztunnel") {
        return Vec::new();
    }
    let cluster = store.cluster();
    let node = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let lines: Vec<_> = mesh
        .deny_lines()
        .into_iter()
        .filter(|l| {
            l.cluster == cluster
                || l.cluster.ends_with(&format!("-{cluster}"))
                || cluster.ends_with(&format!("-{}", l.cluster))
        })
        .collect();
    if lines.is_empty() {
        return Vec::new();
    }
    let (pods, _) = store.list("v1", "Pod", None);
    let on_node = |ip: &str| {
        pods.iter().any(|p| {
            p.pointer("/status/podIP").and_then(Value::as_str) == Some(ip)
                && p.pointer("/spec/nodeName").and_then(Value::as_str) == Some(node)
        })
    };
    lines
        .into_iter()
        .filter(|l| {
            let ip = l
                .line
                .split("src.addr=")
                .nth(1)
                .and_then(|r| r.split(':').next())
                .unwrap_or("");
            on_node(ip)
        })
        .map(|l| {
            // The telemetry line carries its own time first; the log line's stamp replaces it.
            let text = l
                .line
                .split_once(' ')
                .map(|(_, rest)| rest.to_string())
                .unwrap_or(l.line);
            Line::new(l.at, text)
        })
        .collect()
}

/// A `follow=true` stream after its first batch.
struct Follow {
    mesh: MeshTelemetry,
    store: crate::store::ClusterStore,
    stop: tokio::sync::watch::Receiver<bool>,
    ledger: ExfilLedger,
    namespace: String,
    name: String,
    uid: Option<Value>,
    /// The container's restart count when the stream began: it follows that container.
    restarts: u64,
    params: Params,
    /// The time of the last line already considered (shown or filtered away).
    cursor: Option<DateTime<Utc>>,
    budget: usize,
}

impl Follow {
    async fn run(mut self, tx: mpsc::Sender<Result<Bytes, Infallible>>) {
        let mut changes = self.store.subscribe();
        let ledger = self.ledger.clone();
        loop {
            let notified = ledger.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            changes.borrow_and_update();
            let Some(pod) = self
                .store
                .get("v1", "Pod", Some(&self.namespace), &self.name)
            else {
                return;
            };
            if pod.pointer("/metadata/uid").cloned() != self.uid {
                return;
            }
            let now = Utc::now();
            let denies = ztunnel_denies(&self.mesh, &self.store, &pod);
            let restarts = restart_count(&pod, &self.params.container);
            // The container this stream follows has exited: its last lines, then the end,
            // as the kubelet closes a follow when its container stops.
            let restarted = restarts != self.restarts;
            if restarted && restarts != self.restarts + 1 {
                return;
            }
            // Exited and not (yet) restarted: the run followed is still the current one.
            let stopped = !restarted
                && run_window(&pod, &self.params.container, false, created_at(&pod, now))
                    .1
                    .is_some();
            let ended = restarted || stopped;
            let all = history(
                &pod,
                &self.params.container,
                restarted,
                &ledger,
                &denies,
                now,
            );
            let fresh: Vec<&Line> = all
                .iter()
                .filter(|l| self.cursor.is_none_or(|c| l.at > c))
                .filter(|l| self.params.since.is_none_or(|s| l.at >= s))
                .collect();
            if let Some(last) = all.last() {
                self.cursor = Some(self.cursor.map_or(last.at, |c| c.max(last.at)));
            }
            let chunk = render(fresh.into_iter(), self.params.timestamps, &mut self.budget);
            if !chunk.is_empty() && tx.send(Ok(Bytes::from(chunk))).await.is_err() {
                return;
            }
            if self.budget == 0 || ended {
                return;
            }
            // Wake for the next line due by the clock (heartbeats, startup lines).
            let next_due = history(
                &pod,
                &self.params.container,
                false,
                &ledger,
                &denies,
                now + TimeDelta::seconds(2),
            )
            .into_iter()
            .find(|l| l.at > now)
            .and_then(|l| (l.at - now).to_std().ok())
            .unwrap_or(IDLE_POLL)
            .min(IDLE_POLL);
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(next_due) => {}
                r = changes.changed() => if r.is_err() { return },
                _ = tx.closed() => return,
                _ = self.stop.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(app: &str, ns: &str, created: &str) -> Value {
        json!({
            "metadata": {"name": "p-1", "namespace": ns, "labels": {"app": app}, "creationTimestamp": created},
            "spec": {"containers": [{"name": "c", "image": format!("{app}:1")}], "nodeName": "n1"},
            "status": {"containerStatuses": [{"name": "c", "restartCount": 0}]}
        })
    }

    #[test]
    fn history_is_deterministic_and_strictly_increasing() {
        let p = pod("istiod", "istio-system", "2026-05-11T16:00:00Z");
        let now: DateTime<Utc> = "2026-05-11T17:00:00Z".parse().unwrap();
        let ledger = ExfilLedger::default();
        let a = history(&p, "c", false, &ledger, &[], now);
        let b = history(&p, "c", false, &ledger, &[], now + TimeDelta::seconds(1));
        assert!(a.len() > 100);
        assert_eq!(a[..], b[..a.len()]);
        assert!(a.windows(2).all(|w| w[0].at < w[1].at));
        assert!(a.iter().all(|l| l.at <= now));
    }

    #[test]
    fn a_burst_shares_its_stamp_and_a_restart_splits_the_log() {
        let mut p = pod("mock-attacker", "external-attacker", "2026-05-11T16:00:00Z");
        p["metadata"]["uid"] = json!("u1");
        let ledger = ExfilLedger::default();
        let t1: DateTime<Utc> = "2026-05-11T16:00:10Z".parse().unwrap();
        ledger.print(t1, b"a\nb\n\xff\n".to_vec());
        ledger.print(t1, b"c\n".to_vec());
        let now: DateTime<Utc> = "2026-05-11T16:01:00Z".parse().unwrap();
        let lines = history(&p, "c", false, &ledger, &[], now);
        let at = |text: &[u8]| lines.iter().find(|l| &l.text[..] == text).unwrap().at;
        assert_eq!(at(b"a"), t1);
        assert_eq!(at(b"b"), t1);
        assert_eq!(at(b"\xff"), t1);
        assert_eq!(
            at(b"c"),
            t1 + TimeDelta::nanoseconds(1),
            "another write: its own stamp"
        );
        assert!(lines.windows(2).all(|w| w[0].at <= w[1].at));

        let restart = "2026-05-11T16:00:30Z".to_string();
        let t2: DateTime<Utc> = "2026-05-11T16:00:40Z".parse().unwrap();
        ledger.print(t2, b"d\n".to_vec());
        p["status"]["containerStatuses"][0]["restartCount"] = json!(1);
        p["status"]["containerStatuses"][0]["state"] = json!({"running": {"startedAt": restart}});
        let texts = |previous| -> Vec<Vec<u8>> {
            history(&p, "c", previous, &ledger, &[], now)
                .into_iter()
                .map(|l| l.text.to_vec())
                .collect()
        };
        let old = texts(true);
        let new = texts(false);
        assert!(old.contains(&b"a".to_vec()) && !old.contains(&b"d".to_vec()));
        assert!(new.contains(&b"d".to_vec()) && !new.contains(&b"a".to_vec()));
    }

    #[test]
    fn stamps_have_nine_digits() {
        let t: DateTime<Utc> = "2026-05-11T16:16:28.1Z".parse().unwrap();
        assert_eq!(stamp(t), "2026-05-11T16:16:28.100000000Z");
    }
}
