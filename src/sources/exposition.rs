//! Parser for the Prometheus text exposition format (0.0.4), used to read ztunnel's
//! `/stats/prometheus` when no Prometheus is reachable. Every sample line becomes one
//! `Sample`; histograms and summaries arrive flattened (`_bucket`, `_sum`, `_count`, with
//! their `le`/`quantile` labels), and `# HELP`/`# TYPE`/comments are skipped.
//!
//! Written here rather than taken from crates.io: of the crates tried (prometheus-parse
//! 0.2.5, openmetrics-parser 0.5.1, prom_text_format_parser 0.1.0,
//! prometheus-exposition-format-rs 0.1.2) none read all of commas, `}` and escapes inside
//! label values, `{}`, CRLF and untyped runs correctly. The page is untrusted: size is
//! bounded, every error names its line, nothing panics.

use std::collections::BTreeMap;

/// Pages larger than this are refused before parsing.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;
/// A page with more samples than this is refused: ztunnel serves thousands, not millions,
/// and each sample costs far more memory than its line.
pub const MAX_SAMPLES: usize = 1_000_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpositionError {
    #[error("metrics page is {} MiB, over the {} MiB limit", .bytes / (1024 * 1024), MAX_INPUT_BYTES / (1024 * 1024))]
    TooLarge { bytes: usize },
    #[error("metrics page has more than {MAX_SAMPLES} samples")]
    TooManySamples,
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: String },
}

/// Every sample of `text`, in page order.
pub fn parse(text: &str) -> Result<Vec<Sample>, ExpositionError> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(ExpositionError::TooLarge { bytes: text.len() });
    }
    let mut samples = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        let sample = parse_line(line).map_err(|reason| ExpositionError::Line {
            line: index + 1,
            reason,
        })?;
        if let Some(sample) = sample {
            if samples.len() == MAX_SAMPLES {
                return Err(ExpositionError::TooManySamples);
            }
            samples.push(sample);
        }
    }
    Ok(samples)
}

/// One line: `None` for blank lines and comments.
fn parse_line(line: &str) -> Result<Option<Sample>, String> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let rest = skip_blank(line);
    if rest.is_empty() || rest.starts_with('#') {
        return Ok(None);
    }
    let Some((name, rest)) = take_name(rest, true) else {
        return Err(format!("expected a metric name, found {}", found(rest)));
    };
    let (labels, rest) = match skip_blank(rest).strip_prefix('{') {
        Some(inside) => parse_labels(inside)?,
        None => (BTreeMap::new(), rest),
    };
    let rest = skip_blank(rest);
    let (value, rest) = take_token(rest);
    if value.is_empty() {
        return Err(format!("{} has no value", clip(name)));
    }
    let value =
        parse_value(value).ok_or_else(|| format!("value {} is not a number", found(value)))?;
    let rest = skip_blank(rest);
    // After the value: an optional millisecond timestamp, then (OpenMetrics only) an
    // exemplar starting with `#`, which is not needed here.
    if !rest.is_empty() && !rest.starts_with('#') {
        let (timestamp, after) = take_token(rest);
        if timestamp.parse::<i64>().is_err() {
            return Err(format!("timestamp {} is not an integer", found(timestamp)));
        }
        let after = skip_blank(after);
        if !after.is_empty() && !after.starts_with('#') {
            return Err(format!("unexpected {} after the timestamp", found(after)));
        }
    }
    Ok(Some(Sample {
        name: name.to_string(),
        labels,
        value,
    }))
}

/// The label set after its `{`, and the text after its `}`.
fn parse_labels(mut rest: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    loop {
        rest = skip_blank(rest);
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let Some((name, after)) = take_name(rest, false) else {
            return Err(format!(
                "expected a label name or `}}`, found {}",
                found(rest)
            ));
        };
        let Some(after) = skip_blank(after).strip_prefix('=') else {
            return Err(format!("expected `=` after label {}", clip(name)));
        };
        let Some(after) = skip_blank(after).strip_prefix('"') else {
            return Err(format!(
                "expected `\"` to open the value of label {}",
                clip(name)
            ));
        };
        let Some((value, after)) = take_quoted(after) else {
            return Err(format!("value of label {} is not closed", clip(name)));
        };
        if labels.insert(name.to_string(), value).is_some() {
            return Err(format!("label {} appears twice", clip(name)));
        }
        rest = skip_blank(after);
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with('}') {
            return Err(format!("expected `,` or `}}` after label {}", clip(name)));
        }
    }
}

