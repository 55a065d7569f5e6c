//! A minimal `/openapi/v2`, for kubectl before 1.29: those check field-validation support
//! against OpenAPI v2 rather than v3, and read it only as protobuf (gnostic's
//! `openapi.v2.Document`). As with v3, each resource gets a PATCH operation carrying
//! `x-kubernetes-group-version-kind` and a `fieldValidation` query parameter, and no schemas.
//!
//! The protobuf is written by hand: only strings, a bool and nested messages are needed, and
//! the field numbers below are those of gnostic's `OpenAPIv2.proto`.

use serde_json::{Map, Value, json};

use crate::api::discovery;
use crate::store::resources::{RESOURCES, ResourceDef};

/// The content type a real server answers protobuf with. (Clients ask for
/// `…spec.v2@v1.0+protobuf`, but an `@` is not allowed in a media type: Go's parser rejects it.)
pub const PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// Media types the PATCH operations consume (no strategic merge: see `openapi`).
const CONSUMES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
];
const QUERY_PARAMS: &[&str] = &["dryRun", "fieldManager", "fieldValidation", "force"];

/// `/apis/apps/v1/namespaces/{namespace}/deployments/{name}`.
fn item_path(r: &ResourceDef) -> String {
    let prefix = if r.group.is_empty() {
        format!("/api/{}", r.version)
    } else {
        format!("/apis/{}/{}", r.group, r.version)
    };
    if r.namespaced {
        format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
    } else {
        format!("{prefix}/{}/{{name}}", r.plural)
    }
}

fn gvk_yaml(r: &ResourceDef) -> String {
    format!(
        "group: \"{}\"\nkind: {}\nversion: {}\n",
        r.group, r.kind, r.version
    )
}

/// Protobuf encoding, the few wire forms needed.
#[derive(Default)]
struct Pb(Vec<u8>);

impl Pb {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn bytes(&mut self, field: u64, data: &[u8]) {
        self.varint((field << 3) | 2);
        self.varint(data.len() as u64);
        self.0.extend_from_slice(data);
    }

    fn string(&mut self, field: u64, s: &str) {
        self.bytes(field, s.as_bytes());
    }

    fn message(&mut self, field: u64, build: impl FnOnce(&mut Pb)) {
        let mut inner = Pb::default();
        build(&mut inner);
        self.bytes(field, &inner.0);
    }

    fn flag(&mut self, field: u64) {
        self.varint(field << 3);
        self.varint(1);
    }
}

/// `GET /openapi/v2` as protobuf.
pub fn protobuf() -> Vec<u8> {
    let mut doc = Pb::default();
    doc.string(1, "2.0"); // swagger
    doc.message(2, |info| {
        info.string(1, "Kubernetes"); // title
        info.string(
            2,
            discovery::version_info()["gitVersion"]
                .as_str()
                .unwrap_or(""),
        ); // version
    });
    doc.message(8, |paths| {
        for r in RESOURCES {
            paths.message(2, |named| {
                // NamedPathItem
                named.string(1, &item_path(r));
                named.message(2, |item| {
                    // PathItem.patch
                    item.message(8, |op| operation(op, r));
                });
            });
        }
    });
    doc.0
}

fn operation(op: &mut Pb, r: &ResourceDef) {
    op.string(5, &format!("patch{}", r.kind)); // operation_id
    for media in CONSUMES {
        op.string(7, media); // consumes
    }
    for name in QUERY_PARAMS {
        // parameters: ParametersItem.parameter → Parameter.non_body_parameter →
        // NonBodyParameter.query_parameter_sub_schema
        op.message(8, |item| {
            item.message(1, |param| {
                param.message(2, |non_body| {
                    non_body.message(3, |query| {
                        query.string(2, "query"); // in
                        query.string(4, name); // name
                        query.string(
                            6,
                            if *name == "force" {
                                "boolean"
                            } else {
                                "string"
                            },
                        );
                        query.flag(20); // unique_items
                    });
                });
            });
        });
    }
    op.message(9, |responses| {
        responses.message(1, |code| {
            code.string(1, "200");
            code.message(2, |value| {
                value.message(1, |response| response.string(1, "OK"))
            });
        });
    });
    op.message(13, |ext| {
        // vendor_extension: NamedAny { name, Any { yaml } }
        ext.string(1, "x-kubernetes-group-version-kind");
        ext.message(2, |any| any.string(2, &gvk_yaml(r)));
    });
}

/// The same document as JSON, for clients that ask for it.
pub fn json() -> Value {
    let mut paths = Map::new();
    for r in RESOURCES {
        let parameters: Vec<Value> = QUERY_PARAMS
            .iter()
            .map(|name| {
                let ty = if *name == "force" {
                    "boolean"
                } else {
                    "string"
                };
                json!({"name": name, "in": "query", "type": ty, "uniqueItems": true})
            })
            .collect();
        paths.insert(
            item_path(r),
            json!({"patch": {
                "operationId": format!("patch{}", r.kind),
                "consumes": CONSUMES,
                "parameters": parameters,
                "responses": {"200": {"description": "OK"}},
                "x-kubernetes-group-version-kind": {"group": r.group, "kind": r.kind, "version": r.version},
            }}),
        );
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": discovery::version_info()["gitVersion"]},
        "paths": paths,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_nesting() {
        let mut pb = Pb::default();
        pb.varint(300);
        assert_eq!(pb.0, [0xac, 0x02]);
        let mut pb = Pb::default();
        pb.message(2, |m| m.string(1, "ab"));
        assert_eq!(pb.0, [0x12, 4, 0x0a, 2, b'a', b'b']);
        let doc = protobuf();
        let text = String::from_utf8_lossy(&doc);
        assert!(text.contains(
            "/apis/security.istio.io/v1/namespaces/{namespace}/authorizationpolicies/{name}"
        ));
        assert!(text.contains("fieldValidation"));
        assert!(text.contains("kind: AuthorizationPolicy"));
        assert!(json()["paths"]["/api/v1/nodes/{name}"]["patch"].is_object());
    }
}
