//! The watch history of one cluster: the last N write events, contiguous by resourceVersion,
//! so "everything after version V" is an index computation.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::store::KindId;
use crate::store::stored::Stored;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventType {
    Added,
    Modified,
    Deleted,
}

/// One entry of the watch history. `prev` is the state before a modification, so a filtered
/// watcher can tell "stopped matching" (sent as DELETED) from "never matched".
#[derive(Debug)]
pub(crate) struct Event {
    pub rv: u64,
    pub kind: KindId,
    pub ty: EventType,
    pub object: Arc<Stored>,
    pub prev: Option<Arc<Stored>>,
}

/// A watcher asked for history the store does not hold: older than the window, or newer than
/// anything written (a client remembering a previous run of the simulator). Both answer 410 so
/// clients relist instead of waiting for versions that will never mean what they think.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expired {
    pub requested: u64,
    pub oldest: u64,
    pub newest: u64,
}

/// Every write appends exactly one event, so `events[i].rv == compacted_through + 1 + i`.
pub(crate) struct History {
    events: VecDeque<Arc<Event>>,
    window: usize,
    /// Every event with `rv <= compacted_through` has left the history.
    compacted_through: u64,
}

impl History {
    pub fn new(window: usize) -> Self {
        Self {
            events: VecDeque::new(),
            window,
            compacted_through: 0,
        }
    }

    pub fn push(&mut self, event: Event) {
        self.events.push_back(Arc::new(event));
        while self.events.len() > self.window {
            self.events.pop_front();
            self.compacted_through += 1;
        }
    }

    /// Drop everything up to `current`, as etcd compaction does.
    pub fn compact(&mut self, current: u64) {
        self.events.clear();
        self.compacted_through = current;
    }

    /// Whether a watch from `rv` can be served when the store is at `current`.
    pub fn check(&self, rv: u64, current: u64) -> Result<(), Expired> {
        if rv < self.compacted_through || rv > current {
            Err(Expired {
                requested: rv,
                oldest: self.compacted_through,
                newest: current,
            })
        } else {
            Ok(())
        }
    }

    /// Up to `max` events with `rv > after`, oldest first.
    pub fn after(&self, after: u64, max: usize, current: u64) -> Result<Vec<Arc<Event>>, Expired> {
        self.check(after, current)?;
        let start = usize::try_from(after - self.compacted_through).unwrap_or(usize::MAX);
        if start >= self.events.len() {
            return Ok(Vec::new());
        }
        let end = start.saturating_add(max).min(self.events.len());
        Ok(self.events.range(start..end).cloned().collect())
    }
}
