//! How one stored object is held: compact JSON text plus the few fields that every list and
//! watch filter on, so serving 30,000 pods is string concatenation rather than re-serialising.

use std::sync::Arc;

use serde_json::{Map, Value};

/// The type half of a stored object: shared by every object of one kind.
#[derive(Debug)]
pub struct KindInfo {
    pub api_version: String,
    pub kind: String,
    /// Plural resource name for messages (`pods "x" not found`).
    pub resource: String,
    pub namespaced: bool,
    /// `{"apiVersion":"v1","kind":"Pod"` — spliced in front of a body when a client needs the
    /// type on the object itself (GET, watch events); list items go without, like a real server.
    head: String,
}

impl KindInfo {
    pub fn new(api_version: &str, kind: &str, resource: &str, namespaced: bool) -> Self {
        let head = format!(
            "{{\"apiVersion\":{},\"kind\":{}",
            Value::from(api_version),
            Value::from(kind)
        );
        Self {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            resource: resource.to_string(),
            namespaced,
            head,
        }
    }

    /// The body with `apiVersion` and `kind` put back in front.
    pub fn typed_json(&self, body: &str) -> String {
        let rest = body.strip_prefix('{').unwrap_or(body).trim_start();
        let mut out = String::with_capacity(self.head.len() + body.len() + 1);
        out.push_str(&self.head);
        if rest.starts_with('}') {
            out.push('}');
        } else {
            out.push(',');
            out.push_str(rest);
        }
        out
    }
}

/// One version of one object. Immutable: a write makes a new one, so lists and watch history
/// share them by `Arc` instead of copying.
#[derive(Debug)]
pub struct Stored {
    pub rv: u64,
    pub kind: Arc<KindInfo>,
    /// Empty for cluster-scoped objects.
    pub namespace: Box<str>,
    pub name: Box<str>,
    /// Sorted by key.
    pub labels: Box<[(Box<str>, Box<str>)]>,
    /// Compact JSON of the object without `apiVersion`/`kind`.
    pub body: Box<str>,
}

impl Stored {
    /// Build from an object whose metadata is already final. `apiVersion`/`kind` are dropped
    /// from the body here because `kind` carries them.
    pub fn from_value(
        kind: Arc<KindInfo>,
        rv: u64,
        namespace: &str,
        name: &str,
        mut obj: Map<String, Value>,
    ) -> Self {
        obj.remove("apiVersion");
        obj.remove("kind");
        let labels = labels_of(&obj);
        // Serialising a Map of Values cannot fail (string keys, no custom Serialize impls).
        let body = serde_json::to_string(&obj).unwrap_or_else(|_| "{}".to_string());
        Self {
            rv,
            kind,
            namespace: namespace.into(),
            name: name.into(),
            labels,
            body: body.into_boxed_str(),
        }
    }

    /// The full object as a client sees it from GET.
    pub fn typed_json(&self) -> String {
        self.kind.typed_json(&self.body)
    }

    /// The full object as a Value (for Rust callers of the store).
    pub fn to_value(&self) -> Value {
        let mut value: Value = serde_json::from_str(&self.body).unwrap_or(Value::Null);
        if let Some(map) = value.as_object_mut() {
            map.insert(
                "apiVersion".into(),
                Value::from(self.kind.api_version.as_str()),
            );
            map.insert("kind".into(), Value::from(self.kind.kind.as_str()));
        }
        value
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .binary_search_by(|(k, _)| k.as_ref().cmp(key))
            .ok()
            .map(|i| self.labels[i].1.as_ref())
    }
}

fn labels_of(obj: &Map<String, Value>) -> Box<[(Box<str>, Box<str>)]> {
    let mut labels: Vec<(Box<str>, Box<str>)> = obj
        .get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .map(|l| {
            l.iter()
                .filter_map(|(k, v)| Some((k.as_str().into(), v.as_str()?.into())))
                .collect()
        })
        .unwrap_or_default();
    labels.sort();
    labels.into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_json_splices_type_in_front() {
        let kind = Arc::new(KindInfo::new("v1", "Pod", "pods", true));
        assert_eq!(kind.typed_json("{}"), r#"{"apiVersion":"v1","kind":"Pod"}"#);
        let obj = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "labels": {"b": "2", "a": "1"}}});
        let Value::Object(map) = obj else { panic!() };
        let stored = Stored::from_value(kind, 3, "ns", "a", map);
        let full: Value = serde_json::from_str(&stored.typed_json()).unwrap();
        assert_eq!(full["kind"], "Pod");
        assert_eq!(full["metadata"]["name"], "a");
        assert_eq!(stored.label("a"), Some("1"));
        assert_eq!(stored.label("c"), None);
        assert!(!stored.body.contains("apiVersion"));
    }
}
