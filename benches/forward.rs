//! One port-forward against the simulator: connection setup latency (connect → first
//! response byte of a small GET) and throughput (a 64 MB download), medians; and whether
//! `kubectl port-forward` can do the same against the simulator.
//!
//! `cargo bench --bench forward`

// Tests and benchmarks may unwrap: a panic is their way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use control_room::config::ForwardConfig;
use control_room::msg::{ForwardMsg, Msg};
use control_room::sources::forward::{self, ForwardTarget};
use control_room_sim::{self as sim, SimOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// GET `path` over a fresh connection; returns (time to first byte, total bytes, total time).
async fn get(addr: std::net::SocketAddr, path: &str) -> (Duration, usize, Duration) {
    let start = Instant::now();
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut buf = vec![0u8; 1 << 20];
    let n = s.read(&mut buf).await.expect("read");
    let first = start.elapsed();
    let mut total = n;
    loop {
        let n = s.read(&mut buf).await.expect("read");
        if n == 0 {
            break;
        }
        total += n;
    }
    (first, total, start.elapsed())
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("crbench-forward-{}", std::process::id()));
        let sim = sim::start(SimOptions { state_dir: dir.clone(), ..SimOptions::default() }).await.expect("sim");
        let (kc, _) = control_room::sources::kubeconfig::load(Some(sim.kubeconfig_path())).expect("kubeconfig");
        let client = control_room::sources::kubeconfig::client(&kc, "kind-trustusbank-vendor").await.expect("client");
        let (tx, mut rx) = mpsc::channel(4096);
        let target = ForwardTarget {
            client,
            config: ForwardConfig {
                name: "mock-attacker".into(),
                cluster: "vendor".into(),
                namespace: "external-attacker".into(),
                service: Some("mock-attacker".into()),
                pod: None,
                port: 8080,
                local_port: None,
                url_path: None,
                url: None,
            },
            local_port: None,
            probe_every: None,
        };
        tokio::spawn(forward::run(target, tx, |m| Msg::Forward(0, m)));
        let addr = loop {
            if let Some(Msg::Forward(_, ForwardMsg::Listening(a))) = rx.recv().await {
                break a;
            }
        };
        // Keep the report channel drained so the forward never waits on it.
        tokio::spawn(async move { while rx.recv().await.is_some() {} });

        for _ in 0..10 {
            get(addr, "/api/exfil").await;
        }
        let setups: Vec<f64> = {
            let mut v = Vec::new();
            for _ in 0..200 {
                v.push(get(addr, "/api/exfil").await.0.as_secs_f64());
            }
            v
        };
        println!("control-room forward: connection setup (connect → first byte, small GET) median {:.2} ms over 200", median(setups) * 1e3);
        let size = 64 * 1024 * 1024;
        let mut rates = Vec::new();
        for _ in 0..5 {
            let (_, bytes, total) = get(addr, &format!("/_sim/download?bytes={size}")).await;
            assert!(bytes >= size, "short download: {bytes}");
            rates.push(bytes as f64 / total.as_secs_f64() / (1024.0 * 1024.0));
        }
        println!("control-room forward: throughput, 64 MB download                   median {:.0} MB/s over 5", median(rates));

        // kubectl port-forward speaks SPDY (or SPDY tunnelled over WebSocket) — see whether it can.
        let pods = std::process::Command::new("kubectl")
            .args(["--kubeconfig"])
            .arg(sim.kubeconfig_path())
            .args(["--context", "kind-trustusbank-vendor", "-n", "external-attacker", "port-forward", "svc/mock-attacker", "18999:8080"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn();
        match pods {
            Ok(mut child) => {
                tokio::time::sleep(Duration::from_secs(2)).await;
                let reachable = tokio::time::timeout(
                    Duration::from_secs(3),
                    tokio::net::TcpStream::connect("127.0.0.1:18999"),
                )
                .await
                .is_ok_and(|r| r.is_ok());
                let answered = if reachable {
                    tokio::time::timeout(Duration::from_secs(3), get("127.0.0.1:18999".parse().expect("addr"), "/api/exfil"))
                        .await
                        .is_ok_and(|(_, n, _)| n > 0)
                } else {
                    false
                };
                let _ = child.kill();
                let out = child.wait_with_output().ok();
                let err = out.map(|o| String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("").to_string()).unwrap_or_default();
                if answered {
                    println!("kubectl port-forward: answered (no timing taken)");
                } else {
                    println!("kubectl port-forward: cannot forward against the simulator ({err})");
                }
            }
            Err(e) => println!("kubectl port-forward: kubectl not runnable ({e})"),
        }
        sim.shutdown().await;
        let _ = std::fs::remove_dir_all(dir);
    });
}
