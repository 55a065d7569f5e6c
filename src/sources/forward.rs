//! Port-forwards the tool opens itself. Each listens on 127.0.0.1; every accepted
//! connection is sent to a Ready pod behind the Service *at that moment* (so a rollout or a
//! restart is followed, unlike `kubectl port-forward`), over a kube-rs port-forward, and
//! bytes are copied both ways. Each forward reports its own state; one failing (a busy
//! local port, a missing Service) leaves the others alone.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::ListParams;
use kube::{Api, Client};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::config::ForwardConfig;
use crate::msg::{ForwardMsg, Msg};
use crate::sources::cluster::summarize;
use crate::sources::kubeconfig::describe_error;

/// How often a forward whose local port could not be bound tries again.
const REBIND_INTERVAL: Duration = Duration::from_secs(5);

/// Where one forward's connections go.
#[derive(Clone)]
pub struct ForwardTarget {
    pub client: Client,
    pub config: ForwardConfig,
    /// Overrides `config.local_port` (the simulator gets free ports).
    pub local_port: Option<u16>,
    /// Probe the local URL this often once listening.
    pub probe_every: Option<Duration>,
}

/// Runs one forward until the receiver goes away; reports as `wrap(ForwardMsg)`.
pub async fn run<F>(target: ForwardTarget, tx: mpsc::Sender<Msg>, wrap: F)
where
    F: Fn(ForwardMsg) -> Msg + Send + Sync + 'static,
{
    let wrap = Arc::new(wrap);
    let port = target.local_port.unwrap_or(0);
    let listener = loop {
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => break l,
            Err(e) => {
                let why = format!("cannot listen on 127.0.0.1:{port}: {e}");
                if tx.send(wrap(ForwardMsg::BindFailed(why))).await.is_err() {
                    return;
                }
                tokio::time::sleep(REBIND_INTERVAL).await;
            }
        }
    };
    match listener.local_addr() {
        Ok(addr) => {
            if tx.send(wrap(ForwardMsg::Listening(addr))).await.is_err() {
                return;
            }
            if let Some(every) = target.probe_every {
                let url = format!(
                    "http://{addr}{}",
                    target.config.url_path.as_deref().unwrap_or("")
                );
                let (tx, wrap) = (tx.clone(), wrap.clone());
                tokio::spawn(probe(url, every, tx, move |m| wrap(m)));
            }
        }
        Err(e) => tracing::warn!(error = %e, "forward has no local address"),
    }
    let target = Arc::new(target);
    loop {
        let (socket, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(forward = %target.config.name, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if tx.is_closed() {
            return;
        }
        let (target, tx, wrap) = (target.clone(), tx.clone(), wrap.clone());
        tokio::spawn(async move {
            let msg = match connect(&target, socket, &tx, &*wrap).await {
                Ok((up, down)) => ForwardMsg::Closed { up, down },
                Err((opened, error)) => ForwardMsg::Failed { opened, error },
            };
            let _ = tx.send(wrap(msg)).await;
        });
    }
}

/// One connection: pick the pod now, open a port-forward to it, copy until either side ends.
async fn connect(
    target: &ForwardTarget,
    mut socket: TcpStream,
    tx: &mpsc::Sender<Msg>,
    wrap: &(dyn Fn(ForwardMsg) -> Msg + Send + Sync),
) -> Result<(u64, u64), (bool, String)> {
    let cfg = &target.config;
    let pods: Api<Pod> = Api::namespaced(target.client.clone(), &cfg.namespace);
    let (pod, port) = resolve(target, &pods).await.map_err(|e| (false, e))?;
    let _ = tx.send(wrap(ForwardMsg::Opened { pod: pod.clone() })).await;
    relay(&pods, &pod, port, &mut socket)
        .await
        .map_err(|e| (true, e))
}

/// Opens the port-forward and copies bytes both ways until either side ends.
async fn relay(
    pods: &Api<Pod>,
    pod: &str,
    port: u16,
    socket: &mut TcpStream,
) -> Result<(u64, u64), String> {
    let mut forwarder = pods
        .portforward(pod, &[port])
        .await
        .map_err(|e| format!("port-forward to {pod}:{port}: {}", describe_error(&e)))?;
    let mut upstream = forwarder
        .take_stream(port)
        .ok_or("port-forward gave no stream")?;
    let errors = forwarder.take_error(port);
    let copied = tokio::io::copy_bidirectional(socket, &mut upstream).await;
    drop(upstream);
    // The kubelet explains a refused port on the error channel; prefer its words.
    let remote_error = match errors {
        Some(e) => tokio::time::timeout(Duration::from_millis(200), e)
            .await
            .ok()
            .flatten(),
        None => None,
    };
    forwarder.abort();
    match (copied, remote_error) {
        (_, Some(e)) => Err(format!("{pod}:{port}: {e}")),
        (Ok(counts), None) => Ok(counts),
        (Err(e), None) => Err(format!("{pod}:{port}: {e}")),
    }
}

/// The pod and container port to use right now.
async fn resolve(target: &ForwardTarget, pods: &Api<Pod>) -> Result<(String, u16), String> {
    let cfg = &target.config;
    if let Some(pod) = &cfg.pod {
        return Ok((pod.clone(), cfg.port));
    }
    let service_name = cfg
        .service
        .as_deref()
        .ok_or("forward has neither service nor pod")?;
    let services: Api<Service> = Api::namespaced(target.client.clone(), &cfg.namespace);
    let service = services.get(service_name).await.map_err(|e| {
        format!(
            "service {}/{service_name}: {}",
            cfg.namespace,
            describe_error(&e)
        )
    })?;
    let spec = service.spec.unwrap_or_default();
    let selector = spec.selector.unwrap_or_default();
    if selector.is_empty() {
        return Err(format!(
            "service {}/{service_name} has no selector",
            cfg.namespace
        ));
    }
    let label_selector = selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let list = pods
        .list(&ListParams::default().labels(&label_selector))
        .await
        .map_err(|e| format!("pods for {service_name}: {}", describe_error(&e)))?;
    // Newest Ready pod first: during a rollout that is the new revision.
    let mut ready: Vec<&Pod> = list
        .items
        .iter()
        .filter(|p| summarize::pod(p).is_ready() && p.metadata.deletion_timestamp.is_none())
        .collect();
    ready.sort_by_key(|p| std::cmp::Reverse(p.metadata.creation_timestamp.as_ref().map(|t| t.0)));
    let pod = ready.first().ok_or_else(|| {
        format!(
            "no Ready pod behind service {}/{service_name}",
            cfg.namespace
        )
    })?;
    let service_port = spec
        .ports
        .unwrap_or_default()
        .into_iter()
        .find(|p| p.port == i32::from(cfg.port));
    let port = match service_port.and_then(|p| p.target_port) {
        Some(IntOrString::Int(n)) => u16::try_from(n).map_err(|_| format!("bad targetPort {n}"))?,
        Some(IntOrString::String(name)) => {
            named_port(pod, &name).ok_or_else(|| format!("no container port named {name}"))?
        }
        None => cfg.port,
    };
    Ok((pod.metadata.name.clone().unwrap_or_default(), port))
}

fn named_port(pod: &Pod, name: &str) -> Option<u16> {
    pod.spec
        .as_ref()?
        .containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p| p.name.as_deref() == Some(name))
        .and_then(|p| u16::try_from(p.container_port).ok())
}

/// Probes a forward's URL every `interval` with a short GET; any HTTP answer counts as up.
pub async fn probe<F>(url: String, interval: Duration, tx: mpsc::Sender<Msg>, wrap: F)
where
    F: Fn(ForwardMsg) -> Msg + Send + 'static,
{
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            let _ = tx.send(wrap(ForwardMsg::Probe(Err(e.to_string())))).await;
            return;
        }
    };
    loop {
        let result = match client.get(&url).send().await {
            Ok(r) => Ok(r.status().as_u16()),
            Err(e) if e.is_timeout() => Err("no answer within 3s".to_string()),
            Err(e) => Err(root_cause(&e)),
        };
        if tx.send(wrap(ForwardMsg::Probe(result))).await.is_err() {
            return;
        }
        tokio::time::sleep(interval).await;
    }
}

/// The innermost cause: reqwest's own words ("error sending request") say little.
fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
