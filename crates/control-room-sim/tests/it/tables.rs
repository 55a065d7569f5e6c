//! `kubectl get` prints what it prints against a real API server: the server-side Tables'
//! columns (wide ones with `-o wide`), rows computed from the objects, labels from the rows'
//! metadata, and `get -w` streaming rows. Skipped (visibly) only without kubectl.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::{Kubectl, columns, row};

const VENDOR: &str = "kind-trustusbank-vendor";
const VENDOR_NS: &str = "trustusbank-bank-vendors";

fn header(out: &str) -> Vec<String> {
    columns(out.lines().next().unwrap_or_default())
}

fn cells(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

fn currency_pod(k: &Kubectl) -> Value {
    let (pods, _) = k.store("vendor").list("v1", "Pod", Some(VENDOR_NS));
    pods.into_iter()
        .find(|p| p["metadata"]["labels"]["app"] == "currency-converter")
        .expect("the converter's pod")
}

#[tokio::test]
async fn pods_and_workloads_print_the_real_columns() {
    let Some(k) = Kubectl::start().await else {
        return;
    };
    let out = k.ok(VENDOR, &["get", "pods", "-n", VENDOR_NS]).await;
    assert_eq!(
        header(&out),
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "{out}"
    );
    let pod = currency_pod(&k);
    let name = pod["metadata"]["name"].as_str().unwrap();
    let line = row(&out, name).unwrap_or_else(|| panic!("{out}"));
    assert_eq!(cells(line)[..4], [name, "1/1", "Running", "0"], "{line}");

    let wide = k
        .ok(VENDOR, &["get", "pods", "-n", VENDOR_NS, "-o", "wide"])
        .await;
    assert_eq!(
        header(&wide),
        [
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "IP",
            "NODE",
            "NOMINATED NODE",
            "READINESS GATES"
        ],
        "{wide}"
    );
    let line = cells(row(&wide, name).unwrap_or_else(|| panic!("{wide}")));
    assert_eq!(line[5], pod["status"]["podIP"], "{wide}");
    assert_eq!(line[6], pod["spec"]["nodeName"], "{wide}");
    assert_eq!(line[7..], ["<none>", "<none>"], "{wide}");

    let deploy = k
        .ok(VENDOR, &["get", "deploy", "-n", VENDOR_NS, "-o", "wide"])
        .await;
    assert_eq!(
        header(&deploy),
        [
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ],
        "{deploy}"
    );
    let line = cells(row(&deploy, "currency-converter").unwrap_or_else(|| panic!("{deploy}")));
    assert_eq!(line[1..4], ["1/1", "1", "1"], "{deploy}");
    assert_eq!(
        line[5..],
        [
            "currency-converter",
            "currency-converter:1.0.0",
            "app=currency-converter"
        ],
        "{deploy}"
    );

    let rs = k.ok(VENDOR, &["get", "rs", "-n", VENDOR_NS]).await;
    assert_eq!(
        header(&rs),
        ["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
        "{rs}"
    );
    let rs_name = pod["metadata"]["ownerReferences"][0]["name"]
        .as_str()
        .unwrap();
    let line = cells(row(&rs, rs_name).unwrap_or_else(|| panic!("{rs}")));
    assert_eq!(line[1..4], ["1", "1", "1"], "{rs}");

    let ds = k.ok(VENDOR, &["get", "ds", "-n", "istio-system"]).await;
    assert_eq!(
        header(&ds),
        [
            "NAME",
            "DESIRED",
            "CURRENT",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "NODE SELECTOR",
            "AGE"
        ],
        "{ds}"
    );
    let line = cells(row(&ds, "ztunnel").unwrap_or_else(|| panic!("{ds}")));
    assert_eq!(line[1..7], ["3", "3", "3", "3", "3", "<none>"], "{ds}");

    // Labels come from the rows' PartialObjectMetadata.
    let labelled = k
        .ok(VENDOR, &["get", "pods", "-n", VENDOR_NS, "--show-labels"])
        .await;
    assert_eq!(header(&labelled).last().map(String::as_str), Some("LABELS"));
    assert!(
        row(&labelled, name).is_some_and(|l| l.contains("app=currency-converter")),
        "{labelled}"
    );
}

#[tokio::test]
async fn services_events_nodes_namespaces_and_custom_resources() {
    let Some(k) = Kubectl::start().await else {
        return;
    };
    let svc = k.ok(VENDOR, &["get", "svc", "-A", "-o", "wide"]).await;
    assert_eq!(
        header(&svc),
        [
            "NAMESPACE",
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE",
            "SELECTOR"
        ],
        "{svc}"
    );
    let eastwest = svc
        .lines()
        .find(|l| l.starts_with("istio-eastwest "))
        .unwrap_or_else(|| panic!("{svc}"));
    let line = cells(eastwest);
    assert_eq!(line[2], "NodePort", "{eastwest}");
    assert_eq!(line[4], "<none>", "{eastwest}");
    assert_eq!(line[5], "15008:30015/TCP,15012:30016/TCP", "{eastwest}");
    assert_eq!(line[7], "app=istio-eastwest", "{eastwest}");
    let kubernetes = cells(row(&svc, "default").unwrap_or_else(|| panic!("{svc}")));
    assert_eq!(
        kubernetes[1..6],
        ["kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP"]
    );

    let nodes = k.ok(VENDOR, &["get", "nodes", "-o", "wide"]).await;
    assert_eq!(
        header(&nodes),
        [
            "NAME",
            "STATUS",
            "ROLES",
            "AGE",
            "VERSION",
            "INTERNAL-IP",
            "EXTERNAL-IP",
            "OS-IMAGE",
            "KERNEL-VERSION",
            "CONTAINER-RUNTIME"
        ],
        "{nodes}"
    );
    let cp =
        cells(row(&nodes, "trustusbank-vendor-control-plane").unwrap_or_else(|| panic!("{nodes}")));
    assert_eq!(cp[1..3], ["Ready", "control-plane"], "{nodes}");
    assert_eq!(cp[4..7], ["v1.33.1", "172.22.0.8", "<none>"], "{nodes}");
    let worker =
        cells(row(&nodes, "trustusbank-vendor-worker").unwrap_or_else(|| panic!("{nodes}")));
    assert_eq!(worker[2], "<none>", "{nodes}");

    let ns = k.ok(VENDOR, &["get", "ns"]).await;
    assert_eq!(header(&ns), ["NAME", "STATUS", "AGE"], "{ns}");
    assert_eq!(
        cells(row(&ns, VENDOR_NS).unwrap_or_else(|| panic!("{ns}")))[1],
        "Active"
    );

    let events = k
        .ok(VENDOR, &["get", "events", "-n", "external-attacker"])
        .await;
    assert_eq!(
        header(&events),
        ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        "{events}"
    );
    assert!(
        events.lines().any(|l| l.contains(" Normal ")
            && l.contains(" Scheduled ")
            && l.contains(" pod/mock-attacker-")),
        "{events}"
    );
    let wide = k
        .ok(
            VENDOR,
            &["get", "events", "-n", "external-attacker", "-o", "wide"],
        )
        .await;
    assert_eq!(
        header(&wide),
        [
            "LAST SEEN",
            "TYPE",
            "REASON",
            "OBJECT",
            "SUBOBJECT",
            "SOURCE",
            "MESSAGE",
            "FIRST SEEN",
            "COUNT",
            "NAME"
        ],
        "{wide}"
    );

    // Custom resources print their CRDs' columns.
    let gateways = k.ok(VENDOR, &["get", "gtw", "-n", "istio-eastwest"]).await;
    assert_eq!(
        header(&gateways),
        ["NAME", "CLASS", "ADDRESS", "PROGRAMMED", "AGE"],
        "{gateways}"
    );
    let store = k.store("vendor");
    store
        .create(
            json!({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
                       "metadata": {"name": "allow-gw", "namespace": VENDOR_NS},
                       "spec": {"action": "ALLOW"}}),
        )
        .unwrap();
    let policies = k.ok(VENDOR, &["get", "ap", "-n", VENDOR_NS]).await;
    assert_eq!(header(&policies), ["NAME", "ACTION", "AGE"], "{policies}");
    assert_eq!(
        cells(row(&policies, "allow-gw").unwrap_or_else(|| panic!("{policies}")))[1],
        "ALLOW"
    );
}

#[tokio::test]
async fn get_watch_prints_table_rows_as_pods_change() {
    let Some(k) = Kubectl::start().await else {
        return;
    };
    let mut child = k
        .command(VENDOR, &["get", "pods", "-w", "-n", "external-attacker"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kubectl -w starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut next_line = async || -> String {
        match tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            other => panic!("no line from kubectl -w: {other:?}"),
        }
    };
    let head = next_line().await;
    assert_eq!(
        columns(&head),
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    );
    let first = next_line().await;
    assert!(first.starts_with("mock-attacker-"), "{first}");
    assert_eq!(cells(&first)[1..4], ["1/1", "Running", "0"], "{first}");

    let store = k.store("vendor");
    k.until("kubectl's watch", async || store.active_watches() > 0)
        .await;
    store
        .create(json!({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": "visitor", "namespace": "external-attacker"},
                       "spec": {"containers": [{"name": "c", "image": "mock-attacker:1.0.0"}]},
                       "status": {"phase": "Pending"}}))
        .unwrap();
    // The new pod's rows as the scheduler and kubelet move it on, never a header again.
    let mut seen = Vec::new();
    while !seen.iter().any(|s: &String| s == "Running") {
        let line = next_line().await;
        assert!(line.starts_with("visitor "), "{line}");
        seen.push(cells(&line)[2].to_string());
    }
    assert_eq!(
        seen.first().map(String::as_str),
        Some("Pending"),
        "{seen:?}"
    );
    assert!(seen.contains(&"ContainerCreating".to_string()), "{seen:?}");
    child.kill().await.expect("kill kubectl");
    let _ = child.wait().await;
}
