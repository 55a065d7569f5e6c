//! Building the alert poller's sources from the config and the world on screen: Prometheus
//! and Alertmanager by URL or through a forward, and every cluster's ztunnel pods for the
//! direct-scrape fallback.

use std::time::Duration;

use super::forwards::ForwardUrls;
use super::status::{AlertSourceStatus, AlertStatus};
use super::world::World;
use crate::config::Config;
use crate::model::alerts::{AlertRow, AlertsModel};
use crate::sources::alerts::{AlertSources, Endpoint, Poller, ZtunnelClusters};
use crate::sources::clock;

fn endpoint(url: Option<&String>, forward: Option<&String>, urls: &ForwardUrls) -> Endpoint {
    if let Some(url) = url {
        return Endpoint::Url(url.clone());
    }
    match forward.filter(|f| !f.is_empty()) {
        Some(name) => match urls.get(name) {
            Some(url) => Endpoint::Forward {
                name: name.clone(),
                url,
            },
            None => Endpoint::None,
        },
        None => Endpoint::None,
    }
}

pub fn sources(world: &World, config: &Config, urls: &ForwardUrls) -> AlertSources {
    let alerts = &config.alerts;
    AlertSources {
        prometheus: endpoint(alerts.url.as_ref(), Some(&alerts.forward), urls),
        alertmanager: endpoint(
            alerts.alertmanager_url.as_ref(),
            alerts.alertmanager_forward.as_ref(),
            urls,
        ),
        config: alerts.clone(),
        ztunnel: Some(ZtunnelClusters {
            kubeconfig: world.kubeconfig.clone(),
            clusters: world
                .clusters
                .iter()
                .map(|c| (c.name.clone(), c.context.clone()))
                .collect(),
        }),
        watched_namespaces: vec![config.demo.attacker.namespace.clone()],
    }
}

/// One round of the panel's poller, for `control-room status`: waits for the forwards it
/// needs, reads once, and returns what the panel would show.
pub async fn snapshot(
    world: &World,
    config: &Config,
    urls: &ForwardUrls,
) -> (Vec<AlertStatus>, AlertSourceStatus) {
    let timeout = Duration::from_secs(config.alerts.timeout_secs);
    let mut poller = Poller::new(sources(world, config, urls));
    poller.wait_for_forwards(timeout).await;
    let mut model = AlertsModel::default();
    let now = clock::now();
    model.apply(poller.sources_msg(), now);
    for msg in poller.poll().await {
        model.apply(msg, now);
    }
    let alerts = model.alerts.iter().map(status_of).collect();
    let source = AlertSourceStatus {
        prometheus: model.prometheus.describe.clone(),
        error: model
            .prometheus
            .error
            .as_ref()
            .map(|(_, e)| e.clone())
            .or_else(|| {
                model
                    .alertmanager
                    .error
                    .as_ref()
                    .map(|(_, e)| format!("alertmanager: {e}"))
            }),
        ztunnel_denies: model.deny_counters.clone(),
    };
    (alerts, source)
}

fn status_of(a: &AlertRow) -> AlertStatus {
    AlertStatus {
        name: a.name.clone(),
        state: a.state.as_str().to_string(),
        labels: a.labels.clone(),
        active_at: a.active_at,
    }
}
