//! The small formatters the server-side printers share, written to match apimachinery's
//! byte for byte: `duration.HumanDuration` (AGE), `labels.FormatLabels` and a label
//! selector's `String()` (SELECTOR), and how a missing value is spelled.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

/// A timestamp field read the way the API types read it (RFC 3339, fractions allowed).
pub fn time_at(value: &Value, pointer: &str) -> Option<DateTime<Utc>> {
    let text = value.pointer(pointer)?.as_str()?;
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `translateTimestampSince`: how long ago, or `<unknown>` for a missing time.
pub fn since(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match at {
        Some(at) => human_duration(now - at),
        None => "<unknown>".to_string(),
    }
}

/// `duration.HumanDuration`: two or three significant figures, as kubectl's AGE column.
pub fn human_duration(d: TimeDelta) -> String {
    // Go truncates towards zero when it converts a duration to whole units.
    let seconds = d.num_seconds();
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// `labels.FormatLabels`: `k=v` sorted by key, comma-joined; `<none>` when there are none.
pub fn format_labels(map: Option<&Value>) -> String {
    let mut pairs: Vec<String> = map
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    if pairs.is_empty() {
        return "<none>".into();
    }
    pairs.sort();
    pairs.join(",")
}

/// A `LabelSelector` as `LabelSelectorAsSelector(s).String()` prints it: requirements sorted
/// by key, set values sorted. Empty (or absent) selects everything and prints as "".
pub fn selector_string(selector: Option<&Value>) -> String {
    let Some(selector) = selector.filter(|s| s.is_object()) else {
        return String::new();
    };
    // (key, rendered) so the sort is by key first, as the Go selector sorts requirements.
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in labels {
            reqs.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))));
        }
    }
    for expr in selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = expr.get("key").and_then(Value::as_str).unwrap_or("");
        let mut values: Vec<&str> = expr
            .get("values")
            .and_then(Value::as_array)
            .map(|v| v.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        values.sort_unstable();
        values.dedup();
        let rendered = match expr.get("operator").and_then(Value::as_str) {
            Some("In") => format!("{key} in ({})", values.join(",")),
            Some("NotIn") => format!("{key} notin ({})", values.join(",")),
            Some("Exists") => key.to_string(),
            Some("DoesNotExist") => format!("!{key}"),
            _ => continue,
        };
        reqs.push((key.to_string(), rendered));
    }
    reqs.sort();
    reqs.into_iter()
        .map(|(_, r)| r)
        .collect::<Vec<_>>()
        .join(",")
}

/// `metav1.FormatLabelSelector`: [`selector_string`], or `<none>` when that is empty.
pub fn format_selector(selector: Option<&Value>) -> String {
    let s = selector_string(selector);
    if s.is_empty() { "<none>".into() } else { s }
}

/// `layoutContainerCells`: the containers' names and images, comma-joined.
pub fn containers(spec: Option<&Value>) -> (String, String) {
    let list = spec
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array);
    let field = |k: &str| -> String {
        list.map(|cs| {
            cs.iter()
                .map(|c| c.get(k).and_then(Value::as_str).unwrap_or(""))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
    };
    (field("name"), field("image"))
}

/// An integer field as the API types read it, absent (or of another type) as 0.
pub fn int(value: &Value, pointer: &str) -> i64 {
    value.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

pub fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// `s`, or `<none>` when it is empty, as the printers spell a missing value.
pub fn or_none(s: &str) -> String {
    if s.is_empty() {
        "<none>".into()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn human_durations_read_like_kubectl() {
        let s = TimeDelta::seconds;
        for (secs, want) in [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (119, "119s"),
            (120, "2m"),
            (125, "2m5s"),
            (600, "10m"),
            (179 * 60 + 59, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 90, "3h1m"),
            (8 * 3600, "8h"),
            (47 * 3600, "47h"),
            (48 * 3600, "2d"),
            (50 * 3600, "2d2h"),
            (8 * 86400, "8d"),
            (730 * 86400, "2y"),
            (731 * 86400, "2y1d"),
            (3000 * 86400, "8y"),
        ] {
            assert_eq!(human_duration(s(secs)), want, "{secs}s");
        }
        assert_eq!(human_duration(TimeDelta::milliseconds(-1500)), "0s");
    }

    #[test]
    fn labels_and_selectors() {
        assert_eq!(format_labels(Some(&json!({"b": "2", "a": "1"}))), "a=1,b=2");
        assert_eq!(format_labels(Some(&json!({}))), "<none>");
        assert_eq!(format_labels(None), "<none>");
        let sel = json!({"matchLabels": {"app": "x"}, "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["web", "api"]},
            {"key": "canary", "operator": "DoesNotExist"},
            {"key": "zone", "operator": "Exists"},
            {"key": "env", "operator": "NotIn", "values": ["dev"]}]});
        assert_eq!(
            selector_string(Some(&sel)),
            "app=x,!canary,env notin (dev),tier in (api,web),zone"
        );
        assert_eq!(selector_string(Some(&json!({}))), "");
        assert_eq!(format_selector(None), "<none>");
        assert_eq!(format_selector(Some(&json!("junk"))), "<none>");
    }

    #[test]
    fn container_cells() {
        let spec =
            json!({"containers": [{"name": "a", "image": "i:1"}, {"name": "b", "image": "j:2"}]});
        assert_eq!(
            containers(Some(&spec)),
            ("a,b".to_string(), "i:1,j:2".to_string())
        );
        assert_eq!(containers(None), (String::new(), String::new()));
    }
}
