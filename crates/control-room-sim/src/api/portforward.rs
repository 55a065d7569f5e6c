//! `GET /api/v1/namespaces/{ns}/pods/{name}/portforward?ports=N[,M…]`: port-forward over a
//! WebSocket, as kube-rs speaks it (`v5.channel.k8s.io` or `v4.channel.k8s.io`).
//!
//! Binary frames; the first byte is the channel: port index `i` has data channel `2i` and
//! error channel `2i+1`. The server opens every channel with a frame carrying the port number
//! (2 bytes little-endian), then bytes flow both ways on the data channel. A port with nothing
//! listening gets the kubelet's (containerd's) words on its error channel. Under v5 a client
//! may half-close a data channel with `[255, channel]`.
//!
//! The bytes go to the program the pod runs ([`Services::listener`]), served as one HTTP/1.1
//! connection per port per forward. The WebSocket closes once every port's connection is
//! over; the client closing (or vanishing) ends everything.
//!
//! [`Services::listener`]: crate::services::Services::listener

use crate::store::resources;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{
    Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::api::responses;
use crate::api::router::ServerCtx;
use crate::services::serve_connection;
use crate::store::ids::{IdGen, fnv1a};

/// The stream protocols served, in no particular order: the client's order decides.
const PROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];
/// v5's "close this channel" signal channel.
const CLOSE_SIGNAL: u8 = 255;
/// Largest data frame sent (plus the channel byte).
const CHUNK: usize = 32 * 1024;
/// Bytes buffered between the WebSocket and a program's connection, each way.
const PIPE: usize = 256 * 1024;
/// How long a finished session waits for its last frames to leave.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// What one requested port leads to.
enum Target {
    Program(axum::Router),
    /// Nothing listening: the error-channel message.
    Refused(String),
}

/// The route handler.
pub async fn handle(
    State(ctx): State<Arc<ServerCtx>>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let response = prepare(&ctx, &namespace, &name, query.as_deref(), &headers, upgrade);
    tracing::debug!(
        cluster = ctx.store.cluster(),
        %namespace,
        pod = %name,
        status = response.status().as_u16(),
        "sim port-forward"
    );
    response
}

fn prepare(
    ctx: &ServerCtx,
    namespace: &str,
    name: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Some(def) = resources::lookup_kind("v1", "Pod") else {
        return responses::no_route();
    };
    // As the API server does: find the pod and its node first, then demand the upgrade.
    let Some(pod) = ctx.store.get("v1", "Pod", Some(namespace), name) else {
        return responses::not_found_in(def, name);
    };
    if str_at(&pod, "/spec/nodeName").is_empty() {
        return responses::bad_request(&format!("pod {name} does not have a host assigned"));
    }
    let phase = str_at(&pod, "/status/phase");
    if phase == "Succeeded" || phase == "Failed" {
        return responses::bad_request(&format!(
            "unable to forward port because pod is not running. Current status={phase}"
        ));
    }
    let Ok(mut upgrade) = upgrade else {
        return responses::bad_request("Upgrade request required");
    };
    let ports = match parse_ports(query) {
        Ok(ports) => ports,
        Err(message) => return responses::bad_request(&message),
    };
    let Some(protocol) = choose_protocol(headers) else {
        return responses::bad_request(&format!(
            "unable to upgrade connection: the simulator serves port-forward over {} only",
            PROTOCOLS.join(" and ")
        ));
    };
    upgrade.set_selected_protocol(HeaderValue::from_static(protocol));

    let cluster = ctx.store.cluster().to_string();
    let listening = running(&pod);
    let targets: Vec<(u16, Target)> = ports
        .iter()
        .map(|&port| {
            let program = listening
                .then(|| ctx.services.listener(&cluster, &pod, port))
                .flatten();
            let target = match program {
                Some(router) => Target::Program(router),
                None => Target::Refused(refused_message(&pod, port)),
            };
            (port, target)
        })
        .collect();
    let v5 = protocol == PROTOCOLS[0];
    let label = format!("{cluster}/{namespace}/{name}");
    let services = ctx.services.clone();
    upgrade
        .on_failed_upgrade(|err| tracing::debug!(%err, "port-forward upgrade failed"))
        .on_upgrade(move |socket| async move {
            let _open = services.forward_opened();
            tracing::debug!(pod = %label, ?ports, "port-forward opened");
            session(socket, targets, v5).await;
            tracing::debug!(pod = %label, "port-forward closed");
        })
}

