//! The Table a real API server prints for a custom resource: NAME, then its CRD's
//! `additionalPrinterColumns`, each cell found with the column's JSONPath as
//! apiextensions-apiserver finds it (the first value of the first result; a missing field is
//! an empty cell) and typed by the column's type (`date` as a human duration).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::format::{human_duration, text};
use super::{Column, Row};
use crate::store::crds::PrinterColumn;

/// The column definitions: NAME, then the CRD's.
pub fn columns(crd: &[PrinterColumn]) -> Vec<Column> {
    let mut out = vec![Column::name()];
    out.extend(crd.iter().map(|c| Column {
        name: c.name,
        ty: c.ty,
        format: "",
        description: c.description,
        priority: c.priority,
    }));
    out
}

pub fn row(obj: &Value, crd: &[PrinterColumn], now: DateTime<Utc>) -> Row {
    let mut cells = vec![json!(text(obj, "/metadata/name"))];
    for column in crd {
        let value = find(obj, column.json_path).into_iter().next();
        cells.push(match value {
            None => Value::Null,
            Some(v) => cell(column.ty, v, now),
        });
    }
    Row {
        cells,
        conditions: None,
    }
}

fn cell(ty: &str, value: &Value, now: DateTime<Utc>) -> Value {
    match (ty, value) {
        (_, Value::Null) => Value::Null,
        // Printed with the JSONPath printer: strings as they are, anything else as JSON.
        ("string", Value::String(s)) => json!(s),
        ("string", other) => json!(other.to_string()),
        ("integer", Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map_or(Value::Null, |i| json!(i)),
        ("number", Value::Number(n)) => n.as_f64().map_or(Value::Null, |f| json!(f)),
        ("boolean", Value::Bool(b)) => json!(b),
        ("date", Value::String(s)) => match DateTime::parse_from_rfc3339(s) {
            Ok(at) => json!(human_duration(now - at.with_timezone(&Utc))),
            Err(_) => json!("<invalid>"),
        },
        _ => Value::Null,
    }
}

/// One step of a JSONPath.
#[derive(Debug, PartialEq)]
enum Step<'a> {
    Field(&'a str),
    All,
    Index(usize),
    /// `[?(@.a.b=="v")]`
    Filter(Vec<&'a str>, &'a str),
}

fn parse(path: &str) -> Option<Vec<Step<'_>>> {
    let mut steps = Vec::new();
    let mut rest = path.trim();
    // `{.a.b}` is the same path as `.a.b`.
    if let Some(inner) = rest.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
        rest = inner;
    }
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let (name, tail) = after.split_at(end);
            if !name.is_empty() {
                steps.push(Step::Field(name));
            }
            rest = tail;
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = bracket_end(after)?;
            let (inside, tail) = after.split_at(end);
            rest = &tail[1..];
            let inside = inside.trim();
            if inside == "*" {
                steps.push(Step::All);
            } else if let Ok(i) = inside.parse::<usize>() {
                steps.push(Step::Index(i));
            } else {
                steps.push(filter(inside)?);
            }
        } else {
            return None;
        }
    }
    Some(steps)
}

/// Where the `]` closing a bracket is, skipping quoted text.
fn bracket_end(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, ']') => return Some(i),
            _ => {}
        }
    }
    None
}

fn filter(inside: &str) -> Option<Step<'_>> {
    let expr = inside.strip_prefix("?(")?.strip_suffix(')')?;
    let (lhs, rhs) = expr.split_once("==")?;
    let keys: Vec<&str> = lhs
        .trim()
        .strip_prefix("@.")?
        .split('.')
        .filter(|k| !k.is_empty())
        .collect();
    let rhs = rhs.trim();
    let value = rhs
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .or_else(|| rhs.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))?;
    Some(Step::Filter(keys, value))
}

