//! The detail and events views' state: which object, what its source last said about it,
//! its events (newest first, bounded), and the view's scroll.

use crate::msg::cluster::{EventSummary, PodKey, ResourceMsg};
use crate::msg::inspect::{DeploymentDetail, InspectMsg, InspectNews, InspectTarget, PodDetail};

/// Events kept for one object.
pub const EVENTS_KEPT: usize = 500;

#[derive(Debug, Clone, PartialEq)]
pub struct InspectModel {
    /// Matches the source's messages; anything else is for an earlier object.
    pub id: u64,
    pub target: InspectTarget,
    pub pod: Option<PodDetail>,
    pub deployment: Option<DeploymentDetail>,
    /// Newest first.
    pub events: Vec<EventSummary>,
    pub events_synced: bool,
    pub gone: bool,
    pub trouble: Option<String>,
    pub scroll: usize,
}

impl InspectModel {
    pub fn new(id: u64, target: InspectTarget) -> InspectModel {
        InspectModel {
            id,
            target,
            pod: None,
            deployment: None,
            events: Vec::new(),
            events_synced: false,
            gone: false,
            trouble: None,
            scroll: 0,
        }
    }

    /// Folds in one message from the source (for this object only).
    pub fn apply(&mut self, msg: InspectMsg) {
        if msg.id != self.id {
            return;
        }
        match msg.news {
            InspectNews::Pod(p) => {
                self.pod = Some(*p);
                self.gone = false;
                self.trouble = None;
            }
            InspectNews::Deployment(d) => {
                self.deployment = Some(*d);
                self.gone = false;
                self.trouble = None;
            }
            InspectNews::Events(m) => self.apply_events(m),
            InspectNews::Gone => self.gone = true,
            InspectNews::Trouble(why) => self.trouble = Some(why),
        }
    }

    fn apply_events(&mut self, msg: ResourceMsg<EventSummary>) {
        match msg {
            ResourceMsg::Reset(list) => {
                self.events = list;
                self.events_synced = true;
            }
            ResourceMsg::Applied(e) => {
                let key = e.key();
                self.events.retain(|old| old.key() != key);
                self.events.push(e);
            }
            ResourceMsg::Deleted(key) => self.events.retain(|e| e.key() != key),
        }
        // Newest first; equal times keep their order.
        self.events.sort_by_key(|e| std::cmp::Reverse(e.last_seen));
        self.events.truncate(EVENTS_KEPT);
    }

    /// The object in the pane this view belongs to, to put the cursor back on it.
    pub fn pod_key(&self) -> Option<PodKey> {
        match &self.target {
            InspectTarget::Pod {
                namespace, name, ..
            } => Some((namespace.clone(), name.clone())),
            _ => None,
        }
    }
}
