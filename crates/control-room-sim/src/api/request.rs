//! What a write request brings besides its path: a body (JSON, or YAML where the content type
//! allows it) and the options every write takes (`dryRun`, `fieldManager`, `fieldValidation`,
//! `force`; for deletes `gracePeriodSeconds`, `propagationPolicy` and preconditions).

use serde_json::Value;

use crate::api::query::Query;
use crate::store::Preconditions;

/// Query options shared by create, update and patch (`fieldValidation` and `force` are
/// checked, then have nothing to act on).
#[derive(Debug, Clone, Default)]
pub struct WriteParams {
    /// `dryRun=All`: answer as if written, store nothing.
    pub dry_run: bool,
    /// Checked, not recorded: `metadata.managedFields` is not kept. Required for apply.
    pub field_manager: Option<String>,
}

impl WriteParams {
    pub fn from_query(q: &Query) -> Result<Self, String> {
        let field_manager = q.get("fieldManager").filter(|m| !m.is_empty());
        if let Some(manager) = field_manager
            && manager.len() > 128
        {
            return Err(format!(
                "fieldManager: Too long: may not be more than 128 bytes, got {}",
                manager.len()
            ));
        }
        // `fieldValidation` is checked but unknown fields are kept whatever it says: the
        // simulator has no schemas to check them against. `force` is server-side apply's, and
        // there are no field managers to conflict with.
        match q.get("fieldValidation") {
            None | Some("" | "Ignore" | "Warn" | "Strict") => {}
            Some(other) => {
                return Err(format!(
                    "fieldValidation: Unsupported value: {other:?}: supported values: \"Ignore\", \"Warn\", \"Strict\""
                ));
            }
        }
        q.flag("force")?;
        Ok(Self {
            dry_run: dry_run(q.get("dryRun"))?,
            field_manager: field_manager.map(str::to_string),
        })
    }
}

fn dry_run(value: Option<&str>) -> Result<bool, String> {
    match value {
        None | Some("") => Ok(false),
        Some("All") => Ok(true),
        Some(other) => Err(format!(
            "dryRun: Unsupported value: {other:?}: supported values: \"All\""
        )),
    }
}

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// A content type the simulator does not decode (protobuf, CBOR): 415.
    Unsupported,
    /// Not JSON (or YAML): 400.
    Malformed(String),
}

/// The media type without parameters, lower-cased: `application/json`.
pub fn media_type(content_type: Option<&str>) -> String {
    content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The object in a POST or PUT body.
pub fn object_body(content_type: Option<&str>, body: &[u8]) -> Result<Value, BodyError> {
    let media = media_type(content_type);
    if media.contains("protobuf") {
        // kubectl's typed `create secret|configmap|namespace|serviceaccount`; other kinds
        // are not decoded.
        return super::protobuf::decode(body).ok_or(BodyError::Unsupported);
    }
    if media.contains("cbor") {
        return Err(BodyError::Unsupported);
    }
    if media.contains("yaml") {
        return json_or_yaml(body).map_err(BodyError::Malformed);
    }
    serde_json::from_slice(body)
        .map_err(|e| BodyError::Malformed(format!("error decoding body as JSON: {e}")))
}

/// JSON when it parses as JSON (what kubectl sends for server-side apply), YAML otherwise.
pub fn json_or_yaml(body: &[u8]) -> Result<Value, String> {
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    let text = std::str::from_utf8(body).map_err(|e| format!("body is not UTF-8: {e}"))?;
    serde_saphyr::from_str::<Value>(text).map_err(|e| format!("error decoding YAML: {e}"))
}

/// What happens to an object's dependents when it is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    /// Delete now; the garbage collector removes dependents afterwards.
    #[default]
    Background,
    /// Treated as Background: the object goes at once, its dependents shortly after.
    Foreground,
    /// Dependents stay, with their owner reference removed.
    Orphan,
}

/// DeleteOptions from the body and the query (the query wins, as on a real server).
#[derive(Debug, Clone, Default)]
pub struct DeleteParams {
    pub grace_period: Option<i64>,
    pub propagation: Propagation,
    pub preconditions: Preconditions,
    pub dry_run: bool,
}

