//! `control-room logs -l SELECTOR`: every pod the selector picks in every configured
//! cluster at once (stern across contexts), each container its own [`Stream`]. Read once,
//! the pods are listed and each log read to its end; followed, the pods are watched, so a
//! pod that appears is read from its first line and one that goes ends its streams.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Api, Client};
use tokio::task::JoinSet;

use super::Sender;
use super::stream::{End, Stream};
use crate::msg::logs::{LogNews, LogWindow, StreamInfo};
use crate::sources::backoff::QuickBackoff;
use crate::sources::clients::ClientPool;
use crate::sources::kubeconfig::describe_error;
use crate::text::inert;

/// Containers read at once per cluster (as stern's `--max-log-requests`): a selector that
/// matches a thousand pods must not open a thousand streams.
pub const MAX_STREAMS: usize = 50;

#[derive(Debug, Clone)]
pub struct Spec {
    pub selector: String,
    pub namespace: Option<String>,
    pub container: Option<String>,
    pub previous: bool,
    pub window: LogWindow,
}

pub async fn run(pool: ClientPool, send: Sender, spec: Spec) {
    let ids = Arc::new(AtomicU32::new(0));
    let mut clusters = JoinSet::new();
    for cluster in 0..pool.len() {
        clusters.spawn(one_cluster(
            pool.clone(),
            cluster,
            send.clone(),
            spec.clone(),
            ids.clone(),
        ));
    }
    while clusters.join_next().await.is_some() {}
    if !spec.window.follow {
        send.news(LogNews::Done).await;
    }
}

async fn one_cluster(
    pool: ClientPool,
    cluster: usize,
    send: Sender,
    spec: Spec,
    ids: Arc<AtomicU32>,
) {
    let mut backoff = QuickBackoff::new(Duration::from_millis(500), Duration::from_secs(5));
    let client = loop {
        match pool.client(cluster).await {
            Ok(c) => break c,
            Err(why) => {
                let why = inert(&why);
                if !send.news(LogNews::ClusterTrouble { cluster, why }).await || !spec.window.follow
                {
                    return;
                }
                tokio::time::sleep(backoff.next().unwrap_or_default()).await;
            }
        }
    };
    let api: Api<Pod> = match &spec.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let reader = Reader {
        client,
        cluster,
        send,
        spec,
        ids,
    };
    if reader.spec.window.follow {
        reader.follow(api).await;
    } else {
        reader.once(api).await;
    }
}

struct Reader {
    client: Client,
    cluster: usize,
    send: Sender,
    spec: Spec,
    ids: Arc<AtomicU32>,
}

impl Reader {
    /// Every matching pod's log, read to its end.
    async fn once(&self, api: Api<Pod>) {
        let list = match api
            .list(&ListParams::default().labels(&self.spec.selector))
            .await
        {
            Ok(list) => list,
            Err(e) => {
                self.trouble(describe_error(&e)).await;
                return;
            }
        };
        let mut streams = JoinSet::new();
        for pod in &list.items {
            for (name, several) in self.readable(pod) {
                if streams.len() >= MAX_STREAMS {
                    self.trouble(too_many()).await;
                    break;
                }
                let info = self.info(pod, &name, several);
                streams.spawn(self.read(info, self.spec.window, pod));
            }
        }
        while streams.join_next().await.is_some() {}
    }

