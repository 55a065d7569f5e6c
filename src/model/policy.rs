//! AuthorizationPolicies, summarised to what a presenter needs to read off the pane.

use serde_json::Value;

use super::pod::PodKey;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySummary {
    pub namespace: String,
    pub name: String,
    /// `ALLOW`, `DENY`, `AUDIT`, `CUSTOM`, or `DENY ALL` for an empty spec.
    pub action: String,
    /// Source principals and namespaces the rules name, for one line of context.
    pub sources: Vec<String>,
}

impl PolicySummary {
    pub fn key(&self) -> PodKey {
        (self.namespace.clone(), self.name.clone())
    }

    /// From an AuthorizationPolicy of any shape; missing or odd fields are tolerated,
    /// because a custom resource is whatever its author wrote.
    pub fn from_object(
        namespace: Option<&str>,
        name: Option<&str>,
        spec: Option<&Value>,
    ) -> PolicySummary {
        let spec = spec.filter(|s| s.as_object().is_some_and(|o| !o.is_empty()));
        let action = match spec {
            None => "DENY ALL".to_string(),
            Some(s) => {
                let action = s
                    .get("action")
                    .and_then(Value::as_str)
                    .unwrap_or("ALLOW")
                    .to_uppercase();
                let has_rules = s
                    .get("rules")
                    .and_then(Value::as_array)
                    .is_some_and(|r| !r.is_empty());
                if action == "ALLOW" && !has_rules {
                    "DENY ALL".to_string()
                } else {
                    action
                }
            }
        };
        let mut sources = Vec::new();
        for rule in spec
            .and_then(|s| s.get("rules"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for from in rule
                .get("from")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(source) = from.get("source") else {
                    continue;
                };
                for key in ["principals", "namespaces"] {
                    for v in source
                        .get(key)
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        if let Some(s) = v.as_str() {
                            sources.push(s.to_string());
                        }
                    }
                }
            }
        }
        PolicySummary {
            namespace: namespace.unwrap_or_default().to_string(),
            name: name.unwrap_or_default().to_string(),
            action,
            sources,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_demo_policies() {
        let empty = PolicySummary::from_object(Some("v"), Some("default-deny"), Some(&json!({})));
        assert_eq!(empty.action, "DENY ALL");
        let none = PolicySummary::from_object(Some("v"), Some("x"), None);
        assert_eq!(none.action, "DENY ALL");
        let deny = PolicySummary::from_object(
            Some("external-attacker"),
            Some("deny-vendor-to-attacker"),
            Some(&json!({"action": "DENY", "rules": [{"from": [{"source": {
                "principals": ["cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter"]}}]}]})),
        );
        assert_eq!(deny.action, "DENY");
        assert_eq!(
            deny.sources,
            ["cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter"]
        );
        let odd =
            PolicySummary::from_object(None, None, Some(&json!({"action": 7, "rules": "nope"})));
        assert_eq!(odd.action, "DENY ALL");
    }
}