impl DeleteParams {
    pub fn parse(q: &Query, body: &[u8]) -> Result<Self, String> {
        let mut out = Self::default();
        if !body.iter().all(u8::is_ascii_whitespace) {
            let options: Value = serde_json::from_slice(body)
                .map_err(|e| format!("error decoding DeleteOptions: {e}"))?;
            if !options.is_object() {
                return Err("DeleteOptions must be a JSON object".into());
            }
            out.grace_period = options.get("gracePeriodSeconds").and_then(Value::as_i64);
            if let Some(policy) = options.get("propagationPolicy").and_then(Value::as_str) {
                out.propagation = propagation(policy)?;
            }
            if options.get("orphanDependents").and_then(Value::as_bool) == Some(true) {
                out.propagation = Propagation::Orphan;
            }
            let pre = options.get("preconditions");
            let field = |k: &str| {
                pre.and_then(|p| p.get(k))
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            out.preconditions = Preconditions {
                uid: field("uid"),
                resource_version: field("resourceVersion"),
            };
            if let Some(modes) = options.get("dryRun").and_then(Value::as_array) {
                for mode in modes {
                    out.dry_run |= dry_run(mode.as_str())?;
                }
            }
        }
        if let Some(grace) = q.get("gracePeriodSeconds").filter(|g| !g.is_empty()) {
            out.grace_period = Some(
                grace
                    .parse()
                    .map_err(|_| format!("invalid gracePeriodSeconds: {grace:?}"))?,
            );
        }
        if let Some(policy) = q.get("propagationPolicy").filter(|p| !p.is_empty()) {
            out.propagation = propagation(policy)?;
        }
        if q.flag("orphanDependents")? {
            out.propagation = Propagation::Orphan;
        }
        out.dry_run |= dry_run(q.get("dryRun"))?;
        Ok(out)
    }
}

fn propagation(policy: &str) -> Result<Propagation, String> {
    match policy {
        "Background" => Ok(Propagation::Background),
        "Foreground" => Ok(Propagation::Foreground),
        "Orphan" => Ok(Propagation::Orphan),
        other => Err(format!(
            "propagationPolicy: Unsupported value: {other:?}: supported values: \"Foreground\", \"Background\", \"Orphan\""
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(raw: &str) -> Query {
        Query::parse(Some(raw)).unwrap()
    }

    #[test]
    fn write_params_check_values() {
        let p = WriteParams::from_query(&q(
            "dryRun=All&fieldManager=kubectl&fieldValidation=Strict&force=true",
        ))
        .unwrap();
        assert!(p.dry_run);
        assert!(WriteParams::from_query(&q("force=maybe")).is_err());
        assert_eq!(p.field_manager.as_deref(), Some("kubectl"));
        assert!(WriteParams::from_query(&q("dryRun=Some")).is_err());
        assert!(WriteParams::from_query(&q("fieldValidation=Loose")).is_err());
    }

    #[test]
    fn bodies_in_json_and_yaml() {
        let yaml = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: \"1\"\n  list: [a, b]\n";
        let v = json_or_yaml(yaml).unwrap();
        assert_eq!(v["metadata"]["name"], "x");
        assert_eq!(v["data"]["list"][1], "b");
        assert_eq!(json_or_yaml(br#"{"a":1}"#).unwrap()["a"], 1);
        assert!(json_or_yaml(b"a: [").is_err());
        assert!(matches!(
            object_body(Some("application/vnd.kubernetes.protobuf"), b""),
            Err(BodyError::Unsupported)
        ));
        assert!(matches!(
            object_body(Some("application/json"), b"{nope"),
            Err(BodyError::Malformed(_))
        ));
        assert_eq!(
            media_type(Some("application/merge-patch+json; charset=utf-8")),
            "application/merge-patch+json"
        );
    }

    #[test]
    fn delete_options_from_body_and_query() {
        let d = DeleteParams::parse(
            &q("gracePeriodSeconds=0"),
            br#"{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Orphan","preconditions":{"uid":"u"}}"#,
        )
        .unwrap();
        assert_eq!(d.grace_period, Some(0));
        assert_eq!(d.propagation, Propagation::Orphan);
        assert_eq!(d.preconditions.uid.as_deref(), Some("u"));
        assert!(!d.dry_run);
        let d = DeleteParams::parse(&q(""), br#"{"dryRun":["All"]}"#).unwrap();
        assert!(d.dry_run);
        assert!(DeleteParams::parse(&q(""), b"[").is_err());
        assert!(DeleteParams::parse(&q("propagationPolicy=Sideways"), b"").is_err());
        assert_eq!(
            DeleteParams::parse(&q(""), b"  ").unwrap().propagation,
            Propagation::Background
        );
    }
}
