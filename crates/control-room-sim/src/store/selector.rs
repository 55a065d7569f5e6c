//! Label and field selectors, parsed from query strings the way the API server reads them.

use serde_json::Value;

use crate::store::stored::Stored;

#[derive(Debug, Clone, PartialEq, Eq)]
enum LabelReq {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
    Gt(String, i64),
    Lt(String, i64),
}

/// A parsed `labelSelector`; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    reqs: Vec<LabelReq>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Eq,
    NotEq,
    Gt,
    Lt,
    Not,
    Comma,
    Open,
    Close,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')
}

fn lex(input: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {}
            ',' => tokens.push(Token::Comma),
            '(' => tokens.push(Token::Open),
            ')' => tokens.push(Token::Close),
            '>' => tokens.push(Token::Gt),
            '<' => tokens.push(Token::Lt),
            '=' => {
                if chars.peek() == Some(&'=') {
                    chars.next();
                }
                tokens.push(Token::Eq);
            }
            '!' => {
                if chars.peek() == Some(&'=') {
                    chars.next();
                    tokens.push(Token::NotEq);
                } else {
                    tokens.push(Token::Not);
                }
            }
            c if is_word_char(c) => {
                let mut word = String::from(c);
                while let Some(&next) = chars.peek() {
                    if !is_word_char(next) {
                        break;
                    }
                    word.push(next);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
            other => {
                return Err(format!(
                    "unable to parse requirement: invalid character {other:?}"
                ));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn at_end_of_requirement(&self) -> bool {
        matches!(self.peek(), None | Some(Token::Comma))
    }

    fn word(&mut self, what: &str) -> Result<String, String> {
        match self.next() {
            Some(Token::Word(w)) => Ok(w),
            other => Err(format!(
                "unable to parse requirement: expected {what}, found {other:?}"
            )),
        }
    }

    /// A value after `=`/`!=`; may be empty (`app=`).
    fn value(&mut self) -> Result<String, String> {
        if self.at_end_of_requirement() {
            return Ok(String::new());
        }
        self.word("value")
    }

    fn set(&mut self) -> Result<Vec<String>, String> {
        if self.next() != Some(Token::Open) {
            return Err("unable to parse requirement: expected '(' after in/notin".into());
        }
        let mut values = Vec::new();
        loop {
            match self.next() {
                Some(Token::Word(w)) => values.push(w),
                Some(Token::Comma) => continue,
                Some(Token::Close) => return Ok(values),
                other => {
                    return Err(format!(
                        "unable to parse requirement: unexpected {other:?} in set"
                    ));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<LabelReq, String> {
        if self.peek() == Some(&Token::Not) {
            self.next();
            return Ok(LabelReq::NotExists(self.word("key")?));
        }
        let key = self.word("key")?;
        if self.at_end_of_requirement() {
            return Ok(LabelReq::Exists(key));
        }
        match self.next() {
            Some(Token::Eq) => Ok(LabelReq::Eq(key, self.value()?)),
            Some(Token::NotEq) => Ok(LabelReq::NotEq(key, self.value()?)),
            Some(Token::Gt) => Ok(LabelReq::Gt(key, self.integer()?)),
            Some(Token::Lt) => Ok(LabelReq::Lt(key, self.integer()?)),
            Some(Token::Word(op)) if op == "in" => Ok(LabelReq::In(key, self.set()?)),
            Some(Token::Word(op)) if op == "notin" => Ok(LabelReq::NotIn(key, self.set()?)),
            other => Err(format!(
                "unable to parse requirement: unexpected {other:?} after key {key:?}"
            )),
        }
    }

    fn integer(&mut self) -> Result<i64, String> {
        let w = self.word("integer")?;
        w.parse()
            .map_err(|_| format!("unable to parse requirement: {w:?} is not an integer"))
    }
}

impl LabelSelector {
    pub fn parse(input: &str) -> Result<Self, String> {
        let mut parser = Parser {
            tokens: lex(input)?,
            pos: 0,
        };
        let mut reqs = Vec::new();
        while parser.peek().is_some() {
            reqs.push(parser.requirement()?);
            match parser.next() {
                None => break,
                Some(Token::Comma) => {}
                Some(other) => {
                    return Err(format!("unable to parse requirement: unexpected {other:?}"));
                }
            }
        }
        Ok(Self { reqs })
    }

    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    pub fn matches(&self, obj: &Stored) -> bool {
        self.reqs.iter().all(|req| match req {
            LabelReq::Eq(k, v) => obj.label(k) == Some(v.as_str()),
            LabelReq::NotEq(k, v) => obj.label(k) != Some(v.as_str()),
            LabelReq::In(k, vs) => obj.label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            LabelReq::NotIn(k, vs) => !obj.label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            LabelReq::Exists(k) => obj.label(k).is_some(),
            LabelReq::NotExists(k) => obj.label(k).is_none(),
            LabelReq::Gt(k, n) => label_int(obj, k).is_some_and(|l| l > *n),
            LabelReq::Lt(k, n) => label_int(obj, k).is_some_and(|l| l < *n),
        })
    }
}

fn label_int(obj: &Stored, key: &str) -> Option<i64> {
    obj.label(key)?.parse().ok()
}

/// Fields a real server lets you select on, per kind, beyond `metadata.name`/`metadata.namespace`.
fn extra_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        "Event" => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        "Secret" => &["type"],
        "Namespace" => &["status.phase"],
        "Node" => &["spec.unschedulable"],
        "ReplicaSet" => &["status.replicas"],
        _ => &[],
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldReq {
    path: String,
    equal: bool,
    value: String,
}

/// A parsed `fieldSelector`; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    reqs: Vec<FieldReq>,
}

impl FieldSelector {
    /// Parse for one kind; unsupported fields are refused like a real server does.
    pub fn parse(input: &str, kind: &str) -> Result<Self, String> {
        let mut reqs = Vec::new();
        for term in input.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (path, equal, value) = if let Some((p, v)) = term.split_once("!=") {
                (p, false, v)
            } else if let Some((p, v)) = term.split_once("==") {
                (p, true, v)
            } else if let Some((p, v)) = term.split_once('=') {
                (p, true, v)
            } else {
                return Err(format!(
                    "invalid selector: '{input}'; can't understand '{term}'"
                ));
            };
            let path = path.trim();
            let known = matches!(path, "metadata.name" | "metadata.namespace")
                || extra_fields(kind).contains(&path);
            if !known {
                return Err(format!("field label not supported: {path}"));
            }
            reqs.push(FieldReq {
                path: path.to_string(),
                equal,
                value: value.trim().to_string(),
            });
        }
        Ok(Self { reqs })
    }

    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    /// Fields other than name/namespace need the body parsed; that happens at most once.
    pub fn matches(&self, obj: &Stored) -> bool {
        let mut parsed: Option<Value> = None;
        self.reqs.iter().all(|req| {
            let equal = match req.path.as_str() {
                "metadata.name" => *obj.name == *req.value,
                "metadata.namespace" => *obj.namespace == *req.value,
                path => {
                    let value = parsed.get_or_insert_with(|| {
                        serde_json::from_str(&obj.body).unwrap_or(Value::Null)
                    });
                    lookup(value, path).unwrap_or_default() == req.value
                }
            };
            equal == req.equal
        })
    }
}

fn lookup(value: &Value, dotted: &str) -> Option<String> {
    let mut at = value;
    for part in dotted.split('.') {
        at = at.get(part)?;
    }
    match at {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        // `source` on Events is an object; the server matches its component.
        Value::Object(map) => map
            .get("component")
            .and_then(Value::as_str)
            .map(str::to_string),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::stored::KindInfo;
    use serde_json::json;
    use std::sync::Arc;

    fn stored(labels: Value) -> Stored {
        let kind = Arc::new(KindInfo::new("v1", "Pod", "pods", true));
        let obj = json!({"metadata": {"name": "p", "namespace": "n", "labels": labels}, "status": {"phase": "Running"}});
        let Value::Object(map) = obj else {
            unreachable!()
        };
        Stored::from_value(kind, 1, "n", "p", map)
    }

    #[test]
    fn label_selector_forms() {
        let obj = stored(json!({"app": "web", "tier": "front", "n": "5"}));
        for (sel, want) in [
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app in (web, db)", true),
            ("app notin (web,db)", false),
            ("tier", true),
            ("!tier", false),
            ("!missing", true),
            ("app=web,tier=back", false),
            ("n>4,n<6", true),
            ("missing!=x", true),
        ] {
            assert_eq!(
                LabelSelector::parse(sel).unwrap().matches(&obj),
                want,
                "{sel}"
            );
        }
        assert!(LabelSelector::parse("app in web").is_err());
        assert!(LabelSelector::parse("app=web=x").is_err());
        assert!(LabelSelector::parse("app=(").is_err());
    }

    #[test]
    fn field_selector_forms() {
        let obj = stored(json!({}));
        let sel = |s: &str| FieldSelector::parse(s, "Pod").unwrap().matches(&obj);
        assert!(sel("metadata.name=p"));
        assert!(sel("metadata.name==p,metadata.namespace=n"));
        assert!(!sel("metadata.name!=p"));
        assert!(sel("status.phase=Running"));
        assert!(FieldSelector::parse("spec.bogus=1", "Pod").is_err());
        assert!(FieldSelector::parse("nonsense", "Pod").is_err());
    }
}