/// Every value `path` finds in `obj`, in order. A path that does not parse finds nothing.
pub fn find<'a>(obj: &'a Value, path: &str) -> Vec<&'a Value> {
    let Some(steps) = parse(path) else {
        return Vec::new();
    };
    let mut current = vec![obj];
    for step in &steps {
        let mut next = Vec::new();
        for v in current {
            match step {
                Step::Field(name) => next.extend(v.get(*name)),
                Step::All => match v {
                    Value::Array(items) => next.extend(items.iter()),
                    Value::Object(map) => next.extend(map.values()),
                    _ => {}
                },
                Step::Index(i) => next.extend(v.as_array().and_then(|a| a.get(*i))),
                Step::Filter(keys, want) => {
                    if let Value::Array(items) = v {
                        next.extend(items.iter().filter(|item| {
                            let mut at = Some(*item);
                            for k in keys {
                                at = at.and_then(|x| x.get(*k));
                            }
                            at.and_then(Value::as_str) == Some(*want)
                        }));
                    }
                }
            }
        }
        current = next;
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::crds::printer_columns;

    fn now() -> DateTime<Utc> {
        "2026-05-11T17:00:00Z".parse().unwrap()
    }

    #[test]
    fn paths_as_apimachinery_reads_them() {
        let gw = json!({"spec": {"gatewayClassName": "istio-eastwest"},
            "status": {"addresses": [{"value": "172.22.0.3"}, {"value": "x"}],
                       "conditions": [{"type": "Accepted", "status": "True"}, {"type": "Programmed", "status": "False"}]}});
        assert_eq!(
            find(&gw, ".status.addresses[*].value"),
            [&json!("172.22.0.3"), &json!("x")]
        );
        assert_eq!(find(&gw, ".status.addresses[1].value"), [&json!("x")]);
        assert_eq!(
            find(&gw, ".status.conditions[?(@.type==\"Programmed\")].status"),
            [&json!("False")]
        );
        assert_eq!(
            find(&gw, "{.status.conditions[?(@.type=='Accepted')].status}"),
            [&json!("True")]
        );
        assert!(find(&gw, ".spec.nope").is_empty());
        assert!(find(&gw, "spec[").is_empty());
        assert!(find(&json!(null), ".a[*].b").is_empty());
    }

    #[test]
    fn rows_of_custom_kinds() {
        let cols = printer_columns("gateway.networking.k8s.io/v1", "Gateway").unwrap();
        let gw = json!({"metadata": {"name": "istio-eastwest", "creationTimestamp": "2026-05-11T16:00:00Z"},
            "spec": {"gatewayClassName": "istio-eastwest"},
            "status": {"addresses": [{"value": "172.22.0.3"}],
                       "conditions": [{"type": "Programmed", "status": "True"}]}});
        let r = row(&gw, cols, now());
        assert_eq!(
            r.cells,
            [
                json!("istio-eastwest"),
                json!("istio-eastwest"),
                json!("172.22.0.3"),
                json!("True"),
                json!("60m")
            ]
        );
        let cols = printer_columns("networking.istio.io/v1", "ServiceEntry").unwrap();
        let se = json!({"metadata": {"name": "a"}, "spec": {"hosts": ["a.b.mesh.internal"], "location": "MESH_INTERNAL"}});
        let r = row(&se, cols, now());
        assert_eq!(r.cells[1], json!("[\"a.b.mesh.internal\"]"));
        assert_eq!(r.cells[3], Value::Null);
        let ap = json!({"metadata": {"name": "default-deny"}, "spec": {}});
        let cols = printer_columns("security.istio.io/v1", "AuthorizationPolicy").unwrap();
        assert_eq!(row(&ap, cols, now()).cells[1], Value::Null);
        for junk in [
            json!(null),
            json!({"spec": [], "status": "x", "metadata": 3}),
        ] {
            let r = row(&junk, cols, now());
            assert_eq!(r.cells.len(), 3);
        }
        assert_eq!(cell("date", &json!("yesterday"), now()), "<invalid>");
        assert_eq!(cell("integer", &json!(2.7), now()), 2);
    }
}
