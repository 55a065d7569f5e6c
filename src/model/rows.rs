//! The rows of a cluster pane, in the order they are drawn — AuthorizationPolicies, then per
//! namespace its header, the deployments shown with it, its pods — with the filter applied,
//! and the pane's cursor over them. The view draws these rows; `update` moves the cursor
//! over the same ones, so what is selected is what is highlighted.
//!
//! Rows are visited, not collected: a pane of 10,000 pods costs only what is visible, and
//! whole namespaces before the first visible row are skipped.

use std::ops::ControlFlow;

use super::cluster::{ClusterModel, NamespaceCount};
use crate::msg::cluster::{DeploymentSummary, PodKey, PodSummary, PolicySummary};

/// What a row is, stable across watch updates: the selection is kept by key, not by index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RowKey {
    Policies,
    Policy(PodKey),
    Namespace(String),
    Deployment(PodKey),
    Pod(PodKey),
}

/// One row, borrowed from the model.
#[derive(Debug, Clone)]
pub enum Row<'a> {
    /// The AuthorizationPolicies header, with how many are shown.
    Policies(usize),
    Policy(&'a PolicySummary),
    /// A namespace header with the counts of the pods shown under it.
    Namespace(&'a str, NamespaceCount),
    /// A folded namespace: its one summary row.
    Folded(&'a str, NamespaceCount),
    Deployment(&'a DeploymentSummary),
    Pod(&'a PodSummary),
}

impl Row<'_> {
    pub fn key(&self) -> RowKey {
        match self {
            Row::Policies(_) => RowKey::Policies,
            Row::Policy(p) => RowKey::Policy(p.key()),
            Row::Namespace(ns, _) | Row::Folded(ns, _) => RowKey::Namespace((*ns).to_string()),
            Row::Deployment(d) => RowKey::Deployment(d.key()),
            Row::Pod(p) => RowKey::Pod(p.key()),
        }
    }
}

impl ClusterModel {
    fn shown_policies(&self) -> impl Iterator<Item = &PolicySummary> {
        self.policies
            .values()
            .filter(|p| self.filter.as_ref().is_none_or(|f| f.matches_policy(p)))
    }

    fn shown_deployments_filtered<'a>(
        &'a self,
        namespace: &'a str,
    ) -> impl Iterator<Item = &'a DeploymentSummary> + 'a {
        self.shown_deployments(namespace)
            .filter(|d| self.filter.as_ref().is_none_or(|f| f.matches_deployment(d)))
    }

    /// The pods of `namespace` that are shown (all of them, or those the filter matches).
    fn shown_pods<'a>(
        &'a self,
        namespace: &'a str,
    ) -> Box<dyn Iterator<Item = &'a PodSummary> + 'a> {
        if self.filter.is_none() {
            return Box::new(self.pods_in(namespace));
        }
        Box::new(
            self.matched
                .pods
                .range((namespace.to_string(), String::new())..)
                .take_while(move |(ns, _)| ns == namespace)
                .filter_map(|key| self.pods.get(key)),
        )
    }

    /// How many pods of `namespace` are shown.
    fn shown_count(&self, namespace: &str) -> NamespaceCount {
        match &self.filter {
            None => self.namespaces.get(namespace).cloned().unwrap_or_default(),
            Some(_) => self
                .matched
                .per_ns
                .get(namespace)
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// Calls `f(index, row)` for every row from `start` on, in order, until it breaks.
    pub fn visit_rows<'a>(
        &'a self,
        start: usize,
        mut f: impl FnMut(usize, Row<'a>) -> ControlFlow<()>,
    ) {
        let mut row = 0usize;
        let mut emit = |row: &mut usize, r: Row<'a>| -> ControlFlow<()> {
            let here = *row;
            *row += 1;
            if here >= start {
                f(here, r)
            } else {
                ControlFlow::Continue(())
            }
        };
        let policies = self.shown_policies().count();
        if policies > 0 {
            if emit(&mut row, Row::Policies(policies)).is_break() {
                return;
            }
            for p in self.shown_policies() {
                if emit(&mut row, Row::Policy(p)).is_break() {
                    return;
                }
            }
        }
        for (ns, _) in self.namespace_order() {
            let count = self.shown_count(ns);
            let deployments = self.shown_deployments_filtered(ns).count();
            if count.total == 0 && deployments == 0 {
                continue;
            }
            if self.folded(ns, &count) {
                if emit(&mut row, Row::Folded(ns, count)).is_break() {
                    return;
                }
                continue;
            }
            let ns_rows = 1 + deployments + count.total;
            // A namespace wholly before `start` is skipped without touching its pods.
            if row + ns_rows <= start {
                row += ns_rows;
                continue;
            }
            if emit(&mut row, Row::Namespace(ns, count)).is_break() {
                return;
            }
            for d in self.shown_deployments_filtered(ns) {
                if emit(&mut row, Row::Deployment(d)).is_break() {
                    return;
                }
            }
            let skip = start.saturating_sub(row);
            row += skip;
            for p in self.shown_pods(ns).skip(skip) {
                if emit(&mut row, Row::Pod(p)).is_break() {
                    return;
                }
            }
        }
    }

    /// Rows in the pane now, counted per namespace (no walk over the pods).
    pub fn row_count(&self) -> usize {
        let policies = self.shown_policies().count();
        let mut n = if policies > 0 { 1 + policies } else { 0 };
        for (ns, _) in self.namespace_order() {
            let count = self.shown_count(ns);
            let deployments = self.shown_deployments_filtered(ns).count();
            if self.folded(ns, &count) {
                n += 1;
            } else if count.total > 0 || deployments > 0 {
                n += 1 + deployments + count.total;
            }
        }
        n
    }

    /// Where `key` is, walking only the namespace it is in (whole namespaces before it are
    /// counted, not visited).
    pub fn row_index(&self, key: &RowKey) -> Option<usize> {
        let target_ns = match key {
            RowKey::Namespace(ns) => Some(ns.as_str()),
            RowKey::Deployment((ns, _)) | RowKey::Pod((ns, _)) => Some(ns.as_str()),
            RowKey::Policies | RowKey::Policy(_) => None,
        };
        let Some(target_ns) = target_ns else {
            let mut found = None;
            self.visit_rows(0, |i, r| {
                if r.key() == *key {
                    found = Some(i);
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            });
            return found;
        };
        let policies = self.shown_policies().count();
        let mut row = if policies > 0 { 1 + policies } else { 0 };
        for (ns, _) in self.namespace_order() {
            let shown = self.shown_count(ns);
            let count = shown.total;
            let deployments = self.shown_deployments_filtered(ns).count();
            if count == 0 && deployments == 0 {
                continue;
            }
            let folded = self.folded(ns, &shown);
            if ns != target_ns {
                row += if folded { 1 } else { 1 + deployments + count };
                continue;
            }
            if folded && !matches!(key, RowKey::Namespace(_)) {
                return None;
            }
            return match key {
                RowKey::Namespace(_) => Some(row),
                RowKey::Deployment((_, name)) => self
                    .shown_deployments_filtered(ns)
                    .position(|d| d.name == *name)
                    .map(|i| row + 1 + i),
                RowKey::Pod((_, name)) => self
                    .shown_pods(ns)
                    .position(|p| p.name == *name)
                    .map(|i| row + 1 + deployments + i),
                RowKey::Policies | RowKey::Policy(_) => None,
            };
        }
        None
    }

    pub fn row_at(&self, index: usize) -> Option<RowKey> {
        let mut found = None;
        self.visit_rows(index, |_, r| {
            found = Some(r.key());
            ControlFlow::Break(())
        });
        found
    }

    /// The row the cursor is on: its key and index.
    pub fn cursor_row(&self) -> Option<(RowKey, usize)> {
        let key = self.cursor.clone()?;
        let index = self.row_index(&key)?;
        Some((key, index))
    }

    /// Whether `key` is one of the rows now, cheaply (no walk over the rows).
    fn row_exists(&self, key: &RowKey) -> bool {
        let filtered = |pass: bool| self.filter.is_none() || pass;
        match key {
            RowKey::Policies => self.shown_policies().next().is_some(),
            RowKey::Policy(k) => self.policies.get(k).is_some_and(|p| {
                filtered(self.filter.as_ref().is_some_and(|f| f.matches_policy(p)))
            }),
            RowKey::Namespace(ns) => {
                self.shown_count(ns).total > 0
                    || self.shown_deployments_filtered(ns).next().is_some()
            }
            RowKey::Deployment(k) => {
                !self.folded(&k.0, &self.shown_count(&k.0))
                    && self.shown_deployments_filtered(&k.0).any(|d| d.name == k.1)
            }
            RowKey::Pod(k) => {
                self.pods.contains_key(k)
                    && filtered(self.matched.pods.contains(k))
                    && !self.folded(&k.0, &self.shown_count(&k.0))
            }
        }
    }

    /// Moves the cursor `delta` rows (clamped), and the scroll so it stays in a page.
    pub fn move_cursor(&mut self, delta: isize, page: usize) {
        let count = self.row_count();
        if count == 0 {
            self.cursor = None;
            return;
        }
        let at = match self.cursor_row() {
            Some((_, i)) => i,
            // No cursor yet: the first move lands on the first row.
            None => {
                self.place_cursor(0, page);
                return;
            }
        };
        let target = at.saturating_add_signed(delta).min(count - 1);
        self.place_cursor(target, page);
    }

    /// To the first (`end` false) or last row.
    pub fn cursor_to_end(&mut self, end: bool, page: usize) {
        let count = self.row_count();
        if count == 0 {
            self.cursor = None;
            return;
        }
        self.place_cursor(if end { count - 1 } else { 0 }, page);
    }

    fn place_cursor(&mut self, index: usize, page: usize) {
        self.cursor = self.row_at(index);
        self.cursor_hint = index;
        let page = page.max(1);
        if index < self.scroll {
            self.scroll = index;
        } else if index >= self.scroll + page {
            self.scroll = index + 1 - page;
        }
    }

    /// Puts the cursor on `key` when it is one of the rows now (a jump from the problems
    /// view); the scroll follows. False when the row is not shown (filtered out, or a
    /// deployment the pane does not list).
    pub fn select(&mut self, key: &RowKey, page: usize) -> bool {
        match self.row_index(key) {
            Some(i) => {
                self.place_cursor(i, page);
                true
            }
            None => false,
        }
    }

    /// Before the cursor's own object goes: remember where it stood, so the cursor can
    /// move to its neighbour.
    pub(super) fn note_cursor_before(&mut self, key: &RowKey) {
        if self.cursor.as_ref() == Some(key)
            && let Some(i) = self.row_index(key)
        {
            self.cursor_hint = i;
        }
    }

    /// After a change: a cursor whose row went away moves to the row now where it stood.
    pub(super) fn repair_cursor(&mut self) {
        let Some(key) = self.cursor.clone() else {
            return;
        };
        if self.row_exists(&key) {
            return;
        }
        // A pod or deployment folded away: onto its namespace's summary row.
        if let RowKey::Pod((ns, _)) | RowKey::Deployment((ns, _)) = &key {
            let shown = self.shown_count(ns);
            if shown.total > 0 && self.folded(ns, &shown) {
                self.cursor = Some(RowKey::Namespace(ns.clone()));
                return;
            }
        }
        let count = self.row_count();
        self.cursor = if count == 0 {
            None
        } else {
            self.row_at(self.cursor_hint.min(count - 1))
        };
    }

    /// The first row to draw in a pane of `height` rows so the cursor is visible.
    pub fn visible_from(&self, height: usize) -> usize {
        let height = height.max(1);
        // Rows that went away must not leave the pane half empty.
        let scroll = self.scroll.min(self.row_count().saturating_sub(height));
        match self.cursor_row() {
            Some((_, i)) if i < scroll => i,
            Some((_, i)) if i >= scroll + height => i + 1 - height,
            _ => scroll,
        }
    }
}
