//! Server-side printing: the `meta.k8s.io` Table a real API server answers when a client's
//! `Accept` asks for `application/json;as=Table;g=meta.k8s.io;v=v1` (kubectl get, k9s), for
//! lists, single objects and every event of a watch.
//!
//! Which columns a kind prints, and how each cell is computed, is in [`pods`] and [`kinds`];
//! this module negotiates the answer, honours `includeObject` (`Metadata` by default: each
//! row carries a `PartialObjectMetadata`, which is how `--show-labels` and `-L` work) and
//! shapes the JSON exactly as apimachinery does, `columnDefinitions` dropped after the first
//! event of a watch as the real watch encoder drops them.

mod custom;
mod format;
mod kinds;
mod pods;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::api::query::Query;
use crate::store::stored::{KindInfo, Stored};

const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of a name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// One `columnDefinitions` entry. `priority: 1` columns only show with `-o wide`.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub ty: &'static str,
    pub format: &'static str,
    pub description: &'static str,
    pub priority: u8,
}

impl Column {
    pub const fn new(name: &'static str, ty: &'static str, description: &'static str) -> Self {
        Self {
            name,
            ty,
            format: "",
            description,
            priority: 0,
        }
    }

    pub const fn wide(name: &'static str, ty: &'static str, description: &'static str) -> Self {
        Self {
            priority: 1,
            ..Self::new(name, ty, description)
        }
    }

    pub const fn name() -> Self {
        Self {
            format: "name",
            ..Self::new("Name", "string", NAME_DESCRIPTION)
        }
    }

    pub const fn age() -> Self {
        Self::new("Age", "string", AGE_DESCRIPTION)
    }

    /// A CRD's Age column is typed `date`; its cell is printed the same way.
    pub const fn crd_age() -> Self {
        Self::new("Age", "date", AGE_DESCRIPTION)
    }

    fn to_json(self) -> Value {
        json!({"name": self.name, "type": self.ty, "format": self.format,
               "description": self.description, "priority": self.priority})
    }
}

/// One row before it is given its object.
pub struct Row {
    pub cells: Vec<Value>,
    /// `Completed` for pods that finished, as the pod printer marks them.
    pub conditions: Option<Value>,
}

type RowFn = fn(&Value, DateTime<Utc>) -> Row;

/// How a kind's rows are printed: a built-in printer, or its CRD's printer columns.
enum Printer {
    Builtin(&'static [Column], RowFn),
    Custom(&'static [crate::store::crds::PrinterColumn]),
}

impl Printer {
    fn columns(&self) -> Vec<Column> {
        match self {
            Self::Builtin(columns, _) => columns.to_vec(),
            Self::Custom(crd) => custom::columns(crd),
        }
    }

    fn row(&self, obj: &Value, now: DateTime<Utc>) -> Row {
        match self {
            Self::Builtin(_, row) => row(obj, now),
            Self::Custom(crd) => custom::row(obj, crd, now),
        }
    }
}

/// The printer of a kind.
fn printer(api_version: &str, kind: &str) -> Printer {
    let builtin = |columns, row| Printer::Builtin(columns, row);
    match (api_version, kind) {
        ("v1", "Pod") => builtin(pods::COLUMNS, pods::row),
        ("v1", "Service") => builtin(kinds::SERVICE, kinds::service),
        ("v1", "Event") => builtin(kinds::EVENT, kinds::event),
        ("v1", "Node") => builtin(kinds::NODE, kinds::node),
        ("v1", "Namespace") => builtin(kinds::NAMESPACE, kinds::namespace),
        ("v1", "ConfigMap") => builtin(kinds::CONFIG_MAP, kinds::config_map),
        ("v1", "Secret") => builtin(kinds::SECRET, kinds::secret),
        ("v1", "ServiceAccount") => builtin(kinds::SERVICE_ACCOUNT, kinds::service_account),
        ("apps/v1", "Deployment") => builtin(kinds::DEPLOYMENT, kinds::deployment),
        ("apps/v1", "ReplicaSet") => builtin(kinds::REPLICA_SET, kinds::replica_set),
        ("apps/v1", "DaemonSet") => builtin(kinds::DAEMON_SET, kinds::daemon_set),
        ("discovery.k8s.io/v1", "EndpointSlice") => {
            builtin(kinds::ENDPOINT_SLICE, kinds::endpoint_slice)
        }
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition") => builtin(kinds::CRD, kinds::crd),
        _ => match crate::store::crds::printer_columns(api_version, kind) {
            Some(crd) => Printer::Custom(crd),
            None => builtin(kinds::DEFAULT, kinds::default),
        },
    }
}

/// What each row carries besides its cells (`?includeObject=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    None,
    Metadata,
    Object,
}

/// A Table answer was negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableOptions {
    /// `meta.k8s.io/v1` or `meta.k8s.io/v1beta1`, whichever the client preferred.
    pub api_version: &'static str,
    pub include: Include,
}

