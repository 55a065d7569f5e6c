//! How Go, and so Prometheus, prints floats, times, quoted strings and durations, so the
//! simulator's answers read byte for byte like a real Prometheus 2.42's.

use chrono::{DateTime, Utc};

/// The shortest round-trip decimal digits of `|v|` and the power of ten of the first digit
/// (`1234.5` → `("12345", 3)`). `v` must be finite.
fn shortest_digits(v: f64) -> (String, i32) {
    // Rust's `{:e}` is the shortest round-trip form, like Go's precision -1.
    let text = format!("{:e}", v.abs());
    let (mantissa, exponent) = text.split_once('e').unwrap_or((text.as_str(), "0"));
    let digits = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exponent.parse().unwrap_or(0))
}

fn non_finite(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v == f64::INFINITY {
        Some("+Inf")
    } else if v == f64::NEG_INFINITY {
        Some("-Inf")
    } else {
        None
    }
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`: `3.333333333333333e-01`, `1e+00`.
pub fn float_e(v: f64) -> String {
    if let Some(s) = non_finite(v) {
        return s.to_string();
    }
    let (digits, exponent) = shortest_digits(v);
    let mut out = String::new();
    if v.is_sign_negative() {
        out.push('-');
    }
    let (first, rest) = digits.split_at(digits.len().min(1));
    out.push_str(if first.is_empty() { "0" } else { first });
    if !rest.is_empty() {
        out.push('.');
        out.push_str(rest);
    }
    let sign = if exponent < 0 { '-' } else { '+' };
    out.push_str(&format!("e{sign}{:02}", exponent.unsigned_abs()));
    out
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(v, 'g', -1, 64)`): `0.5`, `1e+06`.
pub fn float_g(v: f64) -> String {
    if let Some(s) = non_finite(v) {
        return s.to_string();
    }
    let (_, exponent) = shortest_digits(v);
    if v != 0.0 && !(-4..6).contains(&exponent) {
        float_e(v)
    } else {
        format!("{v}")
    }
}

/// A sample value as Prometheus' JSON API writes it: `'f'` format, `'e'` for the very large
/// and the very small.
pub fn sample_value(v: f64) -> String {
    if let Some(s) = non_finite(v) {
        return s.to_string();
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        float_e(v)
    } else {
        format!("{v}")
    }
}

/// A millisecond timestamp as Prometheus' JSON API writes it: unix seconds with the
/// milliseconds as written digits (`1435781451.781`, `1435781451.500`, `1435781451`).
pub fn timestamp(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let abs = ms.unsigned_abs();
    let fraction = abs % 1000;
    if fraction == 0 {
        format!("{sign}{}", abs / 1000)
    } else {
        format!("{sign}{}.{fraction:03}", abs / 1000)
    }
}

/// A `time.Time` as Go's JSON encoding writes it (RFC 3339, fraction without trailing zeros);
/// `None` is Go's zero time.
pub fn time(at: Option<DateTime<Utc>>) -> String {
    let Some(at) = at else {
        return "0001-01-01T00:00:00Z".to_string();
    };
    let mut out = at.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = at.timestamp_subsec_nanos();
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Go's `%q` of a string (`strconv.Quote`).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const MS_PER_SECOND: i64 = 1000;
const MS_PER_MINUTE: i64 = 60 * MS_PER_SECOND;
const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;
const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;
const MS_PER_WEEK: i64 = 7 * MS_PER_DAY;
const MS_PER_YEAR: i64 = 365 * MS_PER_DAY;

/// The units of a Prometheus duration, in the only order they may be written.
const UNITS: [(&str, i64); 7] = [
    ("y", MS_PER_YEAR),
    ("w", MS_PER_WEEK),
    ("d", MS_PER_DAY),
    ("h", MS_PER_HOUR),
    ("m", MS_PER_MINUTE),
    ("s", MS_PER_SECOND),
    ("ms", 1),
];

/// The longest duration Go's `time.Duration` holds, in milliseconds.
const MAX_DURATION_MS: i64 = i64::MAX / 1_000_000;

/// Prometheus' `model.ParseDuration`: `5m`, `1h30m`, `250ms`, `0`; in milliseconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    match text {
        "0" => return Ok(0),
        "" => return Err("empty duration string".to_string()),
        _ => {}
    }
    let invalid = || format!("not a valid duration string: {}", quote(text));
    let bytes = text.as_bytes();
    let mut total: i64 = 0;
    let mut next_unit = 0;
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return Err(invalid());
        }
        let number = &text[start..i];
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &text[unit_start..i];
        let Some(offset) = UNITS[next_unit..].iter().position(|(u, _)| *u == unit) else {
            return Err(invalid());
        };
        let (_, per) = UNITS[next_unit + offset];
        next_unit += offset + 1;
        let out_of_range = || "duration out of range".to_string();
        let n: i64 = number.parse().map_err(|_| out_of_range())?;
        total = n
            .checked_mul(per)
            .and_then(|ms| total.checked_add(ms))
            .filter(|ms| *ms <= MAX_DURATION_MS)
            .ok_or_else(out_of_range)?;
    }
    Ok(total)
}

