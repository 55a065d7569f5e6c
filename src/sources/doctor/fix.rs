//! Fix hints as exact shell commands: every argument quoted for a POSIX shell, so a hint can
//! be pasted as printed (and copied with `y`).

/// `arg` as one shell word: bare when it is made only of safe characters, else in single
/// quotes (a `'` inside becomes `'\''`).
pub fn quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c));
    if safe {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// `kubectl --context CTX ARGS…`, quoted.
pub fn kubectl(context: &str, args: &[&str]) -> String {
    let mut out = format!("kubectl --context {}", quote(context));
    for a in args {
        out.push(' ');
        out.push_str(&quote(a));
    }
    out
}

/// Create or update an object from its JSON: `echo '{…}' | kubectl --context CTX apply -f -`.
pub fn apply_json(context: &str, object: &serde_json::Value) -> String {
    format!(
        "echo {} | {}",
        quote(&object.to_string()),
        kubectl(context, &["apply", "-f", "-"])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_for_a_shell() {
        assert_eq!(quote("istio.io/global=true"), "istio.io/global=true");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("{\"a\":1}"), "'{\"a\":1}'");
        assert_eq!(
            kubectl("kind-x", &["label", "ns", "n", "k-"]),
            "kubectl --context kind-x label ns n k-"
        );
    }
}