/// Whether the client wants a Table: the first media range of `Accept` the server can serve
/// decides. `Ok(None)` means the plain object or list; `Err` a Bad Request message.
pub fn negotiate(accept: Option<&str>, query: &Query) -> Result<Option<TableOptions>, String> {
    let Some(api_version) = accept.and_then(table_version) else {
        return Ok(None);
    };
    let include = match query.get("includeObject") {
        None | Some("" | "Metadata") => Include::Metadata,
        Some("None") => Include::None,
        Some("Object") => Include::Object,
        Some(other) => {
            return Err(format!(
                "Unable to convert to Table as requested: includeObject: Unsupported value: {other:?}: supported values: \"Metadata\", \"None\", \"Object\""
            ));
        }
    };
    Ok(Some(TableOptions {
        api_version,
        include,
    }))
}

/// The Table version the first servable range asks for, or None when that range is plain
/// JSON (or nothing servable is asked for at all, which is answered plainly too).
fn table_version(accept: &str) -> Option<&'static str> {
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let params: Vec<(String, String)> = parts
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let param = |k: &str| {
            params
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        if !matches!(media.as_str(), "application/json" | "application/*" | "*/*") {
            continue;
        }
        match param("as") {
            None => return None,
            Some("Table") if param("g") == Some("meta.k8s.io") => match param("v") {
                Some("v1") => return Some("meta.k8s.io/v1"),
                Some("v1beta1") => return Some("meta.k8s.io/v1beta1"),
                _ => continue,
            },
            // PartialObjectMetadata and other transformations are not served; a client
            // that asks for them lists a plain fallback after them.
            Some(_) => continue,
        }
    }
    None
}

/// A Table of `items` (a list page or a single object). `headers` false drops the column
/// definitions, as in every watch event after the first.
pub fn table_json(
    kind: &KindInfo,
    items: &[&Arc<Stored>],
    metadata: &Value,
    opts: TableOptions,
    headers: bool,
    now: DateTime<Utc>,
) -> String {
    let printer = printer(&kind.api_version, &kind.kind);
    let mut out = String::with_capacity(256 + items.len() * 512);
    out.push_str("{\"kind\":\"Table\",\"apiVersion\":");
    out.push_str(&Value::from(opts.api_version).to_string());
    out.push_str(",\"metadata\":");
    out.push_str(&metadata.to_string());
    out.push_str(",\"columnDefinitions\":");
    if headers {
        let defs: Vec<Value> = printer.columns().iter().map(|c| c.to_json()).collect();
        out.push_str(&Value::Array(defs).to_string());
    } else {
        out.push_str("null");
    }
    out.push_str(",\"rows\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let object: Value = serde_json::from_str(&item.body).unwrap_or(Value::Null);
        let row = printer.row(&object, now);
        out.push_str("{\"cells\":");
        out.push_str(&Value::Array(row.cells).to_string());
        if let Some(conditions) = row.conditions {
            out.push_str(",\"conditions\":");
            out.push_str(&conditions.to_string());
        }
        out.push_str(",\"object\":");
        match opts.include {
            Include::None => out.push_str("null"),
            Include::Object => out.push_str(&item.typed_json()),
            Include::Metadata => {
                let partial = json!({
                    "kind": "PartialObjectMetadata",
                    "apiVersion": opts.api_version,
                    "metadata": object.get("metadata").cloned().unwrap_or(json!({})),
                });
                out.push_str(&partial.to_string());
            }
        }
        out.push('}');
    }
    out.push_str("]}");
    out
}

