//! The few protobuf request bodies kubectl sends: its typed commands (`kubectl create secret
//! | configmap | namespace | serviceaccount`) POST `application/vnd.kubernetes.protobuf`
//! instead of JSON. A body is the `k8s\0` magic and a `runtime.Unknown` envelope (type meta,
//! raw object); the raw object is decoded for those kinds into the JSON the rest of the
//! server stores. Every other kind (and anything malformed) is `None`: the caller answers
//! 415 as before, and kubectl's dynamic commands (`apply`, `create -f`) send JSON anyway.

use serde_json::{Map, Value, json};

const MAGIC: &[u8] = b"k8s\0";

/// One field of a protobuf message: its number and its value.
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

/// The fields of one message, in order; `None` when the bytes are not a message.
fn fields(mut buf: &[u8]) -> Option<Vec<(u32, Field<'_>)>> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let (key, rest) = varint(buf)?;
        buf = rest;
        let number = u32::try_from(key >> 3).ok()?;
        match key & 7 {
            0 => {
                let (v, rest) = varint(buf)?;
                buf = rest;
                out.push((number, Field::Varint(v)));
            }
            2 => {
                let (len, rest) = varint(buf)?;
                let len = usize::try_from(len).ok()?;
                if rest.len() < len {
                    return None;
                }
                out.push((number, Field::Bytes(&rest[..len])));
                buf = &rest[len..];
            }
            // Fixed-width fields: skipped (none of the decoded kinds uses them).
            1 => buf = buf.get(8..)?,
            5 => buf = buf.get(4..)?,
            _ => return None,
        }
    }
    Some(out)
}

fn varint(buf: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, b) in buf.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, &buf[i + 1..]));
        }
    }
    None
}

fn string(bytes: &[u8]) -> Option<String> {
    String::from_utf8(bytes.to_vec()).ok()
}

/// A `map<string, string>` entry (or `map<string, bytes>` with `bytes`).
fn entry(bytes: &[u8], base64: bool) -> Option<(String, Value)> {
    let mut key = String::new();
    let mut value = Value::String(String::new());
    for (n, f) in fields(bytes)? {
        match (n, f) {
            (1, Field::Bytes(b)) => key = string(b)?,
            (2, Field::Bytes(b)) if base64 => {
                value = Value::String(crate::store::ids::base64_encode(b));
            }
            (2, Field::Bytes(b)) => value = Value::String(string(b)?),
            _ => {}
        }
    }
    Some((key, value))
}

fn metadata(bytes: &[u8]) -> Option<Value> {
    let mut meta = Map::new();
    let mut labels = Map::new();
    let mut annotations = Map::new();
    let mut finalizers = Vec::new();
    for (n, f) in fields(bytes)? {
        match (n, f) {
            (1, Field::Bytes(b)) => {
                meta.insert("name".into(), Value::String(string(b)?));
            }
            (2, Field::Bytes(b)) => {
                meta.insert("generateName".into(), Value::String(string(b)?));
            }
            (3, Field::Bytes(b)) => {
                meta.insert("namespace".into(), Value::String(string(b)?));
            }
            (11, Field::Bytes(b)) => {
                let (k, v) = entry(b, false)?;
                labels.insert(k, v);
            }
            (12, Field::Bytes(b)) => {
                let (k, v) = entry(b, false)?;
                annotations.insert(k, v);
            }
            (14, Field::Bytes(b)) => finalizers.push(Value::String(string(b)?)),
            // uid, resourceVersion, timestamps, owners, managed fields: the server's own.
            _ => {}
        }
    }
    if !labels.is_empty() {
        meta.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        meta.insert("annotations".into(), Value::Object(annotations));
    }
    if !finalizers.is_empty() {
        meta.insert("finalizers".into(), Value::Array(finalizers));
    }
    Some(Value::Object(meta))
}

