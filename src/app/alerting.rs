//! Building the alert poller's sources from the config and the world on screen: Prometheus
//! and Alertmanager by URL or through a forward, and every cluster's ztunnel pods for the
//! direct-scrape fallback.

use super::forwards::ForwardUrls;
use super::world::World;
use crate::config::Config;
use crate::sources::alerts::{AlertSources, Endpoint, ZtunnelClusters};

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
