//! Istio `AuthorizationPolicy` evaluation at L4, as ztunnel does it for one connection.
//!
//! Pure: given the policies of the destination's cluster, the destination workload and the
//! source identity, [`evaluate`] says allow or deny and which policy decided. Covered: the
//! root namespace (`istio-system` applies everywhere), `spec.selector.matchLabels`, actions
//! ALLOW and DENY (CUSTOM and AUDIT are ignored), `rules[].from[].source` with `principals`,
//! `notPrincipals`, `namespaces`, `notNamespaces` and `*` prefix/suffix wildcards. `to` and
//! `when` are L7/conditions and not evaluated (a rule matches on its `from` alone).

use serde_json::Value;

/// Istio's root namespace: policies there apply to every namespace.
pub const ROOT_NAMESPACE: &str = "istio-system";

/// The workload a connection goes to.
#[derive(Debug, Clone, Copy)]
pub struct Destination<'a> {
    pub namespace: &'a str,
    /// The destination pod's labels (`metadata.labels`); `Value::Null` for none.
    pub labels: &'a Value,
}

/// Who opens the connection.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// SPIFFE principal, `cluster.local/ns/<ns>/sa/<sa>` (a `spiffe://` prefix is accepted).
    pub principal: &'a str,
    pub namespace: &'a str,
}

/// The verdict and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// `namespace/name` of the policy that decided (the matching DENY or ALLOW policy); for
    /// "allow policies exist, but none allowed" the first applicable ALLOW policy. `None` when
    /// no policy applies.
    pub policy: Option<String>,
    /// ztunnel-like reason, e.g. `explicitly denied by: ns/name`.
    pub reason: String,
}

impl Decision {
    /// ztunnel's access-log error for a denied connection.
    pub fn ztunnel_error(&self) -> String {
        format!("connection closed due to policy rejection: {}", self.reason)
    }
}

/// Decide one connection under `policies` (AuthorizationPolicy objects of the destination's
/// cluster; others are skipped).
pub fn evaluate(policies: &[Value], destination: Destination<'_>, source: Source<'_>) -> Decision {
    let applicable: Vec<&Value> = policies
        .iter()
        .filter(|p| {
            p.get("kind")
                .and_then(Value::as_str)
                .is_none_or(|k| k == "AuthorizationPolicy")
        })
        .filter(|p| applies(p, destination))
        .collect();

    for policy in &applicable {
        if action(policy) == "DENY" && rules(policy).iter().any(|r| rule_matches(r, source)) {
            let name = qualified(policy);
            return Decision {
                allowed: false,
                reason: format!("explicitly denied by: {name}"),
                policy: Some(name),
            };
        }
    }

    let allows: Vec<&&Value> = applicable.iter().filter(|p| action(p) == "ALLOW").collect();
    if allows.is_empty() {
        return Decision {
            allowed: true,
            policy: None,
            reason: "no policy applies".into(),
        };
    }
    for policy in &allows {
        if rules(policy).iter().any(|r| rule_matches(r, source)) {
            let name = qualified(policy);
            return Decision {
                allowed: true,
                reason: format!("allowed by: {name}"),
                policy: Some(name),
            };
        }
    }
    Decision {
        allowed: false,
        policy: Some(qualified(allows[0])),
        reason: "allow policies exist, but none allowed".into(),
    }
}

fn qualified(policy: &Value) -> String {
    format!(
        "{}/{}",
        policy
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or(""),
        policy
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
    )
}

fn action(policy: &Value) -> &str {
    policy
        .pointer("/spec/action")
        .and_then(Value::as_str)
        .unwrap_or("ALLOW")
}