/// A label value after its opening quote, unescaped, and the text after its closing quote.
/// `\\`, `\"` and `\n` are the format's escapes; any other backslash is kept as it is,
/// as Prometheus itself does.
fn take_quoted(text: &str) -> Option<(String, &str)> {
    let bytes = text.as_bytes();
    let mut value = String::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                value.push_str(&text[start..i]);
                return Some((value, &text[i + 1..]));
            }
            b'\\' => {
                value.push_str(&text[start..i]);
                let unescaped = match bytes.get(i + 1)? {
                    b'\\' => '\\',
                    b'"' => '"',
                    b'n' => '\n',
                    _ => {
                        // Keep the backslash; what follows is read as ordinary text.
                        start = i;
                        i += 1;
                        continue;
                    }
                };
                value.push(unescaped);
                i += 2;
                start = i;
            }
            _ => i += 1,
        }
    }
    None
}

/// A metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`) or label name (the same without `:`) at the
/// start of `text`, and the rest.
fn take_name(text: &str, metric: bool) -> Option<(&str, &str)> {
    let fits = |i: usize, b: u8| {
        b.is_ascii_alphabetic()
            || b == b'_'
            || (metric && b == b':')
            || (i > 0 && b.is_ascii_digit())
    };
    let end = text
        .bytes()
        .enumerate()
        .find(|&(i, b)| !fits(i, b))
        .map_or(text.len(), |(i, _)| i);
    (end > 0).then(|| text.split_at(end))
}

/// The text up to the next blank, and the rest.
fn take_token(text: &str) -> (&str, &str) {
    let end = text.find([' ', '\t']).unwrap_or(text.len());
    text.split_at(end)
}

fn skip_blank(text: &str) -> &str {
    text.trim_start_matches([' ', '\t'])
}

/// Go's float syntax as Prometheus writes it: decimals, exponents, `NaN`, `±Inf`.
fn parse_value(token: &str) -> Option<f64> {
    token.parse::<f64>().ok()
}

/// A short, quoted excerpt of hostile text for an error message.
fn found(text: &str) -> String {
    if text.is_empty() {
        return "the end of the line".to_string();
    }
    format!("{:?}", clip(text))
}

