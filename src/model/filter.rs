//! `/`: one filter for every pane. Plain text matches as a case-insensitive substring; `re:`
//! makes the rest a regular expression. A pod matches on its name, namespace, status or
//! image; a deployment on its name, namespace or image.

use crate::msg::cluster::{DeploymentSummary, PodSummary, PolicySummary};

/// Longest filter: a pasted novel must not make every keystroke crawl.
pub const MAX_FILTER_CHARS: usize = 200;

#[derive(Debug, Clone)]
enum Matcher {
    /// Lower-cased.
    Substring(String),
    Regex(regex::Regex),
}

#[derive(Debug, Clone)]
pub struct Filter {
    /// As typed: shown in the header.
    pub text: String,
    matcher: Matcher,
}

impl PartialEq for Filter {
    fn eq(&self, other: &Filter) -> bool {
        self.text == other.text
    }
}

impl Filter {
    /// `None` for an empty filter; an error for a bad regex.
    pub fn parse(text: &str) -> Result<Option<Filter>, String> {
        let text: String = text.chars().take(MAX_FILTER_CHARS).collect();
        let matcher = match text.strip_prefix("re:") {
            Some("") => return Ok(None),
            Some(pattern) => regex::RegexBuilder::new(pattern)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
                .map(Matcher::Regex)
                .map_err(|e| format!("not a regular expression: {e}"))?,
            None if text.trim().is_empty() => return Ok(None),
            None => Matcher::Substring(text.to_lowercase()),
        };
        Ok(Some(Filter { text, matcher }))
    }

    pub fn matches_text(&self, text: &str) -> bool {
        match &self.matcher {
            Matcher::Substring(needle) => contains_folded(text, needle),
            Matcher::Regex(re) => re.is_match(text),
        }
    }

    pub fn matches_pod(&self, p: &PodSummary) -> bool {
        self.matches_text(&p.name)
            || self.matches_text(&p.namespace)
            || self.matches_text(p.phase.label())
            || p.image.as_deref().is_some_and(|i| self.matches_text(i))
    }

    pub fn matches_deployment(&self, d: &DeploymentSummary) -> bool {
        self.matches_text(&d.name)
            || self.matches_text(&d.namespace)
            || d.images.iter().any(|i| self.matches_text(i))
    }

    pub fn matches_policy(&self, p: &PolicySummary) -> bool {
        self.matches_text(&p.name) || self.matches_text(&p.namespace)
    }
}

/// `haystack` contains `needle` (already lower-cased), ignoring case. Names, namespaces and
/// images are ASCII, which is compared in place; anything else is lower-cased first.
fn contains_folded(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if haystack.is_ascii() && needle.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle.as_bytes());
        return h.len() >= n.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    haystack.to_lowercase().contains(needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::cluster::PodPhase;

    fn pod(ns: &str, name: &str, phase: PodPhase, image: &str) -> PodSummary {
        PodSummary {
            namespace: ns.into(),
            name: name.into(),
            ready: 0,
            containers: 1,
            phase,
            restarts: 0,
            created: None,
            image: Some(image.into()),
            node: None,
            message: None,
            last_restart: None,
            ready_since: None,
        }
    }

    #[test]
    fn substring_and_regex() {
        let cc = pod(
            "trustusbank-bank-vendors",
            "currency-converter-x",
            PodPhase::Running,
            "acme/currency-converter:1.0.0-rugpull",
        );
        let crash = pod(
            "kube-system",
            "coredns-a",
            PodPhase::Failing("CrashLoopBackOff".into()),
            "coredns:1.11",
        );
        let f = |t: &str| Filter::parse(t).unwrap().unwrap();
        assert!(f("CURRENCY").matches_pod(&cc));
        assert!(!f("currency").matches_pod(&crash));
        assert!(f("crashloop").matches_pod(&crash), "status matches");
        assert!(f("rugpull").matches_pod(&cc), "image matches");
        assert!(f("re:^core").matches_pod(&crash));
        assert!(!f("re:^core").matches_pod(&cc));
        assert!(Filter::parse("").unwrap().is_none());
        assert!(Filter::parse("re:").unwrap().is_none());
        assert!(Filter::parse("re:(").is_err());
        assert!(f("ÄRGER").matches_text("kein ärger"), "beyond ASCII too");
        let long = "x".repeat(10_000);
        assert_eq!(f(&long).text.chars().count(), MAX_FILTER_CHARS);
    }
}