fn str_at<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// Whether the pod's containers are up, so a program in it can be listening.
fn running(pod: &Value) -> bool {
    str_at(pod, "/status/phase") == "Running"
        && pod
            .pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .is_some_and(|statuses| {
                statuses
                    .iter()
                    .any(|s| s.pointer("/state/running").is_some())
            })
}

/// `ports=80,8080` (`%2C` too), repeated `ports=`/`port=`, empty pairs (`?&ports=`) skipped.
fn parse_ports(query: Option<&str>) -> Result<Vec<u16>, String> {
    let mut ports = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != "ports" && key != "port" {
            continue;
        }
        let value = value.replace("%2C", ",").replace("%2c", ",");
        for text in value.split(',').filter(|t| !t.is_empty()) {
            let port: u16 = text
                .parse()
                .map_err(|e| format!("unable to parse \"{text}\" as a port: {e}"))?;
            if port == 0 {
                return Err(format!("port \"{text}\" must be > 0"));
            }
            ports.push(port);
        }
    }
    if ports.is_empty() {
        return Err("query parameter \"port\" is required".into());
    }
    Ok(ports)
}

/// The first protocol the client offers that is served.
fn choose_protocol(headers: &HeaderMap) -> Option<&'static str> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find_map(|offered| PROTOCOLS.iter().copied().find(|p| *p == offered))
}

/// What the kubelet writes on the error channel when nothing listens on `port` in the pod
/// (kind runs containerd: its sandbox id and netns path, IPv4 then IPv6).
fn refused_message(pod: &Value, port: u16) -> String {
    let uid = str_at(pod, "/metadata/uid");
    let mut ids = IdGen::new(fnv1a(format!("sandbox/{uid}").as_bytes()));
    let sandbox = ids.hex(64);
    let netns = format!("/var/run/netns/cni-{}", ids.uid());
    format!(
        "error forwarding port {port} to pod {sandbox}, uid : failed to execute portforward in \
         network namespace \"{netns}\": failed to connect to localhost:{port} inside namespace \
         \"{sandbox}\", IPv4: dial tcp4 127.0.0.1:{port}: connect: connection refused IPv6 dial \
         tcp6 [::1]:{port}: connect: connection refused "
    )
}

/// A frame on `channel`.
fn frame(channel: u8, payload: &[u8]) -> Message {
    let mut bytes = Vec::with_capacity(payload.len() + 1);
    bytes.push(channel);
    bytes.extend_from_slice(payload);
    Message::Binary(Bytes::from(bytes))
}