    /// Watches the matching pods and reads each one's containers while it lives.
    async fn follow(&self, api: Api<Pod>) {
        let config = watcher::Config::default().labels(&self.spec.selector);
        let events = watcher(api, config).backoff(QuickBackoff::default());
        let mut events = std::pin::pin!(events);
        // (pod uid, container) being read.
        let mut reading: HashSet<(String, String)> = HashSet::new();
        let mut tasks: JoinSet<(String, String)> = JoinSet::new();
        let mut said_trouble = false;
        let mut said_too_many = false;
        loop {
            let event = tokio::select! {
                e = events.next() => e,
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Ok(key) = done {
                        reading.remove(&key);
                    }
                    continue;
                }
            };
            let Some(event) = event else { return };
            let (pod, window) = match event {
                Ok(watcher::Event::Init | watcher::Event::InitDone) => continue,
                // There when the pods were listed: read as asked (`--tail`, `--since`).
                Ok(watcher::Event::InitApply(p)) => (p, self.spec.window),
                // Came (or started) while we read: all of its log is new.
                Ok(watcher::Event::Apply(p)) => {
                    let whole = LogWindow {
                        tail: None,
                        since_seconds: None,
                        ..self.spec.window
                    };
                    (p, whole)
                }
                // Its streams see that it is gone on their own, after its last lines.
                Ok(watcher::Event::Delete(_)) => continue,
                Err(e) => {
                    if !said_trouble {
                        said_trouble = true;
                        if !self.trouble(e.to_string()).await {
                            return;
                        }
                    }
                    continue;
                }
            };
            said_trouble = false;
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            for (name, several) in self.readable(&pod) {
                let key = (uid.clone(), name.clone());
                if reading.contains(&key) {
                    continue;
                }
                if reading.len() >= MAX_STREAMS {
                    if !said_too_many {
                        said_too_many = true;
                        self.trouble(too_many()).await;
                    }
                    continue;
                }
                let read = self.read(self.info(&pod, &name, several), window, &pod);
                reading.insert(key.clone());
                tasks.spawn(async move {
                    read.await;
                    key
                });
            }
        }
    }

    async fn trouble(&self, why: String) -> bool {
        let cluster = self.cluster;
        let why = inert(&why);
        self.send
            .news(LogNews::ClusterTrouble { cluster, why })
            .await
    }

    /// The containers of `pod` to read now — started ones, or with a previous run when
    /// that is asked for — and whether the pod has several.
    fn readable(&self, pod: &Pod) -> Vec<(String, bool)> {
        let Some(spec) = pod.spec.as_ref() else {
            return Vec::new();
        };
        let several = spec.containers.len() > 1;
        let statuses = pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref());
        spec.containers
            .iter()
            .map(|c| c.name.as_str())
            .filter(|name| self.spec.container.as_deref().is_none_or(|c| c == *name))
            .filter(|name| {
                let status = statuses.and_then(|s| s.iter().find(|c| c.name == *name));
                status.is_some_and(|s| {
                    let previous_run = s.restart_count > 0
                        || s.last_state
                            .as_ref()
                            .is_some_and(|l| l.terminated.is_some());
                    let ran = s
                        .state
                        .as_ref()
                        .is_some_and(|st| st.running.is_some() || st.terminated.is_some());
                    previous_run || (!self.spec.previous && ran)
                })
            })
            .map(|name| (name.to_string(), several))
            .collect()
    }

    fn info(&self, pod: &Pod, container: &str, several: bool) -> StreamInfo {
        StreamInfo {
            cluster: self.cluster,
            namespace: inert(pod.metadata.namespace.as_deref().unwrap_or("")),
            pod: inert(pod.metadata.name.as_deref().unwrap_or("")),
            container: inert(container),
            several,
        }
    }

    /// One container's stream: announced, read, its end said.
    fn read(
        &self,
        info: StreamInfo,
        window: LogWindow,
        pod: &Pod,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let stream = self.ids.fetch_add(1, Ordering::Relaxed);
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let reader = Stream {
            pods: Api::namespaced(self.client.clone(), &namespace),
            stream,
            pod: pod.metadata.name.clone().unwrap_or_default(),
            uid: pod.metadata.uid.clone(),
            container: pod
                .spec
                .iter()
                .flat_map(|s| &s.containers)
                .map(|c| c.name.clone())
                .find(|c| inert(c) == info.container)
                .unwrap_or_else(|| info.container.clone()),
            previous: self.spec.previous,
            window,
        };
        let send = self.send.clone();
        async move {
            if !send.news(LogNews::Stream { stream, info }).await {
                return;
            }
            let why = match reader.run(&send).await {
                End::Closed => return,
                End::Done(why) | End::Gone(why) | End::Refused(why) => why,
            };
            send.news(LogNews::Ended {
                stream,
                why: inert(&why),
            })
            .await;
        }
    }
}

fn too_many() -> String {
    format!("more than {MAX_STREAMS} containers match in this cluster: only {MAX_STREAMS} are read")
}
