//! The exfil counter's source: follows the mock-attacker Deployment's current pod's log and
//! reports every line that matches the configured pattern, with the record printed after it.
//! The count must be exact: a log stream that reconnects resumes from the last timestamp it
//! saw (dropping lines at or before it), and a new pod (restart, rollout) is read from its
//! beginning — its log is new — while what the old pod showed stays counted.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, LogParams};
use kube::{Api, Client};
use tokio::sync::mpsc;

use crate::msg::{ExfilMsg, Msg};
use crate::sources::cluster::summarize;
use crate::sources::kubeconfig::describe_error;

/// Where the attacker's log is.
#[derive(Clone)]
pub struct ExfilTarget {
    pub client: Client,
    pub namespace: String,
    pub deployment: String,
    pub pattern: String,
    /// Keep following (the TUI); `false` reads what is there, sends `CaughtUp` and stops
    /// (`control-room status`), by the same rules.
    pub follow: bool,
}

const RETRY: Duration = Duration::from_secs(2);

pub async fn run(target: ExfilTarget, tx: mpsc::Sender<Msg>) {
    let pods: Api<Pod> = Api::namespaced(target.client.clone(), &target.namespace);
    // Per pod: the timestamp of the last line read, so a reconnect neither repeats nor skips.
    let mut last: Option<(String, DateTime<Utc>, String)> = None;
    loop {
        let pod = match current_pod(&target).await {
            Ok(Some(p)) => p,
            Ok(None) => {
                let why = format!(
                    "no running pod of {}/{}",
                    target.namespace, target.deployment
                );
                if !trouble(&tx, why, target.follow).await {
                    return;
                }
                tokio::time::sleep(RETRY).await;
                continue;
            }
            Err(e) => {
                if !trouble(&tx, e, target.follow).await {
                    return;
                }
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        if last.as_ref().is_none_or(|(p, _, _)| *p != pod) {
            last = None;
        }
        if tx
            .send(Msg::Exfil(ExfilMsg::Following { pod: pod.clone() }))
            .await
            .is_err()
        {
            return;
        }
        let mut params = LogParams {
            follow: target.follow,
            timestamps: true,
            ..LogParams::default()
        };
        if let Some((_, at, _)) = &last {
            // The API takes whole seconds: ask from the start of that second, drop what was seen.
            params.since_time = k8s_openapi::jiff::Timestamp::from_second(at.timestamp()).ok();
        }
        match pods.log_stream(&pod, &params).await {
            Ok(stream) => {
                let mut lines = stream.lines();
                let mut record: Vec<String> = Vec::new();
                let mut in_record = false;
                while let Some(line) = lines.next().await {
                    let Ok(line) = line else { break };
                    let (stamp, text) = line.split_once(' ').unwrap_or(("", line.as_str()));
                    let Some(at) = DateTime::parse_from_rfc3339(stamp)
                        .ok()
                        .map(|t| t.with_timezone(&Utc))
                    else {
                        continue;
                    };
                    if let Some((_, seen_at, seen_stamp)) = &last
                        && (at < *seen_at || (at == *seen_at && stamp <= seen_stamp.as_str()))
                    {
                        continue;
                    }
                    last = Some((pod.clone(), at, stamp.to_string()));
                    if text.contains(&target.pattern) {
                        if in_record && !record.is_empty() {
                            let lines = std::mem::take(&mut record);
                            if tx
                                .send(Msg::Exfil(ExfilMsg::Record { lines }))
                                .await
                                .is_err()
                            {
                                return;
                            }
                        }
                        in_record = true;
                        let event = ExfilMsg::Event {
                            pod: pod.clone(),
                            at,
                            line: text.to_string(),
                        };
                        if tx.send(Msg::Exfil(event)).await.is_err() {
                            return;
                        }
                    } else if in_record {
                        record.push(text.to_string());
                        // The record is a JSON object: it ends where its braces balance.
                        if text.trim_start().starts_with('}') && braces_closed(&record) {
                            in_record = false;
                            let lines = std::mem::take(&mut record);
                            if tx
                                .send(Msg::Exfil(ExfilMsg::Record { lines }))
                                .await
                                .is_err()
                            {
                                return;
                            }
                        }
                    }
                }
            }
            Err(e) => {
                let why = format!("log of {pod}: {}", describe_error(&e));
                if !trouble(&tx, why, target.follow).await {
                    return;
                }
            }
        }
        if !target.follow {
            let _ = tx.send(Msg::Exfil(ExfilMsg::CaughtUp)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Reports a problem; a one-shot read ends with it (false: stop here).
async fn trouble(tx: &mpsc::Sender<Msg>, why: String, follow: bool) -> bool {
    if tx.send(Msg::Exfil(ExfilMsg::Trouble(why))).await.is_err() {
        return false;
    }
    if !follow {
        let _ = tx.send(Msg::Exfil(ExfilMsg::CaughtUp)).await;
        return false;
    }
    true
}

fn braces_closed(lines: &[String]) -> bool {
    let mut depth = 0i64;
    let mut opened = false;
    for c in lines.iter().flat_map(|l| l.chars()) {
        match c {
            '{' => {
                depth += 1;
                opened = true;
            }
            '}' => depth -= 1,
            _ => {}
        }
    }
    opened && depth <= 0 || !opened && depth < 0
}

/// The Deployment's newest Ready, not terminating pod.
async fn current_pod(target: &ExfilTarget) -> Result<Option<String>, String> {
    let deployments: Api<Deployment> = Api::namespaced(target.client.clone(), &target.namespace);
    let deployment = deployments
        .get(&target.deployment)
        .await
        .map_err(|e| describe_error(&e))?;
    let labels = deployment
        .spec
        .and_then(|s| s.selector.match_labels)
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let pods: Api<Pod> = Api::namespaced(target.client.clone(), &target.namespace);
    let list = pods
        .list(&ListParams::default().labels(&labels))
        .await
        .map_err(|e| describe_error(&e))?;
    let mut ready: Vec<&Pod> = list
        .items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none() && summarize::pod(p).is_ready())
        .collect();
    ready.sort_by_key(|p| std::cmp::Reverse(p.metadata.creation_timestamp.as_ref().map(|t| t.0)));
    Ok(ready.first().and_then(|p| p.metadata.name.clone()))
}