/// Drive one upgraded connection until every port is done or the client goes.
async fn session(socket: WebSocket, targets: Vec<(u16, Target)>, v5: bool) {
    let (sink, mut stream) = socket.split();
    let (out, out_rx) = mpsc::channel::<Message>(64);
    let (stop, stop_rx) = oneshot::channel::<()>();
    let writer = tokio::spawn(write_loop(sink, out_rx, stop_rx));

    let mut tasks = JoinSet::new();
    let (done_tx, mut done_rx) = mpsc::channel::<()>(targets.len().max(1));
    // Per port: where the client's bytes go (None once refused, finished or half-closed).
    let mut inbound: Vec<Option<mpsc::Sender<Bytes>>> = Vec::with_capacity(targets.len());
    let mut open = 0usize;

    // Every channel opens with its port number, before anything else.
    let mut greeting = Vec::with_capacity(targets.len() * 2);
    for (i, (port, _)) in targets.iter().enumerate() {
        let data = (2 * i) as u8;
        greeting.push(frame(data, &port.to_le_bytes()));
        greeting.push(frame(data + 1, &port.to_le_bytes()));
    }
    for message in greeting {
        if out.send(message).await.is_err() {
            return;
        }
    }
    for (i, (_, target)) in targets.into_iter().enumerate() {
        let data = (2 * i) as u8;
        match target {
            Target::Refused(message) => {
                let _ = out.send(frame(data + 1, message.as_bytes())).await;
                inbound.push(None);
            }
            Target::Program(router) => {
                let (ours, theirs) = tokio::io::duplex(PIPE);
                serve_connection(router, theirs);
                let (reader, writer) = tokio::io::split(ours);
                let (tx, rx) = mpsc::channel::<Bytes>(16);
                tasks.spawn(to_program(rx, writer));
                tasks.spawn(from_program(data, reader, out.clone(), done_tx.clone()));
                inbound.push(Some(tx));
                open += 1;
            }
        }
    }
    drop(done_tx);

    let mut client_gone = false;
    while open > 0 {
        tokio::select! {
            message = stream.next() => match message {
                Some(Ok(Message::Binary(bytes))) => {
                    dispatch(&mut inbound, bytes, v5).await;
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => {
                    client_gone = true;
                    break;
                }
                // Ping/pong are answered by the WebSocket layer; text is not part of the protocol.
                Some(Ok(_)) => {}
            },
            finished = done_rx.recv() => match finished {
                Some(()) => open -= 1,
                None => break,
            },
        }
    }
    // Client gone: drop what is queued. Otherwise let the last bytes out, then close.
    if client_gone {
        let _ = stop.send(());
        tasks.abort_all();
    }
    drop(inbound);
    drop(out);
    let _ = tokio::time::timeout(FLUSH_TIMEOUT, writer).await;
    tasks.abort_all();
}

/// Hand a client frame to its port.
async fn dispatch(inbound: &mut [Option<mpsc::Sender<Bytes>>], mut bytes: Bytes, v5: bool) {
    if bytes.is_empty() {
        return;
    }
    let channel = bytes.split_to(1)[0];
    if v5 && channel == CLOSE_SIGNAL {
        // `[255, channel]`: the client will send nothing more on `channel`.
        if let Some(&closed) = bytes.first()
            && closed.is_multiple_of(2)
            && let Some(slot) = inbound.get_mut(usize::from(closed / 2))
        {
            *slot = None;
        }
        return;
    }
    if !channel.is_multiple_of(2) || bytes.is_empty() {
        return;
    }
    let index = usize::from(channel / 2);
    if let Some(Some(tx)) = inbound.get(index)
        && tx.send(bytes).await.is_err()
    {
        // The program hung up; what the client sends it now goes nowhere.
        inbound[index] = None;
    }
}

/// Client → program. Ends (and half-closes the program's input) when the port's inbound
/// channel closes.
async fn to_program(mut rx: mpsc::Receiver<Bytes>, mut writer: tokio::io::WriteHalf<DuplexStream>) {
    while let Some(bytes) = rx.recv().await {
        if writer.write_all(&bytes).await.is_err() {
            return;
        }
    }
    let _ = writer.shutdown().await;
}

/// Program → client, until the program closes the connection.
async fn from_program(
    channel: u8,
    mut reader: tokio::io::ReadHalf<DuplexStream>,
    out: mpsc::Sender<Message>,
    done: mpsc::Sender<()>,
) {
    let mut buf = vec![0u8; CHUNK + 1];
    buf[0] = channel;
    loop {
        match reader.read(&mut buf[1..]).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let message = Message::Binary(Bytes::copy_from_slice(&buf[..=n]));
                if out.send(message).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = done.send(()).await;
}

/// The only writer of the WebSocket: frames in order, then a Close. `stop` skips what is
/// still queued (the client is gone).
async fn write_loop(
    mut sink: futures::stream::SplitSink<WebSocket, Message>,
    mut out: mpsc::Receiver<Message>,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => break,
            message = out.recv() => match message {
                Some(message) => {
                    if sink.send(message).await.is_err() {
                        return;
                    }
                }
                None => break,
            },
        }
    }
    let _ = sink.send(Message::Close(None)).await;
    let _ = sink.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_parse_as_kube_rs_and_kubectl_send_them() {
        assert_eq!(parse_ports(Some("&ports=8080")), Ok(vec![8080]));
        assert_eq!(parse_ports(Some("ports=80%2C1234")), Ok(vec![80, 1234]));
        assert_eq!(parse_ports(Some("ports=80&ports=90")), Ok(vec![80, 90]));
        assert!(parse_ports(Some("&")).is_err());
        assert!(parse_ports(None).is_err());
        assert!(parse_ports(Some("ports=0")).is_err());
        assert!(parse_ports(Some("ports=http")).is_err());
    }

    #[test]
    fn the_clients_first_served_protocol_wins() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("v4.channel.k8s.io, v5.channel.k8s.io"),
        );
        assert_eq!(choose_protocol(&headers), Some("v4.channel.k8s.io"));
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("SPDY/3.1+portforward.k8s.io, v5.channel.k8s.io"),
        );
        assert_eq!(choose_protocol(&headers), Some("v5.channel.k8s.io"));
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("channel.k8s.io"),
        );
        assert_eq!(choose_protocol(&headers), None);
    }

    #[test]
    fn refusal_reads_like_the_kubelets() {
        let pod = serde_json::json!({"metadata": {"uid": "abc"}});
        let message = refused_message(&pod, 8080);
        assert!(message.starts_with("error forwarding port 8080 to pod "));
        assert!(message.contains("uid : failed to execute portforward in network namespace"));
        assert!(message.contains("connect: connection refused"));
        assert_eq!(message, refused_message(&pod, 8080));
    }
}