fn rules(policy: &Value) -> &[Value] {
    policy
        .pointer("/spec/rules")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn applies(policy: &Value, destination: Destination<'_>) -> bool {
    let ns = policy
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    if ns != destination.namespace && ns != ROOT_NAMESPACE {
        return false;
    }
    let Some(wanted) = policy
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
    else {
        return true;
    };
    wanted
        .iter()
        .all(|(k, v)| destination.labels.get(k).is_some_and(|have| have == v))
}

fn rule_matches(rule: &Value, source: Source<'_>) -> bool {
    match rule.get("from").and_then(Value::as_array) {
        None => true,
        Some(froms) if froms.is_empty() => true,
        Some(froms) => froms
            .iter()
            .any(|f| source_matches(f.get("source").unwrap_or(&Value::Null), source)),
    }
}

fn source_matches(spec: &Value, source: Source<'_>) -> bool {
    let principal = strip_spiffe(source.principal);
    let list = |key: &str| spec.get(key).and_then(Value::as_array);
    let any = |key: &str, value: &str, spiffe: bool| {
        list(key).is_some_and(|l| {
            l.iter().filter_map(Value::as_str).any(|pat| {
                let pat = if spiffe { strip_spiffe(pat) } else { pat };
                wildcard(pat, value)
            })
        })
    };
    (list("principals").is_none() || any("principals", principal, true))
        && !any("notPrincipals", principal, true)
        && (list("namespaces").is_none() || any("namespaces", source.namespace, false))
        && !any("notNamespaces", source.namespace, false)
}

fn strip_spiffe(principal: &str) -> &str {
    principal.strip_prefix("spiffe://").unwrap_or(principal)
}

/// Istio string match: exact, `*`, `prefix*` or `*suffix`.
fn wildcard(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        true
    } else if let Some(prefix) = pattern.strip_suffix('*') {
        value.starts_with(prefix)
    } else if let Some(suffix) = pattern.strip_prefix('*') {
        value.ends_with(suffix)
    } else {
        pattern == value
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const CC: &str = "cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter";
    const GW: &str = "cluster.local/ns/trustusbank-platform/sa/trustusbank-agentgw";

    fn ap(ns: &str, name: &str, spec: Value) -> Value {
        json!({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
               "metadata": {"namespace": ns, "name": name}, "spec": spec})
    }

    fn decide(policies: &[Value], dst_ns: &str, labels: Value, principal: &str) -> Decision {
        let src_ns = principal.split('/').nth(2).unwrap_or("");
        evaluate(
            policies,
            Destination {
                namespace: dst_ns,
                labels: &labels,
            },
            Source {
                principal,
                namespace: src_ns,
            },
        )
    }

    /// what, policies, destination namespace, labels, principal, allowed, deciding policy.
    type Case<'a> = (
        &'a str,
        Vec<Value>,
        &'a str,
        &'a Value,
        &'a str,
        bool,
        Option<&'a str>,
    );

    #[test]
    fn table() {
        let attacker = json!({"app": "mock-attacker"});
        let cc = json!({"app": "currency-converter"});
        let allow_gw = ap(
            "trustusbank-bank-vendors",
            "allow-gw-to-vendor",
            json!({
            "action": "ALLOW", "rules": [{"from": [{"source": {"principals": [GW]}}]}]}),
        );
        let deny_cc = ap(
            "external-attacker",
            "deny-vendor-to-attacker",
            json!({
            "action": "DENY", "rules": [{"from": [{"source": {"principals": [format!("spiffe://{CC}")]}}]}]}),
        );
        let deny_ns = ap(
            "external-attacker",
            "deny-vendors-ns",
            json!({
            "action": "DENY", "rules": [{"from": [{"source": {"namespaces": ["trustusbank-bank-vendors"]}}]}]}),
        );
        let default_deny = ap("trustusbank-bank-vendors", "default-deny", json!({}));
        let allow_no_rules = ap(
            "trustusbank-bank-vendors",
            "allow-nothing",
            json!({"action": "ALLOW"}),
        );
        let selected = |app: &str| {
            ap(
                "external-attacker",
                "sel",
                json!({
            "selector": {"matchLabels": {"app": app}}, "action": "DENY", "rules": [{}]}),
            )
        };
        let root = ap(
            ROOT_NAMESPACE,
            "root-deny",
            json!({
            "action": "DENY", "rules": [{"from": [{"source": {"notNamespaces": ["istio-system"]}}]}]}),
        );
        let wildcard_allow = ap(
            "trustusbank-bank-vendors",
            "allow-platform",
            json!({
            "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/trustusbank-platform/*"]}}]}]}),
        );
        let suffix_deny = ap(
            "external-attacker",
            "deny-cc-suffix",
            json!({
            "action": "DENY", "rules": [{"from": [{"source": {"principals": ["*/sa/currency-converter"]}}]}]}),
        );
        let not_principal = ap(
            "external-attacker",
            "deny-all-but-gw",
            json!({
            "action": "DENY", "rules": [{"from": [{"source": {"notPrincipals": [GW]}}]}]}),
        );

        let spiffe_cc = format!("spiffe://{CC}");
        #[rustfmt::skip]
        let cases: Vec<Case<'_>> = vec![
            ("no policies", vec![], "external-attacker", &attacker, CC, true, None),
            ("default deny", vec![default_deny.clone()], "trustusbank-bank-vendors", &cc, GW, false, Some("trustusbank-bank-vendors/default-deny")),
            ("allow-no-rules", vec![allow_no_rules], "trustusbank-bank-vendors", &cc, GW, false, Some("trustusbank-bank-vendors/allow-nothing")),
            ("allow list match", vec![default_deny.clone(), allow_gw.clone()], "trustusbank-bank-vendors", &cc, GW, true, Some("trustusbank-bank-vendors/allow-gw-to-vendor")),
            ("allow list miss", vec![allow_gw.clone()], "trustusbank-bank-vendors", &cc, CC, false, Some("trustusbank-bank-vendors/allow-gw-to-vendor")),
            ("vendor policies leave attacker ns alone", vec![default_deny.clone(), allow_gw.clone()], "external-attacker", &attacker, CC, true, None),
            ("deny by principal", vec![default_deny.clone(), allow_gw.clone(), deny_cc.clone()], "external-attacker", &attacker, CC, false, Some("external-attacker/deny-vendor-to-attacker")),
            ("deny by principal, other source", vec![deny_cc.clone()], "external-attacker", &attacker, GW, true, None),
            ("deny by namespace", vec![deny_ns.clone()], "external-attacker", &attacker, CC, false, Some("external-attacker/deny-vendors-ns")),
            ("deny by namespace, other ns", vec![deny_ns], "external-attacker", &attacker, GW, true, None),
            ("selector match", vec![selected("mock-attacker")], "external-attacker", &attacker, CC, false, Some("external-attacker/sel")),
            ("selector mismatch", vec![selected("other")], "external-attacker", &attacker, CC, true, None),
            ("root namespace applies everywhere", vec![root.clone()], "external-attacker", &attacker, CC, false, Some("istio-system/root-deny")),
            ("wildcard principal prefix", vec![wildcard_allow.clone()], "trustusbank-bank-vendors", &cc, GW, true, Some("trustusbank-bank-vendors/allow-platform")),
            ("wildcard principal prefix miss", vec![wildcard_allow], "trustusbank-bank-vendors", &cc, CC, false, Some("trustusbank-bank-vendors/allow-platform")),
            ("wildcard principal suffix", vec![suffix_deny], "external-attacker", &attacker, &spiffe_cc, false, Some("external-attacker/deny-cc-suffix")),
            ("notPrincipals", vec![not_principal.clone()], "external-attacker", &attacker, CC, false, Some("external-attacker/deny-all-but-gw")),
            ("notPrincipals excluded", vec![not_principal], "external-attacker", &attacker, GW, true, None),
        ];
        for (what, policies, ns, labels, principal, allowed, by) in cases {
            let d = decide(&policies, ns, labels.clone(), principal);
            assert_eq!(d.allowed, allowed, "{what}: {d:?}");
            assert_eq!(d.policy.as_deref(), by, "{what}: {d:?}");
        }
    }

    #[test]
    fn ztunnel_error_text() {
        let deny = ap(
            "external-attacker",
            "deny-vendor-to-attacker",
            json!({
            "action": "DENY", "rules": [{"from": [{"source": {"principals": [CC]}}]}]}),
        );
        let d = decide(&[deny], "external-attacker", json!({}), CC);
        assert_eq!(
            d.ztunnel_error(),
            "connection closed due to policy rejection: explicitly denied by: external-attacker/deny-vendor-to-attacker"
        );
    }
}