/// The Table a watch sends in place of a BOOKMARK's object: no rows, just the version.
pub fn bookmark_json(opts: TableOptions, metadata: &Value) -> String {
    json!({"kind": "Table", "apiVersion": opts.api_version, "metadata": metadata,
           "columnDefinitions": null, "rows": []})
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECTL: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

    fn q(raw: &str) -> Query {
        Query::parse(Some(raw)).unwrap()
    }

    #[test]
    fn negotiates_what_kubectl_and_others_ask_for() {
        let t = negotiate(Some(KUBECTL), &q("")).unwrap().unwrap();
        assert_eq!(t.api_version, "meta.k8s.io/v1");
        assert_eq!(t.include, Include::Metadata);
        let beta = "application/json;as=Table;v=v1beta1;g=meta.k8s.io, application/json";
        assert_eq!(
            negotiate(Some(beta), &q("")).unwrap().unwrap().api_version,
            "meta.k8s.io/v1beta1"
        );
        assert_eq!(negotiate(Some("application/json"), &q("")).unwrap(), None);
        assert_eq!(negotiate(None, &q("")).unwrap(), None);
        assert_eq!(negotiate(Some("*/*"), &q("")).unwrap(), None);
        let partial =
            "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json";
        assert_eq!(negotiate(Some(partial), &q("")).unwrap(), None);
        let object = negotiate(Some(KUBECTL), &q("includeObject=Object")).unwrap();
        assert_eq!(object.unwrap().include, Include::Object);
        assert!(negotiate(Some(KUBECTL), &q("includeObject=All")).is_err());
        // Only asked of Table requests, as on a real server.
        assert!(negotiate(Some("application/json"), &q("includeObject=All")).is_ok());
    }

    #[test]
    fn tables_carry_columns_rows_and_partial_metadata() {
        let kind = Arc::new(KindInfo::new("v1", "Namespace", "namespaces", false));
        let obj = json!({"metadata": {"name": "ns1", "labels": {"a": "b"}, "creationTimestamp": "2026-05-11T16:00:00Z"},
                         "status": {"phase": "Active"}});
        let Value::Object(map) = obj else {
            unreachable!()
        };
        let stored = Arc::new(Stored::from_value(kind.clone(), 7, "", "ns1", map));
        let opts = TableOptions {
            api_version: "meta.k8s.io/v1",
            include: Include::Metadata,
        };
        let now = "2026-05-11T17:00:00Z".parse().unwrap();
        let meta = json!({"resourceVersion": "7"});
        let t: Value =
            serde_json::from_str(&table_json(&kind, &[&stored], &meta, opts, true, now)).unwrap();
        assert_eq!(t["kind"], "Table");
        assert_eq!(t["metadata"]["resourceVersion"], "7");
        assert_eq!(t["columnDefinitions"][0]["name"], "Name");
        assert_eq!(t["columnDefinitions"][0]["format"], "name");
        assert_eq!(t["rows"][0]["cells"], json!(["ns1", "Active", "60m"]));
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(t["rows"][0]["object"]["metadata"]["labels"]["a"], "b");
        let none = TableOptions {
            include: Include::None,
            ..opts
        };
        let t: Value =
            serde_json::from_str(&table_json(&kind, &[&stored], &meta, none, false, now)).unwrap();
        assert!(t["columnDefinitions"].is_null());
        assert!(t["rows"][0]["object"].is_null());
        let full = TableOptions {
            include: Include::Object,
            ..opts
        };
        let t: Value =
            serde_json::from_str(&table_json(&kind, &[&stored], &meta, full, true, now)).unwrap();
        assert_eq!(t["rows"][0]["object"]["kind"], "Namespace");
        let b: Value = serde_json::from_str(&bookmark_json(opts, &meta)).unwrap();
        assert_eq!(b["rows"], json!([]));
    }
}
