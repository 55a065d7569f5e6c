//! Intake for store writes: the checks and defaults every object goes through before it is
//! stored, whoever wrote it.

use crate::store::resources;
use serde_json::{Map, Value};

use crate::store::StoreError;

/// The parts of an object every write needs up front.
pub struct Incoming {
    pub api_version: String,
    pub kind: String,
    pub namespaced: bool,
    pub map: Map<String, Value>,
}

impl Incoming {
    pub fn parse(obj: Value) -> Result<Self, StoreError> {
        let Value::Object(mut map) = obj else {
            return Err(StoreError::Invalid("object must be a JSON object".into()));
        };
        let api_version = string_field(&map, "apiVersion")
            .ok_or_else(|| StoreError::Invalid("apiVersion: Required value".into()))?;
        let kind = string_field(&map, "kind")
            .ok_or_else(|| StoreError::Invalid("kind: Required value".into()))?;
        let namespaced = match resources::lookup_kind(&api_version, &kind) {
            Some(def) => def.namespaced,
            None => map
                .get("metadata")
                .and_then(|m| m.get("namespace"))
                .is_some_and(|ns| ns.as_str().is_some_and(|s| !s.is_empty())),
        };
        if !map.get("metadata").is_some_and(Value::is_object) {
            map.insert("metadata".into(), Value::Object(Map::new()));
        }
        Ok(Self {
            api_version,
            kind,
            namespaced,
            map,
        })
    }

    pub fn meta(&mut self) -> &mut Map<String, Value> {
        // `parse` guarantees metadata is an object; the fallback only satisfies the types.
        let entry = self
            .map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        match entry {
            Value::Object(meta) => meta,
            _ => unreachable!("metadata was just made an object"),
        }
    }

    /// Namespace to file the object under; cluster-scoped objects drop any namespace given.
    pub fn namespace(&mut self) -> Result<String, StoreError> {
        if !self.namespaced {
            self.meta().remove("namespace");
            return Ok(String::new());
        }
        match self.meta().get("namespace").and_then(Value::as_str) {
            Some(ns) if !ns.is_empty() => Ok(ns.to_string()),
            _ => Err(StoreError::Invalid(
                "metadata.namespace: Required value".into(),
            )),
        }
    }
}

fn string_field(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}