fn object(kind: &str, raw: &[u8]) -> Option<Value> {
    let mut obj = json!({"apiVersion": "v1", "kind": kind});
    let mut data = Map::new();
    let mut other = Map::new();
    for (n, f) in fields(raw)? {
        match (kind, n, f) {
            (_, 1, Field::Bytes(b)) => obj["metadata"] = metadata(b)?,
            ("Secret", 2, Field::Bytes(b)) => {
                let (k, v) = entry(b, true)?;
                data.insert(k, v);
            }
            ("Secret", 3, Field::Bytes(b)) => obj["type"] = Value::String(string(b)?),
            ("Secret", 4, Field::Bytes(b)) => {
                let (k, v) = entry(b, false)?;
                other.insert(k, v);
            }
            ("Secret", 5, Field::Varint(v)) | ("ConfigMap", 4, Field::Varint(v)) => {
                obj["immutable"] = Value::Bool(v != 0);
            }
            ("ConfigMap", 2, Field::Bytes(b)) => {
                let (k, v) = entry(b, false)?;
                data.insert(k, v);
            }
            ("ConfigMap", 3, Field::Bytes(b)) => {
                let (k, v) = entry(b, true)?;
                other.insert(k, v);
            }
            ("ServiceAccount", 3, Field::Varint(v)) => {
                obj["automountServiceAccountToken"] = Value::Bool(v != 0);
            }
            _ => {}
        }
    }
    if !data.is_empty() {
        obj["data"] = Value::Object(data);
    }
    // As the API server defaults it.
    if kind == "Secret"
        && obj
            .get("type")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        obj["type"] = Value::String("Opaque".into());
    }
    if !other.is_empty() {
        let key = if kind == "Secret" {
            "stringData"
        } else {
            "binaryData"
        };
        obj[key] = Value::Object(other);
    }
    Some(obj)
}

/// The JSON of a protobuf body kubectl sent, for the kinds its typed commands create.
pub fn decode(body: &[u8]) -> Option<Value> {
    let envelope = body.strip_prefix(MAGIC)?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for (n, f) in fields(envelope)? {
        match (n, f) {
            (1, Field::Bytes(type_meta)) => {
                for (m, g) in fields(type_meta)? {
                    match (m, g) {
                        (1, Field::Bytes(b)) => api_version = string(b)?,
                        (2, Field::Bytes(b)) => kind = string(b)?,
                        _ => {}
                    }
                }
            }
            (2, Field::Bytes(b)) => raw = b,
            _ => {}
        }
    }
    if api_version != "v1" {
        return None;
    }
    match kind.as_str() {
        "Secret" | "ConfigMap" | "Namespace" | "ServiceAccount" => object(&kind, raw),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u32, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![u8::try_from((n << 3) | 2).expect("small field")];
        out.push(u8::try_from(bytes.len()).expect("short"));
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn a_secret_as_kubectl_create_sends_it() {
        let meta = [
            field(1, b"s"),
            field(3, b"istio-system"),
            field(11, &[field(1, b"a"), field(2, b"b")].concat()),
        ]
        .concat();
        let secret = [
            field(1, &meta),
            field(2, &[field(1, b"k"), field(2, b"\x00\xff")].concat()),
            field(3, b"Opaque"),
        ]
        .concat();
        let type_meta = [field(1, b"v1"), field(2, b"Secret")].concat();
        let body = [MAGIC.to_vec(), field(1, &type_meta), field(2, &secret)].concat();
        let obj = decode(&body).expect("decoded");
        assert_eq!(obj["kind"], "Secret");
        assert_eq!(obj["metadata"]["name"], "s");
        assert_eq!(obj["metadata"]["namespace"], "istio-system");
        assert_eq!(obj["metadata"]["labels"]["a"], "b");
        assert_eq!(obj["data"]["k"], "AP8=");
        assert_eq!(obj["type"], "Opaque");
    }

    #[test]
    fn other_bodies_are_not_decoded() {
        assert_eq!(decode(b"{}"), None);
        assert_eq!(decode(b"k8s\0\xff\xff"), None);
        let type_meta = [field(1, b"apps/v1"), field(2, b"Deployment")].concat();
        assert_eq!(
            decode(&[MAGIC.to_vec(), field(1, &type_meta)].concat()),
            None
        );
    }
}
