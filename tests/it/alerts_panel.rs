//! The alert panel in the real app, headless, fed by its own poller from a Prometheus that
//! misbehaves on cue: a good answer, then an HTML error page, a `status: error` envelope,
//! truncated JSON and a 30 s hang. Each time the panel names the problem, keeps the last good
//! alerts on screen marked stale with ztunnel's direct scrape below them, and recovers when
//! Prometheus does. No panic anywhere.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::support::{self, Harness};

const GOOD: usize = 0;
const HTML: usize = 1;
const ERROR: usize = 2;
const TRUNCATED: usize = 3;
const HANG: usize = 4;

const PRINCIPAL: &str = "spiffe://cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter";

async fn alerts(State(mode): State<Arc<AtomicUsize>>) -> Response {
    let json = [("content-type", "application/json")];
    match mode.load(Ordering::SeqCst) {
        GOOD => {
            let active_at = (chrono::Utc::now() - chrono::Duration::seconds(12)).to_rfc3339();
            (
                json,
                format!(
                    r#"{{"status":"success","data":{{"alerts":[{{"labels":{{"alertname":"IstioAuthZDeny","cluster":"trustusbank-vendor","severity":"critical","source_principal":"{PRINCIPAL}","source_workload":"currency-converter"}},"annotations":{{"summary":"Istio AuthZ denied a connection"}},"state":"firing","activeAt":"{active_at}","value":"6.6666666667e-03"}}]}}}}"#
                ),
            )
                .into_response()
        }
        HTML => (
            StatusCode::BAD_GATEWAY,
            [("content-type", "text/html")],
            "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
        )
            .into_response(),
        ERROR => (
            StatusCode::SERVICE_UNAVAILABLE,
            json,
            r#"{"status":"error","errorType":"unavailable","error":"rule manager is not ready"}"#,
        )
            .into_response(),
        TRUNCATED => (json, r#"{"status":"success","data":{"alerts":[{"labels":"#).into_response(),
        _ => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            (json, r#"{"status":"success","data":{"alerts":[]}}"#).into_response()
        }
    }
}

/// Alertmanager v2: one alert Prometheus does not report (another Prometheus fed it).
async fn alertmanager() -> Response {
    let starts = (chrono::Utc::now() - chrono::Duration::seconds(300)).to_rfc3339();
    (
        [("content-type", "application/json")],
        format!(
            r#"[{{"labels":{{"alertname":"ZtunnelCertExpiring","cluster":"trustusbank-bank","severity":"warning"}},"annotations":{{"summary":"workload certificate expires soon"}},"startsAt":"{starts}","endsAt":"0001-01-01T00:00:00Z","updatedAt":"{starts}","fingerprint":"a1b2","status":{{"state":"active","silencedBy":[],"inhibitedBy":[]}},"receivers":[{{"name":"soc"}}]}}]"#
        ),
    )
        .into_response()
}

async fn range() -> Response {
    let now = chrono::Utc::now().timestamp();
    (
        [("content-type", "application/json")],
        format!(
            r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{}},"values":[[{},"0"],[{},"0.5"],[{},"NaN"]]}}]}}}}"#,
            now - 20,
            now - 10,
            now
        ),
    )
        .into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panel_survives_a_misbehaving_prometheus() {
    let mode = Arc::new(AtomicUsize::new(GOOD));
    let router = Router::new()
        .route("/api/v1/alerts", get(alerts))
        .route("/api/v1/query_range", get(range))
        .route("/api/v2/alerts", get(alertmanager))
        .with_state(mode.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let (work, sim) = support::start().await;
    let mut config = support::config_in(work.path());
    config.alerts.url = Some(url.clone());
    config.alerts.alertmanager_url = Some(url.clone());
    config.alerts.poll_secs = 1;
    config.alerts.timeout_secs = 1;
    let mut h = Harness::on_sim(sim, &config).await;

    let screen = h
        .until(Duration::from_secs(10), "the firing alerts", |m, s| {
            s.contains("IstioAuthZDeny")
                && s.contains("ZtunnelCertExpiring")
                && s.contains("last answer")
                && !m.alerts.deny_rate.is_empty()
        })
        .await;
    assert!(screen.contains(PRINCIPAL), "{screen}");
    assert!(
        screen.contains("ZtunnelCertExpiring") && screen.contains("firing 5m"),
        "Alertmanager's alert is listed too: {screen}"
    );
    assert!(screen.contains("2 firing"), "{screen}");
    assert!(
        screen.contains("firing 1"),
        "how long it has fired: {screen}"
    );
    assert!(!screen.contains("stale"), "{screen}");
    assert!(
        h.app.model.alerts.deny_rate.contains(&0.5),
        "{:?}",
        h.app.model.alerts.deny_rate
    );

    for (bad, says) in [
        (HTML, "HTML"),
        (ERROR, "rule manager is not ready"),
        (TRUNCATED, "JSON"),
        (HANG, "timed out"),
    ] {
        mode.store(bad, Ordering::SeqCst);
        let screen = h
            .until(Duration::from_secs(10), says, |_, s| {
                s.contains(says) && s.contains("stale") && s.contains("direct scrape")
            })
            .await;
        assert!(
            screen.contains("IstioAuthZDeny") && screen.contains(PRINCIPAL),
            "the last good alert stays on screen: {screen}"
        );
        assert!(screen.contains('✗'), "{screen}");
        mode.store(GOOD, Ordering::SeqCst);
        h.until(Duration::from_secs(40), "recovery", |_, s| {
            s.contains("last answer")
                && !s.contains("stale")
                && !s.contains(says)
                && !s.contains("direct scrape")
        })
        .await;
    }
    h.shutdown().await;
}

/// The poller keeps its connection to Prometheus between polls; when the pod behind the
/// forward is replaced, the panel answers again from the new pod within a few polls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panel_reads_the_new_prometheus_pod_after_the_old_one_is_deleted() {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, DeleteParams};

    let (work, sim) = support::start().await;
    let bank = support::client(&sim, "bank").await;
    let mut config = support::config_in(work.path());
    config.alerts.poll_secs = 1;
    config.alerts.timeout_secs = 2;
    let mut h = Harness::on_sim(sim, &config).await;
    h.until(Duration::from_secs(15), "Prometheus answering", |m, _| {
        m.alerts.prometheus.healthy() && m.alerts.rounds >= 2
    })
    .await;

    let old = support::pod_of(h.sim(), "bank", "trustusbank-observability", "prometheus");
    let pods: Api<Pod> = Api::namespaced(bank, "trustusbank-observability");
    pods.delete(&old, &DeleteParams::default())
        .await
        .expect("delete the Prometheus pod");
    // Answers count once the old pod is gone from the store: nothing can come from it then.
    let store = h.sim().store("bank").expect("bank's store");
    h.until(Duration::from_secs(30), "the old pod gone", |_, _| {
        let (pods, _) = store.list("v1", "Pod", Some("trustusbank-observability"));
        pods.iter().all(|p| p["metadata"]["name"] != old.as_str())
    })
    .await;
    let gone = chrono::Utc::now();
    h.until(
        Duration::from_secs(30),
        "an answer from the new pod",
        |m, _| {
            m.alerts.prometheus.healthy()
                && m.alerts.prometheus.last_ok.is_some_and(|at| at > gone)
                && !m.alerts.stale(m.now)
        },
    )
    .await;
    let new = support::pod_of(h.sim(), "bank", "trustusbank-observability", "prometheus");
    assert_ne!(new, old);
}
