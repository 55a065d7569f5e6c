//! The links pane: every port-forward the tool keeps open, where it points, and whether
//! what is behind it answers.

use std::net::SocketAddr;

use chrono::{DateTime, FixedOffset};

use crate::config::ForwardConfig;
use crate::msg::forward::ForwardMsg;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardState {
    Starting,
    Listening,
    /// The local port could not be bound; the forward retries.
    Failed,
    /// A direct URL from the config: nothing to forward.
    Direct,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardRow {
    pub name: String,
    pub cluster: String,
    /// `svc/namespace/name:port` or `pod/namespace/name:port`.
    pub target: String,
    pub url_path: String,
    pub direct_url: Option<String>,
    pub local: Option<SocketAddr>,
    pub state: ForwardState,
    pub active: usize,
    pub connections: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// The pod the latest connection went to.
    pub pod: Option<String>,
    pub last_error: Option<(DateTime<FixedOffset>, String)>,
    pub probe: Option<(DateTime<FixedOffset>, Result<u16, String>)>,
}

impl ForwardRow {
    pub fn from_config(f: &ForwardConfig) -> ForwardRow {
        let (kind, name) = match (&f.service, &f.pod) {
            (Some(s), _) => ("svc", s.as_str()),
            (None, Some(p)) => ("pod", p.as_str()),
            (None, None) => ("url", ""),
        };
        ForwardRow {
            name: f.name.clone(),
            cluster: f.cluster.clone(),
            target: format!("{kind}/{}/{name}:{}", f.namespace, f.port),
            url_path: f.url_path.clone().unwrap_or_default(),
            direct_url: f.url.clone(),
            local: None,
            state: if f.url.is_some() {
                ForwardState::Direct
            } else {
                ForwardState::Starting
            },
            active: 0,
            connections: 0,
            bytes_up: 0,
            bytes_down: 0,
            pod: None,
            last_error: None,
            probe: None,
        }
    }

    /// Folds one report of the forward into the row.
    pub fn apply(&mut self, msg: ForwardMsg, now: DateTime<FixedOffset>) {
        match msg {
            ForwardMsg::Listening(addr) => {
                self.local = Some(addr);
                self.state = ForwardState::Listening;
                self.last_error = None;
            }
            ForwardMsg::BindFailed(e) => {
                self.state = ForwardState::Failed;
                self.last_error = Some((now, e));
            }
            ForwardMsg::Opened { pod } => {
                self.active += 1;
                self.connections += 1;
                self.pod = Some(pod);
            }
            ForwardMsg::Closed { up, down } => {
                self.active = self.active.saturating_sub(1);
                self.bytes_up += up;
                self.bytes_down += down;
            }
            ForwardMsg::Failed { opened, error } => {
                if opened {
                    self.active = self.active.saturating_sub(1);
                }
                self.last_error = Some((now, error));
            }
            ForwardMsg::Probe(result) => self.probe = Some((now, result)),
        }
    }

    /// Where a browser (or the tool's own HTTP) reaches this endpoint.
    pub fn url(&self) -> Option<String> {
        if let Some(url) = &self.direct_url {
            return Some(url.clone());
        }
        self.local
            .map(|addr| format!("http://{addr}{}", self.url_path))
    }

    /// The base URL without the link's path, for the tool's own requests.
    pub fn base_url(&self) -> Option<String> {
        self.direct_url
            .clone()
            .or_else(|| self.local.map(|addr| format!("http://{addr}")))
    }
}