fn clip(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() > MAX {
        let mut cut: String = text.chars().take(MAX).collect();
        cut.push('…');
        cut
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn one(text: &str) -> Sample {
        let mut samples = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(samples.len(), 1, "{text:?}");
        samples.remove(0)
    }

    fn line_of(text: &str) -> usize {
        match parse(text) {
            Err(ExpositionError::Line { line, .. }) => line,
            other => panic!("{text:?} should fail on a line, got {other:?}"),
        }
    }

    #[test]
    fn label_values_keep_separators_and_decode_escapes() {
        let s = one(r#"m{a="x,y",b="k=v",c="}",d="say \"hi\"",e="C:\\dir",f="l1\nl2",g="z"} 1"#);
        assert_eq!(s.name, "m");
        assert_eq!(
            s.labels,
            labels(&[
                ("a", "x,y"),
                ("b", "k=v"),
                ("c", "}"),
                ("d", "say \"hi\""),
                ("e", "C:\\dir"),
                ("f", "l1\nl2"),
                ("g", "z"),
            ])
        );
        assert_eq!(s.value, 1.0);
    }

    #[test]
    fn escaped_backslash_before_quote_ends_the_value() {
        let s = one(r#"m{a="end\\",b="c"} 2"#);
        assert_eq!(s.labels, labels(&[("a", "end\\"), ("b", "c")]));
    }

    #[test]
    fn unknown_escape_and_utf8_are_kept() {
        let s = one(r#"m{a="tab\t ünï ✓"} 2"#);
        assert_eq!(s.labels["a"], "tab\\t ünï ✓");
    }

    #[test]
    fn empty_and_missing_label_sets() {
        assert_eq!(one("m{} 2").labels, BTreeMap::new());
        let s = one("m 3");
        assert_eq!((s.name.as_str(), s.labels.len(), s.value), ("m", 0, 3.0));
    }

    #[test]
    fn trailing_comma_and_blanks_inside_braces() {
        let s = one("m { a = \"b\" , c=\"d\", } 4");
        assert_eq!(s.labels, labels(&[("a", "b"), ("c", "d")]));
        assert_eq!(s.value, 4.0);
    }

    #[test]
    fn windows_line_endings_and_blank_lines() {
        let text = "\r\n# HELP m help\r\n# TYPE m gauge\r\nm{a=\"b\"} 1\r\n\r\n\n  \t\nn 2\r\n";
        let samples = parse(text).expect("parses");
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].labels, labels(&[("a", "b")]));
        assert_eq!((samples[1].name.as_str(), samples[1].value), ("n", 2.0));
    }

    #[test]
    fn special_values_and_timestamps() {
        let text =
            "a NaN\nb +Inf\nc -Inf\nd 1.5e3 1700000000000\ne -0.25\t-5\nf 7 # {trace_id=\"x\"} 1\n";
        let s = parse(text).expect("parses");
        assert!(s[0].value.is_nan());
        assert_eq!(s[1].value, f64::INFINITY);
        assert_eq!(s[2].value, f64::NEG_INFINITY);
        assert_eq!(s[3].value, 1500.0);
        assert_eq!(s[4].value, -0.25);
        assert_eq!(s[5].value, 7.0);
    }

    #[test]
    fn untyped_counters_and_histograms_flatten_in_order() {
        let text = "\
# HELP istio_tcp_connections_opened_total Opened.
# TYPE istio_tcp_connections_opened_total counter
istio_tcp_connections_opened_total{reporter=\"source\"} 12
other_untyped 1
# TYPE lat histogram
lat_bucket{le=\"0.5\"} 1
lat_bucket{le=\"+Inf\"} 2
lat_sum 0.7
lat_count 2
";
        let s = parse(text).expect("parses");
        let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "istio_tcp_connections_opened_total",
                "other_untyped",
                "lat_bucket",
                "lat_bucket",
                "lat_sum",
                "lat_count"
            ]
        );
        assert_eq!(s[3].labels["le"], "+Inf");
    }

    #[test]
    fn istio_sample() {
        let s = one(
            r#"istio_tcp_connections_failed_total{reporter="source",source_workload="currency-converter",source_workload_namespace="trustusbank-bank-vendors",source_principal="spiffe://cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter",destination_service="mock-attacker.external-attacker.svc.cluster.local",destination_service_name="mock-attacker",destination_service_namespace="external-attacker",destination_principal="spiffe://cluster.local/ns/external-attacker/sa/mock-attacker",request_protocol="tcp",response_flags="CONNECT",connection_security_policy="mutual_tls",cluster="trustusbank-vendor"} 3"#,
        );
        assert_eq!(s.name, "istio_tcp_connections_failed_total");
        assert_eq!(s.value, 3.0);
        assert_eq!(s.labels.len(), 12);
        assert_eq!(
            s.labels["source_principal"],
            "spiffe://cluster.local/ns/trustusbank-bank-vendors/sa/currency-converter"
        );
        assert_eq!(
            s.labels["destination_service"],
            "mock-attacker.external-attacker.svc.cluster.local"
        );
        assert_eq!(s.labels["response_flags"], "CONNECT");
        assert_eq!(s.labels["cluster"], "trustusbank-vendor");
    }

    #[test]
    fn malformed_lines_name_their_line() {
        assert_eq!(line_of("m 1\nbad{ 2\n"), 2);
        assert_eq!(line_of("# c\nm 1\nn abc\n"), 3);
        assert_eq!(line_of("m{a=\"b} 1"), 1);
        assert_eq!(line_of("m{a=\"b\" c=\"d\"} 1"), 1);
        assert_eq!(line_of("m{a=\"b\",a=\"c\"} 1"), 1);
        assert_eq!(line_of("m{a} 1"), 1);
        assert_eq!(line_of("m{a=b} 1"), 1);
        assert_eq!(line_of("m"), 1);
        assert_eq!(line_of("m 1 12.5"), 1);
        assert_eq!(line_of("m 1 2 3"), 1);
        assert_eq!(line_of("ok 1\r\n{a=\"b\"} 1\r\n"), 2);
        assert_eq!(line_of("m{a=\"b\\"), 1);
        let e = parse("m 1\nn abc").unwrap_err().to_string();
        assert_eq!(e, "line 2: value \"abc\" is not a number");
    }

    #[test]
    fn long_hostile_text_is_clipped_in_errors() {
        let text = format!("m {}", "x".repeat(10_000));
        let e = parse(&text).unwrap_err().to_string();
        assert!(e.len() < 100, "{e}");
    }

    #[test]
    fn oversized_input_is_refused() {
        let text = "m 1\n".repeat(MAX_INPUT_BYTES / 4 + 1);
        assert!(matches!(
            parse(&text),
            Err(ExpositionError::TooLarge { .. })
        ));
    }

    #[test]
    fn hostile_input_never_panics() {
        let alphabet: Vec<char> = "ab_:{}=\\\",\n\r #1.+-eInfNaTYPE\t\u{0}é✓"
            .chars()
            .collect();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let len = (next() % 64) as usize;
            let text: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let _ = parse(&text);
        }
    }
}