/// Prometheus' `model.Duration.String()`: `5m`, `1m30s`, `0s` (years and weeks only when
/// exact).
pub fn duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let mut rest = ms;
    let mut out = String::new();
    for (unit, per) in UNITS {
        let exact_only = matches!(unit, "y" | "w");
        if exact_only && rest % per != 0 {
            continue;
        }
        let n = rest / per;
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
            rest -= n * per;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn floats_print_like_go() {
        assert_eq!(float_e(1.0 / 3.0), "3.333333333333333e-01");
        assert_eq!(float_e(1.0), "1e+00");
        assert_eq!(float_e(0.05), "5e-02");
        assert_eq!(float_e(-1234.5), "-1.2345e+03");
        assert_eq!(float_e(0.0), "0e+00");
        assert_eq!(float_e(1e300), "1e+300");
        assert_eq!(float_e(f64::NAN), "NaN");
        assert_eq!(float_e(f64::INFINITY), "+Inf");
        assert_eq!(float_g(1e6), "1e+06");
        assert_eq!(float_g(123456.0), "123456");
        assert_eq!(float_g(0.0001), "0.0001");
        assert_eq!(float_g(0.00001), "1e-05");
        assert_eq!(float_g(0.016666666666666666), "0.016666666666666666");
        assert_eq!(float_g(0.0), "0");
        assert_eq!(sample_value(2.0), "2");
        assert_eq!(sample_value(0.5), "0.5");
        assert_eq!(sample_value(1e-7), "1e-07");
        assert_eq!(sample_value(1e21), "1e+21");
        assert_eq!(sample_value(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn timestamps_and_times() {
        assert_eq!(timestamp(1_435_781_451_781), "1435781451.781");
        assert_eq!(timestamp(1_435_781_451_500), "1435781451.500");
        assert_eq!(timestamp(1_435_781_451_005), "1435781451.005");
        assert_eq!(timestamp(1_435_781_451_000), "1435781451");
        let at = Utc.timestamp_opt(1_700_000_000, 120_000_000).unwrap();
        assert_eq!(time(Some(at)), "2023-11-14T22:13:20.12Z");
        let at = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        assert_eq!(time(Some(at)), "2023-11-14T22:13:20Z");
        assert_eq!(time(None), "0001-01-01T00:00:00Z");
    }

    #[test]
    fn quotes_like_go() {
        assert_eq!(quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
        assert_eq!(quote("\u{1}é"), "\"\\x01é\"");
    }

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(parse_duration("5m"), Ok(300_000));
        assert_eq!(parse_duration("1m30s"), Ok(90_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("250ms"), Ok(250));
        assert_eq!(parse_duration("0s"), Ok(0));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("2d"), Ok(2 * MS_PER_DAY));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("30s1m").is_err());
        assert!(parse_duration("1m1m").is_err());
        assert!(parse_duration("1.5m").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("-5m").is_err());
        assert_eq!(
            parse_duration("99999999999999999999y"),
            Err("duration out of range".to_string())
        );
        assert_eq!(parse_duration("300y").map_err(|_| ()), Err(()));
        assert_eq!(duration(300_000), "5m");
        assert_eq!(duration(90_000), "1m30s");
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(MS_PER_WEEK), "1w");
        assert_eq!(duration(90 * MS_PER_DAY), "90d");
        assert_eq!(duration(1_500), "1s500ms");
    }
}
